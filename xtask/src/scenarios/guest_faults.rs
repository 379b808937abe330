//! Scenario `guest-faults`: a partition whose kernel panics and one whose
//! init powers off leave the host running (the host sees both: the state
//! reads `crashed`, then `halted`); the partition stays stoppable and
//! restartable.

use std::time::Duration;

use super::{expect_marker, partition_ups, Logs, Scenario};

pub const SCENARIO: Scenario = Scenario {
    name: "guest-faults",
    machine: super::os2_boot::machine,
    timeout: Duration::from_secs(180),
    check,
};

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let os2 = &logs.serial[1];
    let mut f = Vec::new();
    // Panic: the kernel ran (left the trampoline), panicked, and the host
    // saw its crash record.
    expect_marker(host, "panic-state", "crashed", &mut f);
    if !os2.contains("Kernel panic - not syncing") {
        f.push("os2 never reported its panic on ttyS1".into());
    }
    super::expect_host_slept_2s(host, "panic-sleep2", &mut f);
    expect_marker(host, "panic-stop-rc", "0 stopped", &mut f);
    // Power off from inside the partition.
    let booted = |tag: &str| !partition_ups(os2, &format!("{}-{tag}", logs.nonce)).is_empty();
    if !booted("poweroff") || !os2.contains("powering off") {
        f.push("the poweroff partition did not boot and power off".into());
    }
    // ACPI S5 through the partition's own FADT: the host saw it.
    expect_marker(host, "poweroff-state", "halted", &mut f);
    super::expect_host_slept_2s(host, "poweroff-sleep2", &mut f);
    expect_marker(host, "poweroff-stop-rc", "0 stopped", &mut f);
    // And it boots fine afterwards.
    if !booted("ok") {
        f.push("os2 did not boot again after the panic and the poweroff".into());
    }
    expect_marker(host, "ok-state", "running", &mut f);
    expect_marker(host, "rmmod-rc", "0", &mut f);
    expect_marker(host, "online", "0-1", &mut f);
    super::expect_clean_kernel_log(host, &mut f);
    f
}
