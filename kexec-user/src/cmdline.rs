//! The partition's kernel command line: safe defaults plus the user's `--append`.
//!
//! The partition boots the host's own bzImage on a machine whose devices the
//! host owns, except the PCI functions the partition owns (its `devices`, if
//! any). Each default keeps it off a piece of shared hardware, using only
//! standard kernel parameters (the partition's own ACPI tables, handed over in
//! boot_params, do the rest: they list only its CPUs, no IOAPIC, no HPET, and
//! for a partition with devices one PCI root bridge per bus of its functions,
//! with that bus's ECAM and the windows of its functions' BARs):
//!
//! | parameter | when | why |
//! |---|---|---|
//! | `console=ttySN` | the partition has a UART of its own: os2, os3, os4 (ttyS1..ttyS3), unless `--no-uart` | its console is its own UART (osN gets ttyS(N-1)), not the host's ttyS0 |
//! | `8250.nr_uarts=0` | the partition has no UART: os5 and up (ttyS4 and up have no legacy port), and any partition loaded with `--no-uart` | the 8250 driver gets no ports at all: its console never registers (`univ8250_console_init` returns -ENODEV), so it cannot fall back to port 0 and print into the host's UART, and nothing probes a port. The partition's console is then only the ramoops console (pstore registers it by itself) |
//! | `noapic` | always | never program the IOAPIC, which routes the host's device interrupts (the firmware MP table still lists it) |
//! | `acpi=noirq` | always | never reroute legacy interrupts (ELCR, PIC routing) the host relies on |
//! | `pci=off` | the partition owns no PCI function | never scan or configure PCI devices through the shared config space |
//! | `pci=noearly` | the partition owns PCI functions (instead of `pci=off`) | no early PCI quirks and other early users (early-quirks.c, aperture_64.c, amd_bus.c, the mmconfig host-bridge checks), which read and write the shared config ports 0xcf8/0xcfc directly, without asking for them; its kernel then reaches its functions only through the ECAM its MCFG names, and enumerates only the buses its DSDT describes |
//! | `tsc_early_khz=K` | the host's TSC frequency is known | the partition's TSC frequency is the host's measured value, not its own estimate from the shared legacy timers (its kernel still reads PIT channel 2 once, early, for `cpu_khz`) |
//! | `reserve=0x2e8,16,0x300,256` | always | the legacy ports 0x2e8-0x3ff except the partition's own UART's 8 (all of them for a partition without a UART: `reserve=0x2e8,280`): one or two spans ([`reserved_ports`]) marked busy, so drivers that ask for them first never touch them. They hold the legacy UARTs that are not the partition's own (the host's console ttyS0 at 0x3f8, other partitions' consoles at 0x2f8, 0x3e8, 0x2e8), which its serial driver then never probes, and the legacy hardware between them, which a partition must not touch either: the parallel port (0x378), VGA (0x3b0-0x3df), the floppy controller (0x3f0) |
//! | `reserve=...,0xcf8,8` | the partition owns PCI functions | the shared PCI config ports 0xcf8-0xcff are busy too: the kernel's conf1 probe (`pci_direct_probe`) asks for them first, so it never uses them and all config access goes through ECAM. The kernel's `reserve=` keeps at most 4 ranges (`MAXRESERVE`, kernel/resource.c): with the spans above, at most 3 are used |
//! | `panic=0` | always | a panicking partition halts instead of rebooting, which would reset the whole machine |
//! | `softlockup_panic=1` | always | a CPU stuck in the kernel (a soft lockup) panics the partition, so the host sees `crashed` and the crash record says why, instead of a partition that only looks `running` |
//! | `nmi_watchdog=panic` | always | a CPU stuck with interrupts off (a hard lockup) panics the partition too (the boot parameter behind the `kernel.hardlockup_panic` sysctl); the kernel's buddy detector (each CPU watches the next one's timer interrupts, no NMI or perf counter) finds it in partitions of two or more CPUs |
//! | `no_ipi_broadcast=1` | always | a multi-CPU partition's kernel otherwise switches to "all but self" shorthand IPIs once all its CPUs are up, and its panic, reboot and poweroff path (`native_stop_other_cpus`) would then stop every CPU of the machine, the host's included; with it, every IPI goes to the partition's own APIC IDs |
//! | `reboot=acpi` | always | a reboot writes the partition's own FADT reset register (its status page, which the host watches) first; without it, reboot quirks matched against the machine's DMI data (shared with the host) could send the partition's kernel straight to the keyboard controller or port 0xcf9, which reset the whole machine |
//! | `ramoops.mem_address=A ramoops.mem_size=L` | a console region (the default; not with `--no-console-region`) | the partition's pstore/ramoops region: the top `--console-size` bytes (default 1 MiB) of its window, which its e820 map lists as reserved. Its kernel keeps its console ring and crash records there; the host reads them as `console` and `crash` |
//! | `ramoops.record_size=R ramoops.console_size=C ramoops.pmsg_size=P` | a console region | the zone sizes, exactly those of `mint_logic::ramoops::Layout::for_region` (1 MiB: 64 KiB records, 512 KiB console, 64 KiB pmsg), which the load image hands the module too, so that both sides lay out the same zones |
//! | `ramoops.ftrace_size=0 ramoops.ecc=0` | a console region | no ftrace zone and no ECC: the layout the host decodes |
//! | `ramoops.mem_type=2` | a console region | map the region cached (`MEM_TYPE_NORMAL`), the same write-back type as the host's mapping of the window, so that no write stays in a write-combining buffer (ramoops' default) when the host stops the CPU |
//! | `pstore.kmsg_bytes=R` | a console region | a crash record holds a whole record's worth (R, decimal) of the kernel log, not the default 10 KiB |
//! | `pstore.compress=none` | a console region | crash records stay plain text, which the host reads, even in a kernel built with `CONFIG_PSTORE_COMPRESS` (its default is deflate) |
//!
//! `nmi_watchdog=0` is not among them: `qemu/kernel.config` builds the
//! buddy hard-lockup detector, which uses no NMI and no performance counter,
//! so the watchdog stays on (its default) and stays inside the partition.
//! `sysctl.kernel.hung_task_panic=1` (the hung-task detector has no boot parameter of its own) is not among them either: a task blocked for two
//! minutes may be a slow device rather than a wedged kernel; add it with
//! `--append` (the host then sees `crashed` too).
//!
//! The user's `--append` comes last, so it can add to or override these, with
//! one exception: while mint manages the console region, a `ramoops.*` or
//! `pstore.*` kernel parameter in it is refused ([`AppendError`]), since
//! ramoops would then lay out zones the host does not expect. With
//! `--no-console-region` they are the user's to set.
//!
//! The console UART is also described in the partition's DSDT (see
//! [`console_port`] and `acpi.rs`), without an interrupt, so that the
//! partition's kernel polls it and its tty works. A partition without a UART
//! gets none in its DSDT.

