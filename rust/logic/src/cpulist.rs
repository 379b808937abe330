//! CPU sets in the kernel's cpulist syntax ("1", "1-2", "1,3", "0-1,4").
//!
//! A [`CpuSet`] is a fixed bitmap of [`MAX_CPUS`] CPUs, so it needs no
//! allocation; [`parse`] reads what a user writes to the partition's `cpus`
//! file and `Display` writes the canonical form back ("1-2,4").

use core::fmt;

/// How many CPUs a [`CpuSet`] can hold: CPU numbers are `0..MAX_CPUS`.
pub const MAX_CPUS: u32 = 256;

/// Number of 64-bit words in the bitmap.
const WORDS: usize = (MAX_CPUS / 64) as usize;

/// Why a cpulist could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuListError {
    /// Nothing but whitespace was given.
    Empty,
    /// An element is not a decimal number or range, or junk follows one.
    BadNumber,
    /// A range `a-b` has `a > b`.
    ReversedRange,
    /// A CPU number is `MAX_CPUS` or more (this includes numeric overflow).
    TooLarge,
}

impl fmt::Display for CpuListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpuListError::Empty => f.write_str("empty CPU list"),
            CpuListError::BadNumber => f.write_str(
                "malformed CPU list: expected decimal CPU numbers or ranges like 1-3, separated by commas",
            ),
            CpuListError::ReversedRange => {
                f.write_str("reversed CPU range: the first CPU of a range must not exceed the last")
            }
            CpuListError::TooLarge => write!(f, "CPU number too large: CPUs are numbered 0 to {}", MAX_CPUS - 1),
        }
    }
}

impl core::error::Error for CpuListError {}

/// A set of CPU numbers below [`MAX_CPUS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CpuSet {
    bits: [u64; WORDS],
}

/// Word index and bit mask of `cpu`, or `None` if it is out of range.
fn locate(cpu: u32) -> Option<(usize, u64)> {
    if cpu >= MAX_CPUS {
        return None;
    }
    Some(((cpu / 64) as usize, 1u64 << (cpu % 64)))
}

impl CpuSet {
    /// The empty set.
    pub const fn new() -> Self {
        CpuSet { bits: [0; WORDS] }
    }

    /// Adds `cpu`; returns `false` (and changes nothing) if `cpu >= MAX_CPUS`.
    pub fn insert(&mut self, cpu: u32) -> bool {
        match locate(cpu) {
            Some((word, mask)) => match self.bits.get_mut(word) {
                Some(w) => {
                    *w |= mask;
                    true
                }
                None => false,
            },
            None => false,
        }
    }

    /// Removes `cpu` if present.
    pub fn remove(&mut self, cpu: u32) {
        if let Some((word, mask)) = locate(cpu) {
            if let Some(w) = self.bits.get_mut(word) {
                *w &= !mask;
            }
        }
    }

    /// Whether `cpu` is in the set.
    pub fn contains(&self, cpu: u32) -> bool {
        match locate(cpu) {
            Some((word, mask)) => self.bits.get(word).is_some_and(|w| w & mask != 0),
            None => false,
        }
    }

    /// The lowest CPU of the set (the partition's boot CPU), if any.
    pub fn first(&self) -> Option<u32> {
        self.iter().next()
    }

    /// Number of CPUs in the set.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    /// Whether the two sets have a CPU in common.
    pub fn intersects(&self, other: &CpuSet) -> bool {
        self.bits
            .iter()
            .zip(other.bits.iter())
            .any(|(a, b)| a & b != 0)
    }

    /// The CPUs of the set in ascending order.
    pub fn iter(&self) -> CpuIter {
        CpuIter {
            set: *self,
            next: 0,
        }
    }
}

impl IntoIterator for &CpuSet {
    type Item = u32;
    type IntoIter = CpuIter;
    fn into_iter(self) -> CpuIter {
        self.iter()
    }
}

/// Ascending iterator over a [`CpuSet`], from [`CpuSet::iter`].
#[derive(Clone, Debug)]
pub struct CpuIter {
    set: CpuSet,
    next: u32,
}

impl Iterator for CpuIter {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        while self.next < MAX_CPUS {
            let word_index = (self.next / 64) as usize;
            let word = self.set.bits.get(word_index).copied().unwrap_or(0);
            // Bits of this word at or above `next`.
            let pending = word & (u64::MAX << (self.next % 64));
            if pending == 0 {
                // Skip to the next word.
                self.next = (self.next / 64 + 1) * 64;
                continue;
            }
            let cpu = (word_index as u32) * 64 + pending.trailing_zeros();
            self.next = cpu + 1;
            return Some(cpu);
        }
        None
    }
}

/// Parses a decimal CPU number: digits only, no sign.
fn parse_cpu(s: &str) -> Result<u32, CpuListError> {
    if s.is_empty() {
        return Err(CpuListError::BadNumber);
    }
    let mut value: u32 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return Err(CpuListError::BadNumber);
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u32::from(b - b'0')))
            .ok_or(CpuListError::TooLarge)?;
    }
    if value >= MAX_CPUS {
        return Err(CpuListError::TooLarge);
    }
    Ok(value)
}

