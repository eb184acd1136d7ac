//! End-to-end tests of the `pmem-aff4` command on dump files: import, export, verify,
//! oracles (pyaff4, Volatility 3), and the failure modes an examiner must be able to trust.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{
    acquire, assert_pyaff4_script, assert_volatility_banner, bin, export, in_ci, run, venv_bin,
};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample.lime")
}

fn sha256_file(p: &Path) -> String {
    let o = Command::new("sha256sum").arg(p).output().unwrap();
    String::from_utf8_lossy(&o.stdout)[..64].to_string()
}

#[test]
fn lime_import_exports_identically_in_every_format() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("s.aff4");
    let rep = acquire(&format!("lime:{}", sample().display()), &c, &[]);
    assert_eq!(rep["complete"], true);
    assert_eq!(rep["unreadable_pages"], 0);
    // Container is private.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&c).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // LiME round trip is byte-identical.
    let lime = d.path().join("x.lime");
    export(&c, &lime, "lime");
    assert_eq!(
        std::fs::read(&lime).unwrap(),
        std::fs::read(sample()).unwrap()
    );
    // Raw export hashes to the SHA-256 in the summary and the metadata.
    let raw = d.path().join("x.raw");
    export(&c, &raw, "raw");
    assert_eq!(sha256_file(&raw), rep["hashes"]["sha256"].as_str().unwrap());
    // ELF export re-imports to the same image.
    let elf = d.path().join("x.elf");
    export(&c, &elf, "elf");
    let c2 = d.path().join("e.aff4");
    let rep2 = acquire(&format!("elf:{}", elf.display()), &c2, &[]);
    assert_eq!(rep2["hashes"]["sha256"], rep["hashes"]["sha256"]);
    assert_eq!(rep2["ranges"], rep["ranges"]);
    // Raw + ranges import of the raw export: same image again, holes stay holes.
    let ranges = d.path().join("ranges.txt");
    let text: String = rep["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{:x}-{:x}\n",
                r["start"].as_u64().unwrap(),
                r["end"].as_u64().unwrap() - 1
            )
        })
        .collect();
    std::fs::write(&ranges, text).unwrap();
    let c3 = d.path().join("r.aff4");
    let rep3 = acquire(
        &format!("raw:{}", raw.display()),
        &c3,
        &["--ranges", ranges.to_str().unwrap()],
    );
    assert_eq!(rep3["hashes"]["sha256"], rep["hashes"]["sha256"]);
    let list = run(&["-l", "--json", c3.to_str().unwrap()]);
    let l: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(l["images"][0]["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["kind"] == "hole"));
    // Verify passes on all.
    for c in [&c, &c2, &c3] {
        assert!(run(&["-q", "--verify", c.to_str().unwrap()])
            .status
            .success());
    }
}

#[test]
fn every_codec_round_trips() {
    let d = tempfile::tempdir().unwrap();
    for codec in ["snappy", "lz4", "zlib", "deflate", "none"] {
        let c = d.path().join(format!("{codec}.aff4"));
        acquire(
            &format!("lime:{}", sample().display()),
            &c,
            &["-c", codec, "-t", "2"],
        );
        let lime = d.path().join(format!("{codec}.lime"));
        export(&c, &lime, "lime");
        assert_eq!(
            std::fs::read(&lime).unwrap(),
            std::fs::read(sample()).unwrap(),
            "{codec}"
        );
        let v = run(&["--verify", "--json", c.to_str().unwrap()]);
        assert!(v.status.success(), "{codec}");
    }
}

#[test]
fn pyaff4_reads_our_container_and_its_validator_finds_no_invalid_hash() {
    let Some(py) = venv_bin("python") else { return };
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("s.aff4");
    acquire(
        &format!("lime:{}", sample().display()),
        &c,
        &["--chunk-size", "4096"],
    );
    let raw = d.path().join("x.raw");
    export(&c, &raw, "raw");
    let script = r#"
import sys, hashlib
from pyaff4 import container, rdfvalue, block_hasher
path, raw = sys.argv[1], open(sys.argv[2], "rb").read()
c = container.Container.openURNtoContainer(rdfvalue.URN.FromFileName(path))
s = c.image.dataStream
for start, end in [(0x1000, 0x9f000), (0x100000, 0x300000)]:
    s.seek(start)
    d = s.read(end - start)
    assert d == raw[start:end], "range %x differs" % start
class L(block_hasher.ValidationListener):
    def __init__(self): self.bad = []
    def onValidHash(self, *a): pass
    def onInvalidHash(self, *a): self.bad.append(a)
l = L()
block_hasher.Validator(l).validateContainer(rdfvalue.URN.FromFileName(path))
assert not l.bad, l.bad
print("PYAFF4-OK")
"#;
    assert_pyaff4_script(&py, script, &[c.as_os_str(), raw.as_os_str()]);
}

#[test]
fn volatility_finds_the_linux_banner_in_the_lime_export() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("s.aff4");
    acquire(&format!("lime:{}", sample().display()), &c, &[]);
    let lime = d.path().join("x.lime");
    export(&c, &lime, "lime");
    assert_volatility_banner(&lime, "Linux version 6.1.0-50-cloud-amd64");
}

