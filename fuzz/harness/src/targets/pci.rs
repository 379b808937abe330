//! The PCI parsers of device assignment: what `mint-kexec` reads from the
//! host's sysfs (`mint_kexec::pci`: a function's `resource` file, the ACPI
//! MCFG table) and the function addresses and lists the module parses from
//! what root writes to `devices` (`mint_logic::pcilist`, which
//! `mint_kexec::pci` wraps).
//!
//! Every input goes to every parser: as a `resource` file (and read as the
//! numbers of one, [`resource_fields`]), as an MCFG table and, when it is
//! UTF-8, as a `devices` list, as one address, and line by line and item
//! by item as addresses. A real file therefore replays as it is:
//! `cargo run -p mint-fuzz --bin pci_sysfs --
//! /sys/bus/pci/devices/*/resource /sys/firmware/acpi/tables/MCFG`.
//!
//! Each parser is compared with a model written from its documentation
//! (accept or refuse, the value, where it refuses), and what it returns is
//! checked for what the loader builds on: BARs that fit their kind, ECAM
//! areas that are aligned and fit their buses, addresses whose `Display`
//! parses back, lists without duplicates and within [`MAX_DEVICES`].

use std::fmt::Debug;
use std::ops::Range;

use mint_kexec::pci::{self, Bar, BarKind, McfgEntry, McfgError, PciBus, ResourceError};
use mint_logic::pcilist::{self, Bdf, PciListError, MAX_DEVICES};

use crate::input::Reader;

// The kernel's `IORESOURCE_*` bits (include/linux/ioport.h), restated.
const IO: u64 = 0x100;
const MEM: u64 = 0x200;
const PREFETCH: u64 = 0x2000;
const MEM_64: u64 = 0x10_0000;
const DISABLED: u64 = 0x1000_0000;
const UNSET: u64 = 0x2000_0000;
/// A bus-specific bit, on the ROM line: the firmware's shadow copy.
const ROM_SHADOW: u64 = 0x2;
/// The ROM's line, 0-based.
const ROM: usize = 6;
/// The module's refusal reasons are cut at this many bytes
/// (`rust/refusal.rs`, `REASON_LEN`).
const MODULE_REASON_LEN: usize = 176;
/// One bus of ECAM.
const MIB: u64 = 1 << 20;

/// A message for the user: one non-empty line.
fn one_line(msg: &str) {
    assert!(!msg.is_empty() && !msg.contains('\n'), "message {msg:?}");
}

// ---------------------------------------------------------------------------
// resource

/// How the model refuses a `resource` file.
#[derive(Debug, PartialEq, Eq)]
enum ResourceBad {
    /// At this 1-based line.
    Line(usize),
    /// Every line fine, but only this many.
    Few(usize),
}

/// A number as the kernel prints it in `resource`: `0x` and 1 to 16 hex
/// digits.
fn resource_number(field: &[u8]) -> Option<u64> {
    let digits = field.strip_prefix(b"0x")?;
    if !(1..=16).contains(&digits.len()) {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &c| {
        char::from(c)
            .to_digit(16)
            .map(|d| (acc << 4) | u64::from(d))
    })
}

/// `parse_resource` as its documentation states it, without its code: the
/// file ends in a newline; every line is three such numbers separated by
/// single spaces; at least 7 lines; lines 0..=6 that are not `0 0` have
/// start <= end, exactly one of I/O and memory, I/O within port 0xffff and
/// not on the ROM line, memory not ending at the last address; assigned
/// (returned) unless unset, disabled, at address 0 or a shadow ROM.
/// Returns `(line, start, end, flags)` of the assigned ones.
fn resource_model(text: &[u8]) -> Result<Vec<(usize, u64, u64, u64)>, ResourceBad> {
    let Some((&b'\n', body)) = text.split_last() else {
        let newlines = text.iter().filter(|&&b| b == b'\n').count();
        return Err(ResourceBad::Line(newlines + 1));
    };
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    let mut assigned = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let bad = Err(ResourceBad::Line(i + 1));
        let fields: Vec<Option<u64>> = line.split(|&b| b == b' ').map(resource_number).collect();
        let [Some(start), Some(end), Some(flags)] = fields[..] else {
            return bad;
        };
        if i > ROM || (start, end) == (0, 0) {
            continue;
        }
        let (io, mem) = (flags & IO != 0, flags & MEM != 0);
        if start > end
            || io == mem
            || (io && (end > 0xffff || i == ROM))
            || (mem && end == u64::MAX)
        {
            return bad;
        }
        let unassigned =
            flags & (UNSET | DISABLED) != 0 || start == 0 || (i == ROM && flags & ROM_SHADOW != 0);
        if !unassigned {
            assigned.push((i, start, end, flags));
        }
    }
    if lines.len() <= ROM {
        return Err(ResourceBad::Few(lines.len()));
    }
    Ok(assigned)
}

