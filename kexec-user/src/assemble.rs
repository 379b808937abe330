//! Assembling everything a partition boots from into the module's load
//! image: plan the window, build the ACPI tables, the e820 map and the zero
//! page, and list the segments. Pure: the CLI gathers the inputs from sysfs
//! and files, and writes the result.

use std::ops::Range;

use anyhow::{bail, Context, Result};
use mint_logic::memrange::MemRange;

use crate::acpi::{self, ACPI_BLOCK_SIZE};
use crate::bzimage::BzImage;
use crate::load_blob;
use crate::plan::{self, LoadPlan, PlanRequest};
use crate::zeropage::{build_zero_page, E820Table, E820Type, ZeroPageConfig};

/// What the partition is, as the module reports it.
#[derive(Debug, Clone)]
pub struct Partition {
    /// The memory window.
    pub window: MemRange,
    /// The partition's private RAM below 1 MiB, `[start, end)`.
    pub low_ram: Range<u64>,
    /// APIC IDs of its CPUs, boot CPU first.
    pub apic_ids: Vec<u32>,
    /// I/O port of the platform's ACPI PM timer.
    pub pm_timer_port: u16,
}

/// Everything that goes into the partition.
pub struct Inputs<'a> {
    pub kernel: &'a [u8],
    pub initrd: Option<&'a [u8]>,
    /// The full command line (without NUL).
    pub cmdline: &'a str,
    /// kexec's `--mem-min`.
    pub mem_min: Option<u64>,
    /// I/O base of the partition's console UART, described in its DSDT
    /// (see [`crate::cmdline::console_port`]); `None` for none.
    pub console_uart: Option<u16>,
}

/// The load image and where things went.
pub struct Assembled {
    pub blob: Vec<u8>,
    pub plan: LoadPlan,
    pub rsdp: u64,
}

/// An APIC ID for the MADT's leading decoy entry that is none of the
/// partition's (see `acpi.rs`).
fn decoy_id(apic_ids: &[u32]) -> u32 {
    (0..=0xfe).rev().find(|id| !apic_ids.contains(id)).unwrap_or(0xfe)
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
            window_start: p.window.start,
            window_size: p.window.size,
            mem_min: inputs.mem_min,
            cmdline_len: cmdline.len() as u64,
            initrd_len: initrd.len() as u64,
            acpi_len: ACPI_BLOCK_SIZE,
        },
    )?;
    let acpi_range = plan.acpi.clone().context("the plan has no ACPI block")?;
    let tables = acpi::build(
        acpi_range.start,
        &p.apic_ids,
        p.pm_timer_port,
        decoy_id(&p.apic_ids),
        inputs.console_uart,
    )?;

    // The partition sees its private low RAM, its window as RAM, and the
    // ACPI block inside the window as ACPI data; nothing else exists for it.
    let e820 = E820Table::build(&[
        (p.low_ram.clone(), E820Type::Ram),
        (p.window.start..p.window.end(), E820Type::Ram),
        (acpi_range.clone(), E820Type::Acpi),
    ])?;
    let mut cfg = ZeroPageConfig::from_plan(&plan);
    cfg.acpi_rsdp_addr = Some(tables.rsdp_addr);
    let zero_page = build_zero_page(&image, &cfg, &e820)?;

    let mut segments: Vec<(u64, &[u8])> = vec![
        (plan.zero_page, &zero_page[..]),
        (plan.cmdline.start, &cmdline),
        (acpi_range.start, &tables.bytes),
        (plan.payload.start, image.payload()),
    ];
    if let Some(r) = &plan.initrd {
        segments.push((r.start, initrd));
    }
    let blob = load_blob::encode(plan.entry, plan.zero_page, None, &segments);
    load_blob::check(&blob, p.window).context("load image failed the module's checks")?;
    Ok(Assembled { blob, plan, rsdp: tables.rsdp_addr })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mint_logic::load_image;

    fn real_image() -> Option<Vec<u8>> {
        let path = std::env::var("MINT_TEST_BZIMAGE").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../out/bzImage").to_string()
        });
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
            window: MemRange::new(0x2000_0000, size).unwrap(),
            low_ram: 0x11000..0x20000,
            apic_ids: vec![1],
            pm_timer_port: 0x608,
        }
    }

    #[test]
    fn real_image_assembles_into_a_valid_load_image() {
        let Some(kernel) = real_image() else { return };
        let initrd = vec![0x42u8; 300_000];
        let p = partition(256 << 20);
        let a = assemble(
            &p,
            &Inputs {
                kernel: &kernel,
                initrd: Some(&initrd),
                cmdline: "console=ttyS1",
                mem_min: None,
                console_uart: Some(0x2f8),
            },
        )
        .unwrap();
        let img = load_image::parse(&a.blob).unwrap();
        img.validate_within(p.window).unwrap();
        assert_eq!(img.segment_count(), 5);
        assert_eq!(img.entry(), a.plan.entry);
        let segs: Vec<_> = img.segments().collect();
        // The zero page points at the command line, the RSDP and the initrd.
        let zp = segs[0].1;
        let u32_at = |o: usize| u32::from_le_bytes(zp[o..o + 4].try_into().unwrap()) as u64;
        assert_eq!(u32_at(0x228), a.plan.cmdline.start);
        assert_eq!(u64::from_le_bytes(zp[0x70..0x78].try_into().unwrap()), a.rsdp);
        assert_eq!(u32_at(0x218), a.plan.initrd.as_ref().unwrap().start);
        assert_eq!(u32_at(0x21c), 300_000);
        assert_eq!(segs[1].1, b"console=ttyS1\0");
        // The ACPI block, with the UART in the DSDT (header + 49 bytes of AML).
        let acpi = segs[2].1;
        assert_eq!(segs[2].0, a.rsdp);
        assert_eq!(&acpi[0x1c0..0x1c4], b"DSDT");
        assert_eq!(u32::from_le_bytes(acpi[0x1c4..0x1c8].try_into().unwrap()), 85);
        assert_eq!(&acpi[0x220..0x224], b"APIC");
        assert_eq!(segs[4].1.len(), 300_000);
        // e820: low RAM, then the window split around the ACPI block.
        assert_eq!(zp[0x1e8], 4);
    }

    #[test]
    fn window_too_small_for_the_initrd_is_refused() {
        let Some(kernel) = real_image() else { return };
        let initrd = vec![0u8; 64 << 20];
        let err = assemble(
            &partition(32 << 20),
            &Inputs { kernel: &kernel, initrd: Some(&initrd), cmdline: "x", mem_min: None, console_uart: None },
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
            &Inputs { kernel: &junk, initrd: None, cmdline: "x", mem_min: None, console_uart: None },
        )
        .err()
        .expect("must fail");
        assert!(format!("{err:#}").contains("kernel image"), "{err:#}");
    }

    #[test]
    fn decoy_avoids_partition_ids() {
        assert_eq!(decoy_id(&[1]), 0xfe);
        assert_eq!(decoy_id(&[0xfe, 2]), 0xfd);
    }
}