#[test]
fn unreadable_pages_are_marked_counted_and_verified() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("s.aff4");
    let rep = acquire(
        &format!("lime:{}", sample().display()),
        &c,
        &["--inject-read-errors", "0x2000,0x101000-0x103000"],
    );
    assert_eq!(rep["unreadable_pages"], 3);
    let list: serde_json::Value =
        serde_json::from_slice(&run(&["-l", "--json", c.to_str().unwrap()]).stdout).unwrap();
    let bad: Vec<(u64, u64)> = list["images"][0]["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "unreadable")
        .map(|r| (r["start"].as_u64().unwrap(), r["length"].as_u64().unwrap()))
        .collect();
    assert_eq!(bad, vec![(0x2000, 0x1000), (0x101000, 0x2000)]);
    assert!(run(&["-q", "--verify", c.to_str().unwrap()])
        .status
        .success());
    let raw = d.path().join("x.raw");
    export(&c, &raw, "raw");
    let bytes = std::fs::read(&raw).unwrap();
    // The pattern tiles by address (AFF4-FORMAT.md §4.3): it appears within one period.
    assert!(bytes[0x2000..0x2000 + 28]
        .windows(14)
        .any(|w| w == b"UNREADABLEDATA"));
    assert!(bytes[0x2000..0x3000]
        .iter()
        .all(|b| b"UNREADABLEDATA".contains(b)));
    // LiME can say "absent": the unreadable pages are left out, as the Volatility 3
    // layer treats them as invalid; every other byte is the sample's.
    let lime = d.path().join("x.lime");
    export(&c, &lime, "lime");
    let lime_bytes = std::fs::read(&lime).unwrap();
    let got: Vec<(u64, u64)> = lime_ranges(&lime_bytes)
        .iter()
        .map(|(s, b)| (*s, *s + b.len() as u64))
        .collect();
    assert_eq!(
        got,
        vec![
            (0x1000, 0x2000),
            (0x3000, 0x9f000),
            (0x100000, 0x101000),
            (0x103000, 0x300000)
        ]
    );
    for (start, b) in lime_ranges(&lime_bytes) {
        let s = start as usize;
        assert_eq!(b, &bytes[s..s + b.len()], "LiME range at {start:#x}");
    }
}

