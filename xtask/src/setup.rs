//! `cargo xtask setup`: everything a fresh Debian 12 machine needs, idempotent.
//!
//! 1. Debian packages, with the Rust toolchain, the kernel source and QEMU
//!    (from bookworm-backports, a suite setup adds if no source has it)
//!    pinned;
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
/// QEMU >= 9 (TCG x2APIC), from Debian bookworm-backports: bookworm has 7.2.
/// Every QEMU package that is installed must be at this one version, or apt
/// keeps or pulls in 7.2's qemu-utils/qemu-block-extra next to it (checked
/// with `apt-get install --simulate`); they run with bookworm's libraries.
const QEMU_VERSION: &str = "1:10.0.2+ds-2+deb13u1~bpo12+1";
const QEMU_PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "qemu-system-common",
    "qemu-system-data",
    "qemu-system-gui",
    "qemu-system-modules-opengl",
    "qemu-system-modules-spice",
    "qemu-block-extra",
    "qemu-utils",
];
/// qemu-system-x86 10 needs seabios >> 1.16.3-1~; bookworm has 1.16.2.
const SEABIOS_PACKAGE: &str = "seabios";
const SEABIOS_VERSION: &str = "1.16.3-2~bpo12+1";
/// The oldest QEMU the tests accept: TCG emulates x2APIC from 9.0 on.
const QEMU_MIN: (u32, u32) = (9, 0);
/// The suite with the QEMU above, and the file setup writes to add it.
const BACKPORTS_SUITE: &str = "bookworm-backports";
const BACKPORTS_SOURCE: &str = "/etc/apt/sources.list.d/mint-backports.sources";
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
    "e2fsprogs",
    "acpica-tools",
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
    check_qemu()?;
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

/// The packages pinned to exactly one version, besides the Rust toolchain.
fn exact_pins() -> Vec<(&'static str, &'static str)> {
    let mut pins = vec![(KERNEL_PACKAGE, KERNEL_VERSION)];
    pins.extend(QEMU_PACKAGES.iter().map(|p| (*p, QEMU_VERSION)));
    pins.push((SEABIOS_PACKAGE, SEABIOS_VERSION));
    pins
}

/// Whether every pinned package is installed at its pinned version and every
/// other package at all: then setup runs no apt command.
fn packages_satisfied() -> bool {
    let rust_ok = RUST_VERSIONS.iter().any(|v| {
        RUST_PACKAGES
            .iter()
            .all(|p| installed_version(p).as_deref() == Some(*v))
    });
    rust_ok
        && exact_pins()
            .iter()
            .all(|(p, v)| installed_version(p).as_deref() == Some(*v))
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
    ensure_backports_source()?;
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
    let mut gone = Vec::new();
    for (pkg, version) in exact_pins() {
        let offered = available_versions(pkg)?;
        if !offered.iter().any(|o| o == version) {
            gone.push(format!(
                "{pkg}={version} is no longer offered by apt; it offers: {}",
                if offered.is_empty() {
                    "nothing".to_string()
                } else {
                    offered.join(", ")
                }
            ));
        }
    }
    if !gone.is_empty() {
        bail!(
            "{}\n(bookworm-backports keeps only its newest upload: a newer QEMU there \
             means updating QEMU_VERSION/SEABIOS_VERSION in xtask/src/setup.rs)",
            gone.join("\n")
        );
    }
    let mut args: Vec<String> = vec!["install".into(), "-y".into(), "-q".into()];
    args.extend(RUST_PACKAGES.iter().map(|p| format!("{p}={rust}")));
    args.extend(exact_pins().iter().map(|(p, v)| format!("{p}={v}")));
    args.extend(OTHER_PACKAGES.iter().map(|p| p.to_string()));
    cmd::run(
        Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    stage.done();
    Ok(())
}

/// One entry of apt's sources: one-line (`deb [signed-by=...] URI SUITE
/// COMPONENT...`) or a deb822 stanza.
#[derive(Debug, Default, PartialEq)]
struct AptSource {
    types: Vec<String>,
    uris: Vec<String>,
    suites: Vec<String>,
    /// As written: a path, or an inline key with its continuation lines.
    signed_by: Option<String>,
}

impl AptSource {
    fn is_deb_for(&self, suite: &str) -> bool {
        self.types.iter().any(|t| t == "deb") && self.suites.iter().any(|s| s == suite)
    }
}

/// The enabled stanzas of a deb822 `.sources` file.
fn parse_deb822(text: &str) -> Vec<AptSource> {
    // Stanzas end at blank lines; each is a list of fields, continuation
    // lines (leading white space) kept raw.
    let mut stanzas: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if line.trim().is_empty() {
            stanzas.push(Vec::new());
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = stanzas.last_mut().and_then(|s| s.last_mut()) {
                v.push('\n');
                v.push_str(line);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            let field = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            stanzas.last_mut().expect("never empty").push(field);
        }
    }
    let mut out = Vec::new();
    for fields in stanzas.iter().filter(|f| !f.is_empty()) {
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let words = |name: &str| -> Vec<String> {
            field(name)
                .map(|v| v.split_whitespace().map(String::from).collect())
                .unwrap_or_default()
        };
        if field("enabled").is_some_and(|v| v.trim() == "no") {
            continue;
        }
        out.push(AptSource {
            types: words("types"),
            uris: words("uris"),
            suites: words("suites"),
            signed_by: field("signed-by").cloned(),
        });
    }
    out
}

/// The entries of a one-line `sources.list` file.
fn parse_one_line(text: &str) -> Vec<AptSource> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((kind, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        if kind != "deb" && kind != "deb-src" {
            continue;
        }
        let mut rest = rest.trim_start();
        let mut signed_by = None;
        if let Some(opts) = rest.strip_prefix('[') {
            let Some((opts, after)) = opts.split_once(']') else {
                continue;
            };
            signed_by = opts
                .split_whitespace()
                .find_map(|o| o.strip_prefix("signed-by="))
                .map(String::from);
            rest = after;
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        out.push(AptSource {
            types: vec![kind.to_string()],
            uris: vec![uri.to_string()],
            suites: vec![suite.to_string()],
            signed_by,
        });
    }
    out
}

/// Every entry apt reads: sources.list, sources.list.d/*.list and
/// sources.list.d/*.sources, with the file each came from.
fn apt_sources() -> Vec<(PathBuf, AptSource)> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        let entries = match f.extension().and_then(|e| e.to_str()) {
            Some("sources") => parse_deb822(&text),
            Some("list") => parse_one_line(&text),
            _ => continue,
        };
        out.extend(entries.into_iter().map(|e| (f.clone(), e)));
    }
    out
}

