//! `cargo xtask bench`: boot times (cold boot, kexec reboot, mint partition
//! start) and throughput, measured side by side in one run, with the same
//! bzImage and the same initramfs (`out/os2-initramfs.cpio.gz`, whose /init
//! reads the TSC as its first instruction: qemu/init-stamp.c). Not part of
//! the tests.
//!
//! Accelerator: KVM where a probe boot shows that it runs the image at a
//! usable speed (`--accel auto`, the default), else TCG; the report says
//! which, and why.
//!
//! Clocks: QEMU gives every vCPU one time stamp counter (under TCG one shared
//! counter; under KVM the vCPUs' counters are kept in step) that starts at 0
//! at machine reset and is not reset by kexec or INIT, so
//! - kexec reboot = TSC at the new /init − TSC printed just before
//!   `reboot(LINUX_REBOOT_CMD_KEXEC)` (same machine, same counter);
//! - mint start = TSC at os2's /init − TSC the module read just before INIT;
//! - cold boot = TSC at /init (since reset), and also the outside wall clock
//!   from starting QEMU to the /init line on the serial port.
//!
//! The kernel's own milestones (its clock starting, "Run /init") are placed
//! on the same TSC axis from its log: see `boot_log`.
//!
//! Results go to `docs/benchmarks/latest.md` and a chart
//! `docs/benchmarks/boot-times.svg` (and `.png` when `rsvg-convert` exists).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::boot_log::{self, field, Timeline};
use crate::build::Artifacts;
use crate::paths;
use crate::qemu::{Accel, Machine, Qemu};
use crate::scenarios::{os2_machine, partition_ups, PARTITION_UP};

/// One boot's measurements, in TSC cycles unless named otherwise.
#[derive(Default, Clone)]
struct Boot {
    /// TSC of the start event (0 = reset; the reboot call; INIT).
    start: u64,
    /// Interval from the start event to /init's first instruction.
    cycles: u64,
    /// Outside wall clock (cold boot only).
    wall: Option<Duration>,
    /// The kernel's milestones on the TSC axis.
    timeline: Option<Timeline>,
    /// mint only: `echo start` → INIT (copy), INIT → kernel entry.
    copy: u64,
    init_to_entry: u64,
}

impl Boot {
    /// Start event → the kernel's clock starts.
    fn to_clock(&self) -> Option<u64> {
        self.timeline?.clock_zero?.checked_sub(self.start)
    }
    /// The kernel's clock starts → "Run /init" (kernel init).
    fn kernel_init(&self) -> Option<u64> {
        let t = self.timeline?;
        t.run_init?.checked_sub(t.clock_zero?)
    }
    /// "Run /init" → /init's first instruction.
    fn exec_init(&self) -> Option<u64> {
        let t = self.timeline?;
        t.init.checked_sub(t.run_init?)
    }
    /// mint: kernel entry → the kernel's clock starts.
    fn entry_to_clock(&self) -> Option<u64> {
        self.to_clock()?.checked_sub(self.init_to_entry)
    }
}

/// The boot in `log` whose partition marker carries `nonce`, with its timeline.
fn boot_of(log: &str, nonce: &str, khz: u64) -> Option<(u64, Option<Timeline>)> {
    let up = *partition_ups(log, nonce).first()?;
    let init: u64 = field(up, "tsc=")?.parse().ok()?;
    Some((init, boot_log::timeline(log, khz)))
}

fn cold_boot(artifacts: &Artifacts, accel: Accel, i: usize, khz: u64) -> Result<Boot> {
    let machine = Machine {
        accel,
        append: format!("panic=-1 mint.nonce=cold{i}"),
        initrd: Some(artifacts.os2_initramfs.clone()),
        ..Machine::default()
    };
    let dir = paths::out().join("bench-logs/cold");
    let start = Instant::now();
    let mut qemu = Qemu::boot(artifacts, &machine, &dir)?;
    let mut wall = None;
    let mut text = String::new();
    qemu.follow(Duration::from_secs(60), |port, chunk| {
        if port == 0 {
            text.push_str(chunk);
            if chunk.contains(PARTITION_UP) {
                wall = Some(start.elapsed());
                return true;
            }
        }
        false
    })?;
    let (init, timeline) =
        boot_of(&text, &format!("cold{i}"), khz).context("cold boot: no /init marker")?;
    Ok(Boot {
        cycles: init,
        wall,
        timeline,
        ..Boot::default()
    })
}

