//! The partition's console and crash records: a pstore/ramoops region at the
//! top of its window, which its own kernel fills (the same image as the host;
//! no driver of mint's runs there) and the host decodes.
//!
//! Two halves, both from the kernel's source (`fs/pstore/ram.c`,
//! `fs/pstore/ram_core.c`, `fs/pstore/platform.c` of Linux 6.12):
//!
//! **Layout** ([`Layout`]): ramoops cuts its region `[base, base + len)` into
//! zones, upward: the dmesg (crash) records, then the console ring, then the
//! pmsg ring (ftrace is 0, ECC off). It rounds every size down to a power of
//! two, gives the dmesg records whatever the others leave
//! (`len - console - pmsg`), makes `count = that / record_size` of them, each
//! `ALIGN_DOWN(that / count, 2)` bytes long, and starts the console right
//! after the last record. `mint-kexec` chooses the sizes and passes them as
//! `ramoops.*` parameters; the module computes the same zones from the same
//! numbers in the load image.
//!
//! **Zones** ([`Ring`]): each zone starts with a 12-byte header
//! `{ u32 sig; u32 start; u32 size }` (little-endian) and `capacity = zone -
//! 12` bytes of data. `sig` is [`SIG`] (`"DBGC"`) once the partition's kernel
//! has set the zone up. `size` grows up to `capacity`; `start` is where the
//! next byte goes. The text, oldest byte first, is `data[start..size]`
//! followed by `data[0..start]` (what `persistent_ram_save_old` copies): before
//! the ring wraps `start == size` and the first piece is empty. A header whose
//! `sig` differs, whose `size` exceeds the capacity or whose `start` exceeds
//! `size` is treated as an empty zone: nothing read from the partition is
//! trusted further than the zone it lies in.
//!
//! **Crash records**: the partition's kernel writes one dmesg record per
//! oops or panic (only "part 1" of each), into zones 0, 1, 2, ... in turn. A
//! record's text starts with the line `====<sec>.<usec>-<C|D>` (the time of
//! the crash; `D`: not compressed), then `<Reason>#<n> Part1` (`Panic`,
//! `Oops`, ...), then the end of the kernel log, lines prefixed `<level>`.

use core::ops::Range;

/// The zone signature of dmesg, console and pmsg zones: `"DBGC"` read as a
/// little-endian u32 (`PERSISTENT_RAM_SIG`).
pub const SIG: u32 = 0x4347_4244;
/// Length of the header at the start of every zone.
pub const ZONE_HEADER_LEN: u64 = 12;
/// Smallest region mint accepts.
pub const MIN_REGION: u64 = 64 << 10;
/// Largest region mint accepts.
pub const MAX_REGION: u64 = 1 << 30;
/// Largest dmesg record [`Layout::for_region`] chooses for regions up to
/// 16 MiB (larger regions get larger records, to keep their number small).
pub const MAX_RECORD: u64 = 64 << 10;
/// Smallest dmesg record accepted.
pub const MIN_RECORD: u64 = 4 << 10;
/// Most dmesg records accepted: the host's watcher reads every record
/// zone's header about once a millisecond.
pub const MAX_RECORDS: u64 = 64;
/// The page size every region boundary is aligned to.
const PAGE: u64 = 4096;

const _: () = assert!(SIG == u32::from_le_bytes(*b"DBGC"));

/// Why a region layout is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayoutError {
    /// Base or length is not a multiple of 4 KiB.
    Misaligned,
    /// Length outside [`MIN_REGION`]..=[`MAX_REGION`].
    BadLength,
    /// A zone size is zero or not a power of two.
    NotPowerOfTwo,
    /// Console and pmsg leave no room for one dmesg record.
    NoRoomForRecords,
    /// Records smaller than [`MIN_RECORD`], or more than [`MAX_RECORDS`].
    TooManyRecords,
    /// `base + len` wraps.
    Overflow,
    /// The region starts at address 0 (which means "no region").
    ZeroAddress,
}

