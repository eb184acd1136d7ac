//! Every rdf:type, predicate and literal datatype in the volumes we write (memory image
//! with block hashes, disk image, logical files with times, the CLI's pmem: metadata) is
//! declared in `schemas/aff4.ttl`, with the declared range where one is given.

mod common;
mod write_support;

use aff4::codec::Compression;
use aff4::hash::HashAlgo;
use aff4::lexicon as lx;
use aff4::rdf::{Graph, Term};
use aff4::writer::{pmem, LogicalFileMeta, StreamOptions, VolumeWriter};
use std::collections::HashSet;
use std::time::UNIX_EPOCH;
use write_support::*;

const RDFS: &str = "http://www.w3.org/2000/01/rdf-schema#";
const OWL: &str = "http://www.w3.org/2002/07/owl#";

struct Schema {
    graph: Graph,
    classes: HashSet<String>,
    properties: HashSet<String>,
    datatypes: HashSet<String>,
}

fn schema() -> Schema {
    let path = common::workspace_root().join("schemas/aff4.ttl");
    let text = std::fs::read_to_string(&path).expect("schemas/aff4.ttl");
    let graph = aff4::rdf::parse_turtle(&text, None).expect("the schema parses");
    let of = |types: &[String]| -> HashSet<String> {
        types
            .iter()
            .flat_map(|t| graph.subjects_of_type(t))
            .map(String::from)
            .collect()
    };
    Schema {
        classes: of(&[format!("{OWL}Class"), format!("{RDFS}Class")]),
        properties: of(&[
            format!("{OWL}DatatypeProperty"),
            format!("{OWL}ObjectProperty"),
            format!("{}Property", lx::RDF),
        ]),
        datatypes: of(&[format!("{RDFS}Datatype")]),
        graph,
    }
}

/// What the CLI adds to the Image (see src/acquire.rs), with the datatypes it uses.
fn add_cli_metadata(g: &mut Graph, image: &str) {
    let s = Term::iri(image);
    let string = |v: &str| Term::typed(v, lx::XSD_STRING);
    let long = |v: u64| Term::typed(v.to_string(), lx::XSD_LONG);
    let time = Term::typed("2024-05-01T12:00:00Z", lx::XSD_DATETIME);
    for p in [
        pmem::TOOL,
        pmem::TOOL_VERSION,
        pmem::SOURCE,
        pmem::HOSTNAME,
        pmem::KERNEL_RELEASE,
        pmem::KERNEL_VERSION,
        pmem::ARCHITECTURE,
        pmem::BOOT_ID,
        pmem::VMCOREINFO,
    ] {
        g.insert(s.clone(), p, string("x"));
    }
    for p in [
        pmem::PAGE_SIZE,
        pmem::UNREADABLE_PAGES,
        pmem::KERNEL_OFFSET,
        pmem::PHYS_BASE,
    ] {
        g.insert(s.clone(), p, long(4096));
    }
    g.insert(s.clone(), pmem::ACQUISITION_START, time.clone());
    g.insert(s.clone(), pmem::ACQUISITION_END, time);
    g.insert(
        s.clone(),
        pmem::ACQUISITION_COMPLETE,
        Term::typed("true", lx::XSD_BOOLEAN),
    );
    g.insert(
        s.clone(),
        pmem::KERNEL_BASE,
        Term::typed("18446744072635809792", lx::XSD_UNSIGNED_LONG),
    );
    g.insert(s, lx::MEMORY_PAGE_TABLE_ENTRY_OFFSET, long(0x1aa000));
}

