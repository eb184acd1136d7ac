//! Protocol tests: the documented codes and offsets, both layouts, short and truncated
//! blocks, STATUS_INFO_LENGTH_MISMATCH, and run lists past every driver's limit.

use super::*;

/// A WINPMEM_MEMORY_INFO as a driver of `generation` would fill it, with room for
/// `slots` runs (≥ runs.len()).
fn block(generation: Generation, runs: &[(u64, u64)], slots: usize) -> Vec<u8> {
    let l = generation.layout();
    let mut b = vec![0u8; l.size_with_runs(slots)];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0x00, 0x1aa000);
    put(0x08, 0xF000_4A65); // a free build 19045
    put(0x10, 0xfffff802_1a400000);
    put(0x20, 0xfffff802_17d5c000);
    put(0x28, 0xffffa001_2c4c0000);
    put(l.nt_build_number_addr_offset(), 0xfffff802_1b2c3e10);
    put(l.number_of_runs_offset(), runs.len() as u64);
    for (i, &(base, len)) in runs.iter().enumerate() {
        put(l.runs_offset() + 16 * i, base);
        put(l.runs_offset() + 16 * i + 8, len);
    }
    b
}

const RUNS: [(u64, u64); 3] = [
    (0x1000, 0x9e000),
    (0x100000, 0x3fe0_0000),
    (0x1_0000_0000, 0x4000_0000),
];

#[test]
fn ioctl_codes_are_the_documented_ones() {
    assert_eq!(Generation::Buffered.set_mode_code(), 0x22C404);
    assert_eq!(Generation::Buffered.get_info_code(), 0x22C40C);
    assert_eq!(Generation::Neither.set_mode_code(), 0x22C407);
    assert_eq!(Generation::Neither.get_info_code(), 0x22C40F);
}

#[test]
fn layout_offsets_match_both_generations() {
    let old = Generation::Buffered.layout();
    assert_eq!(old.nt_build_number_addr_offset(), 0x138);
    assert_eq!(old.number_of_runs_offset(), 0x930);
    assert_eq!(old.size_with_runs(100), 0xF78, "c-aff4's 100-run struct");
    let new = Generation::Neither.layout();
    assert_eq!(new.nt_build_number_addr_offset(), 0x238);
    assert_eq!(new.number_of_runs_offset(), 0xA30);
    assert_eq!(
        new.size_with_runs(300),
        0x1CF8,
        "the 4.x driver's 300-run struct"
    );
}

#[test]
fn both_layouts_parse_to_the_same_facts() {
    for g in Generation::PROBE_ORDER {
        let info = parse_memory_info(&block(g, &RUNS, 20), g).unwrap();
        assert_eq!(info.generation, g);
        assert_eq!(info.cr3, 0x1aa000);
        assert_eq!(info.build(), 19045);
        assert_eq!(info.kern_base, 0xfffff802_1a400000);
        assert_eq!(info.nt_build_number_addr, 0xfffff802_1b2c3e10);
        assert_eq!(info.kpcr, vec![0xfffff802_17d5c000, 0xffffa001_2c4c0000]);
        let want: Vec<PhysRange> = RUNS
            .iter()
            .map(|&(s, l)| PhysRange {
                start: s,
                end: s + l,
            })
            .collect();
        assert_eq!(info.runs, want);
    }
}

#[test]
fn the_wrong_layout_is_not_silently_accepted() {
    // A 2.0+ block read with the 1.x offsets: NumberOfRuns at 0x930 is padding (0).
    let b = block(Generation::Neither, &RUNS, 20);
    assert_eq!(
        parse_memory_info(&b, Generation::Buffered),
        Err(InfoError::NoRuns)
    );
}

