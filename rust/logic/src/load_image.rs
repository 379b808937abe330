//! The image format `mint-kexec` writes to a partition's sysfs `load` file,
//! and the layout of the partition's status page.
//!
//! The module keeps the blob and copies its segments into the partition's
//! memory (its ranges, see `memlist`) at start. All integers are
//! little-endian:
//!
//! ```text
//! 0   magic        b"MINTLOAD"
//! 8   version      u32 = 5
//! 12  count        u32, number of segments, 1..=16
//! 16  entry        u64, physical address of the kernel's entry point
//! 24  boot_params  u64, physical address of the zero page
//! 32  total_len    u64, length of the whole blob, header and data included
//! 40  flags        u32, FLAG_ENTRY_64 or 0; other bits must be 0
//! 44  reserved     u32, 0
//! 48  page_table   u64, reserved, 0 (up to version 4 the address of the
//!                  64-bit entry's page tables; the module builds them now)
//! 56  status_page  u64, physical address of the partition's status page
//!                  (4 KiB aligned, inside one range); 0 for none
//! 64  console      u64, physical address of the partition's ramoops region
//!                  (console ring and crash records, see `ramoops.rs`);
//!                  0 for none (then the next four fields are 0 too)
//! 72  console_len  u32, its length (4 KiB multiple, 64 KiB to 1 GiB)
//! 76  record_size  u32, its `ramoops.record_size` (a power of two)
//! 80  console_size u32, its `ramoops.console_size` (a power of two)
//! 84  pmsg_size    u32, its `ramoops.pmsg_size` (a power of two)
//! 88  segment table: count × { dest u64, len u64 } (16 bytes each)
//!     then the data of segment 0, 1, ... concatenated, no padding
//! ```
//!
//! Without `FLAG_ENTRY_64` the kernel is entered through the Linux 32-bit boot
//! protocol (protected mode, paging off; `entry` is `code32_start`), so
//! `entry` and the zero page must lie below 4 GiB. With it, through the
//! 64-bit boot protocol (long mode; `entry` is the bzImage's 64-bit entry,
//! its load address + 0x200, or a decompressed kernel's `startup_64`), and
//! both may lie anywhere: the module enters on identity page tables of its
//! own, in host memory below 4 GiB, that map the first 4 GiB and every
//! range of the partition.
//!
//! Errno choices ([`LoadImageError::errno`]): a blob that is not a mint image
//! at all (bad magic or version) is `ENOEXEC`, like `execve` on a foreign
//! format; a blob larger than [`MAX_TOTAL_LEN`] is `EFBIG`; segments, entry,
//! boot parameters, the status page or the console region not inside one
//! of the partition's ranges are `EADDRNOTAVAIL`, as `kexec_load` answers
//! for segments outside the crash kernel region; an entry or zero page
//! above 4 GiB without `FLAG_ENTRY_64` is `ERANGE`: the address is the
//! partition's, but out of the 32-bit boot protocol's reach (paging off);
//! every other malformation
//! (lengths, overlaps, empty segments, unknown flags, a non-zero reserved
//! field, a misaligned status page, a console region ramoops would lay out
//! differently or that overlaps a segment or the status page) is `EINVAL`.
//!
//! # Status page
//!
//! A 4 KiB page of the partition's memory through which the partition's kernel tells the
//! host how it ended. `mint-kexec` puts it in the last page of the ACPI block
//! and points the partition's FADT at it; the memory is scrubbed before every
//! start, so the page starts all zero, and the module watches it while the
//! partition runs. Offsets in the page ([`decode_status`] reads them):
//!
//! | offset | size | name | written by | meaning |
//! |---|---|---|---|---|
//! | 0x00 | u8 | RESET ([`STATUS_RESET_OFF`]) | the partition's kernel rebooting through ACPI (`acpi_reboot`): this byte is the FADT reset register | [`RESET_VALUE`]: the partition rebooted |
//! | 0x01 | u8 | SLEEP ([`STATUS_SLEEP_OFF`]) | the partition's kernel powering off through ACPI (`acpi_hw_extended_sleep`): this byte is both the FADT sleep control and sleep status register | bit [`SLP_EN`] set: the partition entered S5 (poweroff) |
//! | 0x04 | u32 | EVENT ([`STATUS_EVENT_OFF`]) | mint.ko running inside the partition (the agent) | a [`StatusEvent`]: 0 none, 1 reboot, 2 poweroff, 3 halt, 4 panic |
//! | 0x08 | u32 | AGENT ([`STATUS_AGENT_OFF`]) | the agent, once its handlers are registered | [`AGENT_MAGIC`] (`"AGNT"`) |
//!
//! Because sleep control and sleep status are the same byte, the kernel's
//! poweroff writes WAK_STS (0x80) to it, overwrites that with the control
//! value (`SLP_TYPa << 2 | SLP_EN` = 0x34 for the DSDT's `_S5` of 5), and
//! then spins forever waiting for WAK_STS to read back set, until the host
//! stops the partition. A reboot writes the reset value, waits 15 ms and
//! falls back to the machine's reset paths (keyboard controller, triple
//! fault), so the host must see RESET and stop the partition within that
//! time.
//!
//! This file uses [`MemRange`] from its sibling module `memrange` and
//! [`Layout`] from `ramoops`.

use super::memrange::MemRange;
use super::ramoops::{self, Layout};
use core::fmt;

// Linux errno values (positive).
const ENOEXEC: i32 = 8;
const EINVAL: i32 = 22;
const EFBIG: i32 = 27;
const ERANGE: i32 = 34;
const EADDRNOTAVAIL: i32 = 99;

/// The first 8 bytes of every image.
pub const MAGIC: [u8; 8] = *b"MINTLOAD";
/// The only format version.
pub const VERSION: u32 = 5;
/// Length of the fixed header, before the segment table.
pub const HEADER_LEN: usize = 88;
/// Flag: enter the kernel through the 64-bit boot protocol.
pub const FLAG_ENTRY_64: u32 = 1;
/// What the 32-bit boot protocol reaches with paging off: `entry` and the
/// zero page of an image without [`FLAG_ENTRY_64`] lie below it.
pub const LIMIT_32: u64 = 1 << 32;
/// Length of one segment table entry.
pub const SEGMENT_DESC_LEN: usize = 16;
/// Largest number of segments.
pub const MAX_SEGMENTS: u32 = 16;
/// Largest accepted blob (1 GiB).
pub const MAX_TOTAL_LEN: u64 = 1 << 30;
/// Bytes that must be available from `boot_params` inside its segment (the zero page).
pub const BOOT_PARAMS_LEN: u64 = 4096;

/// Offset of the magic.
pub const OFF_MAGIC: usize = 0;
/// Offset of the version (u32).
pub const OFF_VERSION: usize = 8;
/// Offset of the segment count (u32).
pub const OFF_COUNT: usize = 12;
/// Offset of the entry address (u64).
pub const OFF_ENTRY: usize = 16;
/// Offset of the boot parameters address (u64).
pub const OFF_BOOT_PARAMS: usize = 24;
/// Offset of the total length (u64).
pub const OFF_TOTAL_LEN: usize = 32;
/// Offset of the flags (u32).
pub const OFF_FLAGS: usize = 40;
/// Offset of the reserved u64 that held the page table address up to
/// version 4 (must be 0).
pub const OFF_PAGE_TABLE: usize = 48;
/// Offset of the status page address (u64).
pub const OFF_STATUS_PAGE: usize = 56;
/// Offset of the console (ramoops) region address (u64).
pub const OFF_CONSOLE: usize = 64;
/// Offset of the console region length (u32).
pub const OFF_CONSOLE_LEN: usize = 72;
/// Offset of the region's `ramoops.record_size` (u32).
pub const OFF_RECORD_SIZE: usize = 76;
/// Offset of the region's `ramoops.console_size` (u32).
pub const OFF_CONSOLE_SIZE: usize = 80;
/// Offset of the region's `ramoops.pmsg_size` (u32).
pub const OFF_PMSG_SIZE: usize = 84;

