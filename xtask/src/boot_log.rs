//! Reading one kernel boot's console log onto the TSC axis.
//!
//! A boot log carries two clocks. The benchmark's events (the module's
//! INIT, the reboot call, /init's first instruction) are TSC values; the
//! kernel's own events ("Run /init") carry printk timestamps. To put both on
//! one axis this uses two facts:
//!
//! - `/init` (qemu/init-stamp.c) writes `MINT-INIT tsc=T0 kmsg_tsc=T1` to
//!   /dev/kmsg, reading T1 just before the write: the line's printk time and
//!   T1 name the same instant (to within one write(2)).
//! - On x86 the printk clock is the scheduler clock: the TSC scaled to ns,
//!   zero when the kernel enables it (`tsc_early_init`, early in setup_arch),
//!   plus an offset. While the scheduler clock is "unstable" (early boot) the
//!   printk clock follows timekeeping, which under emulation can fall behind
//!   when timer ticks arrive late; when the kernel marks the clock stable it
//!   prints `sched_clock: Marking stable (gtod, gtod_off)->(raw, raw_off)`,
//!   and from then on printk time = raw scheduler clock + raw_off. So for a
//!   line printed after that mark, raw = printk − raw_off.
//!
//! Hence the TSC at the kernel clock's zero is T1 − raw(MINT-INIT line), and
//! the TSC of any later kernel line is that zero + its raw time.

/// The printk timestamp `[   1.234567]` of a kernel log line, in seconds.
pub fn printk_time(line: &str) -> Option<f64> {
    let start = line.find('[')? + 1;
    let end = line[start..].find(']')? + start;
    line[start..end].trim().parse().ok()
}

/// The value of `key` (e.g. `tsc=`) among the line's whitespace-separated words.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|w| w.strip_prefix(key))
}

/// The kernel-side events of one boot, as TSC values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeline {
    /// /init's first instruction.
    pub init: u64,
    /// The kernel's clock started (scheduler clock zero: `tsc_early_init`).
    pub clock_zero: Option<u64>,
    /// The kernel printed "Run /init as init process".
    pub run_init: Option<u64>,
    /// How far the printk clock had fallen behind the TSC-based scheduler
    /// clock when it was marked stable (seconds; emulation artefact).
    pub printk_lag_s: Option<f64>,
}

/// `raw_off` (seconds) from a "sched_clock: Marking stable" line.
fn stable_offset(line: &str) -> Option<f64> {
    let after = line.split("Marking stable").nth(1)?;
    let raw_part = after.split("->").nth(1)?;
    let inner = raw_part.trim().trim_start_matches('(');
    let inner = inner.split(')').next()?;
    let mut it = inner.split(',').map(str::trim);
    let _raw: i64 = it.next()?.parse().ok()?;
    let off: i64 = it.next()?.parse().ok()?;
    Some(off as f64 / 1e9)
}

/// Reads one boot's log (starting at or after its "Linux version" line).
/// `khz` is the TSC frequency. Returns `None` without a `MINT-INIT` line;
/// the kernel-side points are `None` when the log lacks what they need.
pub fn timeline(log: &str, khz: u64) -> Option<Timeline> {
    let lines: Vec<&str> = log.lines().collect();
    let init_at = lines.iter().position(|l| l.contains("] MINT-INIT "))?;
    let init_line = lines[init_at];
    let init: u64 = field(init_line, "tsc=")?.parse().ok()?;
    let kmsg_tsc: Option<u64> = field(init_line, "kmsg_tsc=").and_then(|v| v.parse().ok());
    let stable_at = lines[..init_at]
        .iter()
        .rposition(|l| l.contains("sched_clock: Marking stable"));
    let run_at = lines[..init_at]
        .iter()
        .rposition(|l| l.contains("Run /init as init process"));
    let offset = stable_at.and_then(|i| stable_offset(lines[i]));
    let cycles_per_s = khz as f64 * 1000.0;
    let mut t = Timeline {
        init,
        clock_zero: None,
        run_init: None,
        // printk time = raw + offset: a negative offset is how far it lags.
        printk_lag_s: offset.map(|off| -off),
    };
    let (Some(stable_at), Some(off), Some(kmsg_tsc)) = (stable_at, offset, kmsg_tsc) else {
        return Some(t);
    };
    let raw = |line: &str| printk_time(line).map(|p| p - off);
    let zero = kmsg_tsc as f64 - raw(init_line)? * cycles_per_s;
    if zero < 0.0 {
        return Some(t);
    }
    t.clock_zero = Some(zero as u64);
    // "Run /init" converts only if it was printed after the clock was
    // marked stable (it always is in practice: the mark is a late initcall).
    t.run_init = run_at
        .filter(|&r| r > stable_at)
        .and_then(|r| raw(lines[r]))
        .map(|s| (zero + s * cycles_per_s) as u64);
    Some(t)
}

