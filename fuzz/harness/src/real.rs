//! The project's real inputs, found at run time: the kernel image that
//! `cargo xtask build` made, its initramfs images, the kernel decompressed
//! from that image and load images assembled from them with `mint-kexec`'s
//! own code. Nothing derived from them is checked in (the load image
//! format changes with the project); everything here is rebuilt on demand.
//!
//! Where they are looked for:
//! - the bzImage: `$MINT_TEST_BZIMAGE` (set by `cargo xtask test`), else
//!   `out/bzImage`, else the kernel build in the cache
//!   (`${XDG_CACHE_HOME:-~/.cache}/mint/kernel/current/arch/x86/boot/bzImage`);
//! - the initramfs images: `os2-initramfs.cpio.gz` and
//!   `host-initramfs.cpio.gz` next to that bzImage, else in `out/`.
//!
//! With `MINT_REQUIRE_BZIMAGE=1` (as `cargo xtask test` sets it) a missing
//! bzImage or os2 initramfs is an error; otherwise the real seeds are
//! skipped with a note.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mint_kexec::assemble::{self, Entry, Inputs, Partition};
use mint_kexec::bzimage::BzImage;
use mint_kexec::{cmdline, plan, vmlinux};
use mint_logic::memlist::RangeList;
use mint_logic::memrange::MemRange;

/// The partition the real load images are assembled for: os2's window in
/// the scenarios (`256M@0x20000000`), one CPU, the console region of
/// `mint-kexec load`'s default size.
pub const WINDOW: MemRange = MemRange {
    start: 0x2000_0000,
    size: 256 << 20,
};
/// Memory carved above 4 GiB, for the real load image entered through the
/// bzImage's 64-bit entry: `64M@0x140000000,256M@0x180000000`.
pub const HIGH: [MemRange; 2] = [
    MemRange {
        start: 0x1_4000_0000,
        size: 64 << 20,
    },
    MemRange {
        start: 0x1_8000_0000,
        size: 256 << 20,
    },
];

/// [`WINDOW`] as the partition's memory.
pub fn window() -> RangeList {
    RangeList::from_ranges(&[WINDOW]).expect("one valid range")
}
/// `mint-kexec load`'s default `--console-size`.
pub const CONSOLE_SIZE: u64 = 1 << 20;

/// A real load image and how it was made.
pub struct LoadImage {
    pub name: &'static str,
    /// The partition's memory it was made for.
    pub memory: RangeList,
    pub blob: Vec<u8>,
}

/// The real inputs; every field may be absent outside CI.
#[derive(Default)]
pub struct Real {
    pub bzimage: Option<(PathBuf, Vec<u8>)>,
    /// `(file name, bytes)` of each initramfs found, gzip-compressed.
    pub initramfs: Vec<(String, Vec<u8>)>,
    vmlinux: OnceLock<Option<Vec<u8>>>,
    load_images: OnceLock<Vec<LoadImage>>,
}

fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache")
        })
        .join("mint")
}

fn required() -> bool {
    std::env::var("MINT_REQUIRE_BZIMAGE").as_deref() == Ok("1")
}

