//! `cargo xtask bench`: boot times (cold boot, kexec reboot, mint partition
//! start) and throughput, measured side by side in one run, with the same
//! bzImage and the same initramfs (`out/os2-initramfs.cpio.gz`, whose /init
//! prints the TSC first thing). Not part of the tests.
//!
//! Clocks: QEMU TCG gives every vCPU one time stamp counter that starts at 0
//! at machine reset and is not reset by kexec or INIT, so
//! - kexec reboot = TSC at the new /init − TSC printed just before
//!   `reboot(LINUX_REBOOT_CMD_KEXEC)` (same machine, same counter);
//! - mint start = TSC at os2's /init − TSC the module read just before INIT;
//! - cold boot = TSC at /init (since reset), and also the outside wall clock
//!   from starting QEMU to the /init line on the serial port.
//!
//! Results go to `docs/benchmarks/latest.md` and a chart
//! `docs/benchmarks/boot-times.svg` (and `.png` when `rsvg-convert` exists).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::build::Artifacts;
use crate::paths;
use crate::qemu::{Machine, Qemu};
use crate::scenarios::{os2_machine, partition_ups, PARTITION_UP};

/// One boot's measurements, in TSC cycles unless named otherwise.
#[derive(Default, Clone)]
struct Boot {
    /// Interval from the start event to /init.
    cycles: u64,
    /// Outside wall clock (cold boot only).
    wall: Option<Duration>,
    /// Kernel clock at "Run /init as init process" (kernel init time).
    kernel_to_init_s: Option<f64>,
    /// mint only: zero+copy, INIT→kernel entry, entry→kernel clock zero.
    copy: u64,
    init_to_entry: u64,
    entry_to_kernel: u64,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|w| w.strip_prefix(key))
}

/// The printk timestamp `[   1.234567]` of a kernel log line, in seconds.
fn printk_time(line: &str) -> Option<f64> {
    let start = line.find('[')? + 1;
    let end = line[start..].find(']')? + start;
    line[start..end].trim().parse().ok()
}

/// TSC at /init, the marker's printk time, and "Run /init" printk time.
fn marker_info(log: &str, nonce: &str) -> Option<(u64, f64, Option<f64>)> {
    let line = *partition_ups(log, nonce).first()?;
    let tsc = field(line, "tsc=")?.parse().ok()?;
    let kt = printk_time(line)?;
    let run_init = log
        .lines()
        .find(|l| l.contains("Run /init as init process"))
        .and_then(printk_time);
    Some((tsc, kt, run_init))
}