/// Size (and alignment) of the status page.
pub const STATUS_PAGE_LEN: u64 = 4096;
/// Status page: offset of the RESET byte (the FADT reset register).
pub const STATUS_RESET_OFF: usize = 0x00;
/// Status page: offset of the SLEEP byte (the FADT sleep control and sleep
/// status register).
pub const STATUS_SLEEP_OFF: usize = 0x01;
/// Status page: offset of the EVENT u32 ([`StatusEvent`]), written by the agent.
pub const STATUS_EVENT_OFF: usize = 0x04;
/// Status page: offset of the AGENT u32 ([`AGENT_MAGIC`] once the agent runs).
pub const STATUS_AGENT_OFF: usize = 0x08;
/// Bytes at the start of the status page that hold every field.
pub const STATUS_FIELDS_LEN: usize = 12;
/// The FADT `RESET_VALUE`: what a rebooting partition writes to RESET.
pub const RESET_VALUE: u8 = 0x01;
/// SLP_EN, the sleep-enable bit of the sleep control register: set in SLEEP
/// once the partition entered a sleep state (S5, poweroff: its DSDT has no
/// other).
pub const SLP_EN: u8 = 0x20;
/// The AGENT value, `"AGNT"` read as a little-endian u32.
pub const AGENT_MAGIC: u32 = u32::from_le_bytes(*b"AGNT");

const _: () = assert!(AGENT_MAGIC == 0x544e_4741);
const _: () = assert!(STATUS_AGENT_OFF + 4 == STATUS_FIELDS_LEN);

/// Why a load image was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoadImageError {
    /// Shorter than the 88-byte header (EINVAL).
    Truncated,
    /// Does not start with `MINTLOAD` (ENOEXEC).
    BadMagic,
    /// Unknown format version (ENOEXEC).
    BadVersion,
    /// Segment count is 0 or more than [`MAX_SEGMENTS`] (EINVAL).
    BadSegmentCount,
    /// `total_len` exceeds [`MAX_TOTAL_LEN`] (EFBIG).
    TooLarge,
    /// `total_len` differs from the blob's length (EINVAL).
    LengthMismatch,
    /// Header, table and segment lengths do not add up to `total_len` (EINVAL).
    SegmentLengths,
    /// Segment `index` has length zero (EINVAL).
    EmptySegment {
        /// Index of the segment in the table.
        index: u32,
    },
    /// Segment `index` is not entirely inside one of the partition's ranges,
    /// or wraps (EADDRNOTAVAIL).
    OutsideMemory {
        /// Index of the segment in the table.
        index: u32,
    },
    /// Segments `first` and `second` overlap (EINVAL).
    Overlap {
        /// Index of the earlier segment in the table.
        first: u32,
        /// Index of the later segment in the table.
        second: u32,
    },
    /// The 4 KiB at `boot_params` are not inside one segment (EADDRNOTAVAIL).
    BootParamsOutside,
    /// The entry address is not inside a segment (EADDRNOTAVAIL).
    EntryOutside,
    /// Unknown flag bits, or a reserved field (the u32 after the flags, the
    /// former page table address) that is not 0 (EINVAL).
    BadFlags,
    /// Without `FLAG_ENTRY_64`: the entry point or the 4 KiB at
    /// `boot_params` reach above 4 GiB ([`LIMIT_32`]), which the 32-bit boot
    /// protocol cannot address (ERANGE).
    Above4G,
    /// The status page address is not 4 KiB aligned (EINVAL).
    BadStatusPage,
    /// The 4 KiB status page is not entirely inside one of the partition's
    /// ranges (EADDRNOTAVAIL).
    StatusPageOutside,
    /// The console region's fields describe no layout ramoops would make
    /// the same way (EINVAL).
    BadConsole(ramoops::LayoutError),
    /// The console region is not entirely inside one of the partition's
    /// ranges (EADDRNOTAVAIL).
    ConsoleOutside,
    /// The console region overlaps a segment or the status page (EINVAL).
    ConsoleOverlap,
    /// A console region without a status page: the host watches the crash
    /// records together with the status page (EINVAL).
    ConsoleWithoutStatusPage,
}

impl LoadImageError {
    /// The Linux errno (positive) to return to the writer.
    pub fn errno(self) -> i32 {
        match self {
            LoadImageError::BadMagic | LoadImageError::BadVersion => ENOEXEC,
            LoadImageError::TooLarge => EFBIG,
            LoadImageError::Above4G => ERANGE,
            LoadImageError::OutsideMemory { .. }
            | LoadImageError::BootParamsOutside
            | LoadImageError::EntryOutside
            | LoadImageError::StatusPageOutside
            | LoadImageError::ConsoleOutside => EADDRNOTAVAIL,
            LoadImageError::BadFlags
            | LoadImageError::BadStatusPage
            | LoadImageError::BadConsole(_)
            | LoadImageError::ConsoleOverlap
            | LoadImageError::ConsoleWithoutStatusPage => EINVAL,
            LoadImageError::Truncated
            | LoadImageError::BadSegmentCount
            | LoadImageError::LengthMismatch
            | LoadImageError::SegmentLengths
            | LoadImageError::EmptySegment { .. }
            | LoadImageError::Overlap { .. } => EINVAL,
        }
    }
}

impl fmt::Display for LoadImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadImageError::Truncated => f.write_str("load image shorter than its 88-byte header"),
            LoadImageError::BadMagic => {
                f.write_str("not a mint load image (bad magic; use mint-kexec)")
            }
            LoadImageError::BadVersion => {
                write!(f, "unsupported load image version (expected {VERSION})")
            }
            LoadImageError::BadSegmentCount => {
                write!(f, "load image segment count must be 1 to {MAX_SEGMENTS}")
            }
            LoadImageError::TooLarge => {
                write!(f, "load image larger than {} MiB", MAX_TOTAL_LEN >> 20)
            }
            LoadImageError::LengthMismatch => {
                f.write_str("load image length differs from its header's total_len")
            }
            LoadImageError::SegmentLengths => {
                f.write_str("load image segment lengths do not add up to its total length")
            }
            LoadImageError::EmptySegment { index } => {
                write!(f, "load image segment {index} is empty")
            }
            LoadImageError::OutsideMemory { index } => {
                write!(
                    f,
                    "load image segment {index} does not lie inside one range of the partition's memory"
                )
            }
            LoadImageError::Overlap { first, second } => {
                write!(f, "load image segments {first} and {second} overlap")
            }
            LoadImageError::BootParamsOutside => {
                f.write_str("load image boot_params is not followed by 4 KiB inside one segment")
            }
            LoadImageError::EntryOutside => {
                f.write_str("load image entry point is not inside a segment")
            }
            LoadImageError::BadFlags => f.write_str(
                "load image flags are invalid (unknown bits, or a reserved field that is not 0)",
            ),
            LoadImageError::Above4G => f.write_str(
                "load image entry point or boot_params lies above 4 GiB, out of the 32-bit \
                 boot protocol's reach (FLAG_ENTRY_64 not set)",
            ),
            LoadImageError::BadStatusPage => {
                f.write_str("load image status page address is not 4 KiB aligned")
            }
            LoadImageError::StatusPageOutside => f.write_str(
                "load image status page does not lie inside one range of the partition's memory",
            ),
            LoadImageError::BadConsole(e) => write!(f, "load image console region: {e}"),
            LoadImageError::ConsoleOutside => f.write_str(
                "load image console region does not lie inside one range of the partition's memory",
            ),
            LoadImageError::ConsoleOverlap => {
                f.write_str("load image console region overlaps a segment or the status page")
            }
            LoadImageError::ConsoleWithoutStatusPage => {
                f.write_str("load image has a console region but no status page")
            }
        }
    }
}

