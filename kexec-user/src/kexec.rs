//! The baseline mint is measured against: a plain kexec reboot of the whole
//! machine through `kexec_file_load(2)`, and the TSC read both ends use.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// `KEXEC_FILE_NO_INITRAMFS` from <linux/kexec.h>.
const KEXEC_FILE_NO_INITRAMFS: libc::c_ulong = 0x4;

/// This CPU's time stamp counter.
pub fn tsc() -> u64 {
    // SAFETY: RDTSC has no preconditions on x86-64 (user mode may use it
    // unless CR4.TSD is set, which Linux does not do by default).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Loads `image` (and `initrd`) with `cmdline` through `kexec_file_load`,
/// prints the TSC, and reboots into it. Returns only on error.
pub fn reboot_into(image: &Path, initrd: Option<&Path>, cmdline: &str) -> Result<()> {
    let kernel = File::open(image).with_context(|| format!("cannot open {}", image.display()))?;
    let initrd = initrd
        .map(|p| File::open(p).with_context(|| format!("cannot open {}", p.display())))
        .transpose()?;
    let line = CString::new(cmdline).context("the command line contains a NUL byte")?;
    let flags = if initrd.is_some() {
        0
    } else {
        KEXEC_FILE_NO_INITRAMFS
    };
    let initrd_fd = initrd.as_ref().map_or(-1, |f| f.as_raw_fd());
    // SAFETY: the descriptors are open for the duration of the call and the
    // command line pointer/length describe a NUL-terminated buffer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_kexec_file_load,
            kernel.as_raw_fd(),
            initrd_fd,
            line.as_bytes_with_nul().len(),
            line.as_ptr(),
            flags,
        )
    };
    if ret != 0 {
        bail!("kexec_file_load: {}", std::io::Error::last_os_error());
    }
    // The start of the measured interval, printed before the reboot call.
    println!("KEXEC-TSC {}", tsc());
    // SAFETY: plain system call; on success it does not return.
    let ret = unsafe { libc::reboot(libc::LINUX_REBOOT_CMD_KEXEC) };
    bail!(
        "reboot(LINUX_REBOOT_CMD_KEXEC) returned {ret}: {}",
        std::io::Error::last_os_error()
    )
}
