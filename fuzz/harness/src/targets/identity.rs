//! Identity page tables for entering a partition's kernel
//! (`mint_logic::identity`): the module builds them from the partition's
//! memory ranges for each start, and the trampoline runs on them.
//!
//! The input is read as structured values ([`Reader`]): up to 11 ranges
//! (more than `MAX_RANGES` on purpose), each either as read or shaped to lie
//! near the first GiBs, on GiB and 512 GiB boundaries, or anywhere below
//! `MAX_PHYS` with a size of any order of magnitude; where the tables are
//! placed (a base below 4 GiB and a permutation of the table indices, so
//! that a table found by its neighbour's address rather than by `phys`
//! shows); and a few addresses to translate.
//!
//! What is checked, from the documentation of `identity.rs` and the
//! processor's 4-level paging (not from its code):
//! - `IdentityMap::new` fails exactly when there are more than `MAX_RANGES`
//!   ranges (`TooManyRanges`) or a range is empty, wraps 64 bits or has a
//!   byte at or above `MAX_PHYS` (`OutOfReach`);
//! - `table_count` is 1 (the PML4) + one PDPT per 512 GiB touched + one PD
//!   per GiB touched, the touched GiBs being the first 4 and every GiB that
//!   holds a byte of a range; `maps_gib` says which;
//! - walking the tables `fill` writes as the CPU does (PML4, PDPT, PD, a
//!   2 MiB page), every sampled address (every range's first and last byte,
//!   its GiB boundaries, random offsets, the first 4 GiB's boundaries,
//!   random addresses) translates to itself exactly when its GiB is
//!   touched, and is not mapped otherwise;
//! - every table entry is either zero or well-formed: a PML4 or PDPT entry
//!   is present, writable, not a large page, executable, and points at a
//!   table that exists (`phys(i)` for some `i < table_count`); a PD entry is
//!   a present, writable, executable 2 MiB page mapping its own address;
//! - when the whole set is small enough to build (most inputs), every table
//!   is reached from the PML4 exactly once, at one level: PDPTs are tables
//!   `1..=pdpts` in ascending address order, PDs the rest, in ascending
//!   order, and the mapped GiBs are exactly the touched ones; otherwise
//!   the tables the walks visit are filled on demand and checked;
//! - `fill` of an index past `table_count` gives an all-zero table.

use std::collections::{BTreeSet, HashMap, HashSet};

use mint_logic::identity::{
    IdentityError, IdentityMap, ENTRIES, MAX_PHYS, PAGE_SIZE_2M, PRESENT, WRITABLE,
};
use mint_logic::memlist::MAX_RANGES;
use mint_logic::memrange::MemRange;

use crate::input::Reader;

const GIB: u64 = 1 << 30;
const TWO_MIB: u64 = 1 << 21;
/// Bits 12..51 of a table entry: the address of the next table.
const TABLE_ADDR: u64 = 0x000f_ffff_ffff_f000;
/// Bits 21..51 of a 2 MiB page's entry: the page's address.
const PAGE_ADDR: u64 = 0x000f_ffff_ffe0_0000;
/// The execute-disable bit.
const XD: u64 = 1 << 63;
/// Tables built all at once, at most; larger maps are walked on demand.
const FULL_BUILD: usize = 256;

/// The ranges read from the input (see the module documentation).
fn ranges(r: &mut Reader<'_>) -> Vec<MemRange> {
    let n = usize::from(r.u8() % 12);
    (0..n)
        .map(|_| {
            let shape = r.u8();
            let (a, b) = (r.u64(), r.u64());
            match shape % 5 {
                // As read: mostly out of reach.
                0 => MemRange { start: a, size: b },
                // Near the first GiBs, up to 4 GiB long.
                1 => MemRange {
                    start: a % (64 * GIB),
                    size: b % (4 * GIB),
                },
                // Around a GiB boundary (or a 512 GiB one).
                2 => {
                    let unit = if shape & 0x80 != 0 { 512 * GIB } else { GIB };
                    let base = (a % (MAX_PHYS / unit)) * unit;
                    // Up to 256 MiB either side, in pages.
                    let off = (a >> 48) << 12;
                    MemRange {
                        start: if shape & 0x40 != 0 {
                            base.wrapping_sub(off)
                        } else {
                            base.wrapping_add(off)
                        },
                        size: b % (3 * GIB),
                    }
                }
                // Anywhere below MAX_PHYS, any order of magnitude.
                3 => MemRange {
                    start: a % MAX_PHYS,
                    size: b & ((1u64 << (b >> 58)) - 1),
                },
                // Near the top of the reach.
                _ => MemRange {
                    start: MAX_PHYS - (a % (2 * GIB)),
                    size: b % (2 * GIB),
                },
            }
        })
        .collect()
}

