//! Inputs that could block the imager forever or never end are refused up front, before
//! any memory is read, with one line naming the input.

mod common;

use common::run;
use std::path::Path;
use std::time::{Duration, Instant};

fn sample() -> String {
    format!(
        "lime:{}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/sample.lime")
            .display()
    )
}

#[test]
fn fifos_and_devices_as_inputs_are_refused_before_reading_memory() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path in our temp dir.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let out = d.path().join("o.aff4");
    for input in [fifo.to_str().unwrap(), "/dev/zero"] {
        let t = Instant::now();
        let o = run(&[
            "--source",
            &sample(),
            "-o",
            out.to_str().unwrap(),
            "-i",
            input,
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{input}: took {:?}",
            t.elapsed()
        );
        assert_eq!(o.status.code(), Some(1), "{input}: {err}");
        assert!(
            err.contains(input) && err.contains("not a regular file"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!out.exists());
        assert!(
            !err.contains("acquired"),
            "refused before the acquisition: {err}"
        );
    }
    // A missing input is refused before the acquisition too.
    let o = run(&[
        "--source",
        &sample(),
        "-o",
        out.to_str().unwrap(),
        "-i",
        "/nonexistent/x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file"));
    assert!(!out.exists());
}
