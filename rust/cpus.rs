// SPDX-License-Identifier: GPL-2.0

//! Taking CPUs from the host for a partition, and keeping them.
//!
//! A [`CpuClaim`] marks its CPUs as owned, then takes them offline with
//! `remove_cpu()`; dropping it marks them free and brings them back with
//! `add_cpu()`. While a CPU is owned, the [`HotplugGuard`] (a CPU hotplug
//! state in the PREPARE section, which runs on a host CPU *before* the
//! target is sent INIT/SIPI) refuses to bring it up: `echo 1 >
//! /sys/devices/system/cpu/cpuN/online` fails with EBUSY instead of resetting
//! the CPU under the partition.
//!
//! Ownership lives in a lock-free bitmap because the guard runs inside the
//! CPU hotplug machinery, where taking the module's mutex could deadlock with
//! a sysfs handler that holds it while calling `remove_cpu()`.

use core::sync::atomic::{AtomicU64, Ordering};

use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;

use crate::logic::cpulist::{CpuSet, MAX_CPUS};
use crate::refusal::Refusal;

extern "C" {
    /// APIC ID of a present logical CPU (rust/arch_shim.c).
    ///
    /// # Safety
    ///
    /// `cpu` must be a present CPU (check with `mint_cpu_present`).
    fn mint_cpu_apic_id(cpu: u32) -> u32;
    /// Whether `cpu` exists on this machine; any value is allowed.
    ///
    /// # Safety
    ///
    /// No requirement: declared `unsafe` only because it is foreign.
    fn mint_cpu_present(cpu: u32) -> bool;
    /// Whether `cpu` is online in the host; any value is allowed.
    ///
    /// # Safety
    ///
    /// No requirement: declared `unsafe` only because it is foreign.
    fn mint_cpu_online(cpu: u32) -> bool;
}

/// The one APIC ID a partition CPU may not have (see `CpuClaim::check`):
/// the x2APIC ID that the MADT and Linux treat as invalid.
const INVALID_APIC_ID: u32 = u32::MAX;

const WORDS: usize = (MAX_CPUS as usize) / 64;
static OWNED: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];
/// CPUs for which the guard has already logged a refusal (since their claim).
static WARNED: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];

fn bit(cpu: u32) -> (usize, u64) {
    ((cpu / 64) as usize, 1u64 << (cpu % 64))
}

/// Marks `cpu` owned; false if it already was.
fn take(cpu: u32) -> bool {
    let (w, b) = bit(cpu);
    OWNED[w].fetch_or(b, Ordering::AcqRel) & b == 0
}

fn release(cpu: u32) {
    let (w, b) = bit(cpu);
    WARNED[w].fetch_and(!b, Ordering::AcqRel);
    OWNED[w].fetch_and(!b, Ordering::AcqRel);
}

/// Whether a partition owns `cpu`.
pub(crate) fn is_owned(cpu: u32) -> bool {
    if cpu >= MAX_CPUS {
        return false;
    }
    let (w, b) = bit(cpu);
    OWNED[w].load(Ordering::Acquire) & b != 0
}

/// Whether `cpu` exists on this machine.
pub(crate) fn present(cpu: u32) -> bool {
    // SAFETY: `mint_cpu_present` accepts any value.
    unsafe { mint_cpu_present(cpu) }
}

/// The APIC ID of a present CPU.
pub(crate) fn apic_id(cpu: u32) -> Result<u32> {
    if !present(cpu) {
        return Err(ENODEV);
    }
    // SAFETY: `cpu` is present (checked above).
    Ok(unsafe { mint_cpu_apic_id(cpu) })
}

/// CPUs taken from the host for one partition; given back on drop.
///
/// # Invariants
///
/// Every CPU in `cpus` is marked in `OWNED` by this claim and was taken
/// offline by it (or was offline already); `was_online` ⊆ `cpus`.
pub(crate) struct CpuClaim {
    cpus: CpuSet,
    /// The claimed CPUs that were online before: only these go back online.
    was_online: CpuSet,
}

impl CpuClaim {
    /// A claim of no CPU.
    pub(crate) fn empty() -> Self {
        Self {
            cpus: CpuSet::default(),
            was_online: CpuSet::default(),
        }
    }

    /// Checks that this claim could become exactly `set`, without changing
    /// anything.
    pub(crate) fn check(&self, set: &CpuSet) -> Result<(), Refusal> {
        let no = Refusal::new;
        if set.is_empty() {
            return Err(no(EINVAL, "empty CPU list"));
        }
        for cpu in set.iter().filter(|c| !self.cpus.contains(*c)) {
            if cpu == 0 {
                return Err(no(
                    EINVAL,
                    "CPU 0 is the host's boot CPU and cannot be given away",
                ));
            }
            if !present(cpu) {
                return Err(no(ENODEV, "no such CPU on this machine"));
            }
            if is_owned(cpu) {
                return Err(no(EBUSY, "CPU already belongs to a partition"));
            }
            // Any other APIC ID works. The partition's MADT names IDs up to
            // 0xfe in Processor Local APIC entries and larger ones in
            // Processor Local x2APIC entries (mint-kexec's acpi.rs). A CPU
            // with an ID above 0xfe is in x2APIC mode (the host's firmware
            // enabled it; INIT keeps it), and the partition's kernel stays in
            // x2APIC mode without interrupt remapping of its own because
            // `noapic` skips the remapping step that would otherwise try to
            // switch it back to xAPIC (and panic on such an ID). Measured on
            // APIC ID 256: scenario apic256.
            if apic_id(cpu)? == INVALID_APIC_ID {
                return Err(no(
                    EINVAL,
                    "CPU's APIC ID is 0xffffffff, the invalid x2APIC ID: a partition's MADT cannot name it",
                ));
            }
        }
        Ok(())
    }

