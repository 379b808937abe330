// SPDX-License-Identifier: GPL-2.0

//! The partition-side role of mint.ko: the "agent".
//!
//! A partition's kernel can reboot or power off through paths that reset the
//! whole machine (x86 `native_machine_emergency_restart` falls back to the
//! keyboard controller and a triple fault). Loaded inside a partition
//! (`insmod /mint.ko` from its initramfs), the module reports the event to the
//! partition's *status page* and halts the CPU before any such path is
//! reached; the host polls the page and stops the partition's CPUs.
//!
//! **Role.** [`status_page`] looks at this kernel's FADT: mint-kexec builds
//! the partition's tables with the OEM ID `"MINT  "`, which a firmware FADT
//! does not carry. With it, the module runs as the agent and creates none of
//! the host's state (no `/sys/kernel/mint`); without it, the host role runs.
//!
//! **Status page** (4 KiB in the partition's memory, e820 ACPI data; its
//! address is the FADT reset register's, in SystemMemory):
//!
//! | offset | size | written by |
//! |---|---|---|
//! | 0x00 | u8 | the partition kernel's ACPI reset (FADT reset register, 0x01) |
//! | 0x01 | u8 | its ACPI S5 (sleep control = status register, 0x34) |
//! | 0x04 | u32 | EVENT: the agent, 1 reboot, 2 poweroff, 3 halt, 4 panic |
//! | 0x08 | u32 | AGENT: the agent, [`AGENT_MAGIC`] while loaded, 0 after rmmod |
//!
//! **Hooks** (rust/agent_shim.c holds the kernel structures): a reboot
//! notifier of the lowest priority records which action is coming; a kmsg
//! dumper for every reason then writes EVENT on `KMSG_DUMP_SHUTDOWN` (after
//! device shutdown, just before `machine_restart/halt/power_off`) and on
//! `KMSG_DUMP_EMERG` (`emergency_restart`: sysrq-b, panic with `panic=N`),
//! and halts this CPU for good with interrupts off; on `KMSG_DUMP_PANIC` it
//! writes panic and returns (with `panic=0`, panic then halts as before).

use core::ffi::c_void;
use core::ptr::NonNull;

use kernel::bindings;
use kernel::prelude::*;

use crate::logic::fadt::{self, Role};
use crate::logic::load_image::{
    StatusEvent, AGENT_MAGIC, STATUS_AGENT_OFF, STATUS_EVENT_OFF, STATUS_PAGE_LEN as PAGE_LEN_U64,
};

/// Size (and alignment) of the status page.
const STATUS_PAGE_LEN: usize = PAGE_LEN_U64 as usize;
/// Must match `struct mint_agent_config` in rust/agent_shim.c.
#[repr(C)]
struct AgentConfig {
    event: *mut u32,
    reboot: u32,
    poweroff: u32,
    halt: u32,
    panic: u32,
}

extern "C" {
    /// Copies up to `len` bytes of this kernel's FADT into `buf`; returns the
    /// count copied or `-ENOENT` when there is no FADT.
    ///
    /// # Safety
    ///
    /// `buf` must be valid for writes of `len` bytes. Process context.
    fn mint_agent_fadt_read(buf: *mut u8, len: u32) -> i32;
    /// Registers the reboot notifier and the kmsg dumper; returns 0 or a
    /// negative errno (then nothing stays registered).
    ///
    /// # Safety
    ///
    /// `cfg.event` must point to a mapped, aligned u32 that stays mapped until
    /// `mint_agent_unregister` has returned. Must not be called again before
    /// that. Process context.
    fn mint_agent_register(cfg: *const AgentConfig) -> i32;
    /// Unregisters both; when it returns, no handler runs any more.
    ///
    /// # Safety
    ///
    /// Only after a successful `mint_agent_register`, once. Process context.
    fn mint_agent_unregister();
}