impl core::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LayoutError::Misaligned => {
                f.write_str("console region start and size must be multiples of 4 KiB")
            }
            LayoutError::BadLength => write!(
                f,
                "console region size must be {} KiB to {} MiB",
                MIN_REGION >> 10,
                MAX_REGION >> 20
            ),
            LayoutError::NotPowerOfTwo => {
                f.write_str("console region zone sizes must be non-zero powers of two")
            }
            LayoutError::NoRoomForRecords => {
                f.write_str("console region has no room for a crash record")
            }
            LayoutError::TooManyRecords => write!(
                f,
                "console region crash records must be at least {} KiB each and at most {}",
                MIN_RECORD >> 10,
                MAX_RECORDS
            ),
            LayoutError::Overflow => f.write_str("console region wraps around"),
            LayoutError::ZeroAddress => f.write_str("console region at address 0"),
        }
    }
}

impl core::error::Error for LayoutError {}

/// The zones of one ramoops region, as the partition's kernel will lay them
/// out.
///
/// # Invariants
///
/// `base` and `len` are 4 KiB multiples, `len` in
/// [`MIN_REGION`]..=[`MAX_REGION`], `base + len` does not wrap; the sizes are
/// powers of two; `1 <= records <= MAX_RECORDS`, `record_size >=
/// MIN_RECORD`, `records * record_zone + console_size + pmsg_size <= len`,
/// `record_zone > ZONE_HEADER_LEN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    base: u64,
    len: u64,
    record_size: u64,
    console_size: u64,
    pmsg_size: u64,
    records: u64,
    record_zone: u64,
}

impl Layout {
    /// The layout ramoops makes of `[base, base + len)` with these
    /// parameters (each a power of two; ramoops would round them down, mint
    /// refuses instead so both sides agree without rounding).
    pub fn new(
        base: u64,
        len: u64,
        record_size: u64,
        console_size: u64,
        pmsg_size: u64,
    ) -> Result<Self, LayoutError> {
        if base == 0 {
            return Err(LayoutError::ZeroAddress);
        }
        if base % PAGE != 0 || len % PAGE != 0 {
            return Err(LayoutError::Misaligned);
        }
        if !(MIN_REGION..=MAX_REGION).contains(&len) {
            return Err(LayoutError::BadLength);
        }
        base.checked_add(len).ok_or(LayoutError::Overflow)?;
        if ![record_size, console_size, pmsg_size]
            .iter()
            .all(|s| s.is_power_of_two())
        {
            return Err(LayoutError::NotPowerOfTwo);
        }
        let dump = len
            .checked_sub(console_size)
            .and_then(|r| r.checked_sub(pmsg_size))
            .ok_or(LayoutError::NoRoomForRecords)?;
        // (`checked_div`: no panic path in the kernel build; both divisors
        // are non-zero here.)
        let records = dump.checked_div(record_size).unwrap_or(0);
        // ramoops_init_przs: zone_sz = ALIGN_DOWN(mem_sz / cnt, 2).
        let Some(record_zone) = dump.checked_div(records).map(|z| z & !1) else {
            return Err(LayoutError::NoRoomForRecords);
        };
        if record_size < MIN_RECORD || records > MAX_RECORDS {
            return Err(LayoutError::TooManyRecords);
        }
        if record_zone <= ZONE_HEADER_LEN {
            return Err(LayoutError::NoRoomForRecords);
        }
        Ok(Self {
            base,
            len,
            record_size,
            console_size,
            pmsg_size,
            records,
            record_zone,
        })
    }

    /// mint's choice for a region of `len` bytes: the console ring gets the
    /// largest power of two up to half the region, pmsg a sixteenth of it
    /// (at most [`MAX_RECORD`]), the crash records the rest, each a
    /// sixteenth of the region too (a power of two, at most [`MAX_RECORD`]
    /// unless that would make more than 32 of them). 1 MiB: console 512 KiB,
    /// pmsg 64 KiB, 7 records of 64 KiB.
    pub fn for_region(base: u64, len: u64) -> Result<Self, LayoutError> {
        if !(MIN_REGION..=MAX_REGION).contains(&len) {
            return Err(LayoutError::BadLength);
        }
        let console = floor_pow2(len / 2);
        let pmsg = floor_pow2(len / 16).min(MAX_RECORD);
        let dump = len - console - pmsg;
        let record = floor_pow2(len / 16)
            .min(MAX_RECORD)
            .max(floor_pow2(dump / 16));
        Self::new(base, len, record, console, pmsg)
    }

