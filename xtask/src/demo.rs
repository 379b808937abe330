//! `cargo xtask demo`: boot the host in QEMU, run the demo script, and show
//! the consoles live, labelled by port. Ends on its own.

use std::time::Duration;

use anyhow::Result;

use crate::build::Artifacts;
use crate::paths;
use crate::qemu::Qemu;
use crate::scenarios::os2_machine;

pub fn demo(artifacts: &Artifacts) -> Result<()> {
    let mut machine = os2_machine();
    machine.cpus = 3;
    machine.append = "memmap=256M$0x20000000 memmap=256M$0x30000000 mint.scenario=demo".into();
    let log_dir = paths::out().join("demo-logs");
    println!(
        "demo: booting the host in QEMU (TCG, -smp {}); its console follows from the demo's \
         first step (the host's own boot log is in {}), with os2's marker and first heartbeat \
         from its serial port",
        machine.cpus,
        log_dir.display()
    );
    let mut qemu = Qemu::boot(artifacts, &machine, &log_dir)?;
    let mut started = false;
    qemu.follow(Duration::from_secs(240), |port, text| {
        for line in text.lines().map(|l| l.trim_end_matches('\r')) {
            match port {
                0 => {
                    started |= line.starts_with("### ");
                    if started {
                        println!("[host] {line}");
                    }
                }
                // os2's own UART: its init's marker and first heartbeat, not
                // its kernel's boot log.
                1 if line.contains("MINT-PARTITION-UP") || line.contains("] heartbeat 1 ") => {
                    println!("[os2 ttyS1] {line}");
                }
                _ => {}
            }
        }
        false
    })?;
    println!("demo: done; logs in {}", log_dir.display());
    Ok(())
}
