//! Scenario `os2-boot`: the host boots os2 on CPU 1 with the same bzImage;
//! assertions on both consoles (issue: boot an unmodified second Linux).

use std::time::Duration;

use super::{expect_marker, kernel_problems, marker, section, Logs, Scenario};
use crate::qemu::Machine;

/// Size of the window the host reserves at boot (memmap=) and gives to os2.
pub const WINDOW_SIZE: u64 = 256 << 20;

pub fn machine() -> Machine {
    Machine {
        cpus: 2,
        mem_mib: 1024,
        append: "memmap=256M$0x20000000".into(),
        serials: 2,
        ..Machine::default()
    }
}

pub const SCENARIO: Scenario = Scenario {
    name: "os2-boot",
    machine,
    timeout: Duration::from_secs(180),
    check,
};

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let os2 = &logs.serial[1];
    let mut f = Vec::new();
    // Same image: what the host booted is what it hands to os2.
    expect_marker(host, "image-sha256", &logs.bzimage_sha256, &mut f);
    for key in [
        "insmod-rc",
        "create-rc",
        "cpus-rc",
        "memory-rc",
        "load-rc",
        "start-rc",
    ] {
        expect_marker(host, key, "0", &mut f);
    }
    expect_marker(host, "online-before", "0-1", &mut f);
    expect_marker(host, "state-before", "empty", &mut f);
    expect_marker(host, "state-loaded", "loaded", &mut f);
    expect_marker(host, "state", "running", &mut f);
    expect_marker(host, "state-end", "running", &mut f);
    expect_marker(host, "online-during", "0", &mut f);
    expect_marker(host, "online-after-reonline", "0", &mut f);
    match marker(host, "iomem") {
        Some(v) if v.contains("20000000-2fffffff : os2") => {}
        other => f.push(format!(
            "/proc/iomem does not show the window as os2: {other:?}"
        )),
    }
    match marker(host, "reonline") {
        Some(v) if v.contains("busy") => {}
        other => f.push(format!(
            "re-onlining CPU 1 was not refused with EBUSY: {other:?}"
        )),
    }
    match marker(host, "cmdline") {
        Some(v)
            if v.contains(&format!("mint.nonce={}", logs.nonce)) && v.contains("console=ttyS1") => {
        }
        other => f.push(format!(
            "cmdline file lacks the defaults or the nonce: {other:?}"
        )),
    }
    // The host's clock: `sleep 2` takes about 2 s of its uptime.
    super::expect_host_slept_2s(host, "sleep2", &mut f);

    // os2's own console.
    // The kernel-log copy of the marker (`[ t] MINT-...`) is always one whole line.
    let up = os2.lines().find(|l| l.contains(super::PARTITION_UP));
    match up {
        None => f.push("os2 never printed its marker on ttyS1".into()),
        Some(line) => {
            let field = |k: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(k))
                    .map(str::to_string)
            };
            if field("nonce=").as_deref() != Some(logs.nonce.as_str()) {
                f.push(format!(
                    "os2 marker has the wrong nonce (want {}): {line}",
                    logs.nonce
                ));
            }
            if field("cpus=").as_deref() != Some("1") {
                f.push(format!("os2 does not see exactly 1 CPU: {line}"));
            }
            // MemTotal: most of the 256 MiB window (the kernel keeps its own
            // image and reserved areas), never more.
            match field("memtotal_kb=").and_then(|v| v.parse::<u64>().ok()) {
                Some(kb) if kb > 200 * 1024 && kb <= WINDOW_SIZE / 1024 => {}
                other => f.push(format!(
                    "os2 MemTotal {other:?} kB not consistent with a 256 MiB window"
                )),
            }
        }
    }
    // Heartbeats keep coming while the host burns CPU.
    match (logs.seen(0, "@@ load-begin"), logs.seen(0, "@@ load-end")) {
        (Some(a), Some(b)) => {
            let during = logs
                .lines
                .iter()
                .filter(|l| {
                    l.port == 1 && l.text.contains("] heartbeat ") && l.at >= a && l.at <= b
                })
                .count();
            if during < 2 {
                f.push(format!(
                    "only {during} os2 heartbeats during the host's {:.1} s CPU load",
                    (b - a).as_secs_f64()
                ));
            }
        }
        _ => f.push("no host load window in the log".into()),
    }
    // Its tty works too (a polled UART described in its own DSDT).
    if !os2.contains("tty: heartbeat") {
        f.push("os2's tty output (`tty: heartbeat`) never reached ttyS1".into());
    }
    if os2.contains("ttyS0 at I/O 0x3f8") {
        f.push("os2 probed the host's console UART (ttyS0 at 0x3f8)".into());
    }
    if os2.lines().filter(|l| l.contains("] heartbeat ")).count() < 3 {
        f.push("os2 printed fewer than 3 heartbeats".into());
    }
    match section(host, "dmesg") {
        Some(d) => {
            if !d.contains("mint: os2: started on APIC 1") {
                f.push("host kernel log lacks the start message".into());
            }
            f.extend(
                kernel_problems(d)
                    .into_iter()
                    .map(|l| format!("host kernel log: {l}")),
            );
        }
        None => f.push("no dmesg section".into()),
    }
    f
}
