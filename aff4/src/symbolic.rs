//! Symbolic streams: byte patterns named by URI (AFF4-FORMAT.md §4.3).

const TILE: u64 = 1 << 20;
const UNKNOWN: &[u8] = b"UNKNOWN";
const UNREADABLE: &[u8] = b"UNREADABLEDATA";

/// A symbolic stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Symbolic {
    /// `aff4:Zero`: 0x00 bytes.
    Zero,
    /// `aff4:SymbolicStreamXX`: the byte 0xXX.
    Byte(u8),
    /// `aff4:FFDevice`: 0xFF bytes.
    FfDevice,
    /// `aff4:UnknownData`: "UNKNOWN" repeated, tiled per 1 MiB of target offset.
    UnknownData,
    /// `aff4:UnreadableData`: "UNREADABLEDATA" repeated, tiled per 1 MiB of target offset.
    UnreadableData,
}

impl Symbolic {
    /// Recognises a symbolic stream IRI (standard and legacy spellings, any hex case).
    pub fn from_iri(iri: &str) -> Option<Self> {
        let hex = |s: &str| {
            (s.len() == 2)
                .then(|| u8::from_str_radix(s, 16).ok())
                .flatten()
        };
        if let Some(local) = iri.strip_prefix("http://aff4.org/Schema#") {
            return match local {
                "Zero" => Some(Symbolic::Zero),
                "FFDevice" | "FF" => Some(Symbolic::FfDevice),
                "UnknownData" => Some(Symbolic::UnknownData),
                "UnreadableData" => Some(Symbolic::UnreadableData),
                _ => local
                    .strip_prefix("SymbolicStream")
                    .and_then(hex)
                    .map(Symbolic::Byte),
            };
        }
        if let Some(local) = iri.strip_prefix("http://afflib.org/2009/aff4#") {
            return match local {
                "Zero" => Some(Symbolic::Zero),
                "FF" | "FFDevice" => Some(Symbolic::FfDevice),
                "UnknownData" => Some(Symbolic::UnknownData),
                "UnreadableData" => Some(Symbolic::UnreadableData),
                // pyaff4's legacy lexicon also names single bytes as `aff4#XX`.
                _ => hex(local).map(Symbolic::Byte),
            };
        }
        iri.strip_prefix("http://afflib.org/2012/SymbolicStream#")
            .and_then(hex)
            .map(Symbolic::Byte)
    }

    /// The IRI we write (uppercase hex for `SymbolicStreamXX`).
    pub fn iri(self) -> String {
        match self {
            Symbolic::Zero => "http://aff4.org/Schema#Zero".into(),
            Symbolic::Byte(b) => format!("http://aff4.org/Schema#SymbolicStream{b:02X}"),
            Symbolic::FfDevice => "http://aff4.org/Schema#FFDevice".into(),
            Symbolic::UnknownData => "http://aff4.org/Schema#UnknownData".into(),
            Symbolic::UnreadableData => "http://aff4.org/Schema#UnreadableData".into(),
        }
    }

    /// Fills `buf` with the bytes at `target_offset` of this stream.
    pub fn fill(self, target_offset: u64, buf: &mut [u8]) {
        let pattern = match self {
            Symbolic::Zero => return buf.fill(0),
            Symbolic::Byte(b) => return buf.fill(b),
            Symbolic::FfDevice => return buf.fill(0xff),
            Symbolic::UnknownData => UNKNOWN,
            Symbolic::UnreadableData => UNREADABLE,
        };
        let mut off = target_offset;
        let mut rest = buf;
        while !rest.is_empty() {
            let in_tile = off % TILE;
            // Bytes left in this 1 MiB tile; at most TILE, so it fits in usize.
            let tile_left = usize::try_from(TILE - in_tile).unwrap_or(usize::MAX);
            let n = tile_left.min(rest.len());
            let (seg, tail) = rest.split_at_mut(n);
            let phase = usize::try_from(in_tile % pattern.len() as u64).unwrap_or(0);
            fill_periodic(seg, pattern, phase);
            rest = tail;
            off += n as u64;
        }
    }
}

