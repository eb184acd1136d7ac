//! An ELF64 little-endian relocatable object (a kernel module or the parasite) as plain
//! values: sections, symbols and relocations that can be edited and written back.
//!
//! Parsing uses the `object` crate's ELF layer; writing lays the file out anew (header,
//! section contents in section order, then the section header table), so nothing of the
//! input's layout (padding, a signature trailer after the last section) survives.
//! `.symtab`, its `.strtab`, `.shstrtab` and every RELA section are regenerated from
//! [`Object::symbols`] and [`Section::relocations`]; local symbols are moved before
//! global ones (as ELF requires) and every relocation's symbol index is renumbered.

use object::elf;
use object::read::elf::{FileHeader, Rela as _, SectionHeader, Sym as _};
use object::LittleEndian as LE;

/// Why a file is not an object this module handles.
#[derive(Debug, thiserror::Error)]
#[error("not an x86-64 ELF relocatable object: {0}")]
pub struct ParseError(pub String);

/// Where a symbol is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolSection {
    /// Undefined (an import).
    Undefined,
    /// Absolute or common or another reserved index (kept as is).
    Reserved(u16),
    /// Defined in the section with this index.
    Section(usize),
}

/// One symbol-table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Name (empty for section symbols).
    pub name: String,
    /// `STB_*`.
    pub bind: u8,
    /// `STT_*`.
    pub kind: u8,
    /// `st_other` (visibility).
    pub other: u8,
    /// Where it is defined.
    pub section: SymbolSection,
    /// Offset in its section.
    pub value: u64,
    /// Size in bytes.
    pub size: u64,
}

impl Symbol {
    /// Whether the symbol is an import.
    pub fn is_undefined(&self) -> bool {
        self.section == SymbolSection::Undefined && !self.name.is_empty()
    }
}

/// One RELA entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relocation {
    /// Offset in the section relocated.
    pub offset: u64,
    /// `R_X86_64_*` type.
    pub kind: u32,
    /// Index into [`Object::symbols`].
    pub symbol: usize,
    /// Addend.
    pub addend: i64,
}

/// What a section holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionData {
    /// File bytes (PROGBITS, NOTE, ...).
    Bytes(Vec<u8>),
    /// NOBITS of this size.
    NoBits(u64),
    /// RELA entries for the section `target` (`sh_info`).
    Rela {
        /// Section relocated.
        target: usize,
        /// Entries.
        entries: Vec<Relocation>,
    },
    /// The symbol table (contents in [`Object::symbols`]).
    SymbolTable,
    /// The symbol table's string table (regenerated).
    SymbolStrings,
    /// The section-name string table (regenerated).
    SectionNames,
}

/// One section (index 0, the null section, is not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Name.
    pub name: String,
    /// `SHT_*`.
    pub kind: u32,
    /// `SHF_*`.
    pub flags: u64,
    /// Alignment.
    pub align: u64,
    /// Entry size.
    pub entsize: u64,
    /// `sh_link` and `sh_info` as read (kept for sections that are not regenerated,
    /// e.g. `SHF_LINK_ORDER` ones; section indexes stay valid as sections are only appended).
    pub link: (u32, u32),
    /// Contents.
    pub data: SectionData,
}

impl Section {
    /// Size in memory.
    pub fn size(&self) -> u64 {
        match &self.data {
            SectionData::Bytes(b) => b.len() as u64,
            SectionData::NoBits(n) => *n,
            _ => 0,
        }
    }
    /// Whether the section is loaded (`SHF_ALLOC`).
    pub fn is_alloc(&self) -> bool {
        self.flags & u64::from(elf::SHF_ALLOC) != 0
    }
}

/// A relocatable object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// `e_flags`.
    pub flags: u32,
    /// Sections; a section's index in the file is its position here + 1.
    pub sections: Vec<Section>,
    /// Symbols; index 0 is the null symbol.
    pub symbols: Vec<Symbol>,
}

/// Section index (as in the file: 1-based) of `sections[i]`.
pub fn file_index(i: usize) -> usize {
    i + 1
}

