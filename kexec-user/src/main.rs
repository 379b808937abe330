//! `mint-kexec`: load a Linux bzImage into a mint partition, the way kexec
//! loads one for a reboot; the module boots it on `echo start > .../state`.

use std::borrow::Cow;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use mint_kexec::assemble::{assemble, Entry, Inputs, Partition};
use mint_kexec::bzimage::BzImage;
use mint_kexec::console::{self, Follower, PartitionStatus};
use mint_kexec::pci::{self, Bdf, PciBus};
use mint_kexec::sysfs::{self, PartitionDir};
use mint_kexec::{cmdline, initrd, kexec, plan, vmlinux};
use mint_logic::memlist::{self, RangeList};
use mint_logic::ramoops::Layout;
use mint_logic::{cpulist, name};
use serde::Serialize;

/// Load a Linux kernel into a mint partition (a kernel of its own on CPUs and
/// memory taken from this host), like kexec loads one for a reboot.
#[derive(Parser, Debug)]
#[command(name = "mint-kexec", version, about, long_about = None)]
struct Cli {
    /// The module's sysfs directory.
    #[arg(long, default_value = sysfs::ROOT, hide = true)]
    sysfs: PathBuf,
    /// The host's sysfs, for its PCI devices and ACPI tables.
    #[arg(long, default_value = "/sys", hide = true)]
    host_sys: PathBuf,
    /// The host's /proc/ioports, for its ACPI PM timer.
    #[arg(long, default_value = "/proc/ioports", hide = true)]
    ioports: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Load IMAGE into PARTITION; start it with `echo start > /sys/kernel/mint/PARTITION/state`.
    Load(LoadArgs),
    /// Give PCI functions to PARTITION: unbind each from its host driver, then add them to
    /// the partition's `devices` (load the partition afterwards: its ACPI tables describe them).
    Assign {
        /// Partition name (osN).
        partition: String,
        /// The functions, as `lspci -D` names them (DDDD:BB:DD.F, or BB:DD.F for segment 0).
        #[arg(required = true, value_name = "BDF")]
        functions: Vec<String>,
    },
    /// Take PCI functions back from PARTITION (all of them if none is named): the module
    /// resets each and hands it back to the host's drivers.
    Release {
        /// Partition name (osN).
        partition: String,
        /// The functions (DDDD:BB:DD.F or BB:DD.F); none: every function it owns.
        #[arg(value_name = "BDF")]
        functions: Vec<String>,
    },
    /// Show partitions as the module reports them, with their console and crash records.
    Status {
        /// Only this partition.
        partition: Option<String>,
        /// Print one JSON object (schema: docs/sysfs-abi.md, "mint-kexec status --json").
        #[arg(long)]
        json: bool,
    },
    /// Print PARTITION's console (the kernel log its kernel keeps in its console region).
    Console {
        /// Partition name (osN).
        partition: String,
        /// Keep printing new text as it arrives, until the partition no
        /// longer starts or runs (or Ctrl-C).
        #[arg(long, short = 'f')]
        follow: bool,
        /// Print its crash record instead (the oops or panic it recorded).
        #[arg(long, conflicts_with = "follow")]
        crash: bool,
    },
    /// Print the default command line mint gives PARTITION.
    Defaults {
        /// Partition name (osN).
        partition: String,
        /// The memory the ramoops.* parameters are for (SIZE@START items,
        /// comma-separated); default: the partition's `memory`, if it exists and
        /// has some.
        #[arg(long)]
        mem: Option<String>,
        /// As for a partition that owns PCI functions (default: whether its `devices`
        /// lists any).
        #[arg(long)]
        with_devices: bool,
        #[command(flatten)]
        console: ConsoleArgs,
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

/// `--console-size`: a size with an optional K/M/G suffix (or 0x-hex bytes)
/// that ramoops lays out (4 KiB multiple, 64 KiB to 1 GiB).
fn parse_console_size(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let value = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) if unit == 1 => u64::from_str_radix(hex, 16).ok(),
        Some(_) => None,
        None => digits.parse::<u64>().ok(),
    };
    let size = value
        .and_then(|v| v.checked_mul(unit))
        .ok_or_else(|| format!("{s:?} is not a size (bytes, or a number with K, M or G)"))?;
    // Any 4 KiB aligned base will do: only the size is checked here.
    Layout::for_region(0x1000, size).map_err(|e| e.to_string())?;
    Ok(size)
}