#[test]
fn short_buffers_are_errors_at_every_length() {
    for g in Generation::PROBE_ORDER {
        let b = block(g, &RUNS, 3);
        for cut in [
            0,
            8,
            0x20,
            g.layout().number_of_runs_offset(),
            g.layout().runs_offset() - 1,
        ] {
            assert!(
                matches!(parse_memory_info(&b[..cut], g), Err(InfoError::Short { got, .. }) if got == cut),
                "{g:?} cut at {cut:#x}"
            );
        }
        // The fixed part is there but the last run is cut.
        let cut = b.len() - 1;
        assert_eq!(
            parse_memory_info(&b[..cut], g),
            Err(InfoError::RunsTruncated { claimed: 3, fit: 2 })
        );
    }
}

#[test]
fn a_huge_run_count_is_an_error_not_an_allocation() {
    let g = Generation::Neither;
    let mut b = block(g, &RUNS, 3);
    let off = g.layout().number_of_runs_offset();
    b[off..off + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        parse_memory_info(&b, g),
        Err(InfoError::RunsTruncated {
            claimed: u64::MAX,
            fit: 3
        })
    ));
}

#[test]
fn bad_runs_are_refused_and_empty_ones_dropped() {
    let g = Generation::Neither;
    for (run, why) in [
        (
            (u64::MAX - 0xfff, 0x2000),
            "past the end of the address space",
        ),
        ((0x1800, 0x1000), "not page-aligned"),
        (
            (1 << 63, 0x1000),
            "above 2^63, which no file offset reaches",
        ),
    ] {
        let e = parse_memory_info(&block(g, &[(0, 0x1000), run], 2), g).unwrap_err();
        assert!(
            matches!(e, InfoError::BadRun { index: 1, why: w, .. } if w == why),
            "{e}"
        );
    }
    let info = parse_memory_info(&block(g, &[(0x5000, 0), (0x1000, 0x1000)], 2), g).unwrap();
    assert_eq!(
        info.runs,
        vec![PhysRange {
            start: 0x1000,
            end: 0x2000
        }]
    );
}

#[test]
fn more_runs_than_any_driver_limit_parse() {
    // 20 (2.0.1), 100 (c-aff4), 300 (4.x): Hyper-V dynamic memory lists thousands.
    let runs: Vec<(u64, u64)> = (0..3000u64).map(|i| (i * 0x20000, 0x10000)).collect();
    for g in Generation::PROBE_ORDER {
        let b = block(g, &runs, runs.len());
        assert!(
            b.len() <= INFO_BUFFER_SIZES[0],
            "3000 runs fit the first buffer"
        );
        let info = parse_memory_info(&b, g).unwrap();
        assert_eq!(info.runs.len(), 3000);
        assert_eq!(info.ranges().len(), 3000, "runs with gaps stay apart");
        assert_eq!(
            info.runs[2999],
            PhysRange {
                start: 2999 * 0x20000,
                end: 2999 * 0x20000 + 0x10000
            }
        );
    }
}

#[test]
fn ranges_are_sorted_and_merged() {
    let g = Generation::Buffered;
    let info = parse_memory_info(
        &block(
            g,
            &[(0x10000, 0x1000), (0x1000, 0x1000), (0x2000, 0x2000)],
            3,
        ),
        g,
    )
    .unwrap();
    assert_eq!(
        info.ranges(),
        vec![
            PhysRange {
                start: 0x1000,
                end: 0x4000
            },
            PhysRange {
                start: 0x10000,
                end: 0x11000
            }
        ]
    );
}

fn describe(e: u32) -> String {
    format!("error {e}")
}

#[test]
fn probe_finds_a_2_0_driver_at_once() {
    let mut calls = Vec::new();
    let info = probe(
        |code, len| {
            calls.push((code, len));
            Ok(block(Generation::Neither, &RUNS, 20))
        },
        describe,
    )
    .unwrap();
    assert_eq!(info.generation, Generation::Neither);
    assert_eq!(calls, vec![(0x22C40F, 64 << 10)]);
}

