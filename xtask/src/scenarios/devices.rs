//! Scenario `devices`: a partition owns two PCI functions, a virtio disk and
//! a virtio NIC, each alone behind its own PCIe root port on q35, drives them
//! with its in-tree drivers and MSIs, and talks to the host over QEMU's
//! emulated link; at destroy both go back to the host, which finds what the
//! partition wrote on the disk. Refusals of functions that cannot be given
//! away are checked first. On the `x2apic` profile (interrupt remapping on)
//! every claim must be refused, naming `intremap=off`.
//!
//! The machine: the host's own virtio NIC on bus 0 (00:03.0), root ports at
//! 00:04.0, 00:05.0, 00:06.0 (buses 1, 2, 3) holding the disk (01:00.0), the
//! partition's NIC (02:00.0) and a `pci-testdev` without MSI (03:00.0). The
//! two NICs share a QEMU hub (and a third, empty port): link-local
//! addresses, nothing routed off the machine. The disk is an ext4 image made here holding a random nonce.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::{check_cases, expect_marker, marker, Logs, Scenario};
use crate::boot_log::field;
use crate::qemu::{Machine, Profile};

fn disk_image() -> PathBuf {
    crate::paths::out().join("devices-disk.img")
}

fn disk_nonce_file() -> PathBuf {
    crate::paths::out().join("devices-disk.nonce")
}

/// A fresh 64 MiB ext4 image whose `/nonce` holds a new random value (also
/// kept beside it for the check).
fn make_disk() -> std::io::Result<PathBuf> {
    let out = crate::paths::out();
    fs::create_dir_all(&out)?;
    let nonce = super::nonce();
    let root = out.join("devices-disk-root");
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root)?;
    fs::write(root.join("nonce"), format!("{nonce}\n"))?;
    fs::write(disk_nonce_file(), &nonce)?;
    let img = disk_image();
    super::ext4_image(&img, Some(&root))?;
    Ok(img)
}

pub fn machine() -> Machine {
    let img = make_disk().unwrap_or_else(|e| {
        eprintln!("devices: cannot make the disk image: {e}");
        disk_image()
    });
    let args = [
        "-netdev",
        "hubport,id=hn0,hubid=0",
        "-device",
        "virtio-net-pci,netdev=hn0,bus=pcie.0,addr=0x3",
        "-device",
        "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x4",
        "-drive",
        &format!("if=none,id=d2,format=raw,file={}", img.display()),
        "-device",
        "virtio-blk-pci,drive=d2,bus=rp1",
        "-device",
        "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,addr=0x5",
        "-netdev",
        "hubport,id=hn1,hubid=0",
        // A third port with no NIC: it takes (and drops) every frame, as a
        // real switch port with nothing behind it does. Without it the
        // host's NIC cannot transmit while os2's is not receiving (between
        // the hand-over and os2's driver), and its TX queue times out.
        "-netdev",
        "hubport,id=hn9,hubid=0",
        "-device",
        "virtio-net-pci,netdev=hn1,bus=rp2",
        "-device",
        "pcie-root-port,id=rp3,bus=pcie.0,chassis=3,addr=0x6",
        "-device",
        "pci-testdev,bus=rp3",
    ]
    .map(String::from)
    .to_vec();
    Machine {
        cpus: 2,
        mem_mib: 1024,
        append: "memmap=256M$0x20000000".into(),
        serials: 2,
        profiles: &[Profile::Q35, Profile::X2apic],
        extra_args: args,
        trace: Some("memory_region_ops_*"),
        ..Machine::default()
    }
}

pub const SCENARIO: Scenario = Scenario {
    name: "devices",
    machine,
    timeout: Duration::from_secs(420),
    check,
};

/// The first line of the partition's console containing `tag`.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_lines() {
        let w = "1234@1700000000.000001:memory_region_ops_write cpu 1 mr 0x55d0 addr 0xcf8 value 0x80001000 size 4 name 'pci-conf-idx'";
        assert_eq!(
            port_access(w),
            Some(PortAccess {
                cpu: 1,
                write: true,
                port: 0xcf8,
                value: 0x8000_1000
            })
        );
        let r = "memory_region_ops_read cpu 0 mr 0x55d1 addr 0x2 value 0x1234 size 2 name 'pci-conf-data'";
        assert_eq!(
            port_access(r),
            Some(PortAccess {
                cpu: 0,
                write: false,
                port: 0xcfe,
                value: 0x1234
            })
        );
        assert_eq!(
            port_access(
                "memory_region_ops_read cpu 0 mr 0x1 addr 0x0 value 0x1 size 1 name 'serial'"
            ),
            None
        );
    }
}

