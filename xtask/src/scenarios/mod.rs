//! `cargo xtask test`: host unit tests, then QEMU scenarios.
//!
//! A scenario boots the host with `mint.scenario=NAME` on its command line;
//! the host's /init runs `qemu/scenarios/NAME.sh`, which performs the steps and
//! prints what it observes as `@@ key value` lines (and raw command output) on
//! the serial console. The assertions live here, in Rust, and read those real
//! serial logs; the scripts decide nothing.
//!
//! The same scenarios run on the normal and on the debug kernel
//! ([`Kernel`]); on the debug kernel every scenario also fails if the host's
//! console shows any [`kernel_problems`] line (lockdep, atomic sleep,
//! debugobjects, kobject reports), whether or not the scenario checks its
//! kernel log itself.

mod apic256;
mod console;
mod containment;
mod devices;
mod devices_iommu;
mod guest_faults;
mod lifecycle;
mod memory;
mod memory_cma;
mod memory_soak;
mod module_load;
mod multicore;
mod os2_boot;
mod os2_errors;
mod soak;

pub use os2_boot::machine as os2_machine;

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::build::{self, Artifacts};
use crate::cmd;
use crate::paths::{self, Kernel};
use crate::qemu::{Machine, Profile, Qemu};
use crate::setup;

/// One end-to-end test.
pub struct Scenario {
    pub name: &'static str,
    pub machine: fn() -> Machine,
    pub timeout: Duration,
    pub check: fn(&Logs) -> Vec<String>,
}

/// What the machine printed, one string per serial port, and every line
/// stamped with when the harness saw it (to correlate the two consoles).
pub struct Logs {
    pub serial: Vec<String>,
    pub lines: Vec<Stamped>,
    /// The random nonce passed on the host command line (`mint.nonce=`).
    pub nonce: String,
    /// SHA-256 of the bzImage QEMU booted, hex.
    pub bzimage_sha256: String,
    /// The lines of QEMU's trace (see `Machine::trace`), empty without one.
    pub trace: Vec<String>,
}

/// One line of serial output and when the harness read it.
pub struct Stamped {
    pub at: Duration,
    pub port: usize,
    pub text: String,
}

impl Logs {
    /// When the first line on `port` containing `needle` was seen.
    pub fn seen(&self, port: usize, needle: &str) -> Option<Duration> {
        self.lines
            .iter()
            .find(|l| l.port == port && l.text.contains(needle))
            .map(|l| l.at)
    }
}

impl Logs {
    /// The host console (ttyS0).
    pub fn host(&self) -> &str {
        &self.serial[0]
    }
}

const SCENARIOS: &[Scenario] = &[
    module_load::SCENARIO,
    os2_errors::SCENARIO,
    os2_boot::SCENARIO,
    lifecycle::SCENARIO,
    guest_faults::SCENARIO,
    console::SCENARIO,
    multicore::SCENARIO,
    containment::SCENARIO,
    devices::SCENARIO,
    devices_iommu::SCENARIO,
    apic256::SCENARIO,
    soak::SCENARIO,
    memory::SCENARIO,
    memory_soak::SCENARIO,
    memory_cma::SCENARIO,
];

/// A fresh random-enough nonce (time and process id through SHA-256).
fn nonce() -> String {
    use sha2::{Digest, Sha256};
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let d = Sha256::digest(format!("{}-{}", t.as_nanos(), std::process::id()));
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(path: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(std::fs::read(path).unwrap_or_default());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The partition markers of the boots given `nonce`: the kernel-log copies
/// (`[ t] MINT-PARTITION-UP nonce=N ...`), which are always whole lines
/// (the tty copy of the same text can be split by interleaved output).
pub fn partition_ups<'a>(log: &'a str, nonce: &str) -> Vec<&'a str> {
    let want = format!("{PARTITION_UP}nonce={nonce} ");
    log.lines().filter(|l| l.contains(&want)).collect()
}

/// What every partition marker line contains (see `partition_ups`).
pub const PARTITION_UP: &str = "] MINT-PARTITION-UP ";

/// The value of the first `@@ key value` line in `log`.
pub fn marker<'a>(log: &'a str, key: &str) -> Option<&'a str> {
    markers(log, key).next()
}

