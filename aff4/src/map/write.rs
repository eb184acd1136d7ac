//! Writing an aff4:Map. (owner: writer helper)
