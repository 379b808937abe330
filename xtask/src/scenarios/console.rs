//! Scenario `console`: the host reads partitions' consoles and crash records
//! through sysfs, with no serial port for the partition (issue: the host
//! reads every partition's console and knows when it crashed).
//!
//! os5 has no UART: its marker and nonces must show in its `console` file
//! and nowhere on the machine's serial ports. It panics (state `crashed`
//! within a second, the crash record, the host's log line), wedges a CPU
//! with interrupts on and off and blocks a task (the soft-lockup, buddy
//! hard-lockup and hung-task detectors turn each into a panic) and floods its log
//! (the ring wraps and still reads in order); refused loads change nothing;
//! os2, with its own UART, runs alongside all along.

use std::time::Duration;

use super::{check_cases, expect_marker, marker, section, Logs, Scenario};
use crate::qemu::Machine;

pub fn machine() -> Machine {
    Machine {
        cpus: 4,
        mem_mib: 1024,
        append: "memmap=256M$0x20000000 memmap=256M$0x30000000".into(),
        serials: 4,
        ..Machine::default()
    }
}

pub const SCENARIO: Scenario = Scenario {
    name: "console",
    machine,
    timeout: Duration::from_secs(420),
    check,
};

/// The partition marker of the boot tagged `tag`.
fn up(nonce: &str, tag: &str) -> String {
    format!("MINT-PARTITION-UP nonce={nonce}-{tag} ")
}

/// A `@@ KEY N` marker read as milliseconds.
fn millis(host: &str, key: &str, f: &mut Vec<String>) -> Option<u64> {
    let v = marker(host, key).map(str::trim);
    let ms = v.and_then(|v| v.parse().ok());
    if ms.is_none() {
        f.push(format!("`{key}`: no time measured ({v:?})"));
    }
    ms
}

