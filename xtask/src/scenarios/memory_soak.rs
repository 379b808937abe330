//! Scenario `memory-soak`: 20 cycles of create, carve 256M at runtime,
//! load, start, marker, stop, destroy (qemu/scenarios/memory-soak.sh), on
//! the `memory` scenario's host (6 GiB, no `memmap=`, `pc` only). Each boot
//! prints its own nonce exactly once; each carve is one 2 MiB-aligned 256M
//! range; after each destroy no `os2` is left in /proc/iomem; free memory
//! does not drift from the first cycle to the last, and after rmmod the
//! host's CPUs, /proc/iomem and free memory are as before insmod.

use std::time::Duration;

use super::memory::{parse_memory, FOUR_GIB};
use super::{expect_marker, marker, markers, Logs, Scenario};

/// Cycles (the script's default: the harness passes no `mint.cycles=`).
const CYCLES: u32 = 20;
/// Free memory (free pages plus per-CPU lists, `free_kb` in
/// qemu/scenarios/lib.sh) may drop this much from the first cycle to the
/// last, and from before insmod to after rmmod: the host's own slab churn
/// (the `soak` scenario measured -212 kB over 10 cycles) and what the
/// per-CPU lists happen to hold. A carve left behind is 256 MiB; a leaked
/// loader image (4-11 MB) in every cycle would be 80 MiB or more.
const FREE_TOLERANCE_KB: i64 = 16 * 1024;

pub const SCENARIO: Scenario = Scenario {
    name: "memory-soak",
    machine: super::memory::base_machine,
    // Measured 1m36s-1m53s on the normal kernel (about 5 s per cycle:
    // CPU hotplug, carve, zeroing, load, boot, stop, destroy); the debug
    // kernel takes 2-3 times as long.
    timeout: Duration::from_secs(60 + 15 * CYCLES as u64),
    check,
};

