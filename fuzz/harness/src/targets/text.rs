//! The small text parsers: what a user writes to the module's sysfs files
//! (cpulist, `SIZE@START`, memory lists, partition names) and what
//! `mint-kexec` reads back from the module and from /proc (memory lists,
//! `lowmem`, `apic_ids`, the PM timer port).
//!
//! Each target compares the parser with a deliberately naive reference
//! model written from the documentation (accept/refuse and the value), and
//! checks that the canonical form the code prints parses back to the same
//! value.

use std::collections::BTreeSet;

use mint_kexec::sysfs;
use mint_logic::cpulist::{self, CpuListError, CpuSet, MAX_CPUS};
use mint_logic::memlist::{self, MemItem, MemListError, RangeList, CARVE_ALIGN, MAX_RANGES};
use mint_logic::memrange::{self, MemRange, MemRangeError};
use mint_logic::name;

use crate::input::Reader;

/// Value of a string of ASCII digits in `radix`, `None` if empty or if
/// another character occurs; saturates at `u128::MAX`.
fn digits_value(s: &str, radix: u32) -> Option<u128> {
    if s.is_empty() {
        return None;
    }
    s.chars().try_fold(0u128, |acc, c| {
        c.to_digit(radix).map(|d| {
            acc.saturating_mul(u128::from(radix))
                .saturating_add(u128::from(d))
        })
    })
}

/// The cpulist syntax as `cpulist.rs` documents it, without its code: one
/// trailing newline, spaces and tabs around the list, comma-separated
/// decimal CPUs or `a-b` ranges with `a <= b`, every CPU below `MAX_CPUS`.
fn cpulist_model(s: &str) -> Result<BTreeSet<u32>, &'static str> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let s = s.trim_matches([' ', '\t']);
    if s.is_empty() {
        return Err("empty");
    }
    let mut set = BTreeSet::new();
    for element in s.split(',') {
        let (a, b) = element.split_once('-').unwrap_or((element, element));
        let (a, b) = (
            digits_value(a, 10).ok_or("not a number")?,
            digits_value(b, 10).ok_or("not a number")?,
        );
        if a >= u128::from(MAX_CPUS) || b >= u128::from(MAX_CPUS) {
            return Err("too large");
        }
        if a > b {
            return Err("reversed");
        }
        set.extend(a as u32..=b as u32);
    }
    Ok(set)
}

/// `cpulist::parse`: agrees with the model on every input; what it accepts
/// prints in canonical form, which parses back to the same set and prints
/// the same again.
pub fn cpulist(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let got = cpulist::parse(s);
    let model = cpulist_model(s);
    match (&got, &model) {
        (Ok(set), Ok(want)) => {
            let members: BTreeSet<u32> = set.iter().collect();
            assert_eq!(&members, want, "cpulist {s:?}: wrong set");
            assert_eq!(set.len(), want.len());
            assert_eq!(set.first(), want.first().copied());
            assert!(!set.is_empty());
            for cpu in [0, 63, 64, 127, 128, 255, 256, 1000, u32::MAX] {
                assert_eq!(set.contains(cpu), want.contains(&cpu));
            }
            let canonical = set.to_string();
            assert!(
                canonical
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b',' || b == b'-'),
                "canonical form {canonical:?}"
            );
            let again = cpulist::parse(&canonical).expect("canonical form parses");
            assert_eq!(&again, set, "{s:?} -> {canonical:?} -> another set");
            assert_eq!(again.to_string(), canonical);
            assert!(set.intersects(&again));
            let mut other = CpuSet::new();
            for cpu in set.iter() {
                assert!(other.insert(cpu));
            }
            assert_eq!(&other, set);
        }
        (Err(e), Err(_)) => {
            assert_eq!(
                *e == CpuListError::Empty,
                model == Err("empty"),
                "cpulist {s:?}: {e:?} vs the model's {model:?}"
            );
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'));
        }
        _ => panic!("cpulist {s:?}: parser says {got:?}, the model {model:?}"),
    }
}

