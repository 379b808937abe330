//! Build the 4096-byte zero page (`struct boot_params`) for the 32-bit boot
//! protocol entry, and the e820 memory map that goes in it. The 64-bit entry
//! uses the same zero page (`code32_start` is then unused, and 0 if the load
//! address does not fit in it; for `--decompress`, `assemble` clears
//! `KASLR_FLAG`).
//!
//! The zero page starts all zero; the image's setup header bytes
//! (0x1F1 .. 0x202 + byte at 0x201) are copied to the same offsets, then the
//! loader fields are filled in: `type_of_loader`, `loadflags`,
//! `code32_start`, command line and initrd pointers (low 32 bits in the
//! header, high 32 bits in the `ext_` fields), `acpi_rsdp_addr`,
//! `hardware_subarch` and the e820 table. Layout: linux-loader's
//! `boot_params`, which mirrors `arch/x86/include/uapi/asm/bootparam.h`.

use std::ops::Range;

use linux_loader::loader::bootparam::{
    boot_e820_entry, boot_params, CAN_USE_HEAP, E820_MAX_ENTRIES_ZEROPAGE, KEEP_SEGMENTS,
    LOADED_HIGH,
};
use vm_memory::ByteValued;

use crate::bzimage::BzImage;
use crate::plan::LoadPlan;

/// Size of the zero page in bytes.
pub const ZERO_PAGE_LEN: usize = 4096;
/// Most e820 entries the zero page holds.
pub const E820_MAX_ENTRIES: usize = E820_MAX_ENTRIES_ZEROPAGE;
/// `type_of_loader` value for a loader without an assigned id.
pub const LOADER_TYPE_UNDEFINED: u8 = 0xff;

/// An e820 memory type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum E820Type {
    /// Usable RAM (1).
    Ram = 1,
    /// Reserved (2).
    Reserved = 2,
    /// ACPI tables, reclaimable after boot (3).
    Acpi = 3,
}

/// One e820 entry: `size` bytes at `addr` of type `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E820Entry {
    /// First byte.
    pub addr: u64,
    /// Length in bytes (never 0).
    pub size: u64,
    /// Memory type.
    pub kind: E820Type,
}

/// Why an e820 table cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum E820Error {
    /// A range with `start >= end`.
    #[error("empty e820 range 0x{start:x}..0x{end:x}")]
    EmptyRange {
        /// Range start.
        start: u64,
        /// Range end (exclusive).
        end: u64,
    },
    /// Two RAM ranges overlap.
    #[error("RAM ranges 0x{:x}..0x{:x} and 0x{:x}..0x{:x} overlap", a.start, a.end, b.start, b.end)]
    OverlappingRam {
        /// First range.
        a: Range<u64>,
        /// Second range.
        b: Range<u64>,
    },
    /// Two non-RAM (ACPI/reserved) ranges overlap.
    #[error("non-RAM ranges 0x{:x}..0x{:x} and 0x{:x}..0x{:x} overlap", a.start, a.end, b.start, b.end)]
    OverlappingSpecial {
        /// First range.
        a: Range<u64>,
        /// Second range.
        b: Range<u64>,
    },
    /// More entries than the zero page holds.
    #[error(
        "e820 table needs {count} entries, the zero page holds {}",
        E820_MAX_ENTRIES
    )]
    TooManyEntries {
        /// Entries the table would need.
        count: usize,
    },
}

/// A sorted, non-overlapping e820 table of at most [`E820_MAX_ENTRIES`] entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct E820Table {
    entries: Vec<E820Entry>,
}

fn overlap_check(
    v: &mut [Range<u64>],
    err: fn(Range<u64>, Range<u64>) -> E820Error,
) -> Result<(), E820Error> {
    v.sort_by_key(|r| (r.start, r.end));
    for w in v.windows(2) {
        if w[0].end > w[1].start {
            return Err(err(w[0].clone(), w[1].clone()));
        }
    }
    Ok(())
}

