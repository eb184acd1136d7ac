//! `/proc/iomem`: the top-level "System RAM" ranges (nested entries and reserved, PCI or
//! ROM ranges are never read: touching them can hang or crash a machine).

use crate::{merge_ranges, Error, PhysRange};

/// Parses iomem text; returns merged top-level System RAM ranges (half-open).
pub fn parse(text: &str) -> Result<Vec<PhysRange>, Error> {
    let mut v = Vec::new();
    let mut saw_nonzero = false;
    for line in text.lines() {
        if line.starts_with(' ') || line.starts_with('\t') || line.trim().is_empty() {
            continue; // nested entry
        }
        let Some((range, name)) = line.split_once(" : ") else {
            continue;
        };
        let Some((a, b)) = range.trim().split_once('-') else {
            continue;
        };
        let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) else {
            return Err(Error::Iomem(format!("cannot parse iomem line {line:?}")));
        };
        if a != 0 || b != 0 {
            saw_nonzero = true;
        }
        if name.trim() == "System RAM" && b >= a {
            v.push(PhysRange {
                start: a,
                end: b.saturating_add(1),
            });
        }
    }
    if !saw_nonzero && !v.is_empty() {
        return Err(Error::Iomem(
            "/proc/iomem shows only zero addresses: run as root".into(),
        ));
    }
    Ok(merge_ranges(v))
}

/// Reads and parses an iomem file.
pub fn read_system_ram(path: &std::path::Path) -> Result<Vec<PhysRange>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Iomem(format!("cannot read {}: {e}", path.display())))?;
    let v = parse(&text)?;
    if v.is_empty() {
        return Err(Error::Iomem(format!(
            "{} lists no System RAM",
            path.display()
        )));
    }
    Ok(v)
}

/// Parses a `--ranges` file: /proc/iomem text, or `START-END` hex lines (END inclusive,
/// as iomem writes it).
pub fn parse_ranges_file(text: &str) -> Result<Vec<PhysRange>, Error> {
    if text.contains(" : ") {
        return parse(text);
    }
    let mut v = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (a, b) = line
            .split_once('-')
            .ok_or_else(|| Error::Iomem(format!("range line {line:?}: expected START-END")))?;
        let p = |s: &str| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16);
        let (a, b) = (p(a), p(b));
        match (a, b) {
            (Ok(a), Ok(b)) if b >= a => v.push(PhysRange {
                start: a,
                end: b.saturating_add(1),
            }),
            _ => {
                return Err(Error::Iomem(format!(
                    "range line {line:?}: bad hex numbers"
                )))
            }
        }
    }
    Ok(merge_ranges(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "00000000-00000fff : Reserved
00001000-0009efff : System RAM
0009f000-000fffff : Reserved
  000a0000-000bffff : PCI Bus 0000:00
00100000-7ffdffff : System RAM
  0a000000-0a1fffff : Kernel code
  0a200000-0a9fffff : Kernel rodata
7ffe0000-7fffffff : Reserved
80000000-afffffff : PCI Bus 0000:00
100000000-17fffffff : System RAM
180000000-1800fffff : System RAM
";

    #[test]
    fn top_level_system_ram_half_open_and_merged() {
        let v = parse(SAMPLE).unwrap();
        assert_eq!(
            v,
            vec![
                PhysRange {
                    start: 0x1000,
                    end: 0x9f000
                },
                PhysRange {
                    start: 0x100000,
                    end: 0x7ffe0000
                },
                PhysRange {
                    start: 0x1_0000_0000,
                    end: 0x1_8010_0000
                },
            ]
        );
    }

    #[test]
    fn non_root_iomem_is_a_clear_error() {
        let e =
            parse("00000000-00000000 : System RAM\n00000000-00000000 : Reserved\n").unwrap_err();
        assert!(e.to_string().contains("root"));
    }

    #[test]
    fn ranges_file_forms() {
        assert_eq!(
            parse_ranges_file("0x1000-0x1fff\n3000-3fff\n").unwrap(),
            vec![
                PhysRange {
                    start: 0x1000,
                    end: 0x2000
                },
                PhysRange {
                    start: 0x3000,
                    end: 0x4000
                }
            ]
        );
        assert!(parse_ranges_file("zz-1").is_err());
    }
}
