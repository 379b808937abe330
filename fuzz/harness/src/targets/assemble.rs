//! `mint-kexec`'s whole load path on a fuzzed kernel image: the plan of the
//! partition's memory ranges, ACPI tables, zero page, (for `--decompress`)
//! the ELF segments, and the load image, i.e. every consumer of the
//! untrusted bzImage header fields.

use std::ops::Range;

use mint_kexec::assemble::{self, Entry, Inputs, Partition};
use mint_kexec::{cmdline, plan};
use mint_logic::load_image::{self, STATUS_PAGE_LEN};
use mint_logic::memlist::{RangeList, MAX_RANGES};
use mint_logic::memrange::MemRange;

use crate::input::{Reader, Writer};

/// Largest range the target asks for: the 64-bit entry loads the bss as
/// zeroes, up to `init_size` bytes, which the plan bounds by the range.
const MAX_WINDOW: u64 = 256 << 20;
const MAX_PART: usize = 1 << 20;

/// Flags of the input's first byte.
pub const ENTRY_64: u8 = 1;
pub const INITRD: u8 = 2;
pub const MEM_MIN: u8 = 4;
pub const CONSOLE: u8 = 8;
pub const UART: u8 = 16;
/// With [`ENTRY_64`]: the decompressed kernel is in the input, not
/// decompressed from the image.
pub const DECOMPRESSED: u8 = 32;
/// Append the console region's `ramoops.*` parameters to the command line.
pub const RAMOOPS_PARAMS: u8 = 64;

/// Everything the target reads, for seeds.
pub struct Spec<'a> {
    pub flags: u8,
    /// 1 to [`MAX_RANGES`] ranges.
    pub memory: &'a [MemRange],
    pub mem_min: u64,
    pub apic_ids: &'a [u32],
    pub console_size: u32,
    pub cmdline: &'a [u8],
    pub initrd: &'a [u8],
    pub decompressed: &'a [u8],
    pub kernel: &'a [u8],
}

/// The input the target reads as `spec`.
pub fn input(spec: &Spec<'_>) -> Vec<u8> {
    let mut w = Writer::new()
        .u8(spec.flags)
        .u8(spec.memory.len().saturating_sub(1) as u8);
    for r in spec.memory {
        w = w.u64(r.start).u32((r.size / 4096).saturating_sub(1) as u32);
    }
    w = w
        .u64(spec.mem_min)
        .u8(spec.apic_ids.len().saturating_sub(1) as u8);
    for id in spec.apic_ids {
        w = w.u32(*id);
    }
    w.u16(0x608)
        .u16(0x2f8)
        .u32(spec.console_size)
        .bytes(spec.cmdline)
        .bytes(spec.initrd)
        .bytes(spec.decompressed)
        .rest(spec.kernel)
}

fn inside(r: &Range<u64>, w: &Range<u64>) -> bool {
    r.start >= w.start && r.end <= w.end && r.start <= r.end
}

/// `assemble::assemble` never panics; what it builds passes the module's
/// parser and validator for the partition's ranges, and its plan holds:
/// every piece inside one range (the zero page, command line, ACPI block
/// and kernel inside the main one), none overlapping, the entry inside the
/// kernel area, the 32-bit entry only with the kernel below 4 GiB, the
/// status page a page of the ACPI block, the command line and initrd
/// segments exactly the inputs, the console region the plan's.
pub fn assemble(data: &[u8]) {
    let _ = checked(data);
}