    /// The whole region.
    pub fn region(&self) -> Range<u64> {
        self.base..self.base + self.len
    }

    /// The `ramoops.record_size` parameter.
    pub fn record_size(&self) -> u64 {
        self.record_size
    }

    /// The `ramoops.console_size` parameter.
    pub fn console_size(&self) -> u64 {
        self.console_size
    }

    /// The `ramoops.pmsg_size` parameter.
    pub fn pmsg_size(&self) -> u64 {
        self.pmsg_size
    }

    /// How many crash records the region holds.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Length of each crash record's zone (its header included).
    pub fn record_zone_len(&self) -> u64 {
        self.record_zone
    }

    /// Crash record zone `i` (physical addresses), if it exists.
    pub fn record(&self, i: u64) -> Option<Range<u64>> {
        if i >= self.records {
            return None;
        }
        let start = self.base + i * self.record_zone;
        Some(start..start + self.record_zone)
    }

    /// All crash record zones together (physical addresses).
    pub fn records_area(&self) -> Range<u64> {
        self.base..self.base + self.records * self.record_zone
    }

    /// The console ring's zone (physical addresses).
    pub fn console(&self) -> Range<u64> {
        let start = self.records_area().end;
        start..start + self.console_size
    }

    /// The pmsg ring's zone (physical addresses).
    pub fn pmsg(&self) -> Range<u64> {
        let start = self.console().end;
        start..start + self.pmsg_size
    }
}

/// The largest power of two `<= v` (1 for 0).
fn floor_pow2(v: u64) -> u64 {
    if v == 0 {
        1
    } else {
        1 << (63 - v.leading_zeros())
    }
}

/// The text of one zone, as offsets into its data area (which starts
/// [`ZONE_HEADER_LEN`] bytes into the zone).
///
/// # Invariants
///
/// `start <= size <= capacity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ring {
    start: usize,
    size: usize,
}

impl Ring {
    /// The empty text.
    pub const EMPTY: Ring = Ring { start: 0, size: 0 };

    /// Decodes a zone header (its first 12 bytes) for a zone of `zone_len`
    /// bytes; anything invalid is the empty text.
    pub fn decode(header: &[u8], zone_len: u64) -> Ring {
        let word = |i: usize| {
            header
                .get(i * 4..i * 4 + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
        };
        let (Some(sig), Some(start), Some(size)) = (word(0), word(1), word(2)) else {
            return Ring::EMPTY;
        };
        let capacity = zone_len.saturating_sub(ZONE_HEADER_LEN);
        let (start, size) = (u64::from(start), u64::from(size));
        if sig != SIG || size > capacity || start > size {
            return Ring::EMPTY;
        }
        match (usize::try_from(start), usize::try_from(size)) {
            (Ok(start), Ok(size)) => Ring { start, size },
            _ => Ring::EMPTY,
        }
    }

    /// Length of the text in bytes.
    pub fn len(&self) -> usize {
        self.size
    }

    /// Whether there is no text.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The text, oldest byte first, as at most two ranges of the data area:
    /// `data[start..size]` then `data[0..start]`.
    pub fn pieces(&self) -> [Range<usize>; 2] {
        [self.start..self.size, 0..self.start]
    }

    /// The data-area ranges holding `text[offset..offset + len]` (clipped to
    /// the text), in order; empty ranges where nothing is left.
    pub fn slice(&self, offset: usize, len: usize) -> [Range<usize>; 2] {
        let [a, b] = self.pieces();
        let end = offset.saturating_add(len).min(self.size);
        let offset = offset.min(end);
        let cut = |piece: Range<usize>, from: usize| {
            // `piece` holds text[from..from + piece.len()].
            let lo = offset.clamp(from, from + piece.len());
            let hi = end.clamp(from, from + piece.len());
            piece.start + (lo - from)..piece.start + (hi - from)
        };
        let first = a.len();
        [cut(a, 0), cut(b, first)]
    }
}

/// What a crash record reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// `Panic#N`: the kernel panicked; it will not go on.
    Panic,
    /// `Oops#N`: an oops; the kernel may go on.
    Oops,
    /// Another reason (`Emergency`, `Shutdown`, ...).
    Other,
}

