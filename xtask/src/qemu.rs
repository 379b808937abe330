//! Running the host in QEMU: TCG with `-cpu max` (or KVM with `-cpu host`,
//! for the benchmark when KVM works), serial ports wired to files, a timeout,
//! and QEMU killed on every exit path (the child is killed on drop).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::build::Artifacts;

/// How QEMU runs the guest's code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Accel {
    /// Software emulation (TCG), `-cpu max`: works everywhere; what the tests use.
    #[default]
    Tcg,
    /// Hardware virtualization (KVM), `-cpu host`.
    Kvm,
}

impl Accel {
    fn args(self) -> [&'static str; 4] {
        match self {
            Accel::Tcg => ["-accel", "tcg", "-cpu", "max"],
            Accel::Kvm => ["-accel", "kvm", "-cpu", "host"],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "TCG, `-cpu max`",
            Accel::Kvm => "KVM, `-cpu host`",
        }
    }
}

/// The host's platform: which machine QEMU emulates and so which APIC mode
/// the host's kernel runs in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// `-machine pc`: i440FX, the host runs its local APICs in xAPIC mode.
    #[default]
    Pc,
    /// `-machine q35` with an Intel IOMMU doing interrupt remapping with
    /// extended interrupt mode (`intel-iommu,intremap=on,eim=on`): the host
    /// runs in x2APIC mode, as servers do.
    X2apic,
    /// `-machine q35` without an IOMMU: PCI Express (ECAM, root ports) with
    /// the host in xAPIC mode and no interrupt remapping. Only scenarios
    /// that need PCI Express run here (the device scenario).
    Q35,
}

impl Profile {
    /// Every profile, in the order the tests run them.
    pub const ALL: [Profile; 3] = [Profile::Pc, Profile::Q35, Profile::X2apic];
    /// The profiles a scenario runs on unless it says otherwise.
    pub const CLASSIC: [Profile; 2] = [Profile::Pc, Profile::X2apic];

    fn args(self) -> &'static [&'static str] {
        match self {
            Profile::Pc => &["-machine", "pc"],
            Profile::Q35 => &["-machine", "q35"],
            Profile::X2apic => &[
                "-machine",
                "q35",
                "-device",
                "intel-iommu,intremap=on,eim=on",
            ],
        }
    }

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Pc => "pc",
            Profile::X2apic => "x2apic",
            Profile::Q35 => "q35",
        }
    }
}

/// How to boot the host.
pub struct Machine {
    /// vCPUs (`-smp`).
    pub cpus: u32,
    /// Guest RAM in MiB.
    pub mem_mib: u32,
    /// Host kernel command line, without `console=` (added here).
    pub append: String,
    /// Number of serial ports (ttyS0 = host console, ttyS1.. = partitions).
    pub serials: usize,
    /// Boot this initramfs instead of the host's.
    pub initrd: Option<PathBuf>,
    /// TCG unless the benchmark found KVM usable.
    pub accel: Accel,
    /// The platform.
    pub profile: Profile,
    /// The profiles this machine exists on (QEMU refuses it on the others,
    /// e.g. more than 255 CPUs on `pc`); the tests skip it elsewhere.
    pub profiles: &'static [Profile],
    /// More QEMU arguments, after the others (a second `-smp` merges with
    /// the first, so it can add a topology to `cpus`).
    pub extra_args: Vec<String>,
    /// QEMU trace events switched on and off by the host's script: when
    /// the host console prints `@@ trace-on` the harness enables these
    /// events (a glob, through QMP), at `@@ trace-off` it disables them;
    /// QEMU writes the trace to `qemu-trace.log` in the log directory.
    pub trace: Option<&'static str>,
}

impl Default for Machine {
    fn default() -> Self {
        Self {
            cpus: 2,
            mem_mib: 1024,
            append: String::new(),
            serials: 2,
            initrd: None,
            accel: Accel::Tcg,
            profile: Profile::Pc,
            profiles: &Profile::CLASSIC,
            extra_args: Vec::new(),
            trace: None,
        }
    }
}

/// A running QEMU; killed when dropped.
pub struct Qemu {
    child: Child,
    /// `serial[i]` is the file that receives ttyS<i>.
    pub serial: Vec<PathBuf>,
    /// QEMU's own messages.
    stderr: PathBuf,
    /// The QMP socket, if the machine has one (see [`Machine::trace`]).
    pub qmp: Option<PathBuf>,
    /// Where QEMU writes trace events.
    pub trace_log: PathBuf,
}

/// Host command line parts every boot uses: the console, and a clean panic
/// (stop, do not reboot) so a failing test ends instead of looping.
const BASE_APPEND: &str = "console=ttyS0 panic=-1 printk.time=1";

