//! Seeds: small hand-made files checked in under `fuzz/seeds/<target>/`,
//! recorded failures under `fuzz/regressions/<target>/`, and seeds
//! generated here from the real inputs ([`Real`]) and from synthetic ones.
//!
//! A generated seed is either small enough for libFuzzer's corpus
//! (`corpus: true`, at most the target's `max_len`), typically a real input
//! cut down to the bytes the parser reads, or a whole real input that only
//! the regression run executes (`corpus: false`).

use std::path::Path;

use mint_kexec::bzimage::BzImage;
use mint_kexec::load_blob;
use mint_logic::fadt;
use mint_logic::load_image;
use mint_logic::memrange::MemRange;

use crate::input::Writer;
use crate::real::{self, Real};
use crate::targets::{
    assemble as assemble_t, initrd as initrd_t, kernel, load_image as load_image_t, pci as pci_t,
    ramoops as ramoops_t,
};
use crate::Target;

/// One seed input.
#[derive(Clone, Debug)]
pub struct Seed {
    pub name: String,
    pub data: Vec<u8>,
    /// Small enough for the libFuzzer corpus; else regression run only.
    pub corpus: bool,
}

fn seed(name: impl Into<String>, data: Vec<u8>) -> Seed {
    Seed {
        name: name.into(),
        data,
        corpus: true,
    }
}

fn whole(name: impl Into<String>, data: Vec<u8>) -> Seed {
    Seed {
        name: name.into(),
        data,
        corpus: false,
    }
}

/// The files of `dir` (sorted by name), if it exists.
fn files(dir: &Path) -> Vec<Seed> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<Seed> = rd
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            let data = std::fs::read(e.path()).expect("seed file is readable");
            seed(e.file_name().to_string_lossy().into_owned(), data)
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// `fuzz/seeds/<target>/`: hand-made seeds.
pub fn checked_in(t: &Target) -> Vec<Seed> {
    files(&crate::workspace().join("fuzz/seeds").join(t.name))
}

/// `fuzz/regressions/<target>/`: inputs that once failed.
pub fn regressions(t: &Target) -> Vec<Seed> {
    files(&crate::workspace().join("fuzz/regressions").join(t.name))
}

/// Every seed of `t`: checked-in, recorded failures, generated.
pub fn all(t: &Target, real: &Real) -> Vec<Seed> {
    let mut v = checked_in(t);
    v.extend(regressions(t).into_iter().map(|mut s| {
        s.name = format!("regression {}", s.name);
        s
    }));
    v.extend((t.seeds)(real));
    v
}

/// For targets whose checked-in seeds say it all.
pub fn none(_: &Real) -> Vec<Seed> {
    Vec::new()
}

