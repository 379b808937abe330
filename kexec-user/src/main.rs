//! `mint-kexec`: load a Linux bzImage into a mint partition, the way kexec
//! loads one for a reboot; the module boots it on `echo start > .../state`.

use std::borrow::Cow;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use mint_kexec::assemble::{assemble, Entry, Inputs, Partition};
use mint_kexec::bzimage::BzImage;
use mint_kexec::sysfs::{self, PartitionDir};
use mint_kexec::{cmdline, initrd, kexec, vmlinux};
use mint_logic::{cpulist, memrange, name};

/// Load a Linux kernel into a mint partition (a kernel of its own on CPUs and
/// memory taken from this host), like kexec loads one for a reboot.
#[derive(Parser, Debug)]
#[command(name = "mint-kexec", version, about, long_about = None)]
struct Cli {
    /// The module's sysfs directory.
    #[arg(long, default_value = sysfs::ROOT, hide = true)]
    sysfs: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Load IMAGE into PARTITION; start it with `echo start > /sys/kernel/mint/PARTITION/state`.
    Load(LoadArgs),
    /// Show partitions as the module reports them.
    Status {
        /// Only this partition.
        partition: Option<String>,
    },
    /// Print the default command line mint gives PARTITION.
    Defaults {
        /// Partition name (osN).
        partition: String,
    },
    /// Plain kexec of the whole machine (kexec_file_load + reboot), the
    /// baseline `cargo xtask bench` compares a partition start with.
    Kexec {
        /// The kernel to reboot into.
        image: PathBuf,
        /// Its initial ramdisk.
        #[arg(long)]
        initrd: Option<PathBuf>,
        /// Its full command line.
        #[arg(long, visible_alias = "command-line", default_value = "")]
        append: String,
    },
}

fn parse_addr(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("{s:?} is not an address (decimal or 0x-hex)"))
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Load(args) => load(&cli.sysfs, &args),
        Cmd::Status { partition } => status(&cli.sysfs, partition.as_deref()),
        Cmd::Defaults { partition } => defaults(&cli.sysfs, &partition),
        Cmd::Kexec {
            image,
            initrd,
            append,
        } => kexec::reboot_into(&image, initrd.as_deref(), &append),
    };
    if let Err(e) = result {
        eprintln!("mint-kexec: {e:#}");
        std::process::exit(1);
    }
}

