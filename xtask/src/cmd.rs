//! Running commands: echo them, check their status, time stages.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// Renders a command the way a shell user would type it.
pub fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Runs `cmd` with inherited output; fails on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result<()> {
    println!("$ {}", display(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {}", display(cmd)))?;
    if !status.success() {
        bail!("`{}` failed: {status}", display(cmd));
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its stdout; fails on a non-zero exit.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {}", display(cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed: {}\n{}",
            display(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A named stage that reports its duration when it ends.
pub struct Stage {
    name: String,
    start: Instant,
}

impl Stage {
    pub fn begin(name: &str) -> Self {
        println!("==> {name}");
        Self {
            name: name.to_string(),
            start: Instant::now(),
        }
    }

    pub fn done(self) {
        println!("<== {} ({})", self.name, elapsed(self.start));
    }
}

/// Formats the time since `start` as `1m23s` or `4.2s`.
pub fn elapsed(start: Instant) -> String {
    let secs = start.elapsed().as_secs_f64();
    if secs >= 60.0 {
        format!("{}m{:02}s", secs as u64 / 60, secs as u64 % 60)
    } else {
        format!("{secs:.1}s")
    }
}
