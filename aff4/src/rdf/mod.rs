//! The RDF model of `information.turtle`: a small in-memory graph with the queries the
//! format code needs, parsed and serialised with sophia.
//!
//! Predicates and types are full IRI strings (see [`crate::lexicon`]). Terms from the
//! legacy `http://afflib.org/2009/aff4#` namespace are rewritten to
//! `http://aff4.org/Schema#` on parse, so the rest of the crate sees one vocabulary.

mod parse;
mod write;

pub use parse::{parse_turtle, MAX_TURTLE};
use std::collections::BTreeSet;

/// An RDF term.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    /// An absolute IRI.
    Iri(String),
    /// A blank node label.
    Blank(String),
    /// A literal.
    Literal(Literal),
}

/// An RDF literal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Literal {
    /// The lexical form.
    pub lexical: String,
    /// The datatype IRI (`None` for a plain literal).
    pub datatype: Option<String>,
    /// The language tag, if any.
    pub lang: Option<String>,
}

/// A triple whose predicate is an IRI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Triple {
    /// Subject.
    pub s: Term,
    /// Predicate IRI.
    pub p: String,
    /// Object.
    pub o: Term,
}

/// A set of triples, ordered by subject, predicate, object, so lookups by subject are
/// range scans.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    triples: BTreeSet<Triple>,
}