/// A `resource` file as the kernel writes it: `lines` lines, `bars` at their
/// index, `0 0 0` elsewhere.
pub fn resource_file(bars: &[(usize, u64, u64, u64)], lines: usize) -> Vec<u8> {
    (0..lines)
        .map(|i| {
            let (_, s, e, f) = bars
                .iter()
                .copied()
                .find(|b| b.0 == i)
                .unwrap_or((i, 0, 0, 0));
            format!("0x{s:016x} 0x{e:016x} 0x{f:016x}\n")
        })
        .collect::<String>()
        .into_bytes()
}

/// A `resource` file in the kernel's format (7 or 13 lines) made of the
/// input read as numbers: per line a class byte (unused, I/O, memory, or
/// three raw numbers), a start, a length and flags of that kind (unset
/// when the class says so), so that what the parser checks past the
/// syntax sees many well-formed files.
pub fn resource_fields(data: &[u8]) -> Vec<u8> {
    let mut r = Reader::new(data);
    let lines = if r.bool() { 13 } else { 7 };
    let mut bars = Vec::new();
    for i in 0..lines {
        let class = r.u8();
        let flags = |r: &mut Reader, kind: u64| {
            let unset = if class & 0x10 != 0 { UNSET } else { 0 };
            (u64::from(r.u32()) & !(IO | MEM | UNSET | DISABLED)) | kind | unset
        };
        bars.push(match class % 4 {
            0 => continue,
            1 => {
                let start = u64::from(r.u16());
                let end = start.wrapping_add(u64::from(r.u8()));
                (i, start, end, flags(&mut r, IO))
            }
            2 => {
                let start = r.u64();
                let end = start.wrapping_add(u64::from(r.u32()));
                (i, start, end, flags(&mut r, MEM))
            }
            _ => (i, r.u64(), r.u64(), r.u64()),
        });
    }
    resource_file(&bars, lines)
}

/// `merged` is `merge_ranges(input)`: sorted, each non-empty, neither
/// overlapping nor touching the next, and exactly the union of `input`.
fn check_merged<T: Ord + Copy + Debug>(input: &[Range<T>], merged: &[Range<T>]) {
    for w in merged.windows(2) {
        assert!(w[0].end < w[1].start, "merged {merged:?} of {input:?}");
    }
    let mut live: Vec<&Range<T>> = input.iter().filter(|r| r.start < r.end).collect();
    for m in merged {
        assert!(m.start < m.end, "merged {merged:?} of {input:?}");
        let mut inside: Vec<&Range<T>> = live
            .iter()
            .copied()
            .filter(|r| m.start <= r.start && r.end <= m.end)
            .collect();
        inside.sort_by_key(|r| r.start);
        let mut reach = m.start;
        for r in &inside {
            assert!(r.start <= reach, "a gap in {m:?}, merged from {input:?}");
            reach = reach.max(r.end);
        }
        assert!(reach == m.end, "{m:?} is more than its pieces {input:?}");
        live.retain(|r| !inside.contains(r));
    }
    assert!(live.is_empty(), "{live:?} of {input:?} not in {merged:?}");
}