/// The values of every `@@ key value` line in `log` (a log `untangle`d).
pub fn markers<'a, 'k>(log: &'a str, key: &'k str) -> impl Iterator<Item = &'a str> + use<'a, 'k> {
    log.lines().filter_map(move |l| {
        let rest = l.trim_end_matches('\r').strip_prefix("@@ ")?;
        let value = rest.strip_prefix(key)?;
        if value.is_empty() {
            Some("")
        } else {
            value.strip_prefix(' ')
        }
    })
}

/// Where a kernel log timestamp (`[` spaces digits `.` six digits `]`)
/// starts in `s`, if anywhere.
fn kernel_stamp(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let stamp_at = |i: usize| -> bool {
        let mut j = i + 1;
        while b.get(j) == Some(&b' ') {
            j += 1;
        }
        let digits = b[j.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        j += digits;
        if digits == 0 || b.get(j) != Some(&b'.') {
            return false;
        }
        let frac = b[j + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        frac == 6 && b.get(j + 1 + frac) == Some(&b']')
    };
    (0..b.len()).find(|&i| b[i] == b'[' && stamp_at(i))
}

/// `log` with each kernel line that the console printed into the middle of
/// another line moved out of it.
///
/// A machine's kernel and its scripts print on the same serial port: the
/// kernel's console writes a whole line straight to the UART at any moment,
/// also between two characters of a line a script is writing through the
/// tty (`@@ a-onl[   34.1] smpboot: Booting ...\r\nine-after 0-2`,
/// measured). The script's text keeps its order, so taking the kernel line
/// out and joining the two pieces gives back both lines. The kernel lines
/// come first, on their own lines. Only marker lines (`@@ `) are mended,
/// the lines tests read by key; other text (a partition's console copied
/// with a prefix, say) stays as printed. A piece followed by the next
/// marker rather than by its own rest ends there: the timestamp was part
/// of its text, which is then cut at the timestamp.
pub fn untangle(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    // The first piece of a script line the kernel cut into.
    let mut open = String::new();
    for raw in log.split_inclusive('\n') {
        let mut seg = raw;
        if !open.is_empty() && seg.starts_with("@@ ") {
            out.push_str(&open);
            out.push('\n');
            open.clear();
        }
        loop {
            match kernel_stamp(seg) {
                // A whole kernel line.
                Some(0) => {
                    out.push_str(seg);
                    break;
                }
                // A piece of a marker line, then a kernel line.
                Some(i) if !open.is_empty() || seg.starts_with("@@ ") => {
                    open.push_str(&seg[..i]);
                    seg = &seg[i..];
                }
                // A script line, or the rest of the one cut into.
                _ => {
                    out.push_str(&open);
                    out.push_str(seg);
                    open.clear();
                    break;
                }
            }
        }
    }
    out.push_str(&open);
    out
}

/// The text between `@@ NAME-begin` and `@@ NAME-end`.
pub fn section<'a>(log: &'a str, name: &str) -> Option<&'a str> {
    let begin = format!("@@ {name}-begin");
    let end = format!("@@ {name}-end");
    let start = log.find(&begin)? + begin.len();
    let stop = log[start..].find(&end)? + start;
    Some(&log[start..stop])
}

