//! Physical memory ranges written as `SIZE@START`, as in `crashkernel=`.
//!
//! `SIZE` and `START` are each a decimal or `0x`-hex number with an optional
//! `K`, `M` or `G` suffix (either case, powers of 1024). Both must be 4 KiB
//! aligned, the size must not be zero and the range must not wrap 64 bits.

use core::fmt;

/// Alignment every range must have: the 4 KiB page.
pub const ALIGN: u64 = 4096;

/// Why a `SIZE@START` string or range was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemRangeError {
    /// Nothing was given.
    Empty,
    /// There is no `@` between size and start.
    MissingAt,
    /// A number starts with `-`.
    Negative,
    /// A size or start has no digits where a number is expected.
    BadNumber,
    /// Characters follow a number (and its suffix).
    TrailingJunk,
    /// A number, or a number times its suffix, does not fit in 64 bits.
    Overflow,
    /// The size is zero.
    ZeroSize,
    /// `START + SIZE` does not fit in 64 bits.
    Wraps,
    /// The start is not a multiple of 4 KiB.
    UnalignedStart,
    /// The size is not a multiple of 4 KiB.
    UnalignedSize,
}

impl fmt::Display for MemRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemRangeError::Empty => "empty memory range: expected SIZE@START, e.g. 256M@0x20000000",
            MemRangeError::MissingAt => {
                "memory range needs SIZE@START, e.g. 256M@0x20000000 (no '@' found)"
            }
            MemRangeError::Negative => "memory range numbers must not be negative",
            MemRangeError::BadNumber => "memory range: expected a decimal or 0x-hex number",
            MemRangeError::TrailingJunk => {
                "memory range: unexpected characters after a number (allowed suffixes: K, M, G)"
            }
            MemRangeError::Overflow => "memory range: number does not fit in 64 bits",
            MemRangeError::ZeroSize => "memory range size must not be zero",
            MemRangeError::Wraps => "memory range wraps past the end of the 64-bit address space",
            MemRangeError::UnalignedStart => "memory range start must be 4 KiB aligned",
            MemRangeError::UnalignedSize => "memory range size must be a multiple of 4 KiB",
        })
    }
}

impl core::error::Error for MemRangeError {}

/// A physical memory range `[start, start + size)`.
///
/// Values from [`parse`] and [`MemRange::new`] are valid (non-empty, aligned,
/// not wrapping); the fields are public, so every method also copes with
/// arbitrary values without panicking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemRange {
    /// First byte of the range.
    pub start: u64,
    /// Length of the range in bytes.
    pub size: u64,
}

impl MemRange {
    /// Checks and builds a range: non-zero size, 4 KiB aligned, no wrap.
    pub fn new(start: u64, size: u64) -> Result<MemRange, MemRangeError> {
        if size == 0 {
            return Err(MemRangeError::ZeroSize);
        }
        if start & (ALIGN - 1) != 0 {
            return Err(MemRangeError::UnalignedStart);
        }
        if size & (ALIGN - 1) != 0 {
            return Err(MemRangeError::UnalignedSize);
        }
        if start.checked_add(size).is_none() {
            return Err(MemRangeError::Wraps);
        }
        Ok(MemRange { start, size })
    }

    /// One past the last byte (exclusive end); saturates at `u64::MAX` for a
    /// hand-built range that would wrap.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.size)
    }

    /// Whether the two ranges share at least one byte (empty ranges share none).
    pub fn overlaps(&self, other: &MemRange) -> bool {
        self.size != 0 && other.size != 0 && self.start < other.end() && other.start < self.end()
    }

    /// Whether `[start, start + len)` lies entirely inside this range.
    /// False if either range wraps 64 bits.
    pub fn contains_range(&self, start: u64, len: u64) -> bool {
        let (Some(end), Some(self_end)) =
            (start.checked_add(len), self.start.checked_add(self.size))
        else {
            return false;
        };
        start >= self.start && end <= self_end
    }

    /// Whether the byte at `addr` lies inside this range.
    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.start && addr - self.start < self.size
    }
}