use std::fmt;
use std::ops::Range;

use mint_logic::ramoops::Layout;

/// I/O bases of the legacy PC serial ports ttyS0..ttyS3 (COM1..COM4), as the
/// kernel's built-in x86 table (`SERIAL_PORT_DFNS`) lists them.
pub const LEGACY_UART_PORTS: [u16; 4] = [0x3f8, 0x2f8, 0x3e8, 0x2e8];

/// The legacy I/O ports a partition leaves alone, its own UART's excepted:
/// from COM4's base (0x2e8) to the end of COM1 (0x3ff), the four legacy UARTs
/// and what lies between them (parallel port, VGA, floppy controller).
pub const LEGACY_PORTS: Range<u16> = 0x2e8..0x400;

/// The shared PCI configuration ports (CONFIG_ADDRESS at 0xcf8, CONFIG_DATA at
/// 0xcfc), which a partition with devices leaves alone too: it uses ECAM.
pub const PCI_CONFIG_PORTS: Range<u16> = 0xcf8..0xd00;

/// How many I/O ports a 16550 UART's registers span.
pub const UART_PORTS: u16 = 8;

/// The most ranges the kernel's `reserve=` keeps (`MAXRESERVE` in
/// kernel/resource.c): more are silently dropped.
pub const MAX_RESERVE: usize = 4;