/// What `pci_buses` relies on in what `parse_resource` returns.
fn check_bars(bars: &[Bar]) {
    for w in bars.windows(2) {
        assert!(w[0].index < w[1].index, "{bars:?}");
    }
    for b in bars {
        assert!(b.index <= pci::ROM_INDEX, "{b:?}");
        assert!(b.start != 0 && b.start <= b.end, "{b:?}");
        assert_eq!(b.flags & (UNSET | DISABLED), 0, "{b:?}");
        match b.kind {
            BarKind::Io => {
                assert!(b.end <= 0xffff, "I/O past port 0xffff: {b:?}");
                assert!(b.index != pci::ROM_INDEX, "an I/O ROM: {b:?}");
                assert_eq!(b.flags & (IO | MEM), IO, "{b:?}");
            }
            BarKind::Mem { prefetch, is_64 } => {
                assert!(b.end < u64::MAX, "memory to the last address: {b:?}");
                assert_eq!(b.flags & (IO | MEM), MEM, "{b:?}");
                assert_eq!(prefetch, b.flags & PREFETCH != 0, "{b:?}");
                assert_eq!(is_64, b.flags & MEM_64 != 0, "{b:?}");
                if b.index == pci::ROM_INDEX {
                    assert_eq!(b.flags & ROM_SHADOW, 0, "a shadow ROM: {b:?}");
                }
            }
        }
    }
    // The windows pci_buses makes of them (end + 1 cannot overflow).
    let mem: Vec<Range<u64>> = bars
        .iter()
        .filter(|b| matches!(b.kind, BarKind::Mem { .. }))
        .map(|b| b.start..b.end + 1)
        .collect();
    check_merged(&mem, &pci::merge_ranges(mem.clone()));
    let io: Vec<Range<u32>> = bars
        .iter()
        .filter(|b| b.kind == BarKind::Io)
        .map(|b| b.start as u32..b.end as u32 + 1)
        .collect();
    check_merged(&io, &pci::merge_ranges(io.clone()));
}

/// `parse_resource` agrees with the model (the BARs, or the line it
/// refuses); its BARs fit their kind and print back, in the kernel's
/// format, to a file that parses to the same BARs.
fn resource(data: &[u8]) {
    let got = pci::parse_resource(data);
    let model = resource_model(data);
    let shown = || String::from_utf8_lossy(&data[..data.len().min(256)]).into_owned();
    match (&got, &model) {
        (Ok(bars), Ok(want)) => {
            let seen: Vec<_> = bars
                .iter()
                .map(|b| (b.index, b.start, b.end, b.flags))
                .collect();
            assert_eq!(&seen, want, "resource {:?}", shown());
            check_bars(bars);
            for lines in [7, 13] {
                let again = pci::parse_resource(&resource_file(want, lines));
                assert_eq!(again.as_ref(), Ok(bars), "{bars:?} in {lines} lines");
            }
        }
        (Err(ResourceError::Line { line, why }), Err(ResourceBad::Line(want))) => {
            assert_eq!(line, want, "resource {:?}: {why}", shown());
        }
        (Err(ResourceError::TooFewLines { found }), Err(ResourceBad::Few(want))) => {
            assert_eq!(found, want, "resource {:?}", shown());
        }
        _ => panic!("resource {:?}: parser {got:?}, model {model:?}", shown()),
    }
    if let Err(e) = &got {
        one_line(&e.to_string());
    }
}

// ---------------------------------------------------------------------------
// MCFG

/// Offset of the first MCFG entry: the 36-byte ACPI header, 8 reserved.
const MCFG_ENTRIES: usize = 44;

