//! The `mint-kexec` binary against a fake `/sys/kernel/mint` tree in a temp
//! directory (the hidden `--sysfs DIR` flag): `status [--json]`, `console
//! [--follow] [--crash]`, `defaults`, and the console options of `load`.

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
/// not UTF-8), os3 crashed with a panic record and no `lowmem` file.
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
    put("os3/state", b"crashed\n");
    put("os3/cpus", b"2-3\n");
    put("os3/apic_ids", b"2 3\n");
    put("os3/memory", b"128M@0x30000000\n");
    put("os3/cmdline", b"8250.nr_uarts=0\n");
    put("os3/console", b"boot\n");
    put("os3/crash", PANIC_RECORD);
    root
}

fn run(root: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--sysfs")
        .arg(root)
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
                "crashed": false, "crash_reason": null
            },
            {
                "name": "os3", "state": "crashed", "cpus": "2-3", "apic_ids": [2, 3],
                "memory": "128M@0x30000000", "lowmem": null,
                "cmdline": "8250.nr_uarts=0", "console_bytes": 5,
                "crashed": true, "crash_reason": "sysrq triggered crash"
            }
        ]})
    );
    // One line, fields in the documented order.
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.starts_with(
        r#"{"partitions":[{"name":"os2","state":"running","cpus":"1","apic_ids":[1],"memory":"256M@0x20000000","lowmem":"0x11000-0x1ffff","cmdline":"console=ttyS1 noapic","console_bytes":45,"crashed":false,"crash_reason":null},"#
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
        "  console   45 bytes (mint-kexec console os2)\n  crash     none\n",
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
             reserve=0x3f8,8,0x3e8,8,0x2e8,8 {tail} {ramoops}"
        )
    );
    let out = run(&root, &["defaults", "os2", "--no-uart"]);
    assert_eq!(
        String::from_utf8_lossy(ok(&out)).trim_end(),
        format!(
            "8250.nr_uarts=0 noapic acpi=noirq pci=off tsc_early_khz=2500000 \
             reserve=0x3f8,8,0x2f8,8,0x3e8,8,0x2e8,8 {tail} {ramoops}"
        )
    );
    // os5 does not exist: its window from --mem.
    let out = run(&root, &["defaults", "os5", "--mem", "256M@0x20000000"]);
    assert_eq!(
        String::from_utf8_lossy(ok(&out)).trim_end(),
        format!(
            "8250.nr_uarts=0 noapic acpi=noirq pci=off tsc_early_khz=2500000 \
             reserve=0x3f8,8,0x2f8,8,0x3e8,8,0x2e8,8 {tail} {ramoops}"
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
    // A region as large as os2's 256 MiB window.
    let out = run(&root, &["defaults", "os2", "--console-size", "256M"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not fit in the window")
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
