//! Writing an aff4:ImageStream. (owner: writer helper)
