// SPDX-License-Identifier: GPL-2.0

//! The module's registry of partitions and the top-level `/sys/kernel/mint/`
//! files.
//!
//! The registry is a fixed array of slots (one per low-memory slot, see
//! `boot.rs`) behind one mutex that is only held for short, non-sleeping
//! bookkeeping: creating a slot, taking one out, copying the list. Nothing
//! that waits (CPU hotplug, scrubbing, starting a CPU, removing a directory)
//! runs under it, and no partition's lock is taken while it is held (nor is
//! it taken under one).
//!
//! The top-level files' handlers get the [`Registry`] itself (sysfs.rs); the
//! watcher thread reaches it through one global pointer that is valid exactly while the module is loaded:
//! [`Registry::new`] publishes it, and its `Drop` withdraws it after removing
//! every file and stopping the watcher.

use core::fmt::Write;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::c_str;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

use crate::boot::LOW_SLOTS;
use crate::cpus::HotplugGuard;
use crate::logic::name;
use crate::partition::Partition;
use crate::pci::StubDriver;
use crate::refusal::{text, Refusal};
use crate::sysfs::{Dir, File, FileDesc, LockKey, Output, Owner};
use crate::watch::Watcher;
use crate::window::CmaDevice;

extern "C" {
    /// The host's TSC frequency in kHz (rust/arch_shim.c).
    ///
    /// # Safety
    ///
    /// No requirement: declared `unsafe` only because it is foreign.
    fn mint_tsc_khz() -> u32;
}

/// A partition and its directory.
struct Slot {
    part: Arc<Partition>,
    dir: Dir,
}

/// What the registry's lock protects.
struct Slots {
    /// Set while the module unloads: no new partition may appear.
    closing: bool,
    slots: [Option<Slot>; LOW_SLOTS],
}

/// Number of top-level files.
const NR_FILES: usize = 5;

/// The module's state: every partition, the top directory, the guards.
#[pin_data(PinnedDrop)]
pub(crate) struct Registry {
    #[pin]
    slots: Mutex<Slots>,
    files: [File<Registry>; NR_FILES],
    top: Option<Dir>,
    watcher: Option<Watcher>,
    _guard: HotplugGuard,
    /// Dropped after every partition was released (fields drop after
    /// `PinnedDrop::drop`), so no claim outlives the stub driver.
    _pci: StubDriver,
    /// Likewise for the windows taken from the CMA area.
    _cma: CmaDevice,
}

static REGISTRY: AtomicPtr<Registry> = AtomicPtr::new(core::ptr::null_mut());

impl Owner for Registry {
    fn label(&self) -> &str {
        ""
    }
}

/// The registry while the module is loaded.
fn registry() -> Option<&'static Registry> {
    let ptr = REGISTRY.load(Ordering::Acquire);
    // SAFETY: `REGISTRY` is non-null only between `Registry::new` publishing
    // a pinned, live registry and its drop withdrawing it after every sysfs
    // file and the watcher thread (the only users) are gone.
    (!ptr.is_null()).then(|| unsafe { &*ptr })
}

/// A copy of the partition list (taken briefly under the lock).
fn snapshot(r: &Registry) -> [Option<Arc<Partition>>; LOW_SLOTS] {
    let s = r.slots.lock();
    core::array::from_fn(|i| s.slots[i].as_ref().map(|sl| sl.part.clone()))
}

/// One look at every running partition's status page (the watcher thread).
pub(crate) fn watch_tick() {
    let Some(r) = registry() else { return };
    for p in snapshot(r).iter().flatten() {
        if let Some((page, outcome)) = p.watched_outcome() {
            p.ended(&page, outcome);
        }
    }
}

fn show_version(_r: &Registry, out: &mut Output<'_>) -> Result<(), Refusal> {
    writeln!(out, "{}", env!("MINT_VERSION")).map_err(Refusal::from)
}

fn show_partitions(r: &Registry, out: &mut Output<'_>) -> Result<(), Refusal> {
    // Each partition's state is read under its own lock, after the copy.
    for p in snapshot(r).iter().flatten() {
        writeln!(out, "{} {}", p.name_str(), p.state().as_str()).map_err(Refusal::from)?;
    }
    Ok(())
}

fn show_tsc_khz(_r: &Registry, out: &mut Output<'_>) -> Result<(), Refusal> {
    // SAFETY: no requirement.
    let khz = unsafe { mint_tsc_khz() };
    writeln!(out, "{khz}").map_err(Refusal::from)
}

/// The partition name written to `create` or `destroy`.
fn written_name(input: &[u8]) -> Result<&str, Refusal> {
    name::parse_name(text(input)?).map_err(|e| Refusal::with(EINVAL, &e))
}

/// Text pieces displayed one after the other (a message naming a partition).
struct Msg<'a>(&'a [&'a str]);

impl core::fmt::Display for Msg<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|s| f.write_str(s))
    }
}

