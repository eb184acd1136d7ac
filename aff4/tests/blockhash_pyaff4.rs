//! pyaff4 0.34's block-hash validator on multi-bevy re-layouts of the AllHashes reference
//! image: the facts documented in `aff4::blockhash` (global chunk offsets in per-bevy
//! members; a stream without block hashes still validates its blockMapHash).

mod common;

use aff4::blockhash::{block_map_hash, MapHashes};
use aff4::hash::to_hex;
use std::io::Read;
use std::path::Path;
use std::process::Command;

/// Rewrites a single-bevy volume with `chunksInSegment = cps`. Modes: `local` (each
/// bevy's own digests, the standard layout), `both` (digests at the bevy-local and at
/// the global offset), `none` (no block hashes; blockMapHash replaced by argv[5]).
const REBEVY: &str = r#"
import sys, zipfile, struct
src, dst, cps, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
bmh = sys.argv[5] if len(sys.argv) > 5 else None
zin = zipfile.ZipFile(src)
names = zin.namelist()
s = [n for n in names if n.endswith("/00000000.index")][0][:-len("/00000000.index")]
bevy = zin.read(s + "/00000000")
idx = zin.read(s + "/00000000.index")
ents = [struct.unpack("<QI", idx[i:i+12]) for i in range(0, len(idx), 12)]
n = len(ents)
nb = (n + cps - 1) // cps
out = {}
for b in range(nb):
    data, ix = b"", b""
    for off, ln in ents[b*cps:(b+1)*cps]:
        ix += struct.pack("<QI", len(data), ln)
        data += bevy[off:off+ln]
    out["%s/%08d" % (s, b)] = data
    out["%s/%08d.index" % (s, b)] = ix