/// Range lists for `identity` (each range as read, shape 0): none, the os2
/// window, a window above 4 GiB, ranges straddling GiB and 512 GiB
/// boundaries, one ending at `MAX_PHYS`, and the refusals (past
/// `MAX_PHYS`, wrapping, empty, one too many); tables at 1 MiB, in order
/// and shuffled.
pub fn identity(_: &Real) -> Vec<Seed> {
    use mint_logic::identity::MAX_PHYS;
    use mint_logic::memlist::MAX_RANGES;
    const G: u64 = 1 << 30;
    let list = |ranges: &[(u64, u64)], mix: u16| {
        let mut w = Writer::new().u8(ranges.len() as u8);
        for &(start, size) in ranges {
            w = w.u8(0).u64(start).u64(size);
        }
        w.u32(0x10_0000)
            .u16(mix)
            .u64(0x1234_5678)
            .u64(5 * G + 0x20_0000)
            .finish()
    };
    let eight: Vec<(u64, u64)> = (0..MAX_RANGES as u64)
        .map(|i| ((8 + 2 * i) * G, G))
        .collect();
    let nine: Vec<(u64, u64)> = (0..=MAX_RANGES as u64)
        .map(|i| ((8 + 2 * i) * G, G))
        .collect();
    vec![
        seed("low-4g", list(&[], 0)),
        seed("os2-window", list(&[(0x2000_0000, 256 << 20)], 0)),
        seed("above-4g", list(&[(0x1_4000_0000, 2 * G)], 3)),
        seed(
            "straddle",
            list(
                &[
                    (9 * G + 0x20_0000, 0x40_0000),
                    (10 * G - 0x1000, 0x2000),
                    (4 * G, 0x1000),
                ],
                5,
            ),
        ),
        seed("slot-boundary", list(&[(511 * G, 2 * G), (1 << 40, G)], 7)),
        seed("top", list(&[(MAX_PHYS - G, G)], 0)),
        seed("past-top", list(&[(MAX_PHYS - G, 2 * G)], 0)),
        seed("wraps", list(&[(u64::MAX - 0xfff, 0x2000)], 0)),
        seed("empty", list(&[(G, 0)], 0)),
        seed("eight", list(&eight, 9)),
        seed("nine", list(&nine, 0)),
        // One range of each shape (see `targets::identity`), then six.
        seed(
            "shapes",
            Writer::new()
                .u8(5)
                .u8(1)
                .u64(5 * G + 0x1234_5000)
                .u64(G + 0x20_0000)
                .u8(2)
                .u64(0x0010_0000_0000_0007)
                .u64(G)
                .u8(0xc2)
                .u64(0x0040_0000_0000_0002)
                .u64(2 * G)
                .u8(3)
                .u64(0x0000_1234_5678_9000)
                .u64((36 << 58) | 0x3_4567_8000)
                .u8(4)
                .u64(0x4000_0000)
                .u64(0x2000_0000)
                .u32(0x7f00_0000)
                .u16(0x155)
                .rest(&[0x11; 48]),
        ),
        seed(
            "six",
            list(
                &[
                    (0x2000_0000, 256 << 20),
                    (0x1_4000_0000, 2 * G),
                    (0x2_0000_0000, 0x20_0000),
                    (0x2_4000_0000, 0x20_0000),
                    (64 * G - 0x1000, 0x2000),
                    (3 * G, 2 * G),
                ],
                1,
            ),
        ),
    ]
}

/// Structured seeds for `memlist`'s `from_ranges` half: a probe and another
/// range, then lists of ranges (shape 0: cut to aligned, likely valid
/// ranges; 1: as read), valid and not.
pub fn memlist(_: &Real) -> Vec<Seed> {
    const G: u64 = 1 << 30;
    let list = |probe: (u64, u64), other: (u64, u64), ranges: &[(u8, u64, u64)]| {
        let mut w = Writer::new()
            .u64(probe.0)
            .u64(probe.1)
            .u64(other.0)
            .u64(other.1)
            .u8(ranges.len() as u8);
        for &(shape, start, size) in ranges {
            w = w.u8(shape).u64(start).u64(size);
        }
        w.rest(&[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9])
    };
    vec![
        seed(
            "ranges-os2",
            list(
                (0x2000_0000, 0x1000),
                (0x1_0000_0000, G),
                &[(0, 0x1_8000_0000, 512 << 20), (0, 0x2000_0000, 256 << 20)],
            ),
        ),
        seed(
            "ranges-eight",
            list(
                (0x3_0000_0000, 2 * G),
                (0, 0x1000),
                &(0..8u64)
                    .map(|i| (0, (8 - i) * 4 * G, G + i * 0x1000))
                    .collect::<Vec<_>>(),
            ),
        ),
        seed(
            "ranges-nine",
            list(
                (0, 0),
                (G, G),
                &(0..9u64).map(|i| (0, i * 2 * G, G)).collect::<Vec<_>>(),
            ),
        ),
        seed(
            "ranges-overlap",
            list(
                (0x1000, 0x1000),
                (0, u64::MAX),
                &[(0, 4 * G, 2 * G), (0, 5 * G, G), (1, 0xfff, 0x1000)],
            ),
        ),
        seed(
            "ranges-top",
            list(
                (u64::MAX - 0xfff, 0x1000),
                (u64::MAX - 0x1fff, 0x1000),
                &[(1, u64::MAX - 0xfff, 0x1000), (1, 0, 0x1000)],
            ),
        ),
    ]
}