fn store_create(r: &Registry, input: &[u8]) -> Result<(), Refusal> {
    let name = written_name(input)?;
    let mut s = r.slots.lock();
    if s.closing {
        return Err(Refusal::new(ENODEV, "the module is being unloaded"));
    }
    if s.slots.iter().flatten().any(|sl| sl.part.name() == name.as_bytes()) {
        return Err(Refusal::with(
            EEXIST,
            &Msg(&["partition ", name, " exists already"]),
        ));
    }
    let Some(slot) = s.slots.iter().position(|sl| sl.is_none()) else {
        return Err(Refusal::new(ENOSPC, "all 7 partition slots are in use"));
    };
    let part = Partition::new(name, slot)?;
    let top = r.top.as_ref().ok_or(ENODEV)?;
    // Creating the directory does not wait for any handler.
    let dir = part.make_dir(top)?;
    s.slots[slot] = Some(Slot { part, dir });
    drop(s);
    pr_info!("created {}\n", name);
    Ok(())
}

fn store_destroy(r: &Registry, input: &[u8]) -> Result<(), Refusal> {
    let name = written_name(input)?;
    let part = {
        let s = r.slots.lock();
        s.slots
            .iter()
            .flatten()
            .find(|sl| sl.part.name() == name.as_bytes())
            .map(|sl| sl.part.clone())
    };
    let Some(part) = part else {
        return Err(Refusal::with(ENOENT, &Msg(&["no partition ", name])));
    };
    // Under the partition's own lock: refuses while it starts or runs, and
    // makes every later request on its files fail.
    part.begin_destroy()
        .map_err(|r| Refusal::with(r.error(), &format_args!("{name}: {r}")))?;
    let slot = r.slots.lock().slots[part.slot()].take();
    // Outside every lock: removing the directory waits for its handlers,
    // then the CPUs and memory go back to the host.
    drop(slot);
    part.release();
    pr_info!("destroyed {}\n", name);
    Ok(())
}

static VERSION: FileDesc<Registry> = FileDesc {
    name: c_str!("version"),
    mode: 0o444,
    show: Some(show_version),
    store: None,
    key: LockKey::new(),
};
static PARTITIONS: FileDesc<Registry> = FileDesc {
    name: c_str!("partitions"),
    mode: 0o444,
    show: Some(show_partitions),
    store: None,
    key: LockKey::new(),
};
static TSC_KHZ: FileDesc<Registry> = FileDesc {
    name: c_str!("tsc_khz"),
    mode: 0o444,
    show: Some(show_tsc_khz),
    store: None,
    key: LockKey::new(),
};
static CREATE: FileDesc<Registry> = FileDesc {
    name: c_str!("create"),
    mode: 0o200,
    show: None,
    store: Some(store_create),
    key: LockKey::new(),
};
static DESTROY: FileDesc<Registry> = FileDesc {
    name: c_str!("destroy"),
    mode: 0o200,
    show: None,
    store: Some(store_destroy),
    key: LockKey::new(),
};

impl Registry {
    /// Creates the registry, the hotplug guard, the top-level sysfs files
    /// and the watcher thread.
    pub(crate) fn new() -> Result<Pin<KBox<Self>>> {
        let guard = HotplugGuard::register()?;
        let pci = StubDriver::register()?;
        let mut this = KBox::pin_init(
            pin_init!(Registry {
                slots <- new_mutex!(Slots {
                    closing: false,
                    slots: [const { None }; LOW_SLOTS],
                }),
                files: [
                    File::new(&VERSION),
                    File::new(&PARTITIONS),
                    File::new(&TSC_KHZ),
                    File::new(&CREATE),
                    File::new(&DESTROY),
                ],
                top: None,
                watcher: None,
                _guard: guard,
                _pci: pci,
                _cma: CmaDevice::register(),
            }),
            GFP_KERNEL,
        )?;
        let ptr: *const Registry = &*this;
        REGISTRY.store(ptr as *mut _, Ordering::Release);
        // SAFETY: only unpinned fields are written (`top`, `watcher`); the
        // registry itself does not move.
        let inner = unsafe { this.as_mut().get_unchecked_mut() };
        // On error, `this` drops: it removes what was created and withdraws
        // the pointer.
        inner.watcher = Some(Watcher::start()?);
        let top = Dir::new_in_kernel(c_str!("mint"))?;
        for f in inner.files.iter() {
            // SAFETY: `f` is a field of the pinned registry, which outlives
            // `top` (dropped first in `drop`); each file is added once.
            unsafe { top.add(&*inner, f)? };
        }
        inner.top = Some(top);
        Ok(this)
    }
}

#[pinned_drop]
impl PinnedDrop for Registry {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: nothing is moved out of the pinned registry; fields are
        // only taken (`Option::take`) and dropped in place.
        let this = unsafe { self.get_unchecked_mut() };
        let slots: [Option<Slot>; LOW_SLOTS] = {
            let mut s = this.slots.lock();
            s.closing = true;
            core::array::from_fn(|i| s.slots[i].take())
        };
        // The watcher first, then every partition: its directory (removing
        // it waits for its handlers, which may wait for the lock above, free
        // now), then its resources; the top directory last.
        drop(this.watcher.take());
        for slot in slots.into_iter().flatten() {
            let Slot { part, dir } = slot;
            drop(dir);
            part.release();
            pr_info!("released {}\n", part.name_str());
        }
        drop(this.top.take());
        REGISTRY.store(core::ptr::null_mut(), Ordering::Release);
    }
}