#[test]
fn probe_falls_back_to_the_old_generation_when_the_code_is_refused() {
    let mut calls = Vec::new();
    let info = probe(
        |code, len| {
            calls.push((code, len));
            match code {
                0x22C40C => Ok(block(Generation::Buffered, &RUNS, 100)),
                _ => Err(win32::INVALID_PARAMETER),
            }
        },
        describe,
    )
    .unwrap();
    assert_eq!(info.generation, Generation::Buffered);
    assert_eq!(info.cr3, 0x1aa000);
    assert_eq!(calls, vec![(0x22C40F, 64 << 10), (0x22C40C, 64 << 10)]);
}

#[test]
fn probe_grows_the_buffer_on_info_length_mismatch() {
    let runs: Vec<(u64, u64)> = (0..5000u64).map(|i| (i * 0x2000, 0x1000)).collect();
    let full = block(Generation::Neither, &runs, runs.len());
    let mut sizes = Vec::new();
    let info = probe(
        |_, len| {
            sizes.push(len);
            if len < full.len() {
                Err(win32::BAD_LENGTH)
            } else {
                Ok(full.clone())
            }
        },
        describe,
    )
    .unwrap();
    assert_eq!(sizes, INFO_BUFFER_SIZES.to_vec());
    assert_eq!(info.runs.len(), 5000);
}

#[test]
fn probe_reports_a_driver_with_too_many_runs() {
    // The 2.0.1 driver: STATUS_INFO_LENGTH_MISMATCH whatever the buffer when > 20 runs.
    let e = probe(|_, _| Err(win32::BAD_LENGTH), describe).unwrap_err();
    assert_eq!(e, ProbeError::TooManyRuns);
    assert!(e.to_string().contains("STATUS_INFO_LENGTH_MISMATCH"), "{e}");
}

#[test]
fn probe_names_a_device_that_is_not_winpmem() {
    let e = probe(|_, _| Err(win32::INVALID_FUNCTION), describe).unwrap_err();
    assert_eq!(
        e,
        ProbeError::NotWinPmem {
            neither: "error 1".into(),
            buffered: "error 1".into()
        }
    );
    let e = probe(|_, _| Err(5), describe).unwrap_err();
    assert_eq!(e, ProbeError::Failed("error 5".into()));
    let e = probe(|_, _| Ok(vec![0; 100]), describe).unwrap_err();
    assert!(matches!(
        e,
        ProbeError::Info(InfoError::Short { got: 100, .. })
    ));
}

#[test]
fn read_mode_plan_prefers_pte_remapping_on_x64() {
    assert_eq!(
        ReadMode::plan(None, true),
        vec![ReadMode::PteRemap, ReadMode::PhysicalMemory]
    );
    assert_eq!(ReadMode::plan(None, false), vec![ReadMode::PhysicalMemory]);
    assert_eq!(
        ReadMode::plan(Some(ReadMode::IoSpace), true),
        vec![ReadMode::IoSpace]
    );
    assert_eq!(ReadMode::PteRemap.code(), 2);
    assert_eq!(
        ReadMode::from_name("physical"),
        Some(ReadMode::PhysicalMemory)
    );
    assert_eq!(ReadMode::from_name("pci"), None);
}

#[test]
fn information_yaml_has_what_rekall_reads() {
    let info =
        parse_memory_info(&block(Generation::Neither, &RUNS, 3), Generation::Neither).unwrap();
    let y = information_yaml_fields(&info);
    assert!(
        y.starts_with(
            "Registers: {CR3: 0x1aa000}\nNtBuildNumber: 4026550885\nKernBase: 0xfffff8021a400000\n"
        ),
        "{y}"
    );
    assert!(y.contains("NtBuildNumberAddr: 0xfffff8021b2c3e10\n"), "{y}");
    assert!(
        y.contains("KPCR:\n- 0xfffff80217d5c000\n- 0xffffa0012c4c0000\n"),
        "{y}"
    );
}