/// Kernel log lines that mean something went wrong. The second group is
/// what the debug kernel's checks print (qemu/kernel-debug.config); most of
/// those reports also carry a `WARNING:` or `BUG:` line, but their own first
/// line says what was found.
pub fn kernel_problems(log: &str) -> Vec<String> {
    const BAD: &[&str] = &[
        "WARNING:",
        "Oops",
        "BUG:",
        "Call Trace",
        "general protection fault",
        "Kernel panic",
        "refcount_t:",
        "kernel BUG",
        // lockdep (PROVE_LOCKING, DEBUG_LOCK_ALLOC)
        "possible circular locking",
        "possible recursive locking",
        "inconsistent lock state",
        "DEBUG_LOCKS_WARN_ON",
        "trying to register non-static key",
        "suspicious RCU usage",
        // DEBUG_ATOMIC_SLEEP prints "BUG: sleeping function called from
        // invalid context" and "BUG: scheduling while atomic" (matched above).
        // debugobjects and the kobject core (DEBUG_KOBJECT_RELEASE)
        "ODEBUG",
        "is not initialized, yet",
        // RCU stall detector
        "detected stall",
        // A NIC that stopped transmitting (the net core's TX watchdog).
        "NETDEV WATCHDOG",
    ];
    log.lines()
        .filter(|l| BAD.iter().any(|b| l.contains(b)))
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// Records every problem line of the host's kernel log section (`@@
/// dmesg-begin` .. `@@ dmesg-end`), or its absence.
pub fn expect_clean_kernel_log(host: &str, f: &mut Vec<String>) {
    match section(host, "dmesg") {
        Some(d) => f.extend(
            kernel_problems(d)
                .into_iter()
                .map(|l| format!("host kernel log: {l}")),
        ),
        None => f.push("no dmesg section in the host log".into()),
    }
}

/// Asserts that the host's `sleep 2` took about 2 s of its own uptime: the
/// marker `key` holds the uptime before and after (`@@ key T0 T1`).
pub fn expect_host_slept_2s(host: &str, key: &str, f: &mut Vec<String>) {
    let t: Vec<f64> = marker(host, key)
        .map(|v| {
            v.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    if t.len() != 2 || !(1.9..2.6).contains(&(t[1] - t[0])) {
        f.push(format!(
            "{key}: host `sleep 2` did not take ~2 s of host uptime: {t:?}"
        ));
    }
}

/// Asserts that a partition's `mint.action=workload` report (`WORKLOAD
/// cpu0=N% cpu1=N%`, from qemu/os2-init.sh) shows both CPUs at least 70 %
/// busy.
pub fn expect_both_cpus_busy(os2: &str, f: &mut Vec<String>) {
    let Some(l) = os2.lines().find(|l| l.contains("] WORKLOAD ")) else {
        f.push("os2 never reported its workload".into());
        return;
    };
    for cpu in ["cpu0=", "cpu1="] {
        let busy = l
            .split_whitespace()
            .find_map(|w| w.strip_prefix(cpu))
            .and_then(|v| v.trim_end_matches('%').parse::<i64>().ok());
        if busy.is_none_or(|b| b < 70) {
            f.push(format!("os2 {cpu} was not busy during the workload: {l}"));
        }
    }
}

/// Asserts `marker(key) == want`, recording a failure otherwise.
pub fn expect_marker(log: &str, key: &str, want: &str, failures: &mut Vec<String>) {
    match marker(log, key) {
        Some(v) if v.trim() == want => {}
        Some(v) => failures.push(format!("`{key}` is {:?}, expected {want:?}", v.trim())),
        None => failures.push(format!("no `@@ {key}` line in the log")),
    }
}

/// Checks `@@ case NAME rc=N message` lines written by the scripts' `try`:
/// each case must have failed, with `want` in its message (case-insensitive)
/// and, if given, `klog` in the kernel log section.
pub fn check_cases(host: &str, cases: &[(&str, &str, Option<&str>)]) -> Vec<String> {
    let mut f = Vec::new();
    let dmesg = section(host, "dmesg").unwrap_or("");
    for (case, want, klog) in cases {
        let got = markers(host, "case").find(|v| v.split_whitespace().next() == Some(case));
        match got {
            None => f.push(format!("{case}: not run")),
            Some(v) if v.contains(" rc=0") => f.push(format!("{case}: was accepted: {v}")),
            Some(v) if !v.to_lowercase().contains(&want.to_lowercase()) => {
                f.push(format!("{case}: error does not say {want:?}: {v}"))
            }
            Some(_) => {}
        }
        if let Some(k) = klog {
            if !dmesg.contains(k) {
                f.push(format!("{case}: kernel log lacks {k:?}"));
            }
        }
    }
    f
}

/// Heartbeats seen on `port` between `from` and `to`, and the longest gap
/// between consecutive ones (including the window's edges).
pub fn heartbeat_gaps(logs: &Logs, port: usize, from: Duration, to: Duration) -> (usize, Duration) {
    let beats: Vec<Duration> = logs
        .lines
        .iter()
        .filter(|l| l.port == port && l.text.contains("] heartbeat "))
        .map(|l| l.at)
        .filter(|t| *t >= from && *t <= to)
        .collect();
    let mut worst = Duration::ZERO;
    let mut prev = from;
    for t in beats.iter().copied().chain(std::iter::once(to)) {
        worst = worst.max(t.saturating_sub(prev));
        prev = t;
    }
    (beats.len(), worst)
}

/// Where a scenario's serial logs go: `out/test-logs/[debug/][x2apic/]NAME`.
fn log_dir(artifacts: &Artifacts, profile: Profile, name: &str) -> std::path::PathBuf {
    let base = artifacts.kernel.test_logs();
    match profile {
        Profile::Pc => base.join(name),
        p => base.join(p.name()).join(name),
    }
}

/// What the host's log must show about its APIC mode on `profile`.
fn expect_profile(host: &str, profile: Profile, f: &mut Vec<String>) {
    let x2apic = host.contains("Switched APIC routing to: cluster x2apic")
        || host.contains("Switched APIC routing to: physical x2apic");
    match profile {
        Profile::Pc | Profile::Q35 if x2apic => f.push(format!(
            "profile {}: the host runs in x2APIC mode",
            profile.name()
        )),
        Profile::X2apic if !x2apic => {
            f.push("profile x2apic: the host's log does not show x2APIC routing".into())
        }
        Profile::X2apic if !host.contains("Enabled IRQ remapping in x2apic mode") => {
            f.push("profile x2apic: the host's log does not show interrupt remapping".into())
        }
        _ => {}
    }
}

fn run_scenario(
    artifacts: &Artifacts,
    profile: Profile,
    s: &Scenario,
    extra: &str,
    timeout: Duration,
) -> Result<Vec<String>> {
    let log_dir = log_dir(artifacts, profile, s.name);
    let mut machine = (s.machine)();
    machine.profile = profile;
    let nonce = nonce();
    // On the debug kernel the host waits 5 s before it powers off: delayed
    // kobject releases (DEBUG_KOBJECT_RELEASE) then happen while the harness
    // still reads the console.
    let linger = if artifacts.kernel == Kernel::Debug {
        " mint.linger=5"
    } else {
        ""
    };
    machine.append = format!(
        "{} mint.scenario={} mint.nonce={nonce} {extra}{linger}",
        machine.append, s.name
    );
    let mut qemu = Qemu::boot(artifacts, &machine, &log_dir)?;
    let start = Instant::now();
    let mut lines = Vec::new();
    let qmp = qemu.qmp.clone();
    let mut trace_errors = Vec::new();
    let ended = qemu.follow(timeout, |port, text| {
        if let (Some(sock), Some(glob), 0) = (&qmp, machine.trace, port) {
            for (mark, on) in [("@@ trace-on", true), ("@@ trace-off", false)] {
                if text.lines().any(|l| l.trim_end() == mark) {
                    if let Err(e) = crate::qemu::qmp(sock, &crate::qemu::trace_command(glob, on)) {
                        trace_errors.push(format!("{mark}: {e:#}"));
                    }
                }
            }
        }
        for l in text.lines() {
            lines.push(Stamped {
                at: start.elapsed(),
                port,
                text: l.trim_end_matches('\r').to_string(),
            });
        }
        false
    });
    let logs = Logs {
        serial: (0..qemu.serial.len())
            .map(|i| untangle(&qemu.log(i)))
            .collect(),
        lines,
        nonce,
        bzimage_sha256: sha256_hex(&artifacts.bzimage),
        // Only the PCI configuration port accesses are kept (the trace of
        // every port and MMIO access is large).
        trace: std::fs::read(&qemu.trace_log)
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .filter(|l| l.contains("'pci-conf-"))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    };
    drop(qemu);
    let mut failures = trace_errors;
    if let Err(e) = ended {
        failures.push(format!("{e:#}"));
    }
    if marker(logs.host(), "scenario-exit").is_none() {
        failures.push("the scenario script did not finish".into());
    }
    expect_profile(logs.host(), profile, &mut failures);
    failures.extend((s.check)(&logs));
    if artifacts.kernel == Kernel::Debug {
        if marker(logs.host(), "lingered").is_none() {
            failures.push(
                "debug kernel: the host did not wait for late reports before powering off".into(),
            );
        }
        // The whole console, not only the `dmesg` section: it also has what
        // the kernel printed after the script dumped its log (e.g. a delayed
        // kobject release after rmmod).
        let mut seen = Vec::new();
        for l in kernel_problems(logs.host()) {
            if !seen.contains(&l) {
                failures.push(format!("debug kernel: host console: {l}"));
                seen.push(l);
            }
        }
    }
    if !failures.is_empty() {
        println!("    logs: {}", log_dir.display());
        let tail: Vec<&str> = logs.host().lines().rev().take(25).collect();
        for l in tail.iter().rev() {
            println!("    | {}", l.trim_end());
        }
    }
    Ok(failures)
}

fn unit_tests(artifacts: &Artifacts) -> bool {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(paths::workspace())
        .args(["test", "--workspace"])
        // The loader's tests parse the real kernel image we just built.
        .env("MINT_TEST_BZIMAGE", &artifacts.bzimage)
        .env("MINT_REQUIRE_BZIMAGE", "1");
    cmd::run(&mut c).is_ok()
}

/// `cargo xtask soak --cycles N`: only the soak scenario, N cycles.
pub fn soak(artifacts: &Artifacts, cycles: u32) -> Result<()> {
    let s = &soak::SCENARIO;
    println!(
        "==> soak: {cycles} cycles ({} kernel)",
        artifacts.kernel.name()
    );
    let start = Instant::now();
    let failures = run_scenario(
        artifacts,
        Profile::Pc,
        s,
        &format!("mint.cycles={cycles}"),
        soak::timeout(cycles),
    )?;
    let elapsed = cmd::elapsed(start);
    if failures.is_empty() {
        println!("PASS soak, {cycles} cycles ({elapsed})");
        println!("1 passed, 0 failed");
        Ok(())
    } else {
        for msg in &failures {
            println!("    - {msg}");
        }
        println!("FAIL soak ({elapsed})");
        println!("0 passed, 1 failed");
        bail!("soak failed")
    }
}

/// `cargo xtask test`: for each of `kernels` in turn, set up the kernel,
/// build the artifacts and run every scenario matching `filter`; the host
/// unit tests (if `unit`) run once, after the first build. A kernel whose
/// setup or build fails counts as one failed test, and the next kernel still
/// runs.
pub fn test(
    kernels: &[Kernel],
    profiles: &[Profile],
    filter: Option<&str>,
    unit: bool,
) -> Result<()> {
    let tools = setup::tools()?;
    let mut tally = Tally::default();
    let mut unit = unit;
    for &kernel in kernels {
        let artifacts = match setup::kernel(&tools, kernel).and_then(|tc| build::build(&tc)) {
            Ok(a) => a,
            Err(e) => {
                tally.fail(&format!("{} kernel build: {e:#}", kernel.name()));
                continue;
            }
        };
        if std::mem::take(&mut unit) {
            tally.unit_tests(&artifacts);
        }
        for &profile in profiles {
            tally.scenarios(&artifacts, profile, filter);
        }
    }
    tally.finish()
}

/// Counts of the tests run so far.
#[derive(Default)]
struct Tally {
    passed: u32,
    failed: u32,
}

impl Tally {
    fn fail(&mut self, what: &str) {
        println!("FAIL {what}");
        self.failed += 1;
    }

    fn unit_tests(&mut self, artifacts: &Artifacts) {
        println!("==> host unit tests");
        if unit_tests(artifacts) {
            println!("PASS host unit tests");
            self.passed += 1;
        } else {
            self.fail("host unit tests");
        }
    }

    /// Every scenario matching `filter`, on `artifacts`' kernel and the
    /// host platform `profile`.
    fn scenarios(&mut self, artifacts: &Artifacts, profile: Profile, filter: Option<&str>) {
        // "module-load (pc)", "module-load (debug kernel, x2apic)".
        let label = |name: &str| match artifacts.kernel {
            Kernel::Normal => format!("{name} ({})", profile.name()),
            k => format!("{name} ({} kernel, {})", k.name(), profile.name()),
        };
        for s in SCENARIOS
            .iter()
            .filter(|s| filter.is_none_or(|f| s.name.contains(f)))
        {
            let name = label(s.name);
            let only = (s.machine)().profiles;
            if !only.contains(&profile) {
                let on: Vec<&str> = only.iter().map(|p| p.name()).collect();
                println!("SKIP {name}: its machine exists only on {}", on.join(", "));
                continue;
            }
            println!("==> scenario {name}");
            let start = Instant::now();
            let (extra, timeout) = if s.name == soak::SCENARIO.name {
                (format!("mint.cycles={}", soak::TEST_CYCLES), s.timeout)
            } else {
                (String::new(), s.timeout)
            };
            match run_scenario(artifacts, profile, s, &extra, timeout) {
                Ok(f) if f.is_empty() => {
                    println!("PASS {name} ({})", cmd::elapsed(start));
                    self.passed += 1;
                }
                Ok(f) => {
                    println!("FAIL {name} ({})", cmd::elapsed(start));
                    for msg in f {
                        println!("    - {msg}");
                    }
                    self.failed += 1;
                }
                Err(e) => self.fail(&format!("{name}: {e:#}")),
            }
        }
    }

    fn finish(self) -> Result<()> {
        let Tally { passed, failed } = self;
        println!("{passed} passed, {failed} failed");
        if failed > 0 {
            bail!("{failed} test(s) failed");
        }
        if passed == 0 {
            bail!("no test matched");
        }
        Ok(())
    }
}

#[cfg(test)]
mod marker_tests {
    use super::*;

    #[test]
    fn kernel_lines_inside_script_lines_are_moved_out() {
        // The kernel's line lands inside the key, inside the value, and
        // twice in a row; the script's newline comes after it.
        let log = concat!(
            "@@ a-onl[   34.101259] smpboot: Booting Node 0 Processor 1 APIC 0x1\r\n",
            "ine-after 0-2\r\n",
            "@@ b 1[    1.000000] one\r\n",
            "[    1.000001] two\r\n",
            " 2 [x]\r\n",
            "@@ c 3[    2.000000] three\r\n",
            "\r\n",
            "[    3.000000] whole\r\n",
        );
        let u = untangle(log);
        assert_eq!(marker(&u, "a-online-after"), Some("0-2"));
        assert_eq!(marker(&u, "b"), Some("1 2 [x]"));
        assert_eq!(marker(&u, "c"), Some("3"));
        for line in [
            "smpboot: Booting Node 0",
            "] one",
            "] two",
            "] three",
            "] whole",
        ] {
            assert_eq!(u.matches(line).count(), 1, "{line} in {u:?}");
        }
        assert!(u.lines().all(|l| kernel_stamp(l).is_none_or(|i| i == 0)));
        // Untouched: a log without cut lines, and other text.
        let plain = "@@ x 1\r\n[    1.000000] k\r\nuser line\nos5| [    1.000000] k\r\nos5| x\n";
        assert_eq!(untangle(plain), plain);
    }

    #[test]
    fn a_timestamp_in_a_marker_value_ends_it_at_the_next_marker() {
        let u = untangle("@@ v head [   12.000000] text\n@@ next 1\n");
        assert_eq!(marker(&u, "v"), Some("head "));
        assert_eq!(marker(&u, "next"), Some("1"));
        assert_eq!(kernel_stamp("x [12.34] y"), None);
        assert_eq!(kernel_stamp("ok[1234.000001]"), Some(2));
    }
}

/// Makes `img` a fresh 64 MiB ext4 image, holding the files of `root` if
/// given (mke2fs -d), for the scenarios that give QEMU a disk.
pub fn ext4_image(img: &std::path::Path, root: Option<&std::path::Path>) -> std::io::Result<()> {
    let _ = std::fs::remove_file(img);
    let mut cmd = std::process::Command::new("mke2fs");
    cmd.args(["-q", "-F", "-t", "ext4"]);
    if let Some(root) = root {
        cmd.arg("-d").arg(root);
    }
    let st = cmd.arg(img).arg("64M").status()?;
    if !st.success() {
        return Err(std::io::Error::other(format!("mke2fs failed: {st}")));
    }
    Ok(())
}
