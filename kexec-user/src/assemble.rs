//! Assembling everything a partition boots from into the module's load
//! image: plan the partition's memory (its ranges), build the ACPI tables,
//! the e820 map and the zero page, and list the segments. Pure: the CLI
//! gathers the inputs from sysfs and files, and writes the result.
//!
//! Two ways in ([`Entry`]), same plan:
//!
//! | | [`Entry::BzImage`] (default) | [`Entry::Decompressed64`] (`--decompress`) |
//! |---|---|---|
//! | kernel segments | the bzImage's protected-mode code at the load address | the decompressed `vmlinux`'s `PT_LOAD`s at load + (`p_paddr` - `LOAD_PHYSICAL_ADDR`), bss as zeroes |
//! | entry | `code32_start` = load address, 32-bit protocol, while the kernel lies below 4 GiB; above, the bzImage's 64-bit entry at load + 0x200, 64-bit protocol | `startup_64` = load + (`e_entry` - `LOAD_PHYSICAL_ADDR`), 64-bit protocol |
//! | ACPI block | ACPI tables; the status page at +0xf000 | the same |
//! | page tables (64-bit protocol) | built by the module, in host memory | the same |
//! | zero page | built by [`crate::zeropage`] | the same, `KASLR_FLAG` cleared |
//! | KASLR | the kernel's decompressor may randomize | none, as with `nokaslr` |
//!
//! The partition's e820 map lists its private low RAM and every range of
//! its memory as RAM, but for the ACPI block (ACPI data) and the console
//! region (reserved).
//!
//! With a console region (the default, [`Inputs::console_size`]), the top of
//! the highest range that holds it is the partition's ramoops region
//! ([`plan::console_layout`]): the plan keeps every segment out of it, its
//! e820 map lists it as reserved (ramoops maps RAM as readily, but the page
//! allocator would then hand the same pages out), the command line must
//! carry its `ramoops.*` parameters ([`crate::cmdline::ramoops_params`]) and
//! the load image its layout, so that the module reads the same zones.
//!
//! The 64-bit entry skips the partition's own decompression (about 0.21 s
//! under QEMU TCG) at the price of a larger load image (about 10 MB of
//! kernel instead of 2.8 MB) and of KASLR.

use std::borrow::Cow;
use std::ops::Range;

use anyhow::{bail, Context, Result};
use mint_logic::load_image::{MAX_SEGMENTS, STATUS_PAGE_LEN};
use mint_logic::memlist::RangeList;
use mint_logic::ramoops::Layout;

use crate::acpi::{self, PciBus, ACPI_BLOCK_SIZE};
use crate::bzimage::BzImage;
use crate::cmdline;
use crate::load_blob;
use crate::plan::{self, LoadPlan, PlanRequest};
use crate::vmlinux;
use crate::zeropage::{build_zero_page, E820Table, E820Type, ZeroPageConfig};

/// `boot_params.hdr.loadflags` bit the decompressor sets when it randomized
/// the kernel's location (`arch/x86/include/uapi/asm/bootparam.h`).
const KASLR_FLAG: u8 = 1 << 1;
/// Offset of `hdr.loadflags` in the zero page.
const LOADFLAGS_OFFSET: usize = 0x211;

/// How the partition's kernel is loaded and entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Entry {
    /// The bzImage's protected-mode code is loaded at the kernel load
    /// address; it decompresses the kernel itself. Entered through the
    /// Linux 32-bit boot protocol (`code32_start` = the load address,
    /// paging off) while the zero page, the command line and the kernel lie
    /// below 4 GiB, else through the 64-bit boot protocol at its 64-bit
    /// entry, load address + 0x200 ([`plan::LoadPlan::entry_64`]).
    #[default]
    BzImage,
    /// Linux 64-bit boot protocol: `mint-kexec` decompresses the kernel
    /// ([`crate::vmlinux`]), loads its `PT_LOAD` segments from the load
    /// address and the CPU enters `startup_64` in long mode. No KASLR: the
    /// kernel runs at its link-time virtual address, as with `nokaslr`.
    Decompressed64,
}

/// What the partition is, as the module reports it.
#[derive(Debug, Clone)]
pub struct Partition {
    /// Its memory: the ranges it owns.
    pub memory: RangeList,
    /// The partition's private RAM below 1 MiB, `[start, end)`.
    pub low_ram: Range<u64>,
    /// APIC IDs of its CPUs, boot CPU first.
    pub apic_ids: Vec<u32>,
    /// I/O port of the platform's ACPI PM timer.
    pub pm_timer_port: u16,
    /// The PCI buses of the functions it owns (its `devices`), none for
    /// none; see [`crate::pci::pci_buses`].
    pub pci: Vec<PciBus>,
}