/// The GiBs the documentation says are mapped, as sorted, disjoint `[lo,
/// hi)` intervals; or why there are none.
fn touched_gibs(ranges: &[MemRange]) -> Result<Vec<(u64, u64)>, Vec<IdentityError>> {
    let mut why = Vec::new();
    if ranges.len() > MAX_RANGES {
        why.push(IdentityError::TooManyRanges);
    }
    let reach = |r: &MemRange| {
        r.size != 0 && u128::from(r.start) + u128::from(r.size) <= u128::from(MAX_PHYS)
    };
    if !ranges.iter().all(reach) {
        why.push(IdentityError::OutOfReach);
    }
    if !why.is_empty() {
        return Err(why);
    }
    let mut spans: Vec<(u64, u64)> = vec![(0, 4)];
    for r in ranges {
        let last = r.start + r.size - 1;
        spans.push((r.start / GIB, last / GIB + 1));
    }
    spans.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (lo, hi) in spans {
        match merged.last_mut() {
            Some(prev) if lo <= prev.1 => prev.1 = prev.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    Ok(merged)
}

fn gib_touched(gibs: &[(u64, u64)], g: u64) -> bool {
    gibs.iter().any(|&(lo, hi)| (lo..hi).contains(&g))
}

/// The 512 GiB slots (PML4 indices) the GiBs touch.
fn touched_slots(gibs: &[(u64, u64)]) -> BTreeSet<u64> {
    gibs.iter()
        .flat_map(|&(lo, hi)| (lo / 512)..=((hi - 1) / 512))
        .collect()
}

/// Where table `i` lives: `base` plus `i ^ mix` pages (a bijection).
#[derive(Clone, Copy, Debug)]
struct Placement {
    base: u64,
    mix: usize,
    count: usize,
}

impl Placement {
    fn phys(&self, i: usize) -> u64 {
        self.base + ((i ^ self.mix) as u64) * 0x1000
    }

    /// The index of the table at `addr`, if one of the `count` is there.
    fn index(&self, addr: u64) -> Option<usize> {
        let off = addr.checked_sub(self.base)?;
        if off % 0x1000 != 0 {
            return None;
        }
        let i = usize::try_from(off / 0x1000).ok()? ^ self.mix;
        (i < self.count && self.phys(i) == addr).then_some(i)
    }
}

/// What kind of table one is, and which part of the address space it maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Pml4,
    /// The PDPT of this 512 GiB slot.
    Pdpt(u64),
    /// The PD of this GiB.
    Pd(u64),
}

/// The tables, filled when first needed.
struct Tables<'a> {
    map: &'a IdentityMap,
    at: Placement,
    filled: HashMap<usize, Box<[u64; ENTRIES]>>,
    /// Tables whose every entry was checked.
    checked: HashSet<usize>,
}