#[test]
fn existing_output_is_never_overwritten_without_force() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("s.aff4");
    std::fs::write(&c, b"precious").unwrap();
    let o = run(&[
        "--source",
        &format!("lime:{}", sample().display()),
        "-o",
        c.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(std::fs::read(&c).unwrap(), b"precious");
    let o = run(&[
        "-q",
        "--force",
        "--source",
        &format!("lime:{}", sample().display()),
        "-o",
        c.to_str().unwrap(),
    ]);
    assert!(o.status.success());
}

#[test]
fn missing_or_bad_sources_fail_cleanly_and_leave_nothing() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("s.aff4");
    for src in [
        "lime:/nonexistent.lime",
        "floppy",
        &format!("lime:{}", file!()),
    ] {
        let o = run(&["--source", src, "-o", c.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{src}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            err.lines().filter(|l| l.contains("error")).count(),
            1,
            "{src}: {err}"
        );
        assert!(!err.contains("panicked"), "{src}");
        assert!(!c.exists());
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            0,
            "no partial file left"
        );
    }
    let o = run(&["--verify", "/nonexistent.aff4"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn corrupt_container_fails_verification_not_silently() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("s.aff4");
    acquire(&format!("lime:{}", sample().display()), &c, &["-c", "none"]);
    let mut bytes = std::fs::read(&c).unwrap();
    // Flip a byte inside the first bevy (stored data, after the first members).
    let pos = bytes.windows(8).position(|w| w == b"00000000").unwrap() + 4096;
    bytes[pos] ^= 0xff;
    std::fs::write(&c, &bytes).unwrap();
    let o = run(&["--verify", c.to_str().unwrap()]);
    assert_ne!(o.status.code(), Some(0));
}

/// The ranges of a LiME (version 1) file: (first address, bytes).
fn lime_ranges(bytes: &[u8]) -> Vec<(u64, &[u8])> {
    let mut v = Vec::new();
    let mut off = 0usize;
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    while off < bytes.len() {
        assert_eq!(&bytes[off..off + 4], b"EMiL");
        let (start, last) = (u64_at(off + 8), u64_at(off + 16));
        let len = (last - start + 1) as usize;
        v.push((start, &bytes[off + 32..off + 32 + len]));
        off += 32 + len;
    }
    v
}

/// Writes AVML's compressed LiME (magic "AVML", version 2): each range cut into pieces
/// of at most `piece` bytes, each piece a header, a snappy framed stream and the
/// stream's length (u64 LE). Returns the file and the file offset of each stream.
fn avml_encode(ranges: &[(u64, &[u8])], piece: usize) -> (Vec<u8>, Vec<usize>) {
    use std::io::Write;
    let mut out = Vec::new();
    let mut streams = Vec::new();
    for &(start, data) in ranges {
        for (i, part) in data.chunks(piece).enumerate() {
            let first = start + (i * piece) as u64;
            out.extend_from_slice(b"AVML");
            out.extend_from_slice(&2u32.to_le_bytes());
            out.extend_from_slice(&first.to_le_bytes());
            out.extend_from_slice(&(first + part.len() as u64 - 1).to_le_bytes());
            out.extend_from_slice(&0u64.to_le_bytes());
            let mut enc = snap::write::FrameEncoder::new(Vec::new());
            enc.write_all(part).unwrap();
            let stream = enc.into_inner().unwrap();
            streams.push(out.len());
            out.extend_from_slice(&stream);
            out.extend_from_slice(&(stream.len() as u64).to_le_bytes());
        }
    }
    (out, streams)
}

#[test]
fn avml_compressed_lime_imports_like_the_uncompressed_one() {
    let d = tempfile::tempdir().unwrap();
    let v1 = std::fs::read(sample()).unwrap();
    // 256 KiB pieces: AVML's 16 MiB cut, scaled down so the sample's ranges are split.
    let (avml, streams) = avml_encode(&lime_ranges(&v1), 0x40000);
    assert!(streams.len() > 4);
    let src = d.path().join("sample.avml");
    std::fs::write(&src, &avml).unwrap();
    assert!(avml.len() < v1.len(), "the AVML file is compressed");

    let c1 = d.path().join("v1.aff4");
    let rep1 = acquire(&format!("lime:{}", sample().display()), &c1, &[]);
    let c2 = d.path().join("v2.aff4");
    let rep2 = acquire(
        &format!("lime:{}", src.display()),
        &c2,
        &["-t", "2", "--chunk-size", "4096"],
    );
    assert_eq!(rep2["complete"], true);
    assert_eq!(rep2["ranges"], rep1["ranges"], "touching pieces are merged");
    assert_eq!(rep2["hashes"], rep1["hashes"]);
    assert!(rep2["source_description"]
        .as_str()
        .unwrap()
        .contains("AVML"));
    let lime = d.path().join("x.lime");
    export(&c2, &lime, "lime");
    assert!(std::fs::read(&lime).unwrap() == v1, "LiME export differs");
    let raw = d.path().join("x.raw");
    export(&c2, &raw, "raw");
    assert_eq!(
        sha256_file(&raw),
        rep1["hashes"]["sha256"].as_str().unwrap()
    );
    assert!(run(&["-q", "--verify", c2.to_str().unwrap()])
        .status
        .success());
}

#[test]
fn damaged_avml_files_fail_cleanly_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let v1 = std::fs::read(sample()).unwrap();
    let (avml, streams) = avml_encode(&lime_ranges(&v1), 0x40000);
    // A chunk in the middle of the image: its first data chunk's compressed bytes.
    let s = streams[streams.len() / 2];
    assert_eq!(
        avml[s + 10],
        0,
        "a compressed chunk follows the stream identifier"
    );
    let mut corrupt = avml.clone();
    corrupt[s + 10 + 4 + 4 + 200] ^= 0x5a;
    let mut bad_size = avml.clone();
    let t = streams[1] - 32 - 8; // trailer of the first piece
    bad_size[t] ^= 0x10;
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "truncated",
            avml[..avml.len() * 3 / 5].to_vec(),
            "truncated",
        ),
        ("bad-size", bad_size, "trailing compressed size"),
        ("corrupt", corrupt, "damaged"),
    ];
    let out_dir = d.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    for (name, bytes, why) in cases {
        let src = d.path().join(format!("{name}.avml"));
        std::fs::write(&src, &bytes).unwrap();
        let c = out_dir.join(format!("{name}.aff4"));
        let o = run(&[
            "--source",
            &format!("lime:{}", src.display()),
            "-o",
            c.to_str().unwrap(),
            "-t",
            "2",
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(lines.len(), 1, "{name}: {err}");
        assert!(lines[0].contains(src.to_str().unwrap()), "{name}: {err}");
        assert!(lines[0].contains(why), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert_eq!(
            std::fs::read_dir(&out_dir).unwrap().count(),
            0,
            "{name}: nothing may be left in the output directory"
        );
    }
}

/// Starts a slow import of the sample into `dir/s.aff4` (every read sleeps `delay_ms`,
/// one thread, `extra` arguments added) and returns once its temporary output exists,
/// i.e. once the signal handlers are in place.
fn spawn_slow_import(dir: &Path, delay_ms: u32, extra: &[&str]) -> std::process::Child {
    let c = dir.join("s.aff4");
    let delay = delay_ms.to_string();
    let mut args = vec![
        "--source".to_string(),
        format!("lime:{}", sample().display()),
        "-o".to_string(),
        c.to_str().unwrap().to_string(),
        "-t".to_string(),
        "1".to_string(),
        "--inject-read-delay".to_string(),
        delay,
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let child = bin()
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let partial = dir.join("s.aff4.partial");
    while !partial.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the acquisition never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child
}

/// Interrupts a slow import with `sig` and checks what an examiner relies on.
fn interrupted_run_closes_an_incomplete_container(sig: libc::c_int, name: &str) {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("s.aff4");
    // 4 KiB chunks, 150 ms per read, one thread: at least 3 s.
    let child = spawn_slow_import(d.path(), 150, &["--chunk-size", "4096"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{name}: {err}");
    assert!(err.contains("INCOMPLETE"), "{name}: {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    // The container is at its final name, alone, and says it is incomplete.
    let names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["s.aff4".to_string()], "{name}");
    let list = run(&["-l", "--json", c.to_str().unwrap()]);
    assert!(list.status.success(), "{name}: -l fails");
    let l: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let img = &l["images"][0];
    assert_eq!(img["complete"], false, "{name}");
    let kinds: Vec<(u64, u64, String)> = img["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["start"].as_u64().unwrap(),
                r["length"].as_u64().unwrap(),
                r["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let sum = |k: &str| -> u64 { kinds.iter().filter(|r| r.2 == k).map(|r| r.1).sum::<u64>() };
    let ram = 0x9e000 + 0x200000;
    assert!(
        sum("unknown") > 0,
        "{name}: nothing marked unknown: {kinds:?}"
    );
    assert!(sum("data") + sum("zero") > 0, "{name}: nothing read");
    assert_eq!(
        sum("unknown") + sum("data") + sum("zero"),
        ram,
        "{name}: every RAM byte is read or marked unknown"
    );
    // The unread part is the tail, after what was read.
    let first_unknown = kinds.iter().find(|r| r.2 == "unknown").unwrap().0;
    assert!(kinds
        .iter()
        .filter(|r| r.2 == "data" || r.2 == "zero")
        .all(|r| r.0 + r.1 <= first_unknown));
    let view = run(&["-V", c.to_str().unwrap()]);
    let ttl = String::from_utf8_lossy(&view.stdout);
    assert!(
        ttl.lines()
            .any(|l| l.contains("acquisitionComplete") && l.contains("false")),
        "{name}: {ttl}"
    );
    let v = run(&["--verify", "--json", c.to_str().unwrap()]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{name}: hashes of the partial image"
    );
    let vj: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(vj["ok"], true);
    assert_eq!(vj["incomplete_images"].as_array().unwrap().len(), 1);
    let v = run(&["--verify", c.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&v.stdout).contains("INCOMPLETE"));
}

#[test]
fn sigint_mid_run_closes_a_valid_incomplete_container() {
    interrupted_run_closes_an_incomplete_container(libc::SIGINT, "SIGINT");
}

#[test]
fn sigterm_mid_run_closes_a_valid_incomplete_container() {
    interrupted_run_closes_an_incomplete_container(libc::SIGTERM, "SIGTERM");
}

/// A small filesystem mounted for a test; unmounted when dropped.
struct SmallFs(PathBuf);

impl Drop for SmallFs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Mounts a 1 MiB tmpfs (or, failing that, a 2 MiB loop-mounted ext4) under `dir`.
fn small_filesystem(dir: &Path) -> Result<SmallFs, String> {
    let mnt = dir.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let tmpfs = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs"])
        .arg(&mnt)
        .output();
    let why_tmpfs = match tmpfs {
        Ok(o) if o.status.success() => return Ok(SmallFs(mnt)),
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) => e.to_string(),
    };
    let img = dir.join("fs.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(2 << 20)
        .unwrap();
    let mkfs = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-O", "^has_journal"])
        .arg(&img)
        .output();
    let why_loop = match mkfs {
        Ok(o) if o.status.success() => {
            match Command::new("mount")
                .args(["-o", "loop"])
                .arg(&img)
                .arg(&mnt)
                .output()
            {
                Ok(o) if o.status.success() => return Ok(SmallFs(mnt)),
                Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                Err(e) => e.to_string(),
            }
        }
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) => format!("mkfs.ext4: {e}"),
    };
    Err(format!(
        "cannot mount a small filesystem (tmpfs: {why_tmpfs}; loop ext4: {why_loop})"
    ))
}

/// Incompressible bytes (xorshift), so the container cannot be smaller than the source.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Imports `src` into `dir/big.aff4`, which must fail for lack of space: one clear line
/// naming the output, exit 1, and nothing left in `dir`.
fn import_into_full_disk(src: &Path, dir: &Path, extra: &[&str], what: &str) {
    let c = dir.join("big.aff4");
    let mut args = vec![
        "--source".to_string(),
        format!("raw:{}", src.display()),
        "-o".to_string(),
        c.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = bin().args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "{what}: {err}");
    let line = lines[0];
    assert!(
        line.starts_with(&format!("pmem-aff4: error: {}: ", c.display())),
        "{what}: {line}"
    );
    assert!(line.contains("No space left on device"), "{what}: {line}");
    assert!(line.contains("free space"), "{what}: no hint: {line}");
    assert_eq!(
        line.matches("No space left").count(),
        1,
        "{what}: said twice: {line}"
    );
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lost+found")
        .collect();
    assert!(left.is_empty(), "{what}: left behind: {left:?}");
}

#[test]
fn a_full_disk_gives_one_clear_line_and_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("noise.raw");
    std::fs::write(&src, noise(4 << 20)).unwrap();
    // A real full filesystem: what CI (root) must run.
    match small_filesystem(d.path()) {
        Ok(fs) => import_into_full_disk(&src, &fs.0, &[], "small filesystem"),
        Err(why) => {
            assert!(!in_ci(), "CI must test a real full filesystem: {why}");
            eprintln!("SKIP real full filesystem: {why}; only the injected ENOSPC runs");
        }
    }
    // Injected ENOSPC at chosen points: in the image data, and while closing the volume
    // (the last few KiB: metadata and ZIP directory).
    let whole = d.path().join("whole.aff4");
    let rep = acquire(&format!("raw:{}", src.display()), &whole, &[]);
    let size = rep["stored_bytes"].as_u64().unwrap();
    assert!(size > 4 << 20, "noise does not compress");
    for (n, at) in [(100_000u64, "data"), (size - 3000, "closing")] {
        let dir = d.path().join(format!("inject-{at}"));
        std::fs::create_dir(&dir).unwrap();
        let limit = n.to_string();
        import_into_full_disk(&src, &dir, &["--inject-enospc-after", &limit], at);
    }
}

#[test]
fn without_a_terminal_only_the_summary_and_with_q_only_errors() {
    let d = tempfile::tempdir().unwrap();
    let src = format!("lime:{}", sample().display());
    let c = d.path().join("s.aff4");
    // Slow enough that a progress bar, if any, would draw.
    let o = run(&[
        "--source",
        &src,
        "-o",
        c.to_str().unwrap(),
        "--inject-read-delay",
        "20",
        "-t",
        "1",
    ]);
    assert!(o.status.success());
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "only the summary: {err:?}");
    assert!(lines[0].starts_with(&format!("{}: 2.6 MiB acquired from LiME dump", c.display())));
    assert!(lines[0].contains("SHA-256 "), "{err}");
    // The line names the source's ranges, as the LiME headers give them (half-open).
    let bytes = std::fs::read(sample()).unwrap();
    let ranges: Vec<String> = lime_ranges(&bytes)
        .iter()
        .map(|(start, data)| format!("{start:#x}-{:#x}", start + data.len() as u64))
        .collect();
    assert!(ranges.len() >= 2);
    assert!(
        lines[0].contains(&format!("[{}]", ranges.join(" "))),
        "ranges {ranges:?} in {err:?}"
    );
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
    // -q: nothing at all on success, for every mode.
    let c2 = d.path().join("q.aff4");
    let raw = d.path().join("q.raw");
    for args in [
        vec!["-q", "--source", &src, "-o", c2.to_str().unwrap()],
        vec!["-q", "--verify", c.to_str().unwrap()],
        vec!["-q", "--export", raw.to_str().unwrap(), c.to_str().unwrap()],
    ] {
        let o = run(&args);
        assert!(o.status.success(), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}: {:?}", o.stdout);
        assert!(o.stderr.is_empty(), "{args:?}: {:?}", o.stderr);
    }
    // -q with an error: that one line.
    let o = run(&["-q", "--source", &src, "-o", c.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("pmem-aff4: error: "), "{err}");
}

#[test]
fn a_terminal_gets_a_progress_bar_unless_quiet() {
    // util-linux `script` gives the command a pseudo-terminal.
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            !in_ci(),
            "`script` (util-linux) is needed for the terminal test"
        );
        eprintln!("SKIP: no `script` to provide a terminal");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let on_tty = |name: &str, extra: &str| {
        let c = d.path().join(name);
        let cmd = format!(
            "'{}' --source 'lime:{}' -o '{}' --inject-read-delay 30 -t 1 {extra}",
            env!("CARGO_BIN_EXE_pmem-aff4"),
            sample().display(),
            c.display()
        );
        let o = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(c.exists());
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let shown = on_tty("a.aff4", "");
    assert!(
        shown.contains("lime ["),
        "no bar naming the source: {shown:?}"
    );
    assert!(
        shown.contains("MiB/s") && shown.contains("ETA"),
        "{shown:?}"
    );
    assert!(shown.contains("/2.62 MiB"), "done of total: {shown:?}");
    assert!(shown.contains("SHA-256"), "summary: {shown:?}");
    let quiet = on_tty("b.aff4", "-q");
    assert!(quiet.trim().is_empty(), "-q on a terminal: {quiet:?}");
}

/// A second Ctrl-C while the container is being closed stops at once and removes the
/// unfinished output: nothing that could pass for a container is left.
#[test]
fn second_sigint_removes_the_unfinished_output() {
    let d = tempfile::tempdir().unwrap();
    // Each read sleeps 1 s, so the first signal finds a read in progress and the
    // second arrives before the container can be closed.
    let child = spawn_slow_import(d.path(), 1000, &[]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    std::thread::sleep(std::time::Duration::from_millis(100));
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("unfinished output was removed"), "{err}");
    assert_eq!(
        std::fs::read_dir(d.path()).unwrap().count(),
        0,
        "nothing may be left: {err}"
    );
}
