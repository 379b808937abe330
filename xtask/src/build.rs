//! `cargo xtask build`: the module, the CLI and the initramfs images, in `out/`
//! (for the debug kernel, `out/debug/`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::{self, Stage};
use crate::cpio::Archive;
use crate::paths::{self, Kernel};
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
    /// The kernel configuration `bzimage` and `module` were built with.
    pub kernel: Kernel,
}

const BUSYBOX: &str = "/bin/busybox";

/// Builds the artifacts for `tc`'s kernel into `tc.kernel.out()`.
pub fn build(tc: &Toolchain) -> Result<Artifacts> {
    let out = tc.kernel.out();
    fs::create_dir_all(&out)?;
    let ws = paths::workspace();

    let stage = Stage::begin(&format!("building mint.ko ({} kernel)", tc.kernel.name()));
    let module_dir = module_build_dir(tc.kernel)?;
    cmd::run(
        Command::new("make")
            .arg("-C")
            .arg(&module_dir)
            .arg(format!("KDIR={}", tc.kdir.display()))
            .arg(format!("MINT_RUSTC={}", tc.rustc.display()))
            .arg(format!("MINT_RUSTDOC={}", tc.rustdoc.display()))
            .arg(format!("MINT_BINDGEN={}", tc.bindgen.display())),
    )?;
    let module = copy(&module_dir.join("mint.ko"), &out.join("mint.ko"))?;
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
        Stage::begin("building the helpers (qemu/tsc.c, qemu/init-stamp.c, qemu/memfill.c)");
    let tsc = tiny_static(&ws.join("qemu/tsc.c"), &out.join("tsc"))?;
    let init_stamp = tiny_static(&ws.join("qemu/init-stamp.c"), &out.join("init-stamp"))?;
    let memfill = tiny_static(&ws.join("qemu/memfill.c"), &out.join("memfill"))?;
    stage.done();

    let stage = Stage::begin("assembling initramfs images");
    let bzimage = copy(&tc.kdir.join("arch/x86/boot/bzImage"), &out.join("bzImage"))?;
    let os2_initramfs = out.join("os2-initramfs.cpio.gz");
    let qemu = ws.join("qemu");
    let tools = Tools {
        tsc: fs::read(&tsc)?,
        memfill: fs::read(&memfill)?,
    };
    // The partition image: /init is the stamp, which execs /init.sh.
    let mut os2 = base_image(&fs::read(&init_stamp)?, &tools)?;
    os2.file("/init.sh", 0o755, &fs::read(qemu.join("os2-init.sh"))?);
    // The same module: inside a partition it runs as the agent (rust/agent.rs),
    // loaded by /init.sh with `mint.agent=1`.
    os2.file("/mint.ko", 0o644, &fs::read(&module)?);
    // An in-tree test module of the same kernel build (CONFIG_TEST_LOCKUP=m),
    // with which the scenarios wedge a partition's CPU on purpose.
    let lockup = tc.kdir.join("lib/test_lockup.ko");
    os2.file(
        "/test_lockup.ko",
        0o644,
        &fs::read(&lockup).with_context(|| format!("cannot read {}", lockup.display()))?,
    );
    os2.char_dev("/dev/kmsg", 0o600, 1, 11);
    fs::write(&os2_initramfs, os2.finish_gz()?)?;
    let host_initramfs = out.join("host-initramfs.cpio.gz");
    fs::write(
        &host_initramfs,
        host_initramfs_image(&bzimage, &module, &kexec, &os2_initramfs, &tools)?,
    )?;
    stage.done();

    let artifacts = Artifacts {
        bzimage,
        module,
        kexec,
        host_initramfs,
        os2_initramfs,
        kernel: tc.kernel,
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

/// Where kbuild compiles the module for `kernel`. The normal kernel's build
/// is the workspace itself (what a plain `make` uses). Kbuild writes objects
/// next to the sources, and its rebuild checks compare command lines that
/// name kernel headers by paths relative to KDIR, so two kernels must not
/// share one object tree: the debug kernel's module is built in
/// `out/debug/module/`, a copy of the module's sources that is refreshed
/// before every build (a file is rewritten only when its content changed, so
/// kbuild's incremental build keeps working).
fn module_build_dir(kernel: Kernel) -> Result<PathBuf> {
    let ws = paths::workspace();
    if kernel == Kernel::Normal {
        return Ok(ws);
    }
    let dir = kernel.out().join("module");
    let mut wanted = Vec::new();
    for e in fs::read_dir(&ws)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let top_level_source = ["Kbuild", "Makefile", "Cargo.toml"].contains(&name.as_str())
            || [".S", ".c", ".h"].iter().any(|x| name.ends_with(x));
        if top_level_source && e.file_type()?.is_file() {
            wanted.push(PathBuf::from(name));
        }
    }
    module_sources(&ws, Path::new("rust"), &mut wanted)?;
    for rel in &wanted {
        let data = fs::read(ws.join(rel))?;
        let to = dir.join(rel);
        if fs::read(&to).ok().as_deref() != Some(&data[..]) {
            fs::create_dir_all(to.parent().expect("under dir"))?;
            fs::write(&to, &data).with_context(|| format!("cannot write {}", to.display()))?;
        }
    }
    // Sources deleted from the workspace go from the copy too.
    let mut present = Vec::new();
    if dir.join("rust").exists() {
        module_sources(&dir, Path::new("rust"), &mut present)?;
    }
    for rel in present.iter().filter(|p| !wanted.contains(p)) {
        let _ = fs::remove_file(dir.join(rel));
    }
    Ok(dir)
}

/// Collects the source files under `root/rel` (relative to `root`): every
/// file except hidden ones and kbuild's outputs.
fn module_sources(root: &Path, rel: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    const OUTPUTS: &[&str] = &[
        ".o", ".ko", ".mod", ".mod.c", ".cmd", ".d", ".a", ".rmeta", ".order", ".symvers",
    ];
    for e in fs::read_dir(root.join(rel))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" || OUTPUTS.iter().any(|x| name.ends_with(x)) {
            continue;
        }
        let kind = e.file_type()?;
        if kind.is_dir() {
            module_sources(root, &rel.join(&name), found)?;
        } else if kind.is_file() {
            found.push(rel.join(&name));
        }
    }
    Ok(())
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

/// The libc-free helpers every initramfs carries in /bin.
struct Tools {
    /// `tsc` (qemu/tsc.c).
    tsc: Vec<u8>,
    /// `memfill` (qemu/memfill.c).
    memfill: Vec<u8>,
}

/// Common skeleton of every initramfs: busybox, the tsc probe, memfill,
/// /dev/console, mount points.
fn base_image(init: &[u8], tools: &Tools) -> Result<Archive> {
    let mut a = Archive::default();
    for d in ["/bin", "/dev", "/proc", "/sys", "/tmp", "/root"] {
        a.dir(d);
    }
    // The kernel opens /dev/console for init before devtmpfs is mounted.
    a.char_dev("/dev/console", 0o600, 5, 1);
    let busybox = fs::read(BUSYBOX).with_context(|| format!("cannot read {BUSYBOX}"))?;
    a.file("/bin/busybox", 0o755, &busybox);
    a.symlink("/bin/sh", "busybox");
    a.file("/bin/tsc", 0o755, &tools.tsc);
    a.file("/bin/memfill", 0o755, &tools.memfill);
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
    tools: &Tools,
) -> Result<Vec<u8>> {
    let qemu = paths::workspace().join("qemu");
    let mut a = base_image(&fs::read(qemu.join("host-init.sh"))?, tools)?;
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
