//! The RDF model of `information.turtle`: a small in-memory graph with the queries the
//! format code needs, parsed with sophia and serialised by [`Graph::to_turtle`].
//!
//! Predicates and types are full IRI strings (see [`crate::lexicon`]). Terms from the
//! legacy `http://afflib.org/2009/aff4#` namespace are rewritten to
//! `http://aff4.org/Schema#` on parse, so the rest of the crate sees one vocabulary.
//!
//! Literals follow RDF 1.1: a literal without datatype and language is an `xsd:string`,
//! so [`Graph::insert`] stores such a literal with `datatype = Some(xsd:string)` (the
//! parser cannot tell `"x"` from `"x"^^xsd:string` either). A language-tagged literal
//! has `datatype = None`.

mod parse;
mod write;

use crate::lexicon::{RDF_TYPE, XSD, XSD_STRING};
pub use parse::{parse_turtle, parse_turtle_with_limit, MAX_TURTLE};
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
    /// The datatype IRI. `None` for a language-tagged literal; a literal with neither
    /// datatype nor language is an `xsd:string` (see the module documentation).
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

/// A set of triples, ordered by subject, predicate, object, so lookups by subject (and
/// by subject + predicate) are range scans and iteration order is deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    triples: BTreeSet<Triple>,
}

/// The local names of the XML Schema integer types (`xsd:integer` and everything derived
/// from it) that [`Term::as_u64`] accepts.
const XSD_INTEGER_TYPES: [&str; 13] = [
    "integer",
    "nonNegativeInteger",
    "positiveInteger",
    "nonPositiveInteger",
    "negativeInteger",
    "long",
    "int",
    "short",
    "byte",
    "unsignedLong",
    "unsignedInt",
    "unsignedShort",
    "unsignedByte",
];

/// Whether `dt` is `xsd:integer` or one of its derived types.
pub fn is_xsd_integer_type(dt: &str) -> bool {
    dt.strip_prefix(XSD)
        .is_some_and(|local| XSD_INTEGER_TYPES.contains(&local))
}

