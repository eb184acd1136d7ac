//! Reading an aff4:Map. (owner: reader helper)
