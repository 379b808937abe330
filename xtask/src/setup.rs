//! `cargo xtask setup`: everything a fresh Debian 12 machine needs, idempotent.
//!
//! 1. Debian packages, with the Rust toolchain and kernel source pinned;
//! 2. bindgen-cli 0.69.5 (Debian's bindgen is too old for 6.12);
//! 3. the kernel source, extracted once into the cache;
//! 4. the kernel, configured from `qemu/kernel.config` and built in a cache
//!    directory keyed by kernel version + a hash of the configuration and
//!    toolchain, so a second run is a no-op. The debug kernel
//!    (`--kernel debug`) adds `qemu/kernel-debug.config` and is cached next
//!    to it, with its own `current-debug` link.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::cmd::{self, Stage};
use crate::paths::{self, Kernel};

/// Versions of Debian's rustc-web that are known to build Linux 6.12 with
/// CONFIG_RUST (rustc-web, rust-web-src and libstd-rust-web-dev must match).
const RUST_VERSIONS: &[&str] = &["1.85.0+dfsg3-1~deb12u3", "1.96.0+dfsg1-1~deb12u2"];
const RUST_PACKAGES: &[&str] = &["rustc-web", "rust-web-src", "libstd-rust-web-dev"];
/// The kernel source package and its pinned version.
const KERNEL_PACKAGE: &str = "linux-source-6.12";
const KERNEL_VERSION: &str = "6.12.117-1~deb12u1";
const KERNEL_TARBALL: &str = "/usr/src/linux-source-6.12.tar.xz";
/// Unpinned build and test dependencies.
const OTHER_PACKAGES: &[&str] = &[
    "libclang-dev",
    "clang",
    "flex",
    "bison",
    "bc",
    "libelf-dev",
    "libssl-dev",
    "cpio",
    "busybox-static",
    "acpica-tools",
    "qemu-system-x86",
    "xz-utils",
    "make",
    "gcc",
    "libc6-dev",
];
const BINDGEN_VERSION: &str = "0.69.5";
/// Approximate number of build steps (kbuild's `CC`/`LD`/... lines) of a full
/// kernel build, used only to show progress.
const KERNEL_STEPS_ESTIMATE: usize = 1500;

/// The toolchain and kernel build that every later step uses.
pub struct Toolchain {
    pub rustc: PathBuf,
    pub rustdoc: PathBuf,
    pub bindgen: PathBuf,
    /// The configured and built kernel tree (`O=` directory).
    pub kdir: PathBuf,
    /// Which configuration `kdir` was built with.
    pub kernel: Kernel,
}

impl Toolchain {
    /// `make` variables that select Debian's rustc and our bindgen.
    pub fn make_vars(&self) -> Vec<String> {
        vec![
            format!("RUSTC={}", self.rustc.display()),
            format!("RUSTDOC={}", self.rustdoc.display()),
            format!("HOSTRUSTC={}", self.rustc.display()),
            format!("BINDGEN={}", self.bindgen.display()),
        ]
    }
}

/// What every kernel build needs: packages, bindgen and the extracted source
/// (setup steps 1-3).
pub struct Tools {
    rustc: PathBuf,
    rustdoc: PathBuf,
    bindgen: PathBuf,
    src: PathBuf,
}

/// Setup steps 1-3: packages, bindgen, the kernel source.
pub fn tools() -> Result<Tools> {
    let cache = paths::cache();
    fs::create_dir_all(&cache).with_context(|| format!("cannot create {}", cache.display()))?;
    ensure_packages()?;
    let bindgen = ensure_bindgen(&cache)?;
    let src = ensure_source(&cache)?;
    Ok(Tools {
        rustc: "/usr/bin/rustc".into(),
        rustdoc: "/usr/bin/rustdoc".into(),
        bindgen,
        src,
    })
}

/// Setup step 4 for one configuration: the kernel, configured and built
/// (cached), and the toolchain that builds modules against it.
pub fn kernel(tools: &Tools, kernel: Kernel) -> Result<Toolchain> {
    let start = Instant::now();
    let tc = Toolchain {
        rustc: tools.rustc.clone(),
        rustdoc: tools.rustdoc.clone(),
        bindgen: tools.bindgen.clone(),
        kdir: PathBuf::new(),
        kernel,
    };
    let kdir = ensure_kernel(&paths::cache(), &tools.src, &tc)?;
    println!(
        "setup: {} kernel ready in {} (KDIR={})",
        kernel.name(),
        cmd::elapsed(start),
        kdir.display()
    );
    Ok(Toolchain { kdir, ..tc })
}

