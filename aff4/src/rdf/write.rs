//! Turtle serialisation of a [`Graph`].

use super::Graph;

pub(super) fn to_turtle(g: &Graph) -> String {
    let _ = g;
    todo!()
}