impl Qemu {
    /// Boots `artifacts` with `machine`; serial logs go to `log_dir`.
    pub fn boot(artifacts: &Artifacts, machine: &Machine, log_dir: &Path) -> Result<Self> {
        fs::create_dir_all(log_dir)?;
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args(machine.profile.args())
            .args(machine.accel.args())
            .args(["-smp", &machine.cpus.to_string()])
            .args(["-m", &format!("{}M", machine.mem_mib)])
            .args([
                "-nodefaults",
                "-display",
                "none",
                "-no-reboot",
                "-monitor",
                "none",
            ])
            .arg("-kernel")
            .arg(&artifacts.bzimage)
            .arg("-initrd")
            .arg(machine.initrd.as_ref().unwrap_or(&artifacts.host_initramfs))
            .arg("-append")
            .arg(format!("{BASE_APPEND} {}", machine.append))
            .args(&machine.extra_args);
        let mut serial = Vec::new();
        for i in 0..machine.serials {
            let path = log_dir.join(format!("ttyS{i}.log"));
            let _ = fs::remove_file(&path);
            cmd.arg("-serial").arg(format!("file:{}", path.display()));
            serial.push(path);
        }
        let trace_log = log_dir.join("qemu-trace.log");
        let _ = fs::remove_file(&trace_log);
        let qmp = machine.trace.map(|_| log_dir.join("qmp.sock"));
        if let Some(sock) = &qmp {
            let _ = fs::remove_file(sock);
            cmd.arg("-qmp")
                .arg(format!("unix:{},server=on,wait=off", sock.display()))
                .arg("-D")
                .arg(&trace_log);
        }
        let stderr = log_dir.join("qemu-stderr.log");
        let stderr_file = fs::File::create(&stderr)
            .with_context(|| format!("cannot create {}", stderr.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr_file);
        let child = cmd.spawn().context("cannot start qemu-system-x86_64")?;
        Ok(Self {
            child,
            serial,
            stderr,
            qmp,
            trace_log,
        })
    }

    /// The first line QEMU itself printed (its error, if it failed).
    pub fn first_error(&self) -> Option<String> {
        let text = fs::read_to_string(&self.stderr).ok()?;
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    }

    /// What ttyS<i> has printed so far.
    pub fn log(&self, i: usize) -> String {
        fs::read(&self.serial[i])
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Calls `each` with newly printed text of ttyS<i> until QEMU exits,
    /// `each` returns true (QEMU is then killed) or `timeout` passes (QEMU is
    /// killed and an error returned).
    pub fn follow(
        &mut self,
        timeout: Duration,
        mut each: impl FnMut(usize, &str) -> bool,
    ) -> Result<()> {
        let start = Instant::now();
        let mut seen = vec![0usize; self.serial.len()];
        loop {
            let exited = self.child.try_wait()?.is_some();
            for i in 0..self.serial.len() {
                let text = self.log(i);
                if text.len() > seen[i] {
                    // Print whole lines only (the rest comes next round).
                    let end = if exited {
                        text.len()
                    } else {
                        text[..].rfind('\n').map_or(seen[i], |p| p + 1)
                    };
                    if end > seen[i] {
                        let done = each(i, &text[seen[i]..end]);
                        seen[i] = end;
                        if done {
                            let _ = self.child.kill();
                            let _ = self.child.wait();
                            return Ok(());
                        }
                    }
                }
            }
            if exited {
                return Ok(());
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("timed out after {}s", timeout.as_secs());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs one QMP command (a JSON object) on the socket `sock` and returns
/// QEMU's answer line; an `error` answer is an error.
pub fn qmp(sock: &Path, command: &str) -> Result<String> {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;
    let stream = UnixStream::connect(sock)
        .with_context(|| format!("cannot connect to QMP at {}", sock.display()))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    // Every answer is one line; events (which carry "event") are skipped.
    let answer = |reader: &mut BufReader<UnixStream>| -> Result<String> {
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                bail!("QMP closed the connection");
            }
            if !line.contains("\"event\"") {
                return Ok(line.trim().to_string());
            }
        }
    };
    answer(&mut reader)?; // the greeting
    for cmd in [r#"{"execute":"qmp_capabilities"}"#, command] {
        writer.write_all(cmd.as_bytes())?;
        writer.write_all(b"\n")?;
        let a = answer(&mut reader)?;
        if a.contains("\"error\"") {
            bail!("QMP {cmd}: {a}");
        }
        if cmd == command {
            return Ok(a);
        }
    }
    unreachable!()
}

/// The QMP command that switches the trace events matching `glob` on or off.
pub fn trace_command(glob: &str, on: bool) -> String {
    format!(
        r#"{{"execute":"trace-event-set-state","arguments":{{"name":"{glob}","enable":{on}}}}}"#
    )
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