/// Parses one number with optional suffix; `s` must be entirely consumed.
fn parse_number(s: &str) -> Result<u64, MemRangeError> {
    if s.starts_with('-') {
        return Err(MemRangeError::Negative);
    }
    let (radix, digits) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(rest) => (16, rest),
        None => (10, s),
    };
    let mut value: u64 = 0;
    let mut count = 0usize;
    let mut rest = "";
    for (i, c) in digits.char_indices() {
        match c.to_digit(radix) {
            Some(d) => {
                value = value
                    .checked_mul(u64::from(radix))
                    .and_then(|v| v.checked_add(u64::from(d)))
                    .ok_or(MemRangeError::Overflow)?;
                count += 1;
            }
            None => {
                rest = digits.get(i..).unwrap_or("");
                break;
            }
        }
    }
    if count == 0 {
        return Err(MemRangeError::BadNumber);
    }
    let (multiplier, rest) = match rest.as_bytes().first() {
        Some(b'k' | b'K') => (1u64 << 10, rest.get(1..).unwrap_or("")),
        Some(b'm' | b'M') => (1u64 << 20, rest.get(1..).unwrap_or("")),
        Some(b'g' | b'G') => (1u64 << 30, rest.get(1..).unwrap_or("")),
        _ => (1, rest),
    };
    if !rest.is_empty() {
        return Err(MemRangeError::TrailingJunk);
    }
    value.checked_mul(multiplier).ok_or(MemRangeError::Overflow)
}

/// Parses a size alone: a decimal or `0x`-hex number with an optional `K`,
/// `M` or `G` suffix (no alignment check).
pub fn parse_size(s: &str) -> Result<u64, MemRangeError> {
    if s.is_empty() {
        return Err(MemRangeError::Empty);
    }
    parse_number(s)
}

/// Parses `SIZE@START` (one trailing `'\n'` allowed) into a checked range.
pub fn parse(s: &str) -> Result<MemRange, MemRangeError> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    if s.is_empty() {
        return Err(MemRangeError::Empty);
    }
    let Some((size, start)) = s.split_once('@') else {
        // A number with junk but no '@' is still best reported as missing '@'
        // unless it is negative.
        if s.starts_with('-') {
            return Err(MemRangeError::Negative);
        }
        return Err(MemRangeError::MissingAt);
    };
    let size = parse_number(size)?;
    let start = parse_number(start)?;
    MemRange::new(start, size)
}