/// Fills `seg` with `pattern` repeated, starting `phase` bytes into it: one rotated copy
/// of the pattern, then doubling copies of whole periods (a few memcpys per tile).
fn fill_periodic(seg: &mut [u8], pattern: &[u8], phase: usize) {
    let period = pattern.len();
    let (tail, head) = pattern.split_at(phase.min(period));
    let first = head.iter().chain(tail).copied();
    let mut filled = 0;
    for (dst, src) in seg.iter_mut().zip(first) {
        *dst = src;
        filled += 1;
    }
    while filled < seg.len() {
        let take = filled.min(seg.len() - filled);
        seg.copy_within(..take, filled);
        filled += take;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow(s: Symbolic, off: u64, len: usize) -> Vec<u8> {
        let p = if s == Symbolic::UnknownData {
            UNKNOWN
        } else {
            UNREADABLE
        };
        (0..len as u64)
            .map(|i| p[((off + i) % TILE % p.len() as u64) as usize])
            .collect()
    }

    #[test]
    fn patterns_restart_at_every_mebibyte() {
        for s in [Symbolic::UnknownData, Symbolic::UnreadableData] {
            for off in [0u64, 1, 13, TILE - 5, 3 * TILE - 1000] {
                let mut buf = vec![0u8; 5000];
                s.fill(off, &mut buf);
                assert_eq!(buf, slow(s, off, 5000), "{s:?} at {off}");
            }
            let mut b = [0u8; 4];
            s.fill(TILE, &mut b);
            assert_eq!(&b, &s_pattern(s)[..4]);
        }
    }

    fn s_pattern(s: Symbolic) -> &'static [u8] {
        if s == Symbolic::UnknownData {
            UNKNOWN
        } else {
            UNREADABLE
        }
    }

    #[test]
    fn iris_round_trip() {
        for s in [
            Symbolic::Zero,
            Symbolic::Byte(0xab),
            Symbolic::FfDevice,
            Symbolic::UnknownData,
            Symbolic::UnreadableData,
        ] {
            assert_eq!(Symbolic::from_iri(&s.iri()), Some(s));
        }
        assert_eq!(
            Symbolic::from_iri("http://aff4.org/Schema#SymbolicStreamab"),
            Some(Symbolic::Byte(0xab))
        );
        assert_eq!(
            Symbolic::Byte(0x61).iri(),
            "http://aff4.org/Schema#SymbolicStream61"
        );
        assert_eq!(Symbolic::from_iri("http://aff4.org/Schema#Image"), None);
    }

    #[test]
    fn odd_offsets_and_lengths_match_the_slow_reference() {
        for s in [Symbolic::UnknownData, Symbolic::UnreadableData] {
            for off in [
                TILE - 1,
                TILE - 7,
                2 * TILE - 13,
                5 * TILE + 3,
                u64::MAX - 100,
            ] {
                for len in [0usize, 1, 6, 7, 15, 1000, TILE as usize + 29] {
                    if off.checked_add(len as u64).is_none() {
                        continue;
                    }
                    let mut buf = vec![0xAAu8; len];
                    s.fill(off, &mut buf);
                    assert_eq!(buf, slow(s, off, len), "{s:?} at {off}+{len}");
                }
            }
        }
        // The tile ends with the truncated string and the next starts afresh.
        let mut b = [0u8; 8];
        Symbolic::UnknownData.fill(TILE - 4, &mut b);
        assert_eq!(&b, b"UNKNUNKN");
    }

    #[test]
    fn legacy_iris() {
        assert_eq!(
            Symbolic::from_iri("http://afflib.org/2009/aff4#Zero"),
            Some(Symbolic::Zero)
        );
        assert_eq!(
            Symbolic::from_iri("http://afflib.org/2009/aff4#FF"),
            Some(Symbolic::FfDevice)
        );
        assert_eq!(
            Symbolic::from_iri("http://afflib.org/2012/SymbolicStream#0a"),
            Some(Symbolic::Byte(10))
        );
        assert_eq!(
            Symbolic::from_iri("http://afflib.org/2009/aff4#3C"),
            Some(Symbolic::Byte(0x3c))
        );
        assert_eq!(
            Symbolic::from_iri("http://aff4.org/Schema#SymbolicStream1"),
            None
        );
        assert_eq!(Symbolic::from_iri("http://aff4.org/Schema#NoData"), None);
    }
}