impl core::error::Error for LoadImageError {}

fn read_u32(b: &[u8], off: usize) -> Option<u32> {
    let bytes = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn read_u64(b: &[u8], off: usize) -> Option<u64> {
    let bytes = b.get(off..off.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// Header checks shared by [`total_len_from_prefix`] and [`parse`]; `prefix`
/// holds at least [`HEADER_LEN`] bytes. Returns `(count, total_len)`.
fn check_header(prefix: &[u8]) -> Result<(u32, u64), LoadImageError> {
    if prefix.get(OFF_MAGIC..OFF_MAGIC + MAGIC.len()) != Some(&MAGIC[..]) {
        return Err(LoadImageError::BadMagic);
    }
    if read_u32(prefix, OFF_VERSION) != Some(VERSION) {
        return Err(LoadImageError::BadVersion);
    }
    let count = read_u32(prefix, OFF_COUNT).ok_or(LoadImageError::Truncated)?;
    if count == 0 || count > MAX_SEGMENTS {
        return Err(LoadImageError::BadSegmentCount);
    }
    let total = read_u64(prefix, OFF_TOTAL_LEN).ok_or(LoadImageError::Truncated)?;
    if total > MAX_TOTAL_LEN {
        return Err(LoadImageError::TooLarge);
    }
    // Header and table must fit.
    let minimum = (HEADER_LEN as u64) + u64::from(count) * (SEGMENT_DESC_LEN as u64);
    if total < minimum {
        return Err(LoadImageError::SegmentLengths);
    }
    Ok((count, total))
}

/// The total length announced by the first bytes of a blob, so that a module
/// receiving the blob in chunks knows when it is complete.
///
/// `None` until [`HEADER_LEN`] bytes are there; then the header's magic,
/// version, segment count and `total_len` (at most [`MAX_TOTAL_LEN`], at least
/// enough for header and table) are checked.
pub fn total_len_from_prefix(prefix: &[u8]) -> Option<Result<u64, LoadImageError>> {
    if prefix.len() < HEADER_LEN {
        return None;
    }
    Some(check_header(prefix).map(|(_, total)| total))
}

/// A parsed load image borrowing the blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadImage<'a> {
    entry: u64,
    boot_params: u64,
    flags: u32,
    status_page: u64,
    console: Option<Layout>,
    count: u32,
    table: &'a [u8],
    data: &'a [u8],
}

/// Checks a complete blob: magic, version, segment count, `total_len` equal to
/// the blob's length, the flags and reserved fields, the status page's
/// alignment, the console region's layout, and table plus data lengths
/// adding up exactly, with no zero-length segment. Addresses are checked by
/// [`LoadImage::validate_within`].
pub fn parse(blob: &[u8]) -> Result<LoadImage<'_>, LoadImageError> {
    if blob.len() < HEADER_LEN {
        return Err(LoadImageError::Truncated);
    }
    let (count, total) = check_header(blob)?;
    if u64::try_from(blob.len()).ok() != Some(total) {
        return Err(LoadImageError::LengthMismatch);
    }
    let entry = read_u64(blob, OFF_ENTRY).ok_or(LoadImageError::Truncated)?;
    let boot_params = read_u64(blob, OFF_BOOT_PARAMS).ok_or(LoadImageError::Truncated)?;
    let flags = read_u32(blob, OFF_FLAGS).ok_or(LoadImageError::Truncated)?;
    let reserved = read_u32(blob, OFF_FLAGS + 4).ok_or(LoadImageError::Truncated)?;
    let page_table = read_u64(blob, OFF_PAGE_TABLE).ok_or(LoadImageError::Truncated)?;
    if flags & !FLAG_ENTRY_64 != 0 || reserved != 0 || page_table != 0 {
        return Err(LoadImageError::BadFlags);
    }
    let status_page = read_u64(blob, OFF_STATUS_PAGE).ok_or(LoadImageError::Truncated)?;
    if status_page % STATUS_PAGE_LEN != 0 {
        return Err(LoadImageError::BadStatusPage);
    }
    let console = parse_console(blob)?;
    if console.is_some() && status_page == 0 {
        return Err(LoadImageError::ConsoleWithoutStatusPage);
    }
    let table_end = (count as usize)
        .checked_mul(SEGMENT_DESC_LEN)
        .and_then(|t| t.checked_add(HEADER_LEN))
        .ok_or(LoadImageError::SegmentLengths)?;
    let table = blob
        .get(HEADER_LEN..table_end)
        .ok_or(LoadImageError::SegmentLengths)?;
    let data = blob
        .get(table_end..)
        .ok_or(LoadImageError::SegmentLengths)?;
    let mut sum: u64 = 0;
    for (index, desc) in (0u32..).zip(table.chunks_exact(SEGMENT_DESC_LEN)) {
        let len = read_u64(desc, 8).ok_or(LoadImageError::SegmentLengths)?;
        if len == 0 {
            return Err(LoadImageError::EmptySegment { index });
        }
        sum = sum.checked_add(len).ok_or(LoadImageError::SegmentLengths)?;
    }
    if u64::try_from(data.len()).ok() != Some(sum) {
        return Err(LoadImageError::SegmentLengths);
    }
    Ok(LoadImage {
        entry,
        boot_params,
        flags,
        status_page,
        console,
        count,
        table,
        data,
    })
}

/// The console region fields: all zero for none, else a valid layout.
fn parse_console(blob: &[u8]) -> Result<Option<Layout>, LoadImageError> {
    let word = |off: usize| {
        read_u32(blob, off)
            .map(u64::from)
            .ok_or(LoadImageError::Truncated)
    };
    let base = read_u64(blob, OFF_CONSOLE).ok_or(LoadImageError::Truncated)?;
    let len = word(OFF_CONSOLE_LEN)?;
    let record = word(OFF_RECORD_SIZE)?;
    let console = word(OFF_CONSOLE_SIZE)?;
    let pmsg = word(OFF_PMSG_SIZE)?;
    if base | len | record | console | pmsg == 0 {
        return Ok(None);
    }
    Layout::new(base, len, record, console, pmsg)
        .map(Some)
        .map_err(LoadImageError::BadConsole)
}

impl<'a> LoadImage<'a> {
    /// Physical address of the kernel's entry point.
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// Whether the kernel is entered through the 64-bit boot protocol
    /// ([`FLAG_ENTRY_64`]; on identity page tables the module builds), not
    /// the 32-bit one.
    pub fn entry_64(&self) -> bool {
        self.flags & FLAG_ENTRY_64 != 0
    }

    /// Physical address of the partition's 4 KiB status page (see the module
    /// notes), or `None` if the image has none.
    pub fn status_page(&self) -> Option<u64> {
        (self.status_page != 0).then_some(self.status_page)
    }

    /// The partition's ramoops region (console ring and crash records), or
    /// `None` if the image has none.
    pub fn console(&self) -> Option<Layout> {
        self.console
    }

    /// Physical address of the zero page (`struct boot_params`).
    pub fn boot_params(&self) -> u64 {
        self.boot_params
    }

    /// Number of segments.
    pub fn segment_count(&self) -> u32 {
        self.count
    }

    /// The segments in table order, as `(dest, data)`.
    pub fn segments(&self) -> Segments<'a> {
        Segments {
            table: self.table,
            data: self.data,
        }
    }

    /// Checks the image against the partition's memory, its `ranges` (in any
    /// order; the module passes its claimed ranges): every segment inside
    /// one range (no wrap), no two segments overlapping, the 4 KiB at
    /// `boot_params` inside one segment, `entry` inside a segment, both below
    /// 4 GiB ([`LIMIT_32`]) without [`FLAG_ENTRY_64`], the status page, if
    /// any, inside one range, and the console region, if any, inside one
    /// range and clear of every segment and the status page (the
    /// partition's kernel writes there from its first printk on). A piece
    /// that spans two adjacent ranges is refused: each must lie inside one.
    pub fn validate_within(&self, ranges: &[MemRange]) -> Result<(), LoadImageError> {
        let in_memory = |start: u64, len: u64| ranges.iter().any(|r| r.contains_range(start, len));
        for (index, (dest, data)) in (0u32..).zip(self.segments()) {
            let len =
                u64::try_from(data.len()).map_err(|_| LoadImageError::OutsideMemory { index })?;
            if !in_memory(dest, len) {
                return Err(LoadImageError::OutsideMemory { index });
            }
        }
        // Every segment is now a valid, non-wrapping range.
        for (first, (a, a_data)) in (0u32..).zip(self.segments()) {
            let a_range = MemRange {
                start: a,
                size: a_data.len() as u64,
            };
            for (second, (b, b_data)) in (0u32..).zip(self.segments()).skip(first as usize + 1) {
                if a_range.overlaps(&MemRange {
                    start: b,
                    size: b_data.len() as u64,
                }) {
                    return Err(LoadImageError::Overlap { first, second });
                }
            }
        }
        let inside = |addr: u64, len: u64| {
            self.segments().any(|(dest, data)| {
                MemRange {
                    start: dest,
                    size: data.len() as u64,
                }
                .contains_range(addr, len)
            })
        };
        if !inside(self.boot_params, BOOT_PARAMS_LEN) {
            return Err(LoadImageError::BootParamsOutside);
        }
        if !inside(self.entry, 1) {
            return Err(LoadImageError::EntryOutside);
        }
        // Both lie in a segment now, so neither sum wraps.
        if !self.entry_64()
            && (self.entry >= LIMIT_32 || self.boot_params + BOOT_PARAMS_LEN > LIMIT_32)
        {
            return Err(LoadImageError::Above4G);
        }
        if let Some(page) = self.status_page() {
            if !in_memory(page, STATUS_PAGE_LEN) {
                return Err(LoadImageError::StatusPageOutside);
            }
        }
        if let Some(layout) = self.console {
            let r = layout.region();
            let region = MemRange {
                start: r.start,
                size: r.end - r.start,
            };
            if !in_memory(region.start, region.size) {
                return Err(LoadImageError::ConsoleOutside);
            }
            let page = self.status_page().map(|p| (p, STATUS_PAGE_LEN));
            let clash = self
                .segments()
                .map(|(dest, data)| (dest, data.len() as u64))
                .chain(page)
                .any(|(start, size)| region.overlaps(&MemRange { start, size }));
            if clash {
                return Err(LoadImageError::ConsoleOverlap);
            }
        }
        Ok(())
    }
}