/// One `SIZE@START` number as `memrange.rs` documents it: decimal or
/// `0x`-hex digits, then at most one of K, M, G (either case).
fn memrange_number_model(s: &str) -> Option<u64> {
    let (radix, body) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(rest) => (16, rest),
        None => (10, s),
    };
    let (digits, unit) = match body.char_indices().last() {
        Some((i, c)) if matches!(c, 'k' | 'K' | 'm' | 'M' | 'g' | 'G') => {
            let unit = match c.to_ascii_lowercase() {
                'k' => 1u128 << 10,
                'm' => 1 << 20,
                _ => 1 << 30,
            };
            (&body[..i], unit)
        }
        _ => (body, 1),
    };
    let v = digits_value(digits, radix)?.checked_mul(unit)?;
    u64::try_from(v).ok()
}

fn memrange_model(s: &str) -> Option<MemRange> {
    memrange_fields_model(s.strip_suffix('\n').unwrap_or(s))
}

/// `SIZE@START` without the trailing newline: both numbers 4 KiB aligned,
/// the size non-zero, the range not wrapping 64 bits.
fn memrange_fields_model(s: &str) -> Option<MemRange> {
    let (size, start) = s.split_once('@')?;
    let (size, start) = (memrange_number_model(size)?, memrange_number_model(start)?);
    let aligned = |v: u64| v.is_multiple_of(memrange::ALIGN);
    let end = u128::from(start) + u128::from(size);
    (size != 0 && aligned(size) && aligned(start) && end <= u128::from(u64::MAX))
        .then_some(MemRange { start, size })
}

/// `memrange::parse` agrees with the model and `Display` round-trips; for
/// any `start`/`size` pair, `parse(&MemRange { start, size }.to_string())`
/// is exactly `MemRange::new(start, size)`; the geometry methods agree with
/// 128-bit arithmetic on arbitrary (even invalid) ranges.
pub fn memrange(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let got = memrange::parse(s);
        let model = memrange_model(s);
        assert_eq!(got.ok(), model, "SIZE@START {s:?}: parser {got:?}");
        match got {
            Ok(r) => {
                let shown = r.to_string();
                assert_eq!(memrange::parse(&shown), Ok(r), "{s:?} -> {shown:?}");
                assert_eq!(shown.parse::<MemRange>(), Ok(r));
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.is_empty() && !msg.contains('\n'));
                if s.strip_suffix('\n').unwrap_or(s).is_empty() {
                    assert_eq!(e, MemRangeError::Empty);
                }
            }
        }
    }
    let mut r = Reader::new(data);
    let a = MemRange {
        start: r.u64(),
        size: r.u64(),
    };
    let b = MemRange {
        start: r.u64(),
        size: r.u64(),
    };
    let (addr, len) = (r.u64(), r.u64());
    assert_eq!(
        memrange::parse(&a.to_string()),
        MemRange::new(a.start, a.size),
        "{a:?} printed as {}",
        a
    );
    let wide = |m: &MemRange| {
        (
            u128::from(m.start),
            u128::from(m.start) + u128::from(m.size),
        )
    };
    let limit = u128::from(u64::MAX);
    let (a0, a1) = wide(&a);
    let (b0, b1) = wide(&b);
    assert_eq!(u128::from(a.end()), a1.min(limit));
    let contains_range = a1 <= limit && {
        let (s, e) = (u128::from(addr), u128::from(addr) + u128::from(len));
        e <= limit && s >= a0 && e <= a1
    };
    assert_eq!(
        a.contains_range(addr, len),
        contains_range,
        "{a:?} {addr:#x}+{len:#x}"
    );
    assert_eq!(
        a.contains(addr),
        u128::from(addr) >= a0 && u128::from(addr) < a1,
        "{a:?} contains {addr:#x}"
    );
    assert_eq!(a.overlaps(&b), b.overlaps(&a));
    if a1 <= limit && b1 <= limit {
        let overlap = a.size != 0 && b.size != 0 && a0 < b1 && b0 < a1;
        assert_eq!(a.overlaps(&b), overlap, "{a:?} {b:?}");
    }
}

