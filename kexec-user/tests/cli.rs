//! The `mint-kexec` binary against a fake `/sys/kernel/mint` tree in a temp
//! directory (the hidden `--sysfs DIR` flag) and a fake host `/sys` and
//! `/proc/ioports` in it (`--host-sys`, `--ioports`): `status [--json]`,
//! `console [--follow] [--crash]`, `defaults`, the console options of
//! `load`, `assign` and `release`, and `load` of a partition with and
//! without PCI functions.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_mint-kexec");

/// The crash record of a panic, as ramoops writes it.
const PANIC_RECORD: &[u8] =
    b"====12.000345-D\nPanic#1 Part1\n<6>[   11.9] sysrq: Trigger a crash\n\
<0>[   12.0] Kernel panic - not syncing: sysrq triggered crash\n<4>[   12.0] CPU: 0 PID: 1\n";

/// A fresh fake module tree: os2 running with some console text (one byte
/// not UTF-8) and no PCI functions, os3 crashed with a panic record and no
/// `lowmem` or `devices` file (an older module). Under `host/`, the host's
/// sysfs: no PCI functions, no MCFG.
fn fake_tree(test: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("mint-cli-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let put = |path: &str, data: &[u8]| {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    };
    put("version", b"0.1.0\n");
    put("tsc_khz", b"2500000\n");
    put("partitions", b"os2 running\nos3 crashed\n");
    put("os2/state", b"running\n");
    put("os2/cpus", b"1\n");
    put("os2/apic_ids", b"1\n");
    put("os2/memory", b"256M@0x20000000\n");
    put("os2/lowmem", b"0x11000-0x1ffff\n");
    put("os2/cmdline", b"console=ttyS1 noapic\n");
    put(
        "os2/console",
        b"[    0.000000] Linux version 6.12\n\xff raw byte\n",
    );
    put("os2/crash", b"");
    put("os2/devices", b"");
    put("os3/state", b"crashed\n");
    put("os3/cpus", b"2-3\n");
    put("os3/apic_ids", b"2 3\n");
    put("os3/memory", b"128M@0x30000000\n");
    put("os3/cmdline", b"8250.nr_uarts=0\n");
    put("os3/console", b"boot\n");
    put("os3/crash", PANIC_RECORD);
    fs::create_dir_all(root.join("host/bus/pci/devices")).unwrap();
    root
}

fn run(root: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--sysfs")
        .arg(root)
        .arg("--host-sys")
        .arg(root.join("host"))
        .arg("--ioports")
        .arg(root.join("ioports"))
        .args(args)
        .output()
        .expect("running mint-kexec")
}

fn ok(out: &Output) -> &[u8] {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    &out.stdout
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn status_json() {
    let root = fake_tree("status-json");
    let out = run(&root, &["status", "--json"]);
    let v: Value = serde_json::from_slice(ok(&out)).unwrap();
    assert_eq!(
        v,
        json!({"partitions": [
            {
                "name": "os2", "state": "running", "cpus": "1", "apic_ids": [1],
                "memory": "256M@0x20000000", "lowmem": "0x11000-0x1ffff",
                "cmdline": "console=ttyS1 noapic", "console_bytes": 45,
                "crashed": false, "crash_reason": null, "devices": []
            },
            {
                "name": "os3", "state": "crashed", "cpus": "2-3", "apic_ids": [2, 3],
                "memory": "128M@0x30000000", "lowmem": null,
                "cmdline": "8250.nr_uarts=0", "console_bytes": 5,
                "crashed": true, "crash_reason": "sysrq triggered crash", "devices": []
            }
        ]})
    );
    // One line, fields in the documented order.
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.starts_with(
        r#"{"partitions":[{"name":"os2","state":"running","cpus":"1","apic_ids":[1],"memory":"256M@0x20000000","lowmem":"0x11000-0x1ffff","cmdline":"console=ttyS1 noapic","console_bytes":45,"crashed":false,"crash_reason":null,"devices":[]},"#
    ));
    // One partition only; none at all.
    let v: Value = serde_json::from_slice(ok(&run(&root, &["status", "os3", "--json"]))).unwrap();
    assert_eq!(v["partitions"].as_array().unwrap().len(), 1);
    assert_eq!(v["partitions"][0]["name"], "os3");
    fs::write(root.join("partitions"), "").unwrap();
    let v: Value = serde_json::from_slice(ok(&run(&root, &["status", "--json"]))).unwrap();
    assert_eq!(v, json!({"partitions": []}));
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn status_text() {
    let root = fake_tree("status-text");
    let out = run(&root, &["status"]);
    let text = String::from_utf8(ok(&out).to_vec()).unwrap();
    for want in [
        "os2:\n  state     running\n",
        "  cmdline   console=ttyS1 noapic\n  devices   none\n  console   45 bytes (mint-kexec console os2)\n  crash     none\n",
        "  cmdline   8250.nr_uarts=0\n  devices   none\n  console   5 bytes",
        "os3:\n  state     crashed\n",
        "  crash     yes: sysrq triggered crash (mint-kexec console os3 --crash)\n",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    let out = run(&root, &["status", "os9"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no partition os9"));
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn console_prints_bytes_as_they_are() {
    let root = fake_tree("console");
    let out = run(&root, &["console", "os2"]);
    assert_eq!(
        ok(&out),
        b"[    0.000000] Linux version 6.12\n\xff raw byte\n"
    );
    // The crash record: none for os2 (a note on stderr, success), os3's.
    let out = run(&root, &["console", "os2", "--crash"]);
    assert_eq!(ok(&out), b"");
    assert_eq!(stderr(&out).trim(), "no crash record");
    let out = run(&root, &["console", "os3", "--crash"]);
    assert_eq!(ok(&out), PANIC_RECORD);
    // Errors: no such partition, a module without the file.
    let out = run(&root, &["console", "os9"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no partition os9"),
        "{}",
        stderr(&out)
    );
    fs::remove_file(root.join("os2/console")).unwrap();
    let out = run(&root, &["console", "os2"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("console"), "{}", stderr(&out));
    let out = run(&root, &["console", "os2", "--follow", "--crash"]);
    assert!(!out.status.success(), "--follow and --crash conflict");
    let _ = fs::remove_dir_all(&root);
}

/// Replaces a file's contents at once (as a sysfs read sees them), not
/// truncated first.
fn replace(file: &Path, data: &[u8]) {
    let tmp = file.with_extension("new");
    fs::write(&tmp, data).unwrap();
    fs::rename(&tmp, file).unwrap();
}

#[test]
fn follow_ends_with_the_partition() {
    let root = fake_tree("follow-stopped");
    // Not running: the text so far, then the end.
    let out = run(&root, &["console", "os3", "--follow"]);
    assert_eq!(ok(&out), b"boot\n");

    // Running: new text as it comes, each byte once; the rest after the
    // state changed; then the end.
    let console = root.join("os2/console");
    let first = fs::read(&console).unwrap();
    let mut child = Command::new(BIN)
        .arg("--sysfs")
        .arg(&root)
        .args(["console", "os2", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut second = first.clone();
    second.extend_from_slice(b"[    1.000000] more\n");
    replace(&console, &second);
    std::thread::sleep(Duration::from_millis(500));
    let mut third = second.clone();
    third.extend_from_slice(b"[    2.000000] Kernel panic - not syncing: x\n");
    replace(&console, &third);
    replace(&root.join("os2/state"), b"crashed\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("--follow did not end when the partition stopped running");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(ok(&out), &third[..]);
    assert_eq!(stderr(&out), "");
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn defaults_with_and_without_a_window() {
    let root = fake_tree("defaults");
    let ramoops = "ramoops.mem_address=0x2ff00000 ramoops.mem_size=0x100000 \
        ramoops.record_size=0x10000 ramoops.console_size=0x80000 ramoops.pmsg_size=0x10000 \
        ramoops.ftrace_size=0 ramoops.ecc=0 ramoops.mem_type=2 pstore.kmsg_bytes=65536 pstore.compress=none";
    let tail = "panic=0 softlockup_panic=1 nmi_watchdog=panic no_ipi_broadcast=1 reboot=acpi";
    // os2's window is read from its `memory`.
    let out = run(&root, &["defaults", "os2"]);
    assert_eq!(
        String::from_utf8_lossy(ok(&out)).trim_end(),
        format!(
            "console=ttyS1 noapic acpi=noirq pci=off tsc_early_khz=2500000 \
             reserve=0x2e8,16,0x300,256 {tail} {ramoops}"
        )
    );
    let out = run(&root, &["defaults", "os2", "--no-uart"]);
    assert_eq!(
        String::from_utf8_lossy(ok(&out)).trim_end(),
        format!(
            "8250.nr_uarts=0 noapic acpi=noirq pci=off tsc_early_khz=2500000 \
             reserve=0x2e8,280 {tail} {ramoops}"
        )
    );
    // os5 does not exist: its window from --mem.
    let out = run(&root, &["defaults", "os5", "--mem", "256M@0x20000000"]);
    assert_eq!(
        String::from_utf8_lossy(ok(&out)).trim_end(),
        format!(
            "8250.nr_uarts=0 noapic acpi=noirq pci=off tsc_early_khz=2500000 \
             reserve=0x2e8,280 {tail} {ramoops}"
        )
    );
    // No window known: no ramoops parameters, and a note.
    let out = run(&root, &["defaults", "os4"]);
    let line = String::from_utf8_lossy(ok(&out)).into_owned();
    assert!(
        line.starts_with("console=ttyS3 ") && !line.contains("ramoops"),
        "{line}"
    );
    assert!(stderr(&out).contains("--mem"), "{}", stderr(&out));
    let out = run(&root, &["defaults", "os2", "--no-console-region"]);
    let line = String::from_utf8_lossy(ok(&out)).into_owned();
    assert!(
        line.trim_end().ends_with(tail) && !line.contains("ramoops"),
        "{line}"
    );
    assert_eq!(stderr(&out), "");
    // 64 KiB.
    let out = run(&root, &["defaults", "os2", "--console-size", "64K"]);
    let line = String::from_utf8_lossy(ok(&out)).into_owned();
    assert!(
        line.trim_end().ends_with(
            "ramoops.mem_address=0x2fff0000 ramoops.mem_size=0x10000 ramoops.record_size=0x1000 \
             ramoops.console_size=0x8000 ramoops.pmsg_size=0x1000 ramoops.ftrace_size=0 \
             ramoops.ecc=0 ramoops.mem_type=2 pstore.kmsg_bytes=4096 pstore.compress=none"
        ),
        "{line}"
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn console_options_are_checked_first() {
    let root = fake_tree("load-options");
    // Sizes ramoops would not lay out, refused by the argument parser.
    for (size, why) in [
        ("100000", "multiples of 4 KiB"),
        ("65K", "multiples of 4 KiB"),
        ("32K", "64 KiB to 1024 MiB"),
        ("2G", "64 KiB to 1024 MiB"),
        ("0", "64 KiB to 1024 MiB"),
        ("1X", "not a size"),
        ("", "not a size"),
    ] {
        let out = run(
            &root,
            &["load", "os2", "/nonexistent", "--console-size", size],
        );
        assert!(!out.status.success(), "{size}");
        assert!(stderr(&out).contains(why), "{size}: {}", stderr(&out));
    }
    for size in ["64K", "1M", "1048576", "0x100000", "1G", "68K"] {
        let out = run(
            &root,
            &[
                "defaults",
                "os2",
                "--mem",
                "2G@0x100000000",
                "--console-size",
                size,
            ],
        );
        ok(&out);
    }
    // A region as large as os2's 256 MiB range.
    let out = run(&root, &["defaults", "os2", "--console-size", "256M"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not fit in the partition's memory")
            && stderr(&out).contains("--console-size"),
        "{}",
        stderr(&out)
    );
    // A ramoops or pstore parameter of the user's, while mint manages the
    // region: refused in one line, before anything is read.
    let out = run(
        &root,
        &[
            "load",
            "os2",
            "/nonexistent",
            "--append",
            "quiet ramoops.mem_size=0x1000",
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("ramoops.mem_size=0x1000") && err.contains("--no-console-region"),
        "{err}"
    );
    // With --no-console-region it is the user's: the load goes on (and
    // fails later, on the missing image).
    let out = run(
        &root,
        &[
            "load",
            "os2",
            "/nonexistent",
            "--no-console-region",
            "--append",
            "ramoops.mem_size=0x1000",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot read kernel image"),
        "{}",
        stderr(&out)
    );
    // --console-size and --no-console-region conflict.
    let out = run(
        &root,
        &[
            "load",
            "os2",
            "/nonexistent",
            "--no-console-region",
            "--console-size",
            "1M",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
    let _ = fs::remove_dir_all(&root);
}

/// Writes `data` to `path` under `root`, making its directories.
fn put(root: &Path, path: &str, data: &[u8]) {
    let p = root.join(path);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

/// A `resource` file as the kernel writes it: `bars` first, 13 lines in all.
fn resource(bars: &[(u64, u64, u64)]) -> Vec<u8> {
    (0..13)
        .map(|i| {
            let (a, b, f) = bars.get(i).copied().unwrap_or((0, 0, 0));
            format!("0x{a:016x} 0x{b:016x} 0x{f:016x}\n")
        })
        .collect::<String>()
        .into_bytes()
}

/// The host's ACPI MCFG with one entry: segment 0, buses 0-0xff at `base`.
fn mcfg(base: u64) -> Vec<u8> {
    let mut t = vec![0u8; 60];
    t[..4].copy_from_slice(b"MCFG");
    t[4..8].copy_from_slice(&60u32.to_le_bytes());
    t[8] = 1;
    t[44..52].copy_from_slice(&base.to_le_bytes());
    t[55] = 0xff;
    t
}

/// The fake tree with a host that has PCI Express: ECAM at 0xb0000000, a
/// disk 0000:01:00.0 (memory and I/O BARs) bound to `virtio-pci`, a NIC
/// 0000:02:00.0 with no driver, the host's own 0000:00:00.0 and 0000:00:1f.0
/// on bus 0, and an ACPI PM timer in /proc/ioports.
fn pci_tree(test: &str) -> PathBuf {
    let root = fake_tree(test);
    let host = root.join("host");
    put(&host, "firmware/acpi/tables/MCFG", &mcfg(0xb000_0000));
    put(
        &host,
        "bus/pci/devices/0000:01:00.0/resource",
        &resource(&[
            (0xfe80_0000, 0xfe80_0fff, 0x40200),
            (0xc000, 0xc03f, 0x40101),
            (0, 0, 0),
            (0, 0, 0),
            (0xfc00_0000, 0xfc00_3fff, 0x14220c),
        ]),
    );
    put(&host, "bus/pci/drivers/virtio-pci/unbind", b"");
    std::os::unix::fs::symlink(
        "../../drivers/virtio-pci",
        host.join("bus/pci/devices/0000:01:00.0/driver"),
    )
    .unwrap();
    put(
        &host,
        "bus/pci/devices/0000:02:00.0/resource",
        &resource(&[(0xfe60_0000, 0xfe60_3fff, 0x40200)]),
    );
    put(
        &host,
        "bus/pci/devices/0000:00:00.0/resource",
        &resource(&[]),
    );
    put(
        &host,
        "bus/pci/devices/0000:00:1f.0/resource",
        &resource(&[(0xfed1_c000, 0xfed1_ffff, 0x40200)]),
    );
    put(
        &root,
        "ioports",
        b"0000-0cf7 : PCI Bus 0000:00\n  0600-067f : 0000:00:1f.0\n    0608-060b : ACPI PM_TMR\n",
    );
    root
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(ok(out)).into_owned()
}

#[test]
fn assign_unbinds_the_host_driver_then_writes_devices() {
    let root = pci_tree("assign");
    fs::write(root.join("os2/state"), "loaded\n").unwrap();
    let unbind = root.join("host/bus/pci/drivers/virtio-pci/unbind");
    let devices = root.join("os2/devices");
    let out = run(&root, &["assign", "os2", "0000:01:00.0", "02:00.0"]);
    let shown = text(&out);
    assert!(
        shown.contains("os2: assigned 0000:01:00.0 (unbound from host driver virtio-pci)\n")
            && shown.contains("os2: assigned 0000:02:00.0 (no host driver was bound)\n"),
        "{shown}"
    );
    assert_eq!(fs::read(&unbind).unwrap(), b"0000:01:00.0");
    assert_eq!(
        fs::read_to_string(&devices).unwrap(),
        "0000:01:00.0,0000:02:00.0"
    );

    // As the module answers: both are os2's. Assigning one again changes
    // nothing.
    fs::write(&devices, "0000:01:00.0\n0000:02:00.0\n").unwrap();
    fs::write(&unbind, "").unwrap();
    let out = run(&root, &["assign", "os2", "01:00.0"]);
    assert_eq!(text(&out), "os2: 0000:01:00.0 is already os2's\n");
    assert_eq!(fs::read(&unbind).unwrap(), b"");
    assert_eq!(
        fs::read_to_string(&devices).unwrap(),
        "0000:01:00.0\n0000:02:00.0\n"
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn assign_refuses_before_touching_anything() {
    let root = pci_tree("assign-refused");
    fs::write(root.join("os2/state"), "stopped\n").unwrap();
    let unbind = root.join("host/bus/pci/drivers/virtio-pci/unbind");
    let devices = root.join("os2/devices");
    let refused = |args: &[&str], want: &str| {
        let out = run(&root, args);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        // Nothing was unbound, nothing written.
        assert_eq!(fs::read(&unbind).unwrap(), b"", "{args:?}");
        assert_eq!(fs::read(&devices).unwrap(), b"", "{args:?}");
    };
    refused(
        &["assign", "os2", "0000:01:00"],
        "\"0000:01:00\" is not a PCI function address: want DDDD:BB:DD.F or BB:DD.F",
    );
    refused(
        &["assign", "os2", "0000:01:20.0"],
        "devices are 00-1f, functions 0-7",
    );
    refused(
        &["assign", "os2", "01:00.0", "0000:01:00.0"],
        "0000:01:00.0 is listed twice",
    );
    refused(&["assign", "os9", "01:00.0"], "no partition os9");
    refused(
        &["assign", "os2", "0000:07:00.0"],
        "no PCI function 0000:07:00.0 on this host",
    );
    refused(
        &["assign", "os3", "0000:01:00.0"],
        "this mint.ko cannot give PCI functions to a partition",
    );
    // A function sharing its bus with the host's.
    refused(
        &["assign", "os2", "0000:00:1f.0"],
        "bus 0000:00 also holds 0000:00:00.0, which the partition does not own",
    );
    // A function on a bus without ECAM.
    put(
        &root.join("host"),
        "bus/pci/devices/0001:01:00.0/resource",
        &resource(&[]),
    );
    refused(
        &["assign", "os2", "0001:01:00.0"],
        "the host has no ECAM for bus 0001:01: a partition with devices needs PCI Express ECAM (MCFG)",
    );
    let out = run(&root, &["assign", "os2"]);
    assert!(!out.status.success(), "a BDF is required");

    // A running partition: refused before any driver lets go.
    fs::write(root.join("os2/state"), "running\n").unwrap();
    refused(
        &["assign", "os2", "0000:01:00.0"],
        "os2 is running: stop it first",
    );
    fs::write(root.join("os2/state"), "stopped\n").unwrap();

    // A driver that cannot let go of the second function: nothing is
    // written, and the first goes back to its driver, or the message says
    // how to give it back.
    let host = root.join("host");
    fs::create_dir_all(host.join("bus/pci/drivers/e1000e")).unwrap();
    std::os::unix::fs::symlink(
        "../../drivers/e1000e",
        host.join("bus/pci/devices/0000:02:00.0/driver"),
    )
    .unwrap();
    let bind = host.join("bus/pci/drivers/virtio-pci/bind");
    for can_bind in [true, false] {
        if can_bind {
            fs::write(&bind, "").unwrap();
        } else {
            fs::remove_file(&bind).unwrap();
        }
        fs::write(&unbind, "").unwrap();
        let out = run(&root, &["assign", "os2", "0000:01:00.0", "0000:02:00.0"]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("cannot unbind 0000:02:00.0 from its host driver e1000e"),
            "{err}"
        );
        if can_bind {
            assert!(
                err.ends_with("; 0000:01:00.0 is back with host driver virtio-pci\n"),
                "{err}"
            );
            assert_eq!(fs::read(&bind).unwrap(), b"0000:01:00.0");
        } else {
            assert!(
                err.contains("; cannot give 0000:01:00.0 back to virtio-pci (writing ")
                    && err.contains("bus/pci/drivers/virtio-pci/bind)"),
                "{err}"
            );
        }
        assert_eq!(fs::read(&unbind).unwrap(), b"0000:01:00.0");
        assert_eq!(fs::read(&devices).unwrap(), b"");
    }
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn release_writes_what_remains() {
    let root = pci_tree("release");
    let devices = root.join("os2/devices");
    // One of two: the other stays (the module lists them as it likes).
    fs::write(&devices, "0000:02:00.0\n0000:01:00.0\n").unwrap();
    let out = run(&root, &["release", "os2", "02:00.0"]);
    assert_eq!(
        text(&out),
        "os2: released 0000:02:00.0 (the module resets it and hands it back to the host)\n"
    );
    assert!(fs::read_to_string(&devices)
        .unwrap()
        .starts_with("0000:01:00.0\n"));
    // Not os2's.
    fs::write(&devices, "0000:01:00.0\n").unwrap();
    let out = run(&root, &["release", "os2", "0000:02:00.0"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("0000:02:00.0 is not os2's (it owns: 0000:01:00.0)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read_to_string(&devices).unwrap(), "0000:01:00.0\n");
    // All: an empty line.
    fs::write(&devices, "0000:01:00.0\n").unwrap();
    let out = run(&root, &["release", "os2"]);
    assert!(text(&out).contains("os2: released 0000:01:00.0"));
    assert!(fs::read_to_string(&devices).unwrap().starts_with('\n'));
    // Nothing to release: nothing written.
    fs::write(&devices, "").unwrap();
    let out = run(&root, &["release", "os2"]);
    assert_eq!(
        text(&out),
        "os2 owns no PCI functions: nothing to release\n"
    );
    assert_eq!(fs::read(&devices).unwrap(), b"");
    // A module without the file.
    let out = run(&root, &["release", "os3"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("devices does not exist"),
        "{}",
        stderr(&out)
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn status_lists_devices() {
    let root = pci_tree("status-devices");
    fs::write(root.join("os2/devices"), "0000:01:00.0\n0000:02:00.0\n").unwrap();
    let out = run(&root, &["status"]);
    let shown = text(&out);
    assert!(
        shown.contains("  cmdline   console=ttyS1 noapic\n  devices   0000:01:00.0,0000:02:00.0\n"),
        "{shown}"
    );
    assert!(
        shown.contains("os3:\n") && shown.contains("  devices   none\n"),
        "{shown}"
    );
    let v: Value = serde_json::from_slice(ok(&run(&root, &["status", "--json"]))).unwrap();
    assert_eq!(
        v["partitions"][0]["devices"],
        json!(["0000:01:00.0", "0000:02:00.0"])
    );
    assert_eq!(v["partitions"][1]["devices"], json!([]), "no file: none");
    // What the module reports but cannot be parsed: null, and a note.
    fs::write(root.join("os2/devices"), "0000:01:00\n").unwrap();
    let v: Value = serde_json::from_slice(ok(&run(&root, &["status", "os2", "--json"]))).unwrap();
    assert_eq!(v["partitions"][0]["devices"], Value::Null);
    assert_eq!(v["partitions"][0]["state"], "running");
    let shown = text(&run(&root, &["status", "os2"]));
    assert!(
        shown.contains("  devices   (the module reports malformed "),
        "{shown}"
    );
    let _ = fs::remove_dir_all(&root);
}

/// A synthetic bzImage (protocol 2.15, 64-bit, relocatable, 12 KiB payload,
/// 1 MiB init_size), as the loader's unit tests build one.
fn synthetic_bzimage() -> Vec<u8> {
    let payload = 0x3000usize;
    let mut d = vec![0u8; 4 * 512 + payload];
    let mut put = |off: usize, bytes: &[u8]| d[off..off + bytes.len()].copy_from_slice(bytes);
    put(0x1f1, &[3]); // setup_sects
    put(0x1f4, &((payload / 16) as u32).to_le_bytes()); // syssize
    put(0x1fe, &0xaa55u16.to_le_bytes());
    put(0x200, &[0xeb, 0x6a]); // the header ends at 0x26c
    put(0x202, b"HdrS");
    put(0x206, &0x020fu16.to_le_bytes());
    put(0x211, &[0x01]); // loadflags: LOADED_HIGH
    put(0x214, &0x10_0000u32.to_le_bytes()); // code32_start
    put(0x22c, &0x7fff_ffffu32.to_le_bytes()); // initrd_addr_max
    put(0x230, &0x20_0000u32.to_le_bytes()); // kernel_alignment
    put(0x234, &[1, 21]); // relocatable, min_alignment
    put(0x236, &1u16.to_le_bytes()); // xloadflags: XLF_KERNEL_64
    put(0x238, &2047u32.to_le_bytes()); // cmdline_size
    put(0x258, &0x100_0000u64.to_le_bytes()); // pref_address
    put(0x260, &0x10_0000u32.to_le_bytes()); // init_size
    d
}

/// The `  cmdline   ...` line `load` printed.
fn loaded_cmdline(shown: &str) -> String {
    shown
        .lines()
        .find_map(|l| l.strip_prefix("  cmdline   "))
        .unwrap_or_else(|| panic!("no cmdline in:\n{shown}"))
        .to_string()
}

#[test]
fn load_with_and_without_devices() {
    let root = pci_tree("load-devices");
    let image = root.join("bzImage");
    fs::write(&image, synthetic_bzimage()).unwrap();
    put(&root, "os2/load", b"");
    let image = image.to_str().unwrap();
    let tail = "panic=0 softlockup_panic=1 nmi_watchdog=panic no_ipi_broadcast=1 reboot=acpi";

    // No devices: pci=off, as before.
    let out = run(&root, &["load", "os2", image, "--no-console-region"]);
    let shown = text(&out);
    assert_eq!(
        loaded_cmdline(&shown),
        format!("console=ttyS1 noapic acpi=noirq pci=off tsc_early_khz=2500000 reserve=0x2e8,16,0x300,256 {tail}")
    );
    assert!(shown.contains("  devices   none\n"), "{shown}");
    let blob = fs::read(root.join("os2/load")).unwrap();
    assert_eq!(&blob[..8], b"MINTLOAD");

    // A module without the file: no devices either.
    fs::remove_file(root.join("os2/devices")).unwrap();
    let out = run(&root, &["load", "os2", image, "--no-console-region"]);
    assert!(loaded_cmdline(&text(&out)).contains(" pci=off "));

    // Two functions on two buses: ECAM, not the config ports.
    fs::write(root.join("os2/devices"), "0000:01:00.0\n0000:02:00.0\n").unwrap();
    let out = run(&root, &["load", "os2", image, "--no-console-region"]);
    let shown = text(&out);
    let line = loaded_cmdline(&shown);
    assert_eq!(
        line,
        format!(
            "console=ttyS1 noapic acpi=noirq pci=noearly tsc_early_khz=2500000 \
             reserve=0x2e8,16,0x300,256,0xcf8,8 {tail}"
        )
    );
    assert!(!line.contains("pci=off"), "{line}");
    assert!(
        shown.contains("  devices   0000:01:00.0,0000:02:00.0\n"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "            bus 0000:01: ECAM 0xb0100000-0xb01fffff, memory 0xfc000000-0xfc003fff \
             0xfe800000-0xfe800fff, I/O 0xc000-0xc03f\n"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(
            "            bus 0000:02: ECAM 0xb0200000-0xb02fffff, memory 0xfe600000-0xfe603fff, I/O none\n"
        ),
        "{shown}"
    );
    // `defaults` agrees.
    let out = run(&root, &["defaults", "os2", "--no-console-region"]);
    assert_eq!(text(&out).trim_end(), line);
    // os5 has no UART.
    let out = run(
        &root,
        &["defaults", "os5", "--with-devices", "--no-console-region"],
    );
    assert_eq!(
        text(&out).trim_end(),
        format!("8250.nr_uarts=0 noapic acpi=noirq pci=noearly tsc_early_khz=2500000 reserve=0x2e8,280,0xcf8,8 {tail}")
    );

    // A host without ECAM: refused before anything is written.
    fs::remove_file(root.join("host/firmware/acpi/tables/MCFG")).unwrap();
    fs::write(root.join("os2/load"), b"").unwrap();
    let out = run(&root, &["load", "os2", image]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(
            "os2 owns PCI functions 0000:01:00.0,0000:02:00.0: the host has no ACPI MCFG table"
        ) && err.contains("a partition with devices needs PCI Express ECAM (MCFG)"),
        "{err}"
    );
    assert_eq!(fs::read(root.join("os2/load")).unwrap(), b"");
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn memory_as_a_list() {
    let root = pci_tree("memory-list");
    fs::remove_file(root.join("os2/devices")).unwrap();
    // The module reports two ranges: status shows them as they are.
    fs::write(
        root.join("os2/memory"),
        "512M@0x180000000,256M@0x1a0000000\n",
    )
    .unwrap();
    let shown = text(&run(&root, &["status", "os2"]));
    assert!(
        shown.contains("  memory    512M@0x180000000,256M@0x1a0000000\n"),
        "{shown}"
    );
    let v: Value = serde_json::from_slice(ok(&run(&root, &["status", "os2", "--json"]))).unwrap();
    assert_eq!(
        v["partitions"][0]["memory"],
        "512M@0x180000000,256M@0x1a0000000"
    );
    // The console region at the top of the higher range.
    let line = text(&run(&root, &["defaults", "os2"]));
    assert!(
        line.contains(" ramoops.mem_address=0x1aff00000 ramoops.mem_size=0x100000 "),
        "{line}"
    );
    let line = text(&run(
        &root,
        &["defaults", "os5", "--mem", "1G@0x100000000,256M@0x20000000"],
    ));
    assert!(line.contains(" ramoops.mem_address=0x13ff00000 "), "{line}");
    // --mem of defaults needs places, not sizes to carve.
    let out = run(&root, &["defaults", "os5", "--mem", "1G"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--mem \"1G\": memory list item 0 has no @START"),
        "{}",
        stderr(&out)
    );

    // A kernel that may go above 4 GiB: loaded into the higher range,
    // entered through its 64-bit entry at load + 0x200.
    let mut kernel = synthetic_bzimage();
    kernel[0x236] = 3; // xloadflags: XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
    let image = root.join("bzImage");
    fs::write(&image, &kernel).unwrap();
    let image = image.to_str().unwrap();
    put(&root, "os2/load", b"");
    let shown = text(&run(&root, &["load", "os2", image]));
    assert!(
        shown.contains(
            "  memory    512M@0x180000000,256M@0x1a0000000 (805306368 bytes; kernel, zero page \
             and ACPI in 256M@0x1a0000000)\n"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(
            "  kernel    0x1a0200000-0x1a02fffff, 12288 bytes loaded (entry 0x1a0200200)\n"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("  entry     64-bit boot protocol"),
        "{shown}"
    );
    let blob = fs::read(root.join("os2/load")).unwrap();
    let le = |o: usize, n: usize| {
        blob[o..o + n]
            .iter()
            .rev()
            .fold(0u64, |a, &b| a << 8 | u64::from(b))
    };
    assert_eq!(le(8, 4), 5, "version");
    assert_eq!(le(16, 8), 0x1_a020_0200, "entry");
    assert_eq!(le(24, 8), 0x1_a000_0000, "boot_params");
    assert_eq!(le(40, 4), 1, "FLAG_ENTRY_64");
    assert_eq!(le(48, 8), 0, "page_table");

    // The same kernel without XLF_CAN_BE_LOADED_ABOVE_4G: refused in one
    // line naming the flag, nothing written.
    kernel[0x236] = 1;
    fs::write(root.join("bzImage"), &kernel).unwrap();
    fs::write(root.join("os2/load"), b"").unwrap();
    let out = run(&root, &["load", "os2", image]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("XLF_CAN_BE_LOADED_ABOVE_4G"), "{err}");
    assert_eq!(fs::read(root.join("os2/load")).unwrap(), b"");

    // --mem writes the list as given; the load then reads what the module
    // reports (here: the same; the fake file is not truncated on write).
    fs::write(root.join("os2/memory"), "").unwrap();
    let shown = text(&run(
        &root,
        &[
            "load",
            "os2",
            image,
            "--mem",
            "256M@0x20000000,1G@0x140000000",
        ],
    ));
    assert_eq!(
        fs::read_to_string(root.join("os2/memory")).unwrap(),
        "256M@0x20000000,1G@0x140000000"
    );
    // The pieces below 4 GiB, the console region at the top of the higher range.
    assert!(
        shown.contains("kernel, zero page and ACPI in 256M@0x20000000)"),
        "{shown}"
    );
    assert!(
        shown.contains("  entry     32-bit boot protocol"),
        "{shown}"
    );
    assert!(
        shown.contains("  console   0x17ff00000-0x17fffffff "),
        "{shown}"
    );
    // A malformed list is refused before anything is written.
    let out = run(&root, &["load", "os2", image, "--mem", "2G,,1G"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--mem \"2G,,1G\": memory list item 1 is empty"),
        "{}",
        stderr(&out)
    );
    let _ = fs::remove_dir_all(&root);
}
