//! Standard output: `-o -` streams a valid container through a pipe (no temp file, no
//! seeking), a reader that goes away early gives one clear line (streaming) or a quiet
//! exit 141 (reports), never a panic; and `--footprint low` writes the same evidence.

mod common;

use common::{bin, export, run, venv_bin};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/linux-6.1-qemu.lime")
}

fn source() -> String {
    format!("lime:{}", sample().display())
}

/// A pipe whose reading end is already closed: every write to the other end fails with EPIPE.
fn widowed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two new descriptors that we then own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors are ours; the read end is closed at once.
    unsafe {
        drop(OwnedFd::from_raw_fd(fds[0]));
        OwnedFd::from_raw_fd(fds[1])
    }
}

#[test]
fn a_streamed_container_verifies_and_exports_identically() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("streamed.aff4");
    // Through a real pipe, as `pmem-aff4 -o - | cat > x.aff4` or ssh would.
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' --source '{}' -o - | cat > '{}'",
            env!("CARGO_BIN_EXE_pmem-aff4"),
            source(),
            c.display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        o.stdout.is_empty(),
        "the container went to the file, nothing else"
    );
    assert!(err.contains("stdout: 3.6 MiB acquired"), "{err}");
    assert!(err.contains("stream"), "{err}");
    assert!(!d.path().read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("partial")));
    let v = run(&["--verify", c.to_str().unwrap()]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    let lime = d.path().join("x.lime");
    export(&c, &lime, "lime");
    assert!(std::fs::read(&lime).unwrap() == std::fs::read(sample()).unwrap());

    // pyaff4 opens the streamed file and reads the same bytes as our raw export.
    let Some(py) = venv_bin("python") else { return };
    let raw = d.path().join("x.raw");
    export(&c, &raw, "raw");
    let script = r#"
import sys
from pyaff4 import container, rdfvalue
path, raw = sys.argv[1], open(sys.argv[2], "rb").read()
c = container.Container.openURNtoContainer(rdfvalue.URN.FromFileName(path))
s = c.image.dataStream
for start, end in [(0x1000, 0x9f000), (0x100000, 0x300000), (0x9700000, 0x9800000)]:
    s.seek(start)
    assert s.read(end - start) == raw[start:end], "range %x differs" % start
print("PYAFF4-OK")
"#;
    common::assert_pyaff4_script(&py, script, &[c.as_os_str(), raw.as_os_str()]);
}

#[test]
fn json_goes_to_stderr_when_the_container_is_on_stdout() {
    let o = bin()
        .args(["--source", &source(), "-o", "-", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(&o.stdout[..4], b"PK\x03\x04", "stdout is the ZIP volume");
    let rep: serde_json::Value = serde_json::from_slice(&o.stderr).expect("JSON on stderr");
    assert_eq!(rep["output"], "-");
    assert_eq!(rep["output_write"], "stream");
    assert_eq!(rep["stored_bytes"].as_u64(), Some(o.stdout.len() as u64));
}

#[test]
fn a_stream_reader_that_goes_away_gives_one_line_and_exit_1() {
    let o = bin()
        .args(["--source", &source(), "-o", "-"])
        .stdout(Stdio::from(widowed_pipe()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("broken pipe") && lines[0].contains("incomplete"),
        "{err}"
    );
}

#[test]
fn reports_into_a_closed_pipe_exit_141_quietly() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("s.aff4");
    common::acquire(&source(), &c, &[]);
    let c = c.to_str().unwrap();
    let cases: [&[&str]; 4] = [
        &["-l", c],
        &["-l", "--json", c],
        &["-V", c],
        &["--verify", c],
    ];
    for args in cases {
        // A reader that closed before anything was written: EPIPE at the first write.
        let o = bin()
            .args(args)
            .stdout(Stdio::from(widowed_pipe()))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(141), "{args:?}");
        assert!(
            o.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // And as users write it: `| head -c 1`.
        let o = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "'{}' {} | head -c 1 >/dev/null; exit ${{PIPESTATUS[0]}}",
                env!("CARGO_BIN_EXE_pmem-aff4"),
                args.join(" ")
            ))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(matches!(o.status.code(), Some(0 | 141)), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_low_footprint_run_keeps_the_evidence_identical() {
    let d = tempfile::tempdir().unwrap();
    let fast = d.path().join("fast.aff4");
    let low = d.path().join("low.aff4");
    let rf = common::acquire(&source(), &fast, &[]);
    let rl = common::acquire(&source(), &low, &["--footprint", "low"]);
    assert_eq!(rf["footprint"], "fast", "imports default to fast");
    assert_eq!(rf["output_write"], "buffered");
    assert_eq!(rl["footprint"], "low");
    assert_eq!(rl["threads"], 1);
    // Low footprint never leaves the output in the page cache.
    let mode = rl["output_write"].as_str().unwrap();
    assert!(
        mode == "O_DIRECT" || mode.starts_with("write-behind"),
        "{mode}"
    );
    assert_eq!(rf["hashes"], rl["hashes"]);
    // Small bevies: 1 MiB of 32 KiB chunks each.
    let v = run(&["-V", low.to_str().unwrap()]);
    let turtle = String::from_utf8_lossy(&v.stdout);
    assert!(
        turtle.contains("chunksInSegment \"32\"") || turtle.contains("chunksInSegment 32"),
        "{turtle}"
    );
    for c in [&fast, &low] {
        let v = run(&["--verify", c.to_str().unwrap()]);
        assert!(v.status.success());
        let lime = d.path().join("x.lime");
        let _ = std::fs::remove_file(&lime);
        export(c, &lime, "lime");
        assert!(std::fs::read(&lime).unwrap() == std::fs::read(sample()).unwrap());
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(c).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
    }
}