/// [`assemble`], returning why `mint-kexec` refused the input, if it did.
pub fn checked(data: &[u8]) -> Result<(), String> {
    let mut r = Reader::new(data);
    let flags = r.u8();
    let count = usize::from(r.u8()) % MAX_RANGES + 1;
    let ranges: Vec<MemRange> = (0..count)
        .map(|_| {
            let start = r.u64() & !0xfff;
            let size = ((u64::from(r.u32()) + 1) * 4096).min(MAX_WINDOW);
            MemRange { start, size }
        })
        .collect();
    let mem_min = r.u64();
    let apic_ids: Vec<u32> = (0..=r.u8() % 4).map(|_| r.u32()).collect();
    let pm_timer_port = r.u16();
    let uart = r.u16();
    let console_size = u64::from(r.u32());
    let mut line = String::from_utf8_lossy(r.bytes(4096)).into_owned();
    let initrd = r.bytes(MAX_PART);
    let decompressed = r.bytes(MAX_PART);
    let kernel = r.rest();
    let memory = RangeList::from_ranges(&ranges).map_err(|e| e.to_string())?;
    let console = (flags & CONSOLE != 0).then_some(console_size);
    if flags & RAMOOPS_PARAMS != 0 {
        if let Ok(Some(l)) = plan::console_layout(&memory, console_size) {
            line.push(' ');
            line.push_str(&cmdline::ramoops_params(&l).join(" "));
        }
    }
    let p = Partition {
        memory,
        low_ram: 0x11000..0x20000,
        apic_ids,
        pm_timer_port,
        pci: Vec::new(),
    };
    let entry = if flags & ENTRY_64 != 0 {
        Entry::Decompressed64
    } else {
        Entry::BzImage
    };
    let inputs = Inputs {
        kernel,
        initrd: (flags & INITRD != 0).then_some(initrd),
        cmdline: &line,
        mem_min: (flags & MEM_MIN != 0).then_some(mem_min),
        console_uart: (flags & UART != 0).then_some(uart),
        console_size: console,
        entry,
        decompressed: (flags & DECOMPRESSED != 0).then_some(decompressed),
    };
    let a = assemble::assemble(&p, &inputs).map_err(|e| format!("{e:#}"))?;

    let img = load_image::parse(&a.blob).expect("assembled image parses");
    img.validate_within(memory.ranges())
        .expect("assembled image validates");
    assert_eq!(img.entry(), a.entry);
    assert_eq!(img.status_page(), Some(a.status_page));
    assert_eq!(img.entry_64(), a.entry_64);
    assert_eq!(img.console(), a.console);
    assert_eq!(a.plan.console, a.console);

    let pl = &a.plan;
    assert_eq!(pl.memory, memory);
    assert!(memory.ranges().contains(&pl.main));
    // The 32-bit entry reaches 4 GiB; the bzImage's 64-bit entry is
    // load + 0x200.
    match entry {
        Entry::BzImage if a.entry_64 => {
            assert!(pl.kernel.end > 1 << 32);
            assert_eq!(a.entry, pl.kernel.start + 0x200);
        }
        Entry::BzImage => {
            assert!(pl.kernel.end <= 1 << 32);
            assert_eq!(a.entry, pl.kernel.start);
        }
        Entry::Decompressed64 => assert!(a.entry_64),
    }
    let acpi = pl.acpi.clone().expect("an ACPI block");
    let mut pieces = vec![
        ("zero page", pl.zero_page..pl.zero_page + 4096),
        ("command line", pl.cmdline.clone()),
        ("ACPI block", acpi.clone()),
        ("kernel", pl.kernel.clone()),
    ];
    pieces.extend(pl.initrd.clone().map(|r| ("initrd", r)));
    pieces.extend(pl.console.map(|c| ("console region", c.region())));
    let main = pl.main.start..pl.main.end();
    for (name, r) in &pieces[..4] {
        assert!(
            inside(r, &main),
            "{name} {r:x?} outside the main range {main:x?}"
        );
    }
    for (name, r) in &pieces {
        assert!(
            memory
                .ranges()
                .iter()
                .any(|m| inside(r, &(m.start..m.end()))),
            "{name} {r:x?} inside no range of {memory}"
        );
    }
    for (i, (n1, r1)) in pieces.iter().enumerate() {
        for (n2, r2) in &pieces[i + 1..] {
            assert!(
                r1.end <= r2.start || r2.end <= r1.start,
                "{n1} {r1:x?} overlaps {n2} {r2:x?}"
            );
        }
    }
    assert!(pl.payload.start == pl.kernel.start && pl.payload.end <= pl.kernel.end);
    assert!(
        pl.kernel.contains(&a.entry),
        "entry {:#x} outside the kernel {:x?}",
        a.entry,
        pl.kernel
    );
    assert!(inside(
        &(a.status_page..a.status_page + STATUS_PAGE_LEN),
        &acpi
    ));

    let segs: Vec<(u64, &[u8])> = img.segments().collect();
    let find = |at: u64| segs.iter().find(|(d, _)| *d == at).map(|(_, b)| *b);
    let mut nul_line = line.into_bytes();
    nul_line.push(0);
    assert_eq!(
        find(pl.cmdline.start),
        Some(&nul_line[..]),
        "command line segment"
    );
    if let Some(r) = &pl.initrd {
        assert_eq!(find(r.start), Some(initrd), "initrd segment");
    }
    for (d, b) in &segs {
        let seg = *d..*d + b.len() as u64;
        assert!(
            pieces.iter().any(|(_, r)| inside(&seg, r)),
            "segment {seg:x?} is in no piece of the plan"
        );
    }
    Ok(())
}