/// The beginning of a crash record's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHead {
    /// The crash time, `(seconds, microseconds)` of the partition's clock.
    pub time: (u64, u32),
    /// What kind of crash.
    pub kind: RecordKind,
    /// The partition's crash counter (`Panic#N`: pstore's count of dumps
    /// since its kernel booted), which orders records; 0 if absent.
    pub count: u32,
    /// Where the record's own text starts (after the `====` line).
    pub body: usize,
}

/// Parses the first bytes of a crash record's text (64 are plenty);
/// `None` unless it starts with a `====<sec>.<usec>-<C|D>` line.
pub fn record_head(prefix: &[u8]) -> Option<RecordHead> {
    let rest = prefix.strip_prefix(b"====")?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let line = &rest[..nl];
    let (stamp, flag) = line.split_at(line.len().checked_sub(2)?);
    if flag != b"-D" && flag != b"-C" {
        return None;
    }
    let dot = stamp.iter().position(|&b| b == b'.')?;
    let sec = parse_decimal(&stamp[..dot])?;
    let usec = u32::try_from(parse_decimal(&stamp[dot + 1..])?).ok()?;
    let body = 4 + nl + 1;
    let text = &prefix[body..];
    let kind = if text.starts_with(b"Panic#") {
        RecordKind::Panic
    } else if text.starts_with(b"Oops#") {
        RecordKind::Oops
    } else {
        RecordKind::Other
    };
    // "<Reason>#<count> Part<n>"
    let count = text
        .iter()
        .position(|&b| b == b'#')
        .filter(|&h| h < 32)
        .and_then(|h| {
            let digits = &text[h + 1..];
            let end = digits.iter().position(|b| !b.is_ascii_digit())?;
            parse_decimal(&digits[..end])
        })
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(0);
    Some(RecordHead {
        time: (sec, usec),
        kind,
        count,
        body,
    })
}

fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

/// The marker of the kernel's panic line.
const PANIC_MARK: &[u8] = b"Kernel panic - not syncing: ";