/// The arguments of `mint-kexec load`.
#[derive(clap::Args, Debug)]
struct LoadArgs {
    /// Partition name (osN), created with `echo osN > /sys/kernel/mint/create`.
    partition: String,
    /// The kernel (bzImage; the host's own image works).
    image: PathBuf,
    /// Initial ramdisk for the partition.
    #[arg(long)]
    initrd: Option<PathBuf>,
    /// Parameters added after mint's defaults (see `mint-kexec defaults`).
    #[arg(long, visible_alias = "command-line")]
    append: Option<String>,
    /// Assign these CPUs first (cpulist, e.g. 1 or 1-2); same as writing `cpus`.
    #[arg(long)]
    cpus: Option<String>,
    /// Assign this memory window first (SIZE@START, e.g. 256M@0x20000000); same as writing `memory`.
    #[arg(long)]
    mem: Option<String>,
    /// Lowest address to load anything at, inside the window (as kexec's --mem-min).
    #[arg(long, value_parser = parse_addr)]
    mem_min: Option<u64>,
    /// Decompress the kernel here and enter it in 64-bit mode: faster partition boot, no KASLR.
    #[arg(long)]
    decompress: bool,
    /// Inflate the initrd's gzip parts here, so the partition only unpacks cpio
    /// (faster boot; the window holds the larger, inflated initrd). Other
    /// compressions are left to the partition's kernel.
    #[arg(long)]
    decompress_initrd: bool,
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

fn tsc_khz(root: &Path) -> u32 {
    sysfs::read_value(&root.join("tsc_khz"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn load(root: &Path, a: &LoadArgs) -> Result<()> {
    let name = name::parse_name(&a.partition).map_err(|e| anyhow::anyhow!("{e}"))?;
    // Check every input before touching the partition.
    let kernel = read_file(&a.image, "kernel image")?;
    let image = BzImage::parse(&kernel).with_context(|| format!("{}", a.image.display()))?;
    let decompressed = if a.decompress {
        Some(vmlinux::decompress(&image).with_context(|| format!("{}", a.image.display()))?)
    } else {
        None
    };
    let initrd_file = a
        .initrd
        .as_deref()
        .map(|p| read_file(p, "initrd"))
        .transpose()?;
    let initrd = match (&initrd_file, a.decompress_initrd) {
        (Some(data), true) => {
            let (data, kept) = initrd::decompress_or_keep(data);
            if let Some(why) = kept {
                eprintln!("mint-kexec: --decompress-initrd: initrd left as it is: {why}");
            }
            Some(data)
        }
        (Some(data), false) => Some(Cow::Borrowed(&data[..])),
        (None, _) => None,
    };
    if let Some(c) = &a.cpus {
        cpulist::parse(c).map_err(|e| anyhow::anyhow!("--cpus {c:?}: {e}"))?;
    }
    let requested_window = match &a.mem {
        Some(m) => Some(memrange::parse(m).map_err(|e| anyhow::anyhow!("--mem {m:?}: {e}"))?),
        None => None,
    };
    let ioports = fs::read_to_string("/proc/ioports").unwrap_or_default();
    let pm_timer_port = sysfs::pm_timer_port(&ioports)
        .context("the host has no ACPI PM timer in /proc/ioports (mint needs ACPI on the host)")?;
    let dir = PartitionDir::open(root, name)?;
    let line = cmdline::compose(name, tsc_khz(root), a.append.as_deref());

    // When --cpus/--mem are about to be written, first a dry run with the
    // requested (or current) window: a window too small is reported before
    // anything changes. Otherwise the one real assembly below reports it.
    let current_window = || -> Result<memrange::MemRange> {
        let v = dir.read("memory")?;
        if v.is_empty() {
            bail!(
                "{name} has no memory: pass --mem SIZE@START or write {}/memory",
                dir.dir.display()
            );
        }
        memrange::parse(&v).map_err(|e| anyhow::anyhow!("module reports memory {v:?}: {e}"))
    };
    let low_ram = sysfs::parse_lowmem(&dir.read("lowmem")?).context("module reports no lowmem")?;
    let inputs = Inputs {
        kernel: &kernel,
        initrd: initrd.as_deref(),
        cmdline: &line,
        mem_min: a.mem_min,
        console_uart: cmdline::console_port(name),
        entry: if a.decompress {
            Entry::Decompressed64
        } else {
            Entry::Protected32
        },
        decompressed: decompressed.as_deref(),
    };
    if a.cpus.is_some() || a.mem.is_some() {
        let window = match requested_window {
            Some(w) => w,
            None => current_window()?,
        };
        let probe = Partition {
            window,
            low_ram: low_ram.clone(),
            apic_ids: vec![0xfd],
            pm_timer_port,
        };
        assemble(&probe, &inputs)?;
    }

    if let Some(c) = &a.cpus {
        dir.write("cpus", c)?;
    }
    if let Some(m) = &a.mem {
        dir.write("memory", m)?;
    }
    let apic_ids = sysfs::parse_apic_ids(&dir.read("apic_ids")?).unwrap_or_default();
    if apic_ids.is_empty() {
        bail!(
            "{name} has no CPUs: pass --cpus LIST or write {}/cpus",
            dir.dir.display()
        );
    }
    let p = Partition {
        window: current_window()?,
        low_ram,
        apic_ids,
        pm_timer_port,
    };
    let assembled = assemble(&p, &inputs)?;
    dir.write_load(&assembled.blob)?;

    let plan = &assembled.plan;
    println!(
        "{name}: loaded {} ({} bytes)",
        a.image.display(),
        kernel.len()
    );
    println!("  window    {}", p.window);
    println!(
        "  kernel    {:#x}-{:#x}, {} bytes loaded (entry {:#x})",
        plan.kernel.start,
        plan.kernel.end - 1,
        assembled.kernel_bytes,
        assembled.entry
    );
    println!("  entry     {}", assembled.entry_kind);
    if let Some((len, loads)) = assembled.decompressed {
        println!("            decompressed {len} bytes, {loads} PT_LOAD segments");
    }
    if let Some(pt) = assembled.page_table {
        println!("            identity page tables (CR3) {pt:#x}");
    }
    println!(
        "  zero page {:#x}, ACPI RSDP {:#x}",
        plan.zero_page, assembled.rsdp
    );
    println!(
        "  status    {:#x} (the FADT's reset and sleep registers)",
        assembled.status_page
    );
    if let (Some(r), Some(data)) = (&plan.initrd, &initrd) {
        let how = match (&initrd_file, data) {
            (Some(file), Cow::Owned(_)) => format!(", inflated here from {} bytes", file.len()),
            _ => String::new(),
        };
        println!(
            "  initrd    {:#x}-{:#x}, {} bytes{how}",
            r.start,
            r.end - 1,
            data.len()
        );
    }
    println!("  cmdline   {line}");
    println!("start it with: echo start > {}/state", dir.dir.display());
    Ok(())
}

fn status(root: &Path, only: Option<&str>) -> Result<()> {
    sysfs::require_module(root)?;
    let list = sysfs::read_value(&root.join("partitions"))?;
    let names: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    if let Some(o) = only {
        if !names.contains(&o) {
            bail!("no partition {o}");
        }
    }
    if names.is_empty() {
        println!("no partitions");
    }
    for n in names.into_iter().filter(|n| only.is_none_or(|o| o == *n)) {
        let dir = PartitionDir::open(root, n)?;
        println!("{n}:");
        for f in ["state", "cpus", "apic_ids", "memory", "lowmem", "cmdline"] {
            let v = dir.read(f).unwrap_or_else(|e| format!("({e})"));
            println!("  {f:<9} {v}");
        }
    }
    Ok(())
}

fn defaults(root: &Path, partition: &str) -> Result<()> {
    let name = name::parse_name(partition).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", cmdline::compose(name, tsc_khz(root), None));
    Ok(())
}