/// Parses a cpulist such as `"0-1,4"`.
///
/// One trailing `'\n'` (from `echo`) is removed, then spaces and tabs around
/// the whole list are trimmed; no whitespace is allowed inside. Duplicates and
/// overlapping ranges are fine (set semantics). The result is never empty.
pub fn parse(s: &str) -> Result<CpuSet, CpuListError> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let s = s.trim_matches(|c| c == ' ' || c == '\t');
    if s.is_empty() {
        return Err(CpuListError::Empty);
    }
    let mut set = CpuSet::new();
    for element in s.split(',') {
        let (first, last) = match element.split_once('-') {
            Some((a, b)) => (parse_cpu(a)?, parse_cpu(b)?),
            None => {
                let cpu = parse_cpu(element)?;
                (cpu, cpu)
            }
        };
        if first > last {
            return Err(CpuListError::ReversedRange);
        }
        for cpu in first..=last {
            set.insert(cpu);
        }
    }
    Ok(set)
}

impl core::str::FromStr for CpuSet {
    type Err = CpuListError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl fmt::Display for CpuSet {
    /// Canonical cpulist: ascending, maximal runs as `a-b`, e.g. `"1-2,4"`.
    /// The empty set prints as the empty string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut iter = self.iter();
        let mut run = match iter.next() {
            Some(cpu) => (cpu, cpu),
            None => return Ok(()),
        };
        let mut first_run = true;
        let mut emit = |f: &mut fmt::Formatter<'_>, (a, b): (u32, u32)| -> fmt::Result {
            if !first_run {
                f.write_str(",")?;
            }
            first_run = false;
            if a == b {
                write!(f, "{a}")
            } else {
                write!(f, "{a}-{b}")
            }
        };
        for cpu in iter {
            if run.1.checked_add(1) == Some(cpu) {
                run.1 = cpu;
            } else {
                emit(f, run)?;
                run = (cpu, cpu);
            }
        }
        emit(f, run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    fn cpus(s: &str) -> Vec<u32> {
        parse(s).unwrap().iter().collect()
    }

    #[test]
    fn parses_examples() {
        assert_eq!(cpus("1"), [1]);
        assert_eq!(cpus("1-2"), [1, 2]);
        assert_eq!(cpus("1,3"), [1, 3]);
        assert_eq!(cpus("0-1,4"), [0, 1, 4]);
        assert_eq!(cpus("1-2\n"), [1, 2]);
        assert_eq!(cpus("  3 \n"), [3]);
        assert_eq!(cpus("5,5,4-6"), [4, 5, 6]);
        assert_eq!(cpus("255"), [255]);
        assert_eq!(cpus("0-255").len(), 256);
        assert_eq!(cpus("007"), [7]);
    }

    #[test]
    fn errors() {
        assert_eq!(parse(""), Err(CpuListError::Empty));
        assert_eq!(parse("\n"), Err(CpuListError::Empty));
        assert_eq!(parse("  "), Err(CpuListError::Empty));
        for bad in [
            "1,", ",1", "1,,2", "a", "1a", "1-", "-1", "1-2-3", "+1", "1 ,2", "1\n\n", "1;2",
            "0-7:2/4",
        ] {
            assert_eq!(parse(bad), Err(CpuListError::BadNumber), "{bad:?}");
        }
        assert_eq!(parse("3-2"), Err(CpuListError::ReversedRange));
        assert_eq!(parse("256"), Err(CpuListError::TooLarge));
        assert_eq!(parse("0-256"), Err(CpuListError::TooLarge));
        assert_eq!(
            parse("99999999999999999999999"),
            Err(CpuListError::TooLarge)
        );
        for e in [
            CpuListError::Empty,
            CpuListError::BadNumber,
            CpuListError::ReversedRange,
            CpuListError::TooLarge,
        ] {
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'));
        }
    }

    #[test]
    fn queries() {
        let s = parse("4,2-3,200").unwrap();
        assert_eq!(s.first(), Some(2));
        assert_eq!(s.len(), 4);
        assert!(!s.is_empty());
        assert!(s.contains(3) && s.contains(200) && !s.contains(1) && !s.contains(1000));
        assert!(s.intersects(&parse("200").unwrap()));
        assert!(!s.intersects(&parse("0-1,5-199").unwrap()));
        let empty = CpuSet::new();
        assert_eq!(empty.first(), None);
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
        let mut m = CpuSet::new();
        assert!(m.insert(63) && m.insert(64) && !m.insert(256));
        m.remove(63);
        assert_eq!(m.iter().collect::<Vec<_>>(), [64]);
    }

    #[test]
    fn display_canonical() {
        for (input, out) in [
            ("1", "1"),
            ("1-2", "1-2"),
            ("4,1-2", "1-2,4"),
            ("0,1,2,3,5,7,8", "0-3,5,7-8"),
            ("63-64,255", "63-64,255"),
            ("0-255", "0-255"),
        ] {
            assert_eq!(parse(input).unwrap().to_string(), out);
            assert_eq!(parse(out).unwrap(), parse(input).unwrap());
        }
        assert_eq!(CpuSet::new().to_string(), "");
    }

    #[test]
    fn no_panic_on_garbage() {
        for s in [
            "-",
            "--",
            ",",
            "\u{e9}",
            "1-\u{e9}",
            "\n1",
            "18446744073709551616-1",
        ] {
            let _ = parse(s);
        }
    }
}
