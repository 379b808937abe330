//! Scenario `memory-cma`: carving on a host booted with the two parameters
//! the README ("Making it reliable") says make carving reliable, `cma=` and
//! `movablecore=` (the `memory` scenario's 6 GiB host otherwise, with a
//! third CPU and serial port for a second partition). The script is
//! qemu/scenarios/memory-cma.sh:
//! - **the host:** its kernel log shows the CMA area (`cma: Reserved N MiB
//!   at 0x...`) of the size asked for, /proc/meminfo's `CmaTotal` agrees;
//!   /proc/zoneinfo has a `Movable` zone of about the size asked for, at the
//!   top of the host's RAM, where the kernel log says it starts;
//! - **a:** `256M` for os2 comes from the CMA area: the module's log line
//!   says so, the range read back from `memory` lies inside the area,
//!   `CmaFree` drops by its size, /proc/iomem shows it as `os2` under
//!   `System RAM`; os2 boots there; destroy gives the memory back to the
//!   host and to the area;
//! - **b:** os2 gets `256M` from the area again and, while it holds it, os3
//!   gets `1G`, more than the area has left (`CmaFree`): the module carves
//!   it from System RAM, not the CMA area, and it lies inside ZONE_MOVABLE
//!   (the zone's `start_pfn` and `spanned` pages); both partitions boot and
//!   run at once; destroy gives everything back;
//! - after rmmod the host's CPUs and /proc/iomem are as before insmod.
//!
//! Where the CMA area and the zone are comes only from the host's own log
//! and files; where each carve went, from `memory`. The module's carve and
//! zeroing times are printed, not asserted.

use std::time::Duration;

use super::memory::{
    self, carved, carved_at, host_as_before, kb_marker, ms_of, parse_addr, parse_iomem, released,
    word, Range, CARVE_ALIGN, FREE_TOLERANCE_KB,
};
use super::{expect_marker, marker, partition_ups, section, Logs, Scenario};
use crate::qemu::Machine;

const MIB: u64 = 1 << 20;
/// The host's `cma=` (a test input: the checks read the area's real size
/// from the kernel log and compare).
const CMA_MIB: u64 = 512;
/// The host's `movablecore=`.
const MOVABLE_MIB: u64 = 1536;
/// How far ZONE_MOVABLE may be from `movablecore=`: the kernel rounds the
/// zone's start up to a whole MAX_PAGE_ORDER block (4 MiB on x86).
const MOVABLE_SLACK: u64 = 16 * MIB;
/// Windows from the CMA area are aligned as the area allows: 1 MiB with the
/// default CMA_ALIGNMENT (README, "Making it reliable").
const CMA_WINDOW_ALIGN: u64 = MIB;
const PAGE: u64 = 4096;
/// The sizes the script asks for (qemu/scenarios/memory-cma.sh).
const SMALL: u64 = 256 * MIB;
const LARGE: u64 = 1024 * MIB;

fn machine() -> Machine {
    let base = memory::base_machine();
    Machine {
        cpus: 3,
        serials: 3,
        append: format!("{} cma={CMA_MIB}M movablecore={MOVABLE_MIB}M", base.append),
        ..base
    }
}

pub const SCENARIO: Scenario = Scenario {
    name: "memory-cma",
    machine,
    // Three partition boots and 1.5 GiB zeroed: measured 28 s on the
    // normal kernel and 60 s on the debug kernel (2-core machine).
    timeout: Duration::from_secs(300),
    check,
};

/// The CMA area from the kernel's `cma: Reserved N MiB at 0x... on node
/// -1` (mm/cma.c).
pub fn parse_cma_reserved(line: &str) -> Option<Range> {
    let rest = line.split("cma: Reserved ").nth(1)?;
    let mut w = rest.split_whitespace();
    let mib: u64 = w.next()?.parse().ok()?;
    if (w.next()?, w.next()?) != ("MiB", "at") {
        return None;
    }
    Some(Range {
        start: parse_addr(w.next()?)?,
        size: mib.checked_mul(MIB)?,
    })
}

/// ZONE_MOVABLE as `movable_zone` in the script reports it.
#[derive(Debug, PartialEq, Eq)]
pub struct Zone {
    pub start_pfn: u64,
    pub spanned: u64,
    pub present: u64,
}

impl Zone {
    /// The physical range the zone spans.
    pub fn span(&self) -> Range {
        Range {
            start: self.start_pfn * PAGE,
            size: self.spanned * PAGE,
        }
    }
}

pub fn parse_zone(v: &str) -> Option<Zone> {
    let n = |k: &str| word(v, k)?.parse::<u64>().ok();
    Some(Zone {
        start_pfn: n("start_pfn")?,
        spanned: n("spanned")?,
        present: n("present")?,
    })
}

fn overlaps(a: Range, b: Range) -> bool {
    a.start < b.end() && b.start < a.end()
}

