// SPDX-License-Identifier: GPL-2.0

//! One partition: its resources (CPUs, memory window, low-memory slot), its
//! loaded image and its state; the handlers of `/sys/kernel/mint/osN/*`.
//!
//! Each partition has its own lock ([`Partition::inner`]): its files never
//! wait for another partition's, and no code holds it together with the
//! registry's lock (`registry.rs`) or another partition's. Every operation
//! checks the
//! state machine (`logic/src/state.rs`) first and changes nothing when it
//! refuses; refusals are returned as [`Refusal`]s, which the sysfs glue logs
//! as one line `mint: osN: <file>: <reason>`.

use core::fmt::Write;

use kernel::c_str;
use kernel::new_mutex;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex, SpinLock};

use crate::boot;
use crate::console;
use crate::cpus::CpuClaim;
use crate::logic::cpulist;
use crate::logic::load_image::{self, LoadImage};
use crate::logic::memlist::{self, MemItem, RangeList};
use crate::logic::pcilist;
use crate::logic::ramoops::Layout;
use crate::logic::state::{Command, Event, Outcome, State};
use crate::refusal::{text, Refusal};
use crate::module_ref::ModuleRef;
use crate::pci::PciClaim;
use crate::sysfs::{BinDesc, BinFile, Dir, File, FileDesc, LockKey, Output, Owner};
use crate::watch::StatusPage;
use crate::window::{self, Memory};

/// Offsets in boot_params of the command line pointer (low and high half).
const BP_CMD_LINE_PTR: usize = 0x228;
const BP_EXT_CMD_LINE_PTR: usize = 0x0c8;

/// A load that has not been written to for this long may be taken over by
/// another writer (its writer has died or given up; sysfs does not tell a
/// binary file's handler when a writer closes it).
const LOAD_IDLE_NS: i64 = 10_000_000_000;

/// Number of text files in a partition directory.
const NR_FILES: usize = 7;

/// A partition and everything it owns.
#[pin_data]
pub(crate) struct Partition {
    name: [u8; 8],
    name_len: usize,
    /// Index of its low-memory slot (see `boot.rs`) and of its registry slot.
    slot: usize,
    #[pin]
    inner: Mutex<Inner>,
    /// The status page of the running instance, shared with the watcher.
    #[pin]
    watch: SpinLock<Option<Arc<StatusPage>>>,
    files: [File<Partition>; NR_FILES],
    /// `load`, `console`, `crash`.
    bin_files: [BinFile<Partition>; 3],
}

/// Who is writing the `load` file.
struct Loader {
    writer: usize,
    last_ns: i64,
}

/// What a partition's lock protects.
struct Inner {
    state: State,
    /// Set once `destroy` has taken the partition out: every request fails.
    dead: bool,
    /// The image being written to `load`, chunk by chunk, and by whom.
    pending: VVec<u8>,
    loader: Option<Loader>,
    /// The complete, validated image (kept pristine for every start).
    image: Option<VVec<u8>>,
    /// Its memory: one or more windows.
    memory: Option<Memory>,
    /// The identity page tables of a 64-bit entry, for the run in progress
    /// (freed once its CPUs are stopped).
    tables: Option<boot::PageTables>,
    cpus: CpuClaim,
    /// The ramoops region of the last started run: its console and crash
    /// records stay readable (the window keeps them) until the next start
    /// or a change of window.
    console: Option<Layout>,
    /// A reference on the module while the partition starts or runs, so
    /// that `rmmod` is refused instead of pulling CPUs from under it.
    module_ref: Option<ModuleRef>,
    /// The PCI functions it owns, in the order `devices` listed them.
    devices: KVec<PciClaim>,
    /// Counts the changes of `devices`; `image_devices` is its value when
    /// the image was loaded (the loader built the image's ACPI tables for
    /// the devices of that time, so a later change needs a new load).
    devices_gen: u64,
    image_devices: u64,
}

