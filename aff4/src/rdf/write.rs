//! Turtle serialisation of a [`Graph`].
//!
//! Output form: `@prefix` lines for `memory:`, `aff4:`, `rdf:` and `xsd:`, then one
//! block per subject (in the graph's order), `rdf:type` first and written `a`, further
//! predicates in IRI order, several values of one predicate joined with `,`. Literals
//! always carry their datatype (`"32768"^^xsd:int`, `"x"^^xsd:string`), which is the
//! REF/c-aff4 style that pyaff4 and c-aff4 read without guessing.
//!
//! Hand-written rather than sophia's serializer: we want this exact, stable layout
//! (type first, explicit datatypes instead of bare numbers, fixed prefixes) and full
//! control of escaping, and the code is small.
//!
//! Escaping:
//! * Strings escape `"`, `\`, newline, CR and tab by name and other control,
//!   separator and non-characters as `\u`/`\U`; other non-ASCII stays UTF-8.
//! * IRIs that are valid RFC 3987 IRIs are written as they are (a valid IRI contains
//!   none of the characters IRIREF forbids). An invalid one (e.g. with a space) cannot
//!   be written faithfully at all: Turtle parsers, sophia included, check the IRI after
//!   undoing `\u` escapes, so `\u0020` is as unreadable as a raw space. Such an IRI is
//!   percent-encoded instead (its RFC 3987 URI mapping, so `a b` becomes `a%20b`), and
//!   if that still does not give a valid IRI, everything after the scheme except
//!   unreserved characters and `/` is percent-encoded. A string without a scheme is
//!   written as a relative IRI, which a reader resolves against its base.
//! * Blank node labels made of ASCII letters and digits are kept; any other label is
//!   written as `u_` + the hex of its UTF-8 bytes (injective, always a valid label).
//! * An invalid language tag is dropped (the literal is written as `xsd:string`).
//! * Triples with a literal subject cannot be written in Turtle and are skipped.

use super::{Graph, Literal, Term, Triple};
use crate::lexicon::{RDF_TYPE, XSD_STRING};
use std::borrow::Cow;
use std::fmt::Write;

/// Prefixes always declared, longest namespace first (so `memory:` wins over `aff4:`).
const PREFIXES: [(&str, &str); 5] = [
    ("memory", crate::lexicon::MEMORY),
    ("aff4", crate::lexicon::AFF4),
    ("rdf", crate::lexicon::RDF),
    ("xsd", crate::lexicon::XSD),
    ("pmem", crate::lexicon::PMEM),
];

pub(super) fn to_turtle(g: &Graph) -> String {
    let mut out = String::new();
    for (p, ns) in PREFIXES {
        let _ = writeln!(out, "@prefix {p}: <{ns}> .");
    }
    let triples: Vec<&Triple> = g.iter().collect();
    for group in triples.chunk_by(|a, b| a.s == b.s) {
        subject_block(&mut out, group);
    }
    out
}

/// Writes the block of one subject (`group` is non-empty and shares the subject).
fn subject_block(out: &mut String, group: &[&Triple]) {
    let Some(first) = group.first() else { return };
    if let Term::Literal(l) = &first.s {
        tracing::warn!(
            "not writing {} triple(s) with literal subject {l:?}",
            group.len()
        );
        return;
    }
    out.push('\n');
    term(out, &first.s);
    let (types, others): (Vec<&Triple>, Vec<&Triple>) = group.iter().partition(|t| t.p == RDF_TYPE);
    let mut sep = "\n    ";
    for preds in [types.as_slice(), others.as_slice()] {
        for same_p in preds.chunk_by(|a, b| a.p == b.p) {
            let Some(t) = same_p.first() else { continue };
            out.push_str(sep);
            sep = " ;\n    ";
            if t.p == RDF_TYPE {
                out.push('a');
            } else {
                iri(out, &t.p);
            }
            for (i, t) in same_p.iter().enumerate() {
                out.push_str(if i == 0 { " " } else { ", " });
                term(out, &t.o);
            }
        }
    }
    out.push_str(" .\n");
}

