// SPDX-License-Identifier: GPL-2.0

//! PCI functions a partition owns: the host side.
//!
//! A [`PciClaim`] is the proof that a partition owns one function: while it
//! exists the module's stub driver holds the function (no host driver can
//! bind it), its INTx is off and INTERRUPT_LINE is 0xff, and the host's
//! configuration is saved. Only a claim can reset the function, and dropping
//! it hands the function back (reset, configuration restored, host driver
//! probed again). The PCI core calls are in `rust/pci_shim.c`, which says
//! what each does; [`StubDriver`] registers the stub for the module's life.

use core::ffi::{c_char, c_int};
use core::ptr::NonNull;

use kernel::prelude::*;

use crate::logic::pcilist::Bdf;
use crate::refusal::Refusal;

/// A claimed function, as rust/pci_shim.c keeps it (opaque here).
#[repr(C)]
pub(crate) struct MintPciFn {
    _private: [u8; 0],
}

extern "C" {
    /// Registers the stub driver.
    ///
    /// # Safety
    ///
    /// Called once, at module load, paired with `mint_pci_unregister`.
    fn mint_pci_register() -> c_int;
    /// Unregisters the stub driver.
    ///
    /// # Safety
    ///
    /// Called once, at unload, after every claim was released.
    fn mint_pci_unregister();
    /// Claims a function for `owner`; see rust/pci_shim.c.
    ///
    /// # Safety
    ///
    /// `owner` points to `owner_len` readable bytes, `out` to a writable
    /// pointer, `why` to `why_len` writable bytes; process context.
    fn mint_pci_claim(
        owner: *const c_char,
        owner_len: usize,
        seg: u32,
        bus: u32,
        devfn: u32,
        out: *mut *mut MintPciFn,
        why: *mut u8,
        why_len: usize,
    ) -> c_int;
    /// Resets a claimed function, keeping it claimed.
    ///
    /// # Safety
    ///
    /// `f` came from a successful `mint_pci_claim` and was not released;
    /// process context; no other call on `f` runs at the same time.
    fn mint_pci_reset(f: *mut MintPciFn) -> c_int;
    /// Whether the host removed the function since the claim.
    ///
    /// # Safety
    ///
    /// `f` came from a successful `mint_pci_claim` and was not released.
    fn mint_pci_removed(f: *mut MintPciFn) -> bool;
    /// Releases a claim and frees `f`.
    ///
    /// # Safety
    ///
    /// As for `mint_pci_reset`; `f` is not used afterwards.
    fn mint_pci_release(f: *mut MintPciFn, hand_back: bool);
}

/// The registered stub driver; unregistered on drop.
///
/// # Invariants
///
/// `mint_pci_register` succeeded and `mint_pci_unregister` has not run.
pub(crate) struct StubDriver(());

impl StubDriver {
    /// Registers the stub driver (once per module load).
    pub(crate) fn register() -> Result<Self> {
        // SAFETY: called once, from module init (Registry::new); the drop
        // below unregisters it, after the registry released every partition.
        let ret = unsafe { mint_pci_register() };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(StubDriver(()))
    }
}

impl Drop for StubDriver {
    fn drop(&mut self) {
        // SAFETY: registered (type invariant); the registry drops this after
        // every partition, so every claim is gone.
        unsafe { mint_pci_unregister() };
    }
}

/// Longest reason the shim writes.
const WHY_LEN: usize = 160;

/// One function a partition owns.
///
/// # Invariants
///
/// `ptr` came from a successful `mint_pci_claim` and is released exactly
/// once, by `drop` or [`PciClaim::undo`].
pub(crate) struct PciClaim {
    ptr: NonNull<MintPciFn>,
    bdf: Bdf,
}

// SAFETY: the claim is a heap object the shim only touches through these
// calls, from whichever thread holds the partition's lock.
unsafe impl Send for PciClaim {}

impl PciClaim {
    /// Claims `bdf` for partition `owner`; refused with a one-line reason
    /// (which names the function) if it cannot be given away.
    pub(crate) fn claim(owner: &[u8], bdf: Bdf) -> Result<Self, Refusal> {
        let mut why = [0u8; WHY_LEN];
        let mut out: *mut MintPciFn = core::ptr::null_mut();
        // SAFETY: every pointer is to a live local or to `owner`, with the
        // lengths given; sysfs store handlers run in process context.
        let ret = unsafe {
            mint_pci_claim(
                owner.as_ptr().cast(),
                owner.len(),
                u32::from(bdf.segment),
                u32::from(bdf.bus),
                u32::from(bdf.devfn()),
                &mut out,
                why.as_mut_ptr(),
                why.len(),
            )
        };
        match NonNull::new(out) {
            Some(ptr) if ret == 0 => Ok(PciClaim { ptr, bdf }),
            _ => {
                let len = why.iter().position(|&b| b == 0).unwrap_or(0);
                let reason = core::str::from_utf8(&why[..len]).unwrap_or("refused");
                let err = if ret < 0 { Error::from_errno(ret) } else { EINVAL };
                Err(Refusal::with(err, &format_args!("{bdf}: {reason}")))
            }
        }
    }

    /// The function's address.
    pub(crate) fn bdf(&self) -> Bdf {
        self.bdf
    }

    /// Resets the function between two runs of its partition (whose CPUs
    /// are stopped): whatever it was doing stops, and its configuration is
    /// the host's again, as the next run's tables describe it. A function
    /// whose reset fails has its DMA and MSIs switched off instead (the
    /// shim logs it); a removed one is left alone.
    pub(crate) fn reset(&mut self) {
        // SAFETY: `ptr` is a live claim (type invariant); `&mut self` rules
        // out a concurrent call on it.
        let _ = unsafe { mint_pci_reset(self.ptr.as_ptr()) };
    }

    /// Whether the host removed the function (hot unplug) since the claim.
    pub(crate) fn removed(&self) -> bool {
        // SAFETY: `ptr` is a live claim (type invariant); the flag is read
        // with READ_ONCE, so a concurrent removal is fine.
        unsafe { mint_pci_removed(self.ptr.as_ptr()) }
    }

    /// Undoes a claim whose partition never ran with it: the function is
    /// left exactly as before (no reset, no host driver probed).
    pub(crate) fn undo(self) {
        let ptr = self.ptr;
        core::mem::forget(self);
        // SAFETY: `ptr` is a live claim, released here once (the claim was
        // forgotten, so its drop does not run).
        unsafe { mint_pci_release(ptr.as_ptr(), false) };
    }
}

impl Drop for PciClaim {
    fn drop(&mut self) {
        // SAFETY: `ptr` is a live claim, released once (type invariant).
        unsafe { mint_pci_release(self.ptr.as_ptr(), true) };
    }
}