/// The host's CMA area and ZONE_MOVABLE, checked against what it was asked
/// for and against each other's sources.
fn host_areas(host: &str, f: &mut Vec<String>) -> (Option<Range>, Option<Range>) {
    let line = marker(host, "cma-reserved").unwrap_or("");
    let cma = parse_cma_reserved(line);
    match cma {
        Some(c) if c.size == CMA_MIB * MIB => {
            match kb_marker(host, "cma-total-kb") {
                Some(kb) if kb as u64 * 1024 == c.size => {}
                other => f.push(format!(
                    "CmaTotal {other:?} kB is not the logged area's {} MiB",
                    c.size / MIB
                )),
            }
            println!(
                "    memory-cma: CMA area {:#x}-{:#x} ({} MiB)",
                c.start,
                c.end() - 1,
                c.size / MIB
            );
        }
        _ => f.push(format!(
            "the host's kernel log shows no {CMA_MIB} MiB CMA area: {line:?}"
        )),
    }
    let v = marker(host, "movable-zone").unwrap_or("");
    let Some(z) = parse_zone(v).filter(|z| z.present > 0) else {
        f.push(format!(
            "/proc/zoneinfo shows no populated Movable zone: {v:?}"
        ));
        return (cma, None);
    };
    let span = z.span();
    println!(
        "    memory-cma: ZONE_MOVABLE {:#x}-{:#x} (start_pfn {}, spanned {} = {} MiB, present {} = {} MiB)",
        span.start,
        span.end() - 1,
        z.start_pfn,
        z.spanned,
        span.size / MIB,
        z.present,
        z.present * PAGE / MIB
    );
    let want = MOVABLE_MIB * MIB;
    if z.present * PAGE > want || z.present * PAGE + MOVABLE_SLACK < want {
        f.push(format!(
            "ZONE_MOVABLE has {} MiB present, not about movablecore={MOVABLE_MIB}M",
            z.present * PAGE / MIB
        ));
    }
    // The kernel's own line says the same start.
    let logged = marker(host, "movable-start")
        .and_then(|l| l.split_whitespace().last())
        .and_then(parse_addr);
    if logged != Some(span.start) {
        f.push(format!(
            "the kernel log's Movable zone start {:?} is not start_pfn {} x 4 KiB",
            marker(host, "movable-start"),
            z.start_pfn
        ));
    }
    // At the top of memory: it ends where the host's RAM does.
    let top = section(host, "boot-iomem").map(|io| {
        parse_iomem(io)
            .iter()
            .filter(|e| e.name == "System RAM")
            .map(|e| e.end)
            .max()
    });
    if top != Some(Some(span.end())) {
        f.push(format!(
            "ZONE_MOVABLE ends at {:#x}, the host's RAM at {top:x?}",
            span.end()
        ));
    }
    if let Some(c) = cma.filter(|&c| overlaps(c, span)) {
        f.push(format!(
            "the CMA area {c:x?} overlaps ZONE_MOVABLE {span:x?}"
        ));
    }
    (cma, Some(span))
}

/// The one range `tag` carved for `name`, of `size`, and the module's log
/// line for it, checked: it says where, how long, and whether it came from
/// the CMA area (`from_cma`); the range lies inside `area` (the CMA area
/// or ZONE_MOVABLE) and, if not from the CMA area, outside `cma`.
fn carve_in(
    host: &str,
    (tag, name, size): (&str, &str, u64),
    from_cma: bool,
    area: Option<Range>,
    cma: Option<Range>,
    f: &mut Vec<String>,
) -> Option<Range> {
    let align = if from_cma {
        CMA_WINDOW_ALIGN
    } else {
        CARVE_ALIGN
    };
    let r = *carved(host, tag, name, &[size], align, f).first()?;
    let line = marker(host, &format!("{tag}-carved")).unwrap_or("");
    let what = if from_cma {
        "the CMA area"
    } else {
        "ZONE_MOVABLE"
    };
    let says_cma = line.contains(" from the CMA area ");
    if carved_at(line) != Some(r.start)
        || ms_of(line).is_none()
        || !line.contains(&format!("{name}: carved "))
        || says_cma != from_cma
        || (!from_cma && !line.trim_end().ends_with(" tries)"))
    {
        f.push(format!(
            "{tag}: no kernel log line for {name}'s carve at {:#x} {}: {line:?}",
            r.start,
            if from_cma {
                "from the CMA area"
            } else {
                "by the search of System RAM (`(K tries)`, not `from the CMA area`)"
            }
        ));
    }
    match area {
        Some(a) if a.contains(r.start, r.end()) => {}
        _ => f.push(format!(
            "{tag}: {name}'s range {r:x?} is not inside {what} {area:x?}"
        )),
    }
    if let Some(c) = cma.filter(|&c| !from_cma && overlaps(c, r)) {
        f.push(format!(
            "{tag}: {name}'s range {r:x?} overlaps the CMA area {c:x?}"
        ));
    }
    let ms = |l: Option<&str>| l.and_then(ms_of).map_or("?".into(), |m| format!("{m} ms"));
    println!(
        "    memory-cma: {tag}: {name} {} MiB at {:#x} ({} 4 GiB) from {what}: {} carving, {} zeroing",
        size / MIB,
        r.start,
        if r.end() <= memory::FOUR_GIB {
            "below"
        } else {
            "above"
        },
        ms(Some(line)),
        ms(marker(host, &format!("{tag}-zeroed")))
    );
    Some(r)
}

