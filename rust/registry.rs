// SPDX-License-Identifier: GPL-2.0

//! The module's global state and the top-level `/sys/kernel/mint/` files.
//!
//! sysfs handlers are plain functions, so they reach the state through one
//! global pointer that is valid exactly while the sysfs tree exists:
//! [`Registration::new`] publishes it before creating any file, and
//! [`Registration`]'s `Drop` removes every file (which waits for running
//! handlers) before withdrawing it.
//!
//! Lock rule: a partition's directory is never removed while the lock is
//! held (its handlers may be waiting for the lock); it is taken out of the
//! list under the lock and dropped after.

use core::fmt::Write;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::bindings;
use kernel::c_str;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Mutex;

use crate::boot::LOW_SLOTS;
use crate::cpus::HotplugGuard;
use crate::logic::memrange::MemRange;
use crate::logic::name;
use crate::partition::Partition;
use crate::sysfs::{Attribute, Dir, Output};

extern "C" {
    /// The host's TSC frequency in kHz (rust/arch_shim.c).
    ///
    /// # Safety
    ///
    /// No requirement: declared `unsafe` only because it is foreign.
    fn mint_tsc_khz() -> u32;
}

/// Everything the module knows, behind one mutex.
pub(crate) struct State {
    /// Set while the module unloads: no new partition may appear.
    closing: bool,
    top: Option<Dir>,
    partitions: KVec<KBox<Partition>>,
}

static STATE: AtomicPtr<Mutex<State>> = AtomicPtr::new(core::ptr::null_mut());
static THIS_MODULE: AtomicPtr<bindings::module> = AtomicPtr::new(core::ptr::null_mut());

/// Runs `f` with the module state locked; `ENODEV` while (un)loading.
fn with_state<R>(f: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
    let ptr = STATE.load(Ordering::Acquire);
    if ptr.is_null() {
        return Err(ENODEV);
    }
    // SAFETY: `STATE` is non-null only between `Registration::new` publishing
    // a pinned, live mutex and `Registration::drop` withdrawing it after every
    // sysfs file (the only callers) is gone.
    let mutex = unsafe { &*ptr };
    let mut guard = mutex.lock();
    if guard.closing {
        return Err(ENODEV);
    }
    f(&mut guard)
}

/// The partitions other than the one a handler works on.
pub(crate) struct Others<'a>(&'a [KBox<Partition>], &'a [KBox<Partition>]);

impl Others<'_> {
    /// Their memory windows.
    pub(crate) fn windows(&self) -> impl Iterator<Item = MemRange> + '_ {
        Iterator::chain(self.0.iter(), self.1).filter_map(|p| p.window_range())
    }
}

/// Runs `f` on partition `name` with the lock held; `f` also sees the other
/// partitions. `ENOENT` if there is no such partition.
pub(crate) fn with_partition<R>(
    name: &[u8],
    f: impl FnOnce(&mut Partition, &Others<'_>) -> Result<R>,
) -> Result<R> {
    with_state(|s| {
        let i = s
            .partitions
            .iter()
            .position(|p| p.name() == name)
            .ok_or(ENOENT)?;
        let (before, rest) = s.partitions.split_at_mut(i);
        let (p, after) = rest.split_first_mut().ok_or(ENOENT)?;
        f(p, &Others(before, after))
    })
}

/// Keeps the module loaded (a partition runs).
pub(crate) fn pin_module() {
    let m = THIS_MODULE.load(Ordering::Acquire);
    if !m.is_null() {
        // SAFETY: `m` is this module, alive while its code runs.
        unsafe { bindings::__module_get(m) };
    }
}

/// Drops a reference taken by [`pin_module`].
pub(crate) fn unpin_module() {
    let m = THIS_MODULE.load(Ordering::Acquire);
    if !m.is_null() {
        // SAFETY: balances an earlier `pin_module`.
        unsafe { bindings::module_put(m) };
    }
}

fn show_version(_dir: &[u8], out: &mut Output<'_>) -> Result {
    writeln!(out, "{}", env!("MINT_VERSION")).map_err(|_| EFBIG)
}

fn show_partitions(_dir: &[u8], out: &mut Output<'_>) -> Result {
    with_state(|s| {
        for p in s.partitions.iter() {
            let name = p.name_str();
            writeln!(out, "{} {}", name, p.state().as_str()).map_err(|_| EFBIG)?;
        }
        Ok(())
    })
}

fn show_tsc_khz(_dir: &[u8], out: &mut Output<'_>) -> Result {
    // SAFETY: no requirement.
    let khz = unsafe { mint_tsc_khz() };
    writeln!(out, "{khz}").map_err(|_| EFBIG)
}

/// The partition name written to `file` (`create` or `destroy`), or
/// `EINVAL` with a one-line reason in the kernel log.
fn written_name<'a>(file: &str, input: &'a [u8]) -> Result<&'a str> {
    let text = core::str::from_utf8(input).map_err(|_| EINVAL)?;
    name::parse_name(text).map_err(|e| {
        pr_warn!("{}: {}\n", file, e);
        EINVAL
    })
}

