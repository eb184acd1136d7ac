//! The RDF model of `information.turtle`: a small in-memory graph with the queries the
//! format code needs, parsed and serialised with sophia.
//!
//! Predicates and types are full IRI strings (see [`crate::lexicon`]). Terms from the
//! legacy `http://afflib.org/2009/aff4#` namespace are rewritten to
//! `http://aff4.org/Schema#` on parse, so the rest of the crate sees one vocabulary.

mod parse;
mod write;

pub use parse::parse_turtle;

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

/// A set of triples with lookups by subject.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    _private: (),
}

impl Term {
    /// An IRI term.
    pub fn iri(s: impl Into<String>) -> Self {
        Term::Iri(s.into())
    }
    /// A literal with datatype IRI `dt`.
    pub fn typed(lexical: impl Into<String>, dt: &str) -> Self {
        Term::Literal(Literal { lexical: lexical.into(), datatype: Some(dt.to_string()), lang: None })
    }
    /// The IRI, if this is one.
    pub fn as_iri(&self) -> Option<&str> {
        todo!()
    }
    /// The value as an unsigned integer: integer-typed literals (xsd:int/long/integer/...)
    /// and plain literals that parse as a decimal integer.
    pub fn as_u64(&self) -> Option<u64> {
        todo!()
    }
    /// The lexical form of a literal.
    pub fn as_str(&self) -> Option<&str> {
        todo!()
    }
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        todo!()
    }
    /// Adds a triple (duplicates are kept once).
    pub fn insert(&mut self, s: Term, p: &str, o: Term) {
        let _ = (s, p, o);
        todo!()
    }
    /// Replaces every value of `(s, p)` by `o`.
    pub fn set(&mut self, s: Term, p: &str, o: Term) {
        let _ = (s, p, o);
        todo!()
    }
    /// Adds all triples of `other`.
    pub fn extend(&mut self, other: &Graph) {
        let _ = other;
        todo!()
    }
    /// All triples, in a stable order.
    pub fn triples(&self) -> Vec<&Triple> {
        todo!()
    }
    /// Objects of `(subject IRI, predicate IRI)`.
    pub fn objects(&self, s: &str, p: &str) -> Vec<&Term> {
        let _ = (s, p);
        todo!()
    }
    /// The single object of `(s, p)`; `None` when absent (or, like pyaff4, ambiguous).
    pub fn object(&self, s: &str, p: &str) -> Option<&Term> {
        let _ = (s, p);
        todo!()
    }
    /// `rdf:type` IRIs of `s`.
    pub fn types(&self, s: &str) -> Vec<&str> {
        let _ = s;
        todo!()
    }
    /// Whether `s` has `rdf:type t`.
    pub fn has_type(&self, s: &str, t: &str) -> bool {
        let _ = (s, t);
        todo!()
    }
    /// Subject IRIs with `rdf:type t`, sorted.
    pub fn subjects_of_type(&self, t: &str) -> Vec<&str> {
        let _ = t;
        todo!()
    }
    /// All subject IRIs, sorted.
    pub fn subjects(&self) -> Vec<&str> {
        todo!()
    }
    /// Serialises as Turtle with `@prefix` lines and absolute IRIs.
    pub fn to_turtle(&self) -> String {
        write::to_turtle(self)
    }
}