/// Everything that goes into the partition.
pub struct Inputs<'a> {
    pub kernel: &'a [u8],
    pub initrd: Option<&'a [u8]>,
    /// The full command line (without NUL). With a console region it must
    /// hold that region's parameters ([`cmdline::ramoops_params`] of
    /// [`plan::console_layout`] for the same memory and size).
    pub cmdline: &'a str,
    /// kexec's `--mem-min`.
    pub mem_min: Option<u64>,
    /// I/O base of the partition's console UART, described in its DSDT
    /// (see [`crate::cmdline::console_port`]); `None` for none.
    pub console_uart: Option<u16>,
    /// Length of the console (ramoops) region at the top of the highest
    /// range that holds it;
    /// `None` for none (`--no-console-region`).
    pub console_size: Option<u64>,
    /// How the kernel is entered.
    pub entry: Entry,
    /// With [`Entry::Decompressed64`]: the kernel already decompressed by
    /// [`vmlinux::decompress`] from this same image (the CLI assembles twice,
    /// a dry run and the real one); `None` to decompress here.
    pub decompressed: Option<&'a [u8]>,
}

/// The load image and where things went.
pub struct Assembled {
    pub blob: Vec<u8>,
    pub plan: LoadPlan,
    pub rsdp: u64,
    /// How the kernel is loaded.
    pub entry_kind: Entry,
    /// Physical entry address: `plan.entry` (`code32_start`, or the
    /// bzImage's 64-bit entry) or, with [`Entry::Decompressed64`],
    /// `startup_64`.
    pub entry: u64,
    /// Whether the kernel is entered through the 64-bit boot protocol (the
    /// load image's `FLAG_ENTRY_64`).
    pub entry_64: bool,
    /// The partition's status page (the ACPI block's last page), which its
    /// FADT's reset and sleep registers point at and the module watches.
    pub status_page: u64,
    /// Bytes of kernel the module copies: the bzImage payload, or the
    /// decompressed `PT_LOAD` segments (bss included).
    pub kernel_bytes: u64,
    /// With [`Entry::Decompressed64`]: the decompressed size
    /// (`vmlinux.bin` plus its relocation table) and the `PT_LOAD` count.
    pub decompressed: Option<(u64, usize)>,
    /// The console (ramoops) region, if any (the same as `plan.console`).
    pub console: Option<Layout>,
}

impl Assembled {
    /// One line on how the kernel is entered.
    pub fn entry_description(&self) -> &'static str {
        match (self.entry_kind, self.entry_64) {
            (Entry::BzImage, false) => "32-bit boot protocol, the kernel decompresses itself",
            (Entry::BzImage, true) => {
                "64-bit boot protocol (the kernel lies above 4 GiB), the kernel decompresses itself"
            }
            (Entry::Decompressed64, _) => {
                "64-bit boot protocol, decompressed by mint-kexec (no KASLR)"
            }
        }
    }
}

/// An APIC ID for the MADT's leading decoy entry that is none of the
/// partition's (see `acpi.rs`).
fn decoy_id(apic_ids: &[u32]) -> u32 {
    (0..=0xfe)
        .rev()
        .find(|id| !apic_ids.contains(id))
        .unwrap_or(0xfe)
}

