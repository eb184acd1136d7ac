//! Turtle parsing (sophia) into a [`Graph`].
//!
//! Handles every style the producers write (see AFF4-FORMAT §5.4): c-aff4's `@base`
//! with relative IRIs, Evimetry's `@prefix : <aff4://vol>` with `:` subjects, and
//! rdflib's absolute IRIs with extra prefixes. Hostile input gives [`Error::Rdf`] with
//! the line and column, never a panic; the text size and the size of what it expands to
//! (prefixed names can be much longer than their text) are both bounded.

use super::{Graph, Literal, Term};
use crate::lexicon::{AFF4, AFF4_LEGACY};
use crate::{Error, Result};
use sophia_api::parser::TripleParser;
use sophia_api::source::{StreamError, TripleSource};
use sophia_api::term::TermKind;
use sophia_api::triple::Triple as _;
use sophia_iri::resolve::BaseIriRef;
use sophia_turtle::parser::turtle::TurtleParser;

/// Largest `information.turtle` we accept (the format keeps metadata small; a bigger
/// one is hostile or broken).
pub const MAX_TURTLE: usize = 256 << 20;

/// The parsed graph may take at most this many bytes per byte of Turtle text (plus
/// [`EXPANSION_SLACK`], and never more than [`MAX_GRAPH_BYTES`]). Real files take
/// 10-15x (a subject is stored again for each `;` entry, prefixed names expand); a file
/// that declares a huge prefix and uses it a million times would exhaust memory.
const EXPANSION_FACTOR: usize = 64;
/// Bytes of graph always allowed, whatever the text size.
const EXPANSION_SLACK: usize = 1 << 20;
/// Upper bound on the (estimated) memory of one parsed graph.
const MAX_GRAPH_BYTES: usize = 1 << 30;
/// Bytes counted per stored triple on top of its strings (tree entry and headers).
const TRIPLE_OVERHEAD: usize = 160;

/// Parses Turtle text. Relative IRIs resolve (RFC 3986) against the text's own `@base`
/// or, before any `@base`, against `base` (the volume URN). An invalid `base` is ignored
/// (relative IRIs then fail with their own error). Legacy namespace IRIs are rewritten to
/// the standard ones. Texts longer than [`MAX_TURTLE`] are refused.
pub fn parse_turtle(text: &str, base: Option<&str>) -> Result<Graph> {
    parse_turtle_with_limit(text, base, MAX_TURTLE)
}