/// The `partitions` array of `mint-kexec status --json`, parsed here
/// independently of mint-kexec's own types.
fn status_of(host: &str, key: &str, name: &str, f: &mut Vec<String>) -> Option<serde_json::Value> {
    let text = marker(host, key).unwrap_or("");
    let json: serde_json::Value = match serde_json::from_str(text.trim()) {
        Ok(j) => j,
        Err(e) => {
            f.push(format!("`{key}` is not JSON ({e}): {text:?}"));
            return None;
        }
    };
    let found = json["partitions"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == name).cloned());
    if found.is_none() {
        f.push(format!("`{key}` lists no {name}: {text}"));
    }
    found
}

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let n = &logs.nonce;
    let mut f = Vec::new();
    expect_marker(host, "modes", "400 400", &mut f);
    expect_marker(host, "empty-before", "0 0", &mut f);

    // Nothing of os5 on any serial port: not its marker, not its kernel's
    // banner (the host's own is the only one on ttyS0), not its flood.
    for (port, log) in logs.serial.iter().enumerate() {
        for tag in ["quiet", "panic", "wedge", "hard", "hung", "chatty"] {
            if log.contains(&up(n, tag)) {
                f.push(format!("os5's {tag} boot printed on ttyS{port}"));
            }
        }
        if log.contains("chatty 0") {
            f.push(format!("os5's chatty lines reached ttyS{port}"));
        }
    }
    // (The host's kernel log section at the end repeats the host's banner.)
    let dmesg_banners = section(host, "dmesg").map_or(0, |d| d.matches("Linux version ").count());
    let banners = host.matches("Linux version ").count() - dmesg_banners;
    if banners != 1 {
        f.push(format!(
            "ttyS0 shows {banners} kernel banners (the host's alone expected)"
        ));
    }
    match marker(host, "os5-cmdline") {
        Some(c) if !c.contains("console=ttyS") && c.contains("8250.nr_uarts=0") => {}
        other => f.push(format!("os5's command line still names a UART: {other:?}")),
    }
    // os2 has its UART, and its console file shows the same boot.
    if !logs.serial[1].contains(&up(n, "uart")) {
        f.push("os2 did not boot on ttyS1".into());
    }
    millis(host, "os2-console-ms", &mut f);
    expect_marker(host, "os2-still", "running 1", &mut f);

    // The UART-less boot, read only through `console`.
    millis(host, "quiet-console-ms", &mut f);
    expect_marker(host, "quiet-ramoops-console", "1", &mut f);
    expect_marker(host, "quiet-tail", "heartbeat", &mut f);
    if let Some(p) = status_of(host, "status-json", "os5", &mut f) {
        if p["state"] != "running"
            || p["crashed"] != false
            || p["console_bytes"].as_u64().unwrap_or(0) == 0
        {
            f.push(format!("status --json of a running os5: {p}"));
        }
    }
    expect_marker(host, "quiet-after-stop", "1", &mut f);
    expect_marker(host, "offset-read", "5000 same", &mut f);
    expect_marker(host, "mint-kexec-console", "1", &mut f);

    // Refusals: clear messages, nothing changed.
    f.extend(check_cases(
        host,
        &[
            ("console-size-odd", "console", None),
            ("console-size-huge", "console", None),
            ("ramoops-append", "ramoops", None),
            ("console-write", "denied", None),
            ("crash-write", "denied", None),
        ],
    ));
    expect_marker(host, "refused-unchanged", "stopped same 1", &mut f);

    // The panic.
    millis(host, "panic-console-ms", &mut f);
    if let Some(ms) = millis(host, "panic-latency-ms", &mut f) {
        println!("    console: panic -> `crashed` seen by the host in {ms} ms");
        if ms > 1000 {
            f.push(format!(
                "the panic took {ms} ms to show as `crashed` (1 s at most)"
            ));
        }
    }
    expect_marker(host, "panic-state", "crashed", &mut f);
    match marker(host, "partitions") {
        Some(p) if p.contains("os5") && p.contains("crashed") => {}
        other => f.push(format!("`partitions` does not show os5 crashed: {other:?}")),
    }
    expect_marker(host, "crash-first", "Panic#1 Part1", &mut f);
    expect_marker(host, "crash-panic-line", "1", &mut f);
    expect_marker(host, "console-old-new", "0 1", &mut f);
    expect_marker(host, "mint-kexec-crash", "Panic#1 Part1", &mut f);
    if let Some(p) = status_of(host, "status-json-crashed", "os5", &mut f) {
        if p["state"] != "crashed"
            || p["crashed"] != true
            || p["crash_reason"] != "sysrq triggered crash"
        {
            f.push(format!("status --json of a crashed os5: {p}"));
        }
    }
    super::expect_host_slept_2s(host, "panic-sleep2", &mut f);
    expect_marker(host, "stop-crashed", "0 stopped 1", &mut f);
    let dmesg = section(host, "dmesg").unwrap_or("");
    if !dmesg.contains("mint: os5: crashed: sysrq triggered crash") {
        f.push("the host's kernel log lacks `mint: os5: crashed: sysrq triggered crash`".into());
    }

    // A CPU wedged with preemption off, one with interrupts off (its buddy
    // notices), a task blocked in D state: each becomes a panic.
    for (tag, what, reason) in [
        ("wedge", "soft lockup", "softlockup: hung tasks"),
        ("hard", "hard lockup", "Hard LOCKUP"),
        ("hung", "hung task", "hung_task: blocked tasks"),
    ] {
        millis(host, &format!("{tag}-console-ms"), &mut f);
        if let Some(ms) = millis(host, &format!("{tag}-latency-ms"), &mut f) {
            println!("    console: {what} -> `crashed` seen by the host in {ms} ms");
        }
        expect_marker(host, &format!("{tag}-crash"), "1 1", &mut f);
        let line = format!("mint: os5: crashed: {reason}");
        if !dmesg.contains(&line) {
            f.push(format!("the host's kernel log lacks `{line}`"));
        }
    }
    expect_marker(host, "wedge-crash-empty-before", "0", &mut f);

    // The flood: the ring wrapped (the banner is gone, the ring is full)
    // and the numbered lines read in order up to the last one.
    millis(host, "chatty-ms", &mut f);
    match marker(host, "chatty-bytes") {
        // 512 KiB console zone minus its 12-byte header (ramoops format).
        Some(v) if v.trim() == "524276 banner=0" => {}
        other => f.push(format!(
            "the chatty console did not wrap to a full ring: {other:?}"
        )),
    }
    let order = marker(host, "chatty-order").unwrap_or("");
    let field = |k: &str| -> Option<u64> {
        order
            .split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse().ok())
    };
    match (
        field("first="),
        field("last="),
        field("back="),
        field("gaps="),
        field("lines="),
    ) {
        (Some(first), Some(11999), Some(0), Some(0), Some(lines))
            if first > 0 && lines == 12000 - first && lines > 3000 => {}
        _ => f.push(format!(
            "the wrapped console does not read in order: {order:?}"
        )),
    }

    expect_marker(host, "rmmod-rc", "0", &mut f);
    expect_marker(host, "online", "0-3", &mut f);
    super::expect_host_slept_2s(host, "end-sleep2", &mut f);
    super::expect_clean_kernel_log(host, &mut f);
    f
}