/// `name`'s boot with `NONCE-tag` printed its marker once on serial `port`.
fn booted(logs: &Logs, port: usize, name: &str, tag: &str, f: &mut Vec<String>) {
    let nonce = format!("{}-{tag}", logs.nonce);
    let n = partition_ups(&logs.serial[port], &nonce).len();
    if n != 1 {
        f.push(format!(
            "{tag}: {name} printed its marker (nonce {nonce}) {n} times on ttyS{port}"
        ));
    }
}

/// `CmaFree` went from `from` to `to` by `drop` bytes (negative: grew),
/// within the tolerance.
fn cma_free_moved(host: &str, from: &str, to: &str, drop: i64, f: &mut Vec<String>) {
    match (kb_marker(host, from), kb_marker(host, to)) {
        (Some(a), Some(b)) if (a - b - drop / 1024).abs() <= FREE_TOLERANCE_KB => {}
        other => f.push(format!(
            "CmaFree {from} -> {to}: {other:?} kB, expected it to drop by {} MiB",
            drop / MIB as i64
        )),
    }
}

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let mut f = Vec::new();
    let (cma, movable) = host_areas(host, &mut f);
    expect_marker(host, "insmod-rc", "0", &mut f);

    // a: 256M from the CMA area, os2 boots there.
    carve_in(host, ("a", "os2", SMALL), true, cma, cma, &mut f);
    cma_free_moved(
        host,
        "a-cma-free-before",
        "a-cma-free-carved",
        SMALL as i64,
        &mut f,
    );
    for k in ["a-load-rc", "a-start-rc", "a-stop-rc", "a-destroy-rc"] {
        expect_marker(host, k, "0", &mut f);
    }
    expect_marker(host, "a-state", "running", &mut f);
    booted(logs, 1, "os2", "a", &mut f);
    released(host, "a", &mut f);
    cma_free_moved(host, "a-cma-free-before", "a-cma-free-after", 0, &mut f);

    // b: 256M from the CMA area and 1G from ZONE_MOVABLE, both running.
    carve_in(host, ("b2", "os2", SMALL), true, cma, cma, &mut f);
    match kb_marker(host, "b-cma-free-between") {
        Some(kb) if (kb as u64) * 1024 < LARGE => {}
        other => f.push(format!(
            "b: the CMA area has {other:?} kB free beside os2's window: the 1G carve could fit"
        )),
    }
    carve_in(host, ("b3", "os3", LARGE), false, movable, cma, &mut f);
    for p in ["b2", "b3"] {
        for k in ["load-rc", "start-rc", "stop-rc", "destroy-rc"] {
            expect_marker(host, &format!("{p}-{k}"), "0", &mut f);
        }
    }
    expect_marker(host, "b-states", "running running", &mut f);
    booted(logs, 1, "os2", "b2", &mut f);
    booted(logs, 2, "os3", "b3", &mut f);
    released(host, "b", &mut f);
    expect_marker(host, "b-iomem-os3", "0", &mut f);

    host_as_before(host, &mut f);
    super::expect_clean_kernel_log(host, &mut f);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cma_line() {
        assert_eq!(
            parse_cma_reserved("cma: Reserved 512 MiB at 0x0000000100000000 on node -1"),
            Some(Range {
                start: 0x1_0000_0000,
                size: 512 * MIB
            })
        );
        assert_eq!(parse_cma_reserved("cma: Reserved 512 MiB"), None);
        assert_eq!(parse_cma_reserved(""), None);
        assert_eq!(
            parse_cma_reserved("cma: Reserved 16 KiB at 0x1000 on node -1"),
            None
        );
    }

    #[test]
    fn movable_zone() {
        let z =
            parse_zone("spanned=393216 present=393216 managed=390000 start_pfn=1441792 ").unwrap();
        assert_eq!(
            z.span(),
            Range {
                start: 0x1_6000_0000,
                size: 1536 * MIB
            }
        );
        assert_eq!(z.present, 393216);
        assert_eq!(parse_zone(""), None);
        assert_eq!(parse_zone("spanned=1 present=1"), None);
        let r = |start, size| Range { start, size };
        assert!(overlaps(r(0, 10), r(9, 10)));
        assert!(!overlaps(r(0, 10), r(10, 10)));
    }
}