/// Iterator over the segments of a [`LoadImage`], yielding `(dest, data)`.
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    table: &'a [u8],
    data: &'a [u8],
}

impl<'a> Iterator for Segments<'a> {
    type Item = (u64, &'a [u8]);
    fn next(&mut self) -> Option<(u64, &'a [u8])> {
        let desc = self.table.get(..SEGMENT_DESC_LEN)?;
        let dest = read_u64(desc, 0)?;
        let len = usize::try_from(read_u64(desc, 8)?).ok()?;
        let data = self.data.get(..len)?;
        self.table = self.table.get(SEGMENT_DESC_LEN..)?;
        self.data = self.data.get(len..)?;
        Some((dest, data))
    }
}

/// What the agent (mint.ko inside the partition) reports in the status
/// page's EVENT field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum StatusEvent {
    /// Nothing happened yet (the page is scrubbed to zero).
    None = 0,
    /// The partition's kernel is rebooting.
    Reboot = 1,
    /// The partition's kernel is powering off.
    Poweroff = 2,
    /// The partition's kernel is halting.
    Halt = 3,
    /// The partition's kernel panicked.
    Panic = 4,
}

impl StatusEvent {
    /// The event with EVENT value `v`; `None` for an unknown value.
    pub fn from_u32(v: u32) -> Option<StatusEvent> {
        match v {
            0 => Some(StatusEvent::None),
            1 => Some(StatusEvent::Reboot),
            2 => Some(StatusEvent::Poweroff),
            3 => Some(StatusEvent::Halt),
            4 => Some(StatusEvent::Panic),
            _ => None,
        }
    }

    /// The EVENT value of this event.
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// How the partition ended, if this event ends it ([`StatusEvent::None`] does not).
    pub fn outcome(self) -> Option<Outcome> {
        match self {
            StatusEvent::None => None,
            StatusEvent::Reboot => Some(Outcome::Rebooted),
            StatusEvent::Poweroff => Some(Outcome::PoweredOff),
            StatusEvent::Halt => Some(Outcome::Halted),
            StatusEvent::Panic => Some(Outcome::Panicked),
        }
    }
}

/// How a partition ended, as its status page tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It rebooted.
    Rebooted,
    /// It powered off (entered S5).
    PoweredOff,
    /// It halted.
    Halted,
    /// It panicked.
    Panicked,
}

