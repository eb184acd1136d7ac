//! AFF4-L logical files and c-aff4 logical files. (owner: reader helper)
