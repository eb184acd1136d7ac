//! `-V/--view`, `-l/--list` and `--verify`.

use crate::cli::Args;
use crate::export::{image_spans, Span};
use crate::{exit, report};
use aff4::volume::VolumeSet;
use serde::Serialize;

/// `-V`: the metadata as Turtle (or as JSON triples with --json).
pub fn run_view(args: &Args) -> anyhow::Result<u8> {
    let set = VolumeSet::open(&args.containers)?;
    if args.json {
        #[derive(Serialize)]
        struct T {
            s: String,
            p: String,
            o: String,
        }
        let triples: Vec<T> = set
            .graph()
            .triples()
            .into_iter()
            .map(|t| T {
                s: term(&t.s),
                p: t.p.clone(),
                o: term(&t.o),
            })
            .collect();
        report::print_json(&serde_json::json!({ "report": "view", "triples": triples }))?;
    } else {
        out!("{}", set.graph().to_turtle());
    }
    Ok(exit::OK)
}

fn term(t: &aff4::rdf::Term) -> String {
    match t {
        aff4::rdf::Term::Iri(i) => i.clone(),
        aff4::rdf::Term::Blank(b) => format!("_:{b}"),
        aff4::rdf::Term::Literal(l) => match &l.datatype {
            Some(dt) => format!("\"{}\"^^<{dt}>", l.lexical),
            None => format!("\"{}\"", l.lexical),
        },
    }
}

#[derive(Serialize)]
struct RangeOut {
    start: u64,
    length: u64,
    kind: String,
}

#[derive(Serialize)]
struct ImageOut {
    urn: String,
    size: u64,
    /// `pmem:acquisitionComplete` when the image has it (our containers do).
    #[serde(skip_serializing_if = "Option::is_none")]
    complete: Option<bool>,
    ranges: Vec<RangeOut>,
}