/// The I/O port ranges the partition's `reserve=` marks busy, ascending:
/// [`LEGACY_PORTS`] minus its own UART's [`UART_PORTS`] ports at `own_uart`
/// (one or two spans), then, for a partition with devices (`pci`),
/// [`PCI_CONFIG_PORTS`]. Never more than [`MAX_RESERVE`] (at most 3).
pub fn reserved_ports(own_uart: Option<u16>, pci: bool) -> Vec<Range<u16>> {
    let legacy = LEGACY_PORTS;
    let mut ranges = match own_uart {
        Some(base) if legacy.contains(&base) => {
            let end = base.saturating_add(UART_PORTS).min(legacy.end);
            vec![legacy.start..base, end..legacy.end]
        }
        _ => vec![legacy],
    };
    if pci {
        ranges.push(PCI_CONFIG_PORTS);
    }
    ranges.retain(|r| r.start < r.end);
    ranges
}

/// `reserve=` for `ranges`: `start,len` pairs, the start in hex, the length in
/// decimal, comma-separated (the kernel's `reserve_setup` reads them so).
fn reserve_param(ranges: &[Range<u16>]) -> String {
    let pairs: Vec<String> = ranges
        .iter()
        .map(|r| format!("{:#x},{}", r.start, r.end - r.start))
        .collect();
    format!("reserve={}", pairs.join(","))
}

/// The console line partition `name` would get: osN gets ttyS(N-1). Only
/// lines with a legacy port are used ([`uart`]).
pub fn console_line(name: &str) -> Option<u32> {
    let n = name.strip_prefix("os")?.parse::<u32>().ok()?;
    Some(n.saturating_sub(1))
}

/// Partition `name`'s own UART, as (line, I/O base): os2 -> (1, 0x2f8), up
/// to os4 -> (3, 0x2e8); `None` for os5 and up (their line has no legacy
/// port) and for every partition with `no_uart`.
pub fn uart(name: &str, no_uart: bool) -> Option<(u32, u16)> {
    if no_uart {
        return None;
    }
    let line = console_line(name)?;
    let port = LEGACY_UART_PORTS
        .get(usize::try_from(line).ok()?)
        .copied()?;
    Some((line, port))
}

/// I/O base of partition `name`'s console UART (os2 -> ttyS1 -> 0x2f8), or
/// `None` if it has none (os5 and up, or `no_uart`).
pub fn console_port(name: &str, no_uart: bool) -> Option<u16> {
    uart(name, no_uart).map(|(_, port)| port)
}

/// What the defaults depend on besides the partition's name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The host's TSC frequency in kHz; 0 (unknown) leaves `tsc_early_khz` out.
    pub tsc_khz: u32,
    /// `--no-uart`: no UART even for os2..os4.
    pub no_uart: bool,
    /// The console (ramoops) region mint manages, if any.
    pub region: Option<Layout>,
    /// The partition owns PCI functions (its `devices` lists some): no
    /// `pci=off`, but `pci=noearly` and the config ports reserved.
    pub pci: bool,
}

/// The `ramoops.*` and `pstore.*` parameters for `region`, every number
/// taken from the layout.
pub fn ramoops_params(region: &Layout) -> Vec<String> {
    let r = region.region();
    vec![
        format!("ramoops.mem_address={:#x}", r.start),
        format!("ramoops.mem_size={:#x}", r.end - r.start),
        format!("ramoops.record_size={:#x}", region.record_size()),
        format!("ramoops.console_size={:#x}", region.console_size()),
        format!("ramoops.pmsg_size={:#x}", region.pmsg_size()),
        "ramoops.ftrace_size=0".into(),
        "ramoops.ecc=0".into(),
        "ramoops.mem_type=2".into(),
        format!("pstore.kmsg_bytes={}", region.record_size()),
        "pstore.compress=none".into(),
    ]
}