/// The rewrites before the cycles: the same size again carves nothing and
/// keeps the window; the list read back plus `128M` keeps it and carves one
/// more; `128M` alone keeps that second window and gives the first back; a
/// refused list (`,64G`) changes nothing.
fn check_rewrites(host: &str, f: &mut Vec<String>) {
    let field = |m: &str, k: &str| {
        m.split_whitespace()
            .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))
            .map(str::to_string)
    };
    let mem = |m: &str| {
        m.split_whitespace()
            .find(|w| w.contains('@'))
            .map(str::to_string)
    };
    let (Some(first), Some(again), Some(plus), Some(shrink), Some(after)) = (
        marker(host, "rw-first"),
        marker(host, "rw-again"),
        marker(host, "rw-plus"),
        marker(host, "rw-shrink"),
        marker(host, "rw-after-refusal"),
    ) else {
        f.push("the rewrite markers are missing".into());
        return;
    };
    let n = |m: &str| field(m, "carves").and_then(|v| v.parse::<u32>().ok());
    let (Some(first_range), Some(c0)) = (mem(first), n(first)) else {
        f.push(format!("rw-first reads {first:?}"));
        return;
    };
    if field(again, "rc").as_deref() != Some("0")
        || mem(again).as_deref() != Some(&*first_range)
        || n(again) != Some(c0)
    {
        f.push(format!(
            "writing 256M again changed the memory or carved again: {again:?} after {first:?}"
        ));
    }
    let plus_ranges = mem(plus).and_then(|m| parse_memory(&m)).unwrap_or_default();
    let first_parsed = parse_memory(&first_range).unwrap_or_default();
    let added: Vec<_> = plus_ranges
        .iter()
        .filter(|r| !first_parsed.contains(r))
        .collect();
    if field(plus, "rc").as_deref() != Some("0")
        || plus_ranges.len() != 2
        || !first_parsed.iter().all(|r| plus_ranges.contains(r))
        || added.len() != 1
        || added[0].size != 128 << 20
        || n(plus) != Some(c0 + 1)
    {
        f.push(format!(
            "`{first_range},128M` did not keep the first window and carve one more: {plus:?}"
        ));
    }
    let shrunk = mem(shrink)
        .and_then(|m| parse_memory(&m))
        .unwrap_or_default();
    if field(shrink, "rc").as_deref() != Some("0")
        || added.first().is_none_or(|a| shrunk != [**a])
        || n(shrink) != Some(c0 + 1)
        || field(shrink, "iomem_os2").as_deref() != Some("1")
    {
        f.push(format!(
            "`128M` did not keep the 128M window alone: {shrink:?}"
        ));
    }
    match marker(host, "case rw-refused") {
        Some(c) if c.contains("Cannot allocate memory") => {}
        other => f.push(format!("`…,64G` was not refused with ENOMEM: {other:?}")),
    }
    if mem(after) != mem(shrink) || n(after) != n(shrink) {
        f.push(format!(
            "the refused rewrite changed the memory: {after:?} after {shrink:?}"
        ));
    }
    if marker(host, "rw-destroyed").is_none_or(|m| field(m, "iomem_os2").as_deref() != Some("0")) {
        f.push("os2 left in /proc/iomem after the rewrites".into());
    }
}

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let os2 = &logs.serial[1];
    let mut f = Vec::new();
    expect_marker(host, "cycles", &CYCLES.to_string(), &mut f);
    expect_marker(host, "insmod-rc", "0", &mut f);
    for failed in markers(host, "cycle-failed") {
        f.push(format!("cycle failed: {failed}"));
    }
    let word = |s: &str, k: &str| {
        s.split_whitespace()
            .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))
            .map(str::to_string)
    };
    for v in markers(host, "cycle-memory") {
        let (i, mem) = v.split_once(' ').unwrap_or((v, ""));
        match parse_memory(mem) {
            Some(r)
                if r.len() == 1
                    && r[0].size == 256 << 20
                    && r[0].start % (2 << 20) == 0
                    && r[0].start >= FOUR_GIB => {}
            _ => f.push(format!(
                "cycle {i}: `memory` reads {mem:?}, not one 2 MiB-aligned 256M range above 4 GiB"
            )),
        }
    }
    check_rewrites(host, &mut f);
    let done: Vec<&str> = markers(host, "cycle-done").collect();
    if done.len() as u32 != CYCLES {
        f.push(format!("{} of {CYCLES} cycles completed", done.len()));
    }
    for d in &done {
        if word(d, "iomem_os2").as_deref() != Some("0") {
            f.push(format!("os2 left in /proc/iomem after destroy: cycle {d}"));
        }
    }
    let free = |s: &str| word(s, "free_kb").and_then(|v| v.parse::<i64>().ok());
    if let (Some(first), Some(last)) = (done.first(), done.last()) {
        match (free(first), free(last)) {
            (Some(a), Some(b)) => {
                println!(
                    "    memory-soak: free memory after cycle 1 {a} kB, after cycle {} {b} kB ({:+} kB)",
                    done.len(),
                    b - a
                );
                if a - b > FREE_TOLERANCE_KB {
                    f.push(format!(
                        "free memory dropped by {} kB from the first cycle to the last",
                        a - b
                    ));
                }
            }
            _ => f.push("cycles without free memory figures".into()),
        }
    }
    for i in 1..=CYCLES {
        let n = super::partition_ups(os2, &format!("{}-c{i}", logs.nonce)).len();
        if n != 1 {
            f.push(format!("cycle {i}: os2 printed its marker {n} times"));
        }
    }
    expect_marker(host, "rmmod-rc", "0", &mut f);
    match (marker(host, "host-before"), marker(host, "host-after")) {
        (Some(b), Some(a)) => {
            for k in ["online", "iomem"] {
                if word(b, k) != word(a, k) {
                    f.push(format!("host {k} changed: before {b:?}, after {a:?}"));
                }
            }
            match (word(b, "memfree_kb"), word(a, "memfree_kb")) {
                (Some(x), Some(y)) => {
                    let (x, y) = (x.parse::<i64>().unwrap_or(0), y.parse::<i64>().unwrap_or(0));
                    if x - y > FREE_TOLERANCE_KB {
                        f.push(format!(
                            "host free memory dropped by {} kB over {CYCLES} cycles",
                            x - y
                        ));
                    }
                }
                _ => f.push("host snapshots without free memory".into()),
            }
        }
        _ => f.push("missing host snapshots".into()),
    }
    super::expect_clean_kernel_log(host, &mut f);
    f
}
