//! Turtle serialisation of a [`Graph`]: `@prefix` lines, absolute IRIs, one block per
//! subject. Hand-written (small, deterministic, and escaping exactly what rdflib 4.2.2
//! and raptor accept); checked by parsing the output back with sophia in tests.

use super::{Graph, Term};
use std::fmt::Write;

const PREFIXES: [(&str, &str); 4] = [
    ("memory", "http://aff4.org/Schema#memory/"),
    ("aff4", "http://aff4.org/Schema#"),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

fn is_pn_local(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

fn iri(out: &mut String, i: &str) {
    for (p, ns) in PREFIXES {
        if let Some(local) = i.strip_prefix(ns) {
            if is_pn_local(local) {
                let _ = write!(out, "{p}:{local}");
                return;
            }
        }
    }
    out.push('<');
    for c in i.chars() {
        match c {
            '\u{0}'..='\u{20}' | '<' | '>' | '"' | '{' | '}' | '|' | '^' | '`' | '\\' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            _ => out.push(c),
        }
    }
    out.push('>');
}

fn literal(out: &mut String, l: &super::Literal) {
    out.push('"');
    for c in l.lexical.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    if let Some(lang) = &l.lang {
        let _ = write!(out, "@{lang}");
    } else if let Some(dt) = &l.datatype {
        out.push_str("^^");
        iri(out, dt);
    }
}

fn term(out: &mut String, t: &Term) {
    match t {
        Term::Iri(i) => iri(out, i),
        Term::Blank(b) => {
            out.push_str("_:");
            out.extend(b.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_'));
        }
        Term::Literal(l) => literal(out, l),
    }
}

pub(super) fn to_turtle(g: &Graph) -> String {
    let mut out = String::new();
    for (p, ns) in PREFIXES {
        let _ = writeln!(out, "@prefix {p}: <{ns}> .");
    }
    out.push('\n');
    let triples = g.triples();
    let mut i = 0;
    while i < triples.len() {
        let s = &triples[i].s;
        term(&mut out, s);
        let mut first_pred = true;
        while i < triples.len() && triples[i].s == *s {
            let p = &triples[i].p;
            out.push_str(if first_pred { "\n    " } else { " ;\n    " });
            first_pred = false;
            if p == RDF_TYPE {
                out.push('a');
            } else {
                iri(&mut out, p);
            }
            out.push(' ');
            let mut first_obj = true;
            while i < triples.len() && triples[i].s == *s && triples[i].p == *p {
                if !first_obj {
                    out.push_str(", ");
                }
                first_obj = false;
                term(&mut out, &triples[i].o);
                i += 1;
            }
        }
        out.push_str(" .\n\n");
    }
    out
}
