//! The partition's kernel command line: safe defaults plus the user's `--append`.
//!
//! The partition boots the host's own bzImage on a machine whose devices the
//! host owns. Each default keeps it off a piece of shared hardware, using only
//! standard kernel parameters (the partition's own ACPI tables, handed over in
//! boot_params, do the rest: they list only its CPUs, no IOAPIC, no HPET):
//!
//! | parameter | why |
//! |---|---|
//! | `console=ttySN` | its console is its own UART (osN gets ttyS(N-1)), not the host's ttyS0 |
//! | `noapic` | never program the IOAPIC, which routes the host's device interrupts (the firmware MP table still lists it) |
//! | `acpi=noirq` | never reroute legacy interrupts (ELCR, PIC routing) the host relies on |
//! | `pci=off` | never scan or configure PCI devices through the shared config space |
//! | `tsc_early_khz=K` | the partition's TSC frequency is the host's measured value, not its own estimate from the shared legacy timers (its kernel still reads PIT channel 2 once, early, for `cpu_khz`) |
//! | `reserve=0x3f8,8,...` | the other legacy UARTs (the host's console ttyS0, other partitions' consoles) are marked busy, so the partition's serial driver never probes their registers |
//! | `panic=0` | a panicking partition halts instead of rebooting, which would reset the whole machine |
//! | `no_ipi_broadcast=1` | a multi-CPU partition's kernel otherwise switches to "all but self" shorthand IPIs once all its CPUs are up, and its panic, reboot and poweroff path (`native_stop_other_cpus`) would then stop every CPU of the machine, the host's included; with it, every IPI goes to the partition's own APIC IDs |
//! | `reboot=acpi` | a reboot writes the partition's own FADT reset register (its status page, which the host watches) first; without it, reboot quirks matched against the machine's DMI data (shared with the host) could send the partition's kernel straight to the keyboard controller or port 0xcf9, which reset the whole machine |
//!
//! `nmi_watchdog=0` is not among them: the parameter exists only in kernels
//! built with `CONFIG_HARDLOCKUP_DETECTOR`, which `qemu/kernel.config`
//! leaves out (a kernel without it would hand the unknown parameter to init
//! as an environment variable).
//!
//! The user's `--append` comes last, so it can add to or override these.
//!
//! The console UART is also described in the partition's DSDT (see
//! [`console_port`] and `acpi.rs`), without an interrupt, so that the
//! partition's kernel polls it and its tty works.

/// I/O bases of the legacy PC serial ports ttyS0..ttyS3 (COM1..COM4), as the
/// kernel's built-in x86 table (`SERIAL_PORT_DFNS`) lists them.
pub const LEGACY_UART_PORTS: [u16; 4] = [0x3f8, 0x2f8, 0x3e8, 0x2e8];

/// The console line of partition `name`: osN gets ttyS(N-1).
pub fn console_line(name: &str) -> Option<u32> {
    let n = name.strip_prefix("os")?.parse::<u32>().ok()?;
    Some(n.saturating_sub(1))
}

/// I/O base of partition `name`'s console UART (os2 -> ttyS1 -> 0x2f8), or
/// `None` if its line has no legacy port (os5 and up).
pub fn console_port(name: &str) -> Option<u16> {
    let line = usize::try_from(console_line(name)?).ok()?;
    LEGACY_UART_PORTS.get(line).copied()
}

/// The default parameters for partition `name` (`osN`) on a host whose TSC
/// runs at `tsc_khz`.
pub fn defaults(name: &str, tsc_khz: u32) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(line) = console_line(name) {
        args.push(format!("console=ttyS{line}"));
    }
    args.extend(["noapic", "acpi=noirq", "pci=off"].map(String::from));
    if tsc_khz > 0 {
        args.push(format!("tsc_early_khz={tsc_khz}"));
    }
    let own = console_port(name);
    let others: Vec<String> = LEGACY_UART_PORTS
        .iter()
        .filter(|p| Some(**p) != own)
        .map(|p| format!("{p:#x},8"))
        .collect();
    args.push(format!("reserve={}", others.join(",")));
    args.push("panic=0".into());
    args.push("no_ipi_broadcast=1".into());
    args.push("reboot=acpi".into());
    args
}

/// The full command line: defaults, then the user's additions.
pub fn compose(name: &str, tsc_khz: u32, append: Option<&str>) -> String {
    let mut line = defaults(name, tsc_khz).join(" ");
    if let Some(extra) = append.map(str::trim).filter(|e| !e.is_empty()) {
        line.push(' ');
        line.push_str(extra);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_for_os2() {
        assert_eq!(
            compose("os2", 2_500_000, None),
            "console=ttyS1 noapic acpi=noirq pci=off tsc_early_khz=2500000 \
             reserve=0x3f8,8,0x3e8,8,0x2e8,8 panic=0 no_ipi_broadcast=1 reboot=acpi"
        );
    }

    #[test]
    fn append_comes_last() {
        let line = compose("os3", 1000, Some("  quiet mint.nonce=42 "));
        assert!(line.starts_with("console=ttyS2 "));
        assert!(line.ends_with(" panic=0 no_ipi_broadcast=1 reboot=acpi quiet mint.nonce=42"));
    }

    #[test]
    fn console_ports() {
        assert_eq!(console_port("os2"), Some(0x2f8));
        assert_eq!(console_port("os3"), Some(0x3e8));
        assert_eq!(console_port("os4"), Some(0x2e8));
        assert_eq!(console_port("os5"), None, "ttyS4 has no legacy port");
        assert_eq!(console_port("os1"), Some(0x3f8));
        assert_eq!(console_port("host"), None);
        assert_eq!(console_line("os7"), Some(6));
        assert!(compose("os7", 0, None).starts_with("console=ttyS6 "));
    }

    #[test]
    fn unknown_tsc_is_left_out() {
        assert!(!compose("os2", 0, None).contains("tsc_early_khz"));
    }
}