/// Runs every setup step for the normal kernel and returns the toolchain.
pub fn setup() -> Result<Toolchain> {
    let start = Instant::now();
    let tc = kernel(&tools()?, Kernel::Normal)?;
    println!("setup: ready in {}", cmd::elapsed(start));
    Ok(tc)
}

/// The kernel build directory of `kernel` prepared by the last setup.
pub fn current_kdir(kernel: Kernel) -> Result<PathBuf> {
    let link = kernel.current_link();
    fs::canonicalize(&link).with_context(|| {
        format!(
            "{} missing: run `cargo xtask setup --kernel {}`",
            link.display(),
            kernel.name()
        )
    })
}

/// The installed version of a Debian package, if it is installed.
fn installed_version(pkg: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Abbrev} ${Version}", pkg])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rest = text.strip_prefix("ii ")?;
    Some(rest.trim().to_string())
}

/// Versions of `pkg` that apt can install, from `apt-cache madison`.
fn available_versions(pkg: &str) -> Result<Vec<String>> {
    let out = cmd::output(Command::new("apt-cache").args(["madison", pkg]))?;
    Ok(out
        .lines()
        .filter_map(|l| l.split('|').nth(1).map(|v| v.trim().to_string()))
        .collect())
}

fn packages_satisfied() -> bool {
    let rust_ok = RUST_VERSIONS.iter().any(|v| {
        RUST_PACKAGES
            .iter()
            .all(|p| installed_version(p).as_deref() == Some(*v))
    });
    let kernel_ok = installed_version(KERNEL_PACKAGE).as_deref() == Some(KERNEL_VERSION);
    rust_ok
        && kernel_ok
        && OTHER_PACKAGES
            .iter()
            .all(|p| installed_version(p).is_some())
}

fn ensure_packages() -> Result<()> {
    if packages_satisfied() {
        println!("setup: Debian packages present");
        return Ok(());
    }
    let stage = Stage::begin("installing Debian packages");
    let uid = cmd::output(Command::new("id").arg("-u"))?;
    if uid.trim() != "0" {
        bail!("installing packages needs root: run `cargo xtask setup` as root once");
    }
    cmd::run(Command::new("apt-get").args(["update", "-q"]))?;

    let offered = available_versions("rustc-web")?;
    let Some(rust) = RUST_VERSIONS
        .iter()
        .find(|v| offered.iter().any(|o| o == *v))
    else {
        bail!(
            "none of the known-good rustc-web versions ({}) is offered by apt; it offers: {}",
            RUST_VERSIONS.join(", "),
            offered.join(", ")
        );
    };
    let kernels = available_versions(KERNEL_PACKAGE)?;
    if !kernels.iter().any(|k| k == KERNEL_VERSION) {
        bail!(
            "{KERNEL_PACKAGE}={KERNEL_VERSION} is no longer offered by apt; it offers: {}",
            kernels.join(", ")
        );
    }
    let mut args: Vec<String> = vec!["install".into(), "-y".into(), "-q".into()];
    args.extend(RUST_PACKAGES.iter().map(|p| format!("{p}={rust}")));
    args.push(format!("{KERNEL_PACKAGE}={KERNEL_VERSION}"));
    args.extend(OTHER_PACKAGES.iter().map(|p| p.to_string()));
    cmd::run(
        Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    stage.done();
    Ok(())
}

fn ensure_bindgen(cache: &Path) -> Result<PathBuf> {
    let root = cache.join(format!("bindgen-{BINDGEN_VERSION}"));
    let bin = root.join("bin/bindgen");
    let version_ok = |bin: &Path| {
        Command::new(bin)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains(BINDGEN_VERSION))
            .unwrap_or(false)
    };
    if version_ok(&bin) {
        println!("setup: bindgen {BINDGEN_VERSION} present");
        return Ok(bin);
    }
    let stage = Stage::begin(&format!(
        "building bindgen-cli {BINDGEN_VERSION} (about 2 minutes)"
    ));
    cmd::run(
        Command::new("cargo")
            .args([
                "install",
                "bindgen-cli",
                "--locked",
                "--version",
                BINDGEN_VERSION,
                "--root",
            ])
            .arg(&root),
    )?;
    if !version_ok(&bin) {
        bail!(
            "{} does not report version {BINDGEN_VERSION}",
            bin.display()
        );
    }
    stage.done();
    Ok(bin)
}