impl Owner for Partition {
    fn label(&self) -> &str {
        self.name_str()
    }
}

fn logic(errno: i32, e: &dyn core::fmt::Display) -> Refusal {
    Refusal::errno(errno, e)
}

impl Partition {
    /// Creates partition `name` (already validated) for `slot`, without files.
    pub(crate) fn new(name: &str, slot: usize) -> Result<Arc<Self>> {
        let mut buf = [0u8; 8];
        buf.get_mut(..name.len())
            .ok_or(EINVAL)?
            .copy_from_slice(name.as_bytes());
        // Computed before `pin_init!`, inside which `name` is the new field.
        let name_len = name.len();
        Arc::pin_init(
            pin_init!(Partition {
                name: buf,
                name_len,
                slot,
                inner <- new_mutex!(Inner {
                    state: State::Empty,
                    dead: false,
                    pending: VVec::new(),
                    loader: None,
                    image: None,
                    memory: None,
                    tables: None,
                    cpus: CpuClaim::empty(),
                    console: None,
                    module_ref: None,
                    devices: KVec::new(),
                    devices_gen: 0,
                    image_devices: 0,
                }),
                watch <- new_spinlock!(None),
                files: [
                    File::new(&CPUS),
                    File::new(&MEMORY),
                    File::new(&STATE),
                    File::new(&CMDLINE),
                    File::new(&APIC_IDS),
                    File::new(&LOWMEM),
                    File::new(&DEVICES),
                ],
                bin_files: [
                    BinFile::new(&LOAD),
                    BinFile::new(&CONSOLE),
                    BinFile::new(&CRASH),
                ],
            }),
            GFP_KERNEL,
        )
    }

    /// Creates the partition's directory under `parent`, with its files.
    pub(crate) fn make_dir(self: &Arc<Self>, parent: &Dir) -> Result<Dir, Refusal> {
        let dir = parent
            .new_child(self.name())
            .map_err(|e| Refusal::with(e, &"cannot create the partition's directory"))?;
        for f in self.files.iter() {
            // SAFETY: `f` is a field of `**self`, which lives in an `Arc` (it
            // does not move) that the registry keeps alive until after it has
            // dropped `dir`; each file is added once, here.
            unsafe { dir.add(&**self, f) }
                .map_err(|e| Refusal::with(e, &"cannot create a file of the partition"))?;
        }
        for f in self.bin_files.iter() {
            // SAFETY: as above.
            unsafe { dir.add_bin(&**self, f) }
                .map_err(|e| Refusal::with(e, &"cannot create a file of the partition"))?;
        }
        Ok(dir)
    }

    /// The partition's name.
    pub(crate) fn name(&self) -> &[u8] {
        &self.name[..self.name_len]
    }

    /// The partition's name as text (names are validated `osN`).
    pub(crate) fn name_str(&self) -> &str {
        core::str::from_utf8(self.name()).unwrap_or("?")
    }

    /// Its slot.
    pub(crate) fn slot(&self) -> usize {
        self.slot
    }

    /// Its state.
    pub(crate) fn state(&self) -> State {
        self.inner.lock().state
    }

    fn publish_memory(&self, m: Option<&RangeList>) {
        window::publish(self.slot, m);
    }

    /// Marks the partition dead if it may be destroyed now; from then on
    /// every request fails. The caller then removes its directory and calls
    /// [`Partition::release`].
    pub(crate) fn begin_destroy(&self) -> Result<(), Refusal> {
        let mut g = self.inner.lock();
        g.state
            .apply(Event::Destroy)
            .map_err(|e| logic(e.errno(), &e))?;
        g.dead = true;
        Ok(())
    }