impl Tables<'_> {
    fn get(&mut self, i: usize) -> &[u64; ENTRIES] {
        let (map, at) = (self.map, self.at);
        self.filled.entry(i).or_insert_with(|| {
            let mut t = Box::new([0xdead_beefu64; ENTRIES]);
            map.fill(i, |k| at.phys(k), &mut t);
            t
        })
    }

    /// Checks that entry `e` of a PML4 or PDPT is zero or a link to an
    /// existing table, and returns that table.
    fn link(&self, e: u64, what: impl Fn() -> String) -> Option<usize> {
        if e == 0 {
            return None;
        }
        assert!(
            e & (PRESENT | WRITABLE | PAGE_SIZE_2M) == PRESENT | WRITABLE && e & XD == 0,
            "{}: entry {e:#x} is not a present, writable, executable link to a table",
            what()
        );
        let i = self.at.index(e & TABLE_ADDR);
        assert!(
            i.is_some(),
            "{}: entry {e:#x} points at no table (tables at {:?})",
            what(),
            self.at
        );
        i
    }

    /// Checks every entry of table `i`, which is at `level`; returns the
    /// tables it links to, with their levels.
    fn check(&mut self, i: usize, level: Level) -> Vec<(usize, Level)> {
        self.checked.insert(i);
        let t = *self.get(i);
        let mut links = Vec::new();
        for (k, &e) in t.iter().enumerate() {
            let k = k as u64;
            match level {
                Level::Pml4 => {
                    if let Some(j) = self.link(e, || format!("PML4[{k}]")) {
                        assert!(k < 256, "PML4[{k}] maps at or above 2^47: {e:#x}");
                        links.push((j, Level::Pdpt(k)));
                    }
                }
                Level::Pdpt(slot) => {
                    if let Some(j) = self.link(e, || format!("PDPT of slot {slot} [{k}]")) {
                        links.push((j, Level::Pd(slot * 512 + k)));
                    }
                }
                Level::Pd(g) => {
                    let va = g * GIB + k * TWO_MIB;
                    let flags = PRESENT | WRITABLE | PAGE_SIZE_2M;
                    assert!(
                        e & flags == flags && e & XD == 0,
                        "PD of GiB {g} [{k}]: {e:#x} is not a present, writable, executable 2 MiB page"
                    );
                    assert_eq!(
                        e & PAGE_ADDR,
                        va,
                        "PD of GiB {g} [{k}]: {e:#x} does not map {va:#x}"
                    );
                    assert_eq!(
                        e & 0x1f_f000,
                        0,
                        "PD of GiB {g} [{k}]: reserved bits in {e:#x}"
                    );
                }
            }
        }
        links
    }

    /// Translates `va` (below 2^48) as the CPU does, checking each table
    /// met on the way.
    fn walk(&mut self, va: u64) -> Option<u64> {
        let pml4 = self.get(0)[((va >> 39) & 511) as usize];
        let pdpt = self.link(pml4, || format!("PML4 for {va:#x}"))?;
        let pdpte = self.get(pdpt)[((va >> 30) & 511) as usize];
        let pd = self.link(pdpte, || format!("PDPT for {va:#x}"))?;
        if !self.checked.contains(&pd) {
            self.check(pd, Level::Pd(va >> 30));
        }
        let pde = self.get(pd)[((va >> 21) & 511) as usize];
        Some((pde & PAGE_ADDR) | (va & (TWO_MIB - 1)))
    }
}

/// The addresses worth translating.
fn samples(ranges: &[MemRange], gibs: &[(u64, u64)], r: &mut Reader<'_>) -> Vec<u64> {
    let mut v: Vec<u64> = (0..=4)
        .flat_map(|g| [g * GIB, (g * GIB).wrapping_sub(1)])
        .collect();
    v.extend([0x1000, 0x9_f000, 0x10_0000, 0x2000_0000]);
    for x in ranges {
        let end = x.start + x.size;
        v.extend([x.start, end - 1, x.start.wrapping_sub(1), end]);
        let first_boundary = x.start.div_ceil(GIB) * GIB;
        let last_boundary = (end - 1) / GIB * GIB;
        v.extend([first_boundary, first_boundary.wrapping_sub(1)]);
        v.extend([last_boundary, last_boundary.wrapping_sub(1)]);
        v.push(x.start + r.u64() % x.size);
    }
    for &(lo, hi) in gibs {
        v.extend([lo * GIB, (lo * GIB).wrapping_sub(1), hi * GIB - 1, hi * GIB]);
    }
    for _ in 0..4 {
        let a = r.u64();
        v.push(a % (1 << 48));
        v.push(a % (8 * GIB));
    }
    v.retain(|&a| a < 1 << 48);
    v.sort_unstable();
    v.dedup();
    v
}