impl Real {
    /// The real inputs of this machine, found once.
    pub fn get() -> &'static Real {
        static REAL: OnceLock<Real> = OnceLock::new();
        REAL.get_or_init(Real::find)
    }

    /// No real inputs at all (synthetic seeds only).
    pub fn none() -> Real {
        Real::default()
    }

    fn find() -> Real {
        let out = crate::workspace().join("out");
        let candidates: Vec<PathBuf> = std::env::var_os("MINT_TEST_BZIMAGE")
            .map(PathBuf::from)
            .into_iter()
            .chain([
                out.join("bzImage"),
                cache_dir().join("kernel/current/arch/x86/boot/bzImage"),
            ])
            .collect();
        let bzimage = candidates
            .iter()
            .find_map(|p| std::fs::read(p).ok().map(|d| (p.clone(), d)));
        if bzimage.is_none() {
            let msg = format!("no real bzImage (looked at {candidates:?})");
            assert!(!required(), "MINT_REQUIRE_BZIMAGE=1 but {msg}");
            eprintln!("note: {msg}: real seeds skipped");
        }
        let dirs: Vec<PathBuf> = bzimage
            .iter()
            .filter_map(|(p, _)| p.parent().map(Path::to_path_buf))
            .chain([out])
            .collect();
        let mut initramfs = Vec::new();
        for name in ["os2-initramfs.cpio.gz", "host-initramfs.cpio.gz"] {
            if let Some(d) = dirs.iter().find_map(|d| std::fs::read(d.join(name)).ok()) {
                initramfs.push((name.to_string(), d));
            } else if name.starts_with("os2") {
                let msg = format!("no {name} in {dirs:?}");
                assert!(!required(), "MINT_REQUIRE_BZIMAGE=1 but {msg}");
                eprintln!("note: {msg}: real initramfs seeds skipped");
            }
        }
        Real {
            bzimage,
            initramfs,
            ..Real::default()
        }
    }

    pub fn kernel(&self) -> Option<&[u8]> {
        self.bzimage.as_ref().map(|(_, d)| &d[..])
    }

    pub fn os2_initramfs(&self) -> Option<&[u8]> {
        self.initramfs
            .iter()
            .find(|(n, _)| n.starts_with("os2"))
            .map(|(_, d)| &d[..])
    }

    /// `vmlinux.bin.all` decompressed from the real bzImage.
    pub fn vmlinux(&self) -> Option<&[u8]> {
        self.vmlinux
            .get_or_init(|| {
                let img = BzImage::parse(self.kernel()?).expect("the real bzImage parses");
                Some(vmlinux::decompress(&img).expect("the real kernel decompresses"))
            })
            .as_deref()
    }

    /// Load images assembled from the real kernel and os2 initramfs: the
    /// 32-bit entry (as `mint-kexec load` does by default), the 64-bit
    /// entry (`--decompress`), and the bzImage's 64-bit entry in memory
    /// above 4 GiB ([`HIGH`]).
    pub fn load_images(&self) -> &[LoadImage] {
        self.load_images.get_or_init(|| {
            let (Some(kernel), Some(initrd)) = (self.kernel(), self.os2_initramfs()) else {
                return Vec::new();
            };
            let mut v = Vec::new();
            let high = RangeList::from_ranges(&HIGH).expect("valid ranges");
            for (name, entry, memory) in [
                ("protected32", Entry::BzImage, window()),
                ("decompressed64", Entry::Decompressed64, window()),
                ("bzimage64-above-4g", Entry::BzImage, high),
            ] {
                let decompressed = match entry {
                    Entry::Decompressed64 => self.vmlinux(),
                    Entry::BzImage => None,
                };
                let blob = assemble_default(memory, kernel, Some(initrd), entry, decompressed)
                    .unwrap_or_else(|e| panic!("assembling the real {name} load image: {e:#}"));
                v.push(LoadImage { name, memory, blob });
            }
            v
        })
    }
}

/// The command line `mint-kexec load os2` gives os2 in `memory` (default
/// console region, os2's UART, a 2 GHz TSC).
pub fn default_cmdline(memory: &RangeList) -> anyhow::Result<String> {
    let layout = plan::console_layout(memory, CONSOLE_SIZE)?;
    Ok(cmdline::compose(
        "os2",
        &cmdline::Options {
            tsc_khz: 2_000_000,
            no_uart: false,
            region: layout,
            pci: false,
        },
        None,
    )?)
}

/// What `mint-kexec load os2` builds for a one-CPU os2 in `memory`: the
/// default command line and console region, os2's UART.
pub fn assemble_default(
    memory: RangeList,
    kernel: &[u8],
    initrd: Option<&[u8]>,
    entry: Entry,
    decompressed: Option<&[u8]>,
) -> anyhow::Result<Vec<u8>> {
    let partition = Partition {
        memory,
        low_ram: 0x11000..0x20000,
        apic_ids: vec![1],
        pm_timer_port: 0x608,
        pci: Vec::new(),
    };
    let line = default_cmdline(&memory)?;
    let a = assemble::assemble(
        &partition,
        &Inputs {
            kernel,
            initrd,
            cmdline: &line,
            mem_min: None,
            console_uart: cmdline::console_port("os2", false),
            console_size: Some(CONSOLE_SIZE),
            entry,
            decompressed,
        },
    )?;
    Ok(a.blob)
}