/// The FADT prefix mint-kexec's tables give a partition, and a host's.
pub fn fadt(_: &Real) -> Vec<Seed> {
    let table = |oem: &[u8; 6], space: u8, addr: u64| {
        let mut t = vec![0u8; fadt::ROLE_BYTES + 16];
        t[..4].copy_from_slice(b"FACP");
        t[fadt::OEM_ID_OFF..fadt::OEM_ID_OFF + 6].copy_from_slice(oem);
        t[fadt::RESET_REG_OFF] = space;
        t[fadt::RESET_REG_OFF + 1] = 8;
        t[fadt::RESET_REG_OFF + 4..fadt::RESET_REG_OFF + 12].copy_from_slice(&addr.to_le_bytes());
        t
    };
    vec![
        seed("partition", table(&fadt::MINT_OEM_ID, 0, 0x2001_f000)),
        seed("host", table(b"BOCHS ", 1, 0xcf9)),
    ]
}

/// The real bzImage cut to its setup sectors and one page of payload, with
/// `syssize` saying so: every header field the parser reads is the real one.
fn bzimage_head(real: &Real) -> Option<Vec<u8>> {
    let data = real.kernel()?;
    let img = BzImage::parse(data).ok()?;
    let keep = img.payload_offset() + 4096;
    let mut d = data[..keep].to_vec();
    d[0x1f4..0x1f8].copy_from_slice(&(4096u32 / 16).to_le_bytes());
    assert!(
        BzImage::parse(&d).is_ok(),
        "the cut-down real bzImage parses"
    );
    Some(d)
}

/// [`bzimage_head`] with one setup sector instead of the real 31: the same
/// header, and the payload right after it, so that mutations hit the header.
fn bzimage_short(head: &[u8]) -> Vec<u8> {
    let pm = (usize::from(head[0x1f1]) + 1) * 512;
    let mut d = head[..1024].to_vec();
    d[0x1f1] = 1;
    d.extend_from_slice(&head[pm..]);
    assert!(BzImage::parse(&d).is_ok(), "the short real bzImage parses");
    d
}

pub fn bzimage(real: &Real) -> Vec<Seed> {
    let mut v = Vec::new();
    if let Some(d) = bzimage_head(real) {
        v.push(seed("real-short", bzimage_short(&d)));
        v.push(seed("real-head", d));
    }
    if let Some(d) = real.kernel() {
        v.push(whole("real-bzImage", d.to_vec()));
    }
    v
}

pub fn kernel_lz4(real: &Real) -> Vec<Seed> {
    let mut v = Vec::new();
    let plain: Vec<u8> = (0..3000u32).map(|i| (i / 7) as u8).collect();
    let raw = |limit: u32, payload: &[u8]| Writer::new().u8(0).u32(limit).rest(payload);
    v.push(seed("synthetic", raw(1 << 20, &kernel::lz4_legacy(&plain))));
    v.push(seed(
        "roundtrip",
        Writer::new().u8(1).u32(0).u8(1).rest(&plain),
    ));
    if let (Some(k), Some(elf)) = (real.kernel(), real.vmlinux()) {
        let img = BzImage::parse(k).expect("the real bzImage parses");
        let init_size = img.init_size() as u32;
        let head = &elf[..elf.len().min(32 << 10)];
        v.push(seed("real-head", raw(init_size, &kernel::lz4_legacy(head))));
        v.push(seed(
            "real-roundtrip",
            Writer::new()
                .u8(1)
                .u32(0)
                .u8(0)
                .rest(&elf[..elf.len().min(4096)]),
        ));
        let payload = mint_kexec::vmlinux::compressed_payload(&img).expect("real payload");
        v.push(whole("real-payload", raw(init_size, payload)));
    }
    v
}