fn term(out: &mut String, t: &Term) {
    match t {
        Term::Iri(i) => iri(out, i),
        Term::Blank(b) => blank(out, b),
        Term::Literal(l) => literal(out, l),
    }
}

fn blank(out: &mut String, label: &str) {
    out.push_str("_:");
    if !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric()) {
        out.push_str(label);
    } else {
        out.push_str("u_");
        for b in label.bytes() {
            let _ = write!(out, "{b:02x}");
        }
    }
}

/// A local name every Turtle parser accepts after a prefix (conservative PN_LOCAL).
fn is_safe_local(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn iri(out: &mut String, i: &str) {
    for (p, ns) in PREFIXES {
        if let Some(local) = i.strip_prefix(ns) {
            if is_safe_local(local) {
                let _ = write!(out, "{p}:{local}");
                return;
            }
        }
    }
    out.push('<');
    out.push_str(&iri_text(i));
    out.push('>');
}

/// `i` as it can appear between `<` and `>` (see the module documentation).
fn iri_text(i: &str) -> Cow<'_, str> {
    if sophia_iri::is_absolute_iri_ref(i) {
        return Cow::Borrowed(i);
    }
    let mapped = percent_encode(i, 0, keep_in_iri);
    if sophia_iri::is_valid_iri_ref(&mapped) && parser_accepts(&mapped) {
        return Cow::Owned(mapped);
    }
    let scheme_len = scheme_prefix_len(i);
    Cow::Owned(percent_encode(i, scheme_len, keep_strict))
}

/// Whether the Turtle parser accepts `s`: an absolute IRI passes sophia's check, a
/// relative one must also parse with oxiri, which the parser resolves it with and which
/// is stricter on some authorities (`//:ꬁ` passes sophia's check; a port must be digits).
fn parser_accepts(s: &str) -> bool {
    sophia_iri::is_absolute_iri_ref(s) || sophia_iri::resolve::BaseIriRef::new(s).is_ok()
}

/// Length of `scheme:` at the start of `s`, or 0.
fn scheme_prefix_len(s: &str) -> usize {
    let Some(colon) = s.find(':') else { return 0 };
    let scheme = &s[..colon];
    let valid = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if valid {
        colon + 1
    } else {
        0
    }
}

