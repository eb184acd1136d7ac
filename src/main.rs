//! pmem-aff4: physical-memory imager writing AFF4 evidence containers.
fn main() {}
