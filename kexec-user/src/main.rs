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
use mint_kexec::console::{self, Follower, PartitionStatus, StatusReport};
use mint_kexec::sysfs::{self, PartitionDir};
use mint_kexec::{cmdline, initrd, kexec, plan, vmlinux};
use mint_logic::memrange::MemRange;
use mint_logic::ramoops::Layout;
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
        /// The window the ramoops.* parameters are for (SIZE@START); default:
        /// the partition's `memory`, if it exists and has one.
        #[arg(long)]
        mem: Option<String>,
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
    /// of the window: 4 KiB multiple, 64K to 1G.
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_console_size)]
    console_size: u64,
    /// No console region: no ramoops.* parameters, the whole window is RAM, and the
    /// host's `console` and `crash` files stay empty.
    #[arg(long, conflicts_with = "console_size")]
    no_console_region: bool,
}

impl ConsoleArgs {
    /// The region's size, `None` for none.
    fn region_size(&self) -> Option<u64> {
        (!self.no_console_region).then_some(self.console_size)
    }

    /// The command line options for `window` (`None`: not known, so no
    /// ramoops parameters).
    fn options(&self, tsc_khz: u32, window: Option<&MemRange>) -> Result<cmdline::Options> {
        let region = match (window, self.region_size()) {
            (Some(w), Some(size)) => plan::console_layout(w.start, w.size, size)?,
            _ => None,
        };
        Ok(cmdline::Options {
            tsc_khz,
            no_uart: self.no_uart,
            region,
        })
    }
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Load(args) => load(&cli.sysfs, &args),
        Cmd::Status { partition, json } => status(&cli.sysfs, partition.as_deref(), json),
        Cmd::Console {
            partition,
            follow,
            crash,
        } => show_console(&cli.sysfs, &partition, follow, crash),
        Cmd::Defaults {
            partition,
            mem,
            console,
        } => defaults(&cli.sysfs, &partition, mem.as_deref(), &console),
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

fn load(root: &Path, a: &LoadArgs) -> Result<()> {
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
    let requested_window = match &a.mem {
        Some(m) => Some(memrange::parse(m).map_err(|e| anyhow::anyhow!("--mem {m:?}: {e}"))?),
        None => None,
    };
    let ioports = fs::read_to_string("/proc/ioports").unwrap_or_default();
    let pm_timer_port = sysfs::pm_timer_port(&ioports)
        .context("the host has no ACPI PM timer in /proc/ioports (mint needs ACPI on the host)")?;
    let dir = PartitionDir::open(root, name)?;
    let tsc = tsc_khz(root);
    // The command line for a window: the console region's parameters
    // depend on where the window ends.
    let line_for = |w: &MemRange| -> Result<String> {
        let opts = a.console.options(tsc, Some(w))?;
        Ok(cmdline::compose(name, &opts, a.append.as_deref())?)
    };

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
        probe_line = line_for(&window)?;
        assemble(&probe, &inputs(&probe_line))?;
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
    let line = line_for(&p.window)?;
    let assembled = assemble(&p, &inputs(&line))?;
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
    println!("  cmdline   {line}");
    println!("start it with: echo start > {}/state", dir.dir.display());
    Ok(())
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
    let mut report = StatusReport {
        partitions: Vec::new(),
    };
    for n in names.into_iter().filter(|n| only.is_none_or(|o| o == *n)) {
        let dir = PartitionDir::open(root, n)?;
        report.partitions.push(PartitionStatus::read(n, &dir.dir));
        if json {
            continue;
        }
        println!("{n}:");
        for f in ["state", "cpus", "apic_ids", "memory", "lowmem", "cmdline"] {
            let v = dir.read(f).unwrap_or_else(|e| format!("({e})"));
            println!("  {f:<9} {v}");
        }
        let s = report.partitions.last().expect("just pushed");
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

fn defaults(root: &Path, partition: &str, mem: Option<&str>, c: &ConsoleArgs) -> Result<()> {
    let name = name::parse_name(partition).map_err(|e| anyhow::anyhow!("{e}"))?;
    let window = match mem {
        Some(m) => Some(memrange::parse(m).map_err(|e| anyhow::anyhow!("--mem {m:?}: {e}"))?),
        None => sysfs::read_value(&root.join(name).join("memory"))
            .ok()
            .and_then(|v| memrange::parse(&v).ok()),
    };
    if window.is_none() && c.region_size().is_some() {
        eprintln!(
            "mint-kexec: {name}'s window is not known (pass --mem SIZE@START): \
             its console region's ramoops.* parameters are left out"
        );
    }
    let opts = c.options(tsc_khz(root), window.as_ref())?;
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
