// SPDX-License-Identifier: GPL-2.0

//! One partition: its resources (CPUs, memory window, low-memory slot), its
//! loaded image and its state; the handlers of `/sys/kernel/mint/osN/*`.
//!
//! Every operation runs with the module's lock held (see `registry.rs`), checks
//! the state machine (`logic/src/state.rs`) first and changes nothing when it
//! refuses; refusals are logged as one line `mint: osN: <file>: <reason>`.

use core::fmt::Write;

use kernel::c_str;
use kernel::prelude::*;

use crate::boot;
use crate::cpus::{self, CpuClaim};
use crate::logic::cpulist;
use crate::logic::load_image::{self, LoadImage};
use crate::logic::memrange::{self, MemRange};
use crate::logic::state::{Command, Event, State};
use crate::registry::{self, with_partition, Others};
use crate::sysfs::{Attribute, BinAttribute, Dir, Output};
use crate::window::Window;

/// Offsets in boot_params of the command line pointer (low and high half).
const BP_CMD_LINE_PTR: usize = 0x228;
const BP_EXT_CMD_LINE_PTR: usize = 0x0c8;

/// A partition and everything it owns; dropping it gives everything back.
pub(crate) struct Partition {
    name: [u8; 8],
    name_len: usize,
    state: State,
    /// Index of its low-memory slot (see `boot.rs`).
    slot: usize,
    /// The image being written to `load`, chunk by chunk.
    pending: VVec<u8>,
    /// The complete, validated image (kept pristine for every start).
    image: Option<VVec<u8>>,
    window: Option<Window>,
    cpus: Option<CpuClaim>,
    /// Holds a reference on the module while the partition runs, so that
    /// `rmmod` is refused instead of pulling CPUs from under it.
    pinned_module: bool,
    /// Declared last: the directory goes first when the partition drops.
    dir: Option<Dir>,
}

/// Logs a refusal and returns `err`.
fn refuse(name: &[u8], file: &str, err: Error, why: &dyn core::fmt::Display) -> Error {
    pr_warn!(
        "{}: {}: {}\n",
        core::str::from_utf8(name).unwrap_or("?"),
        file,
        why
    );
    err
}

fn errno(e: i32) -> Error {
    Error::from_errno(-e)
}

fn text(input: &[u8]) -> Result<&str> {
    core::str::from_utf8(input).map_err(|_| EINVAL)
}

impl Partition {
    /// Creates partition `name` (already validated) with sysfs directory
    /// under `parent`, using low-memory slot `slot`.
    pub(crate) fn new(name: &str, slot: usize, parent: &Dir) -> Result<KBox<Self>> {
        let mut buf = [0u8; 8];
        buf.get_mut(..name.len())
            .ok_or(EINVAL)?
            .copy_from_slice(name.as_bytes());
        let mut p = KBox::new(
            Partition {
                name: buf,
                name_len: name.len(),
                state: State::Empty,
                slot,
                pending: VVec::new(),
                image: None,
                window: None,
                cpus: None,
                pinned_module: false,
                dir: None,
            },
            GFP_KERNEL,
        )?;
        let dir = parent.new_child(name.as_bytes())?;
        for attr in [&CPUS, &MEMORY, &STATE, &CMDLINE, &APIC_IDS, &LOWMEM] {
            dir.add(attr)?;
        }
        dir.add_bin(&LOAD)?;
        p.dir = Some(dir);
        Ok(p)
    }

    /// The partition's name.
    pub(crate) fn name(&self) -> &[u8] {
        &self.name[..self.name_len]
    }

    /// The partition's name as text (names are validated `osN`).
    pub(crate) fn name_str(&self) -> &str {
        core::str::from_utf8(self.name()).unwrap_or("?")
    }

    /// Its low-memory slot.
    pub(crate) fn slot(&self) -> usize {
        self.slot
    }

    /// Its state.
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// The memory window, if set.
    pub(crate) fn window_range(&self) -> Option<MemRange> {
        self.window.as_ref().map(|w| w.range())
    }

    fn check(&self, file: &str, event: Event) -> Result<State> {
        self.state
            .apply(event)
            .map_err(|e| refuse(self.name(), file, errno(e.errno()), &e))
    }

