//! The host's PCI functions a partition owns, as the host's sysfs shows
//! them: what `mint-kexec load` puts into the partition's ACPI tables (one
//! PCI root bridge per bus, its ECAM and its windows) and what `mint-kexec
//! assign`/`release` write to the module's `devices` file.
//!
//! - [`parse_bdf`]: a function's address ([`Bdf`]), `DDDD:BB:DD.F` (segment,
//!   bus, device, function, hex), or `BB:DD.F` for segment 0, parsed as the
//!   module parses it ([`mint_logic::pcilist`]).
//! - [`parse_resource`]: a function's BARs from
//!   `/sys/bus/pci/devices/<bdf>/resource`.
//! - [`parse_mcfg`]: the host's ECAM areas from its ACPI MCFG table,
//!   `/sys/firmware/acpi/tables/MCFG`.
//! - [`pci_buses`]: the functions grouped by bus, each bus with its ECAM base
//!   and the memory and I/O windows its functions' BARs occupy.
//!
//! Every file is read under a sysfs root given by the caller (`/sys`, or a
//! fake tree in tests), and its content is untrusted: the parsers take
//! `&str` or `&[u8]`, never panic and refuse what does not check out.
//!
//! A partition's kernel enumerates the whole bus its tables describe and
//! reassigns a BAR that lies outside every window, so [`pci_buses`] refuses
//! a bus that also holds a function the partition does not own: each owned
//! function must sit on a bus with only owned functions (for instance
//! alone behind a root port of its own).

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use mint_logic::pcilist::{self, PciListError};
pub use mint_logic::pcilist::{Bdf, MAX_DEVICES};
use thiserror::Error;

/// One PCI bus of the partition, as `acpi::build` describes it: segment,
/// bus, the segment's ECAM base as the host's MCFG gives it (bus 0's
/// address), memory and I/O windows.
pub use crate::acpi::PciBus;

/// The host's PCI devices, under the sysfs root.
pub const DEVICES_DIR: &str = "bus/pci/devices";
/// The host's ACPI MCFG table, under the sysfs root.
pub const MCFG_FILE: &str = "firmware/acpi/tables/MCFG";

/// At most this many characters of untrusted text go into an error message.
const SHOWN_MAX: usize = 40;

/// `text` for an error message: quoted, escaped, cut after [`SHOWN_MAX`]
/// characters.
fn shown(text: &str) -> String {
    let mut cut: String = text.chars().take(SHOWN_MAX).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

// ---------------------------------------------------------------------------
// BDF

/// Why a PCI function address (or the `devices` list) was refused: the
/// shared parser's reason ([`mint_logic::pcilist`], which the module uses
/// too), with the text.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{}", describe(.text, .why))]
pub struct BdfError {
    /// The text, quoted and cut short for the message.
    pub text: String,
    pub why: PciListError,
}

fn describe(text: &str, why: &PciListError) -> String {
    match why {
        PciListError::Malformed => format!(
            "{text} is not a PCI function address: want DDDD:BB:DD.F or BB:DD.F (hex: \
             segment, bus, device, function), e.g. 0000:01:00.0"
        ),
        PciListError::OutOfRange => {
            format!("{text} is not a PCI function address: devices are 00-1f, functions 0-7")
        }
        PciListError::Duplicate(b) => format!("{text}: {b} is listed twice"),
        PciListError::TooMany => {
            format!("{text}: a partition owns at most {MAX_DEVICES} PCI functions")
        }
    }
}

/// Parses one function's address, `DDDD:BB:DD.F` or `BB:DD.F` (segment 0):
/// exactly 4, 2, 2 and 1 hex digits (either case), device at most 0x1f,
/// function at most 7, nothing around it; as the module parses it
/// ([`pcilist::parse_bdf`]).
pub fn parse_bdf(s: &str) -> Result<Bdf, BdfError> {
    pcilist::parse_bdf(s).map_err(|why| BdfError {
        text: shown(s),
        why,
    })
}

/// `DDDD:BB`, function `b`'s bus.
pub fn bus_name(b: &Bdf) -> String {
    format!("{:04x}:{:02x}", b.segment, b.bus)
}

/// The module's `devices` file: one function per line, nothing for none
/// (read with the module's own list parser, [`pcilist::parse`]: distinct
/// functions, at most [`MAX_DEVICES`]).
pub fn parse_devices(text: &str) -> Result<Vec<Bdf>, BdfError> {
    pcilist::parse(text)
        .map(|l| l.as_slice().to_vec())
        .map_err(|why| BdfError {
            text: shown(text.trim()),
            why,
        })
}

/// What to write to the module's `devices` file for `list`: the functions,
/// comma-separated; an empty line (`"\n"`) for none, since sysfs ignores a
/// write of no bytes.
pub fn format_devices(list: &[Bdf]) -> String {
    if list.is_empty() {
        return "\n".into();
    }
    list.iter()
        .map(Bdf::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

// ---------------------------------------------------------------------------
// BARs: /sys/bus/pci/devices/<bdf>/resource

/// `IORESOURCE_IO`: an I/O port range.
pub const IORESOURCE_IO: u64 = 0x100;
/// `IORESOURCE_MEM`: a memory range.
pub const IORESOURCE_MEM: u64 = 0x200;
/// `IORESOURCE_PREFETCH`: prefetchable memory.
pub const IORESOURCE_PREFETCH: u64 = 0x2000;
/// `IORESOURCE_MEM_64`: a 64-bit memory BAR.
pub const IORESOURCE_MEM_64: u64 = 0x10_0000;
/// `IORESOURCE_DISABLED`.
pub const IORESOURCE_DISABLED: u64 = 0x1000_0000;
/// `IORESOURCE_UNSET`: no address assigned yet.
pub const IORESOURCE_UNSET: u64 = 0x2000_0000;
/// `IORESOURCE_ROM_SHADOW` (a bus-specific bit of the ROM resource): the
/// range is the firmware's copy of the ROM in RAM (at 0xc0000 for the boot
/// VGA device), not the device's ROM BAR.
pub const IORESOURCE_ROM_SHADOW: u64 = 0x2;
/// Lines of `resource` that are BARs: 0..=5.
pub const BAR_COUNT: usize = 6;
/// The line of `resource` that is the expansion ROM.
pub const ROM_INDEX: usize = 6;

/// What a BAR decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarKind {
    /// I/O ports.
    Io,
    /// Memory (the expansion ROM too).
    Mem {
        /// `IORESOURCE_PREFETCH`.
        prefetch: bool,
        /// `IORESOURCE_MEM_64`.
        is_64: bool,
    },
}

/// One assigned BAR (or the expansion ROM) of a function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bar {
    /// The line of `resource`: 0..=5 a BAR, [`ROM_INDEX`] the ROM.
    pub index: usize,
    pub kind: BarKind,
    /// First address (or port).
    pub start: u64,
    /// Last address (or port), inclusive, as the file gives it.
    pub end: u64,
    /// The kernel's `IORESOURCE_*` flags.
    pub flags: u64,
}

/// Why a `resource` file was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ResourceError {
    /// Fewer lines than the kernel always writes.
    #[error("{found} lines; the kernel writes at least 7 (6 BARs and the ROM)")]
    TooFewLines { found: usize },
    /// A line that is not `0xSTART 0xEND 0xFLAGS` or that makes no sense.
    #[error("line {line}: {why}")]
    Line {
        /// 1-based.
        line: usize,
        why: &'static str,
    },
}