impl E820Table {
    /// Builds the table from `(range, type)` pairs (ranges end-exclusive).
    ///
    /// ACPI and reserved ranges are cut out of any RAM range they overlap,
    /// splitting it; they are listed as given even outside RAM. RAM ranges
    /// may touch but not overlap one another, nor may non-RAM ranges.
    pub fn build(ranges: &[(Range<u64>, E820Type)]) -> Result<Self, E820Error> {
        for (r, _) in ranges {
            if r.start >= r.end {
                return Err(E820Error::EmptyRange {
                    start: r.start,
                    end: r.end,
                });
            }
        }
        let mut ram: Vec<Range<u64>> = ranges
            .iter()
            .filter(|(_, t)| *t == E820Type::Ram)
            .map(|(r, _)| r.clone())
            .collect();
        overlap_check(&mut ram, |a, b| E820Error::OverlappingRam { a, b })?;
        let mut special: Vec<(Range<u64>, E820Type)> = ranges
            .iter()
            .filter(|(_, t)| *t != E820Type::Ram)
            .cloned()
            .collect();
        special.sort_by_key(|(r, _)| (r.start, r.end));
        let mut special_ranges: Vec<Range<u64>> = special.iter().map(|(r, _)| r.clone()).collect();
        overlap_check(&mut special_ranges, |a, b| E820Error::OverlappingSpecial {
            a,
            b,
        })?;

        let mut entries = Vec::new();
        let mut push = |r: Range<u64>, kind| {
            entries.push(E820Entry {
                addr: r.start,
                size: r.end - r.start,
                kind,
            })
        };
        for r in &ram {
            let mut cur = r.start;
            for s in &special_ranges {
                if s.end <= cur || s.start >= r.end {
                    continue;
                }
                if s.start > cur {
                    push(cur..s.start, E820Type::Ram);
                }
                cur = cur.max(s.end);
            }
            if cur < r.end {
                push(cur..r.end, E820Type::Ram);
            }
        }
        for (r, t) in special {
            push(r, t);
        }
        entries.sort_by_key(|e| e.addr);
        if entries.len() > E820_MAX_ENTRIES {
            return Err(E820Error::TooManyEntries {
                count: entries.len(),
            });
        }
        Ok(Self { entries })
    }

    /// The entries, sorted by address.
    pub fn entries(&self) -> &[E820Entry] {
        &self.entries
    }
}

/// Loader-chosen values for the zero page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZeroPageConfig {
    /// Kernel load address, written to `code32_start`; must be below 4 GiB
    /// unless `entry_64`.
    pub kernel_load: u64,
    /// Whether the kernel is entered through the 64-bit boot protocol,
    /// which does not use `code32_start`: a load address above 4 GiB
    /// leaves it 0.
    pub entry_64: bool,
    /// Address of the NUL-terminated command line.
    pub cmdline_addr: u64,
    /// Initrd location, if any.
    pub initrd: Option<Range<u64>>,
    /// Physical address of the ACPI RSDP, if the kernel should not search for it.
    pub acpi_rsdp_addr: Option<u64>,
    /// `hardware_subarch` (0 = PC).
    pub hardware_subarch: u32,
}

impl ZeroPageConfig {
    /// Takes the addresses and the entry from `plan`; `acpi_rsdp_addr` is
    /// `None` and `hardware_subarch` 0, for the caller to change.
    pub fn from_plan(plan: &LoadPlan) -> Self {
        Self {
            kernel_load: plan.kernel.start,
            entry_64: plan.entry_64,
            cmdline_addr: plan.cmdline.start,
            initrd: plan.initrd.clone(),
            acpi_rsdp_addr: None,
            hardware_subarch: 0,
        }
    }
}