/// How the memory-list model refuses a list.
#[derive(Debug, PartialEq, Eq)]
enum ListBad {
    /// Nothing but (at most) the newline.
    Empty,
    /// More than [`MAX_RANGES`] items (whatever they are).
    TooMany,
    /// Some items are wrong: these (0-based), and these pairs of valid
    /// explicit items overlap.
    Items {
        bad: BTreeSet<usize>,
        overlaps: BTreeSet<(usize, usize)>,
    },
}

/// One item of a memory list as the model reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ItemModel {
    Size(u64),
    At(MemRange),
}

/// A `SIZE@START` item of a memory list: the `memrange` model, without its
/// trailing newline (only the whole list may end in one;
/// `fuzz/regressions/memlist/newline-before-comma` once slipped through).
fn list_range_model(item: &str) -> Option<MemRange> {
    memrange_fields_model(item)
}

/// Whether two (valid) ranges share a byte, in 128 bits.
fn ranges_meet(a: &MemRange, b: &MemRange) -> bool {
    let (a0, b0) = (u128::from(a.start), u128::from(b.start));
    a0 < b0 + u128::from(b.size) && b0 < a0 + u128::from(a.size)
}

/// A memory list as `memlist.rs` and docs/sysfs-abi.md document it, without
/// its code: one trailing newline, then 1 to `MAX_RANGES` comma-separated
/// items; an item with `@` is a `SIZE@START` range (the `memrange` model,
/// newline excepted: it only ends the whole list), an item without one is a
/// size alone, a non-zero multiple of 2 MiB, allowed only if `sizes`; the
/// explicit ranges do not overlap. The value: the items in the order written.
fn memlist_model(s: &str, sizes: bool) -> Result<Vec<ItemModel>, ListBad> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    if s.is_empty() {
        return Err(ListBad::Empty);
    }
    let parsed: Vec<Option<ItemModel>> = s
        .split(',')
        .map(|item| {
            if item.contains('@') {
                list_range_model(item).map(ItemModel::At)
            } else if sizes {
                memrange_number_model(item)
                    .filter(|&n| n != 0 && n % (2 << 20) == 0)
                    .map(ItemModel::Size)
            } else {
                None
            }
        })
        .collect();
    if parsed.len() > MAX_RANGES {
        return Err(ListBad::TooMany);
    }
    let bad: BTreeSet<usize> = (0..parsed.len()).filter(|&i| parsed[i].is_none()).collect();
    let mut overlaps = BTreeSet::new();
    for (j, b) in parsed.iter().enumerate() {
        for (i, a) in parsed.iter().enumerate().take(j) {
            if let (Some(ItemModel::At(a)), Some(ItemModel::At(b))) = (a, b) {
                if ranges_meet(a, b) {
                    overlaps.insert((i, j));
                }
            }
        }
    }
    if bad.is_empty() && overlaps.is_empty() {
        Ok(parsed.into_iter().flatten().collect())
    } else {
        Err(ListBad::Items { bad, overlaps })
    }
}

