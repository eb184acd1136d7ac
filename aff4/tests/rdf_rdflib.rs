//! Our Turtle output read by rdflib 4.2.2 (what pyaff4 0.34 uses), from the oracle venv:
//! the triples rdflib sees must be exactly ours, for the graphs of every reference volume
//! and for random graphs with hostile strings and IRIs.

mod common;

use aff4::lexicon as lx;
use aff4::rdf::{is_xsd_integer_type, parse_turtle, Graph, Term};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::io::Read;
use std::path::Path;
use std::process::Command;

/// Prints every triple of each Turtle file given as argument, one line per triple:
/// for each term `I <hex>` / `B <hex>` / `L <hex lexical> <hex datatype> <hex lang>
/// <int value or ->`, hex of UTF-8 prefixed with `x`; files separated by `=`.
/// Literal normalisation is off so the lexical forms are the ones in the file.
const RDFLIB_DUMP: &str = r#"
import sys, rdflib
rdflib.NORMALIZE_LITERALS = False
def h(s):
    return "x" + s.encode("utf-8", "surrogatepass").hex()
for path in sys.argv[1:]:
    g = rdflib.Graph()
    g.parse(path, format="turtle")
    for t in g:
        row = []
        for x in t:
            if isinstance(x, rdflib.URIRef):
                row += ["I", h(str(x))]
            elif isinstance(x, rdflib.BNode):
                row += ["B", h(str(x))]
            else:
                v = x.value
                iv = str(v) if isinstance(v, int) and not isinstance(v, bool) else "-"
                row += ["L", h(str(x)), h(str(x.datatype or "")), h(x.language or ""), iv]
        print(" ".join(row))
    print("=")
"#;

/// A triple in comparable form: blank nodes anonymised, language tags lowercased.
type Key = (String, String, String);

fn key_of(t: &Term) -> String {
    match t {
        Term::Iri(i) => format!("<{i}>"),
        Term::Blank(_) => "_:".into(),
        Term::Literal(l) => format!(
            "{:?}^^{:?}@{:?}",
            l.lexical,
            l.datatype,
            l.lang.as_ref().map(|s| s.to_lowercase())
        ),
    }
}

/// Our side: sorted keys, plus `(key, u64)` for integer-typed literals.
fn ours(g: &Graph) -> (Vec<Key>, Vec<(Key, Option<u64>)>) {
    let mut keys = Vec::new();
    let mut ints = Vec::new();
    for t in g.iter() {
        let k = (key_of(&t.s), t.p.clone(), key_of(&t.o));
        if t.o.datatype().is_some_and(is_xsd_integer_type) {
            ints.push((k.clone(), t.o.as_u64()));
        }
        keys.push(k);
    }
    keys.sort();
    ints.sort();
    (keys, ints)
}

fn unhex(s: &str) -> String {
    let hex = s.strip_prefix('x').expect("hex field");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    String::from_utf8(bytes).expect("utf-8")
}

/// Parses one dump line into a key and, for an integer-valued literal object, the
/// integer rdflib computed.
fn parse_row(line: &str) -> (Key, Option<String>) {
    let mut f = line.split(' ');
    let mut next_term = || -> (String, Option<String>) {
        let kind = f.next().expect("kind");
        let value = unhex(f.next().expect("value"));
        match kind {
            "I" => (format!("<{value}>"), None),
            "B" => ("_:".into(), None),
            _ => {
                let dt = unhex(f.next().expect("datatype"));
                let lang = unhex(f.next().expect("lang"));
                let int = f.next().expect("int").to_string();
                let mut g = Graph::new();
                let lit = aff4::rdf::Literal {
                    lexical: value,
                    datatype: (!dt.is_empty()).then_some(dt),
                    lang: (!lang.is_empty()).then_some(lang),
                };
                // Store it as we would (plain literal = xsd:string) before comparing.
                g.insert(Term::iri("x:s"), "x:p", Term::Literal(lit));
                let o = g.iter().next().map(|t| key_of(&t.o)).expect("one");
                (o, (int != "-").then_some(int))
            }
        }
    };
    let (s, _) = next_term();
    let (p, _) = next_term();
    let (o, int) = next_term();
    let p = p.trim_start_matches('<').trim_end_matches('>').to_string();
    ((s, p, o), int)
}

/// Serialises each graph, has rdflib read them all, and compares triple by triple.
fn check_with_rdflib(py: &Path, graphs: &[Graph]) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut paths = Vec::new();
    for (i, g) in graphs.iter().enumerate() {
        let p = dir.path().join(format!("g{i}.ttl"));
        std::fs::write(&p, g.to_turtle()).map_err(|e| e.to_string())?;
        paths.push(p);
    }
    let out = Command::new(py)
        .arg("-c")
        .arg(RDFLIB_DUMP)
        .args(&paths)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "rdflib failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let stdout = String::from_utf8(out.stdout).map_err(|e| e.to_string())?;
    let sections: Vec<&str> = stdout.split("=\n").collect();
    for (i, g) in graphs.iter().enumerate() {
        let mut theirs = Vec::new();
        let mut their_ints = Vec::new();
        for line in sections.get(i).copied().unwrap_or("").lines() {
            let (k, int) = parse_row(line);
            if let Some(n) = int {
                their_ints.push((k.clone(), n));
            }
            theirs.push(k);
        }
        theirs.sort();
        let (mine, my_ints) = ours(g);
        if mine != theirs {
            return Err(format!(
                "graph {i}: rdflib read {} triples, we have {}\nours:   {mine:?}\nrdflib: {theirs:?}\n{}",
                theirs.len(),
                mine.len(),
                g.to_turtle()
            ));
        }
        // Integer values: ours (u64) must be what rdflib computes, where ours is defined.
        their_ints.sort();
        for (k, v) in my_ints.iter().filter_map(|(k, v)| v.map(|v| (k, v))) {
            let theirs = their_ints.iter().find(|(tk, _)| tk == k).map(|(_, n)| n);
            if theirs != Some(&v.to_string()) {
                return Err(format!("graph {i}: {k:?}: we read {v}, rdflib {theirs:?}"));
            }
        }
    }
    Ok(())
}

