//! Scenario `devices-iommu`: a host whose IOMMU translates DMA (q35 with
//! `intel-iommu`, interrupt remapping off, `intel_iommu=on`) refuses to give a
//! function away while its DMA is translated (the partition's memory is not
//! mapped for it), naming the remedy; once the function's group has an
//! identity domain (the remedy), the claim works and the hand-back too.

use std::time::Duration;

use super::{check_cases, expect_marker, Logs, Scenario};
use crate::qemu::{Machine, Profile};

pub fn machine() -> Machine {
    Machine {
        cpus: 2,
        mem_mib: 1024,
        append: "memmap=256M$0x20000000 intel_iommu=on".into(),
        serials: 2,
        profiles: &[Profile::Q35],
        extra_args: [
            "-device",
            "intel-iommu,intremap=off",
            "-device",
            "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x4",
            "-device",
            "virtio-blk-pci,drive=d2,bus=rp1",
            "-drive",
            "if=none,id=d2,format=raw,file=null-co://,file.size=64M",
        ]
        .map(String::from)
        .to_vec(),
        ..Machine::default()
    }
}

pub const SCENARIO: Scenario = Scenario {
    name: "devices-iommu",
    machine,
    timeout: Duration::from_secs(180),
    check,
};

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let mut f = Vec::new();
    match super::marker(host, "iommu-group") {
        Some(v) if v.trim().ends_with(" DMA") || v.trim().ends_with(" DMA-FQ") => {}
        other => f.push(format!(
            "the function's IOMMU group does not translate DMA: {other:?}"
        )),
    }
    expect_marker(host, "insmod-rc", "0", &mut f);
    f.extend(check_cases(
        host,
        &[(
            "translated",
            "not supported",
            Some("os2: devices: 0000:01:00.0: the host's IOMMU translates its DMA: boot the host with iommu=pt, or write identity to /sys/kernel/iommu_groups/"),
        )],
    ));
    expect_marker(host, "after", "[] none", &mut f);
    expect_marker(host, "identity-rc", "0 identity", &mut f);
    expect_marker(host, "claim-identity-rc", "0 [0000:01:00.0] mint", &mut f);
    expect_marker(host, "destroy-rc", "0 virtio-pci", &mut f);
    expect_marker(host, "rmmod-rc", "0", &mut f);
    super::expect_clean_kernel_log(host, &mut f);
    f
}
