//! Scenario `apic256`: partitions on a CPU whose APIC ID (256) does not fit
//! 8 bits, on the `x2apic` profile only (i440FX allows at most 255 CPUs and
//! has no interrupt remapping, so `pc` has no such CPU).
//!
//! The host has CPUs 0 and 1 (APIC IDs 0 and 1) and one CPU in a second
//! socket of 129 cores, APIC ID 256 (REFERENCE §13). First os2 runs on that
//! CPU alone (it is the partition's boot CPU), then on CPU 1 and that CPU
//! (APIC 1 boots, APIC 256 is its second CPU, which its kernel brings up
//! itself). The partition's MADT names 256 in a Processor Local x2APIC entry;
//! its kernel finds x2APIC enabled (INIT keeps the mode) and stays in
//! x2APIC mode with no interrupt remapping of its own, because `noapic`
//! skips the remapping step ("Not enabling interrupt remapping due to
//! skipped IO-APIC setup"). Without that skip it would try to return to
//! xAPIC and panic: "Cannot disable x2apic, id: 00000100" (measured).

use std::time::Duration;

use super::{expect_marker, kernel_problems, partition_ups, section, Logs, Scenario};
use crate::qemu::{Machine, Profile};

/// `-smp 2` plus a topology of 2 sockets × 129 cores, and one CPU hot-added
/// at boot in socket 1, core 0: APIC IDs 0, 1 and 256.
pub fn machine() -> Machine {
    Machine {
        cpus: 2,
        mem_mib: 1024,
        append: "memmap=256M$0x20000000".into(),
        serials: 2,
        profiles: &[Profile::X2apic],
        extra_args: [
            "-smp",
            "2,maxcpus=258,sockets=2,cores=129,threads=1",
            "-device",
            "max-x86_64-cpu,socket-id=1,core-id=0,thread-id=0",
        ]
        .map(String::from)
        .to_vec(),
        ..Machine::default()
    }
}

pub const SCENARIO: Scenario = Scenario {
    name: "apic256",
    machine,
    timeout: Duration::from_secs(240),
    check,
};

/// What each boot of the partition's kernel must print about its APIC.
const PARTITION_APIC_LINES: &[&str] = &[
    "x2apic: enabled by BIOS, switching to x2apic ops",
    "APIC: Switched APIC routing to: cluster x2apic",
    "Not enabling interrupt remapping due to skipped IO-APIC setup",
];

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let os2 = &logs.serial[1];
    let mut f = Vec::new();
    expect_marker(host, "apicids", "0:0 1:1 2:256", &mut f);
    expect_marker(host, "insmod-rc", "0", &mut f);
    for (tag, ids, during) in [("a", "256", "0-1"), ("b", "1 256", "0")] {
        for key in ["cpus-rc", "load-rc", "start-rc"] {
            expect_marker(host, &format!("{tag}-{key}"), "0", &mut f);
        }
        expect_marker(host, &format!("{tag}-apic-ids"), ids, &mut f);
        expect_marker(host, &format!("{tag}-state"), "running", &mut f);
        expect_marker(host, &format!("{tag}-state-end"), "running", &mut f);
        expect_marker(host, &format!("{tag}-online-during"), during, &mut f);
        expect_marker(host, &format!("{tag}-online-after"), "0-2", &mut f);
    }
    expect_marker(host, "rmmod-rc", "0", &mut f);
    super::expect_host_slept_2s(host, "a-sleep2", &mut f);
    let dmesg = section(host, "dmesg").unwrap_or("");
    for apic in ["256", "1"] {
        let want = format!("os2: started on APIC {apic} ");
        if !dmesg.contains(&want) {
            f.push(format!("host kernel log lacks {want:?}"));
        }
    }
    super::expect_clean_kernel_log(host, &mut f);

    // The partition: one marker per boot, with its CPUs.
    for (tag, cpus, online) in [("a", "1", "0"), ("b", "2", "0-1")] {
        match partition_ups(os2, &format!("{}-{tag}", logs.nonce))
            .first()
            .copied()
        {
            Some(l)
                if l.contains(&format!(" cpus={cpus} "))
                    && l.contains(&format!(" online={online} ")) => {}
            other => f.push(format!(
                "boot {tag}: os2 does not report {cpus} CPU(s) online ({online}): {other:?}"
            )),
        }
    }
    // Each boot: x2APIC mode without remapping, and it kept beating.
    let boots: Vec<&str> = os2.split("] Linux version ").skip(1).collect();
    if boots.len() != 2 {
        f.push(format!(
            "os2's console shows {} kernel boots, expected 2",
            boots.len()
        ));
    }
    for (tag, boot) in ["a", "b"].iter().zip(&boots) {
        for want in PARTITION_APIC_LINES {
            if !boot.contains(want) {
                f.push(format!("boot {tag}: os2's log lacks {want:?}"));
            }
        }
        let beats = boot.matches("] heartbeat ").count();
        if beats < 3 {
            f.push(format!(
                "boot {tag}: os2 printed {beats} heartbeats, expected 3 or more"
            ));
        }
    }
    f.extend(
        kernel_problems(os2)
            .into_iter()
            .map(|l| format!("os2 kernel log: {l}")),
    );
    // Boot b: both CPUs, APIC 1 and APIC 256, ran the 2-thread workload.
    super::expect_both_cpus_busy(os2, &mut f);
    f
}