/// The deb822 stanza for bookworm-backports, with the URIs and Signed-By of
/// the machine's own bookworm entry.
fn backports_stanza(main: &AptSource, from: &Path) -> String {
    let mut s = format!(
        "# Added by `cargo xtask setup` (mint): QEMU >= 9 comes from {BACKPORTS_SUITE}.\n\
         # URIs and Signed-By are those of the bookworm entry in {}.\n\
         Types: deb\nURIs: {}\nSuites: {BACKPORTS_SUITE}\nComponents: main\n",
        from.display(),
        main.uris.join(" ")
    );
    if let Some(key) = &main.signed_by {
        s.push_str(&format!("Signed-By: {key}\n"));
    }
    s
}

/// Adds bookworm-backports to apt's sources unless a source already has it.
/// apt gives backports priority 100, so only packages named with a
/// backports version come from it.
fn ensure_backports_source() -> Result<()> {
    let sources = apt_sources();
    if let Some((f, _)) = sources.iter().find(|(_, e)| e.is_deb_for(BACKPORTS_SUITE)) {
        println!("setup: {BACKPORTS_SUITE} is configured ({})", f.display());
        return Ok(());
    }
    let Some((from, main)) = sources.iter().find(|(_, e)| e.is_deb_for("bookworm")) else {
        bail!(
            "no apt source for Debian bookworm in /etc/apt/sources.list or \
             /etc/apt/sources.list.d/ to take the mirror from: add {BACKPORTS_SUITE} \
             (QEMU {QEMU_VERSION}) yourself"
        );
    };
    let text = backports_stanza(main, from);
    let tmp = format!("{BACKPORTS_SOURCE}.tmp");
    fs::write(&tmp, &text).with_context(|| format!("cannot write {tmp}"))?;
    fs::rename(&tmp, BACKPORTS_SOURCE)
        .with_context(|| format!("cannot write {BACKPORTS_SOURCE}"))?;
    println!("setup: added {BACKPORTS_SUITE} to apt ({BACKPORTS_SOURCE}):");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        println!("    {line}");
    }
    Ok(())
}

