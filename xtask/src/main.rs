//! `cargo xtask`: mint's developer tasks.
//!
//! - `setup`: install the toolchain and build the kernel (cached, idempotent)
//! - `build`: build mint.ko, mint-kexec and the initramfs images into `out/`
//! - `test`:  host unit tests, then the QEMU scenarios, on the normal and
//!   the debug kernel
//! - `demo`:  boot the host in QEMU and show what mint does
//! - `fuzz`:  fuzz the parsers of untrusted bytes (cargo-fuzz, `fuzz/`)

mod bench;
mod boot_log;
mod build;
mod cmd;
mod cpio;
mod demo;
mod fuzz;
mod paths;
mod qemu;
mod scenarios;
mod setup;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

use paths::Kernel;
use qemu::Profile;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "mint developer tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install packages and bindgen, extract and build the kernel (cached).
    Setup {
        /// Which kernel(s) to configure and build.
        #[arg(long, value_enum, default_value_t = KernelChoice::Normal)]
        kernel: KernelChoice,
    },
    /// Setup, then build out/bzImage, out/mint.ko, out/mint-kexec and the
    /// initramfs images (for the debug kernel: the same in out/debug/).
    Build {
        /// Which kernel(s) to build the artifacts for.
        #[arg(long, value_enum, default_value_t = KernelChoice::Normal)]
        kernel: KernelChoice,
    },
    /// Build, then run the host unit tests and the QEMU scenarios, on the
    /// normal kernel and then on the debug kernel.
    Test {
        /// Only run scenarios whose name contains this string.
        #[arg(long)]
        scenario: Option<String>,
        /// Skip `cargo test` of the host crates.
        #[arg(long)]
        no_unit: bool,
        /// Which kernel(s) to run the scenarios on.
        #[arg(long, value_enum, default_value_t = KernelChoice::Both)]
        kernel: KernelChoice,
        /// Only the debug kernel (lockdep, atomic-sleep and kobject-release
        /// checks): the same as `--kernel debug`.
        #[arg(long, conflicts_with = "kernel")]
        debug_kernel: bool,
        /// Which host platform(s): `pc` (xAPIC), `q35` (PCI Express, xAPIC,
        /// no IOMMU; only the scenarios that need it), `x2apic` (q35 with an
        /// interrupt-remapping IOMMU, host in x2APIC mode), or `both` (all).
        #[arg(long, value_enum, default_value_t = ProfileChoice::Both)]
        profile: ProfileChoice,
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
    /// Build, then fuzz every parser of untrusted bytes with cargo-fuzz
    /// (libFuzzer), one target after the other (see fuzz/).
    Fuzz(fuzz::FuzzArgs),
    /// Print the kernel build directory (KDIR) that setup prepared.
    Kdir {
        /// Print the debug kernel's instead.
        #[arg(long)]
        debug_kernel: bool,
    },
}

/// `--kernel`: the normal kernel, the debug kernel, or both (in that order).
#[derive(Clone, Copy, ValueEnum)]
enum KernelChoice {
    Normal,
    Debug,
    Both,
}

impl KernelChoice {
    fn kernels(self) -> &'static [Kernel] {
        match self {
            KernelChoice::Normal => &[Kernel::Normal],
            KernelChoice::Debug => &[Kernel::Debug],
            KernelChoice::Both => &[Kernel::Normal, Kernel::Debug],
        }
    }
}

/// `--profile`: the host platform(s) the scenarios run on.
#[derive(Clone, Copy, ValueEnum)]
enum ProfileChoice {
    Pc,
    Q35,
    X2apic,
    /// Every profile (the name predates the third).
    Both,
}

impl ProfileChoice {
    fn profiles(self) -> &'static [Profile] {
        match self {
            ProfileChoice::Pc => &[Profile::Pc],
            ProfileChoice::X2apic => &[Profile::X2apic],
            ProfileChoice::Q35 => &[Profile::Q35],
            ProfileChoice::Both => &Profile::ALL,
        }
    }
}

fn main() {
    if let Err(err) = run() {
        eprintln!("xtask: error: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    match Cli::parse().task {
        Task::Setup { kernel } => {
            let tools = setup::tools()?;
            for k in kernel.kernels() {
                setup::kernel(&tools, *k)?;
            }
            Ok(())
        }
        Task::Build { kernel } => {
            let tools = setup::tools()?;
            for k in kernel.kernels() {
                build::build(&setup::kernel(&tools, *k)?)?;
            }
            Ok(())
        }
        Task::Test {
            scenario,
            no_unit,
            kernel,
            debug_kernel,
            profile,
        } => {
            let kernel = if debug_kernel {
                KernelChoice::Debug
            } else {
                kernel
            };
            scenarios::test(
                kernel.kernels(),
                profile.profiles(),
                scenario.as_deref(),
                !no_unit,
            )
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
        Task::Fuzz(args) => fuzz::fuzz(&args),
        Task::Kdir { debug_kernel } => {
            let kernel = if debug_kernel {
                Kernel::Debug
            } else {
                Kernel::Normal
            };
            println!("{}", setup::current_kdir(kernel)?.display());
            Ok(())
        }
    }
}
