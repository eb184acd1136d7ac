use super::*;

fn e(mapped: u64, length: u64, target_offset: u64, target_id: u32) -> MapEntry {
    MapEntry {
        mapped,
        length,
        target_offset,
        target_id,
    }
}

#[test]
fn sorts_and_merges_contiguous_ranges() {
    let mut m = MapWriter::new("aff4://v/m");
    m.add(100, 10, "aff4://v/s", 10).unwrap();
    m.add(0, 10, "aff4://v/s", 0).unwrap();
    m.add(10, 5, "aff4://v/s", 10).unwrap(); // merges with the previous one
    m.add_symbolic(50, 10, Symbolic::Zero).unwrap();
    m.add_symbolic(60, 10, Symbolic::Zero).unwrap(); // merges (target offset = mapped)
    m.add(110, 10, "aff4://v/s", 20).unwrap(); // merges with 100+10 after sorting
    let (entries, map, idx) = m.members().unwrap();
    assert_eq!(
        entries,
        vec![e(0, 15, 0, 0), e(50, 20, 50, 1), e(100, 20, 10, 0)]
    );
    assert_eq!(map.len(), 3 * 28);
    assert_eq!(idx, b"aff4://v/s\nhttp://aff4.org/Schema#Zero\n");
}

#[test]
fn overlaps_are_rejected() {
    let mut m = MapWriter::new("aff4://v/m");
    m.add(0, 10, "aff4://v/s", 0).unwrap();
    m.add(5, 10, "aff4://v/s", 100).unwrap();
    let mut z = ZipWriter::new(Vec::new());
    let err = m.finish(&mut z, "aff4://v", &mut Graph::new()).unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument(ref s) if s.contains("overlaps")),
        "{err}"
    );
}

#[test]
fn bad_ranges_and_targets_are_rejected() {
    let mut m = MapWriter::new("aff4://v/m");
    assert!(m.add(u64::MAX - 1, 10, "aff4://v/s", 0).is_err());
    assert!(m.add(0, 10, "aff4://v/s", u64::MAX).is_err());
    assert!(m.add(0, 10, "", 0).is_err());
    assert!(m.add(0, 10, "aff4://v/a\nb", 0).is_err());
    m.add(0, 0, "aff4://v/s", 0).unwrap();
    assert!(m.entries().is_empty());
}

#[test]
fn finish_writes_members_and_triples() {
    let mut m = MapWriter::new("aff4://v/m");
    m.add(4096, 4096, "aff4://v/m/data", 0).unwrap();
    m.set_size(1 << 20);
    let mut z = ZipWriter::new(Vec::new());
    let mut g = Graph::new();
    let sum = m.finish(&mut z, "aff4://v", &mut g).unwrap();
    assert_eq!(sum.size, 1 << 20);
    assert!(g.has_type("aff4://v/m", lx::MAP));
    assert_eq!(
        g.object("aff4://v/m", lx::SIZE).and_then(Term::as_u64),
        Some(1 << 20)
    );
    let (_, map, idx) = (
        sum.entries,
        e(4096, 4096, 0, 0).to_bytes(),
        b"aff4://v/m/data\n",
    );
    assert_eq!(sum.hashes, MapHashes::compute(&map, idx, None));
    assert_eq!(
        g.object("aff4://v/m", MAP_POINT_HASH)
            .and_then(Term::as_str),
        Some(to_hex(&sum.hashes.map_point).as_str())
    );
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    /// `(mapped, len, target, target_offset)` → what each address resolves to.
    fn resolve(entries: &[MapEntry], addr: u64) -> Option<(u32, u64)> {
        entries
            .iter()
            .find(|e| e.mapped <= addr && addr < e.mapped + e.length)
            .map(|e| (e.target_id, e.target_offset + (addr - e.mapped)))
    }

    proptest! {
        #[test]
        fn any_order_gives_the_same_sorted_merged_map(
            lens in proptest::collection::vec((1u64..5, 0u64..3, 0u32..2, any::<bool>()), 1..20),
            seed in any::<u64>(),
        ) {
            // Disjoint ranges, each continuing its target where `cont` is set.
            let mut ranges = Vec::new();
            let (mut at, mut toff) = (0u64, [0u64; 2]);
            for (len, gap, t, cont) in lens {
                at += gap;
                let t = t as usize;
                if !cont { toff[t] += 7; }
                ranges.push((at, len, t, toff[t]));
                at += len;
                toff[t] += len;
            }
            let targets = ["aff4://v/a", "aff4://v/b"];
            let mut shuffled = ranges.clone();
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut m = MapWriter::new("aff4://v/m");
            for &(a, n, t, o) in &shuffled {
                m.add(a, n, targets[t], o).unwrap();
            }
            let (entries, map, _) = m.members().unwrap();
            prop_assert_eq!(map.len(), entries.len() * 28);
            for w in entries.windows(2) {
                prop_assert!(w[0].mapped + w[0].length <= w[1].mapped);
                prop_assert!(!continues(&w[0], &w[1]), "unmerged {:?}", w);
            }
            let ids: Vec<u32> = targets.iter().map(|t| m.ids.get(*t).copied().unwrap_or(99)).collect();
            for addr in 0..at + 2 {
                let want = ranges
                    .iter()
                    .find(|(a, n, _, _)| *a <= addr && addr < a + n)
                    .map(|&(a, _, t, o)| (ids[t], o + (addr - a)));
                prop_assert_eq!(resolve(&entries, addr), want, "address {}", addr);
            }
        }
    }
}
