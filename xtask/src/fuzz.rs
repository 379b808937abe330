//! `cargo xtask fuzz`: every fuzz target of `fuzz/` under libFuzzer
//! (`cargo fuzz`), one after the other, each seeded from the project's real
//! inputs.
//!
//! 1. Setup and build the normal kernel's artifacts (`--no-build` skips
//!    this), so that the seeds come from this tree's own bzImage and
//!    initramfs images.
//! 2. Install cargo-fuzz [`CARGO_FUZZ_VERSION`] into the cache, once.
//! 3. Write the seeds: `mint-fuzz seeds out/fuzz/seeds` (the stable tool of
//!    `fuzz/harness`: checked-in seeds, recorded regressions, seeds cut
//!    from the real inputs, a dictionary per target).
//! 4. `cargo fuzz build`, then `cargo fuzz run` per target, growing
//!    `out/fuzz/corpus/<target>/`, for `--seconds` (default 60) or `--runs`
//!    executions. Logs go to `out/fuzz/logs/<target>.log`, crashes to
//!    `fuzz/artifacts/<target>/`.
//!
//! Flags passed to cargo fuzz: `-a` (debug assertions, hence overflow
//! checks: the fuzzers must see arithmetic overflow) and
//! `--sanitizer none` by default: no code under test is `unsafe` (targets,
//! mint-logic and the parsers forbid it), so AddressSanitizer would only
//! halve the executions. `--sanitizer address` turns it on; it needs
//! `-Zsanitizer`, which on a stable toolchain is allowed with
//! `RUSTC_BOOTSTRAP=1` (set here). Without a sanitizer nothing needs
//! nightly: cargo fuzz then passes only stable `-C` flags and `--cfg fuzzing`.
//!
//! The short regression run that `cargo xtask test` does is not this: it is
//! the `cargo test` of `fuzz/harness` (no libFuzzer), part of the host unit
//! tests.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;

use crate::cmd::{self, Stage};
use crate::paths::{self, Kernel};
use crate::{build, setup};

/// The cargo-fuzz release installed into the cache (`cargo install --locked`).
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Largest single allocation a fuzz target may make, in MiB.
const MALLOC_LIMIT_MB: u32 = 300;

/// `cargo xtask fuzz` options.
#[derive(clap::Args)]
pub struct FuzzArgs {
    /// Seconds per target (default 60, unless `--runs` is given).
    #[arg(long)]
    seconds: Option<u64>,
    /// Executions per target (with `--seconds` too: whichever ends first).
    #[arg(long)]
    runs: Option<u64>,
    /// Only this target (repeatable); default: every target.
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// Sanitizer for the fuzzed code.
    #[arg(long, value_enum, default_value_t = Sanitizer::None)]
    sanitizer: Sanitizer,
    /// Do not set up and build the kernel first: the real seeds come from
    /// whatever `out/` holds (none if it is empty).
    #[arg(long)]
    no_build: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Sanitizer {
    None,
    Address,
}

impl Sanitizer {
    fn name(self) -> &'static str {
        match self {
            Sanitizer::None => "none",
            Sanitizer::Address => "address",
        }
    }
}

/// One target as `mint-fuzz list` reports it.
struct Target {
    name: String,
    max_len: usize,
}

