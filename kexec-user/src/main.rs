//! `mint-kexec`: load a Linux bzImage into a mint partition.

use clap::Parser;

/// Load a Linux kernel into a mint partition, the way kexec loads one for a reboot.
#[derive(Parser, Debug)]
#[command(name = "mint-kexec", version, about, long_about = None)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