    fn set_cpus(&mut self, input: &[u8]) -> Result {
        let set =
            cpulist::parse(text(input)?).map_err(|e| refuse(self.name(), "cpus", EINVAL, &e))?;
        self.check("cpus", Event::SetResources)?;
        let mut why = "";
        CpuClaim::check(&set, self.cpus.as_ref().map(|c| c.cpus()), &mut why)
            .map_err(|e| refuse(self.name(), "cpus", e, &why))?;
        // Give back the old set first (the new one may share CPUs with it);
        // if the host then refuses a CPU, take the old set again.
        let old = self.cpus.take().map(|c| *c.cpus());
        match CpuClaim::claim(&set, &mut why) {
            Ok(claim) => {
                self.cpus = Some(claim);
                Ok(())
            }
            Err(e) => {
                if let Some(old) = old {
                    let mut ignored = "";
                    self.cpus = CpuClaim::claim(&old, &mut ignored).ok();
                }
                Err(refuse(self.name(), "cpus", e, &why))
            }
        }
    }

    fn set_memory(&mut self, input: &[u8], others: &Others<'_>) -> Result {
        let range =
            memrange::parse(text(input)?).map_err(|e| refuse(self.name(), "memory", EINVAL, &e))?;
        self.check("memory", Event::SetResources)?;
        if others.windows().any(|o| o.overlaps(&range)) {
            return Err(refuse(
                self.name(),
                "memory",
                EBUSY,
                &"overlaps another partition's window",
            ));
        }
        if range.start < 0x10_0000 {
            return Err(refuse(
                self.name(),
                "memory",
                EINVAL,
                &"the window must lie above 1 MiB",
            ));
        }
        let mut why = "";
        Window::check(&range, &mut why).map_err(|e| refuse(self.name(), "memory", e, &why))?;
        // Release the old window first (the new one may overlap it); if the
        // claim still fails, take the old one again.
        let old = self.window.take().map(|w| w.range());
        match Window::claim(range, self.name(), &mut why) {
            Ok(w) => {
                self.window = Some(w);
                Ok(())
            }
            Err(e) => {
                if let Some(old) = old {
                    let mut ignored = "";
                    self.window = Window::claim(old, self.name(), &mut ignored).ok();
                }
                Err(refuse(self.name(), "memory", e, &why))
            }
        }
    }

    fn load_chunk(&mut self, offset: u64, data: &[u8]) -> Result {
        if self.state.is_active() {
            return Err(refuse(
                self.name(),
                "load",
                EBUSY,
                &"partition is running; stop it first",
            ));
        }
        if offset == 0 {
            let total = match load_image::total_len_from_prefix(data) {
                None => {
                    return Err(refuse(
                        self.name(),
                        "load",
                        EINVAL,
                        &"first write must hold the 56-byte header",
                    ))
                }
                Some(Err(e)) => return Err(refuse(self.name(), "load", errno(e.errno()), &e)),
                Some(Ok(t)) => t as usize,
            };
            self.pending = VVec::with_capacity(total, GFP_KERNEL).map_err(|_| {
                refuse(
                    self.name(),
                    "load",
                    ENOMEM,
                    &"cannot allocate the image buffer",
                )
            })?;
        } else if offset != self.pending.len() as u64 || self.pending.capacity() == 0 {
            self.pending = VVec::new();
            return Err(refuse(
                self.name(),
                "load",
                EINVAL,
                &"writes must be sequential from offset 0",
            ));
        }
        if self.pending.len() + data.len() > self.pending.capacity() {
            self.pending = VVec::new();
            return Err(refuse(
                self.name(),
                "load",
                EINVAL,
                &"more data than the header's total length",
            ));
        }
        self.pending.extend_from_slice(data, GFP_KERNEL)?;
        if self.pending.len() < self.pending.capacity() {
            return Ok(());
        }
        // Complete: validate, then keep it.
        let blob = core::mem::replace(&mut self.pending, VVec::new());
        let Some(window) = self.window_range() else {
            return Err(refuse(
                self.name(),
                "load",
                EINVAL,
                &"set memory before loading",
            ));
        };
        let image = load_image::parse(&blob)
            .map_err(|e| refuse(self.name(), "load", errno(e.errno()), &e))?;
        image
            .validate_within(window)
            .map_err(|e| refuse(self.name(), "load", errno(e.errno()), &e))?;
        if image.entry() > u32::MAX as u64 || image.boot_params() > u32::MAX as u64 {
            return Err(refuse(
                self.name(),
                "load",
                ERANGE,
                &"entry and boot_params must lie below 4 GiB",
            ));
        }
        let new_state = self.check("load", Event::Load)?;
        let segments = image.segment_count();
        self.image = Some(blob);
        self.state = new_state;
        pr_info!(
            "{}: loaded {} segments, {} bytes\n",
            self.name_str(),
            segments,
            self.image.as_ref().map_or(0, |i| i.len())
        );
        Ok(())
    }