/// What one target's run did.
struct Outcome {
    name: String,
    execs: Option<u64>,
    per_sec: Option<u64>,
    corpus: usize,
    secs: f64,
    failure: Option<String>,
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(paths::workspace());
    c
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// cargo-fuzz from the cache, installed there the first time.
fn ensure_cargo_fuzz() -> Result<PathBuf> {
    let root = paths::cache().join(format!("tools/cargo-fuzz-{CARGO_FUZZ_VERSION}"));
    let bin = root.join("bin/cargo-fuzz");
    let version_ok = |b: &Path| {
        Command::new(b)
            .args(["fuzz", "--version"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ_VERSION))
    };
    if version_ok(&bin) {
        println!("fuzz: cargo-fuzz {CARGO_FUZZ_VERSION} present");
        return Ok(bin);
    }
    let stage = Stage::begin(&format!(
        "installing cargo-fuzz {CARGO_FUZZ_VERSION} (about 1.5 minutes)"
    ));
    cmd::run(
        cargo()
            .args([
                "install",
                "cargo-fuzz",
                "--locked",
                "--version",
                CARGO_FUZZ_VERSION,
            ])
            .arg("--root")
            .arg(&root),
    )?;
    if !version_ok(&bin) {
        bail!(
            "{} does not report version {CARGO_FUZZ_VERSION}",
            bin.display()
        );
    }
    stage.done();
    Ok(bin)
}

/// `cargo fuzz SUBCOMMAND` with the flags every call shares.
fn cargo_fuzz(bin: &Path, sub: &str, sanitizer: Sanitizer) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(paths::workspace())
        .args([
            "fuzz",
            sub,
            "--sanitizer",
            sanitizer.name(),
            "--debug-assertions",
        ])
        .arg("--target-dir")
        .arg(paths::workspace().join(match sanitizer {
            Sanitizer::None => "target/fuzz",
            Sanitizer::Address => "target/fuzz-address",
        }));
    if sanitizer != Sanitizer::None {
        let rustc = Command::new("rustc").arg("-V").output();
        let nightly = rustc.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("nightly"));
        if !nightly {
            // -Zsanitizer on the stable toolchain.
            c.env("RUSTC_BOOTSTRAP", "1");
        }
    }
    // libfuzzer-sys compiles libFuzzer (C++): Debian's clang is there
    // after setup, g++ not necessarily.
    if std::env::var_os("CXX").is_none() && !on_path("c++") && on_path("clang++") {
        c.env("CXX", "clang++");
    }
    c
}

/// `cargo run` of the harness's stable tool `mint-fuzz SUBCOMMAND`.
fn fuzz_tool(subcommand: &str) -> Command {
    let mut c = cargo();
    c.args([
        "run",
        "-q",
        "-p",
        "mint-fuzz-harness",
        "--bin",
        "mint-fuzz",
        "--",
        subcommand,
    ]);
    c
}

fn targets(wanted: &[String]) -> Result<Vec<Target>> {
    let list = cmd::output(&mut fuzz_tool("list"))?;
    let all: Vec<Target> = list
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some(Target {
                name: w.next()?.to_string(),
                max_len: w.next()?.parse().ok()?,
            })
        })
        .collect();
    for w in wanted {
        if !all.iter().any(|t| &t.name == w) {
            let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
            bail!("no fuzz target {w}: the targets are {}", names.join(", "));
        }
    }
    Ok(all
        .into_iter()
        .filter(|t| wanted.is_empty() || wanted.contains(&t.name))
        .collect())
}

/// The value of libFuzzer's final `stat::NAME: value` line.
fn stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .find_map(|l| l.strip_prefix(&format!("stat::{name}:")))
        .and_then(|v| v.trim().parse().ok())
}