fn kexec_boot(artifacts: &Artifacts, accel: Accel, i: usize, khz: u64) -> Result<Boot> {
    let machine = Machine {
        accel,
        append: "mint.scenario=bench-kexec".into(),
        ..Machine::default()
    };
    let dir = paths::out().join("bench-logs/kexec");
    let mut qemu = Qemu::boot(artifacts, &machine, &dir)?;
    let mut text = String::new();
    qemu.follow(Duration::from_secs(90), |port, chunk| {
        if port == 0 {
            text.push_str(chunk);
            return chunk.contains(PARTITION_UP) || chunk.contains("@@ kexec-failed");
        }
        false
    })?;
    let before: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("KEXEC-TSC "))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("kexec run {i}: no KEXEC-TSC line (see {})", dir.display()))?;
    // The new kernel's log starts after the reboot.
    let after = &text[text.find("KEXEC-TSC").unwrap_or(0)..];
    let (init, timeline) = boot_of(after, "kexec", khz).context("kexec: no /init marker")?;
    Ok(Boot {
        start: before,
        cycles: init.saturating_sub(before),
        timeline,
        ..Boot::default()
    })
}

struct MintRun {
    boots: Vec<Boot>,
    /// The same, with mint-kexec doing the decompression on the host
    /// (`HOST_SIDE`: kernel entered in 64-bit mode, initrd inflated).
    boots_d64: Vec<Boot>,
    tsc_khz: u64,
    host_alone: Vec<u64>,
    host_os2_idle: Vec<u64>,
    host_os2_busy: Vec<u64>,
    os2_work: Vec<u64>,
}

fn mint_boots(artifacts: &Artifacts, accel: Accel, runs: usize) -> Result<MintRun> {
    let mut machine = os2_machine();
    machine.accel = accel;
    let nonce = "bench";
    machine.append.push_str(&format!(
        " mint.scenario=bench-mint mint.nonce={nonce} mint.runs={runs}"
    ));
    let dir = paths::out().join("bench-logs/mint");
    let mut qemu = Qemu::boot(artifacts, &machine, &dir)?;
    qemu.follow(Duration::from_secs(120 + 6 * runs as u64), |port, chunk| {
        port == 0 && chunk.contains("@@ scenario-exit")
    })?;
    let host = qemu.log(0);
    let os2 = qemu.log(1);
    drop(qemu);
    let marker_val = |key: &str| -> Vec<u64> {
        host.lines()
            .filter_map(|l| l.trim_end().strip_prefix(&format!("@@ {key} ")))
            .filter_map(|v| v.trim().parse().ok())
            .collect()
    };
    let tsc_khz = marker_val("tsc-khz")
        .first()
        .copied()
        .context("no tsc-khz")?;
    let starts: Vec<(u64, u64, u64)> = host
        .lines()
        .filter(|l| l.contains("mint: os2: start tsc "))
        .filter_map(|l| {
            Some((
                field(l, "copy=")?.parse().ok()?,
                field(l, "init=")?.parse().ok()?,
                field(l, "entry=")?.parse().ok()?,
            ))
        })
        .collect();
    // Each start is one boot on os2's console; boots alternate bzImage entry
    // (even starts) and decompressed (odd), then the throughput boots.
    let os2_boots = boot_log::boots(&os2);
    let boots_of = |tag: &str, first: usize| -> Result<Vec<Boot>> {
        let found: Vec<(u64, Option<Timeline>)> = os2_boots
            .iter()
            .filter_map(|b| boot_of(b, tag, tsc_khz))
            .collect();
        if starts.len() < 2 * runs || found.len() < runs {
            bail!(
                "mint {tag}: {} starts and {} /init markers for {runs} runs (see {})",
                starts.len(),
                found.len(),
                dir.display()
            );
        }
        let mut boots = Vec::new();
        for (i, (init_tsc, timeline)) in found.into_iter().take(runs).enumerate() {
            let (copy, init, entry) = starts[first + 2 * i];
            boots.push(Boot {
                start: init,
                cycles: init_tsc.saturating_sub(init),
                wall: None,
                timeline,
                copy: init.saturating_sub(copy),
                init_to_entry: entry.saturating_sub(init),
            });
        }
        Ok(boots)
    };
    let boots = boots_of(nonce, 0)?;
    let boots_d64 = boots_of(&format!("{nonce}-d64"), 1)?;
    let work = |key: &str| -> Vec<u64> {
        host.lines()
            .filter_map(|l| l.trim_end().strip_prefix(&format!("@@ host-work {key} ")))
            .filter_map(|v| v.trim().parse().ok())
            .collect()
    };
    let os2_work = os2
        .lines()
        .filter(|l| l.contains("] BENCH-WORK "))
        .filter_map(|l| field(l, "cycles=")?.parse().ok())
        .collect();
    Ok(MintRun {
        boots,
        boots_d64,
        tsc_khz,
        host_alone: work("alone"),
        host_os2_idle: work("os2-idle"),
        host_os2_busy: work("os2-busy"),
        os2_work,
    })
}

