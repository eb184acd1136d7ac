//! ELF64 program headers (for ELF cores, vmcores and /proc/kcore) and the pure mapping
//! from PT_LOAD segments to physical blocks.

use crate::{merge_ranges, PhysRange};

/// One PT_LOAD program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// File offset.
    pub offset: u64,
    /// Virtual address.
    pub vaddr: u64,
    /// Physical address (may be unset: 0 or all ones).
    pub paddr: u64,
    /// Bytes present in the file.
    pub filesz: u64,
}

/// A physical range and where its first byte is in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Physical range.
    pub phys: PhysRange,
    /// File offset of `phys.start`.
    pub file_offset: u64,
}

/// Parses the PT_LOAD headers of a little-endian ELF64 file's first bytes.
pub fn parse_load_segments(head: &[u8]) -> Result<Vec<Segment>, String> {
    if head.len() < 64 || &head[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    if head[4] != 2 || head[5] != 1 {
        return Err("only little-endian ELF64 is supported".into());
    }
    let u16_at = |o: usize| head.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        head.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        head.get(o..o + 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    };
    let phoff = u64_at(32).ok_or("truncated header")? as usize;
    let phentsize = usize::from(u16_at(54).ok_or("truncated header")?);
    let phnum = usize::from(u16_at(56).ok_or("truncated header")?);
    if phentsize < 56 {
        return Err(format!("program header size {phentsize} too small"));
    }
    let mut v = Vec::new();
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        let ty = u32_at(o).ok_or("program headers truncated")?;
        if ty != 1 {
            continue;
        }
        v.push(Segment {
            offset: u64_at(o + 8).ok_or("truncated")?,
            vaddr: u64_at(o + 16).ok_or("truncated")?,
            paddr: u64_at(o + 24).ok_or("truncated")?,
            filesz: u64_at(o + 32).ok_or("truncated")?,
        });
    }
    Ok(v)
}

/// Physical blocks of a core file: every PT_LOAD with a physical address, de-duplicated
/// by physical range (the first segment covering an address wins).
pub fn core_blocks(segments: &[Segment]) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for s in segments
        .iter()
        .filter(|s| s.filesz > 0 && s.paddr != u64::MAX)
    {
        let r = PhysRange {
            start: s.paddr,
            end: s.paddr.saturating_add(s.filesz),
        };
        add_uncovered(&mut out, r, s.offset);
    }
    out.sort_by_key(|b| b.phys.start);
    out
}

fn add_uncovered(out: &mut Vec<Block>, r: PhysRange, file_offset: u64) {
    // Subtract already covered ranges.
    let mut pieces = vec![r];
    for b in out.iter() {
        pieces = pieces
            .into_iter()
            .flat_map(|p| {
                let mut v = Vec::new();
                if p.start < b.phys.start {
                    v.push(PhysRange {
                        start: p.start,
                        end: p.end.min(b.phys.start),
                    });
                }
                if p.end > b.phys.end {
                    v.push(PhysRange {
                        start: p.start.max(b.phys.end),
                        end: p.end,
                    });
                }
                if p.end <= b.phys.start || p.start >= b.phys.end {
                    return vec![p];
                }
                v
            })
            .filter(|p| !p.is_empty())
            .collect();
    }
    for p in pieces {
        out.push(Block {
            phys: p,
            file_offset: file_offset + (p.start - r.start),
        });
    }
}

/// /proc/kcore: the direct-map segments restricted to System RAM. Segments whose
/// physical address is set are used as they are; on kernels that leave p_paddr unset,
/// the direct-map base (PAGE_OFFSET) is found as the `vaddr - ram.start` that places
/// the most RAM ranges exactly on segments. The kernel-text segment (also carrying a
/// physical address) is dropped by de-duplication.
pub fn kcore_blocks(system_ram: &[PhysRange], segments: &[Segment]) -> Vec<Block> {
    let has_paddr = segments.iter().any(|s| s.paddr != 0 && s.paddr != u64::MAX);
    let segs: Vec<Segment> = if has_paddr {
        // Direct-map segments first (largest), so kernel text duplicates lose.
        let mut v: Vec<Segment> = segments
            .iter()
            .filter(|s| s.paddr != u64::MAX)
            .copied()
            .collect();
        v.sort_by_key(|s| std::cmp::Reverse(s.filesz));
        v
    } else {
        let mut votes: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
        for s in segments {
            for r in system_ram {
                if s.vaddr >= r.start {
                    *votes.entry(s.vaddr - r.start).or_default() += 1;
                }
            }
        }
        let Some((&base, _)) = votes
            .iter()
            .max_by_key(|(b, n)| (**n, std::cmp::Reverse(**b)))
        else {
            return Vec::new();
        };
        segments
            .iter()
            .filter(|s| s.vaddr >= base)
            .map(|s| Segment {
                paddr: s.vaddr - base,
                ..*s
            })
            .collect()
    };
    let blocks = core_blocks(&segs);
    // Intersect with System RAM.
    let ram = merge_ranges(system_ram.to_vec());
    let mut out = Vec::new();
    for b in blocks {
        for r in &ram {
            let start = b.phys.start.max(r.start);
            let end = b.phys.end.min(r.end);
            if start < end {
                out.push(Block {
                    phys: PhysRange { start, end },
                    file_offset: b.file_offset + (start - b.phys.start),
                });
            }
        }
    }
    out.sort_by_key(|b| b.phys.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kcore_with_paddr_drops_kernel_text_duplicate() {
        let ram = [
            PhysRange {
                start: 0x1000,
                end: 0x9f000,
            },
            PhysRange {
                start: 0x100000,
                end: 0x800000,
            },
        ];
        let segs = [
            Segment {
                offset: 0x10000,
                vaddr: 0xffffffff81000000,
                paddr: 0x200000,
                filesz: 0x100000,
            }, // text
            Segment {
                offset: 0x1000000,
                vaddr: 0xffff888000001000,
                paddr: 0x1000,
                filesz: 0x9e000,
            },
            Segment {
                offset: 0x2000000,
                vaddr: 0xffff888000100000,
                paddr: 0x100000,
                filesz: 0x700000,
            },
        ];
        let b = kcore_blocks(&ram, &segs);
        assert_eq!(b.len(), 2);
        assert_eq!(
            b[1].phys,
            PhysRange {
                start: 0x100000,
                end: 0x800000
            }
        );
        assert_eq!(b[1].file_offset, 0x2000000);
    }

    #[test]
    fn kcore_without_paddr_finds_page_offset() {
        let ram = [
            PhysRange {
                start: 0x1000,
                end: 0x9f000,
            },
            PhysRange {
                start: 0x100000,
                end: 0x800000,
            },
        ];
        let po = 0xffff_8880_0000_0000u64;
        let segs = [
            Segment {
                offset: 0x10000,
                vaddr: 0xffffffff81000000,
                paddr: 0,
                filesz: 0x100000,
            },
            Segment {
                offset: 0x1000000,
                vaddr: po + 0x1000,
                paddr: 0,
                filesz: 0x9e000,
            },
            Segment {
                offset: 0x2000000,
                vaddr: po + 0x100000,
                paddr: 0,
                filesz: 0x700000,
            },
        ];
        let b = kcore_blocks(&ram, &segs);
        assert_eq!(
            b.iter().map(|b| b.phys.len()).sum::<u64>(),
            0x9e000 + 0x700000
        );
        assert_eq!(b[0].file_offset, 0x1000000);
    }
}
