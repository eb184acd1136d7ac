//! Writing whole volumes: memory images, disk images, logical files. (owner: writer helper)