fn cold_boot(artifacts: &Artifacts, i: usize) -> Result<Boot> {
    let machine = Machine {
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
    let (tsc, _, run_init) =
        marker_info(&text, &format!("cold{i}")).context("cold boot: no /init marker")?;
    Ok(Boot {
        cycles: tsc,
        wall,
        kernel_to_init_s: run_init,
        ..Boot::default()
    })
}

fn kexec_boot(artifacts: &Artifacts, i: usize) -> Result<Boot> {
    let machine = Machine {
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
    let (tsc, _, run_init) = marker_info(after, "kexec").context("kexec: no /init marker")?;
    Ok(Boot {
        cycles: tsc.saturating_sub(before),
        kernel_to_init_s: run_init,
        ..Boot::default()
    })
}

struct MintRun {
    boots: Vec<Boot>,
    /// The same, with the kernel decompressed by mint-kexec (64-bit entry).
    boots_d64: Vec<Boot>,
    tsc_khz: u64,
    host_alone: Vec<u64>,
    host_os2_idle: Vec<u64>,
    host_os2_busy: Vec<u64>,
    os2_work: Vec<u64>,
}

fn mint_boots(artifacts: &Artifacts, runs: usize) -> Result<MintRun> {
    let mut machine = os2_machine();
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
    let run_inits: Vec<f64> = os2
        .lines()
        .filter(|l| l.contains("Run /init as init process"))
        .filter_map(printk_time)
        .collect();
    // Boots alternate: bzImage entry (even starts), decompressed (odd).
    let boots_of = |tag: &str, first: usize| -> Result<Vec<Boot>> {
        let ups = partition_ups(&os2, tag);
        if starts.len() < 2 * runs || ups.len() < runs {
            bail!(
                "mint {tag}: {} starts and {} /init markers for {runs} runs (see {})",
                starts.len(),
                ups.len(),
                dir.display()
            );
        }
        let mut boots = Vec::new();
        for i in 0..runs {
            let (copy, init, entry) = starts[first + 2 * i];
            let tsc: u64 = field(ups[i], "tsc=")
                .and_then(|v| v.parse().ok())
                .context("marker without tsc")?;
            let kt = printk_time(ups[i]).unwrap_or(0.0);
            // The kernel clock (printk time 0) started at about tsc - kt.
            let kernel_zero = tsc.saturating_sub((kt * tsc_khz as f64 * 1000.0) as u64);
            boots.push(Boot {
                cycles: tsc.saturating_sub(init),
                wall: None,
                kernel_to_init_s: run_inits.get(first + 2 * i).copied(),
                copy: init.saturating_sub(copy),
                init_to_entry: entry.saturating_sub(init),
                entry_to_kernel: kernel_zero.saturating_sub(entry),
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

/// (min, median, max) of `v`.
fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    if s.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    (s[0], s[s.len() / 2], s[s.len() - 1])
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

fn chart_svg(rows: &[(&str, f64)]) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0f64, f64::max).max(1e-9);
    let (w, bar_h, gap, left) = (680.0, 34.0, 16.0, 160.0);
    let h = 60.0 + rows.len() as f64 * (bar_h + gap);
    let mut s = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='14'>\
         <rect width='100%' height='100%' fill='white'/>\
         <text x='10' y='24' font-size='16'>Boot to /init, median seconds (QEMU TCG, same bzImage + initramfs)</text>"
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

pub fn bench(artifacts: &Artifacts, runs: usize) -> Result<()> {
    let runs = runs.max(5);
    println!("bench: {runs} runs each (QEMU TCG, -cpu max)");
    let mut cold = Vec::new();
    for i in 0..runs {
        cold.push(cold_boot(artifacts, i)?);
        println!(
            "    cold boot {i}: {:.2} s wall",
            cold[i].wall.unwrap_or_default().as_secs_f64()
        );
    }
    let mut kexec = Vec::new();
    for i in 0..runs {
        kexec.push(kexec_boot(artifacts, i)?);
        println!("    kexec reboot {i}: {} cycles", kexec[i].cycles);
    }
    let mint = mint_boots(artifacts, runs)?;
    let khz = mint.tsc_khz as f64;
    let secs = |c: u64| c as f64 / (khz * 1000.0);
    for (i, b) in mint.boots.iter().enumerate() {
        println!("    mint start {i}: {:.3} s", secs(b.cycles));
    }

    let cold_tsc = stats(&cold.iter().map(|b| secs(b.cycles)).collect::<Vec<_>>());
    let cold_wall = stats(
        &cold
            .iter()
            .map(|b| b.wall.unwrap_or_default().as_secs_f64())
            .collect::<Vec<_>>(),
    );
    let kx = stats(&kexec.iter().map(|b| secs(b.cycles)).collect::<Vec<_>>());
    let mt = stats(
        &mint
            .boots
            .iter()
            .map(|b| secs(b.cycles))
            .collect::<Vec<_>>(),
    );
    let k_init = |v: &[Boot]| {
        stats(
            &v.iter()
                .filter_map(|b| b.kernel_to_init_s)
                .collect::<Vec<_>>(),
        )
        .1
    };

    let mut md = String::new();
    let _ = writeln!(md, "<!-- generated by `cargo xtask bench` -->");
    let _ = writeln!(md, "Machine: QEMU {} TCG, `-cpu max`, 2 vCPUs (host) / 1 (partition), TSC {} kHz; {runs} runs each.\n",
        qemu_version(), mint.tsc_khz);
    let _ = writeln!(
        md,
        "| boot to /init | min | median | max | kernel clock at `Run /init` (median) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|");
    let _ = writeln!(
        md,
        "| cold boot, QEMU start → /init (wall clock) | {:.3} s | {:.3} s | {:.3} s | {:.3} s |",
        cold_wall.0,
        cold_wall.1,
        cold_wall.2,
        k_init(&cold)
    );
    let _ = writeln!(
        md,
        "| cold boot, reset → /init (TSC) | {:.3} s | {:.3} s | {:.3} s | |",
        cold_tsc.0, cold_tsc.1, cold_tsc.2
    );
    let _ = writeln!(
        md,
        "| kexec reboot, reboot() → /init (TSC) | {:.3} s | {:.3} s | {:.3} s | {:.3} s |",
        kx.0,
        kx.1,
        kx.2,
        k_init(&kexec)
    );
    let _ = writeln!(
        md,
        "| mint start, INIT → /init (TSC) | {:.3} s | {:.3} s | {:.3} s | {:.3} s |",
        mt.0,
        mt.1,
        mt.2,
        k_init(&mint.boots)
    );
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
    let d64 = stats(
        &mint
            .boots_d64
            .iter()
            .map(|b| secs(b.cycles))
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(md, "| mint start, decompressed by mint-kexec (`--decompress`), INIT → /init (TSC) | {:.3} s | {:.3} s | {:.3} s | {:.3} s |", d64.0, d64.1, d64.2, k_init(&mint.boots_d64));
    let _ = writeln!(md, "\nRatios of medians: mint / kexec = **{:.3}**, mint / cold (TSC) = **{:.3}**, mint / cold (wall) = **{:.3}**.",
        mt.1 / kx.1, mt.1 / cold_tsc.1, mt.1 / cold_wall.1);
    let _ = writeln!(
        md,
        "With `--decompress`: mint / kexec = **{:.3}**, mint / cold (TSC) = **{:.3}**.\n",
        d64.1 / kx.1,
        d64.1 / cold_tsc.1
    );
    let med = |f: &dyn Fn(&Boot) -> u64| {
        stats(&mint.boots.iter().map(|b| secs(f(b))).collect::<Vec<_>>()).1
    };
    let med64 = |f: &dyn Fn(&Boot) -> u64| {
        stats(
            &mint
                .boots_d64
                .iter()
                .map(|b| secs(f(b)))
                .collect::<Vec<_>>(),
        )
        .1
    };
    let _ = writeln!(
        md,
        "With `--decompress`: INIT → kernel entry {:.4} s, kernel entry → kernel clock {:.3} s, copy {:.3} s.\n",
        med64(&|b| b.init_to_entry),
        med64(&|b| b.entry_to_kernel),
        med64(&|b| b.copy)
    );
    let _ = writeln!(md, "Breakdown of a mint start (bzImage entry, medians):\n");
    let _ = writeln!(md, "| step | time |\n|---|---|");
    let _ = writeln!(md, "| module: `echo start` → INIT (copy the segments; the window was scrubbed at stop) | {:.3} s |", med(&|b| b.copy));
    let _ = writeln!(
        md,
        "| INIT/SIPI → the CPU leaves the trampoline into the kernel | {:.4} s |",
        med(&|b| b.init_to_entry)
    );
    let _ = writeln!(
        md,
        "| kernel entry → kernel clock starts (decompression, early setup) | {:.3} s |",
        med(&|b| b.entry_to_kernel)
    );
    let _ = writeln!(
        md,
        "| kernel clock → `Run /init` (kernel init) | {:.3} s |",
        k_init(&mint.boots)
    );
    let rest = mt.1 - med(&|b| b.init_to_entry) - med(&|b| b.entry_to_kernel) - k_init(&mint.boots);
    let _ = writeln!(
        md,
        "| `Run /init` → /init's first command | {:.3} s |",
        rest.max(0.0)
    );
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
    let svg = chart_svg(&[
        ("cold boot", cold_tsc.1),
        ("kexec reboot", kx.1),
        ("mint start", mt.1),
        ("mint, decompressed", d64.1),
    ]);
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