/// The image's `pmem:acquisitionComplete`, if recorded.
fn acquisition_complete(set: &VolumeSet, image: &str) -> Option<bool> {
    let p = format!("{}acquisitionComplete", aff4::lexicon::PMEM);
    match set.graph().object(image, &p)?.as_str()? {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// `-l`: images (with their range maps), streams and logical files.
pub fn run_list(args: &Args) -> anyhow::Result<u8> {
    let set = VolumeSet::open(&args.containers)?;
    let objects = set.objects();
    let logical = aff4::logical::list(&set)?;
    let mut images = Vec::new();
    if let Ok((urn, size, _spans)) = image_spans(&set) {
        let map = set.image_map(&urn)?;
        let ranges = map
            .ranges()
            .iter()
            .map(|r| RangeOut {
                start: r.start,
                length: r.length,
                kind: range_kind(&r.kind).to_string(),
            })
            .collect();
        let complete = acquisition_complete(&set, &urn);
        images.push(ImageOut {
            urn,
            size,
            complete,
            ranges,
        });
    }
    if args.json {
        let objs: Vec<serde_json::Value> = objects
            .iter()
            .map(|o| {
                serde_json::json!({
                    "urn": o.urn,
                    "kind": format!("{:?}", o.kind),
                    "size": o.size,
                    "stored_size": o.stored_size,
                    "compression": o.compression.map(|c| c.name()),
                    "hashes": o.hashes.iter().map(|(a, h)| serde_json::json!({"algorithm": a, "value": h})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let files: Vec<serde_json::Value> = logical
            .iter()
            .map(|f| serde_json::json!({"urn": f.urn, "name": f.name, "size": f.size}))
            .collect();
        report::print_json(&serde_json::json!({
            "report": "list",
            "volumes": set.volumes().iter().map(|v| serde_json::json!({"urn": v.urn, "path": v.path.display().to_string(), "tool": v.tool})).collect::<Vec<_>>(),
            "images": images,
            "objects": objs,
            "logical_files": files,
        }))?;
        return Ok(exit::OK);
    }
    outln!(
        "{:<60} {:<12} {:>14} {:>14} {:<8} hashes",
        "object",
        "kind",
        "size",
        "stored",
        "codec"
    );
    for o in &objects {
        let hashes: Vec<String> = o
            .hashes
            .iter()
            .map(|(a, h)| format!("{a}:{}", short(h)))
            .collect();
        outln!(
            "{:<60} {:<12} {:>14} {:>14} {:<8} {}",
            o.urn,
            format!("{:?}", o.kind),
            o.size.map_or("-".into(), |s| s.to_string()),
            o.stored_size.map_or("-".into(), |s| s.to_string()),
            o.compression.map_or("-", |c| c.name()),
            hashes.join(" ")
        );
    }
    for img in &images {
        outln!("\nimage {} ({} bytes), ranges:", img.urn, img.size);
        if img.complete == Some(false) {
            outln!("  INCOMPLETE acquisition (interrupted): ranges never read are 'unknown'");
        }
        for r in img.ranges.iter().filter(|r| r.kind != "hole") {
            outln!(
                "  {:#014x}-{:#014x} {:>12} {}",
                r.start,
                r.start + r.length,
                report::human(r.length),
                r.kind
            );
        }
    }
    if !logical.is_empty() {
        outln!("\nlogical files:");
        for f in &logical {
            outln!("  {:<50} {:>12}", f.name, f.size);
        }
    }
    Ok(exit::OK)
}

fn short(h: &str) -> &str {
    &h[..h.len().min(16)]
}

/// Short kind name used in reports: data, zero, unreadable, unknown, pattern, hole.
pub fn range_kind(k: &aff4::map::RangeKind) -> &'static str {
    use aff4::symbolic::Symbolic;
    match k {
        aff4::map::RangeKind::Hole => "hole",
        aff4::map::RangeKind::Data { .. } => "data",
        aff4::map::RangeKind::Symbolic(Symbolic::Zero, _) => "zero",
        aff4::map::RangeKind::Symbolic(Symbolic::UnreadableData, _) => "unreadable",
        aff4::map::RangeKind::Symbolic(Symbolic::UnknownData, _) => "unknown",
        aff4::map::RangeKind::Symbolic(_, _) => "pattern",
    }
}

/// `--verify`: every stored hash recomputed; exit 0 only if all match.
pub fn run_verify(args: &Args) -> anyhow::Result<u8> {
    let set = VolumeSet::open(&args.containers)?;
    let limit = (!args.no_work_limit).then(|| set.work_limit());
    let rep = aff4::verify::verify_limited(&set, limit)?;
    let ok = rep.all_ok();
    // Hashes can all match on an interrupted acquisition: say that it is one.
    let incomplete: Vec<String> = set
        .graph()
        .subjects_of_type(aff4::lexicon::IMAGE)
        .into_iter()
        .filter(|i| acquisition_complete(&set, i) == Some(false))
        .map(str::to_string)
        .collect();
    if args.json {
        let checks: Vec<serde_json::Value> = rep
            .checks
            .iter()
            .map(|c| serde_json::json!({"subject": c.subject, "kind": c.kind, "algorithm": c.algorithm, "status": c.status.name(), "expected": c.expected, "actual": c.actual}))
            .collect();
        report::print_json(
            &serde_json::json!({"report": "verify", "ok": ok, "checks": checks, "incomplete_images": incomplete}),
        )?;
    } else if !args.quiet {
        for c in &rep.checks {
            outln!(
                "{:<10} {:<14} {:<8} {}",
                c.status.name(),
                c.kind,
                c.algorithm,
                c.subject
            );
        }
        outln!(
            "{}",
            if ok {
                "verify: OK, every stored hash matches"
            } else {
                "verify: FAILED"
            }
        );
        for i in &incomplete {
            outln!("note: {i} is an INCOMPLETE acquisition (interrupted): the hashes cover what was read");
        }
    }
    let _: Option<&Span> = None;
    Ok(if ok { exit::OK } else { exit::VERIFY_FAILED })
}
