//! Scenario `module-load`: insmod creates the documented sysfs tree, rmmod
//! removes it, and the kernel log stays clean.

use std::time::Duration;

use super::{expect_marker, kernel_problems, marker, section, Logs, Scenario};
use crate::qemu::Machine;

pub const SCENARIO: Scenario = Scenario {
    name: "module-load",
    machine: Machine::default,
    timeout: Duration::from_secs(120),
    check,
};

/// The documented top-level files (docs/sysfs-abi.md) and their modes.
const TOP_LEVEL: &[(&str, &str)] = &[
    ("create", "200"),
    ("destroy", "200"),
    ("partitions", "444"),
    ("tsc_khz", "444"),
    ("version", "444"),
];

fn check(logs: &Logs) -> Vec<String> {
    let log = logs.host();
    let mut f = Vec::new();
    expect_marker(log, "insmod-rc", "0", &mut f);
    let names: Vec<&str> = TOP_LEVEL.iter().map(|(n, _)| *n).collect();
    expect_marker(log, "files", &names.join(" "), &mut f);
    for (name, mode) in TOP_LEVEL {
        expect_marker(log, &format!("mode {name}"), mode, &mut f);
    }
    expect_marker(log, "version", env!("CARGO_PKG_VERSION"), &mut f);
    expect_marker(log, "partitions", "[]", &mut f);
    expect_marker(log, "module-listed", "yes", &mut f);
    expect_marker(log, "rmmod-rc", "0", &mut f);
    expect_marker(log, "after-rmmod", "absent", &mut f);
    expect_marker(log, "module-listed-after", "no", &mut f);
    match section(log, "dmesg") {
        Some(dmesg) => {
            for needed in ["mint: loaded", "mint: unloaded"] {
                if !dmesg.contains(needed) {
                    f.push(format!("kernel log lacks {needed:?}"));
                }
            }
            f.extend(
                kernel_problems(dmesg)
                    .into_iter()
                    .map(|l| format!("kernel log: {l}")),
            );
        }
        None => f.push("no dmesg section in the log".into()),
    }
    if marker(log, "host-ready").is_none() {
        f.push("the host never reached its /init".into());
    }
    f
}