for name in names:
    if name.startswith(s + "/00000000.blockHash."):
        algo = name.rsplit(".", 1)[1]
        m = zin.read(name)
        L = len(m) // n
        if mode == "none":
            continue
        for b in range(nb):
            local = m[b*cps*L:(b+1)*cps*L]
            if mode == "both" and b > 0:
                body = local + b"\0" * ((b*cps - len(local)//L) * L) + local
            else:
                body = local
            out["%s/%08d.blockHash.%s" % (s, b, algo)] = body
turtle = zin.read("information.turtle").decode()
turtle = turtle.replace('aff4:chunksInSegment       "2048"', 'aff4:chunksInSegment       "%d"' % cps)
if mode == "none":
    blocks = [bl for bl in turtle.split("\n\n") if "/blockhash." not in bl.split("\n", 1)[0]]
    turtle = "\n\n".join(blocks)
    import re
    turtle = re.sub(r'"[0-9a-f]{128}"\^\^aff4:blockMapHashSHA512', '"%s"^^aff4:blockMapHashSHA512' % bmh, turtle)
    turtle = re.sub(r'(aff4:blockMapHash\s+)"[0-9a-f]{128}"', r'\1"%s"' % bmh, turtle)
zout = zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED)
zout.comment = zin.comment
for name in names:
    if name == s + "/00000000" or name.startswith(s + "/00000000."):
        continue
    if name == "information.turtle":
        continue
    zout.writestr(name, zin.read(name))
for k, v in out.items():
    zout.writestr(k, v)
zout.writestr("information.turtle", turtle)
zout.close()
"#;

/// Runs the validator with a listener that records instead of raising.
const VALIDATE: &str = r#"
import sys
from pyaff4 import block_hasher, rdfvalue
class L(block_hasher.ValidationListener):
    def __init__(self): self.ok, self.bad, self.badblocks, self.goodblocks = [], [], [], 0
    def onValidHash(self, typ, h, uri): self.ok.append(typ)
    def onInvalidHash(self, typ, a, b, uri): self.bad.append(typ)
    def onValidBlockHash(self, a): self.goodblocks += 1
    def onInvalidBlockHash(self, a, b, uri, off): self.badblocks.append(off)
l = L()
block_hasher.Validator(l).validateContainer(rdfvalue.URN.FromFileName(sys.argv[1]))
print("ok=%d bad=%d goodblocks=%d badblocks=%d firstbad=%s" % (len(l.ok), len(l.bad), l.goodblocks, len(l.badblocks), l.badblocks[:1]))
print("OK", sorted(set(l.ok)), "BAD", sorted(set(l.bad)))
"#;

fn run(py: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(py).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn member(path: &Path, suffix: &str) -> Vec<u8> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let name = z
        .file_names()
        .find(|n| n.ends_with(suffix))
        .unwrap()
        .to_string();
    let mut data = Vec::new();
    z.by_name(&name).unwrap().read_to_end(&mut data).unwrap();
    data
}

struct Setup {
    py: std::path::PathBuf,
    src: std::path::PathBuf,
    dir: tempfile::TempDir,
}

fn setup() -> Option<Setup> {
    let src = common::shared_testdata("reference/AFF4Std/Base-Linear-AllHashes.aff4")?;
    let py = common::oracle_python()?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rebevy.py"), REBEVY).unwrap();
    std::fs::write(dir.path().join("validate.py"), VALIDATE).unwrap();
    Some(Setup { py, src, dir })
}

impl Setup {
    fn rebevy_and_validate(&self, cps: &str, mode: &str, extra: &[&str]) -> (bool, String) {
        let d = self.dir.path();
        let out = d.join(format!("{mode}-{cps}.aff4"));
        let mut args = vec![
            d.join("rebevy.py").to_str().unwrap().to_string(),
            self.src.to_str().unwrap().to_string(),
            out.to_str().unwrap().to_string(),
            cps.to_string(),
            mode.to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, text) = run(&self.py, &a);
        assert!(ok, "rebevy failed: {text}");
        run(
            &self.py,
            &[
                d.join("validate.py").to_str().unwrap(),
                out.to_str().unwrap(),
            ],
        )
    }
}

const ALL_VALID: &str =
    "OK ['AFF4Hash', 'BlockHashesHash', 'BlockMapHash', 'mapHash', 'mapIdxHash', 'mapPathHash', 'mapPointHash'] BAD []";

#[test]
fn single_bevy_reference_validates() {
    let Some(s) = setup() else { return };
    let (ok, text) = run(
        &s.py,
        &[
            s.dir.path().join("validate.py").to_str().unwrap(),
            s.src.to_str().unwrap(),
        ],
    );
    assert!(
        ok && text.contains(ALL_VALID) && text.contains("badblocks=0"),
        "{text}"
    );
}

#[test]
fn standard_per_bevy_members_break_pyaff4_past_bevy_zero() {
    let Some(s) = setup() else { return };
    // 121 chunks in bevies of 64: chunk 64 is read at its global offset in member 1.
    let (ok, text) = s.rebevy_and_validate("64", "local", &[]);
    assert!(
        !ok,
        "pyaff4 unexpectedly accepted local per-bevy members: {text}"
    );
    assert!(text.contains("read length must be non-negative"), "{text}");
}

#[test]
fn digests_at_both_offsets_validate_but_grow_quadratically() {
    let Some(s) = setup() else { return };
    for cps in ["64", "48"] {
        let (ok, text) = s.rebevy_and_validate(cps, "both", &[]);
        assert!(ok && text.contains(ALL_VALID), "cps {cps}: {text}");
        assert!(
            text.contains("goodblocks=605 badblocks=0"),
            "cps {cps}: {text}"
        );
    }
}

#[test]
fn multi_bevy_stream_without_block_hashes_validates_its_block_map_hash() {
    let Some(s) = setup() else { return };
    let mh = MapHashes::compute(
        &member(&s.src, "/map"),
        &member(&s.src, "/idx"),
        Some(&member(&s.src, "/mapPath")),
    );
    let bmh = to_hex(&block_map_hash(&[], &mh));
    let (ok, text) = s.rebevy_and_validate("64", "none", &[&bmh]);
    assert!(ok, "{text}");
    assert!(
        text.contains(
            "OK ['AFF4Hash', 'BlockMapHash', 'mapHash', 'mapIdxHash', 'mapPathHash', 'mapPointHash'] BAD []"
        ),
        "{text}"
    );
}