/// The reason of the last `Kernel panic - not syncing: <reason>` line in
/// `text` (without the line end), if any.
pub fn panic_reason(text: &[u8]) -> Option<&[u8]> {
    let at = text
        .windows(PANIC_MARK.len())
        .rposition(|w| w == PANIC_MARK)?;
    let rest = &text[at + PANIC_MARK.len()..];
    let end = rest
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn zone(sig: u32, start: u32, size: u32, data: &[u8]) -> Vec<u8> {
        let mut z = Vec::new();
        z.extend_from_slice(&sig.to_le_bytes());
        z.extend_from_slice(&start.to_le_bytes());
        z.extend_from_slice(&size.to_le_bytes());
        z.extend_from_slice(data);
        z
    }

    fn text(z: &[u8], ring: Ring) -> Vec<u8> {
        let data = &z[12..];
        ring.pieces()
            .iter()
            .flat_map(|r| data[r.clone()].iter().copied())
            .collect()
    }

    #[test]
    fn default_layout_of_one_mib() {
        // ram.c with mem_size 1 MiB, console 512 KiB, pmsg 64 KiB, record
        // 64 KiB: dump area 448 KiB = 7 records of 64 KiB; console at
        // +448 KiB, pmsg at +960 KiB.
        let l = Layout::for_region(0x3ff0_0000, 0x10_0000).unwrap();
        assert_eq!(
            (l.record_size(), l.console_size(), l.pmsg_size()),
            (0x1_0000, 0x8_0000, 0x1_0000)
        );
        assert_eq!(l.records(), 7);
        assert_eq!(l.record(0), Some(0x3ff0_0000..0x3ff1_0000));
        assert_eq!(l.record(6), Some(0x3ff6_0000..0x3ff7_0000));
        assert_eq!(l.record(7), None);
        assert_eq!(l.console(), 0x3ff7_0000..0x3fff_0000);
        assert_eq!(l.pmsg(), 0x3fff_0000..0x4000_0000);
    }

    #[test]
    fn uneven_dump_area_is_split_like_ram_c() {
        // 1 MiB + 4 KiB: console 512 KiB, record and pmsg 64 KiB; dump area
        // 452 KiB -> 7 records of ALIGN_DOWN(462848 / 7, 2) = 66120 bytes,
        // and the console starts right after them (not at +452 KiB).
        let l = Layout::for_region(0x100000, 0x101000).unwrap();
        assert_eq!(l.records(), 7);
        assert_eq!(l.record_zone_len(), 66120);
        assert_eq!(l.console().start, 0x100000 + 7 * 66120);
        assert!(l.pmsg().end <= 0x100000 + 0x101000);
    }

    #[test]
    fn small_and_large_regions() {
        let l = Layout::for_region(PAGE, 64 << 10).unwrap();
        assert_eq!(
            (l.console_size(), l.record_size(), l.records()),
            (32 << 10, 4 << 10, 7)
        );
        // 16 MiB: console 8 MiB, pmsg 64 KiB; records: 64 KiB would make
        // 127, so 256 KiB (dump / 16 rounded down to a power of two): 31.
        let l = Layout::for_region(1 << 32, 16 << 20).unwrap();
        assert_eq!((l.console_size(), l.pmsg_size()), (8 << 20, 64 << 10));
        assert_eq!((l.record_size(), l.records()), (256 << 10, 31));
        // The largest region keeps the count bounded too.
        let l = Layout::for_region(1 << 32, 1 << 30).unwrap();
        assert!((16..=MAX_RECORDS).contains(&l.records()), "{}", l.records());
    }

    #[test]
    fn refused_layouts() {
        assert_eq!(
            Layout::for_region(PAGE, 60 << 10),
            Err(LayoutError::BadLength)
        );
        assert_eq!(
            Layout::for_region(PAGE, 2 << 30),
            Err(LayoutError::BadLength)
        );
        assert_eq!(
            Layout::for_region(0x800, 1 << 20),
            Err(LayoutError::Misaligned)
        );
        assert_eq!(
            Layout::for_region(PAGE, (1 << 20) + 1),
            Err(LayoutError::Misaligned)
        );
        assert_eq!(
            Layout::for_region(0, 1 << 20),
            Err(LayoutError::ZeroAddress)
        );
        assert_eq!(
            Layout::for_region(0xffff_ffff_ffff_f000, 1 << 20),
            Err(LayoutError::Overflow)
        );
        assert_eq!(
            Layout::new(PAGE, 1 << 20, 3 << 12, 1 << 19, 1 << 16),
            Err(LayoutError::NotPowerOfTwo)
        );
        assert_eq!(
            Layout::new(PAGE, 1 << 20, 1 << 16, 1 << 20, 1 << 16),
            Err(LayoutError::NoRoomForRecords)
        );
        assert_eq!(
            Layout::new(PAGE, 1 << 20, 1 << 20, 1 << 19, 1 << 16),
            Err(LayoutError::NoRoomForRecords)
        );
        // Tiny records, or too many of them.
        assert_eq!(
            Layout::new(PAGE, 1 << 20, 2 << 10, 1 << 19, 1 << 16),
            Err(LayoutError::TooManyRecords)
        );
        assert_eq!(
            Layout::new(PAGE, 1 << 30, 64 << 10, 1 << 29, 1 << 16),
            Err(LayoutError::TooManyRecords)
        );
    }

    #[test]
    fn unwrapped_ring_reads_from_zero() {
        let z = zone(SIG, 5, 5, b"hello....");
        let r = Ring::decode(&z, z.len() as u64);
        assert_eq!(text(&z, r), b"hello");
    }

    #[test]
    fn wrapped_ring_reads_oldest_first() {
        // Capacity 8, full; the next write goes to 3: "DEFGH" are the oldest,
        // then "abc" (written last, at the start).
        let z = zone(SIG, 3, 8, b"abcDEFGH");
        let r = Ring::decode(&z, z.len() as u64);
        assert_eq!(r.len(), 8);
        assert_eq!(text(&z, r), b"DEFGHabc");
        // Any window of the text maps to the right bytes.
        let whole = b"DEFGHabc";
        for off in 0..=9 {
            for len in 0..=9 {
                let got: Vec<u8> = r
                    .slice(off, len)
                    .iter()
                    .flat_map(|x| z[12..][x.clone()].iter().copied())
                    .collect();
                let lo = off.min(8);
                let hi = (off + len).min(8);
                assert_eq!(got, &whole[lo..hi], "offset {off} len {len}");
            }
        }
    }

    #[test]
    fn corrupt_headers_are_empty() {
        let cap = 8u32;
        let bad = [
            zone(0x1234_5678, 0, 4, b"abcdefgh"), // wrong signature
            zone(SIG, 0, cap + 1, b"abcdefgh"),   // size beyond the capacity
            zone(SIG, 5, 4, b"abcdefgh"),         // start beyond size
            zone(SIG, u32::MAX, u32::MAX, b"abcdefgh"),
        ];
        for z in &bad {
            assert_eq!(Ring::decode(z, z.len() as u64), Ring::EMPTY);
        }
        // A header shorter than 12 bytes, or a zone too small for one.
        assert_eq!(Ring::decode(&SIG.to_le_bytes(), 100), Ring::EMPTY);
        assert_eq!(Ring::decode(&zone(SIG, 0, 1, b""), 12), Ring::EMPTY);
    }

    #[test]
    fn record_heads() {
        let h = record_head(b"====12.000345-D\nPanic#1 Part1\n<0>[ 12.3] Kernel panic").unwrap();
        assert_eq!(h.time, (12, 345));
        assert_eq!(h.kind, RecordKind::Panic);
        assert_eq!(h.count, 1);
        assert_eq!(h.body, 16);
        let h = record_head(b"====0.5-D\nOops#2 Part1\n").unwrap();
        assert_eq!((h.kind, h.time, h.count), (RecordKind::Oops, (0, 5), 2));
        // No counter: 0.
        assert_eq!(
            record_head(b"====0.5-D\nPanic Part1\n").map(|h| h.count),
            Some(0)
        );
        assert_eq!(
            record_head(b"====1.2-D\nEmergency#1 Part1\n").map(|h| h.kind),
            Some(RecordKind::Other)
        );
        for bad in [
            &b""[..],
            b"====",
            b"====12.5-X\nPanic#1",
            b"====12-D\nPanic",
            b"====.5-D\n",
            b"====1a.5-D\n",
            b"===12.5-D\n",
            b"====99999999999999999999.1-D\n",
        ] {
            assert_eq!(record_head(bad), None, "{:?}", core::str::from_utf8(bad));
        }
    }

    #[test]
    fn panic_reasons() {
        let rec = b"Panic#1 Part1\n<0>[    3.1] Kernel panic - not syncing: sysrq triggered crash\n<0>[    3.2] CPU: 0 PID: 1\n";
        assert_eq!(panic_reason(rec), Some(&b"sysrq triggered crash"[..]));
        // The last one counts; a reason at the very end has no newline.
        let two = b"Kernel panic - not syncing: first\nKernel panic - not syncing: second";
        assert_eq!(panic_reason(two), Some(&b"second"[..]));
        assert_eq!(panic_reason(b"Oops#1 Part1\nno panic here\n"), None);
        assert_eq!(panic_reason(b""), None);
    }
}

#[cfg(test)]
mod chunk_tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn page_sized_reads_of_a_wrapped_ring_rebuild_the_text() {
        let cap = 524_276usize;
        for start in [0usize, 1, 4095, 200_000, cap - 1] {
            let data: Vec<u8> = (0..cap).map(|i| (i % 251) as u8).collect();
            let mut z = Vec::new();
            z.extend_from_slice(&SIG.to_le_bytes());
            z.extend_from_slice(&(start as u32).to_le_bytes());
            z.extend_from_slice(&(cap as u32).to_le_bytes());
            z.extend_from_slice(&data);
            let r = Ring::decode(&z, z.len() as u64);
            let want: Vec<u8> = data[start..]
                .iter()
                .chain(&data[..start])
                .copied()
                .collect();
            let mut got = Vec::new();
            let mut off = 0;
            loop {
                let mut n = 0;
                for p in r.slice(off, 4096) {
                    got.extend_from_slice(&data[p.clone()]);
                    n += p.len();
                }
                if n == 0 {
                    break;
                }
                off += n;
            }
            assert_eq!(got.len(), want.len());
            assert!(got == want, "start {start}");
        }
    }
}