impl Object {
    /// Parses an x86-64 ELF64 relocatable object.
    pub fn parse(data: &[u8]) -> Result<Object, ParseError> {
        // The ELF layer reads headers in place and needs them 8-byte aligned (an
        // `include_bytes!` array or a slice of a file need not be).
        let mut aligned = vec![0u64; data.len().div_ceil(8)];
        let buf: &mut [u8] = object::bytes_of_slice_mut(&mut aligned);
        buf[..data.len()].copy_from_slice(data);
        Object::parse_aligned(&buf[..data.len()])
    }

    fn parse_aligned(data: &[u8]) -> Result<Object, ParseError> {
        let e = |m: &str| ParseError(m.to_string());
        let hdr = elf::FileHeader64::<LE>::parse(data).map_err(|x| e(&x.to_string()))?;
        let en = hdr.endian().map_err(|x| e(&x.to_string()))?;
        if !hdr.is_little_endian() || !hdr.is_class_64() {
            return Err(e("not ELF64 little-endian"));
        }
        if hdr.e_type(en) != elf::ET_REL || hdr.e_machine(en) != elf::EM_X86_64 {
            return Err(e("not ET_REL for EM_X86_64"));
        }
        let table = hdr.sections(en, data).map_err(|x| e(&x.to_string()))?;
        let mut sections = Vec::new();
        let mut symtab_index = None;
        for (i, sh) in table.iter().enumerate().skip(1) {
            let name = table.section_name(en, sh).map_err(|x| e(&x.to_string()))?;
            let name = String::from_utf8_lossy(name).into_owned();
            let kind = sh.sh_type(en);
            let sdata = match kind {
                elf::SHT_NOBITS => SectionData::NoBits(sh.sh_size(en)),
                elf::SHT_SYMTAB => {
                    symtab_index = Some(i);
                    SectionData::SymbolTable
                }
                elf::SHT_STRTAB if i == hdr.e_shstrndx(en) as usize => SectionData::SectionNames,
                elf::SHT_RELA => {
                    let (rels, _) = sh
                        .rela(en, data)
                        .map_err(|x| e(&x.to_string()))?
                        .ok_or_else(|| e("bad RELA"))?;
                    SectionData::Rela {
                        target: sh.sh_info(en) as usize,
                        entries: rels
                            .iter()
                            .map(|r| Relocation {
                                offset: r.r_offset(en),
                                kind: r.r_type(en, false),
                                symbol: r.r_sym(en, false) as usize,
                                addend: r.r_addend(en),
                            })
                            .collect(),
                    }
                }
                elf::SHT_REL => return Err(e("SHT_REL sections are not supported")),
                _ => SectionData::Bytes(sh.data(en, data).map_err(|x| e(&x.to_string()))?.to_vec()),
            };
            sections.push(Section {
                name,
                kind,
                flags: sh.sh_flags(en),
                align: sh.sh_addralign(en),
                entsize: sh.sh_entsize(en),
                link: (sh.sh_link(en), sh.sh_info(en)),
                data: sdata,
            });
        }
        symtab_index.ok_or_else(|| e("no symbol table"))?;
        let syms = table
            .symbols(en, data, elf::SHT_SYMTAB)
            .map_err(|x| e(&x.to_string()))?;
        let strtab_index = syms.string_section().0;
        // The symbol string table is regenerated from the names.
        if let Some(s) = strtab_index
            .checked_sub(1)
            .and_then(|i| sections.get_mut(i))
        {
            s.data = SectionData::SymbolStrings;
        }
        let mut symbols = Vec::with_capacity(syms.len());
        for sym in syms.iter() {
            let name = String::from_utf8_lossy(
                sym.name(en, syms.strings())
                    .map_err(|x| e(&x.to_string()))?,
            )
            .into_owned();
            let shndx = sym.st_shndx(en);
            let section = match shndx {
                elf::SHN_UNDEF => SymbolSection::Undefined,
                elf::SHN_XINDEX => return Err(e("extended section indexes are not supported")),
                x if x >= elf::SHN_LORESERVE => SymbolSection::Reserved(x),
                x => SymbolSection::Section(x as usize),
            };
            symbols.push(Symbol {
                name,
                bind: sym.st_bind(),
                kind: sym.st_type(),
                other: sym.st_other(),
                section,
                value: sym.st_value(en),
                size: sym.st_size(en),
            });
        }
        Ok(Object {
            flags: hdr.e_flags(en),
            sections,
            symbols,
        })
    }