/// The console options of `load` and `defaults`.
#[derive(clap::Args, Debug, Clone)]
struct ConsoleArgs {
    /// No UART for the partition, even for os2..os4 (no console=ttyS…, 8250.nr_uarts=0,
    /// none in its DSDT): its console is only its console region.
    #[arg(long)]
    no_uart: bool,
    /// Size of the console region (ramoops: console ring and crash records) at the top
    /// of the highest memory range larger than it: 4 KiB multiple, 64K to 1G.
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_console_size)]
    console_size: u64,
    /// No console region: no ramoops.* parameters, all of the memory is RAM, and the
    /// host's `console` and `crash` files stay empty.
    #[arg(long, conflicts_with = "console_size")]
    no_console_region: bool,
}

impl ConsoleArgs {
    /// The region's size, `None` for none.
    fn region_size(&self) -> Option<u64> {
        (!self.no_console_region).then_some(self.console_size)
    }

    /// The command line options for `memory` (`None`: not known, so no
    /// ramoops parameters), for a partition with PCI functions if `pci`.
    fn options(
        &self,
        tsc_khz: u32,
        memory: Option<&RangeList>,
        pci: bool,
    ) -> Result<cmdline::Options> {
        let region = match (memory, self.region_size()) {
            (Some(m), Some(size)) => plan::console_layout(m, size)?,
            _ => None,
        };
        Ok(cmdline::Options {
            tsc_khz,
            no_uart: self.no_uart,
            region,
            pci,
        })
    }
}

/// Where the host's own files are (the hidden `--host-sys` and `--ioports`).
struct Host {
    /// Its sysfs (`/sys`).
    sys: PathBuf,
    /// Its `/proc/ioports`.
    ioports: PathBuf,
}