/// An MCFG table as QEMU writes it (`BOCHS `/`BXPC    `, revision 1): the
/// header, 8 reserved bytes, one 16-byte entry per `(base, segment, first
/// bus, last bus)`, the checksum right (all bytes sum to 0).
pub fn mcfg_table(entries: &[(u64, u16, u8, u8)]) -> Vec<u8> {
    let len = MCFG_ENTRIES + 16 * entries.len();
    let mut t = Vec::with_capacity(len);
    t.extend_from_slice(b"MCFG");
    t.extend_from_slice(&(len as u32).to_le_bytes());
    t.extend_from_slice(&[1, 0]); // revision, checksum (below)
    t.extend_from_slice(b"BOCHS BXPC    ");
    t.extend_from_slice(&1u32.to_le_bytes()); // OEM revision
    t.extend_from_slice(b"BXPC");
    t.extend_from_slice(&1u32.to_le_bytes()); // creator revision
    t.extend_from_slice(&[0; 8]);
    for &(base, segment, start, end) in entries {
        t.extend_from_slice(&base.to_le_bytes());
        t.extend_from_slice(&segment.to_le_bytes());
        t.extend_from_slice(&[start, end, 0, 0, 0, 0]);
    }
    let sum = t.iter().fold(0u8, |a, &b| a.wrapping_add(b));
    t[9] = sum.wrapping_neg();
    t
}

/// `parse_mcfg` as its documentation states it, without its code, refusing
/// with the error (and fields) it documents.
fn mcfg_model(t: &[u8]) -> Result<Vec<McfgEntry>, McfgError> {
    if t.len() < MCFG_ENTRIES {
        return Err(McfgError::Short { len: t.len() });
    }
    if t[..4] != *b"MCFG" {
        return Err(McfgError::Signature {
            found: String::from_utf8_lossy(&t[..4]).into_owned(),
        });
    }
    let claimed = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
    if claimed as usize > t.len() {
        return Err(McfgError::Length {
            claimed: claimed.into(),
            len: t.len(),
        });
    }
    let len = claimed as usize;
    if len < MCFG_ENTRIES || !(len - MCFG_ENTRIES).is_multiple_of(16) {
        return Err(McfgError::Entries { len });
    }
    let mut out = Vec::new();
    for index in 0..(len - MCFG_ENTRIES) / 16 {
        let e = &t[MCFG_ENTRIES + 16 * index..][..16];
        let base = u64::from_le_bytes(e[..8].try_into().expect("8 bytes"));
        let (start, end) = (e[10], e[11]);
        if end < start {
            return Err(McfgError::BusRange { index, start, end });
        }
        let top = u128::from(base) + (u128::from(end) + 1) * u128::from(MIB);
        if base == 0 || !base.is_multiple_of(MIB) || top > u128::from(u64::MAX) {
            return Err(McfgError::Base { index, base });
        }
        out.push(McfgEntry {
            base,
            segment: u16::from_le_bytes([e[8], e[9]]),
            start_bus: start,
            end_bus: end,
        });
    }
    Ok(out)
}

