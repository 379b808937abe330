//! Scenario `containment`: a partition of two or three CPUs that panics,
//! reboots, powers off or halts by every standard road — with and without
//! mint.ko loaded inside it as the agent — never takes the host down, the
//! host's `state` file says how it ended where the host can know, and the
//! partition starts again afterwards. Then the module's own lifetime rules:
//! a re-written CPU list changes nothing, concurrent loads, rmmod with
//! partitions left created.

use std::time::Duration;

use super::{expect_marker, partition_ups, Logs, Scenario};

pub const SCENARIO: Scenario = Scenario {
    name: "containment",
    machine: super::multicore::machine,
    timeout: Duration::from_secs(600),
    check,
};

/// Each case: tag, the state the host must show once the partition's kernel
/// has ended, what the partition's own console must show, and the host's
/// online CPUs meanwhile.
const CASES: &[(&str, &str, &str, &str)] = &[
    // Without the agent the host sees a panic through the partition's own
    // ramoops crash record: "crashed".
    (
        "panic2",
        "crashed",
        "Kernel panic - not syncing: sysrq triggered crash",
        "0,3",
    ),
    (
        "panic2-cpu1",
        "crashed",
        "Kernel panic - not syncing: sysrq triggered crash",
        "0,3",
    ),
    ("halt2", "running", "reboot: System halted", "0,3"),
    // ACPI S5 lands on the status page.
    ("poweroff2", "halted", "reboot: Power down", "0,3"),
    // The agent reports everything, before any reset path is reached.
    (
        "panic2-agent",
        "crashed",
        "Kernel panic - not syncing: sysrq triggered crash",
        "0,3",
    ),
    (
        "reboot2-agent",
        "rebooted",
        "reboot: Restarting system",
        "0,3",
    ),
    (
        "reboot-init2-agent",
        "rebooted",
        "init: reboot requested",
        "0,3",
    ),
    ("sysrq-b2-agent", "rebooted", "sysrq: Resetting", "0,3"),
    ("halt2-agent", "halted", "reboot: System halted", "0,3"),
    (
        "poweroff-init2-agent",
        "halted",
        "init: poweroff requested",
        "0,3",
    ),
    // Three CPUs: the host keeps CPU 0 only.
    (
        "panic3",
        "crashed",
        "Kernel panic - not syncing: sysrq triggered crash",
        "0",
    ),
    (
        "panic3-cpu1-agent",
        "crashed",
        "Kernel panic - not syncing: sysrq triggered crash",
        "0",
    ),
];

/// The part of a partition console log that belongs to the boot tagged
/// `nonce` (from its kernel's banner to the next banner).
fn boot_of<'a>(log: &'a str, nonce: &str) -> Option<&'a str> {
    let want = format!("MINT-PARTITION-UP nonce={nonce} ");
    log.split("Linux version ").find(|b| b.contains(&want))
}

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let os2 = &logs.serial[1];
    let mut f = Vec::new();
    expect_marker(host, "online-before", "0-3", &mut f);
    expect_marker(host, "rewrite-cpus-rc", "0 1-2 boots=0", &mut f);
    for (tag, state, said, online) in CASES {
        let nonce = format!("{}-{tag}", logs.nonce);
        let Some(boot) = boot_of(os2, &nonce) else {
            f.push(format!("{tag}: the partition never came up"));
            continue;
        };
        if !boot.contains(said) {
            f.push(format!("{tag}: the partition's console lacks {said:?}"));
        }
        let multi = if tag.contains('3') {
            "cpus=3 "
        } else {
            "cpus=2 "
        };
        if !partition_ups(boot, &nonce)
            .iter()
            .any(|l| l.contains(multi))
        {
            f.push(format!("{tag}: the partition did not run with {multi}"));
        }
        if !boot.contains("IPI shorthand broadcast: disabled")
            && boot.contains("IPI shorthand broadcast: enabled")
        {
            f.push(format!("{tag}: the partition enabled broadcast IPIs"));
        }
        if tag.ends_with("-agent") && !boot.contains("partition agent: status page at") {
            f.push(format!("{tag}: the agent did not load in the partition"));
        }
        expect_marker(host, &format!("{tag}-state"), state, &mut f);
        super::expect_host_slept_2s(host, &format!("{tag}-sleep2"), &mut f);
        expect_marker(host, &format!("{tag}-online"), online, &mut f);
        let after = if *state == "running" {
            "stopped"
        } else {
            state
        };
        expect_marker(host, &format!("{tag}-after"), after, &mut f);
    }
    expect_marker(host, "shrink", "1-2 online=0,3", &mut f);
    if partition_ups(os2, &format!("{}-ok", logs.nonce)).is_empty() {
        f.push("os2 did not boot normally after all the endings".into());
    }
    expect_marker(host, "ok-state", "running", &mut f);
    // A load while another is in progress: EBUSY, and the first completes
    // and boots (the state was `stopped` before it).
    let image_len =
        super::marker(host, "first-load-image").and_then(|v| v.trim().parse::<u64>().ok());
    if image_len.is_none_or(|n| n <= 1 << 20) {
        f.push(format!(
            "the held-open load had no real image to write: {image_len:?} bytes"
        ));
    }
    expect_marker(host, "first-load-half", "stopped", &mut f);
    f.extend(super::check_cases(
        host,
        &[(
            "second-load",
            "busy",
            Some("os2: load: another load is in progress"),
        )],
    ));
    expect_marker(host, "first-load-done", "loaded", &mut f);
    if partition_ups(os2, &format!("{}-la", logs.nonce)).is_empty()
        || !partition_ups(os2, &format!("{}-lb", logs.nonce)).is_empty()
    {
        f.push("the first load's image must boot, the refused second one's never".into());
    }
    expect_marker(host, "after-two-loads", "running", &mut f);
    expect_marker(
        host,
        "before-rmmod",
        "os2 stopped os3 empty online=0",
        &mut f,
    );
    expect_marker(host, "rmmod-rc", "0", &mut f);
    expect_marker(host, "online-end", "0-3", &mut f);
    expect_marker(host, "iomem-end", "0", &mut f);
    super::expect_clean_kernel_log(host, &mut f);
    f
}