fn reference_graph(rel: &str) -> Option<Graph> {
    let path = common::shared_testdata(rel)?;
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).ok()?).ok()?;
    let urn = String::from_utf8_lossy(z.comment())
        .trim_end_matches('\0')
        .to_string();
    let mut text = String::new();
    z.by_name("information.turtle")
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    Some(parse_turtle(&text, Some(&urn)).expect("reference turtle parses"))
}

#[test]
fn rdflib_reads_our_turtle_of_every_reference_graph() {
    let Some(py) = common::oracle_python() else {
        return;
    };
    let graphs: Vec<Graph> = [
        "reference/AFF4Std/Base-Linear.aff4",
        "reference/AFF4Std/Base-Allocated.aff4",
        "reference/AFF4Std/Base-Linear-AllHashes.aff4",
        "reference/AFF4Std/Base-Linear-ReadError.aff4",
        "reference/AFF4Std/Striped/Base-Linear_1.aff4",
        "reference/AFF4PreStd/Base-Linear.af4",
        "reference/AFF4-L/dream.aff4",
        "c-aff4/c-aff4-snappy.aff4",
        "c-aff4/c-aff4-logical.aff4",
    ]
    .into_iter()
    .filter_map(reference_graph)
    .collect();
    assert!(!graphs.is_empty() || !common::in_ci());
    // The integer check needs something to check.
    let ints = graphs
        .iter()
        .flat_map(|g| g.iter())
        .filter(|t| t.o.datatype().is_some_and(is_xsd_integer_type))
        .count();
    assert!(graphs.is_empty() || ints > 20, "{ints} integers");
    check_with_rdflib(&py, &graphs).unwrap();
}

fn arb_iri() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9/._-]{1,20}".prop_map(|s| format!("aff4://{s}")),
        "[a-zA-Z0-9]{1,10}".prop_map(|s| format!("{}{s}", lx::AFF4)),
        "[a-z_]{1,10}".prop_map(|s| format!("{}{s}", lx::MEMORY)),
        // Non-ASCII, spaces, quotes, '%', '#': made valid (percent-encoded) by the writer.
        "\\PC{1,12}".prop_map(|s| format!("aff4://v/{s}")),
    ]
}

fn arb_term() -> impl Strategy<Value = Term> {
    prop_oneof![
        arb_iri().prop_map(Term::Iri),
        any::<String>().prop_map(Term::string),
        "[ -~\\t\\n\\r\"\\\\\u{0}-\u{1f}\u{80}-\u{ff}\u{2028}\u{fffe}\u{1F600}]{0,20}"
            .prop_map(Term::string),
        any::<u64>().prop_map(|n| Term::typed(n.to_string(), lx::XSD_LONG)),
        any::<u32>().prop_map(|n| Term::typed(n.to_string(), lx::XSD_INT)),
        (any::<String>(), arb_iri()).prop_map(|(s, dt)| Term::typed(s, &dt)),
        (any::<String>(), "(en|de|fr)(-[A-Z]{2})?").prop_map(|(s, l)| Term::lang_string(s, l)),
        "[a-z0-9]{1,6}".prop_map(|s| Term::blank(format!("b{s}"))),
    ]
}

fn arb_graph() -> impl Strategy<Value = Graph> {
    proptest::collection::vec(
        (
            arb_iri(),
            prop_oneof![arb_iri(), Just(lx::RDF_TYPE.to_string())],
            arb_term(),
        ),
        1..30,
    )
    .prop_map(|triples| {
        let mut g = Graph::new();
        for (s, p, o) in triples {
            g.insert(Term::Iri(s), &p, o);
        }
        g
    })
}

#[test]
fn rdflib_reads_random_graphs_with_hostile_strings_as_we_do() {
    let Some(py) = common::oracle_python() else {
        return;
    };
    // Many graphs per python run: interpreter start-up dominates.
    let mut runner = TestRunner::new(Config {
        cases: 8,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(arb_graph(), 40), |graphs| {
        // Our own parser reads the text back to the same graph...
        for g in &graphs {
            let text = g.to_turtle();
            let back = parse_turtle(&text, None)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            // (IRIs the writer had to percent-encode differ; compare sizes then.)
            prop_assert_eq!(back.len(), g.len(), "{}", text);
        }
        // ...and so does rdflib, triple for triple, from what we parsed back.
        let reparsed: Vec<Graph> = graphs
            .iter()
            .map(|g| parse_turtle(&g.to_turtle(), None).expect("checked above"))
            .collect();
        check_with_rdflib(&py, &reparsed).map_err(TestCaseError::fail)?;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
