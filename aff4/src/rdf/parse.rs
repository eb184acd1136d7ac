//! Turtle parsing (sophia) into a [`Graph`].

use super::{Graph, Literal, Term};
use crate::lexicon::{AFF4, AFF4_LEGACY};
use crate::{Error, Result};
use sophia_api::parser::TripleParser;
use sophia_api::source::TripleSource;
use sophia_api::term::TermKind;
use sophia_api::triple::Triple as _;
use sophia_iri::resolve::BaseIriRef;
use sophia_turtle::parser::turtle::TurtleParser;

/// Largest `information.turtle` we accept (the format keeps metadata small; a bigger
/// one is hostile or broken).
pub const MAX_TURTLE: usize = 256 << 20;

/// Parses Turtle text. Relative IRIs resolve against `base` (the volume URN) unless the
/// text has its own `@base`; legacy namespace IRIs are rewritten to the standard ones.
pub fn parse_turtle(text: &str, base: Option<&str>) -> Result<Graph> {
    if text.len() > MAX_TURTLE {
        return Err(Error::Rdf(format!(
            "{} bytes of Turtle is more than the {MAX_TURTLE} accepted",
            text.len()
        )));
    }
    let base = match base {
        Some(b) => Some(
            BaseIriRef::new(b.to_string().into_boxed_str())
                .map_err(|e| Error::Rdf(format!("base IRI {b:?} is not valid: {e}")))?,
        ),
        None => None,
    };
    let parser = TurtleParser {
        base,
        ..TurtleParser::default()
    };
    let mut g = Graph::new();
    let mut bad: Option<String> = None;
    parser
        .parse_str(text)
        .for_each_triple(|t| {
            let (s, p, o) = (convert(t.s()), convert(t.p()), convert(t.o()));
            match (s, p) {
                (Some(s), Some(Term::Iri(p))) => {
                    if let Some(o) = o {
                        g.insert(s, &p, o);
                    }
                }
                _ => {
                    bad.get_or_insert_with(|| {
                        "a triple with an unsupported subject or predicate".into()
                    });
                }
            }
        })
        .map_err(|e| Error::Rdf(e.to_string()))?;
    if let Some(b) = bad {
        tracing::debug!("information.turtle: skipped {b}");
    }
    Ok(g)
}

fn modernise(iri: &str) -> String {
    match iri.strip_prefix(AFF4_LEGACY) {
        Some(local) => format!("{AFF4}{local}"),
        None => iri.to_string(),
    }
}

fn convert<T: sophia_api::term::Term>(t: T) -> Option<Term> {
    match t.kind() {
        TermKind::Iri => t.iri().map(|i| Term::Iri(modernise(i.as_str()))),
        TermKind::BlankNode => t.bnode_id().map(|b| Term::Blank(b.as_str().to_string())),
        TermKind::Literal => {
            let lexical = t.lexical_form()?.to_string();
            let lang = t.language_tag().map(|l| l.as_str().to_string());
            let datatype = if lang.is_some() {
                None
            } else {
                t.datatype().map(|d| modernise(d.as_str()))
            };
            Some(Term::Literal(Literal {
                lexical,
                datatype,
                lang,
            }))
        }
        _ => None,
    }
}