/// A refusal of `parse_request` (`sizes`) or `parse_ranges` agrees with the
/// model's: `Empty` exactly when the model finds nothing; `TooMany` only for
/// more than `MAX_RANGES` items; an item error names an item the model
/// finds wrong, for the reason it gives; an overlap names an earlier and a
/// later explicit item that the model finds overlapping.
fn check_list_refusal(s: &str, e: &MemListError, model: &ListBad, sizes: bool) {
    let items: Vec<&str> = s.strip_suffix('\n').unwrap_or(s).split(',').collect();
    let bad_item = |index: usize| match model {
        ListBad::Items { bad, .. } => bad.contains(&index),
        // Past MAX_RANGES the parser may stop on any wrong item first.
        ListBad::TooMany => index < items.len(),
        ListBad::Empty => false,
    };
    let ok = match *e {
        MemListError::Empty => *model == ListBad::Empty,
        MemListError::TooMany => items.len() > MAX_RANGES && *model != ListBad::Empty,
        MemListError::EmptyItem { index } => {
            bad_item(index) && items.get(index) == Some(&"") && *model != ListBad::Empty
        }
        MemListError::Item { index, error } => {
            let placed = bad_item(index) && items[index].contains('@');
            // Without `@`: a request's size that is no number (a report's
            // size-only item is `NotPlaced`).
            let size = sizes && bad_item(index) && memrange_number_model(items[index]).is_none();
            // A newline inside the list is junk in whatever item holds it.
            let newline = bad_item(index) && items[index].contains('\n');
            (placed || size || newline) && error != MemRangeError::MissingAt
        }
        MemListError::SizeGranule { index } => {
            sizes
                && bad_item(index)
                && !items[index].contains('@')
                && memrange_number_model(items[index]).is_some()
        }
        MemListError::NotPlaced { index } => {
            !sizes && bad_item(index) && !items[index].contains('@')
        }
        MemListError::Overlap { first, second } => match model {
            ListBad::Items { overlaps, .. } => overlaps.contains(&(first, second)),
            ListBad::TooMany => {
                first < second
                    && second < items.len()
                    && matches!(
                        (list_range_model(items[first]), list_range_model(items[second])),
                        (Some(a), Some(b)) if ranges_meet(&a, &b)
                    )
            }
            ListBad::Empty => false,
        },
    };
    assert!(
        ok,
        "memory list {s:?}: parser refuses with {e:?}, the model with {model:?}"
    );
    let msg = e.to_string();
    assert!(!msg.is_empty() && !msg.contains('\n'), "message {msg:?}");
}

/// Ranges for [`RangeList::from_ranges`] from structured input: up to 10,
/// each either as read (mostly invalid) or cut to 4 KiB aligned values below
/// 1 TiB and 16 GiB (valid but for a zero size, often disjoint).
fn memlist_ranges(r: &mut Reader<'_>) -> Vec<MemRange> {
    let n = usize::from(r.u8() % 11);
    (0..n)
        .map(|_| {
            let shape = r.u8();
            let (start, size) = (r.u64(), r.u64());
            if shape & 1 == 0 {
                MemRange {
                    start: (start % (1 << 40)) & !0xfff,
                    size: (size % (1 << 34)) & !0xfff,
                }
            } else {
                MemRange { start, size }
            }
        })
        .collect()
}

/// The properties of one valid list: sorted and disjoint; `Display` is
/// comma-separated `SIZE@START` items that `parse_ranges` reads back to the
/// same list and `parse_request` to the same ranges, as explicit items;
/// `total`, `contains_range` and `overlaps`
/// agree with 128-bit arithmetic.
fn check_range_list(l: &RangeList, probe: (u64, u64), other: MemRange) {
    let rs = l.ranges();
    assert!((1..=MAX_RANGES).contains(&rs.len()), "{l:?}");
    for r in rs {
        assert_eq!(
            MemRange::new(r.start, r.size),
            Ok(*r),
            "{l:?}: invalid range"
        );
    }
    for w in rs.windows(2) {
        assert!(
            u128::from(w[0].start) + u128::from(w[0].size) <= u128::from(w[1].start),
            "{l:?}: not sorted and disjoint"
        );
    }
    let shown = l.to_string();
    assert_eq!(shown.split(',').count(), rs.len(), "{shown:?}");
    for (item, r) in shown.split(',').zip(rs) {
        assert_eq!(memrange::parse(item), Ok(*r), "{shown:?}");
    }
    assert_eq!(memlist::parse_ranges(&shown), Ok(*l), "{l:?} -> {shown:?}");
    assert_eq!(memlist::parse_ranges(&format!("{shown}\n")), Ok(*l));
    let want: Vec<MemItem> = rs.iter().map(|r| MemItem::At(*r)).collect();
    let again = memlist::parse_request(&shown).expect("a shown list is a valid request");
    assert_eq!(again.items(), want.as_slice(), "{shown:?} as a request");
    let sum: u128 = rs.iter().map(|r| u128::from(r.size)).sum();
    assert_eq!(u128::from(l.total()), sum);
    assert_eq!(u128::from(again.total()), sum);
    let (start, len) = probe;
    let (p0, p1) = (u128::from(start), u128::from(start) + u128::from(len));
    let inside = p1 <= u128::from(u64::MAX)
        && rs.iter().any(|r| {
            let (r0, r1) = (
                u128::from(r.start),
                u128::from(r.start) + u128::from(r.size),
            );
            p0 >= r0 && p1 <= r1
        });
    assert_eq!(
        l.contains_range(start, len),
        inside,
        "{l:?} {start:#x}+{len:#x}"
    );
    for r in rs {
        assert!(l.contains_range(r.start, r.size));
        assert!(l.overlaps(r));
    }
    let (o0, o1) = (
        u128::from(other.start),
        u128::from(other.start) + u128::from(other.size),
    );
    if o1 <= u128::from(u64::MAX) {
        let meets = other.size != 0
            && rs
                .iter()
                .any(|r| o0 < u128::from(r.start) + u128::from(r.size) && u128::from(r.start) < o1);
        assert_eq!(l.overlaps(&other), meets, "{l:?} overlaps {other:?}");
    }
}