fn ensure_source(cache: &Path) -> Result<PathBuf> {
    let src = cache.join(format!("src/linux-{KERNEL_VERSION}"));
    let marker = src.join(".mint-extracted");
    if marker.exists() {
        println!("setup: kernel source present ({})", src.display());
        return Ok(src);
    }
    let stage = Stage::begin(&format!("extracting {KERNEL_TARBALL}"));
    let tmp = cache.join("src/.extracting");
    let _ = fs::remove_dir_all(&tmp);
    let _ = fs::remove_dir_all(&src);
    fs::create_dir_all(&tmp)?;
    cmd::run(
        Command::new("tar")
            .arg("-xf")
            .arg(KERNEL_TARBALL)
            .arg("-C")
            .arg(&tmp),
    )?;
    fs::rename(tmp.join("linux-source-6.12"), &src).context("unexpected tarball layout")?;
    fs::remove_dir_all(&tmp)?;
    fs::write(&marker, KERNEL_VERSION)?;
    stage.done();
    Ok(src)
}

/// The kernel release of the extracted source, e.g. `6.12.117`.
fn kernel_release(src: &Path) -> Result<String> {
    let makefile = fs::read_to_string(src.join("Makefile"))?;
    let field = |name: &str| {
        makefile
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|r| r.trim().strip_prefix('='))
            })
            .map(|v| v.trim().to_string())
            .with_context(|| format!("no {name} in the kernel Makefile"))
    };
    Ok(format!(
        "{}.{}.{}",
        field("VERSION")?,
        field("PATCHLEVEL")?,
        field("SUBLEVEL")?
    ))
}

/// Hash of everything that changes the kernel build: the source package, the
/// configuration fragment and the tool versions.
fn build_key(fragment: &str, tc: &Toolchain) -> Result<String> {
    let mut h = Sha256::new();
    h.update(KERNEL_VERSION.as_bytes());
    h.update(fragment.as_bytes());
    for tool in [&tc.rustc, &tc.bindgen, Path::new("gcc")] {
        h.update(cmd::output(Command::new(tool).arg("--version"))?.as_bytes());
    }
    let digest = h.finalize();
    Ok(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
}

fn ensure_kernel(cache: &Path, src: &Path, tc: &Toolchain) -> Result<PathBuf> {
    // The fragments, concatenated in order. The normal kernel's key is the
    // hash of qemu/kernel.config alone, the debug kernel's that of both files.
    let mut fragment = String::new();
    for name in tc.kernel.fragments() {
        let path = paths::workspace().join(name);
        fragment.push_str(
            &fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        );
    }
    let key = build_key(&fragment, tc)?;
    let kdir = cache.join(format!(
        "kernel/{}-{key}{}",
        kernel_release(src)?,
        tc.kernel.cache_suffix()
    ));
    let built = kdir.join(".mint-built");
    if !built.exists() {
        fs::create_dir_all(&kdir)?;
        configure_kernel(src, &kdir, &fragment, tc)?;
        build_kernel(src, &kdir, tc)?;
        fs::write(&built, &key)?;
    } else {
        println!(
            "setup: {} kernel build cached ({})",
            tc.kernel.name(),
            kdir.display()
        );
    }
    prune_other_builds(cache, &kdir, tc.kernel);
    let current = tc.kernel.current_link();
    let _ = fs::remove_file(&current);
    symlink(&kdir, &current)?;
    Ok(kdir)
}

/// Removes builds of older configurations of the same kernel kind (each is
/// ~2 GiB); the other kind's build is kept.
fn prune_other_builds(cache: &Path, keep: &Path, kernel: Kernel) {
    let Ok(entries) = fs::read_dir(cache.join("kernel")) else {
        return;
    };
    let debug_suffix = Kernel::Debug.cache_suffix();
    for e in entries.flatten() {
        let p = e.path();
        let is_debug = e.file_name().to_string_lossy().ends_with(debug_suffix);
        if p != keep
            && is_debug == (kernel == Kernel::Debug)
            && p.is_dir()
            && !e.file_type().map(|t| t.is_symlink()).unwrap_or(true)
        {
            println!("setup: removing old kernel build {}", p.display());
            let _ = fs::remove_dir_all(&p);
        }
    }
}

fn kmake(src: &Path, kdir: &Path, tc: &Toolchain) -> Command {
    let mut c = Command::new("make");
    c.arg("-C")
        .arg(src)
        .arg(format!("O={}", kdir.display()))
        .args(tc.make_vars());
    c
}

fn configure_kernel(src: &Path, kdir: &Path, fragment: &str, tc: &Toolchain) -> Result<()> {
    if kdir.join(".mint-configured").exists() {
        return Ok(());
    }
    let stage = Stage::begin(&format!(
        "configuring the {} kernel (tinyconfig + {})",
        tc.kernel.name(),
        tc.kernel.fragments().join(" + ")
    ));
    // `CONFIG_X=...` lines, and `# CONFIG_X is not set` lines (options forced off).
    let wanted: Vec<&str> = fragment
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("CONFIG_") || (l.starts_with("# CONFIG_") && l.ends_with(" is not set"))
        })
        .collect();
    // A later fragment may only add options: Kconfig would silently keep the
    // last of two different settings of one symbol.
    let symbol = |l: &str| {
        let l = l.strip_prefix("# ").unwrap_or(l);
        l.split(['=', ' ']).next().unwrap_or(l).to_string()
    };
    for (i, a) in wanted.iter().enumerate() {
        if let Some(b) = wanted[..i]
            .iter()
            .find(|b| symbol(b) == symbol(a) && *b != a)
        {
            bail!("the configuration fragments disagree: {b:?} and later {a:?}");
        }
    }
    cmd::output(kmake(src, kdir, tc).arg("tinyconfig"))?;
    let config = kdir.join(".config");
    let mut f = fs::OpenOptions::new().append(true).open(&config)?;
    for line in &wanted {
        writeln!(f, "{line}")?;
    }
    drop(f);
    cmd::output(kmake(src, kdir, tc).arg("olddefconfig"))?;
    let result = fs::read_to_string(&config)?;
    let survived = |w: &str| match w
        .strip_prefix("# ")
        .and_then(|r| r.strip_suffix(" is not set"))
    {
        // Off: absent, or explicitly not set.
        Some(name) => !result.lines().any(|l| l.starts_with(&format!("{name}="))),
        None => result.lines().any(|l| l == w),
    };
    let dropped: Vec<&&str> = wanted.iter().filter(|w| !survived(w)).collect();
    if !dropped.is_empty() {
        bail!(
            "kernel configuration dropped {:?} (unmet dependencies, or Rust not available: \
             see `make rustavailable`)",
            dropped
        );
    }
    let avail = cmd::output(kmake(src, kdir, tc).arg("rustavailable"))?;
    if !avail.contains("Rust is available") {
        bail!("make rustavailable: {avail}");
    }
    fs::write(kdir.join(".mint-configured"), "")?;
    stage.done();
    Ok(())
}