    /// Gives everything back: stops the CPUs if they still run the
    /// partition, returns them to the host, releases the window.
    pub(crate) fn release(&self) {
        self.set_watch(None);
        let mut g = self.inner.lock();
        g.dead = true;
        if g.state.is_active() {
            boot::stop_cpus(&g.cpus);
        }
        g.module_ref = None;
        // The CPUs are stopped: the functions can go back (each is reset
        // and probed by the host's drivers; outside the lock).
        let devices = core::mem::take(&mut g.devices);
        g.cpus = CpuClaim::empty();
        g.console = None;
        g.tables = None;
        // Zeroing and giving back carved memory takes a while; only this
        // partition's lock is held.
        g.memory = None;
        g.pending = VVec::new();
        g.image = None;
        drop(g);
        self.publish_memory(None);
        drop(devices);
    }

    /// Resets every function the partition owns (its CPUs are stopped):
    /// no DMA or interrupt of the last run outlives it.
    fn reset_devices(g: &mut Inner) {
        for d in g.devices.iter_mut() {
            d.reset();
        }
    }

    /// The watcher saw that the running instance ended by itself (its status
    /// page `page` says `outcome`): stop its CPUs and record it.
    pub(crate) fn ended(&self, page: &Arc<StatusPage>, outcome: load_image::Outcome) {
        let mut g = self.inner.lock();
        let current = self
            .watch
            .lock()
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, page));
        if !current || g.dead {
            return; // Stopped or restarted meanwhile.
        }
        let end = match outcome {
            load_image::Outcome::Rebooted => Outcome::Rebooted,
            load_image::Outcome::PoweredOff | load_image::Outcome::Halted => Outcome::Halted,
            load_image::Outcome::Panicked => Outcome::Crashed,
        };
        let Ok(state) = g.state.apply(Event::Ended(end)) else {
            return;
        };
        boot::stop_cpus(&g.cpus);
        self.set_watch(None);
        g.state = state;
        g.module_ref = None;
        Self::reset_devices(&mut g);
        let b = page.prefix();
        // The window is left as it is (the partition's last words, its
        // console and crash record, stay readable); the next start scrubs it.
        if end == Outcome::Crashed {
            let mut buf = console::reason_buf();
            let reason = match (g.memory.as_ref(), g.console.as_ref()) {
                (Some(w), Some(l)) => console::panic_reason(w, l, &mut buf),
                _ => console::Reason::NoRecord,
            };
            let name = self.name_str();
            match reason {
                console::Reason::Text(r) => pr_info!("{}: crashed: {}\n", name, r),
                console::Reason::Unreadable => pr_info!(
                    "{}: crashed: panic (its crash record has no panic line)\n",
                    name
                ),
                console::Reason::NoRecord => pr_info!(
                    "{}: crashed: panic reported by the agent (no crash record)\n",
                    name
                ),
            }
            return;
        }
        pr_info!(
            "{}: {} (status page {:#x}: reset {:#04x} sleep {:#04x} event {} agent {}), CPUs stopped\n",
            self.name_str(),
            state.as_str(),
            page.phys(),
            b[load_image::STATUS_RESET_OFF],
            b[load_image::STATUS_SLEEP_OFF],
            u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            if u32::from_le_bytes([b[8], b[9], b[10], b[11]]) == load_image::AGENT_MAGIC {
                "yes"
            } else {
                "no"
            }
        );
    }

    /// Replaces the watched status page. The old one is dropped after the
    /// spinlock is released: unmapping it may sleep.
    fn set_watch(&self, page: Option<Arc<StatusPage>>) {
        let old = core::mem::replace(&mut *self.watch.lock(), page);
        drop(old);
    }

    /// The running instance's status page and how it ended, if it did (the
    /// watcher). The page is read under the spinlock that `set_watch`
    /// takes: once `set_watch(None)` returned, no read of the old page is
    /// in progress, so carved memory can go back to the host right after.
    pub(crate) fn watched_outcome(&self) -> Option<(Arc<StatusPage>, load_image::Outcome)> {
        let g = self.watch.lock();
        let page = g.as_ref()?;
        let outcome = page.outcome()?;
        Some((page.clone(), outcome))
    }

    fn lock(&self) -> Result<kernel::sync::lock::Guard<'_, Inner, kernel::sync::lock::mutex::MutexBackend>, Refusal> {
        let g = self.inner.lock();
        if g.dead {
            return Err(Refusal::new(ENODEV, "partition is being destroyed"));
        }
        Ok(g)
    }

    fn set_cpus(&self, input: &[u8]) -> Result<(), Refusal> {
        let set = cpulist::parse(text(input)?).map_err(|e| Refusal::with(EINVAL, &e))?;
        let mut g = self.lock()?;
        g.state
            .apply(Event::SetResources)
            .map_err(|e| logic(e.errno(), &e))?;
        g.cpus.set(&set)
    }

    fn set_memory(&self, input: &[u8]) -> Result<(), Refusal> {
        let req = memlist::parse_request(text(input)?).map_err(|e| Refusal::with(EINVAL, &e))?;
        let mut g = self.lock()?;
        g.state
            .apply(Event::SetResources)
            .map_err(|e| logic(e.errno(), &e))?;
        let explicit_elsewhere = req.items().iter().any(|i| match i {
            MemItem::At(r) => window::overlaps_other(self.slot, r),
            MemItem::Size(_) => false,
        });
        if explicit_elsewhere {
            return Err(Refusal::new(EBUSY, "overlaps another partition's memory"));
        }
        let before = g.memory.as_ref().map(|m| m.ranges());
        let (memory, outcome) =
            Memory::rewrite(g.memory.take(), &req, self.name(), self.name_str());
        let after = memory.as_ref().map(|m| m.ranges());
        g.memory = memory;
        if after != before {
            // A window that went took the last run's console with it.
            g.console = None;
            self.publish_memory(after.as_ref());
        }
        outcome
    }

    /// Makes the partition own exactly the functions listed: claims the new
    /// ones (all or none: a refusal undoes this write's claims), then hands
    /// back those no longer listed.
    fn set_devices(&self, input: &[u8]) -> Result<(), Refusal> {
        let list = pcilist::parse(text(input)?).map_err(|e| Refusal::with(EINVAL, &e))?;
        let mut g = self.lock()?;
        g.state
            .apply(Event::SetResources)
            .map_err(|e| logic(e.errno(), &e))?;
        let mut fresh = KVec::with_capacity(pcilist::MAX_DEVICES, GFP_KERNEL)?;
        let mut gone = KVec::with_capacity(pcilist::MAX_DEVICES, GFP_KERNEL)?;
        let mut devices = KVec::with_capacity(pcilist::MAX_DEVICES, GFP_KERNEL)?;
        for bdf in list.as_slice() {
            if g.devices.iter().any(|d| d.bdf() == *bdf) {
                continue;
            }
            match PciClaim::claim(self.name(), *bdf) {
                // Cannot fail: room for MAX_DEVICES was reserved.
                Ok(c) => fresh.push(c, GFP_KERNEL)?,
                Err(e) => {
                    for c in fresh {
                        c.undo();
                    }
                    return Err(e);
                }
            }
        }
        // Every claim by its place in the list; the rest goes back.
        let mut placed: [Option<PciClaim>; pcilist::MAX_DEVICES] = Default::default();
        let claimed = !fresh.is_empty();
        let reordered = g
            .devices
            .iter()
            .zip(list.as_slice())
            .any(|(d, b)| d.bdf() != *b);
        let old = core::mem::take(&mut g.devices);
        for d in Iterator::chain(old.into_iter(), fresh) {
            match list.as_slice().iter().position(|b| *b == d.bdf()) {
                Some(i) => placed[i] = Some(d),
                None => gone.push(d, GFP_KERNEL)?,
            }
        }
        // Neither push allocates: the room was reserved above.
        for d in placed.into_iter().flatten() {
            devices.push(d, GFP_KERNEL)?;
        }
        g.devices = devices;
        if claimed || !gone.is_empty() || reordered {
            g.devices_gen += 1;
        }
        let changed = g.devices_gen;
        drop(g);
        // Handed back (reset, host driver probed) outside the lock.
        let released = gone.len();
        drop(gone);
        if released > 0 {
            pr_info!(
                "{}: devices: {} function(s) handed back (change {})\n",
                self.name_str(),
                released,
                changed
            );
        }
        Ok(())
    }

    fn load_chunk(&self, writer: usize, offset: u64, data: &[u8]) -> Result<(), Refusal> {
        let mut g = self.lock()?;
        if g.state.is_active() {
            return Err(Refusal::new(EBUSY, "partition is running; stop it first"));
        }
        let now = boot::now_ns();
        if let Some(l) = &g.loader {
            if l.writer != writer && now - l.last_ns < LOAD_IDLE_NS {
                return Err(Refusal::new(EBUSY, "another load is in progress"));
            }
        }
        if offset == 0 {
            let total = match load_image::total_len_from_prefix(data) {
                None => {
                    return Err(Refusal::new(
                        EINVAL,
                        "first write must hold the whole load image header",
                    ))
                }
                Some(Err(e)) => return Err(logic(e.errno(), &e)),
                Some(Ok(t)) => t as usize,
            };
            g.pending = VVec::with_capacity(total, GFP_KERNEL)
                .map_err(|_| Refusal::new(ENOMEM, "cannot allocate the image buffer"))?;
            g.loader = Some(Loader {
                writer,
                last_ns: now,
            });
        } else if g.loader.as_ref().is_none_or(|l| l.writer != writer)
            || offset != g.pending.len() as u64
            || g.pending.capacity() == 0
        {
            g.pending = VVec::new();
            g.loader = None;
            return Err(Refusal::new(
                EINVAL,
                "writes must be sequential from offset 0",
            ));
        }
        if g.pending.len() + data.len() > g.pending.capacity() {
            g.pending = VVec::new();
            g.loader = None;
            return Err(Refusal::new(
                EINVAL,
                "more data than the header's total length",
            ));
        }
        g.pending.extend_from_slice(data, GFP_KERNEL)?;
        if let Some(l) = g.loader.as_mut() {
            l.last_ns = now;
        }
        if g.pending.len() < g.pending.capacity() {
            return Ok(());
        }
        // Complete: validate, then keep it.
        let blob = core::mem::replace(&mut g.pending, VVec::new());
        g.loader = None;
        let Some(memory) = g.memory.as_ref().map(|m| m.ranges()) else {
            return Err(Refusal::new(EINVAL, "set memory before loading"));
        };
        let image = load_image::parse(&blob).map_err(|e| logic(e.errno(), &e))?;
        image
            .validate_within(memory.ranges())
            .map_err(|e| logic(e.errno(), &e))?;
        let new_state = g.state.apply(Event::Load).map_err(|e| logic(e.errno(), &e))?;
        let segments = image.segment_count();
        let len = blob.len();
        g.image = Some(blob);
        g.image_devices = g.devices_gen;
        g.state = new_state;
        pr_info!(
            "{}: loaded {} segments, {} bytes\n",
            self.name_str(),
            segments,
            len
        );
        Ok(())
    }

    /// Boots the loaded image: copies it, sends the boot CPU into the
    /// trampoline and, with this partition's lock released (state
    /// `starting`), waits for the CPU to leave it.
    fn start(&self) -> Result<(), Refusal> {
        let (launch, page, t_copy) = {
            let mut g = self.lock()?;
            let starting = g.state.apply(Event::Start).map_err(|e| logic(e.errno(), &e))?;
            let inner = &mut *g;
            let (Some(memory), false) = (inner.memory.as_mut(), inner.cpus.cpus().is_empty())
            else {
                return Err(Refusal::new(EINVAL, "assign cpus and memory first"));
            };
            if let Some(d) = inner.devices.iter().find(|d| d.removed()) {
                return Err(Refusal::with(
                    ENODEV,
                    &format_args!(
                        "{} was removed from the host: write devices without it, then load again",
                        d.bdf()
                    ),
                ));
            }
            if inner.image_devices != inner.devices_gen {
                return Err(Refusal::new(
                    EINVAL,
                    "devices changed since the load, which built the tables for the old ones: load again",
                ));
            }
            // Loaded, stopped, failed and ended partitions hold a validated image.
            let blob = inner.image.as_ref().ok_or(ENOEXEC)?;
            let image = load_image::parse(blob).map_err(|_| ENOEXEC)?;
            // The memory may have changed since the load.
            image
                .validate_within(memory.ranges().ranges())
                .map_err(|e| logic(e.errno(), &e))?;
            let module_ref = ModuleRef::get().ok_or(Refusal::new(
                ENODEV,
                "the module is being unloaded",
            ))?;
            let console = image.console();
            let page = image
                .status_page()
                .map(|phys| {
                    StatusPage::map(phys, console).and_then(|p| Ok(Arc::new(p, GFP_KERNEL)?))
                })
                .transpose()
                .map_err(|e| Refusal::with(e, &"cannot map the status page"))?;
            // Fresh memory for every boot: the window is scrubbed when it is
            // claimed and after every stop but for the console region (`scrub`
            // then clears only that; it does the whole work after a failed
            // start or an ended run), then the pristine segments go in.
            let t_copy = boot::tsc();
            memory.scrub();
            // The last run's console is gone now; this run's is empty until
            // its kernel writes it.
            inner.console = console;
            image
                .segments()
                .try_for_each(|(dest, data)| memory.write(dest, data))
                .map_err(|e| Refusal::with(e, &"cannot copy the image into the window"))?;
            // A 64-bit entry: identity page tables in host pages below 4 GiB,
            // kept until the CPUs are stopped. The last run's are unused
            // (its CPUs are stopped in every state that may start).
            inner.tables = None;
            let tables = if image.entry_64() {
                Some(boot::PageTables::new(memory.ranges().ranges())?)
            } else {
                None
            };
            let launch = boot::launch(
                &inner.cpus,
                self.slot,
                image.boot_params(),
                image.entry(),
                tables.as_ref(),
            )
            .map_err(|e| Refusal::with(e, &"cannot send the CPU into the trampoline"))?;
            inner.tables = tables;
            inner.module_ref = Some(module_ref);
            inner.state = starting;
            (launch, page, t_copy)
        };
        // The lock is released: other readers see `starting`, every change
        // is refused with EBUSY until the outcome is known.
        let result = launch.wait();
        let mut g = self.inner.lock();
        match result {
            Ok(times) => {
                g.state = g
                    .state
                    .apply(Event::Started)
                    .map_err(|e| logic(e.errno(), &e))?;
                let watched = page.as_ref().map(|p| p.phys());
                self.set_watch(page);
                let apicid = g.cpus.apic_ids().next().unwrap_or(u32::MAX);
                pr_info!(
                    "{}: started on APIC {} (status page {:#x})\n",
                    self.name_str(),
                    apicid,
                    watched.unwrap_or(0)
                );
                // TSC values for `cargo xtask bench`: start of the copy, the
                // INIT, and the CPU's own reading as it entered the kernel.
                pr_info!(
                    "{}: start tsc copy={} init={} entry={}\n",
                    self.name_str(),
                    t_copy,
                    times.init,
                    times.entry
                );
                Ok(())
            }
            Err(e) => {
                boot::stop_cpus(&g.cpus);
                Self::reset_devices(&mut g);
                g.state = g
                    .state
                    .apply(Event::StartFailed)
                    .unwrap_or(State::Failed);
                g.module_ref = None;
                Err(Refusal::with(e, &"the CPU did not leave the trampoline"))
            }
        }
    }

    fn stop(&self) -> Result<(), Refusal> {
        let mut g = self.lock()?;
        let stopped = g.state.apply(Event::Stop).map_err(|e| logic(e.errno(), &e))?;
        self.set_watch(None);
        boot::stop_cpus(&g.cpus);
        Self::reset_devices(&mut g);
        // Scrub now, while nobody waits, so that the next start only copies;
        // the console region stays readable until then.
        let keep = g.console.map(|l| l.region());
        g.tables = None;
        if let Some(w) = g.memory.as_mut() {
            match keep {
                Some(region) => w.scrub_except(region),
                None => w.scrub(),
            }
        }
        g.state = stopped;
        g.module_ref = None;
        pr_info!("{}: stopped\n", self.name_str());
        Ok(())
    }

    fn show_cmdline(image: Option<LoadImage<'_>>, out: &mut Output<'_>) -> Result<(), Refusal> {
        let Some(image) = image else {
            return Ok(());
        };
        let bp = image.boot_params();
        let zero_page = image.segments().find_map(|(d, data)| {
            let off = bp.checked_sub(d)? as usize;
            data.get(off..off + 4096)
        });
        let Some(zp) = zero_page else { return Ok(()) };
        let rd = |o: usize| {
            zp.get(o..o + 4)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let ptr = (rd(BP_EXT_CMD_LINE_PTR) as u64) << 32 | rd(BP_CMD_LINE_PTR) as u64;
        let line = image.segments().find_map(|(d, data)| {
            let off = ptr.checked_sub(d)? as usize;
            let rest = data.get(off..).filter(|r| !r.is_empty())?;
            let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            rest.get(..len)
        });
        if let Some(line) = line {
            let s = core::str::from_utf8(line).map_err(|_| EINVAL)?;
            writeln!(out, "{s}").map_err(|_| EFBIG)?;
        }
        Ok(())
    }
}