/// The real kernel's ELF headers with each `PT_LOAD` cut to at most 512
/// file bytes (enough to hold the entry), laid out one after the other:
/// the same segments, addresses and sizes in memory, in a few KiB.
fn vmlinux_head(elf: &[u8]) -> Vec<u8> {
    let u = |o: usize, n: usize| {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&elf[o..o + n]);
        u64::from_le_bytes(b)
    };
    let (phoff, phnum) = (u(32, 8) as usize, u(56, 2) as usize);
    let table_end = phoff + phnum * 56;
    let mut out = elf[..table_end].to_vec();
    let entry = u(24, 8);
    let mut first_paddr = None;
    for i in 0..phnum {
        let p = phoff + i * 56;
        if u(p, 4) != 1 {
            continue;
        }
        let (offset, paddr, filesz) = (u(p + 8, 8) as usize, u(p + 24, 8), u(p + 32, 8) as usize);
        let base = *first_paddr.get_or_insert(paddr);
        let need = if paddr == base {
            (entry - base) as usize + 16
        } else {
            0
        };
        let keep = filesz.min(512.max(need));
        let at = out.len();
        out.extend_from_slice(&elf[offset..offset + keep]);
        out[p + 8..p + 16].copy_from_slice(&(at as u64).to_le_bytes());
        out[p + 32..p + 40].copy_from_slice(&(keep as u64).to_le_bytes());
    }
    out
}

pub fn vmlinux(real: &Real) -> Vec<Seed> {
    let mut v = Vec::new();
    if let (Some(k), Some(elf)) = (real.kernel(), real.vmlinux()) {
        let init_size = BzImage::parse(k).expect("real bzImage").init_size();
        let head = vmlinux_head(elf);
        assert!(
            mint_kexec::vmlinux::load_segments(&head, init_size).is_ok(),
            "the cut-down real vmlinux loads"
        );
        v.push(seed("real-head", Writer::new().u64(init_size).rest(&head)));
        v.push(whole(
            "real-vmlinux",
            Writer::new().u64(init_size).rest(elf),
        ));
    }
    v
}

/// The first entries (up to 8, bodies of at most 2 KiB, 8 KiB in all) of
/// a plain newc archive, with its trailer: real names, modes and bodies.
fn cpio_head(plain: &[u8]) -> Vec<u8> {
    let hex =
        |b: &[u8]| usize::from_str_radix(std::str::from_utf8(b).unwrap_or(""), 16).unwrap_or(0);
    let mut out = Vec::new();
    let mut at = 0;
    let mut taken = 0;
    while let Some(h) = plain.get(at..at + 110) {
        if !h.starts_with(b"07070") {
            break;
        }
        let (filesize, namesize) = (hex(&h[54..62]), hex(&h[94..102]));
        let data_at = (at + 110 + namesize).next_multiple_of(4);
        let next = (data_at + filesize).next_multiple_of(4).min(plain.len());
        let name = &plain[at + 110..at + 110 + namesize];
        let is_trailer = name.starts_with(b"TRAILER!!!");
        if is_trailer || (filesize <= 2048 && taken < 8 && out.len() + (next - at) <= 8192) {
            out.extend_from_slice(&plain[at..next]);
            taken += 1;
        }
        if is_trailer {
            break;
        }
        at = next;
    }
    out
}