/// A `0x`-hex number of 1 to 16 digits.
fn hex_u64(field: &[u8]) -> Option<u64> {
    let digits = field.strip_prefix(b"0x")?;
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let s = std::str::from_utf8(digits).ok()?;
    u64::from_str_radix(s, 16).ok()
}

/// One line's three numbers.
fn resource_line(line: &[u8]) -> Option<[u64; 3]> {
    let mut fields = line.split(|&b| b == b' ');
    let start = hex_u64(fields.next()?)?;
    let end = hex_u64(fields.next()?)?;
    let flags = hex_u64(fields.next()?)?;
    fields.next().is_none().then_some([start, end, flags])
}

/// Parses a function's `resource` file: one line `0xSTART 0xEND 0xFLAGS` per
/// resource (`0x%016llx`, space separated, each line ending in a newline),
/// lines 0..=5 the BARs, line 6 the expansion ROM; more lines (SR-IOV BARs,
/// a bridge's windows) are checked for their syntax and otherwise ignored.
///
/// Returns the assigned BARs and ROM, in line order. Not assigned, and left
/// out: a line with start and end 0 (unused, or the upper half of a 64-bit
/// BAR), one flagged `IORESOURCE_UNSET` or `IORESOURCE_DISABLED`, one that
/// starts at address 0, and a ROM flagged `IORESOURCE_ROM_SHADOW` (the
/// firmware's copy in RAM, not the device). Refused: a malformed line, a
/// range whose start lies above its end, an address range that is neither I/O
/// nor memory or both, an I/O range past port 0xffff, a memory range that
/// ends at the last address, an I/O ROM.
pub fn parse_resource(text: &[u8]) -> Result<Vec<Bar>, ResourceError> {
    let body = text.strip_suffix(b"\n").ok_or(ResourceError::Line {
        line: text.split(|&b| b == b'\n').count(),
        why: "the file does not end in a newline",
    })?;
    let mut bars = Vec::new();
    let mut found = 0;
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        found = i + 1;
        let bad = |why| ResourceError::Line { line: i + 1, why };
        let [start, end, flags] =
            resource_line(line).ok_or_else(|| bad("want 0xSTART 0xEND 0xFLAGS (hex)"))?;
        if i > ROM_INDEX || (start == 0 && end == 0) {
            continue;
        }
        if start > end {
            return Err(bad("the range starts above its end"));
        }
        let kind = match (flags & IORESOURCE_IO != 0, flags & IORESOURCE_MEM != 0) {
            (true, true) => return Err(bad("flagged both I/O and memory")),
            (false, false) => return Err(bad("an address range flagged neither I/O nor memory")),
            (true, false) if end > 0xffff => return Err(bad("an I/O range past port 0xffff")),
            (true, false) if i == ROM_INDEX => return Err(bad("an I/O expansion ROM")),
            (true, false) => BarKind::Io,
            (false, true) if end == u64::MAX => {
                return Err(bad("a memory range that ends at the last address"))
            }
            (false, true) => BarKind::Mem {
                prefetch: flags & IORESOURCE_PREFETCH != 0,
                is_64: flags & IORESOURCE_MEM_64 != 0,
            },
        };
        let unassigned = flags & (IORESOURCE_UNSET | IORESOURCE_DISABLED) != 0
            || start == 0
            || (i == ROM_INDEX && flags & IORESOURCE_ROM_SHADOW != 0);
        if !unassigned {
            bars.push(Bar {
                index: i,
                kind,
                start,
                end,
                flags,
            });
        }
    }
    if found <= ROM_INDEX {
        return Err(ResourceError::TooFewLines { found });
    }
    Ok(bars)
}

// ---------------------------------------------------------------------------
// ECAM: the host's MCFG

/// One MCFG entry: the ECAM of buses `start_bus..=end_bus` of `segment`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct McfgEntry {
    /// Bus 0's configuration space (bus N's is at `base + (N << 20)`).
    pub base: u64,
    pub segment: u16,
    pub start_bus: u8,
    pub end_bus: u8,
}