    fn image(&self) -> Option<LoadImage<'_>> {
        load_image::parse(self.image.as_ref()?).ok()
    }

    fn start(&mut self) -> Result {
        let starting = self.check("state", Event::Start)?;
        let (name_buf, name_len) = (self.name, self.name_len);
        let name = &name_buf[..name_len];
        let boot_cpu = self.cpus.as_ref().and_then(|c| c.cpus().first());
        let (Some(window), Some(boot_cpu)) = (self.window.as_mut(), boot_cpu) else {
            return Err(refuse(
                name,
                "state",
                EINVAL,
                &"assign cpus and memory first",
            ));
        };
        // Loaded, stopped and failed partitions all hold a validated image.
        let blob = self.image.as_ref().ok_or(ENOEXEC)?;
        let image = load_image::parse(blob).map_err(|_| ENOEXEC)?;
        // The window may have changed since the load.
        image
            .validate_within(window.range())
            .map_err(|e| refuse(name, "state", errno(e.errno()), &e))?;
        let (entry, boot_params) = (image.entry(), image.boot_params());
        let apicid = cpus::apic_id(boot_cpu)?;
        self.state = starting;
        // Fresh memory for every boot: the window was scrubbed when it was
        // claimed and after every stop (`scrub` is a no-op then, and does the
        // work after a failed start), then the pristine segments go in.
        let t_copy = boot::tsc();
        window.scrub();
        let copied = image
            .segments()
            .try_for_each(|(dest, data)| window.write(dest, data));
        let result = match copied {
            Ok(()) => boot::start_cpu(
                self.slot,
                apicid,
                boot_params,
                entry,
                image.entry_64_page_table(),
            )
            .map_err(|e| (e, "the CPU did not leave the trampoline")),
            Err(e) => Err((e, "cannot copy the image into the window")),
        };
        match result {
            Ok(times) => {
                self.state = self
                    .state
                    .apply(Event::Started)
                    .map_err(|e| errno(e.errno()))?;
                registry::pin_module();
                self.pinned_module = true;
                pr_info!(
                    "{}: started on APIC {} (entry {:#x}, boot_params {:#x})\n",
                    self.name_str(),
                    apicid,
                    entry,
                    boot_params
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
            Err((e, why)) => {
                self.state = self
                    .state
                    .apply(Event::StartFailed)
                    .unwrap_or(State::Failed);
                Err(refuse(self.name(), "state", e, &why))
            }
        }
    }

    /// Stops every CPU of the partition (INIT); they wait for SIPI afterwards.
    fn halt_cpus(&self) {
        if let Some(c) = &self.cpus {
            for cpu in c.cpus().iter() {
                if let Ok(id) = cpus::apic_id(cpu) {
                    boot::stop_cpu(id);
                }
            }
        }
    }

    fn stop(&mut self) -> Result {
        let stopped = self.check("state", Event::Stop)?;
        self.halt_cpus();
        // Scrub now, while nobody waits, so that the next start only copies.
        if let Some(w) = self.window.as_mut() {
            w.scrub();
        }
        self.state = stopped;
        self.unpin();
        pr_info!("{}: stopped\n", self.name_str());
        Ok(())
    }

    fn unpin(&mut self) {
        if self.pinned_module {
            registry::unpin_module();
            self.pinned_module = false;
        }
    }

    /// Whether the partition may be destroyed now.
    pub(crate) fn check_destroy(&self) -> Result {
        self.check("destroy", Event::Destroy).map(|_| ())
    }

    fn show_cmdline(&self, out: &mut Output<'_>) -> Result {
        let Some(image) = self.image() else {
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

impl Drop for Partition {
    fn drop(&mut self) {
        // Remove the files first (waits for running handlers), stop the
        // CPUs before they go back to the host, then the memory.
        drop(self.dir.take());
        if self.state.is_active() {
            self.halt_cpus();
        }
        self.unpin();
        drop(self.cpus.take());
        drop(self.window.take());
    }
}

// ---- sysfs files of /sys/kernel/mint/osN/ ----

fn show_cpus(dir: &[u8], out: &mut Output<'_>) -> Result {
    with_partition(dir, |p, _| match &p.cpus {
        Some(c) => writeln!(out, "{}", c.cpus()).map_err(|_| EFBIG),
        None => writeln!(out).map_err(|_| EFBIG),
    })
}

fn store_cpus(dir: &[u8], input: &[u8]) -> Result {
    with_partition(dir, |p, _| p.set_cpus(input))
}

fn show_memory(dir: &[u8], out: &mut Output<'_>) -> Result {
    with_partition(dir, |p, _| match p.window_range() {
        Some(r) => writeln!(out, "{r}").map_err(|_| EFBIG),
        None => writeln!(out).map_err(|_| EFBIG),
    })
}

fn store_memory(dir: &[u8], input: &[u8]) -> Result {
    with_partition(dir, |p, others| p.set_memory(input, others))
}

fn show_state(dir: &[u8], out: &mut Output<'_>) -> Result {
    with_partition(dir, |p, _| {
        writeln!(out, "{}", p.state.as_str()).map_err(|_| EFBIG)
    })
}

fn store_state(dir: &[u8], input: &[u8]) -> Result {
    with_partition(dir, |p, _| {
        let cmd = Command::parse(text(input)?)
            .map_err(|e| refuse(p.name(), "state", errno(e.errno()), &e))?;
        match cmd {
            Command::Start => p.start(),
            Command::Stop => p.stop(),
        }
    })
}

fn show_cmdline(dir: &[u8], out: &mut Output<'_>) -> Result {
    with_partition(dir, |p, _| p.show_cmdline(out))
}

fn show_apic_ids(dir: &[u8], out: &mut Output<'_>) -> Result {
    with_partition(dir, |p, _| {
        if let Some(c) = &p.cpus {
            let mut sep = "";
            for cpu in c.cpus().iter() {
                write!(out, "{sep}{}", cpus::apic_id(cpu)?).map_err(|_| EFBIG)?;
                sep = " ";
            }
        }
        writeln!(out).map_err(|_| EFBIG)
    })
}

fn show_lowmem(dir: &[u8], out: &mut Output<'_>) -> Result {
    with_partition(dir, |p, _| {
        let (start, end) = boot::low_ram(p.slot);
        writeln!(out, "{:#x}-{:#x}", start, end - 1).map_err(|_| EFBIG)
    })
}

fn write_load(dir: &[u8], offset: u64, data: &[u8]) -> Result {
    with_partition(dir, |p, _| p.load_chunk(offset, data))
}

static CPUS: Attribute = Attribute::new(c_str!("cpus"), 0o600, Some(show_cpus), Some(store_cpus));
static MEMORY: Attribute = Attribute::new(
    c_str!("memory"),
    0o600,
    Some(show_memory),
    Some(store_memory),
);
static STATE: Attribute =
    Attribute::new(c_str!("state"), 0o600, Some(show_state), Some(store_state));
static CMDLINE: Attribute = Attribute::new(c_str!("cmdline"), 0o444, Some(show_cmdline), None);
static APIC_IDS: Attribute = Attribute::new(c_str!("apic_ids"), 0o444, Some(show_apic_ids), None);
static LOWMEM: Attribute = Attribute::new(c_str!("lowmem"), 0o444, Some(show_lowmem), None);
static LOAD: BinAttribute = BinAttribute::new(c_str!("load"), 0o200, write_load);