impl core::str::FromStr for MemRange {
    type Err = MemRangeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl fmt::Display for MemRange {
    /// `SIZE@START` with the largest suffix that divides the size exactly and
    /// the start in hex, e.g. `256M@0x20000000`; parses back to the same range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SUFFIXES: [(u64, &str); 3] = [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
        let (value, suffix) = SUFFIXES
            .iter()
            .find(|(unit, _)| self.size != 0 && self.size & (unit - 1) == 0)
            .map(|(unit, s)| (self.size / unit, *s))
            .unwrap_or((self.size, ""));
        write!(f, "{value}{suffix}@{:#x}", self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    const M: u64 = 1 << 20;

    #[test]
    fn parses() {
        assert_eq!(
            parse("256M@0x20000000"),
            Ok(MemRange {
                start: 0x2000_0000,
                size: 256 * M
            })
        );
        assert_eq!(
            parse("256m@512M\n"),
            Ok(MemRange {
                start: 512 * M,
                size: 256 * M
            })
        );
        assert_eq!(
            parse("0x1000@4096"),
            Ok(MemRange {
                start: 4096,
                size: 4096
            })
        );
        assert_eq!(
            parse("4k@0X2000"),
            Ok(MemRange {
                start: 0x2000,
                size: 4096
            })
        );
        assert_eq!(
            parse("1G@4g"),
            Ok(MemRange {
                start: 4 << 30,
                size: 1 << 30
            })
        );
        assert_eq!(
            parse("0x10M@0x1G"),
            Ok(MemRange {
                start: 1 << 30,
                size: 16 * M
            })
        );
        // Ends exactly at the last page below 2^64.
        assert_eq!(
            parse("4K@0xffffffffffffe000"),
            Ok(MemRange {
                start: 0xffff_ffff_ffff_e000,
                size: 4096
            })
        );
    }

    #[test]
    fn errors() {
        use MemRangeError::*;
        let cases: &[(&str, MemRangeError)] = &[
            ("", Empty),
            ("\n", Empty),
            ("256M", MissingAt),
            ("-1", Negative),
            ("-4K@0", Negative),
            ("4K@-0x1000", Negative),
            ("@0x1000", BadNumber),
            ("4K@", BadNumber),
            ("0x@0", BadNumber),
            ("M@0", BadNumber),
            (" 4K@0", BadNumber),
            ("4KB@0", TrailingJunk),
            ("4K@0x1000 ", TrailingJunk),
            ("4K@0x1000\n\n", TrailingJunk),
            ("4T@0", TrailingJunk),
            ("4K@0@0", TrailingJunk),
            ("99999999999999999999@0", Overflow),
            ("0x10000000000000000@0", Overflow),
            ("17179869184G@0", Overflow),
            ("0@0", ZeroSize),
            ("0M@0x1000", ZeroSize),
            ("8K@0xfffffffffffff000", Wraps),
            ("4K@0xfffffffffffff000", Wraps),
            ("4K@0x1001", UnalignedStart),
            ("4097@0", UnalignedSize),
        ];
        for (input, err) in cases {
            assert_eq!(parse(input), Err(*err), "{input:?}");
            let msg = err.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'));
        }
    }

    #[test]
    fn display_roundtrip() {
        for (input, out) in [
            ("256M@0x20000000", "256M@0x20000000"),
            ("0x40000000@0", "1G@0x0"),
            ("0x1000@0x1000", "4K@0x1000"),
            ("1536M@4G", "1536M@0x100000000"),
            ("12K@0", "12K@0x0"),
        ] {
            let r = parse(input).unwrap();
            assert_eq!(r.to_string(), out);
            assert_eq!(parse(&r.to_string()), Ok(r));
        }
        assert_eq!(
            MemRange {
                start: 5,
                size: 1000
            }
            .to_string(),
            "1000@0x5"
        );
        assert_eq!(MemRange { start: 0, size: 0 }.to_string(), "0@0x0");
    }

    #[test]
    fn geometry() {
        let r = MemRange {
            start: 0x10000,
            size: 0x10000,
        };
        assert_eq!(r.end(), 0x20000);
        assert!(r.overlaps(&MemRange {
            start: 0x1f000,
            size: 0x1000
        }));
        assert!(r.overlaps(&MemRange {
            start: 0,
            size: 0x11000
        }));
        assert!(!r.overlaps(&MemRange {
            start: 0x20000,
            size: 0x1000
        }));
        assert!(!r.overlaps(&MemRange {
            start: 0,
            size: 0x10000
        }));
        assert!(!r.overlaps(&MemRange {
            start: 0x10000,
            size: 0
        }));
        assert!(r.contains_range(0x10000, 0x10000));
        assert!(r.contains_range(0x18000, 0));
        assert!(!r.contains_range(0x10000, 0x10001));
        assert!(!r.contains_range(0xf000, 0x2000));
        assert!(!r.contains_range(u64::MAX, 2));
        assert!(
            r.contains(0x10000) && r.contains(0x1ffff) && !r.contains(0x20000) && !r.contains(0)
        );
        let wrapping = MemRange {
            start: u64::MAX - 10,
            size: 100,
        };
        assert_eq!(wrapping.end(), u64::MAX);
        assert!(!wrapping.contains_range(u64::MAX - 5, 1));
        assert!(wrapping.overlaps(&MemRange {
            start: u64::MAX - 1,
            size: 1
        }));
        assert_eq!(
            MemRange::new(0x1000, 0x1000),
            Ok(MemRange {
                start: 0x1000,
                size: 0x1000
            })
        );
        assert_eq!(MemRange::new(0, 0), Err(MemRangeError::ZeroSize));
    }
}