impl Term {
    /// An IRI term.
    pub fn iri(s: impl Into<String>) -> Self {
        Term::Iri(s.into())
    }
    /// A literal with datatype IRI `dt`.
    pub fn typed(lexical: impl Into<String>, dt: &str) -> Self {
        Term::Literal(Literal {
            lexical: lexical.into(),
            datatype: Some(dt.to_string()),
            lang: None,
        })
    }
    /// The IRI, if this is one.
    pub fn as_iri(&self) -> Option<&str> {
        match self {
            Term::Iri(i) => Some(i),
            _ => None,
        }
    }
    /// The value as an unsigned integer: integer-typed literals (xsd:int/long/integer/...)
    /// and plain literals that are decimal digits (surrounding whitespace allowed).
    pub fn as_u64(&self) -> Option<u64> {
        let Term::Literal(l) = self else { return None };
        let s = l.lexical.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }
    /// The lexical form of a literal.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Term::Literal(l) => Some(&l.lexical),
            _ => None,
        }
    }
    /// The datatype IRI of a literal.
    pub fn datatype(&self) -> Option<&str> {
        match self {
            Term::Literal(l) => l.datatype.as_deref(),
            _ => None,
        }
    }
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Graph::default()
    }
    /// Number of triples.
    pub fn len(&self) -> usize {
        self.triples.len()
    }
    /// Whether the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.triples.is_empty()
    }
    /// Adds a triple (duplicates are kept once).
    pub fn insert(&mut self, s: Term, p: &str, o: Term) {
        self.triples.insert(Triple {
            s,
            p: p.to_string(),
            o,
        });
    }
    /// Replaces every value of `(s, p)` by `o`.
    pub fn set(&mut self, s: Term, p: &str, o: Term) {
        self.triples.retain(|t| !(t.s == s && t.p == p));
        self.insert(s, p, o);
    }
    /// Adds all triples of `other`.
    pub fn extend(&mut self, other: &Graph) {
        self.triples.extend(other.triples.iter().cloned());
    }
    /// All triples, in a stable order.
    pub fn triples(&self) -> Vec<&Triple> {
        self.triples.iter().collect()
    }
    fn about<'a>(&'a self, s: &str) -> impl Iterator<Item = &'a Triple> + 'a {
        let from = Triple {
            s: Term::Iri(s.to_string()),
            p: String::new(),
            o: Term::Iri(String::new()),
        };
        let subject = Term::Iri(s.to_string());
        self.triples
            .range(from..)
            .take_while(move |t| t.s == subject)
    }
    /// Objects of `(subject IRI, predicate IRI)`.
    pub fn objects(&self, s: &str, p: &str) -> Vec<&Term> {
        self.about(s).filter(|t| t.p == p).map(|t| &t.o).collect()
    }
    /// The single object of `(s, p)`; `None` when absent or, like pyaff4's `GetUnique`,
    /// when there are several different values.
    pub fn object(&self, s: &str, p: &str) -> Option<&Term> {
        let v = self.objects(s, p);
        if v.len() == 1 {
            v.into_iter().next()
        } else {
            None
        }
    }
    /// `rdf:type` IRIs of `s`.
    pub fn types(&self, s: &str) -> Vec<&str> {
        self.objects(s, crate::lexicon::RDF_TYPE)
            .into_iter()
            .filter_map(Term::as_iri)
            .collect()
    }
    /// Whether `s` has `rdf:type t`.
    pub fn has_type(&self, s: &str, t: &str) -> bool {
        self.types(s).contains(&t)
    }
    /// Subject IRIs with `rdf:type t`, sorted.
    pub fn subjects_of_type(&self, t: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .triples
            .iter()
            .filter(|tr| tr.p == crate::lexicon::RDF_TYPE && tr.o.as_iri() == Some(t))
            .filter_map(|tr| tr.s.as_iri())
            .collect();
        v.dedup();
        v
    }
    /// All subject IRIs, sorted.
    pub fn subjects(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.triples.iter().filter_map(|t| t.s.as_iri()).collect();
        v.dedup();
        v
    }
    /// Serialises as Turtle with `@prefix` lines and absolute IRIs.
    pub fn to_turtle(&self) -> String {
        write::to_turtle(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_producer_style() {
        let c_aff4 = "@base <aff4://v> .\n@prefix aff4: <http://aff4.org/Schema#> .\n</PhysicalMemory/data> a aff4:ImageStream ; aff4:chunkSize 32768 .\n<> a aff4:ZipVolume .";
        let g = parse_turtle(c_aff4, None).unwrap();
        assert!(g.has_type("aff4://v/PhysicalMemory/data", crate::lexicon::IMAGE_STREAM));
        assert_eq!(
            g.object("aff4://v/PhysicalMemory/data", crate::lexicon::CHUNK_SIZE)
                .and_then(Term::as_u64),
            Some(32768)
        );
        let evimetry = "@prefix : <aff4://v> .\n@prefix aff4: <http://aff4.org/Schema#> .\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n: a aff4:ZipVolume ; aff4:size \"12\"^^xsd:long .";
        let g = parse_turtle(evimetry, None).unwrap();
        assert_eq!(
            g.object("aff4://v", crate::lexicon::SIZE)
                .and_then(Term::as_u64),
            Some(12)
        );
        let legacy = "<aff4://x> a <http://afflib.org/2009/aff4#Image> .";
        assert!(parse_turtle(legacy, None)
            .unwrap()
            .has_type("aff4://x", crate::lexicon::IMAGE));
        assert!(parse_turtle("<aff4://x> a ", None).is_err());
        assert!(parse_turtle("garbage <<", None).is_err());
    }

    fn arb_term() -> impl Strategy<Value = Term> {
        prop_oneof![
            "[a-z0-9/._:-]{1,20}".prop_map(|s| Term::Iri(format!("aff4://{s}"))),
            any::<String>().prop_map(|s| Term::typed(s, crate::lexicon::XSD_STRING)),
            any::<u64>().prop_map(|n| Term::typed(n.to_string(), crate::lexicon::XSD_LONG)),
        ]
    }

    proptest! {
        #[test]
        fn turtle_round_trip(triples in proptest::collection::vec(("[a-z0-9/]{1,10}", "[a-zA-Z]{1,8}", arb_term()), 1..20)) {
            let mut g = Graph::new();
            for (s, p, o) in triples {
                g.insert(Term::Iri(format!("aff4://s/{s}")), &format!("http://aff4.org/Schema#{p}"), o);
            }
            let text = g.to_turtle();
            let back = parse_turtle(&text, None).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(back.triples(), g.triples());
        }
    }
}