fn build_kernel(src: &Path, kdir: &Path, tc: &Toolchain) -> Result<()> {
    let jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let stage = Stage::begin(&format!(
        "building the {} kernel with {jobs} jobs ({} on 2 cores)",
        tc.kernel.name(),
        match tc.kernel {
            Kernel::Normal => "about 4-5 minutes",
            Kernel::Debug => "about 6-7 minutes",
        }
    ));
    let log_path = kdir.join("build.log");
    let mut log = fs::File::create(&log_path)?;
    let mut make = kmake(src, kdir, tc);
    make.arg(format!("-j{jobs}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    println!("$ {}  (log: {})", cmd::display(&make), log_path.display());
    let mut child = make.spawn().context("cannot run make")?;
    // Merge stderr into the same line stream.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx2.send(line);
        }
    });
    let start = Instant::now();
    let mut last_report = Instant::now();
    let mut steps = 0usize;
    let mut last_step = String::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                writeln!(log, "{line}")?;
                if line.starts_with("  ")
                    && line.as_bytes().get(2).is_some_and(u8::is_ascii_uppercase)
                {
                    steps += 1;
                    last_step = line.split_whitespace().collect::<Vec<_>>().join(" ");
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            let pct = (steps * 100 / KERNEL_STEPS_ESTIMATE).min(99);
            println!(
                "    kernel: ~{pct}% ({steps} steps, {}) {last_step}",
                cmd::elapsed(start)
            );
            last_report = Instant::now();
        }
    }
    let status = child.wait()?;
    if !status.success() {
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        for l in tail.iter().rev() {
            eprintln!("    {l}");
        }
        bail!(
            "kernel build failed ({status}); full log: {}",
            log_path.display()
        );
    }
    for needed in ["arch/x86/boot/bzImage", "Module.symvers"] {
        if !kdir.join(needed).exists() {
            bail!("kernel build finished without {needed}");
        }
    }
    stage.done();
    Ok(())
}
