//! Talking to the module through `/sys/kernel/mint/`.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::pci::{self, Bdf};

/// The module's sysfs root.
pub const ROOT: &str = "/sys/kernel/mint";

/// One partition's directory.
pub struct PartitionDir {
    pub name: String,
    pub dir: PathBuf,
}

/// Fails with a hint when the module is not loaded.
pub fn require_module(root: &Path) -> Result<()> {
    if !root.is_dir() {
        bail!(
            "{} does not exist: load the module first (insmod mint.ko)",
            root.display()
        );
    }
    Ok(())
}

/// The last kernel log line about `name` from the mint module (the module
/// explains every refusal there in one line).
fn kernel_reason(name: &str) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    const O_NONBLOCK: i32 = 0o4000;
    let mut kmsg = fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open("/dev/kmsg")
        .ok()?;
    let mut last = None;
    let mut buf = vec![0u8; 8192];
    // /dev/kmsg returns one record per read; EAGAIN at the end.
    while let Ok(n) = kmsg.read(&mut buf) {
        if n == 0 {
            break;
        }
        let rec = String::from_utf8_lossy(&buf[..n]);
        if let Some((_, msg)) = rec.split_once(';') {
            let msg = msg.lines().next().unwrap_or("").trim();
            if msg.starts_with("mint: ") && (msg.contains(name) || name.is_empty()) {
                last = Some(msg.to_string());
            }
        }
    }
    last
}

/// Writes `value` to `file` in one `write(2)`, turning a refusal into an
/// error that carries the module's reason.
pub fn write_value(file: &Path, value: &str, about: &str) -> Result<()> {
    let result = fs::OpenOptions::new()
        .write(true)
        .open(file)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    result.map_err(|e| {
        let why = kernel_reason(about)
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        anyhow!(
            "writing {:?} to {}: {}{}",
            value.trim_end(),
            file.display(),
            describe(&e),
            why
        )
    })
}

fn describe(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::PermissionDenied => format!("{e} (mint's control files are root-only)"),
        _ => e.to_string(),
    }
}

/// Reads the PCI functions a partition owns from its `devices` file in
/// `dir` (one per line, empty for none); `None` if the file does not exist
/// (a module without device assignment).
pub fn read_devices(dir: &Path) -> Result<Option<Vec<Bdf>>> {
    let file = dir.join("devices");
    let text = match fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => bail!("cannot read {}: {}", file.display(), describe(&e)),
    };
    let list = pci::parse_devices(&text)
        .with_context(|| format!("the module reports malformed {}", file.display()))?;
    Ok(Some(list))
}

/// Reads a text file, trimmed.
pub fn read_value(file: &Path) -> Result<String> {
    Ok(fs::read_to_string(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .trim()
        .to_string())
}

impl PartitionDir {
    /// The directory of partition `name`, which must exist.
    pub fn open(root: &Path, name: &str) -> Result<Self> {
        require_module(root)?;
        let dir = root.join(name);
        if !dir.is_dir() {
            bail!(
                "no partition {name}: create it first (echo {name} > {}/create)",
                root.display()
            );
        }
        Ok(Self {
            name: name.to_string(),
            dir,
        })
    }

    pub fn read(&self, file: &str) -> Result<String> {
        read_value(&self.dir.join(file))
    }

    /// The PCI functions the partition owns ([`read_devices`]).
    pub fn devices(&self) -> Result<Option<Vec<Bdf>>> {
        read_devices(&self.dir)
    }

    pub fn write(&self, file: &str, value: &str) -> Result<()> {
        write_value(&self.dir.join(file), value, &self.name)
    }

    /// Writes the load image to `load` (sysfs takes it a page at a time).
    pub fn write_load(&self, blob: &[u8]) -> Result<()> {
        let path = self.dir.join("load");
        let mut f = fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        f.write_all(blob).map_err(|e| {
            let why = kernel_reason(&self.name)
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            anyhow!("loading into {}: {}{}", self.name, describe(&e), why)
        })
    }
}

/// The I/O port of the platform's ACPI PM timer, from /proc/ioports.
pub fn pm_timer_port(ioports: &str) -> Option<u16> {
    ioports
        .lines()
        .find(|l| l.contains("ACPI PM_TMR"))
        .and_then(|l| {
            let range = l.split_whitespace().next()?;
            u16::from_str_radix(range.split('-').next()?, 16).ok()
        })
}

/// Parses `lowmem` ("0x11000-0x1ffff", inclusive) into `[start, end)`.
pub fn parse_lowmem(s: &str) -> Option<std::ops::Range<u64>> {
    let (a, b) = s.trim().split_once('-')?;
    let p = |x: &str| u64::from_str_radix(x.trim().trim_start_matches("0x"), 16).ok();
    let (a, b) = (p(a)?, p(b)?);
    // An end of u64::MAX has no exclusive end: refused, not an overflow.
    (a <= b).then(|| Some(a..b.checked_add(1)?)).flatten()
}

/// Parses `apic_ids` ("1 2").
pub fn parse_apic_ids(s: &str) -> Option<Vec<u32>> {
    s.split_whitespace().map(|x| x.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_pm_timer() {
        let io = "0000-0cf7 : PCI Bus 0000:00\n  0600-063f : 0000:00:01.3\n    0600-0603 : ACPI PM1a_EVT_BLK\n    0608-060b : ACPI PM_TMR\n";
        assert_eq!(pm_timer_port(io), Some(0x608));
        assert_eq!(pm_timer_port("0000-001f : dma1\n"), None);
    }

    #[test]
    fn parses_module_values() {
        assert_eq!(parse_lowmem("0x11000-0x1ffff\n"), Some(0x11000..0x20000));
        assert_eq!(parse_lowmem("junk"), None);
        assert_eq!(parse_apic_ids("1 2\n"), Some(vec![1, 2]));
        assert_eq!(parse_apic_ids(""), Some(vec![]));
        assert_eq!(parse_apic_ids("1 x"), None);
    }

    #[test]
    fn reads_devices() {
        let dir = std::env::temp_dir().join(format!("mint-sysfs-devices-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        assert_eq!(
            read_devices(&dir).unwrap(),
            None,
            "no file: an older module"
        );
        fs::write(dir.join("devices"), "").unwrap();
        assert_eq!(read_devices(&dir).unwrap(), Some(vec![]));
        fs::write(dir.join("devices"), "0000:01:00.0\n0000:02:00.0\n").unwrap();
        let list = read_devices(&dir).unwrap().unwrap();
        let shown: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["0000:01:00.0", "0000:02:00.0"]);
        fs::write(dir.join("devices"), "0000:01:00\n").unwrap();
        let e = format!("{:#}", read_devices(&dir).unwrap_err());
        assert!(e.contains("malformed") && e.contains("devices"), "{e}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn lowmem_at_the_top_of_the_address_space_is_refused() {
        // Found by the sysfs_values fuzz target: `end + 1` overflowed.
        assert_eq!(parse_lowmem("0x11000-0x0xffffffffffffffff"), None);
        assert_eq!(parse_lowmem("0x0-0xffffffffffffffff\n"), None);
        assert_eq!(parse_lowmem("0x0-0xfffffffffffffffe"), Some(0..u64::MAX));
        assert_eq!(parse_lowmem("0x2000-0x1fff"), None);
    }
}