/// Why the zero page cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZeroPageError {
    /// `code32_start` is 32 bits wide, and the 32-bit entry needs it.
    #[error(
        "kernel load address 0x{kernel_load:x} does not fit code32_start (the 32-bit entry \
         needs it below 4 GiB)"
    )]
    KernelAbove4G {
        /// Requested load address.
        kernel_load: u64,
    },
}

fn lo32(x: u64) -> u32 {
    x as u32
}

fn hi32(x: u64) -> u32 {
    (x >> 32) as u32
}

/// Builds the zero page for `image` with `cfg` and the memory map `e820`.
pub fn build_zero_page(
    image: &BzImage<'_>,
    cfg: &ZeroPageConfig,
    e820: &E820Table,
) -> Result<[u8; ZERO_PAGE_LEN], ZeroPageError> {
    let code32_start = match u32::try_from(cfg.kernel_load) {
        Ok(v) => v,
        Err(_) if cfg.entry_64 => 0,
        Err(_) => {
            return Err(ZeroPageError::KernelAbove4G {
                kernel_load: cfg.kernel_load,
            })
        }
    };

    let mut bp = boot_params::default();
    bp.as_mut_slice()[image.setup_header_range()].copy_from_slice(image.setup_header_bytes());

    bp.hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
    bp.hdr.loadflags = (bp.hdr.loadflags | LOADED_HIGH) & !(KEEP_SEGMENTS | CAN_USE_HEAP);
    bp.hdr.code32_start = code32_start;
    bp.hdr.cmd_line_ptr = lo32(cfg.cmdline_addr);
    bp.ext_cmd_line_ptr = hi32(cfg.cmdline_addr);
    let (rd_addr, rd_size) = cfg
        .initrd
        .as_ref()
        .map_or((0, 0), |r| (r.start, r.end - r.start));
    bp.hdr.ramdisk_image = lo32(rd_addr);
    bp.ext_ramdisk_image = hi32(rd_addr);
    bp.hdr.ramdisk_size = lo32(rd_size);
    bp.ext_ramdisk_size = hi32(rd_size);
    bp.acpi_rsdp_addr = cfg.acpi_rsdp_addr.unwrap_or(0);
    bp.hdr.hardware_subarch = cfg.hardware_subarch;
    bp.hdr.hardware_subarch_data = 0;
    bp.hdr.setup_data = 0;

    let entries = e820.entries();
    bp.e820_entries = entries.len() as u8; // at most 128, guaranteed by E820Table
    for (slot, e) in bp.e820_table.iter_mut().zip(entries) {
        *slot = boot_e820_entry {
            addr: e.addr,
            size: e.size,
            r#type: e.kind as u32,
        };
    }

    let mut out = [0u8; ZERO_PAGE_LEN];
    out.copy_from_slice(bp.as_slice());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bzimage::test_support::{real_image, synth, Synth};
    use crate::plan::{plan, PlanRequest};
    use mint_logic::memlist::RangeList;
    use mint_logic::memrange::MemRange;

    fn u8_at(z: &[u8], off: usize) -> u8 {
        z[off]
    }
    fn u16_at(z: &[u8], off: usize) -> u16 {
        u16::from_le_bytes(z[off..off + 2].try_into().unwrap())
    }
    fn u32_at(z: &[u8], off: usize) -> u32 {
        u32::from_le_bytes(z[off..off + 4].try_into().unwrap())
    }
    fn u64_at(z: &[u8], off: usize) -> u64 {
        u64::from_le_bytes(z[off..off + 8].try_into().unwrap())
    }

    fn e(addr: u64, end: u64, kind: E820Type) -> E820Entry {
        E820Entry {
            addr,
            size: end - addr,
            kind,
        }
    }

    use E820Type::{Acpi, Ram, Reserved};

    #[test]
    fn e820_splits_ram_around_acpi_and_reserved() {
        let t = E820Table::build(&[
            (0x4000_0000..0x5000_0000, Ram),
            (0x4fff_0000..0x5000_0000, Reserved),
            (0x11000..0x20000, Ram),
            (0x4000_2000..0x4001_2000, Acpi),
        ])
        .unwrap();
        assert_eq!(
            t.entries(),
            &[
                e(0x11000, 0x20000, Ram),
                e(0x4000_0000, 0x4000_2000, Ram),
                e(0x4000_2000, 0x4001_2000, Acpi),
                e(0x4001_2000, 0x4fff_0000, Ram),
                e(0x4fff_0000, 0x5000_0000, Reserved),
            ]
        );
    }

    #[test]
    fn e820_edges() {
        // Special range covering a RAM range's start, outside any RAM, touching RAM.
        let t = E820Table::build(&[
            (0x1000..0x3000, Ram),
            (0x1000..0x2000, Acpi),
            (0x3000..0x4000, Ram),
            (0x9000..0xa000, Reserved),
        ])
        .unwrap();
        assert_eq!(
            t.entries(),
            &[
                e(0x1000, 0x2000, Acpi),
                e(0x2000, 0x3000, Ram),
                e(0x3000, 0x4000, Ram),
                e(0x9000, 0xa000, Reserved),
            ]
        );
        // Reserved range straddling the end of RAM and one swallowing it whole.
        let t = E820Table::build(&[(0x1000..0x3000, Ram), (0x2000..0x5000, Reserved)]).unwrap();
        assert_eq!(
            t.entries(),
            &[e(0x1000, 0x2000, Ram), e(0x2000, 0x5000, Reserved)]
        );
        let t = E820Table::build(&[(0x2000..0x3000, Ram), (0x1000..0x5000, Acpi)]).unwrap();
        assert_eq!(t.entries(), &[e(0x1000, 0x5000, Acpi)]);
        assert_eq!(E820Table::build(&[]).unwrap().entries(), &[]);
    }

    #[test]
    #[allow(clippy::reversed_empty_ranges)] // deliberately reversed input
    fn e820_rejections() {
        assert_eq!(
            E820Table::build(&[(0x1000..0x1000, Ram)]).unwrap_err(),
            E820Error::EmptyRange {
                start: 0x1000,
                end: 0x1000
            }
        );
        assert_eq!(
            E820Table::build(&[(0x2000..0x1000, Acpi)]).unwrap_err(),
            E820Error::EmptyRange {
                start: 0x2000,
                end: 0x1000
            }
        );
        let err = E820Table::build(&[(0x3000..0x5000, Ram), (0x1000..0x3001, Ram)]).unwrap_err();
        assert_eq!(
            err,
            E820Error::OverlappingRam {
                a: 0x1000..0x3001,
                b: 0x3000..0x5000
            }
        );
        assert_eq!(
            err.to_string(),
            "RAM ranges 0x1000..0x3001 and 0x3000..0x5000 overlap"
        );
        assert!(matches!(
            E820Table::build(&[(0x1000..0x3000, Acpi), (0x2000..0x4000, Reserved)]),
            Err(E820Error::OverlappingSpecial { .. })
        ));
        let many: Vec<_> = (0..65u64)
            .map(|i| (i * 0x2000..i * 0x2000 + 0x1000, Reserved))
            .chain(std::iter::once((0..65 * 0x2000, Ram)))
            .collect();
        assert_eq!(
            E820Table::build(&many).unwrap_err(),
            E820Error::TooManyEntries { count: 130 }
        );
    }

    fn sample_table() -> E820Table {
        E820Table::build(&[
            (0x11000..0x20000, Ram),
            (0x4000_0000..0x4400_0000, Ram),
            (0x4000_2000..0x4001_2000, Acpi),
        ])
        .unwrap()
    }

    #[test]
    fn zero_page_fields_at_documented_offsets() {
        let d = synth();
        let img = BzImage::parse(&d).unwrap();
        let cfg = ZeroPageConfig {
            kernel_load: 0x4020_0000,
            cmdline_addr: 0x1_2345_6000,
            initrd: Some(0x2_0000_1000..0x3_0000_3000),
            acpi_rsdp_addr: Some(0x4000_2000),
            hardware_subarch: 2,
            entry_64: false,
        };
        let z = build_zero_page(&img, &cfg, &sample_table()).unwrap();
        assert_eq!(z.len(), 4096);
        assert_eq!(u64_at(&z, 0x070), 0x4000_2000); // acpi_rsdp_addr
        assert_eq!(u32_at(&z, 0x0c0), 0x2); // ext_ramdisk_image
        assert_eq!(u32_at(&z, 0x0c4), 0x1); // ext_ramdisk_size
        assert_eq!(u32_at(&z, 0x0c8), 0x1); // ext_cmd_line_ptr
        assert_eq!(u8_at(&z, 0x1e8), 4); // e820_entries
        assert_eq!(u8_at(&z, 0x1f1), 3); // setup_sects (copied)
        assert_eq!(u16_at(&z, 0x1fe), 0xaa55); // boot_flag (copied)
        assert_eq!(&z[0x202..0x206], b"HdrS");
        assert_eq!(u16_at(&z, 0x206), 0x020f); // version
        assert_eq!(u8_at(&z, 0x210), 0xff); // type_of_loader
        assert_eq!(u8_at(&z, 0x211) & 0xc1, 0x01); // LOADED_HIGH, no KEEP_SEGMENTS/CAN_USE_HEAP
        assert_eq!(u32_at(&z, 0x214), 0x4020_0000); // code32_start
        assert_eq!(u32_at(&z, 0x218), 0x0000_1000); // ramdisk_image
        assert_eq!(u32_at(&z, 0x21c), 0x0000_2000); // ramdisk_size
        assert_eq!(u32_at(&z, 0x228), 0x2345_6000); // cmd_line_ptr
        assert_eq!(u32_at(&z, 0x22c), 0x7fff_ffff); // initrd_addr_max (copied)
        assert_eq!(u32_at(&z, 0x230), 0x20_0000); // kernel_alignment (copied)
        assert_eq!(u32_at(&z, 0x23c), 2); // hardware_subarch
        assert_eq!(u64_at(&z, 0x250), 0); // setup_data
        assert_eq!(u32_at(&z, 0x260), 0x10_0000); // init_size (copied)
                                                  // e820 table at 0x2d0, packed 20-byte entries.
        let ent = |i: usize| {
            let o = 0x2d0 + 20 * i;
            (u64_at(&z, o), u64_at(&z, o + 8), u32_at(&z, o + 16))
        };
        assert_eq!(ent(0), (0x11000, 0xf000, 1));
        assert_eq!(ent(1), (0x4000_0000, 0x2000, 1));
        assert_eq!(ent(2), (0x4000_2000, 0x10000, 3));
        assert_eq!(ent(3), (0x4001_2000, 0x3fe_e000, 1));
        assert_eq!(ent(4), (0, 0, 0));
        // The rest of the page is zero outside the fields above.
        assert!(z[..0x070].iter().all(|&b| b == 0));
        assert!(z[0x2d0 + 20 * 4..].iter().all(|&b| b == 0));
    }

    #[test]
    fn loadflags_cleared_and_defaults() {
        let mut d = synth();
        d[0x211] = 0x40 | 0x80 | 0x20; // KEEP_SEGMENTS | CAN_USE_HEAP | QUIET, no LOADED_HIGH
        let img = BzImage::parse(&d).unwrap();
        let cfg = ZeroPageConfig {
            kernel_load: 0x20_0000,
            cmdline_addr: 0x1000,
            initrd: None,
            acpi_rsdp_addr: None,
            hardware_subarch: 0,
            entry_64: false,
        };
        let z = build_zero_page(&img, &cfg, &E820Table::default()).unwrap();
        assert_eq!(u8_at(&z, 0x211), 0x21);
        assert_eq!(u64_at(&z, 0x070), 0);
        assert_eq!(u32_at(&z, 0x218), 0);
        assert_eq!(u32_at(&z, 0x21c), 0);
        assert_eq!(u32_at(&z, 0x0c0), 0);
        assert_eq!(u32_at(&z, 0x0c4), 0);
        assert_eq!(u8_at(&z, 0x1e8), 0);
        assert_eq!(u32_at(&z, 0x228), 0x1000);
        assert_eq!(u32_at(&z, 0x0c8), 0);
    }

    #[test]
    fn copies_exactly_the_header_range() {
        let mut d = Synth {
            header_end_byte: 0x66,
            ..Default::default()
        }
        .build();
        d[0x268..0x26c].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // past the header end
        d[0x1f0] = 0x77; // before the header
        let img = BzImage::parse(&d).unwrap();
        let cfg = ZeroPageConfig {
            kernel_load: 0x20_0000,
            cmdline_addr: 0x1000,
            initrd: None,
            acpi_rsdp_addr: None,
            hardware_subarch: 0,
            entry_64: false,
        };
        let z = build_zero_page(&img, &cfg, &E820Table::default()).unwrap();
        assert_eq!(z[0x1f0], 0);
        assert_eq!(&z[0x264..0x268], &d[0x264..0x268]);
        assert_eq!(&z[0x268..0x290], &[0u8; 0x28][..]);
    }

    #[test]
    fn kernel_above_4g_rejected() {
        let d = synth();
        let img = BzImage::parse(&d).unwrap();
        let cfg = ZeroPageConfig {
            kernel_load: 0x1_0000_0000,
            cmdline_addr: 0,
            initrd: None,
            acpi_rsdp_addr: None,
            hardware_subarch: 0,
            entry_64: false,
        };
        assert_eq!(
            build_zero_page(&img, &cfg, &E820Table::default()).unwrap_err(),
            ZeroPageError::KernelAbove4G {
                kernel_load: 0x1_0000_0000
            }
        );
        // The 64-bit entry does not use code32_start: 0 above 4 GiB, the
        // load address below.
        let cfg = ZeroPageConfig {
            entry_64: true,
            ..cfg
        };
        let z = build_zero_page(&img, &cfg, &E820Table::default()).unwrap();
        assert_eq!(u32_at(&z, 0x214), 0);
        let cfg = ZeroPageConfig {
            kernel_load: 0x4020_0000,
            ..cfg
        };
        let z = build_zero_page(&img, &cfg, &E820Table::default()).unwrap();
        assert_eq!(u32_at(&z, 0x214), 0x4020_0000);
    }

    #[test]
    fn from_plan_and_real_image() {
        let owned;
        let d: &[u8] = match real_image() {
            Some(r) => {
                owned = r;
                &owned
            }
            None => {
                owned = synth();
                &owned
            }
        };
        let img = BzImage::parse(d).unwrap();
        let p = plan(
            &img,
            &PlanRequest {
                memory: RangeList::from_ranges(&[MemRange {
                    start: 0x4000_0000,
                    size: 0x1000_0000,
                }])
                .unwrap(),
                mem_min: None,
                cmdline_len: 20,
                initrd_len: 0x12345,
                acpi_len: 0x10000,
                console_len: 0,
            },
        )
        .unwrap();
        let acpi = p.acpi.clone().unwrap();
        let mut cfg = ZeroPageConfig::from_plan(&p);
        cfg.acpi_rsdp_addr = Some(acpi.start);
        let t = E820Table::build(&[
            (0x11000..0x20000, Ram),
            (p.main.start..p.main.end(), Ram),
            (acpi.clone(), Acpi),
        ])
        .unwrap();
        let z = build_zero_page(&img, &cfg, &t).unwrap();
        let r = img.setup_header_range();
        // Header copied except the fields the loader owns.
        assert_eq!(&z[0x1f1..0x210], &d[0x1f1..0x210]);
        assert_eq!(&z[0x22c..0x23c], &d[0x22c..0x23c]);
        assert_eq!(&z[0x258..r.end], &d[0x258..r.end]);
        assert_eq!(u32_at(&z, 0x214) as u64, p.entry);
        assert_eq!(u32_at(&z, 0x218) as u64, p.initrd.as_ref().unwrap().start);
        assert_eq!(u32_at(&z, 0x21c), 0x12345);
        assert_eq!(u32_at(&z, 0x228) as u64, p.cmdline.start);
        assert_eq!(u64_at(&z, 0x070), acpi.start);
        assert_eq!(u8_at(&z, 0x1e8), 4);
    }

    /// A plan in two ranges above 4 GiB: the kernel, zero page and command
    /// line in one, the initrd in the other, the 64-bit entry. Every pointer
    /// field carries its high half in its `ext_` field; the e820 lists both
    /// ranges.
    #[test]
    fn above_4g_through_the_ext_fields() {
        let d = Synth {
            xloadflags: 0x3,
            ..Default::default()
        }
        .build();
        let img = BzImage::parse(&d).unwrap();
        let a = MemRange {
            start: 0x2_4000_0000,
            size: 4 << 20,
        };
        let b = MemRange {
            start: 0x1_8000_0000,
            size: 2 << 20,
        };
        let p = plan(
            &img,
            &PlanRequest {
                memory: RangeList::from_ranges(&[a, b]).unwrap(),
                mem_min: None,
                cmdline_len: 20,
                initrd_len: 0x18_0000,
                acpi_len: 0x10000,
                console_len: 0,
            },
        )
        .unwrap();
        assert!(p.entry_64);
        assert_eq!(p.kernel.start, 0x2_4020_0000);
        assert_eq!(p.initrd, Some(0x1_8008_0000..0x1_8020_0000));
        let acpi = p.acpi.clone().unwrap();
        let mut cfg = ZeroPageConfig::from_plan(&p);
        cfg.acpi_rsdp_addr = Some(acpi.start);
        let t = E820Table::build(&[
            (0x11000..0x20000, Ram),
            (b.start..b.end(), Ram),
            (a.start..a.end(), Ram),
            (acpi.clone(), Acpi),
        ])
        .unwrap();
        let z = build_zero_page(&img, &cfg, &t).unwrap();
        assert_eq!(u32_at(&z, 0x214), 0, "code32_start: unused");
        assert_eq!(u32_at(&z, 0x228), 0x4000_1000, "cmd_line_ptr");
        assert_eq!(u32_at(&z, 0x0c8), 0x2, "ext_cmd_line_ptr");
        assert_eq!(u32_at(&z, 0x218), 0x8008_0000, "ramdisk_image");
        assert_eq!(u32_at(&z, 0x0c0), 0x1, "ext_ramdisk_image");
        assert_eq!(u32_at(&z, 0x21c), 0x18_0000, "ramdisk_size");
        assert_eq!(u32_at(&z, 0x0c4), 0, "ext_ramdisk_size");
        assert_eq!(u64_at(&z, 0x070), 0x2_4000_2000, "acpi_rsdp_addr");
        // e820 at 0x2d0: low RAM, the initrd's range, the main range split
        // around the ACPI block.
        let ent = |i: usize| {
            let o = 0x2d0 + 20 * i;
            (u64_at(&z, o), u64_at(&z, o + 8), u32_at(&z, o + 16))
        };
        assert_eq!(u8_at(&z, 0x1e8), 5);
        assert_eq!(ent(0), (0x11000, 0xf000, 1));
        assert_eq!(ent(1), (0x1_8000_0000, 0x20_0000, 1));
        assert_eq!(ent(2), (0x2_4000_0000, 0x2000, 1));
        assert_eq!(ent(3), (0x2_4000_2000, 0x10000, 3));
        assert_eq!(ent(4), (0x2_4001_2000, 0x3e_e000, 1));
    }
}