    /// Index in [`Object::sections`] of the first section named `name`.
    pub fn section_by_name(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.name == name)
    }

    /// The first defined symbol named `name`.
    pub fn defined_symbol(&self, name: &str) -> Option<usize> {
        self.symbols
            .iter()
            .position(|s| s.name == name && matches!(s.section, SymbolSection::Section(_)))
    }

    /// The undefined symbol named `name`.
    pub fn undefined_symbol(&self, name: &str) -> Option<usize> {
        self.symbols
            .iter()
            .position(|s| s.name == name && s.is_undefined())
    }

    /// Names of the imports (undefined symbols).
    pub fn imports(&self) -> Vec<&str> {
        self.symbols
            .iter()
            .filter(|s| s.is_undefined())
            .map(|s| s.name.as_str())
            .collect()
    }

    /// The RELA section (index in `sections`) relocating `sections[i]`, if any.
    pub fn rela_for(&self, i: usize) -> Option<usize> {
        self.sections.iter().position(
            |s| matches!(s.data, SectionData::Rela { target, .. } if target == file_index(i)),
        )
    }

    /// Every relocation of every RELA section, mutably.
    pub fn relocations_mut(&mut self) -> impl Iterator<Item = &mut Relocation> {
        self.sections.iter_mut().flat_map(|s| match &mut s.data {
            SectionData::Rela { entries, .. } => entries.iter_mut(),
            _ => [].iter_mut(),
        })
    }

    /// The section's bytes (empty for anything but [`SectionData::Bytes`]).
    pub fn bytes(&self, i: usize) -> &[u8] {
        match &self.sections[i].data {
            SectionData::Bytes(b) => b,
            _ => &[],
        }
    }

    /// Writes the object as an ELF file.
    pub fn write(&self) -> Vec<u8> {
        // Locals first, then globals; old index -> new index.
        let mut order: Vec<usize> = (0..self.symbols.len())
            .filter(|&i| i == 0 || self.symbols[i].bind == elf::STB_LOCAL)
            .collect();
        let first_global = order.len();
        order.extend((1..self.symbols.len()).filter(|&i| self.symbols[i].bind != elf::STB_LOCAL));
        let mut new_index = vec![0u32; self.symbols.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new as u32;
        }
        let symtab = self
            .sections
            .iter()
            .position(|s| s.data == SectionData::SymbolTable)
            .map(file_index)
            .unwrap_or(0);
        let strtab = self
            .sections
            .iter()
            .position(|s| s.data == SectionData::SymbolStrings)
            .map(file_index)
            .unwrap_or(0);
        let shstrndx = self
            .sections
            .iter()
            .position(|s| s.data == SectionData::SectionNames)
            .map(file_index)
            .unwrap_or(0);

        let mut strings = StringTable::default();
        let mut sym_bytes = Vec::with_capacity(order.len() * 24);
        for &old in &order {
            let s = &self.symbols[old];
            let name = if old == 0 { 0 } else { strings.add(&s.name) };
            let shndx = match s.section {
                SymbolSection::Undefined => 0u16,
                SymbolSection::Reserved(x) => x,
                SymbolSection::Section(x) => x as u16,
            };
            sym_bytes.extend_from_slice(&name.to_le_bytes());
            sym_bytes.push((s.bind << 4) | (s.kind & 0xf));
            sym_bytes.push(s.other);
            sym_bytes.extend_from_slice(&shndx.to_le_bytes());
            sym_bytes.extend_from_slice(&s.value.to_le_bytes());
            sym_bytes.extend_from_slice(&s.size.to_le_bytes());
        }
        let mut names = StringTable::default();
        let name_offsets: Vec<u32> = self.sections.iter().map(|s| names.add(&s.name)).collect();

        let mut out = vec![0u8; 64];
        let mut headers = vec![0u8; 64]; // null section header
        for (i, s) in self.sections.iter().enumerate() {
            let (bytes, size, link, info): (Option<Vec<u8>>, u64, u32, u32) = match &s.data {
                SectionData::Bytes(b) => (Some(b.clone()), b.len() as u64, s.link.0, s.link.1),
                SectionData::NoBits(n) => (None, *n, s.link.0, s.link.1),
                SectionData::Rela { target, entries } => {
                    let mut b = Vec::with_capacity(entries.len() * 24);
                    for r in entries {
                        let info = (u64::from(new_index[r.symbol]) << 32) | u64::from(r.kind);
                        b.extend_from_slice(&r.offset.to_le_bytes());
                        b.extend_from_slice(&info.to_le_bytes());
                        b.extend_from_slice(&r.addend.to_le_bytes());
                    }
                    let n = b.len() as u64;
                    (Some(b), n, symtab as u32, *target as u32)
                }
                SectionData::SymbolTable => (
                    Some(sym_bytes.clone()),
                    sym_bytes.len() as u64,
                    strtab as u32,
                    first_global as u32,
                ),
                SectionData::SymbolStrings => (
                    Some(strings.bytes.clone()),
                    strings.bytes.len() as u64,
                    0,
                    0,
                ),
                SectionData::SectionNames => {
                    (Some(names.bytes.clone()), names.bytes.len() as u64, 0, 0)
                }
            };
            let align = s.align.max(1);
            let offset = match &bytes {
                Some(b) => {
                    while out.len() as u64 % align != 0 {
                        out.push(0);
                    }
                    let o = out.len() as u64;
                    out.extend_from_slice(b);
                    o
                }
                None => out.len() as u64,
            };
            let entsize = match s.data {
                SectionData::Rela { .. } | SectionData::SymbolTable => 24,
                _ => s.entsize,
            };
            headers.extend_from_slice(&name_offsets[i].to_le_bytes());
            headers.extend_from_slice(&s.kind.to_le_bytes());
            headers.extend_from_slice(&s.flags.to_le_bytes());
            headers.extend_from_slice(&0u64.to_le_bytes()); // sh_addr
            headers.extend_from_slice(&offset.to_le_bytes());
            headers.extend_from_slice(&size.to_le_bytes());
            headers.extend_from_slice(&link.to_le_bytes());
            headers.extend_from_slice(&info.to_le_bytes());
            headers.extend_from_slice(&s.align.to_le_bytes());
            headers.extend_from_slice(&entsize.to_le_bytes());
        }
        while out.len() % 8 != 0 {
            out.push(0);
        }
        let shoff = out.len() as u64;
        out.extend_from_slice(&headers);

        let h = &mut out[..64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = elf::ELFCLASS64;
        h[5] = elf::ELFDATA2LSB;
        h[6] = elf::EV_CURRENT;
        h[16..18].copy_from_slice(&elf::ET_REL.to_le_bytes());
        h[18..20].copy_from_slice(&elf::EM_X86_64.to_le_bytes());
        h[20..24].copy_from_slice(&u32::from(elf::EV_CURRENT).to_le_bytes());
        h[40..48].copy_from_slice(&shoff.to_le_bytes());
        h[48..52].copy_from_slice(&self.flags.to_le_bytes());
        h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
        h[60..62].copy_from_slice(&((self.sections.len() + 1) as u16).to_le_bytes());
        h[62..64].copy_from_slice(&(shstrndx as u16).to_le_bytes());
        out
    }
}

/// A NUL-separated string table under construction (offset 0 is the empty string).
#[derive(Default)]
struct StringTable {
    bytes: Vec<u8>,
    seen: std::collections::HashMap<String, u32>,
}

impl StringTable {
    fn add(&mut self, s: &str) -> u32 {
        if self.bytes.is_empty() {
            self.bytes.push(0);
        }
        if s.is_empty() {
            return 0;
        }
        if let Some(&o) = self.seen.get(s) {
            return o;
        }
        let o = self.bytes.len() as u32;
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        self.seen.insert(s.to_string(), o);
        o
    }
}