/// Builds the load image.
pub fn assemble(p: &Partition, inputs: &Inputs<'_>) -> Result<Assembled> {
    let image = BzImage::parse(inputs.kernel).context("kernel image")?;
    if inputs.cmdline.as_bytes().contains(&0) {
        bail!("the command line contains a NUL byte");
    }
    let mut cmdline = inputs.cmdline.as_bytes().to_vec();
    cmdline.push(0);
    let initrd = inputs.initrd.unwrap_or(&[]);
    let plan = plan::plan(
        &image,
        &PlanRequest {
            memory: p.memory,
            mem_min: inputs.mem_min,
            cmdline_len: cmdline.len() as u64,
            initrd_len: initrd.len() as u64,
            acpi_len: ACPI_BLOCK_SIZE,
            console_len: inputs.console_size.unwrap_or(0),
        },
    )?;
    let console = plan.console;
    if let Some(c) = &console {
        let params = cmdline::ramoops_params(c).join(" ");
        if !inputs.cmdline.contains(&params) {
            bail!("the command line lacks the console region's parameters ({params})");
        }
    }
    let acpi_range = plan.acpi.clone().context("the plan has no ACPI block")?;
    let tables = acpi::build(
        acpi_range.start,
        &p.apic_ids,
        p.pm_timer_port,
        decoy_id(&p.apic_ids),
        inputs.console_uart,
        &p.pci,
    )?;

    // The partition sees its private low RAM, every range of its memory as
    // RAM, the whole ACPI block (tables, status page) as ACPI data and the
    // console region as reserved; nothing else exists for it.
    let mut ranges = vec![(p.low_ram.clone(), E820Type::Ram)];
    ranges.extend(
        p.memory
            .ranges()
            .iter()
            .map(|r| (r.start..r.end(), E820Type::Ram)),
    );
    ranges.push((acpi_range.clone(), E820Type::Acpi));
    ranges.extend(console.map(|c| (c.region(), E820Type::Reserved)));
    let e820 = E820Table::build(&ranges)?;
    let entry_64 = plan.entry_64 || inputs.entry == Entry::Decompressed64;
    let mut cfg = ZeroPageConfig::from_plan(&plan);
    cfg.entry_64 = entry_64;
    cfg.acpi_rsdp_addr = Some(tables.rsdp_addr);
    let mut zero_page = build_zero_page(&image, &cfg, &e820)?;
    if inputs.entry == Entry::Decompressed64 {
        // The decompressor clears KASLR_FLAG before it may set it again
        // (misc.c, extract_kernel); do the same, so the kernel knows it was
        // not randomized (kaslr_enabled() is false, which also keeps
        // CONFIG_RANDOMIZE_MEMORY off). code32_start stays, unused.
        zero_page[LOADFLAGS_OFFSET] &= !KASLR_FLAG;
    }

    let mut segments: Vec<(u64, Cow<'_, [u8]>)> = vec![
        (plan.zero_page, Cow::Borrowed(&zero_page[..])),
        (plan.cmdline.start, Cow::Borrowed(&cmdline[..])),
        (acpi_range.start, Cow::Borrowed(&tables.bytes[..])),
    ];
    let decompressed_all;
    let (entry, decompressed) = match inputs.entry {
        Entry::BzImage => {
            segments.push((plan.payload.start, Cow::Borrowed(image.payload())));
            (plan.entry, None)
        }
        Entry::Decompressed64 => {
            decompressed_all = match inputs.decompressed {
                Some(d) => Cow::Borrowed(d),
                None => {
                    Cow::Owned(vmlinux::decompress(&image).context("decompressing the kernel")?)
                }
            };
            let vm = vmlinux::load_segments(&decompressed_all, image.init_size())
                .context("decompressed kernel")?;
            let load = plan.kernel.start;
            for seg in &vm.segments {
                // The bss (p_memsz beyond p_filesz) is loaded as zeroes
                // rather than left to the window scrub and the kernel's
                // clear_bss(); a segment that is all bss is all zeroes.
                let data = if seg.mem_len == seg.data.len() as u64 {
                    Cow::Borrowed(seg.data)
                } else {
                    let mut v = seg.data.to_vec();
                    v.resize(seg.mem_len as usize, 0);
                    Cow::Owned(v)
                };
                if !data.is_empty() {
                    segments.push((load + seg.offset, data));
                }
            }
            let entry = load + vm.entry_offset;
            (
                entry,
                Some((decompressed_all.len() as u64, vm.segments.len())),
            )
        }
    };
    let kernel_bytes = match inputs.entry {
        Entry::BzImage => image.payload_len(),
        Entry::Decompressed64 => segments
            .iter()
            .filter(|(dest, _)| plan.kernel.contains(dest))
            .map(|(_, d)| d.len() as u64)
            .sum(),
    };
    if let Some(r) = &plan.initrd {
        segments.push((r.start, Cow::Borrowed(initrd)));
    }
    // The status page starts all zero from the window scrub: no segment may
    // write it, and the ACPI data range of the e820 map covers it.
    let status = tables.status_page..tables.status_page + STATUS_PAGE_LEN;
    if status.start < acpi_range.start
        || status.end > acpi_range.end
        || segments
            .iter()
            .any(|(dest, d)| *dest < status.end && status.start < dest + d.len() as u64)
    {
        bail!(
            "the status page {:#x} is not a free page of the ACPI block",
            status.start
        );
    }
    if segments.len() > MAX_SEGMENTS as usize {
        bail!(
            "{} segments (the kernel has too many PT_LOAD segments); the module takes at most {MAX_SEGMENTS}",
            segments.len()
        );
    }
    let refs: Vec<(u64, &[u8])> = segments.iter().map(|(d, b)| (*d, &b[..])).collect();
    let blob = load_blob::encode(
        entry,
        plan.zero_page,
        entry_64,
        Some(tables.status_page),
        console.as_ref(),
        &refs,
    );
    load_blob::check(&blob, p.memory.ranges()).context("load image failed the module's checks")?;
    Ok(Assembled {
        blob,
        plan,
        rsdp: tables.rsdp_addr,
        entry_kind: inputs.entry,
        entry,
        entry_64,
        status_page: tables.status_page,
        kernel_bytes,
        decompressed,
        console,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mint_logic::load_image;
    use mint_logic::memrange::MemRange;

    fn real_image() -> Option<Vec<u8>> {
        let path = std::env::var("MINT_TEST_BZIMAGE")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../out/bzImage").to_string());
        match std::fs::read(&path) {
            Ok(b) => Some(b),
            Err(_) if std::env::var("MINT_REQUIRE_BZIMAGE").as_deref() == Ok("1") => {
                panic!("MINT_REQUIRE_BZIMAGE=1 but {path} is missing")
            }
            Err(_) => {
                eprintln!("note: {path} missing; real-image test skipped");
                None
            }
        }
    }

    fn partition(size: u64) -> Partition {
        Partition {
            memory: RangeList::from_ranges(&[MemRange::new(0x2000_0000, size).unwrap()]).unwrap(),
            low_ram: 0x11000..0x20000,
            apic_ids: vec![1],
            pm_timer_port: 0x608,
            pci: Vec::new(),
        }
    }

    /// `kernel` and `initrd` for `p` with the defaults: 32-bit entry, the
    /// os2 console.
    fn assemble_plain(p: &Partition, kernel: &[u8], initrd: &[u8]) -> Assembled {
        assemble(
            p,
            &Inputs {
                kernel,
                initrd: Some(initrd),
                cmdline: "console=ttyS1",
                mem_min: None,
                console_uart: Some(0x2f8),
                console_size: None,
                entry: Entry::BzImage,
                decompressed: None,
            },
        )
        .unwrap()
    }

    #[test]
    fn real_image_assembles_into_a_valid_load_image() {
        let Some(kernel) = real_image() else { return };
        let initrd = vec![0x42u8; 300_000];
        let p = partition(256 << 20);
        let a = assemble_plain(&p, &kernel, &initrd);
        let img = load_image::parse(&a.blob).unwrap();
        img.validate_within(p.memory.ranges()).unwrap();
        assert_eq!(img.segment_count(), 5);
        assert_eq!(img.entry(), a.plan.entry);
        let segs: Vec<_> = img.segments().collect();
        // The zero page points at the command line, the RSDP and the initrd.
        let zp = segs[0].1;
        let u32_at = |o: usize| u32::from_le_bytes(zp[o..o + 4].try_into().unwrap()) as u64;
        assert_eq!(u32_at(0x228), a.plan.cmdline.start);
        assert_eq!(
            u64::from_le_bytes(zp[0x70..0x78].try_into().unwrap()),
            a.rsdp
        );
        assert_eq!(u32_at(0x218), a.plan.initrd.as_ref().unwrap().start);
        assert_eq!(u32_at(0x21c), 300_000);
        assert_eq!(segs[1].1, b"console=ttyS1\0");
        // The ACPI block, with the UART in the DSDT (header + 49 bytes of AML).
        let acpi = segs[2].1;
        assert_eq!(segs[2].0, a.rsdp);
        assert_eq!(&acpi[0x1c0..0x1c4], b"DSDT");
        assert_eq!(
            u32::from_le_bytes(acpi[0x1c4..0x1c8].try_into().unwrap()),
            98
        );
        assert_eq!(&acpi[0x230..0x234], b"APIC");
        assert_eq!(img.status_page(), Some(a.status_page));
        assert_eq!(a.status_page, a.rsdp + 0xf000);
        assert_eq!(segs[4].1.len(), 300_000);
        // e820: low RAM, then the window split around the ACPI block.
        assert_eq!(zp[0x1e8], 4);
    }

    #[test]
    fn real_image_assembles_for_the_64_bit_entry() {
        let Some(kernel_file) = real_image() else {
            return;
        };
        let initrd = vec![0x42u8; 300_000];
        let p = partition(256 << 20);
        let inputs = |entry| Inputs {
            kernel: &kernel_file,
            initrd: Some(&initrd),
            cmdline: "console=ttyS1",
            mem_min: None,
            console_uart: Some(0x2f8),
            console_size: None,
            entry,
            decompressed: None,
        };
        let a32 = assemble(&p, &inputs(Entry::BzImage)).unwrap();
        let a = assemble(&p, &inputs(Entry::Decompressed64)).unwrap();
        load_blob::check(&a.blob, p.memory.ranges()).unwrap();
        let img = load_image::parse(&a.blob).unwrap();
        // Same plan either way: the kernel's init_size area at the same place.
        assert_eq!(a.plan, a32.plan);
        assert_eq!(a.entry_kind, Entry::Decompressed64);
        assert!(!a32.entry_64 && !load_image::parse(&a32.blob).unwrap().entry_64());
        let acpi = a.plan.acpi.clone().unwrap();
        assert_eq!(acpi.end - acpi.start, ACPI_BLOCK_SIZE);
        // The 64-bit protocol, on the module's page tables: none in the image.
        assert!(a.entry_64 && img.entry_64());
        assert_eq!(&a.blob[48..56], &[0; 8], "page_table: reserved");
        assert_eq!(img.entry(), a.entry);
        assert_eq!(img.boot_params(), a.plan.zero_page);
        let segs: Vec<_> = img.segments().collect();
        // zero page, cmdline, ACPI tables, >= 1 PT_LOAD, initrd.
        assert!(segs.len() >= 5, "{} segments", segs.len());
        assert_eq!(segs[2].0, acpi.start);
        assert!(segs[2].0 + segs[2].1.len() as u64 <= acpi.start + 0xf000);
        // The status page is the block's last page.
        assert_eq!(img.status_page(), Some(acpi.start + 0xf000));
        // The entry is startup_64, inside a kernel segment: the first one,
        // at the load address.
        let ksegs: Vec<_> = segs[3..segs.len() - 1].to_vec();
        assert_eq!(ksegs[0].0, a.plan.kernel.start);
        assert!(a.entry >= a.plan.kernel.start && a.entry < a.plan.kernel.start + 0x1000);
        assert!(ksegs
            .iter()
            .any(|(d, b)| (*d..*d + b.len() as u64).contains(&a.entry)));
        for (d, b) in &ksegs {
            assert!(a.plan.kernel.start <= *d && d + b.len() as u64 <= a.plan.kernel.end);
        }
        assert_eq!(
            ksegs.iter().map(|(_, b)| b.len() as u64).sum::<u64>(),
            a.kernel_bytes
        );
        let (len, loads) = a.decompressed.unwrap();
        assert_eq!(loads, ksegs.len());
        assert!(len > a32.kernel_bytes);
        // The zero page is the 32-bit one but for KASLR_FLAG, cleared.
        let zp32 = load_image::parse(&a32.blob)
            .unwrap()
            .segments()
            .next()
            .unwrap()
            .1
            .to_vec();
        assert_eq!(segs[0].1[LOADFLAGS_OFFSET] & KASLR_FLAG, 0);
        let mut zp = segs[0].1.to_vec();
        zp[LOADFLAGS_OFFSET] = zp32[LOADFLAGS_OFFSET];
        assert_eq!(zp, zp32);
        // The last segment is still the initrd.
        assert_eq!(segs.last().unwrap().1.len(), 300_000);
        // The kernel segments are the ELF's PT_LOADs, bss as zeroes.
        let d = vmlinux::decompress(&BzImage::parse(&kernel_file).unwrap()).unwrap();
        let vm = vmlinux::load_segments(&d, a.plan.kernel.end - a.plan.kernel.start).unwrap();
        for (seg, (dest, bytes)) in vm.segments.iter().zip(&ksegs) {
            assert_eq!(*dest, a.plan.kernel.start + seg.offset);
            assert_eq!(bytes.len() as u64, seg.mem_len);
            assert_eq!(&bytes[..seg.data.len()], seg.data);
            assert!(bytes[seg.data.len()..].iter().all(|&b| b == 0));
        }
        // A decompressed kernel handed in gives the same blob.
        let again = assemble(
            &p,
            &Inputs {
                decompressed: Some(&d),
                ..inputs(Entry::Decompressed64)
            },
        )
        .unwrap();
        assert!(again.blob == a.blob);
    }

    /// e820 entries of a zero page: (addr, size, type).
    fn e820(zp: &[u8]) -> Vec<(u64, u64, u32)> {
        let n = usize::from(zp[0x1e8]);
        (0..n)
            .map(|i| {
                let e = &zp[0x2d0 + 20 * i..0x2d0 + 20 * (i + 1)];
                (
                    u64::from_le_bytes(e[0..8].try_into().unwrap()),
                    u64::from_le_bytes(e[8..16].try_into().unwrap()),
                    u32::from_le_bytes(e[16..20].try_into().unwrap()),
                )
            })
            .collect()
    }

    #[test]
    fn status_page_in_the_acpi_block() {
        let kernel = crate::bzimage::test_support::synth();
        let initrd = vec![0x42u8; 0x5000];
        let p = partition(64 << 20);
        let a = assemble_plain(&p, &kernel, &initrd);
        let acpi = a.plan.acpi.clone().unwrap();
        assert_eq!(acpi.end - acpi.start, ACPI_BLOCK_SIZE);
        let page = acpi.start + 0xf000;
        assert_eq!(a.status_page, page);
        assert_eq!(page + STATUS_PAGE_LEN, acpi.end, "the block's last page");
        // The load image carries it, version 5.
        let img = load_image::parse(&a.blob).unwrap();
        assert_eq!(&a.blob[8..12], &[5, 0, 0, 0]);
        assert_eq!(img.status_page(), Some(page));
        img.validate_within(p.memory.ranges()).unwrap();
        // No segment writes it: it starts all zero from the window scrub.
        for (dest, data) in img.segments() {
            let end = dest + data.len() as u64;
            assert!(end <= page || page + STATUS_PAGE_LEN <= dest, "{dest:#x}");
        }
        // The e820 map lists the whole block, status page included, as ACPI data.
        let zp = img.segments().next().unwrap().1;
        let entries = e820(zp);
        assert!(
            entries.contains(&(acpi.start, ACPI_BLOCK_SIZE, 3)),
            "{entries:x?}"
        );
        assert!(entries.iter().any(|&(addr, size, kind)| kind == 3
            && addr <= page
            && page + STATUS_PAGE_LEN <= addr + size));
        // The FADT's reset and sleep registers point into it.
        let block = img.segments().nth(2).unwrap().1;
        assert_eq!(&block[0xa0..0xa4], b"FACP");
        let fadt = &block[0xa0..0xa0 + 276];
        let u64_at = |o: usize| u64::from_le_bytes(fadt[o..o + 8].try_into().unwrap());
        assert_eq!(u64_at(120), page);
        assert_eq!(u64_at(248), page + 1);
        assert_eq!(u64_at(260), page + 1);
    }

    /// `kernel` and `initrd` for `p` as `mint-kexec load` assembles them by
    /// default: the 32-bit entry, a console region of `console` bytes and
    /// the command line that goes with it.
    fn assemble_with_region(
        p: &Partition,
        kernel: &[u8],
        initrd: &[u8],
        console: u64,
        uart: Option<u16>,
    ) -> Result<Assembled> {
        let layout = plan::console_layout(&p.memory, console)?;
        let line = cmdline::compose(
            "os2",
            &cmdline::Options {
                tsc_khz: 1000,
                no_uart: uart.is_none(),
                region: layout,
                pci: false,
            },
            None,
        )?;
        assemble(
            p,
            &Inputs {
                kernel,
                initrd: Some(initrd),
                cmdline: &line,
                mem_min: None,
                console_uart: uart,
                console_size: Some(console),
                entry: Entry::BzImage,
                decompressed: None,
            },
        )
    }

    #[test]
    fn console_region_at_the_top_of_the_window() {
        let kernel = crate::bzimage::test_support::synth();
        let initrd = vec![0x42u8; 0x5000];
        let p = partition(64 << 20);
        let a = assemble_with_region(&p, &kernel, &initrd, 1 << 20, Some(0x2f8)).unwrap();
        let top = 0x2000_0000 + (64 << 20);
        let c = a.console.unwrap();
        assert_eq!(c.region(), top - 0x10_0000..top);
        assert_eq!(a.plan.console, Some(c));
        // Kernel, initrd (as high as possible) and ACPI block below it.
        let initrd_range = a.plan.initrd.clone().unwrap();
        assert_eq!(initrd_range.end, top - 0x10_0000);
        assert!(a.plan.kernel.end <= initrd_range.start);
        // The load image carries the region and no segment touches it.
        let img = load_image::parse(&a.blob).unwrap();
        assert_eq!(img.console(), Some(c));
        img.validate_within(p.memory.ranges()).unwrap();
        for (dest, data) in img.segments() {
            assert!(dest + data.len() as u64 <= top - 0x10_0000, "{dest:#x}");
        }
        // The command line the partition gets holds its parameters.
        let segs: Vec<_> = img.segments().collect();
        let line = std::str::from_utf8(segs[1].1).unwrap();
        assert!(line.contains(&format!(
            " ramoops.mem_address={:#x} ramoops.mem_size=0x100000 ",
            top - 0x10_0000
        )));
        // e820, read from the zero page's raw bytes: low RAM, the window's
        // RAM split around the ACPI block and ending at the region, which
        // is reserved (type 2).
        let acpi = a.plan.acpi.clone().unwrap();
        assert_eq!(
            e820(segs[0].1),
            [
                (0x11000, 0xf000, 1),
                (0x2000_0000, acpi.start - 0x2000_0000, 1),
                (acpi.start, ACPI_BLOCK_SIZE, 3),
                (acpi.end, top - 0x10_0000 - acpi.end, 1),
                (top - 0x10_0000, 0x10_0000, 2),
            ]
        );
    }

    #[test]
    fn real_image_with_the_default_console_region() {
        let Some(kernel) = real_image() else { return };
        let p = partition(256 << 20);
        let a = assemble_with_region(&p, &kernel, &[0x42; 300_000], 1 << 20, Some(0x2f8)).unwrap();
        let img = load_image::parse(&a.blob).unwrap();
        img.validate_within(p.memory.ranges()).unwrap();
        let c = img.console().unwrap();
        assert_eq!(c.region(), 0x2ff0_0000..0x3000_0000);
        let zp = img.segments().next().unwrap().1;
        let map = e820(zp);
        assert_eq!(map.last(), Some(&(0x2ff0_0000, 0x10_0000, 2)), "{map:x?}");
        assert_eq!(map.iter().filter(|e| e.2 == 2).count(), 1);
    }

    #[test]
    fn console_region_needs_its_parameters() {
        let kernel = crate::bzimage::test_support::synth();
        let p = partition(64 << 20);
        let err = assemble(
            &p,
            &Inputs {
                kernel: &kernel,
                initrd: None,
                cmdline: "console=ttyS1",
                mem_min: None,
                console_uart: Some(0x2f8),
                console_size: Some(1 << 20),
                entry: Entry::BzImage,
                decompressed: None,
            },
        )
        .err()
        .expect("must fail");
        assert!(
            format!("{err:#}").contains("lacks the console region's parameters"),
            "{err:#}"
        );
    }

    #[test]
    fn window_too_small_with_the_console_region() {
        // Synthetic kernel: 1 MiB init_size at +2 MiB; initrd 0x5000; the
        // region takes 1 MiB more. 4 MiB + 0x5000 fits, a page less does not.
        let kernel = crate::bzimage::test_support::synth();
        let initrd = vec![0u8; 0x5000];
        let fits = partition((4 << 20) + 0x5000);
        assemble_with_region(&fits, &kernel, &initrd, 1 << 20, None).unwrap();
        let small = partition((4 << 20) + 0x4000);
        let err = assemble_with_region(&small, &kernel, &initrd, 1 << 20, None)
            .err()
            .expect("must fail");
        let msg = format!("{err:#}");
        assert!(msg.contains("too small"), "{msg}");
        assert!(msg.contains("console region of 0x100000 bytes"), "{msg}");
        assert!(msg.contains("--console-size"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        // Shrinking the region to 64 KiB makes it fit.
        assemble_with_region(&small, &kernel, &initrd, 64 << 10, None).unwrap();
    }

    #[test]
    fn no_uart_means_no_uart_in_the_dsdt() {
        let kernel = crate::bzimage::test_support::synth();
        let p = partition(64 << 20);
        let a = assemble_with_region(&p, &kernel, &[1], 1 << 20, None).unwrap();
        let img = load_image::parse(&a.blob).unwrap();
        let acpi = img.segments().nth(2).unwrap().1;
        assert_eq!(&acpi[0x1c0..0x1c4], b"DSDT");
        assert_eq!(
            u32::from_le_bytes(acpi[0x1c4..0x1c8].try_into().unwrap()),
            49,
            "\\_S5 only"
        );
        let line = std::str::from_utf8(img.segments().nth(1).unwrap().1).unwrap();
        assert!(line.starts_with("8250.nr_uarts=0 "), "{line}");
        assert!(!line.contains("console="), "{line}");
    }

    #[test]
    fn window_too_small_for_the_initrd_is_refused() {
        let Some(kernel) = real_image() else { return };
        let initrd = vec![0u8; 64 << 20];
        let err = assemble(
            &partition(32 << 20),
            &Inputs {
                kernel: &kernel,
                initrd: Some(&initrd),
                cmdline: "x",
                mem_min: None,
                console_uart: None,
                console_size: None,
                entry: Entry::default(),
                decompressed: None,
            },
        )
        .err()
        .expect("must fail");
        assert!(format!("{err:#}").contains("too small"), "{err:#}");
    }

    #[test]
    fn not_a_bzimage_is_refused() {
        let junk = vec![0u8; 8192];
        let err = assemble(
            &partition(256 << 20),
            &Inputs {
                kernel: &junk,
                initrd: None,
                cmdline: "x",
                mem_min: None,
                console_uart: None,
                console_size: None,
                entry: Entry::default(),
                decompressed: None,
            },
        )
        .err()
        .expect("must fail");
        assert!(format!("{err:#}").contains("kernel image"), "{err:#}");
    }

    /// A partition with one CPU in `ranges` (`(start, size)` pairs).
    fn partition_in(ranges: &[(u64, u64)]) -> Partition {
        let r: Vec<MemRange> = ranges
            .iter()
            .map(|&(s, n)| MemRange::new(s, n).unwrap())
            .collect();
        Partition {
            memory: RangeList::from_ranges(&r).unwrap(),
            ..partition(4096)
        }
    }

    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }

    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }

    #[test]
    fn two_ranges_in_the_e820_and_the_initrd_apart() {
        // Synthetic kernel: 1 MiB init_size at +2 MiB of 4M@0x40000000,
        // leaving 1 MiB there; the 1.5 MiB initrd goes to 2M@0x30000000.
        let kernel = crate::bzimage::test_support::synth();
        let initrd = vec![0x42u8; 0x18_0000];
        let p = partition_in(&[(0x4000_0000, 4 << 20), (0x3000_0000, 2 << 20)]);
        let a = assemble_plain(&p, &kernel, &initrd);
        assert_eq!(a.plan.kernel, 0x4020_0000..0x4030_0000);
        assert_eq!(a.plan.initrd, Some(0x3008_0000..0x3020_0000));
        assert!(!a.entry_64);
        assert_eq!(a.entry, 0x4020_0000, "code32_start");
        let img = load_image::parse(&a.blob).unwrap();
        img.validate_within(p.memory.ranges()).unwrap();
        assert!(!img.entry_64());
        // Not inside the main range alone: the initrd, the last segment.
        assert_eq!(
            img.validate_within(&p.memory.ranges()[1..]),
            Err(load_image::LoadImageError::OutsideMemory { index: 4 })
        );
        let segs: Vec<_> = img.segments().collect();
        assert_eq!(segs[4], (0x3008_0000, &initrd[..]));
        // The zero page, decoded from its bytes: the initrd's pointer, the
        // e820 with both ranges as RAM, the ACPI block cut out of the main one.
        let zp = segs[0].1;
        assert_eq!(u32_at(zp, 0x218), 0x3008_0000, "ramdisk_image");
        assert_eq!(u32_at(zp, 0x0c0), 0, "ext_ramdisk_image");
        assert_eq!(u32_at(zp, 0x21c), 0x18_0000, "ramdisk_size");
        assert_eq!(u32_at(zp, 0x214), 0x4020_0000, "code32_start");
        assert_eq!(
            e820(zp),
            [
                (0x11000, 0xf000, 1),
                (0x3000_0000, 0x20_0000, 1),
                (0x4000_0000, 0x2000, 1),
                (0x4000_2000, 0x1_0000, 3),
                (0x4001_2000, 0x3e_e000, 1),
            ]
        );
    }

    #[test]
    fn above_4g_through_the_bzimage_64_bit_entry() {
        // A kernel that may be loaded above 4 GiB, memory carved above it:
        // 2M@0x180000000 and 4M@0x240000000, a 64 KiB console region.
        let kernel = crate::bzimage::test_support::Synth {
            xloadflags: 0x3,
            ..Default::default()
        }
        .build();
        let initrd = vec![0x42u8; 0x18_0000];
        let p = partition_in(&[(0x1_8000_0000, 2 << 20), (0x2_4000_0000, 4 << 20)]);
        let a = assemble_with_region(&p, &kernel, &initrd, 64 << 10, Some(0x2f8)).unwrap();
        // The console region at the top of the highest range, the kernel
        // below it, the initrd in the other range.
        let region = 0x2_403f_0000..0x2_4040_0000;
        assert_eq!(a.console.unwrap().region(), region);
        assert_eq!(a.plan.kernel, 0x2_4020_0000..0x2_4030_0000);
        assert_eq!(a.plan.initrd, Some(0x1_8008_0000..0x1_8020_0000));
        // The bzImage's own 64-bit entry: load address + 0x200.
        assert!(a.entry_64);
        assert_eq!(a.entry, 0x2_4020_0200);
        assert!(a.entry_description().starts_with("64-bit"));
        let img = load_image::parse(&a.blob).unwrap();
        img.validate_within(p.memory.ranges()).unwrap();
        assert_eq!(u32_at(&a.blob, 40), 1, "flags: FLAG_ENTRY_64");
        assert_eq!(u64_at(&a.blob, 48), 0, "page_table: reserved");
        assert_eq!(u64_at(&a.blob, 16), 0x2_4020_0200, "entry");
        assert_eq!(u64_at(&a.blob, 24), 0x2_4000_0000, "boot_params");
        let segs: Vec<_> = img.segments().collect();
        // The payload segment holds the 64-bit entry.
        assert_eq!(segs[3].0, 0x2_4020_0000);
        assert!(segs[3].1.len() > 0x200);
        // The zero page: the high halves in the ext_ fields.
        let zp = segs[0].1;
        assert_eq!(u32_at(zp, 0x214), 0, "code32_start: unused");
        assert_eq!(u32_at(zp, 0x228), 0x4000_1000, "cmd_line_ptr");
        assert_eq!(u32_at(zp, 0x0c8), 2, "ext_cmd_line_ptr");
        assert_eq!(u32_at(zp, 0x218), 0x8008_0000, "ramdisk_image");
        assert_eq!(u32_at(zp, 0x0c0), 1, "ext_ramdisk_image");
        assert_eq!(u32_at(zp, 0x21c), 0x18_0000, "ramdisk_size");
        assert_eq!(u32_at(zp, 0x0c4), 0, "ext_ramdisk_size");
        assert_eq!(u64_at(zp, 0x070), 0x2_4000_2000, "acpi_rsdp_addr");
        assert_eq!(a.rsdp, 0x2_4000_2000);
        // The command line is where the zero page says, with the region's
        // parameters.
        assert_eq!(segs[1].0, 0x2_4000_1000);
        let line = std::str::from_utf8(segs[1].1).unwrap();
        assert!(line.contains(" ramoops.mem_address=0x2403f0000 "), "{line}");
        // The ACPI tables above 4 GiB: the RSDP has no RSDT, its XSDT lies
        // in the block.
        let block = segs[2].1;
        assert_eq!(&block[0..8], b"RSD PTR ");
        assert_eq!(u32_at(block, 16), 0, "RsdtAddress");
        let xsdt = u64_at(block, 24);
        assert!((0x2_4000_2000..0x2_4000_a000).contains(&xsdt), "{xsdt:#x}");
        // e820: low RAM, the initrd's range, the main range around the ACPI
        // block, ending at the reserved console region.
        assert_eq!(
            e820(zp),
            [
                (0x11000, 0xf000, 1),
                (0x1_8000_0000, 0x20_0000, 1),
                (0x2_4000_0000, 0x2000, 1),
                (0x2_4000_2000, 0x1_0000, 3),
                (0x2_4001_2000, 0x3d_e000, 1),
                (0x2_403f_0000, 0x1_0000, 2),
            ]
        );
    }

    #[test]
    fn above_4g_refused_without_the_flag() {
        // The synthetic kernel lacks XLF_CAN_BE_LOADED_ABOVE_4G.
        let kernel = crate::bzimage::test_support::synth();
        let p = partition_in(&[(0x1_4000_0000, 256 << 20)]);
        let err = assemble_with_region(&p, &kernel, &[1], 1 << 20, None)
            .err()
            .expect("must fail");
        let msg = format!("{err:#}");
        assert!(
            msg.contains("XLF_CAN_BE_LOADED_ABOVE_4G") && msg.contains("4 GiB"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");
        // With memory below 4 GiB as well, that is used.
        let p = partition_in(&[(0x1_4000_0000, 256 << 20), (0x2000_0000, 64 << 20)]);
        let a = assemble_with_region(&p, &kernel, &[1], 1 << 20, None).unwrap();
        assert_eq!(a.plan.main, MemRange::new(0x2000_0000, 64 << 20).unwrap());
        assert!(!a.entry_64);
        // The console region stays at the top of the highest range.
        assert_eq!(a.console.unwrap().region(), 0x1_4ff0_0000..0x1_5000_0000);
    }

    #[test]
    fn decoy_avoids_partition_ids() {
        assert_eq!(decoy_id(&[1]), 0xfe);
        assert_eq!(decoy_id(&[0xfe, 2]), 0xfd);
    }
}