/// Chooses the role: `Ok(None)` when this kernel is not a mint partition
/// (run the host role), `Ok(Some(phys))` with the status page of this
/// partition, `ENODEV` (logged) for a mint partition without a usable one.
pub(crate) fn status_page() -> Result<Option<u64>> {
    let mut buf = [0u8; fadt::ROLE_BYTES];
    // SAFETY: `buf` is writable for its whole length, passed as `len`.
    let n = unsafe { mint_agent_fadt_read(buf.as_mut_ptr(), buf.len() as u32) };
    let Ok(n) = usize::try_from(n) else {
        return Ok(None);
    };
    match fadt::role(&buf[..n.min(buf.len())]) {
        Role::Host => Ok(None),
        Role::Partition(phys) => Ok(Some(phys)),
        Role::Unusable(why) => {
            pr_err!("partition agent: no status page: {}\n", why);
            Err(ENODEV)
        }
    }
}

/// The word at byte `off` (one of the `STATUS_*_OFF`) of the mapped page.
fn word(page: NonNull<u8>, off: usize) -> *mut u32 {
    const { assert!(STATUS_EVENT_OFF % 4 == 0 && STATUS_AGENT_OFF % 4 == 0) };
    const { assert!(STATUS_AGENT_OFF + 4 <= STATUS_PAGE_LEN) };
    // Offsets are the constants above; stay inside the page regardless.
    let off = off.min(STATUS_PAGE_LEN - 4) & !3;
    page.as_ptr().wrapping_add(off) as *mut u32
}

/// The registered agent: the mapped status page and the handlers reporting
/// to it. Dropping it unregisters the handlers, writes AGENT = 0 and unmaps
/// the page.
pub(crate) struct Agent {
    page: NonNull<u8>,
}

// SAFETY: `Agent` only holds the mapping's address; the page is written with
// volatile stores from any CPU, and the handlers it registered are global.
unsafe impl Send for Agent {}
// SAFETY: `Agent` has no methods taking `&self`.
unsafe impl Sync for Agent {}

impl Agent {
    /// Maps the status page at `phys`, registers the handlers and announces
    /// the agent (AGENT = [`AGENT_MAGIC`]).
    pub(crate) fn new(phys: u64) -> Result<Self> {
        // SAFETY: `phys` is the page the partition's own FADT names as its
        // status page: e820 ACPI data of this partition, not System RAM, so
        // memremap maps it (write-back) without aliasing the kernel's RAM.
        let p = unsafe { bindings::memremap(phys, STATUS_PAGE_LEN, bindings::MEMREMAP_WB as _) };
        let page = NonNull::new(p as *mut u8).ok_or(ENOMEM)?;
        let cfg = AgentConfig {
            event: word(page, STATUS_EVENT_OFF),
            reboot: StatusEvent::Reboot as u32,
            poweroff: StatusEvent::Poweroff as u32,
            halt: StatusEvent::Halt as u32,
            panic: StatusEvent::Panic as u32,
        };
        // SAFETY: `cfg.event` is an aligned word of the mapping, which stays
        // mapped until `drop` has unregistered; one agent per module.
        let ret = unsafe { mint_agent_register(&cfg) };
        if ret != 0 {
            // SAFETY: mapped above, never registered, not used afterwards.
            unsafe { bindings::memunmap(p) };
            return Err(Error::from_errno(ret));
        }
        let agent = Self { page };
        agent.write(STATUS_AGENT_OFF, AGENT_MAGIC);
        pr_info!(
            "partition agent: status page at {:#x}, reboot/poweroff/halt/panic reported to the host\n",
            phys
        );
        Ok(agent)
    }

    /// Writes `v` at byte `off`; volatile because the host reads the page.
    fn write(&self, off: usize, v: u32) {
        // SAFETY: an aligned word of the mapping, mapped for our lifetime.
        unsafe { core::ptr::write_volatile(word(self.page, off), v) };
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        // SAFETY: `new` registered successfully (else no `Agent` exists).
        unsafe { mint_agent_unregister() };
        self.write(STATUS_AGENT_OFF, 0);
        // SAFETY: mapped by `new`; no handler uses it any more (unregistered).
        unsafe { bindings::memunmap(self.page.as_ptr() as *mut c_void) };
        pr_info!("partition agent: unloaded\n");
    }
}
