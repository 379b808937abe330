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
//! | `tsc_early_khz=K` | the host's TSC frequency: a hardware-reduced partition has no legacy timer to calibrate against, and calibrating on the shared PIT would race the host |
//! | `panic=0` | a panicking partition halts instead of rebooting, which would reset the whole machine |
//!
//! The user's `--append` comes last, so it can add to or override these.

/// The default parameters for partition `name` (`osN`) on a host whose TSC
/// runs at `tsc_khz`.
pub fn defaults(name: &str, tsc_khz: u32) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(n) = name.strip_prefix("os").and_then(|n| n.parse::<u32>().ok()) {
        args.push(format!("console=ttyS{}", n.saturating_sub(1)));
    }
    args.extend(["noapic", "acpi=noirq", "pci=off"].map(String::from));
    if tsc_khz > 0 {
        args.push(format!("tsc_early_khz={tsc_khz}"));
    }
    args.push("panic=0".into());
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
            "console=ttyS1 noapic acpi=noirq pci=off tsc_early_khz=2500000 panic=0"
        );
    }

    #[test]
    fn append_comes_last() {
        let line = compose("os3", 1000, Some("  quiet mint.nonce=42 "));
        assert!(line.starts_with("console=ttyS2 "));
        assert!(line.ends_with(" panic=0 quiet mint.nonce=42"));
    }

    #[test]
    fn unknown_tsc_is_left_out() {
        assert!(!compose("os2", 0, None).contains("tsc_early_khz"));
    }
}
