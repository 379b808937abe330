//! The small text parsers: what a user writes to the module's sysfs files
//! (cpulist, `SIZE@START`, partition names) and what `mint-kexec` reads back
//! from the module and from /proc (`lowmem`, `apic_ids`, the PM timer port).
//!
//! Each target compares the parser with a deliberately naive reference
//! model written from the documentation (accept/refuse and the value), and
//! checks that the canonical form the code prints parses back to the same
//! value.

use std::collections::BTreeSet;

use mint_kexec::sysfs;
use mint_logic::cpulist::{self, CpuListError, CpuSet, MAX_CPUS};
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
    let s = s.strip_suffix('\n').unwrap_or(s);
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
