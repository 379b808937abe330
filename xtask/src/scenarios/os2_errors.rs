//! Scenario `os2-errors`: bad input on the os2 path gets a clear error and
//! changes nothing (state, CPUs, memory, online CPUs, /proc/iomem).

use std::time::Duration;

use super::{marker, markers, Logs, Scenario};

pub const SCENARIO: Scenario = Scenario {
    name: "os2-errors",
    machine: super::os2_boot::machine,
    timeout: Duration::from_secs(120),
    check,
};

/// (case, text its error must contain, kernel log line the module must print)
const CASES: &[(&str, &str, Option<&str>)] = &[
    (
        "bad-name",
        "Invalid argument",
        Some("create: partition name"),
    ),
    (
        "existing-name",
        "File exists",
        Some("partition os2 exists already"),
    ),
    (
        "cpu0",
        "Invalid argument",
        Some("os2: cpus: CPU 0 is the host's boot CPU"),
    ),
    (
        "no-such-cpu",
        "No such device",
        Some("os2: cpus: no such CPU"),
    ),
    ("bad-cpulist", "Invalid argument", Some("os2: cpus:")),
    (
        "host-ram",
        "busy",
        Some("os2: memory: range is System RAM the host cannot give up"),
    ),
    ("bad-size", "Invalid argument", Some("os2: memory:")),
    (
        "start-before-load",
        "Exec format error",
        Some("os2: state:"),
    ),
    ("cpus-empty", "Invalid argument", Some("os2: cpus:")),
    ("cpus-negative", "Invalid argument", Some("os2: cpus:")),
    ("cpus-overflow", "Invalid argument", Some("os2: cpus:")),
    ("cpus-junk", "Invalid argument", Some("os2: cpus:")),
    ("mem-empty", "Invalid argument", Some("os2: memory:")),
    ("mem-negative", "Invalid argument", Some("os2: memory:")),
    ("mem-overflow", "Invalid argument", Some("os2: memory:")),
    ("mem-junk", "Invalid argument", Some("os2: memory:")),
    ("mem-wrap", "Invalid argument", Some("os2: memory:")),
    (
        "mem-granule",
        "Invalid argument",
        Some("os2: memory: memory list item 0: a size to carve must be a non-zero multiple of 2M"),
    ),
    (
        "mem-too-many",
        "Invalid argument",
        Some("os2: memory: memory list has more than 8 items"),
    ),
    (
        "mem-items-overlap",
        "Invalid argument",
        Some("os2: memory: memory list items 0 and 2 overlap"),
    ),
    ("cmdline-too-long", "command line", None),
    ("unknown-state", "nonexistent", None),
    (
        "unknown-destroy",
        "No such file",
        Some("destroy: no partition os9"),
    ),
    (
        "bad-destroy",
        "Invalid argument",
        Some("destroy: partition name"),
    ),
    ("bad-command", "Invalid argument", Some("os2: state:")),
    (
        "stop-when-not-running",
        "Invalid argument",
        Some("os2: state:"),
    ),
    ("not-bzimage", "not a bzImage", None),
    ("truncated", "truncated", None),
    ("too-small", "too small", None),
    ("no-partition", "no partition os9", None),
];

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let mut f = super::check_cases(host, CASES);
    // Nothing changed by the refused moves.
    let snap = |n: &str| {
        markers(host, "snap")
            .find(|v| v.starts_with(&format!("{n} ")))
            .map(|v| v[n.len()..].trim().to_string())
    };
    let unassigned = "state=empty cpus= memory= online=0-1 iomem=0";
    let assigned = "state=empty cpus=1 memory=256M@0x20000000 online=0 iomem=1";
    for (name, want) in [
        ("initial", unassigned),
        ("after-resources", unassigned),
        ("assigned", assigned),
        ("after-start", assigned),
        ("after-load-errors", assigned),
    ] {
        match snap(name) {
            Some(v) if v == want => {}
            other => f.push(format!("snapshot {name}: {other:?}, expected {want:?}")),
        }
    }
    if marker(host, "dmesg-end").is_none() {
        f.push("the scenario did not reach its end".into());
    }
    f
}