/// (min, median, max).
type Stats = (f64, f64, f64);

/// (min, median, max) of `v`.
fn stats(v: &[f64]) -> Stats {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    if s.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    (s[0], s[s.len() / 2], s[s.len() - 1])
}

/// Median of the values that are known (`None` if none is).
fn median_known(xs: Vec<f64>) -> Option<f64> {
    (!xs.is_empty()).then(|| stats(&xs).1)
}

/// Median of `v` without its first value (QEMU TCG translates the loop's
/// code on the first run, which makes it slower on every side).
fn median_warm(v: &[u64]) -> f64 {
    stats(&v.iter().skip(1).map(|x| *x as f64).collect::<Vec<_>>()).1
}

fn lines_of(dir: &Path, exts: &[&str]) -> usize {
    let mut n = 0;
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                n += lines_of(&p, exts);
            } else if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
                n += fs::read_to_string(&p)
                    .map(|t| t.lines().count())
                    .unwrap_or(0);
            }
        }
    }
    n
}

fn chart_svg(rows: &[(&str, f64)], accel: Accel) -> String {
    let mode = match accel {
        Accel::Tcg => "QEMU TCG",
        Accel::Kvm => "QEMU KVM",
    };
    let max = rows.iter().map(|r| r.1).fold(0.0f64, f64::max).max(1e-9);
    let (w, bar_h, gap, left) = (720.0, 34.0, 16.0, 200.0);
    let h = 60.0 + rows.len() as f64 * (bar_h + gap);
    let mut s = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='14'>\
         <rect width='100%' height='100%' fill='white'/>\
         <text x='10' y='24' font-size='16'>Boot to /init, median seconds ({mode}, same bzImage + initramfs)</text>"
    );
    for (i, (name, v)) in rows.iter().enumerate() {
        let y = 44.0 + i as f64 * (bar_h + gap);
        let len = (w - left - 90.0) * v / max;
        let _ = write!(
            s,
            "<text x='10' y='{}'>{name}</text><rect x='{left}' y='{y}' width='{len:.1}' height='{bar_h}' fill='#3b6ea5'/>\
             <text x='{}' y='{}'>{v:.2} s</text>",
            y + bar_h * 0.65,
            left + len + 6.0,
            y + bar_h * 0.65
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Which accelerator `cargo xtask bench` uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelChoice {
    /// KVM if the probe boots the image through it in time, else TCG.
    Auto,
    /// TCG only (no probe).
    Tcg,
    /// KVM, or fail if the probe does.
    Kvm,
}

/// A working KVM boots this kernel to /init in well under a second; TCG
/// takes about one. A software KVM that needs longer is of no use here.
const KVM_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Boots the benchmark's image once under KVM: the wall time to /init, or
/// why KVM cannot be used.
fn probe_kvm(artifacts: &Artifacts) -> std::result::Result<Duration, String> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map_err(|e| format!("/dev/kvm: {e}"))?;
    let machine = Machine {
        append: "panic=-1 mint.nonce=kvm-probe".into(),
        initrd: Some(artifacts.os2_initramfs.clone()),
        accel: Accel::Kvm,
        ..Machine::default()
    };
    let dir = paths::out().join("bench-logs/kvm-probe");
    let start = Instant::now();
    let mut qemu = Qemu::boot(artifacts, &machine, &dir).map_err(|e| format!("{e:#}"))?;
    let mut up = false;
    let followed = qemu.follow(KVM_PROBE_TIMEOUT, |port, chunk| {
        up |= port == 0 && chunk.contains(PARTITION_UP);
        up
    });
    match followed {
        Ok(()) if up => Ok(start.elapsed()),
        Ok(()) => Err(format!(
            "QEMU exited before /init: {}",
            qemu.first_error()
                .unwrap_or_else(|| format!("see {}", dir.display()))
        )),
        Err(_) => Err(format!(
            "a KVM boot did not reach /init within {} s (a cold boot under TCG takes about 1 s)",
            KVM_PROBE_TIMEOUT.as_secs()
        )),
    }
}

pub fn bench(artifacts: &Artifacts, runs: usize, choice: AccelChoice) -> Result<()> {
    let runs = runs.max(5);
    let (accel, probe) = match choice {
        AccelChoice::Tcg => (Accel::Tcg, "not run (`--accel tcg`)".to_string()),
        AccelChoice::Auto | AccelChoice::Kvm => {
            println!(
                "bench: probing KVM (one boot, at most {} s)",
                KVM_PROBE_TIMEOUT.as_secs()
            );
            match probe_kvm(artifacts) {
                Ok(t) => (
                    Accel::Kvm,
                    format!("KVM booted to /init in {:.2} s", t.as_secs_f64()),
                ),
                Err(why) if choice == AccelChoice::Auto => {
                    (Accel::Tcg, format!("KVM unusable: {why}"))
                }
                Err(why) => bail!("--accel kvm: {why}"),
            }
        }
    };
    println!(
        "bench: {runs} runs each, QEMU {}; KVM probe: {probe}",
        accel.name()
    );
    // mint first: its host reports the TSC frequency every figure uses.
    let mint = mint_boots(artifacts, accel, runs)?;
    let khz = mint.tsc_khz;
    let secs = |c: u64| c as f64 / (khz as f64 * 1000.0);
    for (i, b) in mint.boots.iter().enumerate() {
        println!("    mint start {i}: {:.3} s", secs(b.cycles));
    }
    let mut cold = Vec::new();
    for i in 0..runs {
        cold.push(cold_boot(artifacts, accel, i, khz)?);
        println!(
            "    cold boot {i}: {:.2} s wall",
            cold[i].wall.unwrap_or_default().as_secs_f64()
        );
    }
    let mut kexec = Vec::new();
    for i in 0..runs {
        kexec.push(kexec_boot(artifacts, accel, i, khz)?);
        println!("    kexec reboot {i}: {:.3} s", secs(kexec[i].cycles));
    }

    let total = |v: &[Boot]| stats(&v.iter().map(|b| secs(b.cycles)).collect::<Vec<_>>());
    let cold_tsc = total(&cold);
    let cold_wall = stats(
        &cold
            .iter()
            .map(|b| b.wall.unwrap_or_default().as_secs_f64())
            .collect::<Vec<_>>(),
    );
    let kx = total(&kexec);
    let mt = total(&mint.boots);
    let d64 = total(&mint.boots_d64);
    // Median of a per-boot phase, over the boots where it is known.
    let phase = |v: &[Boot], f: &dyn Fn(&Boot) -> Option<u64>| {
        median_known(v.iter().filter_map(|b| f(b).map(secs)).collect())
    };
    let lag =
        |v: &[Boot]| median_known(v.iter().filter_map(|b| b.timeline?.printk_lag_s).collect());
    let show = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.3} s"));

    let mut md = String::new();
    let _ = writeln!(md, "<!-- generated by `cargo xtask bench` -->");
    let _ = writeln!(md, "Machine: QEMU {} {}, 2 vCPUs (host) / 1 (partition), TSC {khz} kHz; {runs} runs each. KVM probe: {probe}.\n",
        qemu_version(), accel.name());
    let _ = writeln!(
        md,
        "| boot to /init (its first instruction) | min | median | max | kernel init: clock start → `Run /init` (median) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|");
    let _ = writeln!(
        md,
        "| cold boot, QEMU start → /init (wall clock) | {:.3} s | {:.3} s | {:.3} s | |",
        cold_wall.0, cold_wall.1, cold_wall.2
    );
    let rows: [(&str, Stats, &[Boot]); 4] = [
        ("cold boot, reset → /init (TSC)", cold_tsc, &cold),
        ("kexec reboot, reboot() → /init (TSC)", kx, &kexec),
        ("mint start, INIT → /init (TSC)", mt, &mint.boots),
        (
            "mint start, kernel and initrd decompressed by mint-kexec (`--decompress --decompress-initrd`), INIT → /init (TSC)",
            d64,
            &mint.boots_d64,
        ),
    ];
    for (name, st, boots) in rows {
        let _ = writeln!(
            md,
            "| {name} | {:.3} s | {:.3} s | {:.3} s | {} |",
            st.0,
            st.1,
            st.2,
            show(phase(boots, &|b| b.kernel_init()))
        );
    }
    let from_echo = stats(
        &mint
            .boots
            .iter()
            .map(|b| secs(b.cycles + b.copy))
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(
        md,
        "| mint start, `echo start` → /init (TSC) | {:.3} s | {:.3} s | {:.3} s | |",
        from_echo.0, from_echo.1, from_echo.2
    );
    let _ = writeln!(md, "\nRatios of medians: mint / kexec = **{:.3}**, mint / cold (TSC) = **{:.3}**, mint / cold (wall) = **{:.3}**.",
        mt.1 / kx.1, mt.1 / cold_tsc.1, mt.1 / cold_wall.1);
    let _ = writeln!(
        md,
        "With `--decompress --decompress-initrd`: mint / kexec = **{:.3}**, mint / cold (TSC) = **{:.3}**, mint / cold (wall) = **{:.3}**.",
        d64.1 / kx.1,
        d64.1 / cold_tsc.1,
        d64.1 / cold_wall.1
    );
    // The same ratios with the kernel's own end point ("Run /init").
    let to_run_init = |v: &[Boot]| phase(v, &|b| Some(b.to_clock()? + b.kernel_init()?));
    if let (Some(c), Some(k), Some(m), Some(m64)) = (
        to_run_init(&cold),
        to_run_init(&kexec),
        to_run_init(&mint.boots),
        to_run_init(&mint.boots_d64),
    ) {
        let _ = writeln!(md, "To the kernel's `Run /init` instead of /init: cold {c:.3} s, kexec {k:.3} s, mint {m:.3} s (host-side decompression {m64:.3} s); mint / kexec = **{:.3}** ({:.3}), mint / cold (TSC) = **{:.3}** ({:.3}).",
            m / k, m64 / k, m / c, m64 / c);
    }

    let _ = writeln!(md, "\nWhere the time goes (medians; kernel milestones placed on the TSC axis from the kernel's log, see `xtask/src/boot_log.rs`):\n");
    let _ = writeln!(
        md,
        "| phase | cold boot | kexec reboot | mint start | mint, host-side decompression |\n|---|---|---|---|---|"
    );
    let cols = [&cold[..], &kexec[..], &mint.boots[..], &mint.boots_d64[..]];
    let row = |md: &mut String, name: &str, f: &dyn Fn(&Boot) -> Option<u64>| {
        let cells: Vec<String> = cols.iter().map(|v| show(phase(v, f))).collect();
        let _ = writeln!(md, "| {name} | {} |", cells.join(" | "));
    };
    row(&mut md, "start event → the kernel's clock starts (firmware or shutdown + purgatory, or INIT + trampoline; decompression; early setup)", &|b| b.to_clock());
    row(
        &mut md,
        "the kernel's clock starts → `Run /init` (kernel init)",
        &|b| b.kernel_init(),
    );
    row(&mut md, "`Run /init` → /init's first instruction", &|b| {
        b.exec_init()
    });
    row(&mut md, "total", &|b| Some(b.cycles));
    let lags: Vec<String> = cols.iter().map(|v| show(lag(v))).collect();
    let _ = writeln!(md, "| (printk clock behind the TSC when marked stable: emulated timer ticks arriving late) | {} |", lags.join(" | "));

    let _ = writeln!(md, "\nmint start in detail (medians):\n");
    let _ = writeln!(
        md,
        "| step | bzImage entry | `--decompress --decompress-initrd` |\n|---|---|---|"
    );
    let both = |md: &mut String, name: &str, f: &dyn Fn(&Boot) -> Option<u64>| {
        let _ = writeln!(
            md,
            "| {name} | {} | {} |",
            show(phase(&mint.boots, f)),
            show(phase(&mint.boots_d64, f))
        );
    };
    both(
        &mut md,
        "module: `echo start` → INIT (copy the segments; the window was scrubbed at stop)",
        &|b| Some(b.copy),
    );
    both(
        &mut md,
        "INIT/SIPI → the CPU leaves the trampoline into the kernel",
        &|b| Some(b.init_to_entry),
    );
    both(
        &mut md,
        "kernel entry → the kernel's clock starts (decompression, early setup)",
        &|b| b.entry_to_clock(),
    );
    both(
        &mut md,
        "the kernel's clock starts → `Run /init` (kernel init)",
        &|b| b.kernel_init(),
    );
    both(&mut md, "`Run /init` → /init's first instruction", &|b| {
        b.exec_init()
    });
    let ratio = |a: &[u64], b: &[u64]| {
        if b.len() < 2 || a.len() < 2 {
            f64::NAN
        } else {
            median_warm(a) / median_warm(b)
        }
    };
    let _ = writeln!(
        md,
        "\nThroughput (the same CPU-bound `awk` loop, TSC-timed, 5 runs, median of the last 4):\n"
    );
    let _ = writeln!(md, "| comparison | ratio | goal |\n|---|---|---|");
    let _ = writeln!(
        md,
        "| os2's throughput / a host core's (host alone) | {:.3} | ≥ 0.99 |",
        ratio(&mint.host_alone, &mint.os2_work)
    );
    let _ = writeln!(
        md,
        "| host throughput with os2 busy / with os2 idle | {:.3} | ≥ 0.99 |",
        ratio(&mint.host_os2_idle, &mint.host_os2_busy)
    );
    let ws = paths::workspace();
    let module_lines = lines_of(&ws.join("rust"), &["rs", "c"]) + lines_of(&ws, &["S"]);
    let loader_lines = lines_of(&ws.join("kexec-user/src"), &["rs"]);
    let _ = writeln!(md, "\nCode change (lines): kernel, host and partition: **0** (the original: 257); module (Rust + C shim + trampoline, tests and shared pure logic included): {module_lines}; loader (`mint-kexec`, tests included): {loader_lines} (the original's kexec-tools change: 117).");

    let dir = ws.join("docs/benchmarks");
    fs::create_dir_all(&dir)?;
    fs::write(dir.join("latest.md"), &md)?;
    let svg = chart_svg(
        &[
            ("cold boot", cold_tsc.1),
            ("kexec reboot", kx.1),
            ("mint start", mt.1),
            ("mint, host-side decomp.", d64.1),
        ],
        accel,
    );
    fs::write(dir.join("boot-times.svg"), svg)?;
    if Command::new("rsvg-convert")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("bench: installing librsvg2-bin for the PNG chart");
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-q", "librsvg2-bin"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
    }
    let png = Command::new("rsvg-convert")
        .arg("-o")
        .arg(dir.join("boot-times.png"))
        .arg(dir.join("boot-times.svg"))
        .status();
    if !png.map(|s| s.success()).unwrap_or(false) {
        println!("bench: rsvg-convert unavailable (apt-get install librsvg2-bin); wrote only the SVG chart");
    }
    println!("\n{md}");
    println!("bench: results in {}", dir.display());
    Ok(())
}

fn qemu_version() -> String {
    Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .nth(3)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into())
}