/// `memlist::parse_request` (the `memory` file) and `parse_ranges` (what
/// the module reports) agree with the model on every input, refusals
/// included ([`check_list_refusal`]); a parsed request's `total` is the
/// saturated sum; every list `parse_ranges` accepts (and every list
/// `RangeList::from_ranges` accepts, from structured input) has the
/// properties of [`check_range_list`]; `from_ranges` accepts exactly 1 to
/// `MAX_RANGES` valid, pairwise disjoint ranges, and returns them sorted;
/// `sort_small` sorts as a stable sort does.
pub fn memlist(data: &[u8]) {
    let mut r = Reader::new(data);
    let probe = (r.u64(), r.u64());
    let other = MemRange {
        start: r.u64(),
        size: r.u64(),
    };
    if let Ok(s) = std::str::from_utf8(data) {
        let got = memlist::parse_request(s);
        let model = memlist_model(s, true);
        match (&got, &model) {
            (Ok(req), Ok(want)) => {
                let items: Vec<ItemModel> = req
                    .items()
                    .iter()
                    .map(|i| match *i {
                        MemItem::Size(n) => ItemModel::Size(n),
                        MemItem::At(r) => ItemModel::At(r),
                    })
                    .collect();
                assert_eq!(&items, want, "memory list {s:?}");
                let sum: u128 = items
                    .iter()
                    .map(|i| match i {
                        ItemModel::Size(n) => u128::from(*n),
                        ItemModel::At(r) => u128::from(r.size),
                    })
                    .sum();
                assert_eq!(u128::from(req.total()), sum.min(u128::from(u64::MAX)));
                assert!(items.iter().all(|i| match i {
                    ItemModel::Size(n) => n % CARVE_ALIGN == 0,
                    ItemModel::At(_) => true,
                }));
            }
            (Err(e), Err(m)) => check_list_refusal(s, e, m, true),
            _ => panic!("memory list {s:?}: parser says {got:?}, the model {model:?}"),
        }
        let got = memlist::parse_ranges(s);
        let model = memlist_model(s, false);
        match (&got, &model) {
            (Ok(l), Ok(want)) => {
                let mut want: Vec<MemRange> = want
                    .iter()
                    .map(|i| match i {
                        ItemModel::At(r) => *r,
                        ItemModel::Size(_) => unreachable!("the model has no sizes here"),
                    })
                    .collect();
                want.sort_by_key(|r| r.start);
                assert_eq!(l.ranges(), want.as_slice(), "reported list {s:?}");
                check_range_list(l, probe, other);
            }
            (Err(e), Err(m)) => check_list_refusal(s, e, m, false),
            _ => panic!("reported list {s:?}: parser says {got:?}, the model {model:?}"),
        }
    }
    let ranges = memlist_ranges(&mut r);
    let valid = !ranges.is_empty()
        && ranges.len() <= MAX_RANGES
        && ranges
            .iter()
            .all(|x| memrange_fields_model(&format!("{}@{}", x.size, x.start)) == Some(*x))
        && ranges
            .iter()
            .enumerate()
            .all(|(j, b)| ranges.iter().take(j).all(|a| !ranges_meet(a, b)));
    match RangeList::from_ranges(&ranges) {
        Ok(l) => {
            assert!(valid, "from_ranges accepts {ranges:?}");
            let mut want = ranges.clone();
            want.sort_by_key(|x| x.start);
            assert_eq!(l.ranges(), want.as_slice());
            check_range_list(&l, probe, other);
        }
        Err(e) => {
            assert!(!valid, "from_ranges refuses {ranges:?}: {e:?}");
            let ok = match e {
                MemListError::Empty => ranges.is_empty(),
                MemListError::TooMany => ranges.len() > MAX_RANGES,
                MemListError::Item { index, .. } => ranges.get(index).is_some_and(|x| {
                    memrange_fields_model(&format!("{}@{}", x.size, x.start)).is_none()
                }),
                MemListError::Overlap { first, second } => {
                    first < second
                        && second < ranges.len()
                        && ranges_meet(&ranges[first], &ranges[second])
                }
                _ => false,
            };
            assert!(ok, "from_ranges({ranges:?}): {e:?}");
        }
    }
    let mut v: Vec<(u8, usize)> = r.rest().iter().take(40).map(|b| b % 8).zip(0..).collect();
    let mut want = v.clone();
    want.sort_by_key(|p| p.0);
    memlist::sort_small(&mut v, |p| p.0);
    assert_eq!(v, want, "sort_small");
}

