//! Identity page tables for entering a partition's kernel through the Linux
//! 64-bit boot protocol (`Documentation/arch/x86/boot.rst`: long mode, paging
//! on, the kernel's `init_size` area, the zero page and the command line
//! mapped 1:1).
//!
//! The module builds them in host pages below 4 GiB (the trampoline loads
//! CR3 while still in 32-bit mode) for each start, and frees them once the
//! partition's CPUs are stopped: the kernel's entry code switches to page
//! tables of its own early on, so they are only used for that first stretch.
//!
//! The tables map, with 2 MiB pages, every whole GiB that holds a byte of
//! the first 4 GiB (the trampoline page and the partition's low RAM live
//! there) or of one of the partition's ranges: 4-level paging (PML4, one
//! PDPT per 512 GiB touched, one PD per GiB touched), so every mapped
//! address lies below [`MAX_PHYS`]. Table `0` is the PML4 (the CR3 value);
//! then come the PDPTs, then the PDs, each group by ascending address.

use super::memlist::{sort_small, MAX_RANGES};
use super::memrange::MemRange;
use core::fmt;

/// Page-table entry bit: present.
pub const PRESENT: u64 = 1 << 0;
/// Page-table entry bit: writable.
pub const WRITABLE: u64 = 1 << 1;
/// Page-directory entry bit: the entry maps a 2 MiB page.
pub const PAGE_SIZE_2M: u64 = 1 << 7;
/// Entries per table.
pub const ENTRIES: usize = 512;
/// First address 4-level identity tables cannot map (the canonical lower
/// half of a 48-bit address space).
pub const MAX_PHYS: u64 = 1 << 47;

const GIB_SHIFT: u32 = 30;
const SLOT_SHIFT: u32 = 39; // One PML4 entry: 512 GiB.
const TWO_MIB: u64 = 1 << 21;
/// GiBs always mapped: the first 4.
const LOW_GIBS: u64 = 4;

/// Why no tables can be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityError {
    /// More than [`MAX_RANGES`] ranges.
    TooManyRanges,
    /// A range is empty, wraps, or reaches [`MAX_PHYS`].
    OutOfReach,
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::TooManyRanges => {
                write!(f, "more than {MAX_RANGES} memory ranges to map")
            }
            IdentityError::OutOfReach => {
                f.write_str("a memory range lies beyond 128 TiB, out of 4-level paging's reach")
            }
        }
    }
}

impl core::error::Error for IdentityError {}

/// The set of GiBs to map, as sorted, disjoint, non-adjacent `[lo, hi)`
/// intervals of GiB numbers.
///
/// # Invariants
///
/// `n` is in `1..=MAX_RANGES + 1`; `gib[..n]` are non-empty, sorted and
/// separated by at least one unmapped GiB, and all lie below
/// `MAX_PHYS >> 30`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdentityMap {
    gib: [(u64, u64); MAX_RANGES + 1],
    n: usize,
}

impl IdentityMap {
    /// The map covering the first 4 GiB and every byte of `ranges`.
    pub fn new(ranges: &[MemRange]) -> Result<IdentityMap, IdentityError> {
        if ranges.len() > MAX_RANGES {
            return Err(IdentityError::TooManyRanges);
        }
        let mut gib = [(0u64, 0u64); MAX_RANGES + 1];
        gib[0] = (0, LOW_GIBS);
        let mut n = 1;
        for r in ranges {
            let end = r
                .start
                .checked_add(r.size)
                .ok_or(IdentityError::OutOfReach)?;
            if r.size == 0 || end > MAX_PHYS {
                return Err(IdentityError::OutOfReach);
            }
            let lo = r.start >> GIB_SHIFT;
            let hi = ((end - 1) >> GIB_SHIFT) + 1;
            if let Some(slot) = gib.get_mut(n) {
                *slot = (lo, hi);
                n += 1;
            }
        }
        let used = gib.get_mut(..n).unwrap_or(&mut []);
        sort_small(used, |g| *g);
        // Merge overlapping or adjacent intervals in place.
        let mut out = 0usize;
        for i in 0..n {
            let cur = used[i];
            if i > 0 && cur.0 <= used[out].1 {
                used[out].1 = used[out].1.max(cur.1);
            } else {
                if i > 0 {
                    out += 1;
                }
                used[out] = cur;
            }
        }
        let n = out + 1;
        for g in gib.iter_mut().skip(n) {
            *g = (0, 0);
        }
        Ok(IdentityMap { gib, n })
    }