impl Outcome {
    /// A one-word name: `rebooted`, `powered-off`, `halted` or `panicked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Rebooted => "rebooted",
            Outcome::PoweredOff => "powered-off",
            Outcome::Halted => "halted",
            Outcome::Panicked => "panicked",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Byte `off` of `b`, 0 past its end.
fn byte_or_zero(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

/// The u32 at `off` of `b`, its missing bytes read as 0.
fn u32_or_zero(b: &[u8], off: usize) -> u32 {
    let mut v = [0u8; 4];
    for (i, x) in v.iter_mut().enumerate() {
        *x = byte_or_zero(b, off.saturating_add(i));
    }
    u32::from_le_bytes(v)
}

/// How the partition ended, read from the start of its status page
/// (at least [`STATUS_FIELDS_LEN`] bytes; bytes past the end of
/// `page_prefix` read as 0), or `None` while nothing says it ended.
///
/// EVENT comes first, if it is a known, non-zero [`StatusEvent`] (the agent
/// knows best); else RESET equal to [`RESET_VALUE`] means
/// [`Outcome::Rebooted`]; else [`SLP_EN`] set in SLEEP means
/// [`Outcome::PoweredOff`].
pub fn decode_status(page_prefix: &[u8]) -> Option<Outcome> {
    let event = StatusEvent::from_u32(u32_or_zero(page_prefix, STATUS_EVENT_OFF));
    if let Some(outcome) = event.and_then(StatusEvent::outcome) {
        return Some(outcome);
    }
    if byte_or_zero(page_prefix, STATUS_RESET_OFF) == RESET_VALUE {
        return Some(Outcome::Rebooted);
    }
    if byte_or_zero(page_prefix, STATUS_SLEEP_OFF) & SLP_EN != 0 {
        return Some(Outcome::PoweredOff);
    }
    None
}

/// Whether the agent has announced itself in the status page (AGENT reads
/// [`AGENT_MAGIC`]).
pub fn agent_registered(page_prefix: &[u8]) -> bool {
    u32_or_zero(page_prefix, STATUS_AGENT_OFF) == AGENT_MAGIC
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec;
    use std::vec::Vec;

    /// Independent little encoder for tests (the real one is in mint-kexec).
    fn encode(entry: u64, boot_params: u64, segments: &[(u64, &[u8])]) -> Vec<u8> {
        encode_flags(entry, boot_params, 0, 0, segments)
    }

    fn encode_flags(
        entry: u64,
        boot_params: u64,
        flags: u32,
        page_table: u64,
        segments: &[(u64, &[u8])],
    ) -> Vec<u8> {
        encode_full(entry, boot_params, flags, page_table, 0, segments)
    }

    fn encode_full(
        entry: u64,
        boot_params: u64,
        flags: u32,
        page_table: u64,
        status_page: u64,
        segments: &[(u64, &[u8])],
    ) -> Vec<u8> {
        encode_console(
            entry,
            boot_params,
            flags,
            page_table,
            status_page,
            [0; 5],
            segments,
        )
    }

    /// `console`: region address, length, record, console and pmsg sizes.
    fn encode_console(
        entry: u64,
        boot_params: u64,
        flags: u32,
        page_table: u64,
        status_page: u64,
        console: [u64; 5],
        segments: &[(u64, &[u8])],
    ) -> Vec<u8> {
        let data_len: usize = segments.iter().map(|(_, d)| d.len()).sum();
        let total = HEADER_LEN + segments.len() * SEGMENT_DESC_LEN + data_len;
        let mut v = Vec::new();
        v.extend_from_slice(&MAGIC);
        v.extend_from_slice(&VERSION.to_le_bytes());
        v.extend_from_slice(&(segments.len() as u32).to_le_bytes());
        v.extend_from_slice(&entry.to_le_bytes());
        v.extend_from_slice(&boot_params.to_le_bytes());
        v.extend_from_slice(&(total as u64).to_le_bytes());
        v.extend_from_slice(&flags.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&page_table.to_le_bytes());
        v.extend_from_slice(&status_page.to_le_bytes());
        v.extend_from_slice(&console[0].to_le_bytes());
        for size in &console[1..] {
            v.extend_from_slice(&(*size as u32).to_le_bytes());
        }
        assert_eq!(v.len(), HEADER_LEN);
        for (dest, d) in segments {
            v.extend_from_slice(&dest.to_le_bytes());
            v.extend_from_slice(&(d.len() as u64).to_le_bytes());
        }
        for (_, d) in segments {
            v.extend_from_slice(d);
        }
        v
    }

    const WINDOW: MemRange = MemRange {
        start: 0x2000_0000,
        size: 0x1000_0000,
    };

    fn sample() -> Vec<u8> {
        let zero_page = vec![0u8; 4096];
        let kernel = vec![0xccu8; 10000];
        encode(
            0x2010_0000,
            0x2000_1000,
            &[(0x2000_1000, &zero_page), (0x2010_0000, &kernel)],
        )
    }

    #[test]
    fn entry_64_flags() {
        let zp = vec![0u8; 4096];
        let k = vec![0xccu8; 8192];
        let segs: &[(u64, &[u8])] = &[(0x2000_0000, &zp), (0x2020_0000, &k)];
        // The bzImage's 64-bit entry: load address + 0x200.
        let ok = encode_flags(0x2020_0200, 0x2000_0000, FLAG_ENTRY_64, 0, segs);
        let img = parse(&ok).unwrap();
        assert!(img.entry_64());
        assert_eq!(img.validate_within(&[WINDOW]), Ok(()));
        // Flags at offset 40, bit 0.
        assert_eq!(&ok[40..44], &[1, 0, 0, 0]);
        let plain = encode(0x2020_0000, 0x2000_0000, segs);
        assert!(!parse(&plain).unwrap().entry_64());
        // Unknown flags; any non-zero reserved page_table (offset 48), with
        // or without the flag, aligned or not; a non-zero reserved u32 at 44.
        for (flags, pt) in [
            (2, 0),
            (3, 0),
            (0x8000_0000, 0),
            (0, 0x2001_0000),
            (FLAG_ENTRY_64, 0x2001_0000),
            (FLAG_ENTRY_64, 1),
            (FLAG_ENTRY_64, u64::MAX),
        ] {
            let b = encode_flags(0x2020_0200, 0x2000_0000, flags, pt, segs);
            assert_eq!(
                parse(&b),
                Err(LoadImageError::BadFlags),
                "flags {flags:#x} page_table {pt:#x}"
            );
        }
        let mut b = ok.clone();
        b[44] = 1;
        assert_eq!(parse(&b), Err(LoadImageError::BadFlags));
        assert_eq!(LoadImageError::BadFlags.errno(), 22);
    }

    #[test]
    fn the_32_bit_entry_stays_below_4g() {
        const G4: u64 = 1 << 32;
        let zp = vec![0u8; 4096];
        let k = vec![0xccu8; 8192];
        // A range straddling 4 GiB, and one above it.
        let mem = [
            MemRange {
                start: G4 - 0x10_0000,
                size: 0x20_0000,
            },
            MemRange {
                start: 0x1_4000_0000,
                size: 0x4000_0000,
            },
        ];
        let check = |flags, entry, bp, segs: &[(u64, &[u8])]| {
            parse(&encode_flags(entry, bp, flags, 0, segs))
                .unwrap()
                .validate_within(&mem)
        };
        // The zero page's last byte at 4 GiB - 1, the entry at 4 GiB - 1: fine.
        let below: &[(u64, &[u8])] = &[(G4 - 0x4000, &zp), (G4 - 0x2000, &k[..0x2000])];
        assert_eq!(check(0, G4 - 1, G4 - 0x1000, below), Ok(()));
        // The entry at 4 GiB, or the zero page crossing it by one byte.
        let across: &[(u64, &[u8])] = &[(G4 - 0x1000, &k), (G4 + 0x2000, &zp)];
        assert_eq!(
            check(0, G4 + 0x2000, G4 - 0x1000, across),
            Err(LoadImageError::Above4G)
        );
        assert_eq!(
            check(0, G4 - 0x1000, G4 - 0x1000 + 1, across),
            Err(LoadImageError::Above4G)
        );
        assert_eq!(
            check(0, G4, G4 - 0x1000 + 1, across),
            Err(LoadImageError::Above4G)
        );
        // Everything above 4 GiB.
        let high: &[(u64, &[u8])] = &[(0x1_4000_0000, &zp), (0x1_4020_0000, &k)];
        assert_eq!(
            check(0, 0x1_4020_0000, 0x1_4000_0000, high),
            Err(LoadImageError::Above4G)
        );
        // The same with FLAG_ENTRY_64: anywhere.
        assert_eq!(check(FLAG_ENTRY_64, G4, G4 - 0x1000 + 1, across), Ok(()));
        assert_eq!(
            check(FLAG_ENTRY_64, 0x1_4020_0200, 0x1_4000_0000, high),
            Ok(())
        );
        let e = LoadImageError::Above4G;
        assert_eq!(e.errno(), 34, "ERANGE");
        assert!(e.to_string().contains("4 GiB"), "{e}");
        // The memory checks come first: outside the ranges is EADDRNOTAVAIL.
        let outside: &[(u64, &[u8])] = &[(0x2_0000_0000, &zp)];
        assert_eq!(
            check(0, 0x2_0000_0000, 0x2_0000_0000, outside),
            Err(LoadImageError::OutsideMemory { index: 0 })
        );
    }

    #[test]
    fn several_ranges() {
        let zp = vec![0u8; 4096];
        let k = vec![0xccu8; 0x2000];
        // 512M@0x180000000 and, adjacent, 256M@0x1a0000000; then 16M@0x20000000.
        let a = MemRange {
            start: 0x1_8000_0000,
            size: 0x2000_0000,
        };
        let b = MemRange {
            start: 0x1_a000_0000,
            size: 0x1000_0000,
        };
        let low = MemRange {
            start: 0x2000_0000,
            size: 0x100_0000,
        };
        let mem = [b, low, a]; // any order
        let seam = 0x1_a000_0000;
        let top = b.start + b.size;
        let check = |segs: &[(u64, &[u8])], page: u64, console: [u64; 5]| {
            let blob = encode_console(0, 0, FLAG_ENTRY_64, 0, page, console, segs);
            // entry and boot_params: the first segment.
            let mut blob = blob;
            let first = segs[0].0;
            blob[16..24].copy_from_slice(&first.to_le_bytes());
            blob[24..32].copy_from_slice(&first.to_le_bytes());
            parse(&blob).unwrap().validate_within(&mem)
        };
        let mib = |base: u64| [base, 0x10_0000, 0x1_0000, 0x8_0000, 0x1_0000];
        // The zero page in one range, the kernel in another, the status page
        // in the third, the console region at the top of the second.
        assert_eq!(
            check(
                &[(a.start, &zp), (seam, &k), (0x2000_0000, &k)],
                low.start + 0x10_0000,
                mib(top - 0x10_0000)
            ),
            Ok(())
        );
        // A segment ending exactly at the seam, one starting there: fine;
        // one across the seam of the two adjacent ranges: refused.
        assert_eq!(check(&[(seam - 0x2000, &k), (seam, &k)], 0, [0; 5]), Ok(()));
        assert_eq!(
            check(&[(a.start, &zp), (seam - 0x1000, &k)], 0, [0; 5]),
            Err(LoadImageError::OutsideMemory { index: 1 })
        );
        // Between the ranges (0x21000000 .. 0x180000000): refused.
        assert_eq!(
            check(&[(a.start, &zp), (low.start + low.size, &k)], 0, [0; 5]),
            Err(LoadImageError::OutsideMemory { index: 1 })
        );
        // The status page and the console region must lie inside one range too.
        assert_eq!(
            check(&[(a.start, &zp)], low.start + low.size, [0; 5]),
            Err(LoadImageError::StatusPageOutside)
        );
        assert_eq!(
            check(&[(a.start, &zp)], a.start + 0x10_0000, mib(seam - 0x8_0000)),
            Err(LoadImageError::ConsoleOutside)
        );
        assert_eq!(
            check(&[(a.start, &zp)], a.start + 0x10_0000, mib(seam)),
            Ok(())
        );
        // No ranges at all: nothing is inside.
        let blob = encode(0x2000_0000, 0x2000_0000, &[(0x2000_0000, &zp)]);
        assert_eq!(
            parse(&blob).unwrap().validate_within(&[]),
            Err(LoadImageError::OutsideMemory { index: 0 })
        );
    }

    #[test]
    fn roundtrip() {
        let blob = sample();
        assert_eq!(total_len_from_prefix(&blob[..HEADER_LEN - 1]), None);
        assert_eq!(
            total_len_from_prefix(&blob[..HEADER_LEN]),
            Some(Ok(blob.len() as u64))
        );
        let img = parse(&blob).unwrap();
        assert_eq!(img.entry(), 0x2010_0000);
        assert_eq!(img.boot_params(), 0x2000_1000);
        assert_eq!(img.segment_count(), 2);
        let segs: Vec<_> = img.segments().collect();
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].0, 0x2000_1000);
        assert_eq!(segs[0].1.len(), 4096);
        assert_eq!(segs[1].0, 0x2010_0000);
        assert!(segs[1].1.iter().all(|b| *b == 0xcc) && segs[1].1.len() == 10000);
        assert_eq!(img.validate_within(&[WINDOW]), Ok(()));
    }