// ---- sysfs files of /sys/kernel/mint/osN/ ----

fn show_cpus(p: &Partition, out: &mut Output<'_>) -> Result<(), Refusal> {
    let g = p.lock()?;
    if g.cpus.cpus().is_empty() {
        writeln!(out).map_err(Refusal::from)
    } else {
        writeln!(out, "{}", g.cpus.cpus()).map_err(Refusal::from)
    }
}

fn store_cpus(p: &Partition, input: &[u8]) -> Result<(), Refusal> {
    p.set_cpus(input)
}

fn show_memory(p: &Partition, out: &mut Output<'_>) -> Result<(), Refusal> {
    let g = p.lock()?;
    match g.memory.as_ref().map(|m| m.ranges()) {
        Some(r) => writeln!(out, "{r}").map_err(Refusal::from),
        None => writeln!(out).map_err(Refusal::from),
    }
}

fn store_memory(p: &Partition, input: &[u8]) -> Result<(), Refusal> {
    p.set_memory(input)
}

fn show_state(p: &Partition, out: &mut Output<'_>) -> Result<(), Refusal> {
    let state = p.lock()?.state;
    writeln!(out, "{}", state.as_str()).map_err(Refusal::from)
}

fn store_state(p: &Partition, input: &[u8]) -> Result<(), Refusal> {
    match Command::parse(text(input)?).map_err(|e| logic(e.errno(), &e))? {
        Command::Start => p.start(),
        Command::Stop => p.stop(),
    }
}