fn run_target(bin: &Path, t: &Target, args: &FuzzArgs, seconds: Option<u64>) -> Result<Outcome> {
    let out = paths::out().join("fuzz");
    let corpus = out.join("corpus").join(&t.name);
    let seeds = out.join("seeds").join(&t.name);
    let logs = out.join("logs");
    std::fs::create_dir_all(&corpus)?;
    std::fs::create_dir_all(&logs)?;
    let log_path = logs.join(format!("{}.log", t.name));
    let mut c = cargo_fuzz(bin, "run", args.sanitizer);
    c.arg(&t.name).arg(&corpus).arg(&seeds).arg("--");
    c.arg(format!("-max_len={}", t.max_len))
        .arg(format!(
            "-dict={}",
            out.join("seeds").join(format!("{}.dict", t.name)).display()
        ))
        .args(["-print_final_stats=1", "-timeout=10", "-rss_limit_mb=2048"])
        // An allocation sized by the input is a bug: no target needs more
        // than the 256 MiB window `assemble` may load (enforced by
        // libFuzzer's malloc hooks, i.e. with --sanitizer address).
        .arg(format!("-malloc_limit_mb={MALLOC_LIMIT_MB}"));
    if let Some(s) = seconds {
        c.arg(format!("-max_total_time={s}"));
    }
    if let Some(r) = args.runs {
        c.arg(format!("-runs={r}"));
    }
    println!("$ {}", cmd::display(&c));
    let start = Instant::now();
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run cargo fuzz")?;
    let mut log = std::fs::File::create(&log_path)?;
    let mut text = String::new();
    for line in BufReader::new(child.stderr.take().expect("piped")).lines() {
        let line = line?;
        writeln!(log, "{line}")?;
        // Progress at libFuzzer's pulses (powers of two), and every problem.
        if line.contains(" pulse ")
            || line.contains("DONE")
            || line.contains("INITED")
            || line.contains("ERROR")
            || line.contains("panicked")
            || line.contains("Test unit written")
            || line.starts_with("error")
        {
            println!("    {}: {line}", t.name);
        }
        text.push_str(&line);
        text.push('\n');
    }
    let status = child.wait()?;
    let failure = (!status.success()).then(|| {
        let artifact = text.lines().find_map(|l| {
            l.split_once("Test unit written to ")
                .map(|(_, p)| p.trim().to_string())
        });
        match artifact {
            Some(a) => format!(
                "{status}: input in {a}; replay it with `cargo run -p mint-fuzz --bin {} -- {a}`, \
                 then add it to fuzz/regressions/{}/ and a unit test (log: {})",
                t.name,
                t.name,
                log_path.display()
            ),
            None => format!("{status} (log: {})", log_path.display()),
        }
    });
    Ok(Outcome {
        name: t.name.clone(),
        execs: stat(&text, "number_of_executed_units"),
        per_sec: stat(&text, "average_exec_per_sec"),
        corpus: std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0),
        secs: start.elapsed().as_secs_f64(),
        failure,
    })
}

/// `cargo xtask fuzz`.
pub fn fuzz(args: &FuzzArgs) -> Result<()> {
    let bzimage = if args.no_build {
        None
    } else {
        let tc = setup::kernel(&setup::tools()?, Kernel::Normal)?;
        Some(build::build(&tc)?.bzimage)
    };
    let bin = ensure_cargo_fuzz()?;
    let targets = targets(&args.targets)?;

    let stage = Stage::begin("writing fuzz seeds (out/fuzz/seeds)");
    let mut c = fuzz_tool("seeds");
    c.arg(paths::out().join("fuzz/seeds"));
    if let Some(b) = &bzimage {
        c.env("MINT_TEST_BZIMAGE", b)
            .env("MINT_REQUIRE_BZIMAGE", "1");
    }
    cmd::run(&mut c)?;
    stage.done();

    let stage = Stage::begin(&format!(
        "building the fuzz targets (cargo fuzz, sanitizer {})",
        args.sanitizer.name()
    ));
    cmd::run(&mut cargo_fuzz(&bin, "build", args.sanitizer))?;
    stage.done();

    let seconds = match (args.seconds, args.runs) {
        (None, None) => Some(60),
        (s, _) => s,
    };
    let mut outcomes = Vec::new();
    for t in &targets {
        let stage = Stage::begin(&format!("fuzzing {}", t.name));
        outcomes.push(run_target(&bin, t, args, seconds)?);
        stage.done();
    }

    println!(
        "{:<14} {:>14} {:>10} {:>8} {:>9}  result",
        "target", "executions", "exec/s", "corpus", "time"
    );
    let num = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
    for o in &outcomes {
        println!(
            "{:<14} {:>14} {:>10} {:>8} {:>8.0}s  {}",
            o.name,
            num(o.execs),
            num(o.per_sec),
            o.corpus,
            o.secs,
            if o.failure.is_some() { "FAIL" } else { "ok" }
        );
    }
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.failure.is_some()).collect();
    for o in &failed {
        println!("FAIL {}: {}", o.name, o.failure.as_deref().unwrap_or(""));
    }
    println!(
        "{} passed, {} failed",
        outcomes.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        bail!("{} fuzz target(s) failed", failed.len());
    }
    Ok(())
}