    fn intervals(&self) -> &[(u64, u64)] {
        self.gib.get(..self.n).unwrap_or(&[])
    }

    /// The 512 GiB slots (PML4 indices) touched, ascending and distinct.
    fn slots(&self) -> impl Iterator<Item = u64> + '_ {
        let shift = SLOT_SHIFT - GIB_SHIFT;
        let mut last: Option<u64> = None;
        self.intervals()
            .iter()
            .flat_map(move |&(lo, hi)| (lo >> shift)..=((hi - 1) >> shift))
            .filter(move |&t| {
                let new = last != Some(t);
                last = Some(t);
                new
            })
    }

    fn pdpt_count(&self) -> usize {
        self.slots().count()
    }

    fn pd_count(&self) -> usize {
        self.intervals()
            .iter()
            .map(|&(lo, hi)| (hi - lo) as usize)
            .sum()
    }

    /// Number of 4 KiB tables: PML4, PDPTs, PDs.
    pub fn table_count(&self) -> usize {
        1 + self.pdpt_count() + self.pd_count()
    }

    /// Position of the PDPT for 512 GiB slot `t` among the PDPTs.
    fn pdpt_ordinal(&self, t: u64) -> Option<usize> {
        self.slots().position(|s| s == t)
    }

    /// Position of the PD for GiB `g` among the PDs.
    fn pd_ordinal(&self, g: u64) -> Option<usize> {
        let mut before = 0usize;
        for &(lo, hi) in self.intervals() {
            if g < lo {
                return None;
            }
            if g < hi {
                return Some(before + (g - lo) as usize);
            }
            before += (hi - lo) as usize;
        }
        None
    }

    /// Whether GiB `g`'s whole range is mapped.
    pub fn maps_gib(&self, g: u64) -> bool {
        self.pd_ordinal(g).is_some()
    }

    /// Writes the entries of table `index` into `out`; `phys(i)` is the
    /// physical address (4 KiB aligned) where table `i` will live. An index
    /// past [`IdentityMap::table_count`] gives an all-zero table.
    pub fn fill(&self, index: usize, phys: impl Fn(usize) -> u64, out: &mut [u64; ENTRIES]) {
        out.fill(0);
        let pdpts = self.pdpt_count();
        let table = |i: usize| (phys(i) & !0xfff) | PRESENT | WRITABLE;
        if index == 0 {
            for t in self.slots() {
                if let (Some(o), Some(e)) = (self.pdpt_ordinal(t), out.get_mut(t as usize)) {
                    *e = table(1 + o);
                }
            }
        } else if let Some(t) = self.slots().nth(index - 1) {
            for (j, e) in out.iter_mut().enumerate() {
                let g = (t << (SLOT_SHIFT - GIB_SHIFT)) + j as u64;
                if let Some(o) = self.pd_ordinal(g) {
                    *e = table(1 + pdpts + o);
                }
            }
        } else if let Some(g) = self.gib_of_pd(index - 1 - pdpts) {
            for (k, e) in out.iter_mut().enumerate() {
                *e = ((g << GIB_SHIFT) + k as u64 * TWO_MIB) | PRESENT | WRITABLE | PAGE_SIZE_2M;
            }
        }
    }

    /// The GiB mapped by the PD at position `o`.
    fn gib_of_pd(&self, mut o: usize) -> Option<u64> {
        for &(lo, hi) in self.intervals() {
            let len = (hi - lo) as usize;
            if o < len {
                return Some(lo + o as u64);
            }
            o -= len;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const G: u64 = 1 << 30;

    /// Builds every table at a made-up base and translates `va` by walking
    /// them as the CPU does (independently of `fill`'s ordering rules).
    fn walk(map: &IdentityMap, va: u64) -> Option<u64> {
        let base = 0x10_0000u64;
        let n = map.table_count();
        let tables: Vec<[u64; ENTRIES]> = (0..n)
            .map(|i| {
                let mut t = [0u64; ENTRIES];
                map.fill(i, |k| base + 0x1000 * k as u64, &mut t);
                t
            })
            .collect();
        let get =
            |addr: u64| -> &[u64; ENTRIES] { &tables[((addr & !0xfff) - base) as usize / 0x1000] };
        let pml4e = tables[0][((va >> 39) & 511) as usize];
        if pml4e & PRESENT == 0 {
            return None;
        }
        let pdpte = get(pml4e & 0x000f_ffff_ffff_f000)[((va >> 30) & 511) as usize];
        if pdpte & PRESENT == 0 || pdpte & PAGE_SIZE_2M != 0 {
            return None;
        }
        let pde = get(pdpte & 0x000f_ffff_ffff_f000)[((va >> 21) & 511) as usize];
        if pde & PRESENT == 0 || pde & PAGE_SIZE_2M == 0 || pde & WRITABLE == 0 {
            return None;
        }
        Some((pde & 0x000f_ffff_ffe0_0000) | (va & 0x1f_ffff))
    }

    #[test]
    fn low_4g_only() {
        let m = IdentityMap::new(&[]).unwrap();
        // PML4, one PDPT, four PDs.
        assert_eq!(m.table_count(), 6);
        for va in [0u64, 0x10_000, 0x7_ffff, G + 12345, 4 * G - 1] {
            assert_eq!(walk(&m, va), Some(va));
        }
        assert_eq!(walk(&m, 4 * G), None);
    }

    #[test]
    fn window_above_4g() {
        // 2 GiB at 5 GiB: GiBs 5 and 6; GiB 4 stays unmapped.
        let r = MemRange {
            start: 5 * G,
            size: 2 * G,
        };
        let m = IdentityMap::new(&[r]).unwrap();
        assert_eq!(m.table_count(), 1 + 1 + 4 + 2);
        for va in [5 * G, 6 * G + 0x1234_5678, 7 * G - 1, 0x1000] {
            assert_eq!(walk(&m, va), Some(va));
        }
        assert_eq!(walk(&m, 4 * G + 5), None);
        assert_eq!(walk(&m, 7 * G), None);
    }

    #[test]
    fn unaligned_and_merged_ranges() {
        // Two ranges in the same GiB, one straddling a GiB boundary, one
        // adjacent to the low 4 GiB.
        let rs = [
            MemRange {
                start: 9 * G + 0x20_0000,
                size: 0x40_0000,
            },
            MemRange {
                start: 9 * G + 0x4000_0000 - 0x1000,
                size: 0x2000,
            },
            MemRange {
                start: 4 * G,
                size: 0x1000,
            },
        ];
        let m = IdentityMap::new(&rs).unwrap();
        // GiBs 0-4 (merged), 9-10.
        assert_eq!(m.table_count(), 1 + 1 + 5 + 2);
        for r in &rs {
            assert_eq!(walk(&m, r.start), Some(r.start));
            assert_eq!(walk(&m, r.start + r.size - 1), Some(r.start + r.size - 1));
        }
        assert_eq!(walk(&m, 8 * G), None);
    }

    #[test]
    fn several_pml4_slots() {
        // One range at 1 TiB: a second PDPT.
        let r = MemRange {
            start: 1 << 40,
            size: G,
        };
        let m = IdentityMap::new(&[r]).unwrap();
        assert_eq!(m.table_count(), 1 + 2 + 4 + 1);
        assert_eq!(walk(&m, (1 << 40) + 77), Some((1 << 40) + 77));
        assert_eq!(walk(&m, 3 * G), Some(3 * G));
        // Spanning the 512 GiB boundary.
        let r = MemRange {
            start: (512 * G) - G,
            size: 2 * G,
        };
        let m = IdentityMap::new(&[r]).unwrap();
        assert_eq!(m.table_count(), 1 + 2 + 4 + 2);
        assert_eq!(walk(&m, 512 * G - 1), Some(512 * G - 1));
        assert_eq!(walk(&m, 512 * G), Some(512 * G));
    }

    #[test]
    fn refusals() {
        let r = MemRange {
            start: MAX_PHYS - G,
            size: 2 * G,
        };
        assert_eq!(IdentityMap::new(&[r]), Err(IdentityError::OutOfReach));
        let r = MemRange {
            start: u64::MAX - 10,
            size: 100,
        };
        assert_eq!(IdentityMap::new(&[r]), Err(IdentityError::OutOfReach));
        let r = MemRange { start: G, size: 0 };
        assert_eq!(IdentityMap::new(&[r]), Err(IdentityError::OutOfReach));
        let many = [MemRange {
            start: 8 * G,
            size: G,
        }; MAX_RANGES + 1];
        assert_eq!(IdentityMap::new(&many), Err(IdentityError::TooManyRanges));
        // Past the last table: zeroes.
        let m = IdentityMap::new(&[]).unwrap();
        let mut t = [7u64; ENTRIES];
        m.fill(6, |_| 0x1000, &mut t);
        assert!(t.iter().all(|&e| e == 0));
    }
}