fn os2_line<'a>(os2: &'a str, tag: &str) -> Option<&'a str> {
    os2.lines().find(|l| l.contains(&format!("] {tag}")))
}

/// One access to the PCI configuration ports in QEMU's trace
/// (`memory_region_ops_{read,write} cpu N mr P addr A value V size S name 'pci-conf-…'`).
#[derive(Debug, PartialEq, Eq)]
struct PortAccess {
    cpu: u32,
    write: bool,
    /// The I/O port: 0xcf8-0xcfb (`pci-conf-idx`) or 0xcfc-0xcff
    /// (`pci-conf-data`).
    port: u64,
    value: u64,
}

fn port_access(line: &str) -> Option<PortAccess> {
    let rest = &line[line.find("memory_region_ops_")? + "memory_region_ops_".len()..];
    let write = rest.starts_with("write");
    let word = |k: &str| {
        let mut it = rest.split_whitespace();
        it.find(|w| *w == k)?;
        it.next()
    };
    let hex = |w: &str| u64::from_str_radix(w.trim_start_matches("0x"), 16).ok();
    let base = if rest.contains("'pci-conf-idx'") {
        0xcf8
    } else if rest.contains("'pci-conf-data'") {
        0xcfc
    } else {
        return None;
    };
    // QEMU prints the absolute port (older versions: the region offset).
    let addr = hex(word("addr")?)?;
    Some(PortAccess {
        cpu: word("cpu")?.parse().ok()?,
        write,
        port: if addr < 4 { base + addr } else { addr },
        value: hex(word("value")?)?,
    })
}

