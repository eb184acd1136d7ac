//! The bundled real memory sample `testdata/linux-6.1-qemu.lime` (RAM of the qemu guest
//! of tests/vm, see testdata/README.md): imports with its three ranges, exports
//! byte-identically, and the oracles recognise it (Volatility 3 finds the kernel's
//! banner, pyaff4 reads the banner's bytes from our container).

use std::path::{Path, PathBuf};

mod common;
use common::{acquire, assert_volatility_banner, export, run, venv_bin};

const BANNER: &str = "Linux version 6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org)";

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/linux-6.1-qemu.lime")
}

/// (start, end) of each LiME range, and the offset of the banner in the file.
fn lime_layout(bytes: &[u8]) -> (Vec<(u64, u64)>, usize) {
    let mut ranges = Vec::new();
    let mut off = 0;
    while off < bytes.len() {
        let q = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
        assert_eq!(&bytes[off..off + 4], &0x4C69_4D45u32.to_le_bytes());
        let (start, last) = (q(off + 8), q(off + 16));
        ranges.push((start, last + 1));
        off += 32 + (last + 1 - start) as usize;
    }
    let at = bytes
        .windows(BANNER.len())
        .position(|w| w == BANNER.as_bytes())
        .expect("the sample holds the kernel banner");
    (ranges, at)
}

#[test]
fn real_sample_round_trips_and_the_oracles_recognise_it() {
    let bytes = std::fs::read(sample()).unwrap();
    let (ranges, banner_at) = lime_layout(&bytes);
    assert_eq!(ranges.len(), 3, "{ranges:x?}");
    assert_eq!(ranges[0].0, 0x1000);
    assert_eq!(ranges[1], (0x100000, 0x300000));

    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("real.aff4");
    let rep = acquire(&format!("lime:{}", sample().display()), &c, &[]);
    assert_eq!(rep["complete"], true);
    assert_eq!(rep["unreadable_pages"], 0);
    let got: Vec<(u64, u64)> = rep["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, ranges);
    assert!(run(&["-q", "--verify", c.to_str().unwrap()])
        .status
        .success());

    let lime = d.path().join("x.lime");
    export(&c, &lime, "lime");
    assert!(
        std::fs::read(&lime).unwrap() == bytes,
        "LiME export differs"
    );

    assert_volatility_banner(&lime, BANNER);

    if let Some(py) = venv_bin("python") {
        // The banner's physical address: its range's start + its offset in that range.
        let mut off = 0usize;
        let mut phys = None;
        for (s, e) in &ranges {
            let data = off + 32;
            let len = (e - s) as usize;
            if (data..data + len).contains(&banner_at) {
                phys = Some(s + (banner_at - data) as u64);
            }
            off = data + len;
        }
        let phys = phys.unwrap();
        let script = r#"
import sys
from pyaff4 import container, rdfvalue
c = container.Container.openURNtoContainer(rdfvalue.URN.FromFileName(sys.argv[1]))
s = c.image.dataStream
s.seek(int(sys.argv[2]))
want = sys.argv[3].encode()
got = s.read(len(want))
assert got == want, got
print("PYAFF4-OK")
"#;
        let phys = phys.to_string();
        common::assert_pyaff4_script(
            &py,
            script,
            &[c.as_os_str(), phys.as_ref(), BANNER.as_ref()],
        );
    }
}