fn main() {
    let cli = Cli::parse();
    let host = Host {
        sys: cli.host_sys,
        ioports: cli.ioports,
    };
    let result = match cli.command {
        Cmd::Load(args) => load(&cli.sysfs, &host, &args),
        Cmd::Assign {
            partition,
            functions,
        } => assign(&cli.sysfs, &host, &partition, &functions),
        Cmd::Release {
            partition,
            functions,
        } => release(&cli.sysfs, &partition, &functions),
        Cmd::Status { partition, json } => status(&cli.sysfs, partition.as_deref(), json),
        Cmd::Console {
            partition,
            follow,
            crash,
        } => show_console(&cli.sysfs, &partition, follow, crash),
        Cmd::Defaults {
            partition,
            mem,
            with_devices,
            console,
        } => defaults(
            &cli.sysfs,
            &partition,
            mem.as_deref(),
            with_devices,
            &console,
        ),
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
    /// Assign this memory first: up to 8 comma-separated items, SIZE (carved from the host's
    /// RAM) or SIZE@START (e.g. 2G, or 256M@0x20000000,1G); same as writing `memory`.
    #[arg(long)]
    mem: Option<String>,
    /// Lowest address to load anything at, inside one of the memory ranges (as kexec's
    /// --mem-min).
    #[arg(long, value_parser = parse_addr)]
    mem_min: Option<u64>,
    /// Decompress the kernel here and enter it in 64-bit mode: faster partition boot, no KASLR.
    #[arg(long)]
    decompress: bool,
    /// Inflate the initrd's gzip parts here, so the partition only unpacks cpio
    /// (faster boot; the partition's memory holds the larger, inflated initrd). Other
    /// compressions are left to the partition's kernel.
    #[arg(long)]
    decompress_initrd: bool,
    #[command(flatten)]
    console: ConsoleArgs,
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

fn load(root: &Path, host: &Host, a: &LoadArgs) -> Result<()> {
    let name = name::parse_name(&a.partition).map_err(|e| anyhow::anyhow!("{e}"))?;
    // Check every input before touching the partition.
    cmdline::check_append(a.append.as_deref(), a.console.region_size().is_some())?;
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
    let requested_memory = match &a.mem {
        Some(m) => {
            Some(memlist::parse_request(m).map_err(|e| anyhow::anyhow!("--mem {m:?}: {e}"))?)
        }
        None => None,
    };
    let ioports = fs::read_to_string(&host.ioports).unwrap_or_default();
    let pm_timer_port = sysfs::pm_timer_port(&ioports).with_context(|| {
        format!(
            "the host has no ACPI PM timer in {} (mint needs ACPI on the host)",
            host.ioports.display()
        )
    })?;
    let dir = PartitionDir::open(root, name)?;
    // The PCI functions it owns; a module without a `devices` file gives
    // none.
    let devices = dir.devices()?.unwrap_or_default();
    let pci_buses = pci::pci_buses(&host.sys, &devices).with_context(|| {
        format!(
            "{name} owns PCI functions {}",
            pci::format_devices(&devices).trim_end()
        )
    })?;
    let tsc = tsc_khz(root);
    // The command line for the partition's memory: the console region's
    // parameters depend on where its ranges lie.
    let has_pci = !pci_buses.is_empty();
    let line_for = |m: &RangeList| -> Result<String> {
        let opts = a.console.options(tsc, Some(m), has_pci)?;
        Ok(cmdline::compose(name, &opts, a.append.as_deref())?)
    };

    // When --cpus/--mem are about to be written, first a dry run with the
    // requested (or current) memory: memory too small is reported before
    // anything changes. Otherwise the one real assembly below reports it.
    let current_memory = || -> Result<RangeList> {
        let v = dir.read("memory")?;
        if v.is_empty() {
            bail!(
                "{name} has no memory: pass --mem SIZE[@START][,...] or write {}/memory",
                dir.dir.display()
            );
        }
        memlist::parse_ranges(&v).map_err(|e| anyhow::anyhow!("module reports memory {v:?}: {e}"))
    };
    let low_ram = sysfs::parse_lowmem(&dir.read("lowmem")?).context("module reports no lowmem")?;
    // Both command lines (the dry run's and the real one) live to the end.
    let probe_line: String;
    let inputs = |line| Inputs {
        kernel: &kernel,
        initrd: initrd.as_deref(),
        cmdline: line,
        mem_min: a.mem_min,
        console_uart: cmdline::console_port(name, a.console.no_uart),
        console_size: a.console.region_size(),
        entry: if a.decompress {
            Entry::Decompressed64
        } else {
            Entry::BzImage
        },
        decompressed: decompressed.as_deref(),
    };
    if a.cpus.is_some() || a.mem.is_some() {
        // Sizes to carve are placed where the module might put them: the
        // plan depends on their sizes, the command line a little on where.
        let memory = match &requested_memory {
            Some(r) => plan::dry_run_memory(r),
            None => Some(current_memory()?),
        };
        if let Some(memory) = memory {
            let probe = Partition {
                memory,
                low_ram: low_ram.clone(),
                apic_ids: vec![0xfd],
                pm_timer_port,
                pci: pci_buses.clone(),
            };
            probe_line = line_for(&memory)?;
            assemble(&probe, &inputs(&probe_line))?;
        }
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
        memory: current_memory()?,
        low_ram,
        apic_ids,
        pm_timer_port,
        pci: pci_buses,
    };
    let line = line_for(&p.memory)?;
    let assembled = assemble(&p, &inputs(&line))?;
    dir.write_load(&assembled.blob)?;

    let plan = &assembled.plan;
    println!(
        "{name}: loaded {} ({} bytes)",
        a.image.display(),
        kernel.len()
    );
    if p.memory.ranges().len() == 1 {
        println!("  memory    {}", p.memory);
    } else {
        println!(
            "  memory    {} ({} bytes; kernel, zero page and ACPI in {})",
            p.memory,
            p.memory.total(),
            plan.main
        );
    }
    println!(
        "  kernel    {:#x}-{:#x}, {} bytes loaded (entry {:#x})",
        plan.kernel.start,
        plan.kernel.end - 1,
        assembled.kernel_bytes,
        assembled.entry
    );
    println!("  entry     {}", assembled.entry_description());
    if let Some((len, loads)) = assembled.decompressed {
        println!("            decompressed {len} bytes, {loads} PT_LOAD segments");
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
    match &assembled.console {
        Some(c) => {
            let r = c.region();
            println!(
                "  console   {:#x}-{:#x} (ramoops: console {} KiB, {} crash records of {} KiB, \
                 pmsg {} KiB; e820 reserved)",
                r.start,
                r.end - 1,
                c.console_size() >> 10,
                c.records(),
                c.record_size() >> 10,
                c.pmsg_size() >> 10,
            );
        }
        None => println!("  console   none (--no-console-region)"),
    }
    match cmdline::uart(name, a.console.no_uart) {
        Some((line, port)) => println!("  uart      ttyS{line} (I/O {port:#x})"),
        None => println!("  uart      none: its console is only the console region"),
    }
    print_devices(&devices, &p.pci);
    println!("  cmdline   {line}");
    println!("start it with: echo start > {}/state", dir.dir.display());
    Ok(())
}

/// The load summary's lines about the partition's PCI functions.
fn print_devices(devices: &[Bdf], buses: &[PciBus]) {
    if devices.is_empty() {
        println!("  devices   none");
        return;
    }
    println!("  devices   {}", pci::format_devices(devices));
    let ranges = |r: Vec<(u64, u64)>| -> String {
        if r.is_empty() {
            return "none".into();
        }
        let r: Vec<String> = r
            .iter()
            .map(|(a, b)| format!("{a:#x}-{:#x}", b - 1))
            .collect();
        r.join(" ")
    };
    for b in buses {
        let mem = ranges(b.mem.iter().map(|r| (r.start, r.end)).collect());
        let io = ranges(
            b.io.iter()
                .map(|r| (u64::from(r.start), u64::from(r.end)))
                .collect(),
        );
        let ecam = b.ecam_slice().map_or_else(
            || "none".into(),
            |r| format!("{:#x}-{:#x}", r.start, r.end - 1),
        );
        println!(
            "            bus {:04x}:{:02x}: ECAM {ecam}, memory {mem}, I/O {io}",
            b.segment, b.bus
        );
    }
}

/// `assign`: unbinds each new function from its host driver, then writes
/// the partition's whole list (what it owns and the new ones) to `devices`.
fn assign(root: &Path, host: &Host, partition: &str, functions: &[String]) -> Result<()> {
    let name = name::parse_name(partition).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut wanted: Vec<Bdf> = Vec::new();
    for f in functions {
        let b = pci::parse_bdf(f)?;
        if wanted.contains(&b) {
            bail!("{b} is listed twice");
        }
        wanted.push(b);
    }
    let dir = PartitionDir::open(root, name)?;
    let file = dir.dir.join("devices");
    let current = dir.devices()?.with_context(|| {
        format!(
            "{} does not exist: this mint.ko cannot give PCI functions to a partition",
            file.display()
        )
    })?;
    let fresh: Vec<Bdf> = wanted
        .iter()
        .copied()
        .filter(|b| !current.contains(b))
        .collect();
    for b in wanted.iter().filter(|b| current.contains(b)) {
        println!("{name}: {b} is already {name}'s");
    }
    if fresh.is_empty() {
        return Ok(());
    }
    let mut all = current.clone();
    all.extend(&fresh);
    if all.len() > pci::MAX_DEVICES {
        bail!(
            "{name} would own {} PCI functions; a partition owns at most {}",
            all.len(),
            pci::MAX_DEVICES
        );
    }
    // Everything a load will need, before any host driver lets go.
    pci::pci_buses(&host.sys, &all)
        .with_context(|| format!("{name} cannot use {}", pci::format_devices(&fresh)))?;
    // The module refuses a change while the partition starts or runs:
    // leave the host's drivers alone then.
    let state = dir.read("state")?;
    if matches!(state.as_str(), "starting" | "running") {
        bail!(
            "{name} is {state}: stop it first (echo stop > {}/state)",
            dir.dir.display()
        );
    }
    let mut unbound: Vec<(Bdf, String)> = Vec::new();
    // After a failure: every function unbound so far goes back to its
    // driver, and the message says how each fared.
    let give_back = |unbound: &[(Bdf, String)]| -> String {
        let notes: Vec<String> = unbound
            .iter()
            .map(|(b, d)| match pci::bind_host_driver(&host.sys, *b, d) {
                Ok(()) => format!("{b} is back with host driver {d}"),
                Err(e) => format!("{e:#}"),
            })
            .collect();
        notes.iter().map(|n| format!("; {n}")).collect()
    };
    for &b in &fresh {
        match pci::bound_driver(&host.sys, b).as_deref() {
            // The module's own stub: another partition's function, which
            // the module refuses to hand over; never unbound here.
            Some("mint") => {}
            _ => match pci::unbind_host_driver(&host.sys, b) {
                Ok(Some(driver)) => unbound.push((b, driver)),
                Ok(None) => {}
                Err(e) => bail!("{e:#}{}", give_back(&unbound)),
            },
        }
    }
    if let Err(e) = dir.write("devices", &pci::format_devices(&all)) {
        bail!("{e:#}{}", give_back(&unbound));
    }
    for b in &fresh {
        match unbound.iter().find(|(u, _)| u == b) {
            Some((_, driver)) => {
                println!("{name}: assigned {b} (unbound from host driver {driver})")
            }
            None => println!("{name}: assigned {b} (no host driver was bound)"),
        }
    }
    println!(
        "{name} owns {}; load it (mint-kexec load) for its kernel to see them",
        pci::format_devices(&all)
    );
    Ok(())
}

/// `release`: writes what remains of the partition's list to `devices`
/// (an empty line for nothing); the module resets each function given back
/// and re-attaches the host's driver.
fn release(root: &Path, partition: &str, functions: &[String]) -> Result<()> {
    let name = name::parse_name(partition).map_err(|e| anyhow::anyhow!("{e}"))?;
    let wanted: Vec<Bdf> = functions
        .iter()
        .map(|f| pci::parse_bdf(f))
        .collect::<Result<_, _>>()?;
    let dir = PartitionDir::open(root, name)?;
    let current = dir.devices()?.with_context(|| {
        format!(
            "{} does not exist: this mint.ko gives no PCI functions to partitions",
            dir.dir.join("devices").display()
        )
    })?;
    if let Some(b) = wanted.iter().find(|b| !current.contains(b)) {
        let owned = if current.is_empty() {
            "none".to_string()
        } else {
            pci::format_devices(&current)
        };
        bail!("{b} is not {name}'s (it owns: {owned})");
    }
    let gone: Vec<Bdf> = if wanted.is_empty() {
        current.clone()
    } else {
        current
            .iter()
            .copied()
            .filter(|b| wanted.contains(b))
            .collect()
    };
    if gone.is_empty() {
        println!("{name} owns no PCI functions: nothing to release");
        return Ok(());
    }
    let remaining: Vec<Bdf> = current
        .iter()
        .copied()
        .filter(|b| !gone.contains(b))
        .collect();
    dir.write("devices", &pci::format_devices(&remaining))?;
    for b in &gone {
        println!("{name}: released {b} (the module resets it and hands it back to the host)");
    }
    Ok(())
}

/// One partition in `status --json`: the module's files, and the PCI
/// functions it owns.
#[derive(Serialize)]
struct StatusEntry {
    #[serde(flatten)]
    status: PartitionStatus,
    /// The `devices` file, one function a string; `[]` for none or a module
    /// without the file; `null` if it cannot be read or parsed.
    devices: Option<Vec<String>>,
}

/// What `status --json` prints.
#[derive(Serialize)]
struct StatusJson {
    partitions: Vec<StatusEntry>,
}

fn status(root: &Path, only: Option<&str>, json: bool) -> Result<()> {
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
    let mut report = StatusJson {
        partitions: Vec::new(),
    };
    for n in names.into_iter().filter(|n| only.is_none_or(|o| o == *n)) {
        let dir = PartitionDir::open(root, n)?;
        let devices = dir.devices().map(Option::unwrap_or_default);
        report.partitions.push(StatusEntry {
            status: PartitionStatus::read(n, &dir.dir),
            devices: devices
                .as_ref()
                .ok()
                .map(|d| d.iter().map(ToString::to_string).collect()),
        });
        if json {
            continue;
        }
        println!("{n}:");
        for f in ["state", "cpus", "apic_ids", "memory", "lowmem", "cmdline"] {
            let v = dir.read(f).unwrap_or_else(|e| format!("({e})"));
            println!("  {f:<9} {v}");
        }
        match &devices {
            Ok(d) if d.is_empty() => println!("  devices   none"),
            Ok(d) => println!("  devices   {}", pci::format_devices(d)),
            Err(e) => println!("  devices   ({e:#})"),
        }
        let s = &report.partitions.last().expect("just pushed").status;
        match s.console_bytes {
            Some(len) => println!("  console   {len} bytes (mint-kexec console {n})"),
            None => println!(
                "  console   (cannot read {})",
                dir.dir.join("console").display()
            ),
        }
        match (s.crashed, &s.crash_reason) {
            (Some(true), Some(why)) => {
                println!("  crash     yes: {why} (mint-kexec console {n} --crash)")
            }
            (Some(true), None) => println!("  crash     yes (mint-kexec console {n} --crash)"),
            (Some(false), _) => println!("  crash     none"),
            (None, _) => println!(
                "  crash     (cannot read {})",
                dir.dir.join("crash").display()
            ),
        }
    }
    if json {
        let mut out = serde_json::to_string(&report).context("encoding the status")?;
        out.push('\n');
        write_stdout(out.as_bytes())?;
    } else if report.partitions.is_empty() {
        println!("no partitions");
    }
    Ok(())
}

fn defaults(
    root: &Path,
    partition: &str,
    mem: Option<&str>,
    with_devices: bool,
    c: &ConsoleArgs,
) -> Result<()> {
    let name = name::parse_name(partition).map_err(|e| anyhow::anyhow!("{e}"))?;
    let memory = match mem {
        Some(m) => Some(memlist::parse_ranges(m).map_err(|e| anyhow::anyhow!("--mem {m:?}: {e}"))?),
        None => sysfs::read_value(&root.join(name).join("memory"))
            .ok()
            .and_then(|v| memlist::parse_ranges(&v).ok()),
    };
    if memory.is_none() && c.region_size().is_some() {
        eprintln!(
            "mint-kexec: {name}'s memory is not known (pass --mem SIZE@START[,...]): \
             its console region's ramoops.* parameters are left out"
        );
    }
    let owns_devices = sysfs::read_devices(&root.join(name))
        .ok()
        .flatten()
        .is_some_and(|d| !d.is_empty());
    let opts = c.options(tsc_khz(root), memory.as_ref(), with_devices || owns_devices)?;
    println!("{}", cmdline::compose(name, &opts, None)?);
    Ok(())
}

/// Writes `bytes` to stdout as they are; a reader that went away (`| head`)
/// ends the program quietly.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        r => r.context("writing to stdout"),
    }
}

/// How often `console --follow` reads the console.
const FOLLOW_PERIOD: Duration = Duration::from_millis(200);

fn show_console(root: &Path, partition: &str, follow: bool, crash: bool) -> Result<()> {
    let name = name::parse_name(partition).map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = PartitionDir::open(root, name)?;
    if crash {
        let record = console::read_bin(&dir.dir.join("crash"))?;
        if record.is_empty() {
            eprintln!("no crash record");
        }
        return write_stdout(&record);
    }
    let file = dir.dir.join("console");
    if !follow {
        return write_stdout(&console::read_bin(&file)?);
    }
    let mut follower = Follower::new();
    loop {
        // The state first: text written before it changed is in the read
        // that follows, and printed before leaving.
        let state = match dir.read("state") {
            Ok(s) => s,
            Err(_) if !dir.dir.is_dir() => {
                eprintln!("mint-kexec: {name} was destroyed");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let text = console::read_bin(&file)?;
        let update = follower.feed(&text);
        if update.restarted {
            eprintln!(
                "mint-kexec: {name}'s console restarted, or more than its size was written \
                 since the last read: printing all of it"
            );
        }
        write_stdout(update.new)?;
        if !matches!(state.as_str(), "starting" | "running") {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_PERIOD);
    }
}