/// The default parameters for partition `name` (`osN`).
pub fn defaults(name: &str, opts: &Options) -> Vec<String> {
    let mut args = Vec::new();
    let own = uart(name, opts.no_uart);
    match own {
        Some((line, _)) => args.push(format!("console=ttyS{line}")),
        None => args.push("8250.nr_uarts=0".into()),
    }
    let pci = if opts.pci { "pci=noearly" } else { "pci=off" };
    args.extend(["noapic", "acpi=noirq", pci].map(String::from));
    if opts.tsc_khz > 0 {
        args.push(format!("tsc_early_khz={}", opts.tsc_khz));
    }
    let reserved = reserved_ports(own.map(|(_, port)| port), opts.pci);
    debug_assert!(reserved.len() <= MAX_RESERVE);
    args.push(reserve_param(&reserved));
    args.extend(
        [
            "panic=0",
            "softlockup_panic=1",
            "nmi_watchdog=panic",
            "no_ipi_broadcast=1",
            "reboot=acpi",
        ]
        .map(String::from),
    );
    if let Some(region) = &opts.region {
        args.extend(ramoops_params(region));
    }
    args
}

/// A `--append` that mint refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// A `ramoops.*` or `pstore.*` kernel parameter while mint manages the
    /// console region.
    Managed {
        /// The parameter as written.
        param: String,
    },
}

impl fmt::Display for AppendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppendError::Managed { param } => write!(
                f,
                "--append {param}: mint sets the ramoops.* and pstore.* parameters of the \
                 partition's console region; leave them out, or pass --no-console-region to set \
                 them yourself"
            ),
        }
    }
}

impl std::error::Error for AppendError {}