impl Term {
    /// An IRI term.
    pub fn iri(s: impl Into<String>) -> Self {
        Term::Iri(s.into())
    }
    /// A blank node with label `label`.
    pub fn blank(label: impl Into<String>) -> Self {
        Term::Blank(label.into())
    }
    /// A literal with datatype IRI `dt`.
    pub fn typed(lexical: impl Into<String>, dt: &str) -> Self {
        Term::Literal(Literal {
            lexical: lexical.into(),
            datatype: Some(dt.to_string()),
            lang: None,
        })
    }
    /// An `xsd:string` literal.
    pub fn string(lexical: impl Into<String>) -> Self {
        Term::typed(lexical, XSD_STRING)
    }
    /// A language-tagged string.
    pub fn lang_string(lexical: impl Into<String>, lang: impl Into<String>) -> Self {
        Term::Literal(Literal {
            lexical: lexical.into(),
            datatype: None,
            lang: Some(lang.into()),
        })
    }
    /// The IRI, if this is one.
    pub fn as_iri(&self) -> Option<&str> {
        match self {
            Term::Iri(i) => Some(i),
            _ => None,
        }
    }
    /// The value as an unsigned integer.
    ///
    /// Accepted: literals typed `xsd:integer` or any type derived from it (`xsd:long`,
    /// `xsd:int`, `xsd:unsignedInt`, ...), and string literals (`xsd:string` or no
    /// datatype, no language) whose lexical form is plain decimal digits. XML Schema
    /// whitespace (space, tab, CR, LF) around the digits is ignored, as the XSD
    /// "collapse" facet allows; leading zeros are decimal (`"010"` is 10).
    ///
    /// `None` for anything else: other datatypes (`xsd:decimal`, hashes, ...),
    /// language-tagged strings, an empty value, a sign (`-1` and also `+1`, which no
    /// producer writes), or a value above `u64::MAX`. The range of the narrower XSD types
    /// is not checked (`"70000"^^xsd:short` gives 70000).
    pub fn as_u64(&self) -> Option<u64> {
        let Term::Literal(l) = self else { return None };
        if l.lang.is_some() {
            return None;
        }
        let numeric_type = match l.datatype.as_deref() {
            None | Some(XSD_STRING) => true,
            Some(dt) => is_xsd_integer_type(dt),
        };
        if !numeric_type {
            return None;
        }
        let s = l
            .lexical
            .trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
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
    /// The language tag of a literal.
    pub fn lang(&self) -> Option<&str> {
        match self {
            Term::Literal(l) => l.lang.as_deref(),
            _ => None,
        }
    }
    /// This term with a literal in its stored form: no datatype and no language
    /// becomes `xsd:string`; a language tag drops the datatype.
    fn normalised(self) -> Self {
        match self {
            Term::Literal(mut l) => {
                if l.lang.is_some() {
                    l.datatype = None;
                } else if l.datatype.is_none() {
                    l.datatype = Some(XSD_STRING.to_string());
                }
                Term::Literal(l)
            }
            t => t,
        }
    }
}

/// The smallest term in [`Term`]'s order (start of a range scan).
fn min_term() -> Term {
    Term::Iri(String::new())
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
    /// Adds a triple (a set: duplicates are kept once). A literal object without datatype
    /// and language is stored as `xsd:string`.
    pub fn insert(&mut self, s: Term, p: &str, o: Term) {
        self.insert_new(s, p, o);
    }
    /// [`Graph::insert`], returning whether the triple was new.
    pub(crate) fn insert_new(&mut self, s: Term, p: &str, o: Term) -> bool {
        self.triples.insert(Triple {
            s: s.normalised(),
            p: p.to_string(),
            o: o.normalised(),
        })
    }
    /// Replaces every value of `(s, p)` by `o`.
    pub fn set(&mut self, s: Term, p: &str, o: Term) {
        self.remove(&s, p);
        self.insert(s, p, o);
    }
    /// Removes every triple `(s, p, *)`; returns how many there were.
    pub fn remove(&mut self, s: &Term, p: &str) -> usize {
        let doomed: Vec<Triple> = self.with_sp(s, p).cloned().collect();
        for t in &doomed {
            self.triples.remove(t);
        }
        doomed.len()
    }
    /// Removes one triple; returns whether it was present.
    pub fn remove_triple(&mut self, s: &Term, p: &str, o: &Term) -> bool {
        let t = Triple {
            s: s.clone().normalised(),
            p: p.to_string(),
            o: o.clone().normalised(),
        };
        self.triples.remove(&t)
    }
    /// Whether the triple is in the graph.
    pub fn contains(&self, s: &Term, p: &str, o: &Term) -> bool {
        let t = Triple {
            s: s.clone().normalised(),
            p: p.to_string(),
            o: o.clone().normalised(),
        };
        self.triples.contains(&t)
    }
    /// Adds all triples of `other`.
    pub fn extend(&mut self, other: &Graph) {
        self.triples.extend(other.triples.iter().cloned());
    }
    /// All triples, in a stable order.
    pub fn triples(&self) -> Vec<&Triple> {
        self.triples.iter().collect()
    }
    /// Iterates over all triples in a stable order (subject, predicate, object).
    pub fn iter(&self) -> impl Iterator<Item = &Triple> + '_ {
        self.triples.iter()
    }
    /// The triples whose subject is `s` (range scan).
    fn with_s(&self, s: &Term) -> impl Iterator<Item = &Triple> + '_ {
        let from = Triple {
            s: s.clone(),
            p: String::new(),
            o: min_term(),
        };
        let s = s.clone();
        self.triples.range(from..).take_while(move |t| t.s == s)
    }
    /// The triples whose subject is `s` and predicate `p` (range scan).
    fn with_sp(&self, s: &Term, p: &str) -> impl Iterator<Item = &Triple> + '_ {
        let from = Triple {
            s: s.clone(),
            p: p.to_string(),
            o: min_term(),
        };
        let (s, p) = (from.s.clone(), from.p.clone());
        self.triples
            .range(from..)
            .take_while(move |t| t.s == s && t.p == p)
    }
    /// All triples about the subject IRI `s`, in a stable order.
    pub fn about(&self, s: &str) -> Vec<&Triple> {
        let subject = Term::Iri(s.to_string());
        self.with_s(&subject).collect()
    }
    /// Objects of `(subject, predicate IRI)` for any subject term (IRI or blank node).
    pub fn objects_of(&self, s: &Term, p: &str) -> Vec<&Term> {
        self.with_sp(s, p).map(|t| &t.o).collect()
    }
    /// Objects of `(subject IRI, predicate IRI)`.
    pub fn objects(&self, s: &str, p: &str) -> Vec<&Term> {
        self.objects_of(&Term::Iri(s.to_string()), p)
    }
    /// The single object of `(s, p)`.
    ///
    /// `None` when there is no value **and also when there are two or more different
    /// values**: like pyaff4's `GetUnique`, a predicate with conflicting values (e.g. two
    /// `aff4:size` after a careless append) counts as absent, so the caller's default
    /// applies. Use [`Graph::objects`] to see all values.
    pub fn object(&self, s: &str, p: &str) -> Option<&Term> {
        let subject = Term::Iri(s.to_string());
        let mut it = self.with_sp(&subject, p);
        match (it.next(), it.next()) {
            (Some(t), None) => Some(&t.o),
            _ => None,
        }
    }
    /// `rdf:type` IRIs of `s`.
    pub fn types(&self, s: &str) -> Vec<&str> {
        self.objects(s, RDF_TYPE)
            .into_iter()
            .filter_map(Term::as_iri)
            .collect()
    }
    /// Whether `s` has `rdf:type t`.
    pub fn has_type(&self, s: &str, t: &str) -> bool {
        self.contains(
            &Term::Iri(s.to_string()),
            RDF_TYPE,
            &Term::Iri(t.to_string()),
        )
    }
    /// Subject IRIs with `rdf:type t`, sorted.
    pub fn subjects_of_type(&self, t: &str) -> Vec<&str> {
        self.subjects_with_value(RDF_TYPE, &Term::Iri(t.to_string()))
    }
    /// Subject IRIs that have at least one value for predicate `p`, sorted.
    pub fn subjects_with(&self, p: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .triples
            .iter()
            .filter(|t| t.p == p)
            .filter_map(|t| t.s.as_iri())
            .collect();
        v.dedup();
        v
    }
    /// Subject IRIs `s` with the triple `(s, p, o)`, sorted.
    pub fn subjects_with_value(&self, p: &str, o: &Term) -> Vec<&str> {
        let o = o.clone().normalised();
        let mut v: Vec<&str> = self
            .triples
            .iter()
            .filter(|t| t.p == p && t.o == o)
            .filter_map(|t| t.s.as_iri())
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
    /// Serialises as Turtle: `@prefix` lines, absolute IRIs, one block per subject (see
    /// the `write` module for the exact form).
    pub fn to_turtle(&self) -> String {
        write::to_turtle(self)
    }
}

