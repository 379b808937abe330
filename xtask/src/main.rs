//! `cargo xtask`: mint's developer tasks.
//!
//! - `setup`: install the toolchain and build the kernel (cached, idempotent)
//! - `build`: build mint.ko, mint-kexec and the initramfs images into `out/`
//! - `test`:  host unit tests, then the QEMU scenarios
//! - `demo`:  boot the host in QEMU and show what mint does

mod bench;
mod boot_log;
mod build;
mod cmd;
mod cpio;
mod demo;
mod paths;
mod qemu;
mod scenarios;
mod setup;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "mint developer tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install packages and bindgen, extract and build the kernel (cached).
    Setup,
    /// Setup, then build out/bzImage, out/mint.ko, out/mint-kexec and the initramfs images.
    Build,
    /// Build, then run the host unit tests and the QEMU scenarios.
    Test {
        /// Only run scenarios whose name contains this string.
        #[arg(long)]
        scenario: Option<String>,
        /// Skip `cargo test` of the host crates.
        #[arg(long)]
        no_unit: bool,
    },
    /// Build, then boot the host in QEMU and show mint at work.
    Demo,
    /// Build, then run N load/start/verify/stop cycles and check for leaks.
    Soak {
        /// Number of cycles.
        #[arg(long, default_value_t = 100)]
        cycles: u32,
    },
    /// Build, then measure boot times and throughput (not a test).
    Bench {
        /// Runs of each boot kind (at least 5).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Accelerator: `auto` uses KVM where a probe boot shows it works, else TCG.
        #[arg(long, value_enum, default_value_t = bench::AccelChoice::Auto)]
        accel: bench::AccelChoice,
    },
    /// Print the kernel build directory (KDIR) that setup prepared.
    Kdir,
}

fn main() {
    if let Err(err) = run() {
        eprintln!("xtask: error: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    match Cli::parse().task {
        Task::Setup => setup::setup().map(|_| ()),
        Task::Build => {
            let tc = setup::setup()?;
            build::build(&tc).map(|_| ())
        }
        Task::Test { scenario, no_unit } => {
            let tc = setup::setup()?;
            let artifacts = build::build(&tc)?;
            scenarios::run_all(&artifacts, scenario.as_deref(), !no_unit)
        }
        Task::Demo => {
            let tc = setup::setup()?;
            let artifacts = build::build(&tc)?;
            demo::demo(&artifacts)
        }
        Task::Soak { cycles } => {
            let tc = setup::setup()?;
            let artifacts = build::build(&tc)?;
            scenarios::soak(&artifacts, cycles)
        }
        Task::Bench { runs, accel } => {
            let tc = setup::setup()?;
            let artifacts = build::build(&tc)?;
            bench::bench(&artifacts, runs, accel)
        }
        Task::Kdir => {
            println!("{}", setup::current_kdir()?.display());
            Ok(())
        }
    }
}