fn show_cmdline(p: &Partition, out: &mut Output<'_>) -> Result<(), Refusal> {
    let g = p.lock()?;
    let image = g
        .image
        .as_ref()
        .and_then(|i| load_image::parse(i).ok());
    Partition::show_cmdline(image, out)
}

fn show_apic_ids(p: &Partition, out: &mut Output<'_>) -> Result<(), Refusal> {
    let g = p.lock()?;
    let mut sep = "";
    for id in g.cpus.apic_ids() {
        write!(out, "{sep}{id}").map_err(Refusal::from)?;
        sep = " ";
    }
    writeln!(out).map_err(Refusal::from)
}

fn show_lowmem(p: &Partition, out: &mut Output<'_>) -> Result<(), Refusal> {
    let (start, end) = boot::low_ram(p.slot);
    writeln!(out, "{:#x}-{:#x}", start, end - 1).map_err(Refusal::from)
}

fn show_devices(p: &Partition, out: &mut Output<'_>) -> Result<(), Refusal> {
    let g = p.lock()?;
    for d in g.devices.iter() {
        writeln!(out, "{}", d.bdf()).map_err(Refusal::from)?;
    }
    Ok(())
}

fn store_devices(p: &Partition, input: &[u8]) -> Result<(), Refusal> {
    p.set_devices(input)
}