/// `(major, minor)` and the rest of `qemu-system-x86_64 --version`'s first
/// line, e.g. `QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)`.
fn parse_qemu_version(text: &str) -> Option<((u32, u32), String)> {
    let first = text.lines().next()?;
    let rest = first.split("version ").nth(1)?.trim();
    let mut nums = rest.split(|c: char| !c.is_ascii_digit());
    let major = nums.next()?.parse().ok()?;
    let minor = nums.next()?.parse().ok()?;
    Some(((major, minor), rest.to_string()))
}

/// Prints the version of the QEMU on PATH and fails if it is older than 9.0.
fn check_qemu() -> Result<()> {
    let qemu = "qemu-system-x86_64";
    let out = cmd::output(Command::new(qemu).arg("--version"))?;
    let Some((version, text)) = parse_qemu_version(&out) else {
        bail!("cannot read a version from `{qemu} --version`: {out:?}");
    };
    let path = std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(qemu))
                .find(|f| f.is_file())
        })
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| qemu.to_string());
    println!("setup: QEMU {text} ({path})");
    if version < QEMU_MIN {
        bail!(
            "{path} is QEMU {text}; the tests need QEMU >= {}.{} (TCG x2APIC): \
             setup installs {QEMU_VERSION} from {BACKPORTS_SUITE}, so another QEMU \
             comes first on PATH",
            QEMU_MIN.0,
            QEMU_MIN.1
        );
    }
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
            Kernel::Normal => "about 10 minutes",
            Kernel::Debug => "about 13 minutes",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's /etc/apt/sources.list.d/debian.sources.
    const DEBIAN_SOURCES: &str = "\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

    #[test]
    fn deb822_main_entry() {
        let entries = parse_deb822(DEBIAN_SOURCES);
        assert_eq!(entries.len(), 2);
        let main: Vec<_> = entries
            .iter()
            .filter(|e| e.is_deb_for("bookworm"))
            .collect();
        assert_eq!(main.len(), 1);
        assert_eq!(main[0].uris, ["http://deb.debian.org/debian"]);
        assert_eq!(
            main[0].signed_by.as_deref(),
            Some("/usr/share/keyrings/debian-archive-keyring.gpg")
        );
        assert!(!entries.iter().any(|e| e.is_deb_for(BACKPORTS_SUITE)));
        let stanza = backports_stanza(main[0], Path::new("/x.sources"));
        let added = parse_deb822(&stanza);
        assert_eq!(added.len(), 1);
        assert!(added[0].is_deb_for(BACKPORTS_SUITE));
        assert!(!added[0].is_deb_for("bookworm"));
        assert_eq!(added[0].uris, main[0].uris);
        assert_eq!(added[0].signed_by, main[0].signed_by);
    }

    #[test]
    fn deb822_disabled_and_inline_key() {
        let text = "Types: deb\nURIs: http://a/debian\nSuites: bookworm-backports\n\
                    Components: main\nEnabled: no\n\n\
                    Types: deb deb-src\nURIs: http://m/debian\nSuites: bookworm\n\
                    Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n";
        let entries = parse_deb822(text);
        assert_eq!(entries.len(), 1);
        assert!(entries[0].is_deb_for("bookworm"));
        let key = entries[0].signed_by.as_deref().unwrap();
        assert_eq!(key, "\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc");
        let again = parse_deb822(&backports_stanza(&entries[0], Path::new("/x")));
        assert_eq!(again[0].signed_by, entries[0].signed_by);
    }

    #[test]
    fn one_line_entries() {
        let text = "# deb http://old/debian bookworm-backports main\n\
                    deb [arch=amd64 signed-by=/k.gpg] http://m/debian bookworm main contrib\n\
                    deb-src http://m/debian bookworm-backports main\n\
                    deb http://m/debian-security bookworm-security main # comment\n";
        let entries = parse_one_line(text);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].uris, ["http://m/debian"]);
        assert_eq!(entries[0].signed_by.as_deref(), Some("/k.gpg"));
        assert!(entries[0].is_deb_for("bookworm"));
        assert!(!entries.iter().any(|e| e.is_deb_for(BACKPORTS_SUITE)));
    }

    #[test]
    fn qemu_versions() {
        let old = "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n\
                   Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n";
        let (v, text) = parse_qemu_version(old).unwrap();
        assert_eq!(v, (7, 2));
        assert_eq!(text, "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)");
        assert!(v < QEMU_MIN);
        let new = "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\n";
        let (v, _) = parse_qemu_version(new).unwrap();
        assert_eq!(v, (10, 0));
        assert!(v >= QEMU_MIN);
        assert_eq!(parse_qemu_version("garbage"), None);
    }
}