pub fn initrd(real: &Real) -> Vec<Seed> {
    let raw = |d: &[u8]| Writer::new().u8(0).rest(d);
    let small = initrd_t::cpio(&[(b"init", b"#!/bin/sh\necho hi\n"), (b"dev", b"")]);
    let mut v = vec![
        seed("synthetic-gzip", raw(&initrd_t::gzip(&small, 1))),
        seed("synthetic-plain", raw(&small)),
        seed(
            "model",
            Writer::new()
                .u8(1)
                .u8(3)
                .u8(1) // a plain archive
                .u8(1)
                .bytes(b"early")
                .bytes(b"microcode")
                .u8(0)
                .u8(3) // padding
                .u8(2) // a gzip member of an archive
                .u8(1)
                .bytes(b"init")
                .bytes(b"#!/bin/sh\n")
                .u8(0)
                .finish(),
        ),
    ];
    for (name, gz) in &real.initramfs {
        let plain = mint_kexec::initrd::decompress(gz)
            .unwrap_or_else(|e| panic!("the real {name} inflates: {e}"));
        let head = cpio_head(&plain);
        v.push(seed(
            format!("real-{name}-head.gz"),
            raw(&initrd_t::gzip(&head, 6)),
        ));
        v.push(seed(format!("real-{name}-head"), raw(&head)));
        let mut early = head.clone();
        early.extend_from_slice(&[0; 8]);
        early.extend_from_slice(&initrd_t::gzip(&head, 9));
        v.push(seed(format!("real-{name}-plain+gzip"), raw(&early)));
        if name.starts_with("os2") {
            v.push(whole(format!("real-{name}"), raw(gz)));
        }
    }
    v
}

/// A real load image with every segment longer than 64 KiB cut to one page:
/// the same header, addresses and small segments (zero page, command line,
/// ACPI block), a valid image in a few tens of KiB.
fn shrink_load_image(blob: &[u8], memory: &[MemRange]) -> Option<Vec<u8>> {
    let img = load_image::parse(blob).ok()?;
    let segs: Vec<(u64, &[u8])> = img
        .segments()
        .map(|(d, b)| (d, if b.len() > 64 << 10 { &b[..4096] } else { b }))
        .collect();
    let small = load_blob::encode(
        img.entry(),
        img.boot_params(),
        img.entry_64(),
        img.status_page(),
        img.console().as_ref(),
        &segs,
    );
    load_image::parse(&small)
        .ok()?
        .validate_within(memory)
        .ok()?;
    Some(small)
}

pub fn load_image(real: &Real) -> Vec<Seed> {
    let mut v = Vec::new();
    for li in real.load_images() {
        let img = load_image::parse(&li.blob).expect("a real load image parses");
        let mem = li.memory.ranges();
        img.validate_within(mem)
            .expect("a real load image validates");
        let header_and_table = &li.blob[..load_image::HEADER_LEN
            + img.segment_count() as usize * load_image::SEGMENT_DESC_LEN];
        v.push(seed(
            format!("real-{}-table", li.name),
            load_image_t::input(true, mem, header_and_table),
        ));
        if let Some(small) = shrink_load_image(&li.blob, mem) {
            v.push(seed(
                format!("real-{}-small", li.name),
                load_image_t::input(false, mem, &small),
            ));
        }
        v.push(whole(
            format!("real-{}", li.name),
            load_image_t::input(false, mem, &li.blob),
        ));
    }
    // Without the real kernel: an image of the synthetic parts mint-kexec
    // builds, so that the corpus is never empty.
    if v.is_empty() {
        let zp = vec![0u8; 4096];
        let k = vec![0x90u8; 8192];
        let w = real::WINDOW;
        let blob = load_blob::encode(
            w.start + 0x20_0000,
            w.start,
            false,
            Some(w.start + 0x1f000),
            None,
            &[(w.start, &zp), (w.start + 0x20_0000, &k)],
        );
        v.push(seed("synthetic", load_image_t::input(false, &[w], &blob)));
        // The bzImage's 64-bit entry in two ranges above 4 GiB.
        let [a, b] = real::HIGH;
        let blob = load_blob::encode(
            b.start + 0x20_0200,
            b.start,
            true,
            Some(b.start + 0x1f000),
            None,
            &[(b.start, &zp), (b.start + 0x20_0000, &k), (a.start, &k)],
        );
        v.push(seed(
            "synthetic-above-4g",
            load_image_t::input(false, &real::HIGH, &blob),
        ));
    }
    v
}

