//! `cargo xtask build`: the module, the CLI and the initramfs images, in `out/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::{self, Stage};
use crate::cpio::Archive;
use crate::paths;
use crate::setup::Toolchain;

/// The artifacts a build leaves at stable paths.
pub struct Artifacts {
    /// The one kernel image the host and every partition boot.
    pub bzimage: PathBuf,
    pub module: PathBuf,
    pub kexec: PathBuf,
    pub host_initramfs: PathBuf,
    /// The partitions' initramfs (also inside the host's, as /os2-initramfs.cpio.gz).
    pub os2_initramfs: PathBuf,
}

const BUSYBOX: &str = "/bin/busybox";

pub fn build(tc: &Toolchain) -> Result<Artifacts> {
    let out = paths::out();
    fs::create_dir_all(&out)?;
    let ws = paths::workspace();

    let stage = Stage::begin("building mint.ko");
    cmd::run(
        Command::new("make")
            .arg("-C")
            .arg(&ws)
            .arg(format!("KDIR={}", tc.kdir.display()))
            .arg(format!("MINT_RUSTC={}", tc.rustc.display()))
            .arg(format!("MINT_RUSTDOC={}", tc.rustdoc.display()))
            .arg(format!("MINT_BINDGEN={}", tc.bindgen.display())),
    )?;
    let module = copy(&ws.join("mint.ko"), &out.join("mint.ko"))?;
    stage.done();

    let stage = Stage::begin("building mint-kexec (static)");
    let target = "x86_64-unknown-linux-gnu";
    cmd::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&ws)
            .args([
                "build",
                "--release",
                "--package",
                "mint-kexec",
                "--target",
                target,
            ])
            // With --target these flags reach only the target binary, not
            // build scripts or proc macros.
            .env("RUSTFLAGS", "-C target-feature=+crt-static"),
    )?;
    let kexec = copy(
        &ws.join(format!("target/{target}/release/mint-kexec")),
        &out.join("mint-kexec"),
    )?;
    ensure_static(&kexec)?;
    stage.done();

    let stage =
        Stage::begin("building the tsc probe and /init stamp (qemu/tsc.c, qemu/init-stamp.c)");
    let tsc = tiny_static(&ws.join("qemu/tsc.c"), &out.join("tsc"))?;
    let init_stamp = tiny_static(&ws.join("qemu/init-stamp.c"), &out.join("init-stamp"))?;
    stage.done();

    let stage = Stage::begin("assembling initramfs images");
    let bzimage = copy(&tc.kdir.join("arch/x86/boot/bzImage"), &out.join("bzImage"))?;
    let os2_initramfs = out.join("os2-initramfs.cpio.gz");
    let qemu = ws.join("qemu");
    let tsc_probe = fs::read(&tsc)?;
    // The partition image: /init is the stamp, which execs /init.sh.
    let mut os2 = base_image(&fs::read(&init_stamp)?, &tsc_probe)?;
    os2.file("/init.sh", 0o755, &fs::read(qemu.join("os2-init.sh"))?);
    os2.char_dev("/dev/kmsg", 0o600, 1, 11);
    fs::write(&os2_initramfs, os2.finish_gz()?)?;
    let host_initramfs = out.join("host-initramfs.cpio.gz");
    fs::write(
        &host_initramfs,
        host_initramfs_image(&bzimage, &module, &kexec, &os2_initramfs, &tsc_probe)?,
    )?;
    stage.done();

    let artifacts = Artifacts {
        bzimage,
        module,
        kexec,
        host_initramfs,
        os2_initramfs,
    };
    println!("build: artifacts");
    for p in [
        &artifacts.bzimage,
        &artifacts.module,
        &artifacts.kexec,
        &artifacts.host_initramfs,
        &artifacts.os2_initramfs,
    ] {
        let len = fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        println!("    {:<40} {:>9} bytes", p.display(), len);
    }
    Ok(artifacts)
}

/// Builds a libc-free static program from one C file (the tiny helpers the
/// initramfs images carry).
fn tiny_static(src: &Path, exe: &Path) -> Result<PathBuf> {
    cmd::run(
        Command::new("gcc")
            .args([
                "-static",
                "-nostdlib",
                "-Os",
                "-fno-pie",
                "-no-pie",
                "-Wall",
            ])
            .args([
                "-fno-asynchronous-unwind-tables",
                "-fno-stack-protector",
                "-s",
                "-o",
            ])
            .arg(exe)
            .arg(src),
    )?;
    Ok(exe.to_path_buf())
}

fn copy(from: &Path, to: &Path) -> Result<PathBuf> {
    fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(to.to_path_buf())
}

/// Fails if the ELF file asks for a dynamic loader (it must run in a bare
/// busybox initramfs).
fn ensure_static(path: &Path) -> Result<()> {
    let elf = fs::read(path)?;
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" {
        bail!("{} is not an ELF file", path.display());
    }
    let phoff = u64::from_le_bytes(elf[32..40].try_into()?) as usize;
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    for i in 0..phnum {
        let off = phoff + i * phentsize;
        let kind = u32::from_le_bytes(elf[off..off + 4].try_into()?);
        if kind == 3 {
            bail!("{} is dynamically linked (has PT_INTERP)", path.display());
        }
    }
    Ok(())
}

/// Common skeleton of every initramfs: busybox, the tsc probe, /dev/console,
/// mount points.
fn base_image(init: &[u8], tsc_probe: &[u8]) -> Result<Archive> {
    let mut a = Archive::default();
    for d in ["/bin", "/dev", "/proc", "/sys", "/tmp", "/root"] {
        a.dir(d);
    }
    // The kernel opens /dev/console for init before devtmpfs is mounted.
    a.char_dev("/dev/console", 0o600, 5, 1);
    let busybox = fs::read(BUSYBOX).with_context(|| format!("cannot read {BUSYBOX}"))?;
    a.file("/bin/busybox", 0o755, &busybox);
    a.symlink("/bin/sh", "busybox");
    a.file("/bin/tsc", 0o755, tsc_probe);
    a.file("/init", 0o755, init);
    Ok(a)
}

/// The host's initramfs: the module, the CLI, the kernel image partitions
/// boot (the host's own), the partitions' initramfs, and the scenario
/// scripts from `qemu/scenarios/`.
fn host_initramfs_image(
    bzimage: &Path,
    module: &Path,
    kexec: &Path,
    os2: &Path,
    tsc_probe: &[u8],
) -> Result<Vec<u8>> {
    let qemu = paths::workspace().join("qemu");
    let mut a = base_image(&fs::read(qemu.join("host-init.sh"))?, tsc_probe)?;
    a.file("/mint.ko", 0o644, &fs::read(module)?);
    a.file("/bin/mint-kexec", 0o755, &fs::read(kexec)?);
    a.dir("/boot");
    a.file("/boot/bzImage", 0o644, &fs::read(bzimage)?);
    a.file("/os2-initramfs.cpio.gz", 0o644, &fs::read(os2)?);
    a.dir("/scenarios");
    let mut scripts: Vec<_> = fs::read_dir(qemu.join("scenarios"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    for s in scripts {
        let name = s.file_name().unwrap().to_string_lossy().into_owned();
        a.file(&format!("/scenarios/{name}"), 0o755, &fs::read(&s)?);
    }
    a.finish_gz()
}
