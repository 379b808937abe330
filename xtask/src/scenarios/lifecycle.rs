//! Scenario `lifecycle`: two partitions at once, stop/restart/destroy, wrong
//! moves while running, rmmod refused then clean. os2 boots through the
//! bzImage's 32-bit entry; os3 with kernel and initrd decompressed by mint-kexec
//! (64-bit entry, plain cpio initrd).

use std::time::Duration;

use super::{check_cases, expect_marker, heartbeat_gaps, marker, Logs, Scenario};
use crate::qemu::Machine;

fn machine() -> Machine {
    Machine {
        cpus: 3,
        mem_mib: 1024,
        append: "memmap=256M$0x20000000 memmap=128M$0x30000000".into(),
        serials: 3,
        ..Machine::default()
    }
}

pub const SCENARIO: Scenario = Scenario {
    name: "lifecycle",
    machine,
    timeout: Duration::from_secs(240),
    check,
};

const CASES: &[(&str, &str, Option<&str>)] = &[
    (
        "os3-cpu-owned",
        "busy",
        Some("os3: cpus: CPU already belongs to a partition"),
    ),
    (
        "os3-overlap",
        "busy",
        Some("os3: memory: overlaps another partition's memory"),
    ),
    ("start-running", "busy", Some("os2: state:")),
    ("cpus-running", "busy", Some("os2: cpus:")),
    ("memory-running", "busy", Some("os2: memory:")),
    (
        "destroy-running",
        "busy",
        Some("destroy: os2: partition is running"),
    ),
    ("load-running", "busy", Some("os2: load:")),
    ("rmmod-running", "", None),
    ("stop-stopped", "Invalid argument", Some("os3: state:")),
];

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let mut f = check_cases(host, CASES);
    expect_marker(host, "states", "running running", &mut f);
    match marker(host, "os3-entry") {
        Some(v) if v.starts_with("64-bit boot protocol") => {}
        other => f.push(format!(
            "os3 was not loaded for the 64-bit entry: {other:?}"
        )),
    }
    // The inflated initrd is larger than the file, and os3 still booted
    // from it (its marker, checked below).
    let initrd = marker(host, "os3-initrd").unwrap_or("");
    let sizes: Vec<u64> = initrd
        .split([' ', ','])
        .filter_map(|w| w.parse().ok())
        .collect();
    if !(initrd.contains("inflated here") && sizes.len() == 2 && sizes[0] > sizes[1]) {
        f.push(format!(
            "os3's initrd was not inflated by mint-kexec: {initrd:?}"
        ));
    }
    expect_marker(host, "partitions", "os2 running,os3 running,", &mut f);
    expect_marker(host, "os3-after-stop", "stopped", &mut f);
    // While os3 runs its kernel is in the window (the reading can see it);
    // after stop, not one byte of the run is left.
    match marker(host, "os3-window-running").and_then(|v| v.strip_prefix("16777216 nonzero=")) {
        Some(n) if n.trim().parse::<u64>().is_ok_and(|n| n > 1 << 20) => {}
        other => f.push(format!(
            "could not read os3's running kernel through /dev/mem: {other:?}"
        )),
    }
    expect_marker(host, "os3-window-stopped", "16777216 nonzero=0", &mut f);
    expect_marker(host, "host-cpu-hotplug-rc", "0", &mut f);
    expect_marker(host, "os3-after-restart", "running", &mut f);
    expect_marker(host, "os3-destroy-rc", "0", &mut f);
    expect_marker(host, "online-after-os3", "0,2", &mut f);
    expect_marker(host, "pinned-cpu", "2", &mut f);
    expect_marker(host, "os3-iomem", "0", &mut f);
    expect_marker(host, "partitions-after-os3", "os2 running,", &mut f);
    expect_marker(host, "rmmod-rc", "0", &mut f);

    // Each partition on its own console; os3 booted twice from one load.
    let ups = |port: usize, nonce: &str| super::partition_ups(&logs.serial[port], nonce).len();
    let n2 = ups(1, &format!("{}-os2", logs.nonce));
    let n3 = ups(2, &format!("{}-os3", logs.nonce));
    if n2 != 1 {
        f.push(format!("os2 booted {n2} times on ttyS1, expected 1"));
    }
    if n3 != 2 {
        f.push(format!(
            "os3 booted {n3} times on ttyS2, expected 2 (start, stop, start)"
        ));
    }
    if logs.serial[1].contains("-os3") || logs.serial[2].contains("-os2 ") {
        f.push("a partition's output appeared on the other's console".into());
    }
    // os2 keeps its heartbeat while os3 is stopped, restarted and destroyed.
    match (
        logs.seen(0, "@@ os3-ops-begin"),
        logs.seen(0, "@@ os3-ops-end"),
    ) {
        (Some(a), Some(b)) => {
            let (count, worst) = heartbeat_gaps(logs, 1, a, b);
            if count < 3 || worst > Duration::from_millis(2500) {
                f.push(format!(
                    "os2 heartbeat interrupted during os3's stop/restart/destroy: {count} beats, longest gap {:.1} s",
                    worst.as_secs_f64()
                ));
            }
        }
        _ => f.push("no os3 operations window in the log".into()),
    }
    // The host is exactly as before insmod.
    let snap = |tag: &str| marker(host, &format!("host-{tag}")).map(str::to_string);
    match (snap("before"), snap("after")) {
        (Some(b), Some(a)) => {
            let field = |s: &str, k: &str| {
                s.split_whitespace()
                    .find_map(|w| w.strip_prefix(k))
                    .map(str::to_string)
            };
            for k in ["online=", "iomem="] {
                if field(&b, k) != field(&a, k) {
                    f.push(format!("host {k} changed: before {b:?}, after {a:?}"));
                }
            }
            let kb = |s: &str| {
                field(s, "memfree_kb=")
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0)
            };
            // A leak lowers MemFree; the host freeing caches may raise it.
            if kb(&b) - kb(&a) > 4 * 1024 {
                f.push(format!(
                    "host free memory dropped by more than 4 MiB: before {b:?}, after {a:?}"
                ));
            }
        }
        _ => f.push("missing host snapshots".into()),
    }
    super::expect_clean_kernel_log(host, &mut f);
    f
}