/// The kernel's own parameters in `line`, as written: words separated by
/// whitespace outside double quotes (as the kernel's `next_arg` splits
/// them), up to a lone `--`, after which everything goes to init.
fn kernel_params(line: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = None;
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        if c == '"' {
            quoted = !quoted;
        }
        match (start, c.is_whitespace() && !quoted) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                words.push(&line[s..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(&line[s..]);
    }
    words.into_iter().take_while(|w| *w != "--").collect()
}

/// Whether kernel parameter `word` (`name[=value]`, maybe quoted) is one of
/// the console region's.
fn is_managed(word: &str) -> bool {
    let name = word.trim_start_matches('"');
    let name = name.split('=').next().unwrap_or(name);
    name.starts_with("ramoops.") || name.starts_with("pstore.")
}

/// Checks the user's `append`: while mint manages the console region
/// (`managed`), it must not set a `ramoops.*` or `pstore.*` kernel parameter.
pub fn check_append(append: Option<&str>, managed: bool) -> Result<(), AppendError> {
    let found = append
        .filter(|_| managed)
        .and_then(|a| kernel_params(a).into_iter().find(|w| is_managed(w)));
    match found {
        Some(w) => Err(AppendError::Managed {
            param: w.to_string(),
        }),
        None => Ok(()),
    }
}

/// The full command line: defaults, then the user's additions. With a
/// console region, `append` must not set `ramoops.*` or `pstore.*`
/// ([`check_append`]).
pub fn compose(name: &str, opts: &Options, append: Option<&str>) -> Result<String, AppendError> {
    check_append(append, opts.region.is_some())?;
    let mut line = defaults(name, opts).join(" ");
    if let Some(extra) = append.map(str::trim).filter(|e| !e.is_empty()) {
        line.push(' ');
        line.push_str(extra);
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(tsc_khz: u32) -> Options {
        Options {
            tsc_khz,
            ..Options::default()
        }
    }

    /// The default region of a 256 MiB window at 0x20000000: its top MiB.
    fn region() -> Layout {
        Layout::for_region(0x2ff0_0000, 0x10_0000).unwrap()
    }

    const RAMOOPS_1M: &str = "ramoops.mem_address=0x2ff00000 ramoops.mem_size=0x100000 \
        ramoops.record_size=0x10000 ramoops.console_size=0x80000 ramoops.pmsg_size=0x10000 \
        ramoops.ftrace_size=0 ramoops.ecc=0 ramoops.mem_type=2 pstore.kmsg_bytes=65536 pstore.compress=none";

    #[test]
    fn defaults_for_os2() {
        assert_eq!(
            compose("os2", &opts(2_500_000), None).unwrap(),
            "console=ttyS1 noapic acpi=noirq pci=off tsc_early_khz=2500000 \
             reserve=0x2e8,16,0x300,256 panic=0 softlockup_panic=1 nmi_watchdog=panic no_ipi_broadcast=1 \
             reboot=acpi"
        );
    }

    #[test]
    fn defaults_for_os2_with_a_console_region() {
        let o = Options {
            region: Some(region()),
            ..opts(2_500_000)
        };
        assert_eq!(
            compose("os2", &o, None).unwrap(),
            format!(
                "console=ttyS1 noapic acpi=noirq pci=off tsc_early_khz=2500000 \
                 reserve=0x2e8,16,0x300,256 panic=0 softlockup_panic=1 nmi_watchdog=panic \
                 no_ipi_broadcast=1 reboot=acpi {RAMOOPS_1M}"
            )
        );
    }

    #[test]
    fn ramoops_numbers_come_from_the_layout() {
        // 64 KiB: console 32 KiB, records and pmsg 4 KiB.
        let l = Layout::for_region(0x1_0000_0000, 64 << 10).unwrap();
        assert_eq!(
            ramoops_params(&l).join(" "),
            "ramoops.mem_address=0x100000000 ramoops.mem_size=0x10000 ramoops.record_size=0x1000 \
             ramoops.console_size=0x8000 ramoops.pmsg_size=0x1000 ramoops.ftrace_size=0 \
             ramoops.ecc=0 ramoops.mem_type=2 pstore.kmsg_bytes=4096 pstore.compress=none"
        );
    }

    #[test]
    fn no_uart_for_os2() {
        let o = Options {
            no_uart: true,
            region: Some(region()),
            ..opts(2_500_000)
        };
        let line = compose("os2", &o, None).unwrap();
        assert_eq!(
            line,
            format!(
                "8250.nr_uarts=0 noapic acpi=noirq pci=off tsc_early_khz=2500000 \
                 reserve=0x2e8,280 panic=0 softlockup_panic=1 nmi_watchdog=panic \
                 no_ipi_broadcast=1 reboot=acpi {RAMOOPS_1M}"
            )
        );
        assert!(!line.contains("console="));
        assert_eq!(console_port("os2", true), None);
        assert_eq!(uart("os4", true), None);
    }

    #[test]
    fn os5_and_up_have_no_uart() {
        for name in ["os5", "os7", "os255"] {
            let line = compose(name, &opts(1000), None).unwrap();
            assert!(line.starts_with("8250.nr_uarts=0 noapic "), "{line}");
            assert!(!line.contains("console="), "{line}");
            assert!(line.contains(" reserve=0x2e8,280 "), "{line}");
        }
        let o = Options {
            region: Some(region()),
            ..opts(2_500_000)
        };
        assert_eq!(
            compose("os5", &o, None).unwrap(),
            format!(
                "8250.nr_uarts=0 noapic acpi=noirq pci=off tsc_early_khz=2500000 \
                 reserve=0x2e8,280 panic=0 softlockup_panic=1 nmi_watchdog=panic \
                 no_ipi_broadcast=1 reboot=acpi {RAMOOPS_1M}"
            )
        );
    }

    #[test]
    fn defaults_with_devices() {
        let o = Options {
            region: Some(region()),
            pci: true,
            ..opts(2_500_000)
        };
        assert_eq!(
            compose("os2", &o, None).unwrap(),
            format!(
                "console=ttyS1 noapic acpi=noirq pci=noearly tsc_early_khz=2500000 \
                 reserve=0x2e8,16,0x300,256,0xcf8,8 panic=0 softlockup_panic=1 nmi_watchdog=panic \
                 no_ipi_broadcast=1 reboot=acpi {RAMOOPS_1M}"
            )
        );
        assert_eq!(
            compose("os5", &o, None).unwrap(),
            format!(
                "8250.nr_uarts=0 noapic acpi=noirq pci=noearly tsc_early_khz=2500000 \
                 reserve=0x2e8,280,0xcf8,8 panic=0 softlockup_panic=1 nmi_watchdog=panic \
                 no_ipi_broadcast=1 reboot=acpi {RAMOOPS_1M}"
            )
        );
        let line = compose("os2", &Options { no_uart: true, ..o }, None).unwrap();
        assert!(line.contains(" reserve=0x2e8,280,0xcf8,8 "), "{line}");
        assert!(!line.contains("pci=off"), "{line}");
    }

    /// The ranges a `reserve=` value lists, as the kernel's `reserve_setup`
    /// reads them (`start,len` pairs).
    fn reserve_ranges(line: &str) -> Vec<Range<u32>> {
        let value = line
            .split(' ')
            .find_map(|w| w.strip_prefix("reserve="))
            .expect("a reserve= parameter");
        let num = |s: &str| match s.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).unwrap(),
            None => s.parse().unwrap(),
        };
        let v: Vec<u32> = value.split(',').map(num).collect();
        assert_eq!(v.len() % 2, 0, "{value}");
        v.chunks(2).map(|p| p[0]..p[0] + p[1]).collect()
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // a single span
    fn reserve_fits_the_kernel_for_every_uart() {
        let legacy = u32::from(LEGACY_PORTS.start)..u32::from(LEGACY_PORTS.end);
        let uarts = LEGACY_UART_PORTS.map(u32::from);
        for name in ["os1", "os2", "os3", "os4", "os5", "os9"] {
            for no_uart in [false, true] {
                for pci in [false, true] {
                    let o = Options {
                        no_uart,
                        pci,
                        ..opts(1000)
                    };
                    let line = compose(name, &o, None).unwrap();
                    let ranges = reserve_ranges(&line);
                    assert!(ranges.len() <= MAX_RESERVE, "{line}");
                    assert!(ranges.windows(2).all(|w| w[0].end <= w[1].start), "{line}");
                    let reserved = |port: u32| ranges.iter().any(|r| r.contains(&port));
                    let own = console_port(name, no_uart).map(u32::from);
                    // Every legacy port but the partition's own UART's.
                    for port in legacy.clone() {
                        let mine = own.is_some_and(|b| (b..b + 8).contains(&port));
                        assert_eq!(reserved(port), !mine, "{line}: port {port:#x}");
                    }
                    for base in uarts {
                        assert_eq!(reserved(base), Some(base) != own, "{line}");
                    }
                    // The config ports with devices only; nothing else.
                    for port in 0xcf8..0xd00 {
                        assert_eq!(reserved(port), pci, "{line}: port {port:#x}");
                    }
                    let total: u32 = ranges.iter().map(|r| r.end - r.start).sum();
                    let own_len = if own.is_some() { 8 } else { 0 };
                    let pci_len = if pci { 8 } else { 0 };
                    assert_eq!(total, legacy.len() as u32 - own_len + pci_len, "{line}");
                    assert_eq!(line.contains(" pci=off "), !pci, "{line}");
                    assert_eq!(line.contains(" pci=noearly "), pci, "{line}");
                }
            }
        }
        assert_eq!(
            reserved_ports(Some(0x3e8), false),
            [0x2e8..0x3e8, 0x3f0..0x400]
        );
        assert_eq!(reserved_ports(Some(0x2e8), false), [0x2f0..0x400]);
        assert_eq!(
            reserved_ports(Some(0x3f8), true),
            [0x2e8..0x3f8, 0xcf8..0xd00]
        );
        assert_eq!(reserved_ports(Some(0x1000), false), [LEGACY_PORTS]);
    }

    #[test]
    fn append_comes_last() {
        let line = compose("os3", &opts(1000), Some("  quiet mint.nonce=42 ")).unwrap();
        assert!(line.starts_with("console=ttyS2 "));
        assert!(line.ends_with(
            " panic=0 softlockup_panic=1 nmi_watchdog=panic no_ipi_broadcast=1 reboot=acpi quiet mint.nonce=42"
        ));
        let o = Options {
            region: Some(region()),
            ..opts(1000)
        };
        let line = compose("os3", &o, Some("quiet -- init-arg")).unwrap();
        assert!(
            line.ends_with(" pstore.kmsg_bytes=65536 pstore.compress=none quiet -- init-arg"),
            "{line}"
        );
    }

    #[test]
    fn managed_parameters_are_refused_with_a_region() {
        let with = Options {
            region: Some(region()),
            ..opts(1000)
        };
        for (append, param) in [
            ("quiet ramoops.mem_size=0x1000", "ramoops.mem_size=0x1000"),
            ("pstore.kmsg_bytes=100", "pstore.kmsg_bytes=100"),
            ("ramoops.ecc", "ramoops.ecc"),
            ("\"ramoops.mem_type=0\" x", "\"ramoops.mem_type=0\""),
            ("a=\"b c\" pstore.backend=ramoops", "pstore.backend=ramoops"),
        ] {
            let e = compose("os2", &with, Some(append)).unwrap_err();
            assert_eq!(
                e,
                AppendError::Managed {
                    param: param.into()
                },
                "{append}"
            );
            let msg = e.to_string();
            assert!(!msg.contains('\n'));
            assert!(msg.contains("--no-console-region"), "{msg}");
            assert!(msg.starts_with(&format!("--append {param}: ")), "{msg}");
        }
        // Not parameters of the kernel: init's arguments after `--`, a word
        // inside a quoted value, a name that only contains the prefix.
        for append in [
            "-- ramoops.mem_size=1",
            "x=\"a ramoops.mem_size=1\"",
            "myramoops.x=1 xpstore.y=2",
            "ramoops=1",
        ] {
            assert!(compose("os2", &with, Some(append)).is_ok(), "{append}");
        }
        // With --no-console-region they are the user's.
        let line = compose("os2", &opts(1000), Some("ramoops.mem_size=0x1000")).unwrap();
        assert!(line.ends_with(" reboot=acpi ramoops.mem_size=0x1000"));
    }

    #[test]
    fn console_ports() {
        assert_eq!(console_port("os2", false), Some(0x2f8));
        assert_eq!(console_port("os3", false), Some(0x3e8));
        assert_eq!(console_port("os4", false), Some(0x2e8));
        assert_eq!(console_port("os5", false), None, "ttyS4 has no legacy port");
        assert_eq!(console_port("os1", false), Some(0x3f8));
        assert_eq!(console_port("host", false), None);
        assert_eq!(console_line("os7"), Some(6));
        assert_eq!(uart("os3", false), Some((2, 0x3e8)));
        assert_eq!(uart("os5", false), None);
    }

    #[test]
    fn quoted_words() {
        assert_eq!(
            kernel_params(" a  b=\"c d\" \"e f\"=g -- h"),
            ["a", "b=\"c d\"", "\"e f\"=g"]
        );
        assert_eq!(kernel_params(""), Vec::<&str>::new());
        assert_eq!(kernel_params("x\ty\n"), ["x", "y"]);
    }

    #[test]
    fn unknown_tsc_is_left_out() {
        assert!(!compose("os2", &opts(0), None)
            .unwrap()
            .contains("tsc_early_khz"));
    }
}