    /// Makes this claim exactly `set`, touching only the difference: the CPUs
    /// new in `set` are taken first, then the ones no longer in it are given
    /// back. CPUs in both stay claimed and offline throughout. On error the
    /// claim is unchanged (the CPUs taken so far are given back).
    pub(crate) fn set(&mut self, set: &CpuSet) -> Result<(), Refusal> {
        self.check(set)?;
        let mut added = CpuClaim::empty();
        for cpu in set.iter().filter(|c| !self.cpus.contains(*c)) {
            if !take(cpu) {
                return Err(Refusal::new(EBUSY, "CPU already belongs to a partition"));
            }
            added.cpus.insert(cpu);
            // SAFETY: `mint_cpu_online` accepts any value.
            if unsafe { mint_cpu_online(cpu) } {
                added.was_online.insert(cpu);
            }
            // SAFETY: `cpu` is present; `remove_cpu` does its own locking.
            // The host stays with at least CPU 0, which is never claimed.
            let ret = unsafe { bindings::remove_cpu(cpu) };
            if ret < 0 {
                // `added` drops: gives back what this call took.
                return Err(Refusal::new(
                    Error::from_errno(ret),
                    "the host refused to take the CPU offline",
                ));
            }
        }
        let mut removed = CpuClaim::empty();
        for cpu in self.cpus.iter().filter(|c| !set.contains(*c)) {
            removed.cpus.insert(cpu);
            if self.was_online.contains(cpu) {
                removed.was_online.insert(cpu);
            }
        }
        for cpu in added.cpus.iter() {
            self.cpus.insert(cpu);
        }
        for cpu in added.was_online.iter() {
            self.was_online.insert(cpu);
        }
        for cpu in removed.cpus.iter() {
            self.cpus.remove(cpu);
            self.was_online.remove(cpu);
        }
        // Ownership moved into `self`: `added` must not give anything back.
        core::mem::forget(added);
        drop(removed);
        Ok(())
    }

    /// The claimed CPUs.
    pub(crate) fn cpus(&self) -> &CpuSet {
        &self.cpus
    }

    /// The APIC IDs of the claimed CPUs, boot CPU (the first) first.
    pub(crate) fn apic_ids(&self) -> impl Iterator<Item = u32> + '_ {
        // Claimed CPUs are present (checked when claimed).
        self.cpus.iter().filter_map(|c| apic_id(c).ok())
    }
}

impl Drop for CpuClaim {
    fn drop(&mut self) {
        for cpu in self.cpus.iter() {
            release(cpu);
            // SAFETY: `mint_cpu_online` accepts any value.
            let online = unsafe { mint_cpu_online(cpu) };
            if self.was_online.contains(cpu) && !online {
                // SAFETY: `cpu` is present and no longer owned, so the guard
                // lets the host bring it up (with its own INIT/SIPI, which
                // also stops anything the CPU still runs); `add_cpu` does its
                // own locking.
                let ret = unsafe { bindings::add_cpu(cpu) };
                if ret < 0 {
                    pr_warn!("could not bring CPU {} back online ({})\n", cpu, ret);
                }
            }
        }
    }
}

/// The registered CPU hotplug state that refuses to online owned CPUs.
pub(crate) struct HotplugGuard {
    state: bindings::cpuhp_state,
}

/// PREPARE-stage startup callback: runs before `cpu` is kicked.
///
/// # Safety
///
/// Called by the CPU hotplug core only; no pointer arguments.
unsafe extern "C" fn guard_prepare(cpu: u32) -> i32 {
    if is_owned(cpu) {
        // The driver core retries EBUSY a few times: say it once per claim.
        let (w, b) = bit(cpu);
        if WARNED[w].fetch_or(b, Ordering::AcqRel) & b == 0 {
            pr_warn!(
                "CPU {} belongs to a partition; refusing to bring it online\n",
                cpu
            );
        }
        return EBUSY.to_errno();
    }
    0
}

impl HotplugGuard {
    /// Registers the guard (no callback runs for CPUs already online).
    pub(crate) fn register() -> Result<Self> {
        // SAFETY: the name is a static C string; the callback stays valid
        // until `Drop` removes the state; `invoke = false` runs nothing now.
        let ret = unsafe {
            bindings::__cpuhp_setup_state(
                bindings::cpuhp_state_CPUHP_BP_PREPARE_DYN,
                c_str!("mint:guard").as_char_ptr(),
                false,
                Some(guard_prepare),
                None,
                false,
            )
        };
        if ret < 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(Self {
            state: ret as bindings::cpuhp_state,
        })
    }
}

impl Drop for HotplugGuard {
    fn drop(&mut self) {
        // SAFETY: `state` was returned by `__cpuhp_setup_state`.
        unsafe { bindings::__cpuhp_remove_state(self.state, false) };
    }
}
