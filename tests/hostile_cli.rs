//! Work bounded by what the container declares: crafted containers (≤ 16 MiB) whose
//! sizes disagree must make `--verify`, `-l`, `--export` and `-e` stop within 5 s and
//! 256 MiB of peak RSS, with a one-line error, never by doing the claimed work.
//!
//! Each case is our own acquisition of the bundled sample with one structure rewritten
//! to lie, or (the last two) with sizes that all agree on an image of 1 TiB that the
//! 1 MiB container could never hold: refused by the work limit (`VolumeSet::work_limit`).
//! Time and peak RSS are those of the child process (wait4).

mod common;

use aff4::zip::{ZipArchive, ZipWriter};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TIME_LIMIT: Duration = Duration::from_secs(5);
const RSS_LIMIT_KIB: i64 = 256 * 1024;

/// The members of a container, in order, and its comment.
fn members(bytes: &[u8]) -> (Vec<(String, Vec<u8>)>, String) {
    let z = ZipArchive::parse(&bytes).unwrap();
    let v = z
        .entries()
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                z.read_member(&bytes, &e.name, 1 << 30).unwrap(),
            )
        })
        .collect();
    (v, z.comment().to_string())
}

fn write(path: &Path, ms: &[(String, Vec<u8>)], comment: &str) {
    let mut z = ZipWriter::new(Vec::new());
    for (n, d) in ms {
        z.add_stored(n, d).unwrap();
    }
    let b = z.finish(comment).unwrap();
    assert!(b.len() <= 16 << 20);
    std::fs::write(path, b).unwrap();
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Rewrites member `suffix` (the first whose name ends with it) with `edit`.
fn edit(ms: &mut [(String, Vec<u8>)], suffix: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    let m = ms.iter_mut().find(|(n, _)| n.ends_with(suffix)).unwrap();
    edit(&mut m.1);
}

/// Edits the Turtle block of the subject that has `marker` in it.
fn edit_turtle(ms: &mut [(String, Vec<u8>)], marker: &str, from: &str, to: &str) {
    edit(ms, "information.turtle", |t| {
        let text = String::from_utf8(t.clone()).unwrap();
        let blocks: Vec<String> = text
            .split("\n\n")
            .map(|b| {
                if b.contains(marker) {
                    assert!(b.contains(from), "{from} not in {b}");
                    b.replacen(from, to, 1)
                } else {
                    b.to_string()
                }
            })
            .collect();
        *t = blocks.join("\n\n").into_bytes();
    });
}

/// Runs `pmem-aff4 args` with a watchdog; returns (exit code, stderr, seconds, peak
/// RSS in KiB).
fn run_bounded(args: &[&str]) -> (Option<i32>, String, f64, i64) {
    // Reaped below with wait4 (which also gives its rusage), not Child::wait.
    #[allow(clippy::zombie_processes)]
    let child = common::bin()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let mut stderr = child.stderr;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = stderr.as_mut() {
            use std::io::Read;
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    loop {
        // SAFETY: wait4 on our own child, with valid out-pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            break;
        }
        if started.elapsed() > TIME_LIMIT * 4 {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let secs = started.elapsed().as_secs_f64();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, reader.join().unwrap(), secs, ru.ru_maxrss)
}

/// Raises the image's and the map's `aff4:size` to 1 TiB and maps everything past the
/// sample's 3 MiB to the symbolic stream `symbol`: every size agrees, nothing lies but
/// the amount of work.
fn consistent_tib(ms: &mut [(String, Vec<u8>)], symbol: &str) {
    edit(ms, "information.turtle", |t| {
        let text = String::from_utf8(t.clone()).unwrap();
        assert_eq!(text.matches("aff4:size \"3145728\"").count(), 2, "{text}");
        *t = text
            .replace("aff4:size \"3145728\"", "aff4:size \"1099511627776\"")
            .into_bytes();
    });
    let mut n = 0;
    edit(ms, "/idx", |i| {
        n = i.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() as u32;
        i.extend_from_slice(format!("http://aff4.org/Schema#{symbol}\n").as_bytes())
    });
    edit(ms, "/map", |m| {
        for v in [0x30_0000u64, (1 << 40) - 0x30_0000, 0] {
            m.extend_from_slice(&v.to_le_bytes());
        }
        m.extend_from_slice(&n.to_le_bytes());
    });
}

fn sample_container(dir: &Path) -> Vec<u8> {
    let c = dir.join("base.aff4");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample.lime");
    common::acquire(&format!("lime:{}", sample.display()), &c, &[]);
    std::fs::read(c).unwrap()
}

#[test]
fn hostile_sizes_are_refused_fast_and_small() {
    let d = tempfile::tempdir().unwrap();
    let base = sample_container(d.path());
    let (orig, comment) = members(&base);
    let image_urn = aff4::volume::VolumeSet::from_bytes(base.clone())
        .unwrap()
        .primary_image()
        .unwrap();
    type Craft = Box<dyn Fn(&mut Vec<(String, Vec<u8>)>)>;
    let cases: Vec<(&str, &str, Craft)> = vec![
        (
            "map range past aff4:size (a flipped byte: 3 MiB image claims ~635 GB)",
            "aff4:size",
            Box::new(|ms| {
                edit(ms, "/map", |m| {
                    let last = m.len() - 28;
                    let mapped = u64_at(m, last) | 0x93_0000_0000;
                    m[last..last + 8].copy_from_slice(&mapped.to_le_bytes());
                })
            }),
        ),
        (
            "symbolic range of 1 TiB in a 3 MiB image",
            "aff4:size",
            Box::new(|ms| {
                edit(ms, "/idx", |i| {
                    i.extend_from_slice(b"http://aff4.org/Schema#Zero\n")
                });
                edit(ms, "/map", |m| {
                    for v in [0x30_0000u64, 1 << 40, 0] {
                        m.extend_from_slice(&v.to_le_bytes());
                    }
                    m.extend_from_slice(&1u32.to_le_bytes());
                })
            }),
        ),
        (
            "map and image sizes both raised to 1 TiB, image still 3 MiB of data",
            "aff4:size",
            Box::new(|ms| {
                edit_turtle(ms, "a aff4:Map", "\"3145728\"", "\"1099511627776\"");
                edit(ms, "/idx", |i| {
                    i.extend_from_slice(b"http://aff4.org/Schema#Zero\n")
                });
                edit(ms, "/map", |m| {
                    for v in [0x30_0000u64, (1 << 40) - 0x30_0000, 0] {
                        m.extend_from_slice(&v.to_le_bytes());
                    }
                    m.extend_from_slice(&1u32.to_le_bytes());
                })
            }),
        ),
        (
            "ImageStream aff4:size of 2.7 TB backed by one bevy",
            "bevy",
            Box::new(|ms| {
                edit_turtle(ms, "a aff4:ImageStream", "\"2752512\"", "\"2752512000000\"")
            }),
        ),
        (
            "map entry reading past its target stream",
            "past its size",
            Box::new(|ms| {
                edit(ms, "/map", |m| {
                    let last = m.len() - 28;
                    m[last + 16..last + 24].copy_from_slice(&(1u64 << 40).to_le_bytes());
                })
            }),
        ),
        (
            "index entries that share stored bytes",
            "share",
            Box::new(|ms| {
                edit(ms, "/00000000.index", |ix| {
                    let biggest = ix
                        .chunks(12)
                        .max_by_key(|e| u32::from_le_bytes(e[8..12].try_into().unwrap()))
                        .unwrap()
                        .to_vec();
                    let n = ix.len() / 12;
                    *ix = biggest.repeat(n);
                })
            }),
        ),
        (
            "image, map and a pattern range consistently 1 TiB (aff4:SymbolicStreamFF)",
            "bytes to read",
            Box::new(|ms| consistent_tib(ms, "SymbolicStreamFF")),
        ),
        (
            "image, map and a zero range consistently 1 TiB (aff4:Zero)",
            "bytes to read",
            Box::new(|ms| consistent_tib(ms, "Zero")),
        ),
    ];
    let mut worst = (0f64, 0i64);
    for (i, (what, says, craft)) in cases.iter().enumerate() {
        let mut ms = orig.clone();
        craft(&mut ms);
        let c: PathBuf = d.path().join(format!("hostile{i}.aff4"));
        write(&c, &ms, &comment);
        let cs = c.to_str().unwrap();
        let out = d.path().join(format!("out{i}.raw"));
        let dir = d.path().join(format!("x{i}"));
        std::fs::create_dir(&dir).unwrap();
        let mut runs: Vec<Vec<&str>> = vec![
            vec!["--verify", cs],
            vec!["-l", cs],
            vec!["--export", out.to_str().unwrap(), cs],
            vec!["-e", &image_urn, "-D", dir.to_str().unwrap(), cs],
        ];
        if what.contains("aff4:Zero") {
            // A zero range exports sparse (no work): a 1 TiB sparse file, not tested.
            runs.remove(2);
        }
        for args in runs {
            let (code, err, secs, rss) = run_bounded(&args);
            let label = format!("{what}: {}", args[0]);
            assert!(!err.contains("panicked"), "{label}: {err}");
            assert!(secs < TIME_LIMIT.as_secs_f64(), "{label}: {secs:.1} s");
            assert!(rss < RSS_LIMIT_KIB, "{label}: peak RSS {rss} KiB");
            worst = (worst.0.max(secs), worst.1.max(rss));
            // -l lists what it can (it may need no data); --verify reports a failed
            // check; reading the image fails with one line naming the lie.
            if args[0] != "-l" {
                assert!(
                    code.is_some_and(|c| c != 0),
                    "{label}: exit {code:?}: {err}"
                );
            }
            if args[0] == "--export"
                || args[0] == "-e"
                || (*says == "bytes to read" && args[0] != "-l")
            {
                assert_eq!(err.lines().count(), 1, "{label}: {err}");
                assert!(err.contains(says), "{label}: {err}");
            }
        }
        // --verify names the lie too (as a failed check or as the error).
        let o = common::run(&["--verify", "--json", cs]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(text.contains(says), "{what}: --verify says {text}");
    }
    eprintln!("worst case: {:.2} s, {} KiB peak RSS", worst.0, worst.1);
}
