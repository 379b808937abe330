//! Scenario `multicore`: a partition of two cores (1-2), booted on its first
//! and bringing up the second itself through its own ACPI tables; then a
//! non-contiguous set (1,3).

use std::time::Duration;

use super::{expect_marker, partition_ups, Logs, Scenario};
use crate::qemu::Machine;

/// `-smp 4` with a 256 MiB window: a partition of two or three CPUs and a
/// host that keeps at least one.
pub fn machine() -> Machine {
    Machine {
        cpus: 4,
        mem_mib: 1024,
        append: "memmap=256M$0x20000000".into(),
        serials: 2,
        ..Machine::default()
    }
}

pub const SCENARIO: Scenario = Scenario {
    name: "multicore",
    machine,
    timeout: Duration::from_secs(240),
    check,
};

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let os2 = &logs.serial[1];
    let mut f = Vec::new();
    expect_marker(host, "apic-ids", "1 2", &mut f);
    expect_marker(host, "state", "running", &mut f);
    expect_marker(host, "online-during", "0,3", &mut f);
    expect_marker(host, "host-cpu3", "3", &mut f);
    expect_marker(host, "stopped", "stopped 0,3", &mut f);
    expect_marker(host, "online-after-destroy", "0-3", &mut f);
    expect_marker(host, "pinned", "1 2", &mut f);
    expect_marker(host, "apic-ids-b", "1 3", &mut f);
    expect_marker(host, "online-during-b", "0,2", &mut f);
    expect_marker(host, "rmmod-rc", "0", &mut f);
    expect_marker(host, "online-end", "0-3", &mut f);
    super::expect_host_slept_2s(host, "sleep2", &mut f);
    for tag in ["a", "b"] {
        match partition_ups(os2, &format!("{}-{tag}", logs.nonce))
            .first()
            .copied()
        {
            Some(l) if l.contains(" cpus=2 ") && l.contains(" online=0-1") => {}
            other => f.push(format!(
                "boot {tag}: os2 does not report 2 CPUs online: {other:?}"
            )),
        }
    }
    // Boot a: both cores ran the 2-thread workload.
    super::expect_both_cpus_busy(os2, &mut f);
    // Boot a was started twice (stop, start): two markers.
    let boots_a = partition_ups(os2, &format!("{}-a", logs.nonce)).len();
    if boots_a != 2 {
        f.push(format!(
            "the 1-2 partition booted {boots_a} times, expected 2"
        ));
    }
    super::expect_clean_kernel_log(host, &mut f);
    f
}