/// [`vmlinux_head`] without bss (`p_memsz = p_filesz`): the real segment
/// addresses, a few KiB to load.
fn vmlinux_small(elf: &[u8]) -> Vec<u8> {
    let mut d = vmlinux_head(elf);
    let u = |d: &[u8], o: usize, n: usize| {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&d[o..o + n]);
        u64::from_le_bytes(b)
    };
    let (phoff, phnum) = (u(&d, 32, 8) as usize, u(&d, 56, 2) as usize);
    for i in 0..phnum {
        let p = phoff + i * 56;
        if u(&d, p, 4) == 1 {
            let filesz = u(&d, p + 32, 8);
            d[p + 40..p + 48].copy_from_slice(&filesz.to_le_bytes());
        }
    }
    d
}

pub fn assemble(real: &Real) -> Vec<Seed> {
    use assemble_t::{Spec, CONSOLE, DECOMPRESSED, ENTRY_64, INITRD, UART};
    let (Some(head), Some(elf), Some(initramfs)) =
        (bzimage_head(real), real.vmlinux(), real.os2_initramfs())
    else {
        return Vec::new();
    };
    let short = bzimage_short(&head);
    let w = [real::WINDOW];
    let line = real::default_cmdline(&real::window()).expect("the default command line");
    let high_memory = mint_logic::memlist::RangeList::from_ranges(&real::HIGH).expect("valid");
    let high_line = real::default_cmdline(&high_memory).expect("the default command line");
    let small_elf = vmlinux_small(elf);
    let mut v = Vec::new();
    for (flags, name, memory, line) in [
        (CONSOLE | INITRD | UART, "protected32", &w[..], &line),
        (
            CONSOLE | INITRD | UART | ENTRY_64 | DECOMPRESSED,
            "decompressed64",
            &w[..],
            &line,
        ),
        (INITRD, "no-console", &w[..], &line),
        (
            CONSOLE | INITRD | UART,
            "bzimage64-above-4g",
            &real::HIGH[..],
            &high_line,
        ),
    ] {
        let s = Spec {
            flags,
            memory,
            mem_min: 0,
            apic_ids: &[1],
            console_size: real::CONSOLE_SIZE as u32,
            cmdline: line.as_bytes(),
            initrd: &initramfs[..4096],
            decompressed: &small_elf,
            kernel: &short,
        };
        let data = assemble_t::input(&s);
        if let Err(e) = assemble_t::checked(&data) {
            panic!("the real {name} seed does not assemble: {e}");
        }
        v.push(seed(format!("real-{name}"), data));
    }
    if let Some(kernel) = real.kernel() {
        let s = Spec {
            flags: CONSOLE | INITRD | UART,
            memory: &w,
            mem_min: 0,
            apic_ids: &[1, 2],
            console_size: real::CONSOLE_SIZE as u32,
            cmdline: line.as_bytes(),
            initrd: initramfs,
            decompressed: b"",
            kernel,
        };
        v.push(whole("real-whole", assemble_t::input(&s)));
    }
    v
}

/// The first serial log under `out/test-logs/` in which a partition's
/// kernel panicked (the scenarios leave them; none on a fresh machine).
fn real_panic_log() -> Option<Vec<u8>> {
    fn walk(dir: &Path, depth: u32) -> Option<Vec<u8>> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if p.is_dir() && depth < 4 {
                if let Some(d) = walk(&p, depth + 1) {
                    return Some(d);
                }
            } else if p.file_name().is_some_and(|n| n == "ttyS1.log") {
                let d = std::fs::read(&p).ok()?;
                if d.windows(12).any(|w| w == b"Kernel panic") {
                    return Some(d);
                }
            }
        }
        None
    }
    walk(&crate::workspace().join("out/test-logs"), 0)
}