    #[test]
    fn header_errors() {
        let blob = sample();
        assert_eq!(parse(&blob[..20]), Err(LoadImageError::Truncated));
        let mut b = blob.clone();
        b[0] = b'X';
        assert_eq!(parse(&b), Err(LoadImageError::BadMagic));
        assert_eq!(
            total_len_from_prefix(&b[..HEADER_LEN]),
            Some(Err(LoadImageError::BadMagic))
        );
        // Version 4 (the page table address at 48) and others are refused.
        for version in [3u8, 4, 6] {
            let mut b = blob.clone();
            b[8] = version;
            assert_eq!(parse(&b), Err(LoadImageError::BadVersion));
            assert_eq!(
                total_len_from_prefix(&b[..HEADER_LEN]),
                Some(Err(LoadImageError::BadVersion))
            );
        }
        for count in [0u32, 17, u32::MAX] {
            let mut b = blob.clone();
            b[12..16].copy_from_slice(&count.to_le_bytes());
            assert_eq!(parse(&b), Err(LoadImageError::BadSegmentCount));
        }
        let mut b = blob.clone();
        b[32..40].copy_from_slice(&(MAX_TOTAL_LEN + 1).to_le_bytes());
        assert_eq!(
            total_len_from_prefix(&b[..HEADER_LEN]),
            Some(Err(LoadImageError::TooLarge))
        );
        b[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(parse(&b), Err(LoadImageError::TooLarge));
        // total_len too small for header and table of 2 segments.
        let mut b = blob.clone();
        b[32..40].copy_from_slice(&40u64.to_le_bytes());
        assert_eq!(
            total_len_from_prefix(&b),
            Some(Err(LoadImageError::SegmentLengths))
        );
        // Blob longer or shorter than total_len.
        let mut b = blob.clone();
        b.push(0);
        assert_eq!(parse(&b), Err(LoadImageError::LengthMismatch));
        assert_eq!(
            parse(&blob[..blob.len() - 1]),
            Err(LoadImageError::LengthMismatch)
        );
    }

    #[test]
    fn segment_length_errors() {
        let blob = sample();
        // Segment 1 claims one byte less than the data holds.
        let mut b = blob.clone();
        b[HEADER_LEN + 16 + 8..HEADER_LEN + 32].copy_from_slice(&9999u64.to_le_bytes());
        assert_eq!(parse(&b), Err(LoadImageError::SegmentLengths));
        // Lengths that overflow when summed.
        let mut b = blob.clone();
        b[HEADER_LEN + 8..HEADER_LEN + 16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(parse(&b), Err(LoadImageError::SegmentLengths));
        // Zero-length segment.
        let b = encode(0, 0, &[(0x1000, &[]), (0x2000, &[1, 2, 3])]);
        assert_eq!(parse(&b), Err(LoadImageError::EmptySegment { index: 0 }));
    }

    #[test]
    fn window_errors() {
        let zp = vec![0u8; 4096];
        let k = vec![1u8; 8192];
        let check = |entry, bp, segs: &[(u64, &[u8])]| {
            let b = encode(entry, bp, segs);
            parse(&b).unwrap().validate_within(&[WINDOW])
        };
        let start = WINDOW.start;
        let end = WINDOW.end();
        // Segment ending exactly at the window's end is fine.
        assert_eq!(check(end - 8192, end - 8192, &[(end - 8192, &k)]), Ok(()));
        assert_eq!(
            check(start, start, &[(start, &zp), (end - 4096, &k)]),
            Err(LoadImageError::OutsideMemory { index: 1 })
        );
        assert_eq!(
            check(start, start, &[(start - 4096, &k)]),
            Err(LoadImageError::OutsideMemory { index: 0 })
        );
        assert_eq!(
            check(start, start, &[(u64::MAX - 100, &k)]),
            Err(LoadImageError::OutsideMemory { index: 0 })
        );
        assert_eq!(
            check(start, start, &[(start, &k), (start + 4096, &zp)]),
            Err(LoadImageError::Overlap {
                first: 0,
                second: 1
            })
        );
        // Boot params: only 4095 bytes left in the segment.
        assert_eq!(
            check(start, start + 4097, &[(start, &k)]),
            Err(LoadImageError::BootParamsOutside)
        );
        // Boot params straddling two adjacent segments is refused too.
        assert_eq!(
            check(
                start,
                start + 4096 + 2048,
                &[(start + 4096, &zp), (start + 8192, &zp)]
            ),
            Err(LoadImageError::BootParamsOutside)
        );
        assert_eq!(
            check(start + 8192, start, &[(start, &k)]),
            Err(LoadImageError::EntryOutside)
        );
        assert_eq!(check(start + 8191, start, &[(start, &k)]), Ok(()));
    }

    #[test]
    fn errnos_and_messages() {
        use LoadImageError::*;
        let all = [
            Truncated,
            BadMagic,
            BadVersion,
            BadSegmentCount,
            TooLarge,
            LengthMismatch,
            SegmentLengths,
            EmptySegment { index: 3 },
            OutsideMemory { index: 1 },
            Overlap {
                first: 0,
                second: 2,
            },
            BootParamsOutside,
            EntryOutside,
            BadFlags,
            Above4G,
            BadStatusPage,
            StatusPageOutside,
            BadConsole(ramoops::LayoutError::Misaligned),
            ConsoleOutside,
            ConsoleOverlap,
            ConsoleWithoutStatusPage,
        ];
        for e in all {
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'));
            assert!(matches!(e.errno(), 8 | 22 | 27 | 34 | 99));
        }
        assert_eq!(Above4G.errno(), 34);
        assert_eq!(ConsoleOutside.errno(), 99);
        assert_eq!(BadMagic.errno(), 8);
        assert_eq!(TooLarge.errno(), 27);
        assert_eq!(OutsideMemory { index: 0 }.errno(), 99);
        assert_eq!(StatusPageOutside.errno(), 99);
        assert_eq!(BadStatusPage.errno(), 22);
        assert_eq!(
            Overlap {
                first: 0,
                second: 1
            }
            .errno(),
            22
        );
    }

    #[test]
    fn header_layout() {
        assert_eq!(HEADER_LEN, 88);
        assert_eq!(OFF_PMSG_SIZE + 4, HEADER_LEN);
        let zp = vec![0u8; 4096];
        let b = encode_console(
            0x2000_0000,
            0x2000_0000,
            0,
            0,
            0x2000_f000,
            [0x2ff0_0000, 0x10_0000, 0x1_0000, 0x8_0000, 0x1_0000],
            &[(0x2000_0000, &zp)],
        );
        assert_eq!(&b[0..8], b"MINTLOAD");
        assert_eq!(&b[8..12], &[5, 0, 0, 0], "version 5");
        assert_eq!(&b[56..64], &0x2000_f000u64.to_le_bytes());
        assert_eq!(&b[64..72], &0x2ff0_0000u64.to_le_bytes());
        assert_eq!(&b[72..76], &0x10_0000u32.to_le_bytes());
        assert_eq!(&b[84..88], &0x1_0000u32.to_le_bytes());
        let l = parse(&b).unwrap().console().unwrap();
        assert_eq!(l.region(), 0x2ff0_0000..0x3000_0000);
        assert_eq!(l.console_size(), 0x8_0000);
        // The segment table follows the header.
        assert_eq!(&b[88..96], &0x2000_0000u64.to_le_bytes());
        assert_eq!(&b[96..104], &4096u64.to_le_bytes());
    }

    #[test]
    fn status_page() {
        let zp = vec![0u8; 4096];
        let k = vec![0xccu8; 8192];
        let segs: &[(u64, &[u8])] = &[(0x2000_0000, &zp), (0x2020_0000, &k)];
        let with = |page: u64| encode_full(0x2020_0000, 0x2000_0000, 0, 0, page, segs);
        // None: 0.
        let b = with(0);
        let img = parse(&b).unwrap();
        assert_eq!(img.status_page(), None);
        img.validate_within(&[WINDOW]).unwrap();
        // A page of the window that no segment covers, the last page of the
        // window, and one inside a segment: all accepted.
        for page in [0x2000_f000, WINDOW.end() - 4096, 0x2020_1000] {
            let b = with(page);
            let img = parse(&b).unwrap();
            assert_eq!(img.status_page(), Some(page));
            assert_eq!(img.validate_within(&[WINDOW]), Ok(()), "{page:#x}");
        }
        // With the 64-bit entry too.
        let b = encode_full(
            0x2020_0200,
            0x2000_0000,
            FLAG_ENTRY_64,
            0,
            0x2001_f000,
            segs,
        );
        let img = parse(&b).unwrap();
        assert!(img.entry_64());
        assert_eq!(img.status_page(), Some(0x2001_f000));
        img.validate_within(&[WINDOW]).unwrap();
        // Misaligned.
        for page in [0x2000_f800, 0x2000_f001, 1, u64::MAX] {
            assert_eq!(
                parse(&with(page)),
                Err(LoadImageError::BadStatusPage),
                "{page:#x}"
            );
        }
        // Outside the window: below, at its end, far above, at the top of
        // the address space (the page would wrap).
        for page in [
            WINDOW.start - 4096,
            WINDOW.end(),
            0x1_0000_0000,
            u64::MAX - 4095,
        ] {
            let b = with(page);
            assert_eq!(
                parse(&b).unwrap().validate_within(&[WINDOW]),
                Err(LoadImageError::StatusPageOutside),
                "{page:#x}"
            );
        }
    }

    #[test]
    fn console_region() {
        let zp = vec![0u8; 4096];
        let k = vec![0xccu8; 8192];
        let segs: &[(u64, &[u8])] = &[(0x2000_0000, &zp), (0x2020_0000, &k)];
        let top = WINDOW.end() - 0x10_0000;
        let mib = |base: u64| [base, 0x10_0000, 0x1_0000, 0x8_0000, 0x1_0000];
        let with =
            |c: [u64; 5], page: u64| encode_console(0x2020_0000, 0x2000_0000, 0, 0, page, c, segs);
        // None, and the top MiB of the window.
        assert_eq!(parse(&with([0; 5], 0)).unwrap().console(), None);
        assert_eq!(
            parse(&with(mib(top), 0)),
            Err(LoadImageError::ConsoleWithoutStatusPage)
        );
        let b = with(mib(top), 0x2000_f000);
        let img = parse(&b).unwrap();
        assert_eq!(img.console().map(|l| l.records()), Some(7));
        assert_eq!(img.validate_within(&[WINDOW]), Ok(()));
        // Fields that ramoops would lay out otherwise, or a region without a
        // length.
        for bad in [
            [top, 0x10_0000, 0x1_8000, 0x8_0000, 0x1_0000],
            [top, 0x10_0000, 0x1_0000, 0x10_0000, 0x1_0000],
            [top + 0x800, 0x10_0000, 0x1_0000, 0x8_0000, 0x1_0000],
            [top, 0, 0, 0, 0],
            [0, 0x10_0000, 0x1_0000, 0x8_0000, 0x1_0000],
        ] {
            let e = parse(&with(bad, 0x2000_f000)).err();
            assert!(
                matches!(e, Some(LoadImageError::BadConsole(_))),
                "{bad:x?}: {e:?}"
            );
            let e = e.unwrap();
            assert_eq!(e.errno(), EINVAL);
        }
        // Outside the window: above it, and straddling its end.
        for base in [WINDOW.end(), WINDOW.end() - 0x8_0000] {
            let b = with(mib(base), 0x2000_f000);
            let e = parse(&b).unwrap().validate_within(&[WINDOW]).err().unwrap();
            assert_eq!(e, LoadImageError::ConsoleOutside);
            assert_eq!(e.errno(), EADDRNOTAVAIL);
        }
        // Over the kernel segment, or over the status page.
        let b = with(mib(0x2018_0000), 0x2000_f000);
        assert_eq!(
            parse(&b).unwrap().validate_within(&[WINDOW]),
            Err(LoadImageError::ConsoleOverlap)
        );
        let b = with(mib(top), top + 0x4_0000);
        assert_eq!(
            parse(&b).unwrap().validate_within(&[WINDOW]),
            Err(LoadImageError::ConsoleOverlap)
        );
        // Right below a segment is fine.
        let b = with(mib(0x2010_0000), 0x2000_f000);
        assert_eq!(parse(&b).unwrap().validate_within(&[WINDOW]), Ok(()));
    }

    fn page(reset: u8, sleep: u8, event: u32, agent: u32) -> [u8; STATUS_FIELDS_LEN] {
        let mut p = [0u8; STATUS_FIELDS_LEN];
        p[STATUS_RESET_OFF] = reset;
        p[STATUS_SLEEP_OFF] = sleep;
        p[STATUS_EVENT_OFF..STATUS_EVENT_OFF + 4].copy_from_slice(&event.to_le_bytes());
        p[STATUS_AGENT_OFF..STATUS_AGENT_OFF + 4].copy_from_slice(&agent.to_le_bytes());
        p
    }

    #[test]
    fn status_constants() {
        assert_eq!(STATUS_RESET_OFF, 0);
        assert_eq!(STATUS_SLEEP_OFF, 1);
        assert_eq!(STATUS_EVENT_OFF, 4);
        assert_eq!(STATUS_AGENT_OFF, 8);
        assert_eq!(RESET_VALUE, 1);
        assert_eq!(SLP_EN, 0x20);
        assert_eq!(AGENT_MAGIC, 0x544e_4741);
        assert_eq!(&AGENT_MAGIC.to_le_bytes(), b"AGNT");
        for (v, e) in [
            (0, StatusEvent::None),
            (1, StatusEvent::Reboot),
            (2, StatusEvent::Poweroff),
            (3, StatusEvent::Halt),
            (4, StatusEvent::Panic),
        ] {
            assert_eq!(StatusEvent::from_u32(v), Some(e));
            assert_eq!(e.as_u32(), v);
        }
        for v in [5, 0x100, AGENT_MAGIC, u32::MAX] {
            assert_eq!(StatusEvent::from_u32(v), None);
        }
        assert_eq!(StatusEvent::None.outcome(), None);
        assert_eq!(Outcome::PoweredOff.to_string(), "powered-off");
    }

    #[test]
    fn decode_status_priorities() {
        use Outcome::*;
        // A scrubbed page: nothing happened, with or without the agent.
        assert_eq!(decode_status(&[0; 4096]), None);
        assert_eq!(decode_status(&page(0, 0, 0, AGENT_MAGIC)), None);
        assert!(agent_registered(&page(0, 0, 0, AGENT_MAGIC)));
        assert!(!agent_registered(&page(0, 0, 0, 0)));
        assert!(!agent_registered(&page(0, 0, 0, AGENT_MAGIC)[..11]));
        // The agent's events.
        assert_eq!(decode_status(&page(0, 0, 1, AGENT_MAGIC)), Some(Rebooted));
        assert_eq!(decode_status(&page(0, 0, 2, AGENT_MAGIC)), Some(PoweredOff));
        assert_eq!(decode_status(&page(0, 0, 3, AGENT_MAGIC)), Some(Halted));
        assert_eq!(decode_status(&page(0, 0, 4, 0)), Some(Panicked));
        // The kernel's own ACPI writes: reset 0x01, sleep control 0x34 (the
        // S5 control value, over the 0x80 written first).
        assert_eq!(decode_status(&page(RESET_VALUE, 0, 0, 0)), Some(Rebooted));
        assert_eq!(decode_status(&page(0, 0x34, 0, 0)), Some(PoweredOff));
        assert_eq!(decode_status(&page(0, SLP_EN, 0, 0)), Some(PoweredOff));
        // WAK_STS alone (the first poweroff write) is not yet an outcome; a
        // reset value other than RESET_VALUE is not a reboot.
        assert_eq!(decode_status(&page(0, 0x80, 0, 0)), None);
        assert_eq!(decode_status(&page(2, 0, 0, 0)), None);
        // EVENT first, then RESET, then SLEEP.
        assert_eq!(
            decode_status(&page(RESET_VALUE, 0x34, 4, 0)),
            Some(Panicked)
        );
        assert_eq!(decode_status(&page(RESET_VALUE, 0x34, 3, 0)), Some(Halted));
        assert_eq!(
            decode_status(&page(RESET_VALUE, 0x34, 0, 0)),
            Some(Rebooted)
        );
        // An unknown EVENT is ignored.
        assert_eq!(decode_status(&page(0, 0, 9, 0)), None);
        assert_eq!(decode_status(&page(0, 0x34, 9, 0)), Some(PoweredOff));
        // Short prefixes read as zero past their end; never a panic.
        assert_eq!(decode_status(&[]), None);
        assert_eq!(decode_status(&[RESET_VALUE]), Some(Rebooted));
        assert_eq!(decode_status(&[0, 0x34]), Some(PoweredOff));
        assert_eq!(decode_status(&[0, 0, 0, 0, 4]), Some(Panicked));
        assert_eq!(decode_status(&[0, 0, 0, 0, 4, 1]), None, "EVENT 0x104");
    }

    #[test]
    fn no_panic_on_garbage() {
        let blob = sample();
        // Every truncation and every single-byte corruption must be handled.
        for n in 0..blob.len().min(200) {
            let _ = parse(&blob[..n]);
            let _ = total_len_from_prefix(&blob[..n]);
        }
        for i in 0..(HEADER_LEN + 2 * SEGMENT_DESC_LEN) {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut b = blob.clone();
                b[i] = v;
                if let Ok(img) = parse(&b) {
                    let _ = img.segments().count();
                    let _ = img.validate_within(&[WINDOW]);
                    let _ = img.validate_within(&[]);
                    let _ = img.validate_within(&[
                        WINDOW,
                        MemRange {
                            start: u64::MAX,
                            size: u64::MAX,
                        },
                    ]);
                }
            }
        }
    }
}