/// Turtles of volumes exercising every kind of object we write.
fn volumes() -> Vec<Graph> {
    let all_hashes = vec![
        HashAlgo::Md5,
        HashAlgo::Sha1,
        HashAlgo::Sha256,
        HashAlgo::Sha512,
        HashAlgo::Blake2b,
    ];
    let o = StreamOptions {
        linear_hashes: all_hashes.clone(),
        block_hashes: all_hashes,
        ..opts(Compression::Snappy, 1024)
    };
    let mut vw = VolumeWriter::new(Vec::new(), "pmem-aff4 test").expect("volume");
    let (pieces, total) = memory_layout(4096);
    let mut mem = vw.memory_image(o.clone()).expect("image");
    let image = mem.image_urn().to_string();
    for p in &pieces {
        match p {
            Piece::Data(a, d) => {
                for (i, c) in d.chunks(4096).enumerate() {
                    let mut stored = c.to_vec();
                    stored.resize(4096, 0); // Compression::Snappy may store a chunk raw
                    mem.add_chunk(a + (i * 4096) as u64, c, &stored)
                        .expect("chunk");
                }
            }
            Piece::Sym(a, n, s) => mem.add_symbolic(*a, *n, *s).expect("symbolic"),
        }
    }
    assert!(!mem
        .finish(total)
        .expect("finish")
        .stream
        .block_hashes
        .is_empty());
    add_cli_metadata(vw.graph_mut(), &image);
    let t = Some(UNIX_EPOCH);
    let meta = LogicalFileMeta {
        last_written: t,
        last_accessed: t,
        record_changed: t,
        birth_time: t,
    };
    vw.add_logical_file("/proc/iomem", &mut &b"small"[..], &meta)
        .expect("small file");
    let big = data(3, aff4::writer::SMALL_FILE as usize + 1);
    vw.add_logical_file("big", &mut big.as_slice(), &meta)
        .expect("big file");
    let memory = turtle(&vw.finish().expect("finish"));

    let mut vw = VolumeWriter::new(Vec::new(), "pmem-aff4 test").expect("volume");
    let mut disk = vw.disk_image(o).expect("disk");
    disk.write(&data(4, 3 * 4096 + 5)).expect("write");
    disk.finish().expect("finish");
    vec![memory, turtle(&vw.finish().expect("finish"))]
}

#[test]
fn every_term_we_write_is_declared() {
    let s = schema();
    let mut seen = HashSet::new();
    for g in volumes() {
        for t in g.triples() {
            seen.insert(t.p.clone());
            if t.p == lx::RDF_TYPE {
                let class = t.o.as_iri().expect("types are IRIs");
                assert!(s.classes.contains(class), "class {class} is not declared");
                continue;
            }
            assert!(
                s.properties.contains(&t.p),
                "predicate {} is not declared",
                t.p
            );
            if let Some(dt) = t.o.datatype() {
                assert!(
                    s.datatypes.contains(dt),
                    "datatype {dt} (on {}) is not declared",
                    t.p
                );
                let range = s
                    .graph
                    .object(&t.p, &format!("{RDFS}range"))
                    .and_then(Term::as_iri);
                if let Some(r) = range.filter(|r| s.datatypes.contains(*r)) {
                    assert_eq!(dt, r, "{} has range {r}", t.p);
                }
            }
        }
    }
    // The volumes really exercised the vocabulary (a vacuous pass proves nothing).
    for p in [
        lx::BLOCK_MAP_HASH,
        lx::DEPENDENT_STREAM,
        lx::ORIGINAL_FILE_NAME,
        pmem::PHYS_BASE,
    ] {
        assert!(seen.contains(p), "{p} not written by the test volumes");
    }
}

#[test]
fn every_pmem_term_is_declared_with_a_comment_and_range() {
    let s = schema();
    for t in pmem::ALL {
        assert!(s.properties.contains(*t), "{t} is not declared");
        assert!(
            s.graph.object(t, &format!("{RDFS}comment")).is_some(),
            "{t} has no comment"
        );
        assert!(
            s.graph.object(t, &format!("{RDFS}range")).is_some(),
            "{t} has no range"
        );
    }
    for c in s.classes.iter().chain(&s.properties).chain(&s.datatypes) {
        assert!(
            s.graph.object(c, &format!("{RDFS}comment")).is_some(),
            "{c} has no comment"
        );
    }
}
