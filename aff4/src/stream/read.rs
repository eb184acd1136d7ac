//! Reading an aff4:ImageStream. (owner: reader helper)