/// [`parse_turtle`] with a caller-chosen size limit (bytes of text).
pub fn parse_turtle_with_limit(text: &str, base: Option<&str>, max_len: usize) -> Result<Graph> {
    if text.len() > max_len {
        return Err(Error::Rdf(format!(
            "{} bytes of Turtle is more than the {max_len} accepted",
            text.len()
        )));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let parser = TurtleParser {
        base: base.and_then(base_iri),
        preserve_bn_labels: true,
        ..TurtleParser::default()
    };
    let mut sink = Sink {
        graph: Graph::new(),
        budget: text
            .len()
            .saturating_mul(EXPANSION_FACTOR)
            .saturating_add(EXPANSION_SLACK)
            .min(MAX_GRAPH_BYTES),
        skipped: 0,
    };
    // sophia 0.10 indexes out of bounds on some malformed input (e.g. an unclosed
    // `[` subject): contain that panic, quietly, and report it as an RDF error.
    let parsed = quiet_catch_unwind(std::panic::AssertUnwindSafe(|| {
        parser
            .parse_str(text)
            .try_for_each_triple(|t| sink.add(t.s(), t.p(), t.o()))
    }))
    .map_err(|()| Error::Rdf("Turtle syntax: malformed input (rejected by the parser)".into()))?;
    parsed.map_err(|e| match e {
        StreamError::SourceError(e) => {
            let (line, col) = e.position();
            Error::Rdf(format!(
                "Turtle syntax, line {} column {}: {}",
                line + 1,
                col + 1,
                e.kind()
            ))
        }
        StreamError::SinkError(e) => e,
    })?;
    if sink.skipped > 0 {
        tracing::debug!(
            "information.turtle: skipped {} triple(s) with RDF 1.2 triple terms",
            sink.skipped
        );
    }
    Ok(sink.graph)
}

thread_local! {
    /// Set while this thread runs [`quiet_catch_unwind`].
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err(())` without printing the panic message (the
/// previous panic hook still runs for panics anywhere else). Installs a chaining panic
/// hook once per process.
fn quiet_catch_unwind<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> Result<R, ()> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let r = std::panic::catch_unwind(f);
    QUIET.with(|q| q.set(was));
    r.map_err(|_| ())
}

/// `base` as a sophia base IRI, or `None` (logged) when it is not a valid IRI.
fn base_iri(base: &str) -> Option<BaseIriRef<Box<str>>> {
    match BaseIriRef::new(base.to_string().into_boxed_str()) {
        Ok(b) => Some(b),
        Err(e) => {
            tracing::debug!("ignoring invalid base IRI {base:?}: {e}");
            None
        }
    }
}

/// Collects converted triples into a graph within a byte budget.
struct Sink {
    graph: Graph,
    budget: usize,
    skipped: usize,
}

impl Sink {
    fn add<T: sophia_api::term::Term>(&mut self, s: T, p: T, o: T) -> Result<()> {
        let (Some(s), Some(Term::Iri(p)), Some(o)) = (convert(s), convert(p), convert(o)) else {
            self.skipped += 1;
            return Ok(());
        };
        let cost = term_bytes(&s) + p.len() + term_bytes(&o) + TRIPLE_OVERHEAD;
        if self.graph.insert_new(s, &p, o) {
            self.budget = self.budget.checked_sub(cost).ok_or_else(|| {
                Error::Rdf(format!(
                    "the Turtle expands to more memory than allowed ({EXPANSION_FACTOR} \
                     times its size, at most {MAX_GRAPH_BYTES} bytes) after {} triples; \
                     refusing it as hostile",
                    self.graph.len()
                ))
            })?;
        }
        Ok(())
    }
}

fn term_bytes(t: &Term) -> usize {
    match t {
        Term::Iri(s) | Term::Blank(s) => s.len(),
        Term::Literal(l) => {
            l.lexical.len()
                + l.datatype.as_ref().map_or(0, String::len)
                + l.lang.as_ref().map_or(0, String::len)
        }
    }
}

/// `iri` with the legacy AFF4 namespace replaced by the standard one.
fn modernise(iri: &str) -> String {
    match iri.strip_prefix(AFF4_LEGACY) {
        Some(local) => format!("{AFF4}{local}"),
        None => iri.to_string(),
    }
}

/// A sophia term as ours; `None` for RDF 1.2 triple terms and variables.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexicon as lx;

    fn err(text: &str) -> String {
        match parse_turtle(text, None) {
            Err(Error::Rdf(m)) => m,
            other => panic!("expected an RDF error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn c_aff4_base_style_resolves_relative_iris() {
        let t = "@base <aff4://v> .\n@prefix aff4: <http://aff4.org/Schema#> .\n\
                 </mem.raw> aff4:stored <> ; aff4:target <x>, <../y>, <#f> ; aff4:size 12 .";
        let g = parse_turtle(t, None).unwrap();
        let s = "aff4://v/mem.raw";
        assert_eq!(g.objects(s, lx::STORED), [&Term::iri("aff4://v")]);
        let targets: Vec<_> = g.objects(s, lx::TARGET).into_iter().cloned().collect();
        assert_eq!(
            targets,
            ["aff4://v#f", "aff4://v/x", "aff4://v/y"].map(Term::iri)
        );
        assert_eq!(g.object(s, lx::SIZE).and_then(Term::as_u64), Some(12));
        assert_eq!(
            g.object(s, lx::SIZE).and_then(Term::datatype),
            Some(lx::XSD_INTEGER)
        );
    }

    #[test]
    fn caller_base_applies_until_the_text_sets_its_own() {
        let g = parse_turtle("</a> <p:x> <> .", Some("aff4://vol")).unwrap();
        assert_eq!(g.objects("aff4://vol/a", "p:x"), [&Term::iri("aff4://vol")]);
        let g = parse_turtle("@base <aff4://own> . </a> <p:x> 1 .", Some("aff4://vol")).unwrap();
        assert_eq!(g.subjects(), ["aff4://own/a"]);
        // No base at all: a relative IRI is an error naming it.
        let m = err("</a> <p:x> 1 .");
        assert!(m.contains("/a") && m.contains("line 1"), "{m}");
        // An invalid caller base is ignored, absolute IRIs still parse.
        let g = parse_turtle("<aff4://a> <p:x> 1 .", Some("not a base")).unwrap();
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn evimetry_empty_prefix_style() {
        let t = "@prefix : <aff4://v> .\n@prefix aff4: <http://aff4.org/Schema#> .\n\
                 : a aff4:ZipVolume ; aff4:contains :x .";
        let g = parse_turtle(t, None).unwrap();
        assert!(g.has_type("aff4://v", lx::ZIP_VOLUME));
        assert_eq!(
            g.objects("aff4://v", lx::CONTAINS),
            [&Term::iri("aff4://vx")]
        );
    }

    #[test]
    fn legacy_namespace_is_rewritten_everywhere() {
        let t = "@prefix l: <http://afflib.org/2009/aff4#> .\n\
                 l:s l:hash \"ab\"^^l:MD5 ; a l:Image ; l:p l:o .";
        let g = parse_turtle(t, None).unwrap();
        let s = "http://aff4.org/Schema#s";
        assert!(g.has_type(s, lx::IMAGE));
        assert_eq!(
            g.object(s, lx::HASH).and_then(Term::datatype),
            Some(lx::HASH_MD5)
        );
        assert_eq!(
            g.object(s, "http://aff4.org/Schema#p"),
            Some(&Term::iri("http://aff4.org/Schema#o"))
        );
        assert!(g.iter().all(|t| !format!("{t:?}").contains("afflib")));
    }

    #[test]
    fn literals_of_every_kind_are_kept() {
        let t = "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n\
                 <aff4://a> <p:d> \"2018-09-17T13:42:20+10:00\"^^xsd:datetime ;\n\
                 <p:l> \"hallo\"@de-AT ; <p:s> \"x\" ; <p:u> \"1\"^^<urn:unknown> ;\n\
                 <p:n> -5, 1.5, true ; <p:m> \"\"\"two\nlines\"\"\" .";
        let g = parse_turtle(t, None).unwrap();
        let d = g.object("aff4://a", "p:d").unwrap();
        assert_eq!(
            d.datatype(),
            Some("http://www.w3.org/2001/XMLSchema#datetime")
        );
        let l = g.object("aff4://a", "p:l").unwrap();
        assert_eq!(
            (l.as_str(), l.lang(), l.datatype()),
            (Some("hallo"), Some("de-AT"), None)
        );
        assert_eq!(g.object("aff4://a", "p:s"), Some(&Term::string("x")));
        assert_eq!(g.object("aff4://a", "p:u").and_then(Term::as_u64), None);
        assert_eq!(g.objects("aff4://a", "p:n").len(), 3);
        let m = g.object("aff4://a", "p:m").and_then(Term::as_str);
        assert_eq!(m, Some("two\nlines"));
    }

    #[test]
    fn blank_nodes_keep_labels_and_are_deterministic() {
        let t = "<aff4://a> <p:x> _:foo, [ <p:y> 1 ] . _:foo <p:z> 2 .";
        let a = parse_turtle(t, None).unwrap();
        let b = parse_turtle(t, None).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 4);
        let foo = Term::blank("foo");
        assert_eq!(a.objects_of(&foo, "p:z").len(), 1);
    }

    #[test]
    fn bad_input_is_an_error_with_a_position() {
        for (text, what) in [
            ("<aff4://x> a ", "end of data"),
            ("garbage <<", "line 1"),
            ("<aff4://a> <p:x> 1 .\n\nthis is not turtle", "line 3"),
            ("<aff4://a> <p:x> <aff4://a b> .", "aff4://a b"),
            ("<aff4://a> <p:x> <aff4://%zz> .", "line 1"),
            ("<aff4://a> <p:x> \"\\uD800\" .", "escape"),
            ("<aff4://a> <p:x> \"open", "line 1"),
            ("<aff4://a> <p:x> xsd:int .", "xsd"),
            ("@prefix : <aff4://x> .\n: : : : .", "line 2"),
        ] {
            let m = err(text);
            assert!(m.contains(what), "{text:?}: {m}");
        }
        let m = parse_turtle_with_limit("<aff4://a> <p:x> 1 .", None, 5).unwrap_err();
        assert!(m.to_string().contains("more than the 5"), "{m}");
    }

    #[test]
    fn prefix_expansion_is_bounded() {
        let long = "x".repeat(100_000);
        let mut t = format!("@prefix p: <aff4://{long}> .\n");
        for i in 0..10_000 {
            t.push_str(&format!("p:{i} p:p p:o .\n"));
        }
        let m = err(&t);
        assert!(m.contains("expands"), "{m}");
        // A few uses of a long prefix are fine.
        let ok = format!("@prefix p: <aff4://{long}> .\np:a p:b p:c .");
        assert_eq!(parse_turtle(&ok, None).unwrap().len(), 1);
    }

    #[test]
    fn deep_nesting_and_bom_do_not_break_the_parser() {
        let n = 20_000;
        let t = format!(
            "<aff4://a> <p:x> {}1{} .",
            "[ <p:y> ".repeat(n),
            " ]".repeat(n)
        );
        assert_eq!(parse_turtle(&t, None).unwrap().len(), n + 1);
        // Collections expand a lot (two triples with rdf: IRIs per "( "): either they
        // fit the budget or they are refused cleanly.
        let t = format!("<aff4://a> <p:x> {}1{} .", "( ".repeat(n), " )".repeat(n));
        match parse_turtle(&t, None) {
            Ok(g) => assert!(g.len() > n),
            Err(Error::Rdf(m)) => assert!(m.contains("expands"), "{m}"),
            Err(e) => panic!("{e}"),
        }
        let t = "<aff4://a> <p:x> ( 1 ( 2 ) ) .";
        assert_eq!(parse_turtle(t, None).unwrap().len(), 7);
        let g = parse_turtle("\u{feff}<aff4://a> <p:x> 1 .", None).unwrap();
        assert_eq!(g.len(), 1);
    }

    const SAMPLE: &str = "@base <aff4://v> .\n@prefix aff4: <http://aff4.org/Schema#> .\n\
        @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n\
        </m> a aff4:Image ; aff4:size \"12\"^^xsd:long, 13 ; aff4:x [ aff4:y ( 1 \"s\"@en ) ] .\n\
        <> aff4:contains </m> ; aff4:n \"\"\"long\nstring\"\"\" .\n";

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(text in "\\PC{0,200}") {
            let _ = parse_turtle(&text, Some("aff4://v"));
        }

        #[test]
        fn mutated_turtle_never_panics(
            cut in 0..SAMPLE.len(),
            len in 0usize..8,
            insert in "[\\[\\]()<>\"'@^_:.;,#\\\\a-z0-9 \n]{0,6}",
        ) {
            let mut t = SAMPLE.as_bytes().to_vec();
            let end = (cut + len).min(t.len());
            t.splice(cut..end, insert.bytes());
            let text = String::from_utf8_lossy(&t);
            let _ = parse_turtle(&text, None);
        }
    }

    /// sophia 0.10 panics on this (an unclosed `[` subject); we must return an error.
    #[test]
    fn parser_panic_is_an_rdf_error() {
        // SAMPLE with `</m>` replaced by `[` (the case proptest found).
        let text = SAMPLE.replacen("</m> a", "[ a", 1);
        assert!(text.contains("\n[ a aff4:Image"));
        let r = parse_turtle(&text, None);
        assert!(matches!(r, Err(Error::Rdf(_))), "{r:?}");
    }

    #[test]
    fn sample_parses() {
        assert_eq!(parse_turtle(SAMPLE, None).unwrap().len(), 11);
    }
}