/// See the module documentation.
pub fn identity(data: &[u8]) {
    let mut r = Reader::new(data);
    let ranges = ranges(&mut r);
    let base = u64::from(r.u32()) & 0xffff_f000;
    let mix = usize::from(r.u16() % 1024);
    let got = IdentityMap::new(&ranges);
    let gibs = match (touched_gibs(&ranges), got) {
        (Ok(gibs), Ok(_)) => gibs,
        (Err(why), Err(e)) => {
            assert!(
                why.contains(&e),
                "{ranges:x?}: {e:?}, the model says {why:?}"
            );
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'));
            return;
        }
        (want, got) => panic!("{ranges:x?}: IdentityMap::new gives {got:?}, the model {want:?}"),
    };
    let map = got.expect("checked above");
    let pds: u64 = gibs.iter().map(|&(lo, hi)| hi - lo).sum();
    let slots = touched_slots(&gibs);
    let count = map.table_count();
    assert_eq!(
        count as u64,
        1 + slots.len() as u64 + pds,
        "{ranges:x?}: table_count, GiBs {gibs:?}"
    );
    let at = Placement { base, mix, count };
    let mut tables = Tables {
        map: &map,
        at,
        filled: HashMap::new(),
        checked: HashSet::new(),
    };
    for g in gibs
        .iter()
        .flat_map(|&(lo, hi)| [lo.wrapping_sub(1), lo, hi - 1, hi])
        .chain([r.u64(), r.u64() >> 30, r.u64() >> 40])
    {
        assert_eq!(
            map.maps_gib(g),
            gib_touched(&gibs, g),
            "maps_gib({g}), GiBs {gibs:?}"
        );
    }
    if count <= FULL_BUILD {
        // Every table, from the PML4 down: each reached once, at one level.
        let mut seen: HashMap<usize, Level> = HashMap::new();
        let mut todo = vec![(0usize, Level::Pml4)];
        let mut mapped = BTreeSet::new();
        let mut pdpt_order = Vec::new();
        let mut pd_order = Vec::new();
        while let Some((i, level)) = todo.pop() {
            if let Some(before) = seen.insert(i, level) {
                panic!("{ranges:x?}: table {i} is both {before:?} and {level:?}");
            }
            match level {
                Level::Pdpt(slot) => pdpt_order.push((slot, i)),
                Level::Pd(g) => {
                    mapped.insert(g);
                    pd_order.push((g, i));
                }
                Level::Pml4 => {}
            }
            todo.extend(tables.check(i, level));
        }
        assert_eq!(seen.len(), count, "{ranges:x?}: tables nothing links to");
        let want: BTreeSet<u64> = gibs.iter().flat_map(|&(lo, hi)| lo..hi).collect();
        assert_eq!(mapped, want, "{ranges:x?}: mapped GiBs");
        pdpt_order.sort_unstable();
        pd_order.sort_unstable();
        let pdpts = pdpt_order.len();
        assert!(
            pdpt_order.iter().map(|p| p.1).eq(1..=pdpts),
            "PDPTs are not tables 1..={pdpts} by address: {pdpt_order:?}"
        );
        assert!(
            pd_order.iter().map(|p| p.1).eq(pdpts + 1..count),
            "PDs are not the tables after the PDPTs by address: {pd_order:?}"
        );
    } else {
        tables.check(0, Level::Pml4);
    }
    for va in samples(&ranges, &gibs, &mut r) {
        let want = gib_touched(&gibs, va >> 30).then_some(va);
        assert_eq!(tables.walk(va), want, "{ranges:x?}: translating {va:#x}");
    }
    for index in [count, count + 1 + usize::from(r.u8()), usize::MAX] {
        let mut t = [0x5a5au64; ENTRIES];
        map.fill(index, |k| at.phys(k), &mut t);
        assert!(
            t.iter().all(|&e| e == 0),
            "fill({index}) past {count} tables"
        );
    }
}
