//! Turtle parsing (sophia) into a [`Graph`].

use super::Graph;
use crate::Result;

/// Parses Turtle text. Relative IRIs resolve against `base` (the volume URN) unless the
/// text has its own `@base`; legacy namespace IRIs are rewritten to the standard ones.
pub fn parse_turtle(text: &str, base: Option<&str>) -> Result<Graph> {
    let _ = (text, base);
    todo!()
}
