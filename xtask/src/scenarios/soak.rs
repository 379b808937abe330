//! Scenario `soak`: N load/start/verify/stop cycles of os2, each boot with a
//! fresh nonce that must show up on os2's console exactly once; afterwards the
//! host's online CPUs and /proc/iomem are identical and its free memory is
//! back within a small tolerance. `cargo xtask test` runs 10 cycles,
//! `cargo xtask soak --cycles N` any number.

use std::time::Duration;

use super::{expect_marker, marker, markers, Logs, Scenario};

/// Cycles in `cargo xtask test`.
pub const TEST_CYCLES: u32 = 10;
/// Host free memory (free pages plus per-CPU lists, `free_kb` in
/// qemu/scenarios/lib.sh) may drop by this much over the soak (slab churn of
/// the host itself); a leaked image (4-11 MB) or window would be far larger.
const MEMFREE_TOLERANCE_KB: i64 = 4 * 1024;

pub const SCENARIO: Scenario = Scenario {
    name: "soak",
    machine: super::os2_boot::machine,
    timeout: Duration::from_secs(60 + 8 * TEST_CYCLES as u64),
    check,
};

/// The timeout for `cycles` cycles.
pub fn timeout(cycles: u32) -> Duration {
    Duration::from_secs(60 + 8 * cycles as u64)
}

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let os2 = &logs.serial[1];
    let mut f = Vec::new();
    let cycles: u32 = marker(host, "cycles")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if cycles == 0 {
        f.push("no cycle count in the log".into());
    }
    for failed in markers(host, "cycle-failed") {
        f.push(format!("cycle failed: {failed}"));
    }
    let done = markers(host, "cycle-done").count() as u32;
    if done != cycles {
        f.push(format!("{done} of {cycles} cycles completed"));
    }
    for i in 1..=cycles {
        let n = super::partition_ups(os2, &format!("{}-c{i}", logs.nonce)).len();
        if n != 1 {
            f.push(format!("cycle {i}: os2 printed its marker {n} times"));
        }
    }
    expect_marker(host, "rmmod-rc", "0", &mut f);
    let field = |s: &str, k: &str| {
        s.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .map(str::to_string)
    };
    match (marker(host, "host-before"), marker(host, "host-after")) {
        (Some(b), Some(a)) => {
            for k in ["online=", "iomem="] {
                if field(b, k) != field(a, k) {
                    f.push(format!("host {k} changed: before {b:?}, after {a:?}"));
                }
            }
            let kb = |s: &str| {
                field(s, "memfree_kb=")
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0)
            };
            let delta = kb(a) - kb(b);
            println!(
                "    soak: {cycles} cycles, host free memory {} -> {} kB ({delta:+} kB)",
                kb(b),
                kb(a)
            );
            // A leak lowers MemFree; the host freeing caches may raise it.
            if -delta > MEMFREE_TOLERANCE_KB {
                f.push(format!(
                    "host MemFree dropped by {} kB over {cycles} cycles",
                    -delta
                ));
            }
        }
        _ => f.push("missing host snapshots".into()),
    }
    super::expect_clean_kernel_log(host, &mut f);
    f
}