fn name_model(s: &str) -> Option<u8> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let digits = s.strip_prefix("os")?;
    if digits.starts_with('0') {
        return None;
    }
    let n = digits_value(digits, 10)?;
    (u128::from(name::MIN_INDEX)..=u128::from(name::MAX_INDEX))
        .contains(&n)
        .then_some(n as u8)
}

/// `parse_name` and `index` agree with each other and with the model; an
/// accepted name is exactly `os<index>`.
pub fn name(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = name::parse_name(s);
    let index = name::index(s);
    assert_eq!(index.ok(), name_model(s), "name {s:?}: {index:?}");
    assert_eq!(parsed.is_ok(), index.is_ok());
    assert_eq!(parsed.err(), index.err());
    if let (Ok(n), Ok(i)) = (parsed, index) {
        assert_eq!(n, format!("os{i}"));
        assert!(n.len() <= name::MAX_NAME_LEN);
        assert!(s == n || s.strip_suffix('\n') == Some(n));
    }
    if let Err(e) = index {
        let msg = e.to_string();
        assert!(!msg.is_empty() && !msg.contains('\n'));
    }
}

/// What `mint-kexec` parses from the module and from /proc: `lowmem`
/// (`0xSTART-0xEND`, inclusive), `apic_ids` (whitespace-separated) and the
/// PM timer port in /proc/ioports. What is accepted prints back in the
/// module's format and parses to the same value.
pub fn sysfs_values(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(r) = sysfs::parse_lowmem(s) {
        assert!(r.start < r.end, "lowmem {s:?} -> empty {r:?}");
        let shown = format!("{:#x}-{:#x}\n", r.start, r.end - 1);
        assert_eq!(
            sysfs::parse_lowmem(&shown),
            Some(r.clone()),
            "{s:?} -> {shown:?}"
        );
    }
    if let Some(ids) = sysfs::parse_apic_ids(s) {
        assert_eq!(ids.len(), s.split_whitespace().count());
        let shown: Vec<String> = ids.iter().map(u32::to_string).collect();
        assert_eq!(sysfs::parse_apic_ids(&shown.join(" ")), Some(ids));
    }
    if let Some(port) = sysfs::pm_timer_port(s) {
        let line = s
            .lines()
            .find(|l| l.contains("ACPI PM_TMR"))
            .expect("a port comes from a PM_TMR line");
        let first = line.split_whitespace().next().unwrap_or("");
        let hex = first.split('-').next().unwrap_or("");
        assert_eq!(u16::from_str_radix(hex, 16).ok(), Some(port), "{line:?}");
        let shown = format!("  {port:04x}-{:04x} : ACPI PM_TMR\n", port.wrapping_add(3));
        assert_eq!(sysfs::pm_timer_port(&shown), Some(port));
    }
}
