//! A partition's memory as a list of ranges: what a user writes to the
//! `memory` file ([`parse_request`]) and what the module reports back
//! ([`RangeList`], read by `mint-kexec` with [`parse_ranges`]).
//!
//! A request is a comma-separated list of at most [`MAX_RANGES`] items, each
//! either
//! * `SIZE`: the module carves that much contiguous memory from the running
//!   host (a multiple of [`CARVE_ALIGN`], placed at a [`CARVE_ALIGN`]
//!   boundary, or as the host's CMA area aligns it when it comes from
//!   there), or
//! * `SIZE@START`: exactly that range (see [`super::memrange`]): a range the
//!   host reserved at boot (`memmap=`), or System RAM it can carve.
//!
//! Explicit items must not overlap each other. The claimed ranges are
//! reported sorted by address, comma-separated, each as `SIZE@START`.

use super::memrange::{self, MemRange, MemRangeError};
use core::fmt;

/// Most ranges one partition can hold.
pub const MAX_RANGES: usize = 8;
/// Size granule and alignment of a carved range: 2 MiB (a huge page and a
/// pageblock on x86-64, which is what the host can migrate as a unit).
pub const CARVE_ALIGN: u64 = 2 << 20;

/// Why a memory list was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemListError {
    /// Nothing was given.
    Empty,
    /// More than [`MAX_RANGES`] items.
    TooMany,
    /// An item is empty (two commas, or a comma at an end).
    EmptyItem {
        /// Zero-based position of the item.
        index: usize,
    },
    /// An item does not parse.
    Item {
        /// Zero-based position of the item.
        index: usize,
        /// What is wrong with it.
        error: MemRangeError,
    },
    /// A size-only item is not a non-zero multiple of [`CARVE_ALIGN`].
    SizeGranule {
        /// Zero-based position of the item.
        index: usize,
    },
    /// Two explicit ranges overlap.
    Overlap {
        /// Zero-based position of the earlier item.
        first: usize,
        /// Zero-based position of the later item.
        second: usize,
    },
    /// A list that must hold only `SIZE@START` items has a size-only one.
    NotPlaced {
        /// Zero-based position of the item.
        index: usize,
    },
}

impl fmt::Display for MemListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemListError::Empty => f.write_str(
                "empty memory list: expected SIZE or SIZE@START items, e.g. 2G or 1G,512M",
            ),
            MemListError::TooMany => write!(f, "memory list has more than {MAX_RANGES} items"),
            MemListError::EmptyItem { index } => write!(f, "memory list item {index} is empty"),
            MemListError::Item { index, error } => {
                write!(f, "memory list item {index}: {error}")
            }
            MemListError::SizeGranule { index } => write!(
                f,
                "memory list item {index}: a size to carve must be a non-zero multiple of 2M"
            ),
            MemListError::Overlap { first, second } => {
                write!(f, "memory list items {first} and {second} overlap")
            }
            MemListError::NotPlaced { index } => {
                write!(f, "memory list item {index} has no @START")
            }
        }
    }
}

impl core::error::Error for MemListError {}

/// One item of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemItem {
    /// Carve this many bytes anywhere (a multiple of [`CARVE_ALIGN`]).
    Size(u64),
    /// Exactly this range.
    At(MemRange),
}

/// A parsed `memory` write: 1 to [`MAX_RANGES`] items, in the order given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemRequest {
    items: [MemItem; MAX_RANGES],
    len: usize,
}

impl MemRequest {
    /// The items, in the order written.
    pub fn items(&self) -> &[MemItem] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// Sum of all sizes (saturating).
    pub fn total(&self) -> u64 {
        self.items().iter().fold(0u64, |t, i| {
            t.saturating_add(match i {
                MemItem::Size(s) => *s,
                MemItem::At(r) => r.size,
            })
        })
    }
}

/// Sorts a short slice (at most a few dozen items) by `key`, in place and
/// stable: an insertion sort, which needs no allocation and, unlike
/// `core`'s sorts, has no panic paths of its own.
pub fn sort_small<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && key(&v[j - 1]) > key(&v[j]) {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Splits `s` (one trailing `'\n'` allowed) into at most [`MAX_RANGES`]
/// non-empty items, calling `f(index, item)` on each.
fn for_items(
    s: &str,
    mut f: impl FnMut(usize, &str) -> Result<(), MemListError>,
) -> Result<usize, MemListError> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    if s.is_empty() {
        return Err(MemListError::Empty);
    }
    let mut n = 0;
    for (index, item) in s.split(',').enumerate() {
        if index >= MAX_RANGES {
            return Err(MemListError::TooMany);
        }
        if item.is_empty() {
            return Err(MemListError::EmptyItem { index });
        }
        // Only the whole list may end in one newline (stripped above): an
        // item's own parser would take one more.
        if item.contains('\n') {
            return Err(MemListError::Item {
                index,
                error: MemRangeError::TrailingJunk,
            });
        }
        f(index, item)?;
        n = index + 1;
    }
    Ok(n)
}

