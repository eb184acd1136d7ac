//! Recomputing every stored hash. (owner: reader helper)