fn write_load(p: &Partition, writer: usize, offset: u64, data: &[u8]) -> Result<(), Refusal> {
    p.load_chunk(writer, offset, data)
}

/// Runs `f` on the memory and ramoops region of the last run, if any.
fn with_console(
    p: &Partition,
    f: impl FnOnce(&Memory, &Layout) -> Result<usize>,
) -> Result<usize, Refusal> {
    let g = p.lock()?;
    match (g.memory.as_ref(), g.console.as_ref()) {
        (Some(w), Some(l)) => f(w, l).map_err(|e| Refusal::with(e, &"cannot read the window")),
        _ => Ok(0),
    }
}

fn read_console(p: &Partition, offset: u64, buf: &mut [u8]) -> Result<usize, Refusal> {
    with_console(p, |w, l| console::read_console(w, l, offset, buf))
}

fn read_crash(p: &Partition, offset: u64, buf: &mut [u8]) -> Result<usize, Refusal> {
    with_console(p, |w, l| console::read_crash(w, l, offset, buf))
}

static CPUS: FileDesc<Partition> = FileDesc {
    name: c_str!("cpus"),
    mode: 0o600,
    show: Some(show_cpus),
    store: Some(store_cpus),
    key: LockKey::new(),
};
static MEMORY: FileDesc<Partition> = FileDesc {
    name: c_str!("memory"),
    mode: 0o600,
    show: Some(show_memory),
    store: Some(store_memory),
    key: LockKey::new(),
};
static STATE: FileDesc<Partition> = FileDesc {
    name: c_str!("state"),
    mode: 0o600,
    show: Some(show_state),
    store: Some(store_state),
    key: LockKey::new(),
};
static CMDLINE: FileDesc<Partition> = FileDesc {
    name: c_str!("cmdline"),
    mode: 0o444,
    show: Some(show_cmdline),
    store: None,
    key: LockKey::new(),
};
static APIC_IDS: FileDesc<Partition> = FileDesc {
    name: c_str!("apic_ids"),
    mode: 0o444,
    show: Some(show_apic_ids),
    store: None,
    key: LockKey::new(),
};
static LOWMEM: FileDesc<Partition> = FileDesc {
    name: c_str!("lowmem"),
    mode: 0o444,
    show: Some(show_lowmem),
    store: None,
    key: LockKey::new(),
};
static DEVICES: FileDesc<Partition> = FileDesc {
    name: c_str!("devices"),
    mode: 0o600,
    show: Some(show_devices),
    store: Some(store_devices),
    key: LockKey::new(),
};
static LOAD: BinDesc<Partition> = BinDesc {
    name: c_str!("load"),
    mode: 0o200,
    read: None,
    write: Some(write_load),
    key: LockKey::new(),
};
static CONSOLE: BinDesc<Partition> = BinDesc {
    name: c_str!("console"),
    mode: 0o400,
    read: Some(read_console),
    write: None,
    key: LockKey::new(),
};
static CRASH: BinDesc<Partition> = BinDesc {
    name: c_str!("crash"),
    mode: 0o400,
    read: Some(read_crash),
    write: None,
    key: LockKey::new(),
};