/// Parses a `memory` write: `SIZE` and `SIZE@START` items, comma-separated.
pub fn parse_request(s: &str) -> Result<MemRequest, MemListError> {
    let mut items = [MemItem::Size(0); MAX_RANGES];
    let len = for_items(s, |index, item| {
        let parsed = if item.contains('@') {
            MemItem::At(memrange::parse(item).map_err(|error| MemListError::Item { index, error })?)
        } else {
            let size =
                memrange::parse_size(item).map_err(|error| MemListError::Item { index, error })?;
            if size == 0 || size % CARVE_ALIGN != 0 {
                return Err(MemListError::SizeGranule { index });
            }
            MemItem::Size(size)
        };
        if let MemItem::At(r) = parsed {
            for (first, earlier) in items.iter().enumerate().take(index) {
                if let MemItem::At(e) = earlier {
                    if e.overlaps(&r) {
                        return Err(MemListError::Overlap {
                            first,
                            second: index,
                        });
                    }
                }
            }
        }
        if let Some(slot) = items.get_mut(index) {
            *slot = parsed;
        }
        Ok(())
    })?;
    Ok(MemRequest { items, len })
}

/// Claimed memory: 1 to [`MAX_RANGES`] ranges, sorted by address, none
/// overlapping another.
///
/// # Invariants
///
/// `len` is in `1..=MAX_RANGES`; `ranges[..len]` are valid ranges (as from
/// [`MemRange::new`]) sorted by start and pairwise disjoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeList {
    ranges: [MemRange; MAX_RANGES],
    len: usize,
}

impl RangeList {
    /// Sorts and checks `r`: 1 to [`MAX_RANGES`] valid ranges that do not
    /// overlap (indices in errors refer to positions in `r`).
    pub fn from_ranges(r: &[MemRange]) -> Result<RangeList, MemListError> {
        if r.is_empty() {
            return Err(MemListError::Empty);
        }
        if r.len() > MAX_RANGES {
            return Err(MemListError::TooMany);
        }
        for (index, x) in r.iter().enumerate() {
            MemRange::new(x.start, x.size).map_err(|error| MemListError::Item { index, error })?;
            for (first, y) in r.iter().enumerate().take(index) {
                if x.overlaps(y) {
                    return Err(MemListError::Overlap {
                        first,
                        second: index,
                    });
                }
            }
        }
        let mut ranges = [MemRange { start: 0, size: 0 }; MAX_RANGES];
        for (slot, x) in ranges.iter_mut().zip(r) {
            *slot = *x;
        }
        let len = r.len();
        if let Some(used) = ranges.get_mut(..len) {
            sort_small(used, |x| x.start);
        }
        Ok(RangeList { ranges, len })
    }

    /// The ranges, ascending.
    pub fn ranges(&self) -> &[MemRange] {
        self.ranges.get(..self.len).unwrap_or(&[])
    }

    /// Whether `[start, start + len)` lies entirely inside one of the ranges.
    pub fn contains_range(&self, start: u64, len: u64) -> bool {
        self.ranges().iter().any(|r| r.contains_range(start, len))
    }

    /// Whether any range shares a byte with `other`.
    pub fn overlaps(&self, other: &MemRange) -> bool {
        self.ranges().iter().any(|r| r.overlaps(other))
    }

    /// Sum of the sizes.
    pub fn total(&self) -> u64 {
        self.ranges()
            .iter()
            .fold(0u64, |t, r| t.saturating_add(r.size))
    }
}

