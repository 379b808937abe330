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
    machine.append.push_str(" mint.scenario=demo");
    let log_dir = paths::out().join("demo-logs");
    println!(
        "demo: booting the host in QEMU (TCG, -smp {}); consoles follow",
        machine.cpus
    );
    let mut qemu = Qemu::boot(artifacts, &machine, &log_dir)?;
    let labels = ["host ttyS0", "os2  ttyS1"];
    qemu.follow(Duration::from_secs(180), |port, text| {
        for line in text.lines() {
            println!(
                "[{}] {}",
                labels.get(port).unwrap_or(&"?"),
                line.trim_end_matches('\r')
            );
        }
        false
    })?;
    println!("demo: done; logs in {}", log_dir.display());
    Ok(())
}