fn store_create(_dir: &[u8], input: &[u8]) -> Result {
    let name = written_name("create", input)?;
    with_state(|s| {
        if s.partitions.iter().any(|p| p.name() == name.as_bytes()) {
            pr_warn!("create: partition {} exists already\n", name);
            return Err(EEXIST);
        }
        let Some(slot) = (0..LOW_SLOTS).find(|i| s.partitions.iter().all(|p| p.slot() != *i))
        else {
            pr_warn!("create: all {} partition slots are in use\n", LOW_SLOTS);
            return Err(ENOSPC);
        };
        let top = s.top.as_ref().ok_or(ENODEV)?;
        let p = Partition::new(name, slot, top)?;
        s.partitions.push(p, GFP_KERNEL)?;
        pr_info!("created {}\n", name);
        Ok(())
    })
}

/// Removes and returns element `i` (6.12's `KVec` has no `remove`).
fn take_at<T>(v: &mut KVec<T>, i: usize) -> Result<T> {
    // Allocate first, so that nothing below can fail half-way.
    let fresh = KVec::with_capacity(v.len(), GFP_KERNEL)?;
    let old = core::mem::replace(v, fresh);
    let mut taken = None;
    for (j, item) in old.into_iter().enumerate() {
        if j == i {
            taken = Some(item);
        } else {
            v.push(item, GFP_KERNEL)?;
        }
    }
    taken.ok_or(ENOENT)
}

fn store_destroy(_dir: &[u8], input: &[u8]) -> Result {
    let name = written_name("destroy", input)?;
    // Taken out under the lock, dropped (directory removed, CPUs and memory
    // given back) after it is released.
    let gone = with_state(|s| {
        let Some(i) = s
            .partitions
            .iter()
            .position(|p| p.name() == name.as_bytes())
        else {
            pr_warn!("destroy: no partition {}\n", name);
            return Err(ENOENT);
        };
        s.partitions[i].check_destroy()?;
        take_at(&mut s.partitions, i)
    })?;
    drop(gone);
    pr_info!("destroyed {}\n", name);
    Ok(())
}

static VERSION: Attribute = Attribute::new(c_str!("version"), 0o444, Some(show_version), None);
static PARTITIONS: Attribute =
    Attribute::new(c_str!("partitions"), 0o444, Some(show_partitions), None);
static TSC_KHZ: Attribute = Attribute::new(c_str!("tsc_khz"), 0o444, Some(show_tsc_khz), None);
static CREATE: Attribute = Attribute::new(c_str!("create"), 0o200, None, Some(store_create));
static DESTROY: Attribute = Attribute::new(c_str!("destroy"), 0o200, None, Some(store_destroy));

/// Owns `/sys/kernel/mint/`, the CPU hotplug guard and the state.
pub(crate) struct Registration {
    state: Pin<KBox<Mutex<State>>>,
    _guard: HotplugGuard,
}

impl Registration {
    /// Creates the state, the hotplug guard and the top-level sysfs files.
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        let state = KBox::pin_init(
            new_mutex!(State {
                closing: false,
                top: None,
                partitions: KVec::new()
            }),
            GFP_KERNEL,
        )?;
        let guard = HotplugGuard::register()?;
        let this = Self {
            state,
            _guard: guard,
        };
        THIS_MODULE.store(module.as_ptr(), Ordering::Release);
        let ptr: *const Mutex<State> = &*this.state;
        STATE.store(ptr as *mut _, Ordering::Release);
        // On error, `this` drops: it removes what was created and withdraws
        // the pointer.
        let top = Dir::new_in_kernel(c_str!("mint"))?;
        for attr in [&VERSION, &PARTITIONS, &TSC_KHZ, &CREATE, &DESTROY] {
            top.add(attr)?;
        }
        this.state.lock().top = Some(top);
        Ok(this)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let (partitions, top) = {
            let mut s = self.state.lock();
            s.closing = true;
            (
                core::mem::replace(&mut s.partitions, KVec::new()),
                s.top.take(),
            )
        };
        // Partitions first (their directories live inside the top one);
        // removing a directory waits for its running handlers.
        drop(partitions);
        drop(top);
        STATE.store(core::ptr::null_mut(), Ordering::Release);
        THIS_MODULE.store(core::ptr::null_mut(), Ordering::Release);
    }
}
