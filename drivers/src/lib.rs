//! Physical memory sources for pmem-aff4. Knows nothing about AFF4.
#![deny(missing_docs)]