pub fn ramoops(_: &Real) -> Vec<Seed> {
    let text = b"[    0.000000] Linux version 6.12.117\n[    0.512345] Run /init as init process\n";
    let mut console = text.to_vec();
    console.resize(256, 0);
    let n = text.len() as u32;
    let mut v = vec![
        seed(
            "console",
            ramoops_t::input(None, &ramoops_t::zone(n, n, &console)),
        ),
        seed(
            "wrapped",
            ramoops_t::input(None, &ramoops_t::zone(40, 200, &console)),
        ),
        seed(
            "claimed-len",
            ramoops_t::input(Some(1 << 19), &ramoops_t::zone(n, n, &console)),
        ),
    ];
    let record = |tail: &[u8]| {
        let mut t = b"====1.408935-D\nPanic#1 Part1\n".to_vec();
        t.extend_from_slice(tail);
        ramoops_t::zone(t.len() as u32, t.len() as u32, &t)
    };
    v.push(seed(
        "crash-record",
        ramoops_t::input(
            None,
            &record(b"<0>[    1.408935] Kernel panic - not syncing: sysrq triggered crash\n"),
        ),
    ));
    if let Some(log) = real_panic_log() {
        // The end of a real partition's console up to its panic line, as
        // its crash record holds the end of its kernel log.
        let at = log
            .windows(12)
            .position(|w| w == b"Kernel panic")
            .unwrap_or(0);
        let end = log[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(log.len(), |e| at + e + 1);
        let start = end.saturating_sub(2048);
        let tail: Vec<u8> = log[start..end]
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .flat_map(|l| {
                b"<6>"
                    .iter()
                    .chain(l)
                    .chain(b"\n")
                    .copied()
                    .collect::<Vec<u8>>()
            })
            .collect();
        v.push(seed(
            "real-crash-record",
            ramoops_t::input(None, &record(&tail)),
        ));
        let mut ring = log[start..end].to_vec();
        // Wrapped: the oldest third sits at the end of the data area.
        let (len, third) = (ring.len(), ring.len() / 3);
        ring.rotate_left(third);
        let zone = ramoops_t::zone((len - third) as u32, len as u32, &ring);
        v.push(seed("real-console-wrapped", ramoops_t::input(None, &zone)));
    }
    v
}

/// MCFG tables (binary, so generated here; the `resource` files and
/// `devices` lists are text, in `fuzz/seeds/pci_sysfs/`): QEMU q35's (one
/// entry, 256 buses at 0xb0000000), a one-bus ECAM as a microVM's, two
/// segments, and q35's with bytes past its length.
pub fn pci_sysfs(_: &Real) -> Vec<Seed> {
    let q35 = pci_t::mcfg_table(&[(0xb000_0000, 0, 0, 0xff)]);
    let mut padded = q35.clone();
    padded.extend_from_slice(&[0; 16]);
    let tables = [
        ("mcfg-q35", q35),
        ("mcfg-one-bus", pci_t::mcfg_table(&[(0xeec0_0000, 0, 0, 0)])),
        (
            "mcfg-two-segments",
            pci_t::mcfg_table(&[(0xb000_0000, 0, 0, 0x7f), (0x38_0000_0000, 1, 0x80, 0xff)]),
        ),
        ("mcfg-q35-padded", padded),
    ];
    tables
        .into_iter()
        .map(|(name, t)| {
            let len = u32::from_le_bytes([t[4], t[5], t[6], t[7]]) as usize;
            assert_eq!(
                t[..len].iter().fold(0u8, |a, &b| a.wrapping_add(b)),
                0,
                "{name}: checksum"
            );
            assert!(
                mint_kexec::pci::parse_mcfg(&t).is_ok(),
                "the {name} seed parses"
            );
            seed(name, t)
        })
        .collect()
}