/// Splits a console log holding several boots into one slice per boot,
/// each starting at its "Linux version" line.
pub fn boots(log: &str) -> Vec<&str> {
    let starts: Vec<usize> = log
        .match_indices("Linux version ")
        .map(|(i, _)| log[..i].rfind('\n').map_or(0, |n| n + 1))
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| &log[s..starts.get(k + 1).copied().unwrap_or(log.len())])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 1 GHz TSC: 1 cycle = 1 ns, so expectations read directly.
    const LOG: &str = "\
[    0.000000] Linux version 6.12.117 (root@vm)
[    0.100000] Calibrating delay loop (skipped)
[    0.300000] sched_clock: Marking stable (280000000, 20000000)->(500000000, -200000000)
[    0.450000] Run /init as init process
[    0.470000] MINT-INIT tsc=5000000000 kmsg_tsc=5001000000
[    0.600000] MINT-PARTITION-UP nonce=x tsc=5000000000
";

    #[test]
    fn places_kernel_events_on_the_tsc_axis() {
        let t = timeline(LOG, 1_000_000).unwrap();
        assert_eq!(t.init, 5_000_000_000);
        // raw(MINT-INIT) = 0.47 + 0.2 = 0.67 s; zero = 5.001e9 - 0.67e9.
        assert_eq!(t.clock_zero, Some(4_331_000_000));
        // raw(Run /init) = 0.65 s after zero.
        assert_eq!(t.run_init, Some(4_981_000_000));
        assert!((t.printk_lag_s.unwrap() - 0.2).abs() < 1e-9);
    }

    #[test]
    fn without_the_stable_mark_only_the_end_point_is_known() {
        let log: String = LOG
            .lines()
            .filter(|l| !l.contains("Marking stable"))
            .map(|l| format!("{l}\n"))
            .collect();
        let t = timeline(&log, 1_000_000).unwrap();
        assert_eq!(t.init, 5_000_000_000);
        assert_eq!((t.clock_zero, t.run_init), (None, None));
    }

    #[test]
    fn without_the_init_stamp_there_is_no_timeline() {
        assert!(timeline("[ 0.1] Run /init as init process\n", 1_000_000).is_none());
    }

    #[test]
    fn run_init_before_the_mark_is_not_converted() {
        let log = LOG.replace(
            "[    0.300000] sched_clock: Marking stable (280000000, 20000000)->(500000000, -200000000)\n[    0.450000] Run /init as init process\n",
            "[    0.300000] Run /init as init process\n[    0.450000] sched_clock: Marking stable (280000000, 20000000)->(500000000, -200000000)\n",
        );
        let t = timeline(&log, 1_000_000).unwrap();
        assert!(t.clock_zero.is_some());
        assert_eq!(t.run_init, None);
    }

    #[test]
    fn splits_boots() {
        let two = format!("noise\n{LOG}{LOG}");
        let b = boots(&two);
        assert_eq!(b.len(), 2);
        assert!(b
            .iter()
            .all(|s| s.contains("Linux version") && s.contains("MINT-INIT")));
    }

    #[test]
    fn reads_printk_times_and_fields() {
        assert_eq!(printk_time("[   12.500000] x"), Some(12.5));
        assert_eq!(printk_time("no stamp"), None);
        assert_eq!(field("a tsc=42 b", "tsc="), Some("42"));
    }
}