/// Length of the ACPI table header.
const ACPI_HEADER_LEN: usize = 36;
/// MCFG: the header, then 8 reserved bytes.
const MCFG_ENTRIES_OFFSET: usize = ACPI_HEADER_LEN + 8;
/// One MCFG entry.
const MCFG_ENTRY_LEN: usize = 16;

/// Why an MCFG table was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum McfgError {
    #[error("{len} bytes: shorter than an MCFG header ({MCFG_ENTRIES_OFFSET} bytes)")]
    Short { len: usize },
    #[error("signature {found:?}, not \"MCFG\"")]
    Signature { found: String },
    #[error("its header claims {claimed} bytes, the table has {len}")]
    Length { claimed: u64, len: usize },
    #[error("{len} bytes: not the {MCFG_ENTRIES_OFFSET}-byte header plus whole {MCFG_ENTRY_LEN}-byte entries")]
    Entries { len: usize },
    #[error("entry {index}: buses {start:#04x}-{end:#04x} run backwards")]
    BusRange { index: usize, start: u8, end: u8 },
    #[error("entry {index}: base {base:#x} is not a 1 MiB aligned address that fits its buses")]
    Base { index: usize, base: u64 },
}

fn le_u64(b: &[u8]) -> u64 {
    b.iter()
        .take(8)
        .rev()
        .fold(0, |acc, &x| (acc << 8) | u64::from(x))
}

/// Parses the host's ACPI MCFG table (little endian): the 36-byte ACPI
/// header (signature `MCFG`, length at offset 4), 8 reserved bytes, then
/// 16-byte entries (u64 base, u16 segment, u8 start bus, u8 end bus, 4
/// reserved). The header's length must not exceed the data and must be the
/// header plus whole entries; bytes past it are ignored. The checksum is not
/// checked (Linux uses a table with a bad checksum too).
pub fn parse_mcfg(table: &[u8]) -> Result<Vec<McfgEntry>, McfgError> {
    if table.len() < MCFG_ENTRIES_OFFSET {
        return Err(McfgError::Short { len: table.len() });
    }
    if &table[..4] != b"MCFG" {
        return Err(McfgError::Signature {
            found: String::from_utf8_lossy(&table[..4]).into_owned(),
        });
    }
    let claimed = le_u64(&table[4..8]);
    let len = usize::try_from(claimed)
        .ok()
        .filter(|&l| l <= table.len())
        .ok_or(McfgError::Length {
            claimed,
            len: table.len(),
        })?;
    if len < MCFG_ENTRIES_OFFSET || !(len - MCFG_ENTRIES_OFFSET).is_multiple_of(MCFG_ENTRY_LEN) {
        return Err(McfgError::Entries { len });
    }
    table[MCFG_ENTRIES_OFFSET..len]
        .chunks_exact(MCFG_ENTRY_LEN)
        .enumerate()
        .map(|(index, e)| {
            let entry = McfgEntry {
                base: le_u64(&e[0..8]),
                segment: u16::from_le_bytes([e[8], e[9]]),
                start_bus: e[10],
                end_bus: e[11],
            };
            if entry.end_bus < entry.start_bus {
                return Err(McfgError::BusRange {
                    index,
                    start: entry.start_bus,
                    end: entry.end_bus,
                });
            }
            let top = entry.base.checked_add((u64::from(entry.end_bus) + 1) << 20);
            if entry.base == 0 || entry.base & 0xf_ffff != 0 || top.is_none() {
                return Err(McfgError::Base {
                    index,
                    base: entry.base,
                });
            }
            Ok(entry)
        })
        .collect()
}

/// The ECAM base (bus 0's address, as the MCFG gives it) of the first entry
/// that covers `bus` of `segment`.
pub fn ecam_base(entries: &[McfgEntry], segment: u16, bus: u8) -> Option<u64> {
    entries
        .iter()
        .find(|e| e.segment == segment && (e.start_bus..=e.end_bus).contains(&bus))
        .map(|e| e.base)
}

// ---------------------------------------------------------------------------
// The host's sysfs

/// The host's directory of function `bdf`.
pub fn device_dir(sys: &Path, bdf: Bdf) -> PathBuf {
    sys.join(DEVICES_DIR).join(bdf.to_string())
}

/// Fails unless the host has function `bdf`.
pub fn require_device(sys: &Path, bdf: Bdf) -> Result<()> {
    let dir = device_dir(sys, bdf);
    if !dir.is_dir() {
        bail!(
            "no PCI function {bdf} on this host ({} does not exist; lspci -D lists them)",
            dir.display()
        );
    }
    Ok(())
}

/// The assigned BARs and ROM of the host's function `bdf` ([`parse_resource`]).
pub fn read_bars(sys: &Path, bdf: Bdf) -> Result<Vec<Bar>> {
    require_device(sys, bdf)?;
    let file = device_dir(sys, bdf).join("resource");
    let text = fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    parse_resource(&text).with_context(|| format!("{} is malformed", file.display()))
}

/// The host's MCFG entries; an error that says a partition with devices
/// needs them when the host has none.
pub fn read_mcfg(sys: &Path) -> Result<Vec<McfgEntry>> {
    let file = sys.join(MCFG_FILE);
    let table = match fs::read(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => bail!(
            "the host has no ACPI MCFG table ({} does not exist): a partition with devices \
             needs PCI Express ECAM (MCFG)",
            file.display()
        ),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            bail!("cannot read {}: {e} (root only)", file.display())
        }
        Err(e) => bail!("cannot read {}: {e}", file.display()),
    };
    parse_mcfg(&table).with_context(|| format!("the host's MCFG ({}) is malformed", file.display()))
}