impl<'a> IntoIterator for &'a Graph {
    type Item = &'a Triple;
    type IntoIter = std::collections::btree_set::Iter<'a, Triple>;
    fn into_iter(self) -> Self::IntoIter {
        self.triples.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexicon as lx;

    fn lit(lexical: &str, datatype: Option<&str>, lang: Option<&str>) -> Term {
        Term::Literal(Literal {
            lexical: lexical.into(),
            datatype: datatype.map(String::from),
            lang: lang.map(String::from),
        })
    }

    #[test]
    fn as_u64_accepts_integer_types_and_digit_strings_only() {
        let xsd = |t: &str| format!("{}{t}", lx::XSD);
        for t in XSD_INTEGER_TYPES {
            assert_eq!(Term::typed("32768", &xsd(t)).as_u64(), Some(32768), "{t}");
        }
        assert_eq!(Term::string("4096").as_u64(), Some(4096));
        assert_eq!(lit("7", None, None).as_u64(), Some(7));
        assert_eq!(Term::typed(" 12\n", lx::XSD_LONG).as_u64(), Some(12));
        assert_eq!(Term::typed("010", lx::XSD_INT).as_u64(), Some(10));
        let max = u64::MAX.to_string();
        assert_eq!(
            Term::typed(max.as_str(), lx::XSD_INTEGER).as_u64(),
            Some(u64::MAX)
        );
        for bad in [
            Term::typed("18446744073709551616", lx::XSD_INTEGER),
            Term::typed("-1", lx::XSD_INTEGER),
            Term::typed("+1", lx::XSD_INTEGER),
            Term::typed("", lx::XSD_INTEGER),
            Term::typed("1 2", lx::XSD_INTEGER),
            Term::typed("1.0", lx::XSD_DECIMAL),
            Term::typed("12", lx::HASH_MD5),
            Term::typed("12", lx::XSD_DATETIME),
            Term::typed("\u{0661}", lx::XSD_INTEGER),
            Term::lang_string("12", "en"),
            Term::iri("aff4://12"),
            Term::blank("12"),
        ] {
            assert_eq!(bad.as_u64(), None, "{bad:?}");
        }
    }

    #[test]
    fn graph_is_a_set_with_subject_lookups() {
        let mut g = Graph::new();
        let s = Term::iri("aff4://s");
        g.insert(s.clone(), lx::SIZE, Term::typed("1", lx::XSD_LONG));
        g.insert(s.clone(), lx::SIZE, Term::typed("1", lx::XSD_LONG));
        g.insert(s.clone(), lx::RDF_TYPE, Term::iri(lx::IMAGE));
        g.insert(Term::iri("aff4://t"), lx::RDF_TYPE, Term::iri(lx::IMAGE));
        g.insert(Term::iri("aff4://r"), lx::SIZE, lit("x", None, None));
        assert_eq!(g.len(), 4);
        assert_eq!(g.subjects(), ["aff4://r", "aff4://s", "aff4://t"]);
        assert_eq!(g.subjects_of_type(lx::IMAGE), ["aff4://s", "aff4://t"]);
        assert_eq!(g.subjects_with(lx::SIZE), ["aff4://r", "aff4://s"]);
        assert_eq!(g.about("aff4://s").len(), 2);
        assert!(g.has_type("aff4://s", lx::IMAGE));
        assert!(!g.has_type("aff4://r", lx::IMAGE));
        // A plain literal is stored as xsd:string.
        assert_eq!(g.object("aff4://r", lx::SIZE), Some(&Term::string("x")));
        assert!(g.contains(&Term::iri("aff4://r"), lx::SIZE, &lit("x", None, None)));
    }

    #[test]
    fn object_is_none_for_conflicting_values_like_get_unique() {
        let mut g = Graph::new();
        let s = Term::iri("aff4://s");
        g.insert(s.clone(), lx::SIZE, Term::typed("1", lx::XSD_LONG));
        assert_eq!(
            g.object("aff4://s", lx::SIZE).and_then(Term::as_u64),
            Some(1)
        );
        g.insert(s.clone(), lx::SIZE, Term::typed("2", lx::XSD_LONG));
        assert_eq!(g.object("aff4://s", lx::SIZE), None);
        assert_eq!(g.objects("aff4://s", lx::SIZE).len(), 2);
        g.set(s.clone(), lx::SIZE, Term::typed("3", lx::XSD_LONG));
        assert_eq!(
            g.object("aff4://s", lx::SIZE).and_then(Term::as_u64),
            Some(3)
        );
        assert_eq!(g.remove(&s, lx::SIZE), 1);
        assert!(g.is_empty());
        g.insert(s.clone(), lx::SIZE, Term::typed("4", lx::XSD_LONG));
        assert!(g.remove_triple(&s, lx::SIZE, &Term::typed("4", lx::XSD_LONG)));
        assert!(!g.remove_triple(&s, lx::SIZE, &Term::typed("4", lx::XSD_LONG)));
    }

    #[test]
    fn lookups_do_not_leak_into_neighbouring_subjects() {
        let mut g = Graph::new();
        for s in ["aff4://a", "aff4://a/", "aff4://ab", "aff4://a0"] {
            g.insert(Term::iri(s), lx::SIZE, Term::string(s));
            g.insert(Term::iri(s), lx::STORED, Term::string(s));
        }
        g.insert(Term::blank("a"), lx::SIZE, Term::string("blank"));
        for s in ["aff4://a", "aff4://a/", "aff4://ab", "aff4://a0"] {
            assert_eq!(g.object(s, lx::SIZE), Some(&Term::string(s)));
            assert_eq!(g.about(s).len(), 2);
        }
        assert_eq!(g.objects_of(&Term::blank("a"), lx::SIZE).len(), 1);
        assert_eq!(g.subjects().len(), 4);
    }
}
