//! The command line where other AFF4 tools meet ours: `--export` on a container without
//! a memory image (c-aff4's `aff4imager -i FILE` output) names the `-e … -D …` command
//! for each file it holds, and `-c deflate` warns that c-aff4 and pyaff4 cannot read it.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{bin, in_ci, run};

/// `../shared/testdata/<rel>` read in place; `None` (after saying so) when missing
/// outside CI, a failure in CI.
fn shared_testdata(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("PMEM_AFF4_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let p = root.join("testdata").join(rel);
    if p.exists() {
        return Some(p);
    }
    let msg = format!("test data missing: {} (set PMEM_AFF4_SHARED)", p.display());
    assert!(!in_ci(), "{msg}");
    eprintln!("SKIP: {msg}");
    None
}

fn sha256_file(p: &Path) -> String {
    let o = Command::new("sha256sum").arg(p).output().unwrap();
    assert!(o.status.success(), "sha256sum {}", p.display());
    String::from_utf8_lossy(&o.stdout)[..64].to_string()
}

/// Runs `--export` (in `cwd`), which must fail with one line; returns that line and the
/// commands it quotes between backticks.
fn failed_export(cwd: &Path, out: &str, container: &Path) -> (String, Vec<String>) {
    let o = bin()
        .current_dir(cwd)
        .args(["--export", out])
        .arg(container)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!cwd.join(out).exists(), "no export file is left");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    let commands = err
        .split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect();
    (err, commands)
}

/// Runs a suggested command through the shell, as a user pasting it would.
fn run_suggested(cwd: &Path, command: &str) {
    let rest = command
        .strip_prefix("pmem-aff4 ")
        .unwrap_or_else(|| panic!("not a pmem-aff4 command: {command}"));
    let line = format!("'{}' {rest}", env!("CARGO_BIN_EXE_pmem-aff4"));
    let o = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// c-aff4's `aff4imager -i a.txt -i b.bin` output: the error names one command per
/// file, and each command extracts that file with the original bytes (hashes from the
/// fixture's README).
#[test]
fn export_of_c_aff4_logical_files_names_the_extract_commands() {
    let Some(c) = shared_testdata("c-aff4/c-aff4-logical.aff4") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let (err, commands) = failed_export(d.path(), "mem.raw", &c);
    assert!(
        err.starts_with(
            "pmem-aff4: error: the container holds no memory or disk image (aff4:Image) to \
             export; it holds 2 logical files: extract with `"
        ),
        "{err}"
    );
    let c = c.to_str().unwrap();
    assert_eq!(
        commands,
        [
            format!("pmem-aff4 -e a.txt -D . {c}"),
            format!("pmem-aff4 -e b.bin -D . {c}"),
        ]
    );
    for cmd in &commands {
        run_suggested(d.path(), cmd);
    }
    assert_eq!(
        sha256_file(&d.path().join("a.txt")),
        "5850803160a521ad57bc8f1450926ae9fcddd1011808009de23a3bd372a55fc2"
    );
    assert_eq!(
        sha256_file(&d.path().join("b.bin")),
        "324fd557359821543abdd50963ab9e666f435680b15f5e9f36198fdcc0dbaee3"
    );
    // With the export elsewhere, the commands extract beside it.
    let (_, commands) = failed_export(d.path(), "sub/mem.raw", Path::new(c));
    assert_eq!(commands[0], format!("pmem-aff4 -e a.txt -D sub {c}"));
}

/// A container of only logical files, with names that need shell quoting and one name
/// used three times: at most four commands (the first file of a name by name, later
/// ones by URN into directories of their own), the rest counted; every command, pasted
/// into a shell, extracts exactly that file.
#[test]
fn export_without_an_image_quotes_names_and_counts_the_rest() {
    use aff4::writer::{LogicalFileMeta, VolumeWriter};
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("files only.aff4");
    let files: [(&str, &[u8]); 6] = [
        ("a file's name $(x)", b"one"),
        ("dup", b"two"),
        ("dup", b"three"),
        ("dup", b"four"),
        ("f", b"five"),
        ("g", b"six"),
    ];
    let file = std::fs::File::create(&c).unwrap();
    let mut vw = VolumeWriter::new(file, "test").unwrap();
    let urns: Vec<String> = files
        .iter()
        .map(|(n, b)| {
            vw.add_logical_file(n, &mut &b[..], &LogicalFileMeta::default())
                .unwrap()
        })
        .collect();
    vw.finish().unwrap();
    let (err, commands) = failed_export(d.path(), "x.raw", &c);
    assert!(err.contains("it holds 6 logical files: "), "{err}");
    assert!(
        err.trim_end().ends_with("`; and 2 more (-l lists them)"),
        "{err}"
    );
    let tail = format!(" '{}'", c.display());
    let want = [
        "pmem-aff4 -e 'a file'\\''s name $(x)' -D .".to_string(),
        "pmem-aff4 -e dup -D .".to_string(),
        format!("pmem-aff4 -e {} -D ./2", urns[2]),
        format!("pmem-aff4 -e {} -D ./3", urns[3]),
    ]
    .map(|w| w + &tail);
    assert_eq!(commands, want, "{err}");
    for cmd in &commands {
        run_suggested(d.path(), cmd);
    }
    let read = |p: &str| std::fs::read(d.path().join(p)).unwrap();
    assert_eq!(read("a file's name $(x)"), b"one");
    assert_eq!(read("dup"), b"two");
    assert_eq!(read("2/dup"), b"three");
    assert_eq!(read("3/dup"), b"four");
}

/// `-c deflate` keeps writing raw RFC 1951 and says, at acquisition time and in
/// `--help`, that c-aff4 and pyaff4 cannot read it and what to use instead; other codecs
/// say nothing.
#[test]
fn deflate_warns_at_acquisition_and_in_help() {
    let d = tempfile::tempdir().unwrap();
    let src = format!(
        "lime:{}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/sample.lime")
            .display()
    );
    for codec in ["deflate", "zlib"] {
        let c = d.path().join(format!("{codec}.aff4"));
        // stderr is a pipe: warnings and the summary line only.
        let o = run(&["--source", &src, "-o", c.to_str().unwrap(), "-c", codec]);
        assert!(o.status.success(), "{codec}");
        let err = String::from_utf8_lossy(&o.stderr);
        let lines: Vec<&str> = err.lines().collect();
        if codec == "deflate" {
            assert_eq!(lines.len(), 2, "{err}");
            assert!(lines[0].contains("WARN"), "{err}");
            for needle in ["raw RFC 1951", "c-aff4", "pyaff4", "-c zlib", "-c snappy"] {
                assert!(lines[0].contains(needle), "{needle:?} in {err}");
            }
        } else {
            assert_eq!(lines.len(), 1, "only the summary: {err}");
        }
        assert!(
            lines.last().unwrap().contains("acquired from LiME dump"),
            "{err}"
        );
    }
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).into_owned();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("deflate is raw RFC 1951")
            && help.contains("c-aff4")
            && help.contains("use zlib or snappy"),
        "{help}"
    );
}