/// The name of the host driver bound to function `bdf` (the last component
/// of its `driver` link), `None` if none is.
pub fn bound_driver(sys: &Path, bdf: Bdf) -> Option<String> {
    let link = fs::read_link(device_dir(sys, bdf).join("driver")).ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// Unbinds the host driver from function `bdf`, if one is bound, by writing
/// the function to the driver's `unbind`; returns the driver's name.
pub fn unbind_host_driver(sys: &Path, bdf: Bdf) -> Result<Option<String>> {
    let Some(driver) = bound_driver(sys, bdf) else {
        return Ok(None);
    };
    let unbind = device_dir(sys, bdf).join("driver").join("unbind");
    fs::OpenOptions::new()
        .write(true)
        .open(&unbind)
        .and_then(|mut f| std::io::Write::write_all(&mut f, bdf.to_string().as_bytes()))
        .map_err(|e| {
            let hint = if e.kind() == ErrorKind::PermissionDenied {
                " (root only)"
            } else {
                ""
            };
            anyhow!(
                "cannot unbind {bdf} from its host driver {driver} (writing {}): {e}{hint}",
                unbind.display()
            )
        })?;
    Ok(Some(driver))
}

/// Binds function `bdf` to host driver `driver` again (after
/// [`unbind_host_driver`]), by writing it to the driver's `bind`.
pub fn bind_host_driver(sys: &Path, bdf: Bdf, driver: &str) -> Result<()> {
    let bind = sys.join("bus/pci/drivers").join(driver).join("bind");
    fs::OpenOptions::new()
        .write(true)
        .open(&bind)
        .and_then(|mut f| std::io::Write::write_all(&mut f, bdf.to_string().as_bytes()))
        .map_err(|e| {
            anyhow!(
                "cannot give {bdf} back to {driver} (writing {}): {e}",
                bind.display()
            )
        })
}

/// The functions the host has on bus `segment:bus` (directory names under
/// [`DEVICES_DIR`] that are function addresses), sorted.
fn functions_on_bus(sys: &Path, segment: u16, bus: u8) -> Result<Vec<Bdf>> {
    let dir = sys.join(DEVICES_DIR);
    let entries = fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut found: Vec<Bdf> = entries
        .filter_map(|e| parse_bdf(e.ok()?.file_name().to_str()?).ok())
        .filter(|b| b.segment == segment && b.bus == bus)
        .collect();
    found.sort();
    Ok(found)
}

/// Sorts `ranges` and merges those that overlap or touch; empty ones go.
pub fn merge_ranges<T: Ord + Copy>(mut ranges: Vec<Range<T>>) -> Vec<Range<T>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<T>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The partition's PCI buses for the host's `functions` (duplicates ignored),
/// read under the sysfs root `sys` (`/sys`): one [`PciBus`] per
/// (segment, bus), sorted, with the host's ECAM base for it from the MCFG,
/// its functions' memory BARs and ROMs as merged memory windows and their
/// I/O BARs as merged I/O windows. None for no functions (nothing is read).
///
/// Refused: a function the host does not have, a malformed `resource` or
/// MCFG, a host without an MCFG or without an entry for the bus, a bus that
/// also holds a function not in `functions` (the partition's kernel would
/// enumerate it and move its BARs), an I/O BAR that ends at port 0xffff
/// (a `Range<u16>` cannot end past it).
pub fn pci_buses(sys: &Path, functions: &[Bdf]) -> Result<Vec<PciBus>> {
    let mut functions = functions.to_vec();
    functions.sort();
    functions.dedup();
    if functions.is_empty() {
        return Ok(Vec::new());
    }
    for &f in &functions {
        require_device(sys, f)?;
    }
    let mcfg = read_mcfg(sys)?;
    let mut by_bus: BTreeMap<(u16, u8), Vec<Bdf>> = BTreeMap::new();
    for &f in &functions {
        by_bus.entry((f.segment, f.bus)).or_default().push(f);
    }
    let mut buses = Vec::with_capacity(by_bus.len());
    for ((segment, bus), owned) in by_bus {
        let name = bus_name(&owned[0]);
        let ecam_base = ecam_base(&mcfg, segment, bus).ok_or_else(|| {
            anyhow!(
                "the host has no ECAM for bus {name}: a partition with devices needs PCI \
                 Express ECAM (MCFG)"
            )
        })?;
        if let Some(other) = functions_on_bus(sys, segment, bus)?
            .into_iter()
            .find(|f| !owned.contains(f))
        {
            bail!(
                "bus {name} also holds {other}, which the partition does not own: its kernel \
                 enumerates the whole bus, so assign every function on it (or put the device \
                 on a bus of its own, behind a root port)"
            );
        }
        let (mut mem, mut io) = (Vec::new(), Vec::new());
        for &f in &owned {
            for bar in read_bars(sys, f)? {
                match bar.kind {
                    // parse_resource: end < u64::MAX for memory, <= 0xffff for I/O.
                    BarKind::Mem { .. } => mem.push(bar.start..bar.end + 1),
                    BarKind::Io => {
                        let (Ok(start), Ok(end)) =
                            (u16::try_from(bar.start), u16::try_from(bar.end + 1))
                        else {
                            bail!(
                                "{f}: I/O BAR {} ends at port 0xffff, which the partition's \
                                 tables cannot describe yet",
                                bar.index
                            );
                        };
                        io.push(start..end);
                    }
                }
            }
        }
        buses.push(PciBus {
            segment,
            bus,
            ecam_base,
            mem: merge_ranges(mem),
            io: merge_ranges(io),
        });
    }
    Ok(buses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bdf(s: &str) -> Bdf {
        parse_bdf(s).unwrap()
    }

    #[test]
    fn bdf_round_trip() {
        let b = bdf("0000:01:00.0");
        assert_eq!(
            b,
            Bdf {
                segment: 0,
                bus: 1,
                device: 0,
                function: 0
            }
        );
        assert_eq!(b.to_string(), "0000:01:00.0");
        assert_eq!(bdf("01:00.0"), b, "BB:DD.F is segment 0");
        let b = bdf("ABCD:Ef:1f.7");
        assert_eq!(
            (b.segment, b.bus, b.device, b.function),
            (0xabcd, 0xef, 0x1f, 7)
        );
        assert_eq!(b.to_string(), "abcd:ef:1f.7");
        assert_eq!(bus_name(&b), "abcd:ef");
    }

    #[test]
    fn bdf_is_strict() {
        for s in [
            "",
            "0000:01:00",
            "0000:01:00.",
            "000:01:00.0",
            "00000:01:00.0",
            "0000:1:00.0",
            "0000:001:00.0",
            "0000:01:0.0",
            "0000:01:00.00",
            "0000:01:00:0",
            "0:0000:01:00.0",
            " 0000:01:00.0",
            "0000:01:00.0\n",
            "0000:+1:00.0",
            "0000:01:+0.0",
            "0000:01:00.+",
            "0x00:01:00.0",
            "0000:0g:00.0",
            "0000:01:00.0.0",
            "0000:01-00.0",
            "0000:01:00.0,0000:02:00.0",
            "é0:01:00.0",
        ] {
            let e = parse_bdf(s).unwrap_err();
            assert_eq!(e.why, PciListError::Malformed, "{s:?}");
            let msg = e.to_string();
            assert!(msg.contains("DDDD:BB:DD.F") && !msg.contains('\n'), "{msg}");
            assert!(msg.starts_with(&format!("{s:?} is not")), "{msg}");
        }
        for s in ["0000:01:20.0", "01:00.8"] {
            let e = parse_bdf(s).unwrap_err();
            assert_eq!(e.why, PciListError::OutOfRange, "{s:?}");
            assert!(
                e.to_string().contains("devices are 00-1f, functions 0-7"),
                "{e}"
            );
        }
        // Untrusted text is quoted and cut short in the message.
        let long = "x".repeat(1000);
        let msg = parse_bdf(&long).unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
    }

    #[test]
    fn devices_file() {
        assert_eq!(parse_devices(""), Ok(vec![]));
        assert_eq!(parse_devices("\n"), Ok(vec![]));
        assert_eq!(
            parse_devices("0000:01:00.0\n0000:02:00.1\n"),
            Ok(vec![bdf("0000:01:00.0"), bdf("0000:02:00.1")])
        );
        let e = parse_devices("0000:01:00.0\njunk\n").unwrap_err();
        assert_eq!(e.why, PciListError::Malformed);
        assert!(
            e.to_string().starts_with("\"0000:01:00.0\\njunk\" is not"),
            "{e}"
        );
        let e = parse_devices("01:00.0\n0000:01:00.0\n").unwrap_err();
        assert!(
            e.to_string().ends_with(": 0000:01:00.0 is listed twice"),
            "{e}"
        );
        assert_eq!(format_devices(&[]), "\n");
        assert_eq!(format_devices(&[bdf("01:00.0")]), "0000:01:00.0");
        assert_eq!(
            format_devices(&[bdf("01:00.0"), bdf("0001:02:03.4")]),
            "0000:01:00.0,0001:02:03.4"
        );
        // What is written reads back the same.
        let list = [bdf("01:00.0"), bdf("0001:02:03.4")];
        assert_eq!(parse_devices(&format_devices(&list)).unwrap(), list);
    }

    /// A `resource` line as the kernel prints it.
    fn line(start: u64, end: u64, flags: u64) -> String {
        format!("0x{start:016x} 0x{end:016x} 0x{flags:016x}\n")
    }

    /// A 13-line `resource` file (7 and 6 SR-IOV lines) with `lines` first.
    fn resource(lines: &[(u64, u64, u64)]) -> Vec<u8> {
        let mut s = String::new();
        for i in 0..13 {
            let (a, b, f) = lines.get(i).copied().unwrap_or((0, 0, 0));
            s.push_str(&line(a, b, f));
        }
        s.into_bytes()
    }

    const MEM64_PREF: u64 = IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_MEM_64;

    #[test]
    fn parses_bars() {
        // A NIC as the kernel shows it: BAR0 32-bit memory, BAR2 I/O, BAR3
        // 64-bit prefetchable memory (BAR4 its upper half), a ROM.
        let text = resource(&[
            (0xfebc_0000, 0xfebd_ffff, 0x40200),
            (0, 0, 0),
            (0xc000, 0xc01f, 0x40101),
            (0xfe00_0000, 0xfe00_3fff, 0x14220c),
            (0, 0, 0),
            (0, 0, 0),
            (0xfeb8_0000, 0xfebb_ffff, 0x46200),
        ]);
        let bars = parse_resource(&text).unwrap();
        assert_eq!(
            bars,
            vec![
                Bar {
                    index: 0,
                    kind: BarKind::Mem {
                        prefetch: false,
                        is_64: false
                    },
                    start: 0xfebc_0000,
                    end: 0xfebd_ffff,
                    flags: 0x40200
                },
                Bar {
                    index: 2,
                    kind: BarKind::Io,
                    start: 0xc000,
                    end: 0xc01f,
                    flags: 0x40101
                },
                Bar {
                    index: 3,
                    kind: BarKind::Mem {
                        prefetch: true,
                        is_64: true
                    },
                    start: 0xfe00_0000,
                    end: 0xfe00_3fff,
                    flags: 0x14220c
                },
                Bar {
                    index: 6,
                    kind: BarKind::Mem {
                        prefetch: true,
                        is_64: false
                    },
                    start: 0xfeb8_0000,
                    end: 0xfebb_ffff,
                    flags: 0x46200
                },
            ]
        );
        // Exactly 7 lines will do (a kernel without SR-IOV).
        let seven: Vec<u8> = text
            .split(|&b| b == b'\n')
            .take(7)
            .flat_map(|l| [l, b"\n"].concat())
            .collect();
        assert_eq!(parse_resource(&seven).unwrap().len(), 4);
        // Lines past the ROM are not BARs of the function.
        let mut more = resource(&[]);
        more.extend_from_slice(line(0x1000, 0x1fff, IORESOURCE_IO).as_bytes());
        assert_eq!(parse_resource(&more), Ok(vec![]));
    }

    #[test]
    fn unassigned_bars_are_left_out() {
        for l in [
            (0, 0, 0),
            (0, 0, IORESOURCE_MEM),
            (0, 0xfff, IORESOURCE_MEM),
            (0x1000, 0x1fff, IORESOURCE_MEM | IORESOURCE_UNSET),
            (0x1000, 0x1fff, IORESOURCE_IO | IORESOURCE_DISABLED),
        ] {
            assert_eq!(parse_resource(&resource(&[l])), Ok(vec![]), "{l:x?}");
        }
        // The boot VGA device's shadowed ROM is RAM at 0xc0000.
        let mut lines = [(0, 0, 0); 7];
        lines[ROM_INDEX] = (0xc0000, 0xdffff, IORESOURCE_MEM | IORESOURCE_ROM_SHADOW);
        assert_eq!(parse_resource(&resource(&lines)), Ok(vec![]));
        // The same bit on a BAR means something else: kept.
        let bars =
            parse_resource(&resource(&[(0xf000_0000, 0xf000_0fff, IORESOURCE_MEM | 2)])).unwrap();
        assert_eq!(bars.len(), 1);
    }

    #[test]
    fn malformed_resources_are_refused() {
        let refused = |text: &[u8]| parse_resource(text).unwrap_err();
        assert_eq!(
            refused(b""),
            ResourceError::Line {
                line: 1,
                why: "the file does not end in a newline"
            }
        );
        assert!(matches!(
            refused(b"\n"),
            ResourceError::Line { line: 1, .. }
        ));
        let six: String = (0..6).map(|_| line(0, 0, 0)).collect();
        assert_eq!(
            refused(six.as_bytes()),
            ResourceError::TooFewLines { found: 6 }
        );
        for (bad, why) in [
            ("0x0 0x0", "want"),
            ("0x0 0x0 0x0 0x0", "want"),
            ("0x0  0x0 0x0", "want"),
            ("0x0 0x0 0x0 ", "want"),
            ("0 0 0", "want"),
            ("0x 0x0 0x0", "want"),
            ("0x+1 0x0 0x0", "want"),
            ("0x00000000000000001 0x0 0x0", "want"),
            ("0X1 0x1 0x200", "want"),
            ("0x1\t0x1 0x200", "want"),
            ("", "want"),
            ("0x2000 0x1fff 0x200", "starts above"),
            ("0x1000 0x1fff 0x300", "both"),
            ("0x1000 0x1fff 0x0", "neither"),
            ("0x1000 0x1fff 0x400", "neither"),
            ("0xff00 0x10000 0x100", "past port 0xffff"),
            (
                "0xffffffffffff0000 0xffffffffffffffff 0x200",
                "last address",
            ),
        ] {
            let mut text = format!("{bad}\n");
            for _ in 0..12 {
                text.push_str(&line(0, 0, 0));
            }
            match refused(text.as_bytes()) {
                ResourceError::Line { line: 1, why: w } => assert!(w.contains(why), "{bad:?}: {w}"),
                e => panic!("{bad:?}: {e:?}"),
            }
        }
        // An I/O ROM; a malformed line past the ROM; a missing last newline.
        let mut lines = [(0, 0, 0); 7];
        lines[ROM_INDEX] = (0x1000, 0x10ff, IORESOURCE_IO);
        assert!(matches!(
            refused(&resource(&lines)),
            ResourceError::Line { line: 7, .. }
        ));
        let mut text = resource(&[]);
        text.extend_from_slice(b"junk\n");
        assert!(matches!(
            refused(&text),
            ResourceError::Line { line: 14, .. }
        ));
        let text = resource(&[]);
        assert!(matches!(
            refused(&text[..text.len() - 1]),
            ResourceError::Line { line: 13, .. }
        ));
        // Not UTF-8: refused, not a panic.
        let mut text = resource(&[]);
        text[3] = 0xff;
        assert!(matches!(
            refused(&text),
            ResourceError::Line { line: 1, .. }
        ));
    }

    /// An MCFG table with `entries` (base, segment, start bus, end bus).
    fn mcfg(entries: &[(u64, u16, u8, u8)]) -> Vec<u8> {
        let len = MCFG_ENTRIES_OFFSET + entries.len() * MCFG_ENTRY_LEN;
        let mut t = vec![0u8; len];
        t[..4].copy_from_slice(b"MCFG");
        t[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        t[8] = 1;
        for (i, &(base, seg, start, end)) in entries.iter().enumerate() {
            let e = &mut t[MCFG_ENTRIES_OFFSET + i * 16..][..16];
            e[..8].copy_from_slice(&base.to_le_bytes());
            e[8..10].copy_from_slice(&seg.to_le_bytes());
            e[10] = start;
            e[11] = end;
        }
        let sum = t.iter().fold(0u8, |a, &b| a.wrapping_add(b));
        t[9] = 0u8.wrapping_sub(sum);
        t
    }

    #[test]
    fn parses_mcfg() {
        let t = mcfg(&[(0xb000_0000, 0, 0, 0xff), (0x38_0000_0000, 1, 0x10, 0x1f)]);
        let entries = parse_mcfg(&t).unwrap();
        assert_eq!(
            entries,
            vec![
                McfgEntry {
                    base: 0xb000_0000,
                    segment: 0,
                    start_bus: 0,
                    end_bus: 0xff
                },
                McfgEntry {
                    base: 0x38_0000_0000,
                    segment: 1,
                    start_bus: 0x10,
                    end_bus: 0x1f
                },
            ]
        );
        assert_eq!(ecam_base(&entries, 0, 1), Some(0xb000_0000));
        assert_eq!(ecam_base(&entries, 1, 0x10), Some(0x38_0000_0000));
        assert_eq!(ecam_base(&entries, 1, 0x20), None);
        assert_eq!(ecam_base(&entries, 1, 0x0f), None);
        assert_eq!(ecam_base(&entries, 2, 0), None);
        assert_eq!(parse_mcfg(&mcfg(&[])), Ok(vec![]));
        // Bytes past the header's length are not the table's.
        let mut padded = t.clone();
        padded.extend_from_slice(&[0xee; 20]);
        assert_eq!(parse_mcfg(&padded).unwrap(), entries);
    }

    #[test]
    fn malformed_mcfg_is_refused() {
        let good = mcfg(&[(0xb000_0000, 0, 0, 0xff)]);
        assert_eq!(parse_mcfg(&good[..43]), Err(McfgError::Short { len: 43 }));
        assert_eq!(parse_mcfg(b""), Err(McfgError::Short { len: 0 }));
        let mut t = good.clone();
        t[..4].copy_from_slice(b"APIC");
        assert!(matches!(parse_mcfg(&t), Err(McfgError::Signature { .. })));
        // Length past the data, not header + whole entries, below the header.
        for claimed in [61u32, 100, 50, 40, 0, u32::MAX] {
            let mut t = good.clone();
            t[4..8].copy_from_slice(&claimed.to_le_bytes());
            let e = parse_mcfg(&t).unwrap_err();
            assert!(
                matches!(e, McfgError::Length { .. } | McfgError::Entries { .. }),
                "{claimed}: {e:?}"
            );
        }
        assert!(matches!(
            parse_mcfg(&good[..59]),
            Err(McfgError::Length {
                claimed: 60,
                len: 59
            })
        ));
        assert_eq!(
            parse_mcfg(&mcfg(&[(0xb000_0000, 0, 5, 4)])),
            Err(McfgError::BusRange {
                index: 0,
                start: 5,
                end: 4
            })
        );
        for base in [0, 0xb000_1000, !0xf_ffff] {
            assert_eq!(
                parse_mcfg(&mcfg(&[(0xe000_0000, 0, 0, 0), (base, 1, 0, 0xff)])),
                Err(McfgError::Base { index: 1, base }),
                "{base:#x}"
            );
        }
        for e in [McfgError::Short { len: 3 }, McfgError::Entries { len: 50 }] {
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn merges_ranges() {
        assert_eq!(
            merge_ranges(vec![
                0x3000..0x4000u64,
                0x1000..0x2000,
                0x2000..0x2800,
                0x1800..0x1900,
                0x5000..0x5000
            ]),
            vec![0x1000..0x2800, 0x3000..0x4000]
        );
        assert_eq!(
            merge_ranges(vec![0xc000..0xc020u16, 0xc010..0xc040]),
            vec![0xc000..0xc040]
        );
        assert_eq!(merge_ranges::<u64>(vec![]), vec![]);
    }

    /// A fake host sysfs tree in a temp directory.
    struct Tree(PathBuf);

    impl Tree {
        fn new(test: &str) -> Self {
            let root = std::env::temp_dir().join(format!("mint-pci-{}-{test}", std::process::id()));
            let _ = fs::remove_dir_all(&root);
            fs::create_dir_all(root.join(DEVICES_DIR)).unwrap();
            Tree(root)
        }

        fn put(&self, path: &str, data: &[u8]) {
            let p = self.0.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, data).unwrap();
        }

        fn device(&self, bdf: &str, lines: &[(u64, u64, u64)]) {
            self.put(&format!("{DEVICES_DIR}/{bdf}/resource"), &resource(lines));
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // one window each
    fn groups_functions_by_bus() {
        let t = Tree::new("buses");
        t.put(MCFG_FILE, &mcfg(&[(0xb000_0000, 0, 0, 0xff)]));
        // Bus 1: a two-function device, BARs adjacent and overlapping,
        // I/O on both. Bus 2: memory only. Bus 0: the host's.
        t.device(
            "0000:01:00.0",
            &[
                (0xfe80_0000, 0xfe80_3fff, IORESOURCE_MEM),
                (0xc000, 0xc01f, IORESOURCE_IO),
                (0xfe80_4000, 0xfe80_4fff, MEM64_PREF),
            ],
        );
        t.device(
            "0000:01:00.1",
            &[
                (0xfe80_4000, 0xfe80_5fff, IORESOURCE_MEM),
                (0xc020, 0xc03f, IORESOURCE_IO),
                (0xfd00_0000, 0xfd0f_ffff, MEM64_PREF),
            ],
        );
        t.device(
            "0000:02:00.0",
            &[(0xfe60_0000, 0xfe60_0fff, IORESOURCE_MEM)],
        );
        t.device(
            "0000:00:1f.0",
            &[(0xfed1_c000, 0xfed1_ffff, IORESOURCE_MEM)],
        );
        let functions = [
            bdf("0000:02:00.0"),
            bdf("0000:01:00.1"),
            bdf("01:00.0"),
            bdf("0000:01:00.1"),
        ];
        let buses = pci_buses(&t.0, &functions).unwrap();
        assert_eq!(
            buses,
            vec![
                PciBus {
                    segment: 0,
                    bus: 1,
                    ecam_base: 0xb000_0000,
                    mem: vec![0xfd00_0000..0xfd10_0000, 0xfe80_0000..0xfe80_6000],
                    io: vec![0xc000..0xc040],
                },
                PciBus {
                    segment: 0,
                    bus: 2,
                    ecam_base: 0xb000_0000,
                    mem: vec![0xfe60_0000..0xfe60_1000],
                    io: vec![],
                },
            ]
        );
        assert_eq!(buses[0].ecam_slice(), Some(0xb010_0000..0xb020_0000));
        assert_eq!(pci_buses(&t.0, &[]).unwrap(), vec![]);
    }

    #[test]
    fn refuses_what_a_partition_cannot_own() {
        let t = Tree::new("refused");
        let err = |functions: &[Bdf]| format!("{:#}", pci_buses(&t.0, functions).unwrap_err());
        t.device(
            "0000:01:00.0",
            &[(0xfe80_0000, 0xfe80_3fff, IORESOURCE_MEM)],
        );
        // No such function.
        let e = err(&[bdf("0000:05:00.0")]);
        assert!(
            e.contains("no PCI function 0000:05:00.0 on this host"),
            "{e}"
        );
        // No MCFG.
        let e = err(&[bdf("0000:01:00.0")]);
        assert!(
            e.contains("the host has no ACPI MCFG table")
                && e.contains("a partition with devices needs PCI Express ECAM (MCFG)"),
            "{e}"
        );
        // An MCFG without the bus.
        t.put(
            MCFG_FILE,
            &mcfg(&[(0xb000_0000, 0, 0, 0), (0xc000_0000, 1, 0, 0xff)]),
        );
        let e = err(&[bdf("0000:01:00.0")]);
        assert_eq!(
            e,
            "the host has no ECAM for bus 0000:01: a partition with devices needs PCI Express ECAM (MCFG)"
        );
        // A malformed MCFG.
        t.put(MCFG_FILE, b"MCFG");
        let e = err(&[bdf("0000:01:00.0")]);
        assert!(
            e.contains("MCFG") && e.contains("malformed") && e.contains("4 bytes"),
            "{e}"
        );
        // The bus holds a function the partition does not own.
        t.put(MCFG_FILE, &mcfg(&[(0xb000_0000, 0, 0, 0xff)]));
        t.device("0000:01:00.1", &[]);
        let e = err(&[bdf("0000:01:00.0")]);
        assert!(e.contains("bus 0000:01 also holds 0000:01:00.1"), "{e}");
        assert!(pci_buses(&t.0, &[bdf("0000:01:00.0"), bdf("0000:01:00.1")]).is_ok());
        // A malformed resource file names the file and the line.
        t.put(
            &format!("{DEVICES_DIR}/0000:01:00.1/resource"),
            b"0x1 0x2\n",
        );
        let e = err(&[bdf("0000:01:00.0"), bdf("0000:01:00.1")]);
        assert!(
            e.contains("0000:01:00.1/resource is malformed: line 1: want"),
            "{e}"
        );
        // An I/O BAR at the very top of the port space.
        t.device("0000:01:00.1", &[(0xfff0, 0xffff, IORESOURCE_IO)]);
        let e = err(&[bdf("0000:01:00.0"), bdf("0000:01:00.1")]);
        assert!(
            e.contains("0000:01:00.1: I/O BAR 0 ends at port 0xffff"),
            "{e}"
        );
    }

    #[test]
    fn unbinds_the_host_driver() {
        let t = Tree::new("unbind");
        t.device("0000:01:00.0", &[]);
        let b = bdf("0000:01:00.0");
        assert_eq!(bound_driver(&t.0, b), None);
        assert_eq!(unbind_host_driver(&t.0, b).unwrap(), None);
        t.put("bus/pci/drivers/e1000e/unbind", b"");
        std::os::unix::fs::symlink("../../drivers/e1000e", device_dir(&t.0, b).join("driver"))
            .unwrap();
        assert_eq!(bound_driver(&t.0, b).as_deref(), Some("e1000e"));
        assert_eq!(
            unbind_host_driver(&t.0, b).unwrap().as_deref(),
            Some("e1000e")
        );
        assert_eq!(
            fs::read(t.0.join("bus/pci/drivers/e1000e/unbind")).unwrap(),
            b"0000:01:00.0"
        );
        // And back.
        t.put("bus/pci/drivers/e1000e/bind", b"");
        bind_host_driver(&t.0, b, "e1000e").unwrap();
        assert_eq!(
            fs::read(t.0.join("bus/pci/drivers/e1000e/bind")).unwrap(),
            b"0000:01:00.0"
        );
        let e = bind_host_driver(&t.0, b, "nope").unwrap_err().to_string();
        assert!(
            e.starts_with("cannot give 0000:01:00.0 back to nope (writing "),
            "{e}"
        );
        // A driver without an unbind file.
        fs::remove_file(t.0.join("bus/pci/drivers/e1000e/unbind")).unwrap();
        let e = unbind_host_driver(&t.0, b).unwrap_err().to_string();
        assert!(
            e.contains("cannot unbind 0000:01:00.0 from its host driver e1000e"),
            "{e}"
        );
    }
}