fn check(logs: &Logs) -> Vec<String> {
    let host = logs.host();
    let os2 = &logs.serial[1];
    let mut f = Vec::new();
    expect_marker(host, "insmod-rc", "0", &mut f);
    expect_marker(
        host,
        "drivers-at-boot",
        "virtio-pci virtio-pci virtio-pci none",
        &mut f,
    );
    let busy = "resource busy";
    let invalid = "invalid argument";
    f.extend(check_cases(
        host,
        &[
            ("bdf-malformed", invalid, Some("devices: malformed PCI address")),
            ("bdf-missing", "no such device", Some("0000:07:00.0: no such PCI function")),
            (
                "driver-bound",
                busy,
                Some("0000:01:00.0: bound to host driver virtio-pci: echo 0000:01:00.0 > /sys/bus/pci/drivers/virtio-pci/unbind"),
            ),
            ("bridge", invalid, Some("0000:00:04.0: is a bridge")),
            ("shares-bus", invalid, Some("0000:00:1f.2: shares bus 00 with")),
            ("no-msi", invalid, Some("0000:03:00.0: has no MSI or MSI-X capability")),
        ],
    ));
    expect_marker(
        host,
        "after-refusals",
        "[] virtio-pci virtio-pci virtio-pci",
        &mut f,
    );
    let ir = marker(host, "ir").unwrap_or("").trim() == "yes";
    if ir {
        // Interrupt remapping: the claim is refused, and `assign` binds the
        // host driver it had unbound again (nothing changed).
        match marker(host, "assign-rc") {
            Some(v) if !v.starts_with("0 ") && v.contains("intremap=off") => {}
            other => f.push(format!(
                "with interrupt remapping, assign was not refused naming intremap=off: {other:?}"
            )),
        }
        expect_marker(host, "devices", "[] virtio-pci virtio-pci", &mut f);
        let dmesg = super::section(host, "dmesg").unwrap_or("");
        let want = "os2: devices: 0000:01:00.0: the host's interrupt remapping would block its MSIs to the partition: boot the host with intremap=off";
        if !dmesg.contains(want) {
            f.push(format!("host kernel log lacks {want:?}"));
        }
        expect_marker(host, "rmmod-rc", "0", &mut f);
        super::expect_clean_kernel_log(host, &mut f);
        return f;
    }
    match marker(host, "assign-rc") {
        Some(v) if v.trim_end() == "0" || v.starts_with("0 ") => {}
        other => f.push(format!("assign failed: {other:?}")),
    }
    expect_marker(
        host,
        "devices",
        "[0000:01:00.0 0000:02:00.0 ] mint mint",
        &mut f,
    );
    expect_marker(host, "release-rc", "0 [0000:01:00.0 ] virtio-pci", &mut f);
    expect_marker(
        host,
        "reassign-rc",
        "0 [0000:01:00.0 0000:02:00.0 ] mint",
        &mut f,
    );
    f.extend(check_cases(
        host,
        &[
            (
                "one-bad",
                busy,
                Some("os3: devices: 0000:01:00.0: owned by os2"),
            ),
            ("running", busy, None),
        ],
    ));
    expect_marker(host, "os3-devices", "[]", &mut f);
    expect_marker(host, "host-nic-rc", "0", &mut f);
    expect_marker(host, "load-rc", "0", &mut f);
    // ECAM only: no `pci=off`, no early config cycles, and the shared
    // config ports 0xcf8-0xcff reserved (among the legacy ports).
    match marker(host, "cmdline-pci") {
        Some(v)
            if v.split_whitespace().any(|w| w == "pci=noearly")
                && !v.contains("pci=off")
                && v.split_whitespace()
                    .filter_map(|w| w.strip_prefix("reserve="))
                    .any(|r| {
                        r.split(',')
                            .collect::<Vec<_>>()
                            .chunks(2)
                            .any(|c| c == ["0xcf8", "8"])
                    }) => {}
        other => f.push(format!(
            "os2's command line does not keep it off the config ports: {other:?}"
        )),
    }
    expect_marker(host, "start-rc", "0", &mut f);
    expect_marker(
        host,
        "devices-running",
        "[0000:01:00.0 0000:02:00.0 ]",
        &mut f,
    );

    // The partition: exactly its two functions, bound to its own drivers.
    match os2_line(os2, "DEV-PCI ") {
        Some(l)
            if l.trim_end()
                .ends_with("DEV-PCI 0000:01:00.0=virtio-pci 0000:02:00.0=virtio-pci") => {}
        other => f.push(format!(
            "os2 does not see exactly its two functions: {other:?}"
        )),
    }
    match os2_line(os2, "DEV-VIRTIO ") {
        Some(l) if l.contains("virtio_blk") && l.contains("virtio_net") => {}
        other => f.push(format!("os2's virtio drivers: {other:?}")),
    }
    match os2_line(os2, "DEV-MSI-LINES ").and_then(|l| l.split_whitespace().last()) {
        Some(n) if n.parse::<u32>().is_ok_and(|n| n >= 2) => {}
        other => f.push(format!("os2 has no PCI-MSI interrupts: {other:?}")),
    }
    // Its disk: the nonce the harness wrote, and its own file.
    let disk_nonce = fs::read_to_string(disk_nonce_file()).unwrap_or_default();
    match os2_line(os2, "DEV-DISK-NONCE ") {
        Some(l) if !disk_nonce.is_empty() && l.trim_end().ends_with(disk_nonce.trim()) => {}
        other => f.push(format!(
            "os2 did not read the disk's nonce {disk_nonce:?}: {other:?}"
        )),
    }
    for (tag, want) in [
        ("DEV-MOUNT ", "rc=0"),
        ("DEV-DISK-WRITTEN ", "rc=0"),
        ("DEV-NIC ", "rc=0"),
    ] {
        if !os2_line(os2, tag).is_some_and(|l| l.contains(want)) {
            f.push(format!(
                "os2: {tag}{want} missing: {:?}",
                os2_line(os2, tag)
            ));
        }
    }
    // The link, both ways: pings, and 8 MiB each way with matching hashes.
    match os2_line(os2, "DEV-PING ") {
        Some(l) if field(l, "rc=") == Some("0") && field(l, "replies=") == Some("3") => {}
        other => f.push(format!("os2 -> host ping: {other:?}")),
    }
    match marker(host, "host-ping-rc") {
        Some(v) if v.trim() == "0 3" => {}
        other => f.push(format!("host -> os2 ping: {other:?}")),
    }
    let host_blob = marker(host, "host-blob").unwrap_or("").trim();
    match os2_line(os2, "DEV-WGET ") {
        Some(l)
            if field(l, "rc=") == Some("0")
                && host_blob.len() == 64
                && field(l, "sha=") == Some(host_blob) => {}
        other => f.push(format!(
            "os2 did not fetch the host's file intact ({host_blob}): {other:?}"
        )),
    }
    let os2_blob = os2_line(os2, "DEV-SERVING ").and_then(|l| field(l, "sha="));
    match (marker(host, "host-wget-rc"), os2_blob) {
        (Some(v), Some(sha)) if sha.len() == 64 && v.trim() == format!("0 {sha}") => {}
        other => f.push(format!(
            "the host did not fetch os2's file intact: {other:?}"
        )),
    }
    // Its MSIs counted the I/O.
    match os2_line(os2, "DEV-DONE ") {
        Some(l) => {
            let n = |k| field(l, k).and_then(|v| v.parse::<u64>().ok());
            match (n("msi_before="), n("msi_after=")) {
                (Some(a), Some(b)) if b > a + 100 => {}
                other => f.push(format!(
                    "os2's MSI counts did not grow under I/O: {other:?} ({l})"
                )),
            }
        }
        None => f.push("os2 never reported DEV-DONE".into()),
    }
    expect_marker(host, "state", "running", &mut f);
    expect_marker(host, "host-nic-after", "virtio-pci up", &mut f);
    // The NIC removed from the host while os2 owns it: logged, quiesced;
    // found again by a rescan but kept from host drivers; no new start.
    expect_marker(host, "nic-removed", "0 running gone", &mut f);
    expect_marker(host, "nic-rescanned", "none mint", &mut f);
    f.extend(check_cases(
        host,
        &[(
            "start-removed",
            "no such device",
            Some("os2: state: 0000:02:00.0 was removed from the host: write devices without it, then load again"),
        )],
    ));
    // The hand-back: the host's drivers again (the NIC after a rescan),
    // the disk with os2's file.
    expect_marker(host, "destroy-rc", "0", &mut f);
    expect_marker(
        host,
        "drivers-after",
        "virtio-pci virtio-pci (null)",
        &mut f,
    );
    match marker(host, "host-mount-rc") {
        Some(v) if v.starts_with("0 vd") => {}
        other => f.push(format!(
            "the host could not mount the disk it got back: {other:?}"
        )),
    }
    expect_marker(host, "host-reads-nonce", disk_nonce.trim(), &mut f);
    let os2_file = format!("os2-wrote-{}", logs.nonce);
    expect_marker(host, "host-reads-os2", &os2_file, &mut f);
    // And independently of both kernels: the image itself holds the file.
    match Command::new("debugfs")
        .args(["-R", "cat /os2-file"])
        .arg(disk_image())
        .output()
    {
        Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == os2_file => {}
        Ok(o) => f.push(format!(
            "the disk image does not hold os2's file: {:?}",
            String::from_utf8_lossy(&o.stdout)
        )),
        Err(e) => f.push(format!("debugfs: {e}")),
    }
    // The config ports, from QEMU's trace: the host's beacon read shows the
    // trace was on; the partition's CPU (QEMU CPU 1) may touch them only
    // as documented.
    let accesses: Vec<PortAccess> = logs.trace.iter().filter_map(|l| port_access(l)).collect();
    let host_accesses = accesses.iter().filter(|a| a.cpu == 0).count();
    let os2_accesses: Vec<&PortAccess> = accesses.iter().filter(|a| a.cpu == 1).collect();
    println!(
        "    config ports: host CPU {host_accesses} accesses, os2's CPU {}: {:x?}",
        os2_accesses.len(),
        os2_accesses
    );
    if host_accesses == 0 {
        f.push("QEMU's trace shows no config-port access at all: it was not on".into());
    }
    // The documented residue (README "Devices"): before it parses its
    // command line, the partition's kernel reads 00:02.0's vendor ID once
    // (setup.c, snb_gfx_workaround_needed): CONFIG_ADDRESS = 0x80001000
    // (enable, bus 0, device 2, function 0, register 0), then one read of
    // CONFIG_DATA. Nothing else, and never a data write.
    let residue_ok = os2_accesses.len() <= 2
        && os2_accesses.iter().all(|a| {
            (a.write && a.port == 0xcf8 && a.value == 0x8000_1000)
                || (!a.write && (0xcfc..0xd00).contains(&a.port))
        });
    if !residue_ok {
        f.push(format!(
            "os2's CPU touched the shared config ports beyond the documented residue: {os2_accesses:x?}"
        ));
    }
    expect_marker(host, "rmmod-rc", "0", &mut f);
    let dmesg = super::section(host, "dmesg").unwrap_or("");
    for want in [
        "0000:01:00.0: mint: claimed for os2",
        "0000:02:00.0: mint: claimed for os2",
        "0000:01:00.0: mint: os2: handed back to the host (driver virtio-pci)",
        "0000:02:00.0: mint: os2: removed while the partition owns it",
        "0000:02:00.0: mint: os2: reappeared while the partition owns it: kept from host drivers",
        "0000:02:00.0: mint: os2: handed back to the host (driver virtio-pci)",
    ] {
        if !dmesg.contains(want) {
            f.push(format!("host kernel log lacks {want:?}"));
        }
    }
    super::expect_clean_kernel_log(host, &mut f);
    f.extend(
        super::kernel_problems(os2)
            .into_iter()
            .map(|l| format!("os2 kernel log: {l}")),
    );
    f
}
