//! Opening volumes and resolving AFF4 objects by URN. (owner: reader helper)