/// `parse_mcfg` agrees with the model; its entries have forward bus ranges
/// and 1 MiB aligned bases whose ECAM fits every bus; bytes past the
/// header's length change nothing; the entries rebuilt into a table parse
/// the same; `ecam_base` finds the first entry that covers a bus.
fn mcfg(data: &[u8]) {
    let got = pci::parse_mcfg(data);
    assert_eq!(
        got,
        mcfg_model(data),
        "MCFG {:02x?}",
        &data[..data.len().min(128)]
    );
    let entries = match got {
        Ok(e) => e,
        Err(e) => return one_line(&e.to_string()),
    };
    let claimed = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
    assert_eq!(entries.len(), (claimed - MCFG_ENTRIES) / 16);
    for e in &entries {
        assert!(e.start_bus <= e.end_bus, "{e:?}");
        assert!(e.base != 0 && e.base.is_multiple_of(MIB), "{e:?}");
        for bus in [e.start_bus, e.end_bus] {
            let b = PciBus {
                segment: e.segment,
                bus,
                ecam_base: e.base,
                mem: Vec::new(),
                io: Vec::new(),
            };
            let slice = b.ecam_slice().unwrap_or_else(|| panic!("{e:?}: bus {bus}"));
            assert_eq!(slice.start, e.base + u64::from(bus) * MIB);
            assert_eq!(slice.end - slice.start, MIB);
        }
    }
    assert_eq!(pci::parse_mcfg(&data[..claimed]).as_ref(), Ok(&entries));
    let mut longer = data.to_vec();
    longer.extend_from_slice(b"MCFG\xff\xff\xff\xff");
    assert_eq!(pci::parse_mcfg(&longer).as_ref(), Ok(&entries));
    let raw: Vec<_> = entries
        .iter()
        .map(|e| (e.base, e.segment, e.start_bus, e.end_bus))
        .collect();
    assert_eq!(pci::parse_mcfg(&mcfg_table(&raw)).as_ref(), Ok(&entries));
    for e in &entries {
        for (segment, bus) in [
            (e.segment, e.start_bus),
            (e.segment, e.end_bus),
            (e.segment, e.end_bus.wrapping_add(1)),
            (e.segment, e.start_bus.wrapping_sub(1)),
            (e.segment.wrapping_add(1), e.start_bus),
        ] {
            let want = entries
                .iter()
                .find(|x| x.segment == segment && x.start_bus <= bus && bus <= x.end_bus)
                .map(|x| x.base);
            assert_eq!(
                pci::ecam_base(&entries, segment, bus),
                want,
                "{segment:04x}:{bus:02x}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Addresses and the devices list

/// Value of ASCII hex digits (either case), `None` if another byte occurs.
fn hex_model(d: &[u8]) -> Option<u16> {
    d.iter().try_fold(0u16, |acc, &c| {
        char::from(c).to_digit(16).map(|v| (acc << 4) | v as u16)
    })
}

/// An address as `pcilist.rs` documents it, by position: `SSSS:BB:DD.F`
/// (12 bytes) or `BB:DD.F` (7), hex digits everywhere else, then device
/// below 32 and function below 8.
fn bdf_model(s: &str) -> Result<Bdf, PciListError> {
    let b = s.as_bytes();
    let (segment, rest) = match b.len() {
        12 if b[4] == b':' => (Some(&b[..4]), &b[5..]),
        7 => (None, b),
        _ => return Err(PciListError::Malformed),
    };
    if rest[2] != b':' || rest[5] != b'.' {
        return Err(PciListError::Malformed);
    }
    let malformed = Err(PciListError::Malformed);
    let segment = match segment.map(hex_model) {
        Some(None) => return malformed,
        Some(Some(s)) => s,
        None => 0,
    };
    let (Some(bus), Some(device), Some(function)) = (
        hex_model(&rest[..2]),
        hex_model(&rest[3..5]),
        hex_model(&rest[6..]),
    ) else {
        return malformed;
    };
    if device >= 32 || function >= 8 {
        return Err(PciListError::OutOfRange);
    }
    Ok(Bdf {
        segment,
        bus: bus as u8,
        device: device as u8,
        function: function as u8,
    })
}

/// A valid address prints in the long form, lower case, which both parsers
/// read back to it (so do its upper-case and, on segment 0, short forms);
/// its bus name and devfn are its fields.
fn bdf_round_trip(b: Bdf) {
    assert!(b.device < 32 && b.function < 8, "{b:?}");
    let long = b.to_string();
    assert_eq!(long.len(), 12, "{b:?} prints as {long:?}");
    assert!(
        long.bytes()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f' | b':' | b'.')),
        "{long:?}"
    );
    assert_eq!(pcilist::parse_bdf(&long), Ok(b), "{b:?} -> {long:?}");
    assert_eq!(pci::parse_bdf(&long), Ok(b), "{b:?} -> {long:?}");
    assert_eq!(pcilist::parse_bdf(&long.to_uppercase()), Ok(b));
    if b.segment == 0 {
        assert_eq!(pcilist::parse_bdf(&long[5..]), Ok(b), "{:?}", &long[5..]);
    }
    assert_eq!(pci::bus_name(&b), long[..7]);
    assert_eq!(b.devfn(), (b.device << 3) | b.function);
    assert_eq!((b.devfn() >> 3, b.devfn() & 7), (b.device, b.function));
}

/// Both `parse_bdf`s (the module's and the loader's) agree with the model
/// and with each other: the same acceptance, the same address, the same
/// reason.
fn bdf(s: &str) {
    let logic = pcilist::parse_bdf(s);
    assert_eq!(logic, bdf_model(s), "address {s:?}");
    let loader = pci::parse_bdf(s);
    assert_eq!(
        loader.as_ref().ok(),
        logic.as_ref().ok(),
        "address {s:?}: the loader's {loader:?}, the module's {logic:?}"
    );
    match (&loader, logic) {
        (Ok(b), _) => bdf_round_trip(*b),
        (Err(e), Err(why)) => {
            assert_eq!(e.why, why, "address {s:?}");
            let msg = e.to_string();
            one_line(&msg);
            assert!(msg.chars().count() <= 600, "{msg:?}");
            let reason = why.to_string();
            one_line(&reason);
            assert!(reason.len() <= MODULE_REASON_LEN, "{reason:?}");
        }
        (Err(_), Ok(_)) => unreachable!("compared above"),
    }
}

/// What separates the items of a `devices` write: commas and ASCII
/// whitespace.
fn separator(c: char) -> bool {
    matches!(c, ',' | ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// `pcilist::parse` as documented: the items between separators, in order,
/// each an address ([`bdf_model`]), none twice, at most [`MAX_DEVICES`],
/// refused at the first item that breaks a rule; nothing is the empty
/// list, unless there is a comma.
fn devices_model(s: &str) -> Result<Vec<Bdf>, PciListError> {
    let mut list = Vec::new();
    for item in s.split(separator).filter(|i| !i.is_empty()) {
        let b = bdf_model(item)?;
        if list.contains(&b) {
            return Err(PciListError::Duplicate(b));
        }
        if list.len() == MAX_DEVICES {
            return Err(PciListError::TooMany);
        }
        list.push(b);
    }
    if list.is_empty() && s.contains(',') {
        return Err(PciListError::Malformed);
    }
    Ok(list)
}

/// `pcilist::parse` (the module's `devices` store) agrees with the model,
/// and `parse_devices` (the loader's read of the file) with it; a list has
/// no duplicates and at most [`MAX_DEVICES`] functions, and both what
/// `mint-kexec` writes (`format_devices`) and what the module shows (one
/// per line) read back to it.
fn devices(s: &str) {
    let got = pcilist::parse(s);
    let list = got.as_ref().map(|l| l.as_slice().to_vec()).map_err(|e| *e);
    assert_eq!(list, devices_model(s), "devices {s:?}");
    let loader = pci::parse_devices(s);
    assert_eq!(
        loader.as_ref().map_err(|e| e.why),
        list.as_ref().map_err(|e| *e),
        "devices {s:?}"
    );
    match (got, list) {
        (Ok(l), Ok(list)) => {
            assert!(list.len() <= MAX_DEVICES, "{list:?}");
            for (i, b) in list.iter().enumerate() {
                assert!(!list[..i].contains(b), "{b} twice in {list:?}");
                assert!(l.contains(b));
            }
            let written = pci::format_devices(&list);
            assert_eq!(
                pci::parse_devices(&written).as_ref(),
                Ok(&list),
                "{written:?}"
            );
            assert_eq!(pcilist::parse(&written), Ok(l), "{written:?}");
            let shown: String = list.iter().map(|b| format!("{b}\n")).collect();
            assert_eq!(pci::parse_devices(&shown).as_ref(), Ok(&list), "{shown:?}");
        }
        (Err(why), Err(_)) => {
            let reason = why.to_string();
            one_line(&reason);
            assert!(reason.len() <= MODULE_REASON_LEN, "{reason:?}");
            if let Err(e) = loader {
                one_line(&e.to_string());
            }
        }
        _ => unreachable!("compared above"),
    }
}

/// The PCI target: every parser on every input (see the module's
/// documentation; `resource` also on the input with a newline added, when
/// it has none at the end, and on [`resource_fields`]), and a `Bdf` made of
/// the input's first bytes, which prints what the parsers read back exactly
/// when it is valid.
pub fn pci_sysfs(data: &[u8]) {
    resource(data);
    if data.last() != Some(&b'\n') {
        // Most mutations lose the last newline, which makes any file
        // malformed: try it with the newline too.
        resource(&[data, b"\n"].concat());
    }
    resource(&resource_fields(data));
    mcfg(data);
    let mut r = Reader::new(data);
    let b = Bdf {
        segment: r.u16(),
        bus: r.u8(),
        device: r.u8(),
        function: r.u8(),
    };
    let valid = b.device < 32 && b.function < 8;
    assert_eq!(pcilist::parse_bdf(&b.to_string()).is_ok(), valid, "{b:?}");
    if valid {
        bdf_round_trip(b);
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    devices(s);
    bdf(s);
    for line in s.split('\n') {
        bdf(line);
    }
    for item in s.split(separator) {
        bdf(item);
    }
}

#[cfg(test)]
mod tests {
    //! The checked-in seeds are what they claim to be (so that the corpus
    //! starts from accepted files), and the models agree with the parsers'
    //! own examples.

    use super::*;

    fn seed(name: &str) -> Vec<u8> {
        let path = crate::workspace().join("fuzz/seeds/pci_sysfs").join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn resource_seeds_parse() {
        for (name, lines, indexes) in [
            ("resource-virtio-net", 13, &[0, 1, 4, 6][..]),
            ("resource-e1000e", 7, &[0, 1, 2, 3, 6]),
            ("resource-vga-shadow-rom", 13, &[0, 2]),
            ("resource-root-port", 17, &[0]),
            ("resource-64bit-high", 7, &[0]),
        ] {
            let data = seed(name);
            assert_eq!(
                data.iter().filter(|&&b| b == b'\n').count(),
                lines,
                "{name}"
            );
            let bars = pci::parse_resource(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<usize> = bars.iter().map(|b| b.index).collect();
            assert_eq!(got, indexes, "{name}");
            pci_sysfs(&data);
        }
        let virtio = pci::parse_resource(&seed("resource-virtio-net")).unwrap();
        assert_eq!(
            (virtio[1].start, virtio[1].end, virtio[1].flags),
            (0xfde4_0000, 0xfde4_0fff, 0x40200)
        );
        assert_eq!(
            virtio[2].kind,
            BarKind::Mem {
                prefetch: true,
                is_64: true
            }
        );
    }

    #[test]
    fn devices_seeds_parse() {
        for (name, len) in [
            ("devices-write", 2),
            ("devices-read", 2),
            ("devices-eight", MAX_DEVICES),
            ("devices-none", 0),
        ] {
            let text = String::from_utf8(seed(name)).unwrap();
            assert_eq!(
                pcilist::parse(&text).map(|l| l.as_slice().len()),
                Ok(len),
                "{name}"
            );
            pci_sysfs(text.as_bytes());
        }
    }

    #[test]
    fn models_refuse_where_the_parsers_do() {
        assert_eq!(resource_model(b""), Err(ResourceBad::Line(1)));
        assert_eq!(resource_model(b"0x1 0x2 0x200"), Err(ResourceBad::Line(1)));
        assert_eq!(resource_model(b"0x1 0x2 0x200\n"), Err(ResourceBad::Few(1)));
        let io_rom = resource_file(&[(6, 0x1000, 0x10ff, IO)], 7);
        assert_eq!(resource_model(&io_rom), Err(ResourceBad::Line(7)));
        assert!(pci::parse_resource(&io_rom).is_err());
        assert_eq!(
            bdf_model("0000:01:00.0"),
            pcilist::parse_bdf("0000:01:00.0")
        );
        assert_eq!(bdf_model("01:20.0"), Err(PciListError::OutOfRange));
        assert_eq!(bdf_model("0000:01:00.0\n"), Err(PciListError::Malformed));
        assert_eq!(devices_model(","), Err(PciListError::Malformed));
        let q35 = mcfg_table(&[(0xb000_0000, 0, 0, 0xff)]);
        assert_eq!(q35.len(), 60);
        assert_eq!(q35.iter().fold(0u8, |a, &b| a.wrapping_add(b)), 0);
        assert_eq!(mcfg_model(&q35), pci::parse_mcfg(&q35));
        let top = mcfg_table(&[(0xffff_ffff_f000_0000, 0, 0, 0xff)]);
        assert!(matches!(
            mcfg_model(&top),
            Err(McfgError::Base { index: 0, .. })
        ));
        pci_sysfs(&q35);
    }
}