impl fmt::Display for RangeList {
    /// The ranges ascending, comma-separated, each as `SIZE@START`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// Parses a list of `SIZE@START` items (what the module reports).
pub fn parse_ranges(s: &str) -> Result<RangeList, MemListError> {
    let mut ranges = [MemRange { start: 0, size: 0 }; MAX_RANGES];
    let len = for_items(s, |index, item| {
        if !item.contains('@') {
            return Err(MemListError::NotPlaced { index });
        }
        let r = memrange::parse(item).map_err(|error| MemListError::Item { index, error })?;
        if let Some(slot) = ranges.get_mut(index) {
            *slot = r;
        }
        Ok(())
    })?;
    RangeList::from_ranges(ranges.get(..len).unwrap_or(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    const M: u64 = 1 << 20;
    const G: u64 = 1 << 30;

    #[test]
    fn size_only_and_placed_items() {
        let r = parse_request("1G,512M\n").unwrap();
        assert_eq!(r.items(), &[MemItem::Size(G), MemItem::Size(512 * M)]);
        assert_eq!(r.total(), G + 512 * M);
        let r = parse_request("2G,256M@0x20000000").unwrap();
        assert_eq!(
            r.items(),
            &[
                MemItem::Size(2 * G),
                MemItem::At(MemRange {
                    start: 0x2000_0000,
                    size: 256 * M
                })
            ]
        );
    }

    #[test]
    fn sorts_small_slices() {
        let mut v = [5u64, 1, 4, 1, 3];
        sort_small(&mut v, |x| *x);
        assert_eq!(v, [1, 1, 3, 4, 5]);
        let mut pairs = [(2, 'a'), (1, 'b'), (2, 'c'), (0, 'd')];
        sort_small(&mut pairs, |p| p.0);
        assert_eq!(pairs, [(0, 'd'), (1, 'b'), (2, 'a'), (2, 'c')]);
        let mut empty: [u8; 0] = [];
        sort_small(&mut empty, |x| *x);
    }

    #[test]
    fn refusals() {
        assert_eq!(parse_request(""), Err(MemListError::Empty));
        assert_eq!(parse_request("\n"), Err(MemListError::Empty));
        assert_eq!(
            parse_request("1G,,2M"),
            Err(MemListError::EmptyItem { index: 1 })
        );
        assert_eq!(
            parse_request("1G,"),
            Err(MemListError::EmptyItem { index: 1 })
        );
        assert_eq!(
            parse_request("3M"),
            Err(MemListError::SizeGranule { index: 0 })
        );
        assert_eq!(
            parse_request("0"),
            Err(MemListError::SizeGranule { index: 0 })
        );
        assert_eq!(
            parse_request("2M,1x"),
            Err(MemListError::Item {
                index: 1,
                error: MemRangeError::TrailingJunk
            })
        );
        assert_eq!(
            parse_request("2M,2M,2M,2M,2M,2M,2M,2M").map(|r| r.items().len()),
            Ok(8)
        );
        assert_eq!(
            parse_request("2M,2M,2M,2M,2M,2M,2M,2M,2M"),
            Err(MemListError::TooMany)
        );
        assert_eq!(
            parse_request("256M@0x20000000,1G,16M@0x2ff00000"),
            Err(MemListError::Overlap {
                first: 0,
                second: 2
            })
        );
        // Adjacent is not overlapping.
        assert!(parse_request("256M@0x20000000,16M@0x30000000").is_ok());
        assert_eq!(
            parse_request("256M@0x20000001"),
            Err(MemListError::Item {
                index: 0,
                error: MemRangeError::UnalignedStart
            })
        );
    }

    #[test]
    fn range_list_sorted_display_and_back() {
        let a = MemRange {
            start: 0x1_8000_0000,
            size: 512 * M,
        };
        let b = MemRange {
            start: 0x1_4000_0000,
            size: 2 * G,
        };
        let c = MemRange {
            start: 0x2000_0000,
            size: 256 * M,
        };
        // b and a overlap: refused.
        assert_eq!(
            RangeList::from_ranges(&[b, a]),
            Err(MemListError::Overlap {
                first: 0,
                second: 1
            })
        );
        let l = RangeList::from_ranges(&[a, c]).unwrap();
        assert_eq!(l.ranges(), &[c, a]);
        assert_eq!(l.to_string(), "256M@0x20000000,512M@0x180000000");
        assert_eq!(parse_ranges("256M@0x20000000,512M@0x180000000\n"), Ok(l));
        assert_eq!(parse_ranges("512M@0x180000000,256M@0x20000000"), Ok(l));
        assert_eq!(l.total(), 768 * M);
        assert!(l.contains_range(0x2000_0000, 256 * M));
        assert!(!l.contains_range(0x2000_0000, 256 * M + 1));
        // Spanning two ranges is not inside one.
        let adj = RangeList::from_ranges(&[
            MemRange {
                start: 0x1000_0000,
                size: 16 * M,
            },
            MemRange {
                start: 0x1100_0000,
                size: 16 * M,
            },
        ])
        .unwrap();
        assert!(!adj.contains_range(0x10ff_f000, 0x2000));
        assert_eq!(
            parse_ranges("2G"),
            Err(MemListError::NotPlaced { index: 0 })
        );
        assert_eq!(parse_ranges(""), Err(MemListError::Empty));
        assert_eq!(RangeList::from_ranges(&[]), Err(MemListError::Empty));
        assert!(RangeList::from_ranges(&[MemRange { start: 0, size: 0 }]).is_err());
    }
}