/// Copies `s[..keep_prefix]` and percent-encodes the UTF-8 bytes of every later
/// character that `keep` rejects. A `%` followed by two hex digits is kept.
fn percent_encode(s: &str, keep_prefix: usize, keep: fn(char) -> bool) -> String {
    let (head, tail) = s.split_at(keep_prefix.min(s.len()));
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(head);
    for (at, c) in tail.char_indices() {
        let escape_ok = c == '%'
            && tail
                .get(at + 1..at + 3)
                .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        if keep(c) || escape_ok {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// RFC 3987 `ucschar`.
fn is_ucschar(c: char) -> bool {
    let n = u32::from(c);
    matches!(n, 0xA0..=0xD7FF | 0xF900..=0xFDCF | 0xFDF0..=0xFFEF)
        || ((0x10000..=0xDFFFD).contains(&n) && (n & 0xFFFF) <= 0xFFFD)
        || (0xE1000..=0xEFFFD).contains(&n)
}

/// Characters an IRI may contain unescaped somewhere (unreserved, reserved, ucschar).
fn keep_in_iri(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=".contains(c) || is_ucschar(c)
}

/// Characters valid in every part of an IRI after the scheme.
fn keep_strict(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~/".contains(c) || is_ucschar(c)
}

/// A language tag that Turtle's LANGTAG production and BCP 47 (as sophia checks it) accept.
fn is_lang_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && sophia_api::term::LanguageTag::new(s).is_ok()
}

fn literal(out: &mut String, l: &Literal) {
    out.push('"');
    for c in l.lexical.chars() {
        escape_char(out, c);
    }
    out.push('"');
    match l.lang.as_deref() {
        Some(lang) if is_lang_tag(lang) => {
            out.push('@');
            out.push_str(lang);
        }
        _ => {
            out.push_str("^^");
            iri(out, l.datatype.as_deref().unwrap_or(XSD_STRING));
        }
    }
}

/// Whether `c` is written as a numeric escape: controls, line/paragraph separators,
/// the BOM and non-characters (all legal raw, but fragile in other tools).
fn needs_numeric_escape(c: char) -> bool {
    let n = u32::from(c);
    n < 0x20
        || (0x7F..=0x9F).contains(&n)
        || matches!(n, 0x2028 | 0x2029 | 0xFEFF | 0xFDD0..=0xFDEF)
        || (n & 0xFFFE) == 0xFFFE
}

fn escape_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if needs_numeric_escape(c) => {
            let n = u32::from(c);
            let _ = if n <= 0xFFFF {
                write!(out, "\\u{n:04X}")
            } else {
                write!(out, "\\U{n:08X}")
            };
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_turtle;
    use super::*;
    use crate::lexicon as lx;
    use proptest::prelude::*;

    fn sample() -> Graph {
        let mut g = Graph::new();
        let img = Term::iri("aff4://v/img");
        g.insert(img.clone(), lx::RDF_TYPE, Term::iri(lx::IMAGE));
        g.insert(img.clone(), lx::RDF_TYPE, Term::iri(lx::MEMORY_IMAGE));
        g.insert(img.clone(), lx::SIZE, Term::typed("12", lx::XSD_LONG));
        g.insert(img.clone(), lx::CATEGORY, Term::iri(lx::MEMORY_PHYSICAL));
        g.insert(img, lx::STORED, Term::iri("aff4://v"));
        g.insert(
            Term::iri("aff4://v"),
            lx::RDF_TYPE,
            Term::iri(lx::ZIP_VOLUME),
        );
        g
    }

    #[test]
    fn layout_is_grouped_typed_and_prefixed() {
        let text = sample().to_turtle();
        for p in ["memory", "aff4", "rdf", "xsd"] {
            assert!(text.contains(&format!("@prefix {p}: <")), "{text}");
        }
        let expected = "\n<aff4://v/img>\n    a aff4:Image, aff4:MemoryImage ;\n    \
                        aff4:category memory:physical ;\n    aff4:size \"12\"^^xsd:long ;\n    \
                        aff4:stored <aff4://v> .\n";
        assert!(text.contains(expected), "{text}");
        assert!(
            text.contains("<aff4://v>\n    a aff4:ZipVolume .\n"),
            "{text}"
        );
        assert_eq!(text, sample().to_turtle(), "deterministic");
    }

    #[test]
    fn strings_are_escaped_and_keep_unicode() {
        let mut g = Graph::new();
        let s = "quote\" back\\ nl\n cr\r tab\t nul\0 del\u{7f} ls\u{2028} é 😀 \u{FFFE}";
        g.insert(Term::iri("aff4://a"), "p:x", Term::string(s));
        let text = g.to_turtle();
        let line = text.lines().find(|l| l.contains("p:x")).unwrap();
        assert!(
            line.contains(
                r#"quote\" back\\ nl\n cr\r tab\t nul\u0000 del\u007F ls\u2028 é 😀 \uFFFE"#
            ),
            "{line}"
        );
        assert_eq!(parse_turtle(&text, None).unwrap(), g);
    }

    #[test]
    fn invalid_iris_are_percent_encoded_into_valid_ones() {
        assert_eq!(iri_text("aff4://v/a b|c"), "aff4://v/a%20b%7Cc");
        assert_eq!(iri_text("aff4://v/100%"), "aff4://v/100%25");
        assert_eq!(iri_text("aff4://v/ok%20é"), "aff4://v/ok%20é");
        assert_eq!(iri_text("aff4://v/\u{E000}"), "aff4://v/%EE%80%80");
        // Structure problems fall back to encoding everything but unreserved and '/'.
        assert_eq!(iri_text("aff4://v/x#a#b"), "aff4://v/x%23a%23b");
        for bad in [
            "aff4://v/a b",
            "aff4://[x/y",
            "aff4:x\"y<>{}",
            "urn:x:y#1#2",
        ] {
            let mut g = Graph::new();
            g.insert(Term::iri(bad), "p:x", Term::iri(bad));
            let text = g.to_turtle();
            let back = parse_turtle(&text, None).unwrap_or_else(|e| panic!("{bad:?}: {e}\n{text}"));
            assert_eq!(back.len(), 1);
        }
    }

    #[test]
    fn odd_blank_labels_and_lang_tags_still_parse() {
        let mut g = Graph::new();
        g.insert(Term::blank("a b"), "p:x", Term::blank(""));
        g.insert(
            Term::blank("ok1"),
            "p:x",
            Term::lang_string("x", "not a tag"),
        );
        g.insert(Term::string("lit"), "p:x", Term::string("dropped"));
        let text = g.to_turtle();
        assert!(text.contains("_:u_612062\n    <p:x> _:u_ ."), "{text}");
        assert!(!text.contains("dropped"), "{text}");
        let back = parse_turtle(&text, None).unwrap();
        assert_eq!(back.len(), 2);
        assert!(back.contains(&Term::blank("ok1"), "p:x", &Term::string("x")));
    }

    fn arb_iri() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9/._:-]{1,20}".prop_map(|s| format!("aff4://{s}")),
            "[a-zA-Z0-9]{1,10}".prop_map(|s| format!("{}{s}", lx::AFF4)),
            "[a-z]{1,8}".prop_map(|s| format!("{}{s}", lx::MEMORY)),
            "\\PC{1,12}".prop_map(|s| format!("aff4://v/{}", percent_encode(&s, 0, keep_strict))),
        ]
    }

    fn arb_term() -> impl Strategy<Value = Term> {
        prop_oneof![
            arb_iri().prop_map(Term::Iri),
            any::<String>().prop_map(Term::string),
            any::<u64>().prop_map(|n| Term::typed(n.to_string(), lx::XSD_LONG)),
            (any::<String>(), arb_iri()).prop_map(|(s, dt)| Term::typed(s, &dt)),
            (any::<String>(), "[a-z]{1,8}(-[a-zA-Z0-9]{1,8}){0,2}")
                .prop_filter("valid BCP 47", |(_, l)| is_lang_tag(l))
                .prop_map(|(s, l)| Term::lang_string(s, l)),
            "[a-zA-Z0-9]{1,8}".prop_map(|s| Term::blank(format!("x{s}"))),
        ]
    }

    fn arb_subject() -> impl Strategy<Value = Term> {
        prop_oneof![
            4 => arb_iri().prop_map(Term::Iri),
            1 => "[a-zA-Z0-9]{1,8}".prop_map(|s| Term::blank(format!("x{s}"))),
        ]
    }

    proptest! {
        #[test]
        fn turtle_round_trip(triples in proptest::collection::vec(
            (arb_subject(), prop_oneof![arb_iri(), Just(lx::RDF_TYPE.to_string())], arb_term()),
            0..25,
        )) {
            let mut g = Graph::new();
            for (s, p, o) in triples {
                g.insert(s, &p, o);
            }
            let text = g.to_turtle();
            let back = parse_turtle(&text, None)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(back.triples(), g.triples(), "{}", text);
        }

        #[test]
        fn any_iri_string_gives_parseable_turtle(s in "\\PC{0,30}", o in any::<String>()) {
            let mut g = Graph::new();
            g.insert(Term::Iri(s.clone()), &s, Term::Iri(o.clone()));
            g.insert(Term::iri("aff4://x"), "p:x", Term::typed("v", &o));
            let text = g.to_turtle();
            let back = parse_turtle(&text, Some("aff4://base"))
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(back.len(), 2);
        }
    }
}
