// SPDX-License-Identifier: GPL-2.0

//! A partition's physical memory: one or more windows, each claimed,
//! mapped, filled and released.
//!
//! A window is either
//! * a range the host's e820 map marks reserved (e.g. booted with
//!   `memmap=256M$0x20000000`), claimed with `request_mem_region`, or
//! * a range carved from the running host's System RAM (`rust/mem_shim.c`):
//!   its pages are taken from the page allocator with `alloc_contig_range`,
//!   migrating whatever movable pages sat there, and given back with
//!   `free_contig_range`. It shows in /proc/iomem as a busy child of its
//!   "System RAM" resource.
//!
//! Either way the claim shows in /proc/iomem under the partition's name and
//! keeps any other driver, or another partition, from taking the range, and
//! the window is zeroed when claimed (no trace of the host or of an earlier
//! user) and when released (no trace of the partition).

use core::ffi::c_void;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::bindings;
use kernel::prelude::*;

use crate::boot::LOW_SLOTS;
use crate::logic::memlist::{sort_small, MemItem, MemRequest, RangeList, CARVE_ALIGN, MAX_RANGES};
use crate::logic::memrange::MemRange;
use crate::refusal::Refusal;

/// What `mint_carve` and `mint_carve_at` report (rust/mem_shim.c).
#[repr(C)]
#[derive(Default)]
struct CarveStats {
    tries: u64,
    ns: u64,
    largest_free: u64,
}

extern "C" {
    /// Carves `size` bytes at an `align` boundary at or above `floor`,
    /// highest address first, into `*start`: 0, -ENOMEM or -EINTR.
    ///
    /// # Safety
    ///
    /// `start` and `st` must be valid for writes. The pages carved belong to
    /// the caller until `mint_uncarve`.
    fn mint_carve(size: u64, align: u64, floor: u64, start: *mut u64, st: *mut CarveStats) -> i32;
    /// Carves exactly `[start, start + size)`: 0, -EBUSY or -EINTR.
    ///
    /// # Safety
    ///
    /// As for `mint_carve`.
    fn mint_carve_at(start: u64, size: u64, st: *mut CarveStats) -> i32;
    /// Gives a carved range back to the page allocator.
    ///
    /// # Safety
    ///
    /// `[start, start + size)` must be exactly a range carved by the caller
    /// and no longer used by anyone.
    fn mint_uncarve(start: u64, size: u64);
    /// Inserts a busy resource named `name` for a carved range into
    /// /proc/iomem; NULL if it cannot.
    ///
    /// # Safety
    ///
    /// `name` must be NUL-terminated and outlive the resource.
    fn mint_carve_show(start: u64, size: u64, name: *const u8) -> *mut bindings::resource;
    /// Removes and frees what `mint_carve_show` returned.
    ///
    /// # Safety
    ///
    /// `res` must come from `mint_carve_show` and not be used afterwards.
    fn mint_carve_hide(res: *mut bindings::resource);
    /// The host's free memory in bytes (MemFree).
    fn mint_free_bytes() -> u64;
    /// Registers the device CMA windows are allocated for: 0 or -errno.
    fn mint_cma_register() -> i32;
    /// Unregisters it.
    ///
    /// # Safety
    ///
    /// Every window from `mint_carve_cma` must have been given back.
    fn mint_cma_unregister();
    /// Takes `size` bytes from the host's default CMA area into `*start`:
    /// 0 or -ENOMEM.
    ///
    /// # Safety
    ///
    /// As for `mint_carve`.
    fn mint_carve_cma(size: u64, start: *mut u64, st: *mut CarveStats) -> i32;
    /// Gives back a range from `mint_carve_cma`.
    ///
    /// # Safety
    ///
    /// As for `mint_uncarve`, for a range from `mint_carve_cma`.
    fn mint_uncarve_cma(start: u64, size: u64);
    /// A scheduling point.
    fn mint_cond_resched();
}

/// Carved windows start at or above this address (below it: the ISA DMA
/// zone, firmware areas, the low slots).
const CARVE_FLOOR: u64 = 16 << 20;
/// What a size-only carve leaves the host free at least.
const HOST_KEEP_FREE: u64 = 128 << 20;
/// Zeroing works in pieces this large, with a scheduling point between
/// them (a 2 GiB window takes seconds on a slow machine).
const ZERO_CHUNK: usize = 2 << 20;

/// `SIZE` in the form `memory` takes it (e.g. `512M`), for messages; a size
/// that is no whole number of MiB is shown in MiB rounded down (`~2837M`).
struct Size(u64);

impl core::fmt::Display for Size {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        const G: u64 = 1 << 30;
        const M: u64 = 1 << 20;
        match self.0 {
            n if n >= G && n % G == 0 => write!(f, "{}G", n / G),
            n if n % M == 0 => write!(f, "{}M", n / M),
            n => write!(f, "~{}M", n / M),
        }
    }
}

/// Where carved memory came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Anywhere in System RAM, with `alloc_contig_range`.
    Ram,
    /// The host's default CMA area, through the DMA API.
    Cma,
}

impl Source {
    /// Gives `range` back where it came from.
    ///
    /// # Safety
    ///
    /// `range` must be exactly a range carved from this source, used by no
    /// one any more.
    unsafe fn give_back(self, range: &MemRange) {
        match self {
            // SAFETY: the caller's contract.
            Source::Ram => unsafe { mint_uncarve(range.start, range.size) },
            // SAFETY: the caller's contract.
            Source::Cma => unsafe { mint_uncarve_cma(range.start, range.size) },
        }
    }
}

/// How a window was claimed.
enum Kind {
    /// Reserved memory, claimed with `__request_region`.
    Reserved,
    /// Carved System RAM, shown in /proc/iomem by this resource.
    Carved(NonNull<bindings::resource>, Source),
}

/// The device through which windows come from the host's CMA area
/// (`cma=`); registered for the module's lifetime.
///
/// # Invariants
///
/// The flag is true exactly when `mint_cma_register` succeeded (so
/// rust/mem_shim.c holds the device and `mint_carve_cma` may succeed).
pub(crate) struct CmaDevice(bool);

impl CmaDevice {
    /// Registers it. Without it (an error is logged) carving still works,
    /// only not from the CMA area.
    pub(crate) fn register() -> Self {
        // SAFETY: no preconditions.
        let ret = unsafe { mint_cma_register() };
        if ret != 0 {
            pr_warn!("memory: no device for the CMA area ({}); carving will not use it\n", ret);
        }
        Self(ret == 0)
    }
}

impl Drop for CmaDevice {
    fn drop(&mut self) {
        if self.0 {
            // SAFETY: the registry drops this after every partition (and so
            // every window) was released.
            unsafe { mint_cma_unregister() };
        }
    }
}

/// A claimed and mapped window; released on drop.
///
/// # Invariants
///
/// `base` maps `range.size` bytes at `range.start`, write-back, which the
/// partition owns exclusively (claimed as `kind` says) until drop.
pub(crate) struct Window {
    range: MemRange,
    base: NonNull<u8>,
    kind: Kind,
    /// Something was written since the last scrub.
    dirty: bool,
    /// After [`Window::scrub_except`]: the part it kept (the rest is zero).
    kept: Option<core::ops::Range<u64>>,
    /// The resource name must stay put while the resource exists.
    _name: KBox<[u8; 16]>,
}

// SAFETY: the mapping is plain memory that only the owning partition (under
// its lock) touches; the resource is managed by the kernel.
unsafe impl Send for Window {}
// SAFETY: `&Window` allows no mutation.
unsafe impl Sync for Window {}

/// `walk_iomem_res_desc` callback: adds the length of each reserved piece.
///
/// # Safety
///
/// `res` points to a resource clipped to the walked range and `arg` to the
/// `u64` accumulator passed by [`reserved_bytes`].
unsafe extern "C" fn add_len(res: *mut bindings::resource, arg: *mut c_void) -> i32 {
    // SAFETY: guaranteed by the caller (`walk_iomem_res_desc`).
    let (start, end) = unsafe { ((*res).start, (*res).end) };
    // SAFETY: `arg` is the accumulator, exclusively borrowed by the walk.
    let total = unsafe { &mut *(arg as *mut u64) };
    *total = total.saturating_add(end.saturating_sub(start).saturating_add(1));
    0
}

/// How many bytes of `range` the host's firmware map marks reserved.
fn reserved_bytes(range: &MemRange) -> u64 {
    let mut total: u64 = 0;
    // SAFETY: the callback only updates `total`, which outlives the walk.
    unsafe {
        bindings::walk_iomem_res_desc(
            bindings::IORES_DESC_RESERVED as _,
            bindings::IORESOURCE_MEM as _,
            range.start,
            range.end() - 1,
            &mut total as *mut u64 as *mut c_void,
            Some(add_len),
        )
    };
    total
}

/// How `range` relates to the host's System RAM.
fn ram_overlap(range: &MemRange) -> Result<i32, Refusal> {
    let size = usize::try_from(range.size).map_err(|_| EINVAL)?;
    // SAFETY: pure query of the resource tree.
    Ok(unsafe {
        bindings::region_intersects(
            range.start,
            size,
            bindings::IORESOURCE_SYSTEM_RAM as _,
            bindings::IORES_DESC_NONE as _,
        )
    })
}

fn resource_name(name: &[u8]) -> Result<KBox<[u8; 16]>, Refusal> {
    let mut resname = KBox::new([0u8; 16], GFP_KERNEL)?;
    let n = name.len().min(15);
    resname[..n].copy_from_slice(&name[..n]);
    Ok(resname)
}

impl Window {
    /// Checks that `range` is reserved memory the host does not manage
    /// (without claiming it).
    fn check_reserved(range: &MemRange) -> Result<(), Refusal> {
        if reserved_bytes(range) < range.size {
            return Err(Refusal::new(
                EINVAL,
                "range is not entirely reserved memory or System RAM in the host's map (see /proc/iomem)",
            ));
        }
        Ok(())
    }

    /// Claims exactly `range` for partition `name`: reserved memory as it
    /// is, System RAM by carving it.
    pub(crate) fn claim(range: MemRange, name: &[u8], label: &str) -> Result<Self, Refusal> {
        let ram = ram_overlap(&range)?;
        if ram == bindings::REGION_INTERSECTS as i32 {
            return Self::carve_at(range, name, label);
        }
        if ram != bindings::REGION_DISJOINT as i32 {
            return Err(Refusal::new(
                EINVAL,
                "range is partly System RAM and partly not: give one or the other (see /proc/iomem)",
            ));
        }
        Self::check_reserved(&range)?;
        let resname = resource_name(name)?;
        // SAFETY: `iomem_resource` is the kernel's root of the memory
        // resource tree; `resname` is NUL-terminated and lives as long as the
        // claim (it is freed only after `__release_region` in `drop`).
        let res = unsafe {
            bindings::__request_region(
                core::ptr::addr_of_mut!(bindings::iomem_resource),
                range.start,
                range.size,
                resname.as_ptr() as *const _,
                0,
            )
        };
        if res.is_null() {
            return Err(Refusal::new(
                EBUSY,
                "range is already claimed (by another partition or a driver; see /proc/iomem)",
            ));
        }
        Self::map(range, Kind::Reserved, resname, false)
    }

    /// Refuses a carve of `size` that would leave the host less than
    /// [`HOST_KEEP_FREE`] free.
    fn keeps_host_free(size: u64) -> Result<(), Refusal> {
        // SAFETY: no preconditions.
        let free = unsafe { mint_free_bytes() };
        if free < size.saturating_add(HOST_KEEP_FREE) {
            return Err(Refusal::with(
                ENOMEM,
                &format_args!(
                    "cannot carve {}: the host has {} free and keeps {} for itself",
                    Size(size),
                    Size(free),
                    Size(HOST_KEEP_FREE)
                ),
            ));
        }
        Ok(())
    }

    /// Carves `size` bytes (a multiple of [`CARVE_ALIGN`]) from the host's
    /// System RAM, highest address first.
    pub(crate) fn carve(size: u64, name: &[u8], label: &str) -> Result<Self, Refusal> {
        Self::keeps_host_free(size)?;
        let resname = resource_name(name)?;
        let mut st = CarveStats::default();
        let mut start = 0u64;
        // The CMA area first: a host booted with cma= set it aside for this.
        // SAFETY: both pointers are to locals that outlive the call.
        if unsafe { mint_carve_cma(size, &mut start, &mut st) } == 0 {
            pr_info!(
                "{}: carved {} at {:#x} from the CMA area in {} ms\n",
                label,
                Size(size),
                start,
                st.ns / 1_000_000
            );
            return Self::carved(MemRange { start, size }, Source::Cma, resname, label);
        }
        // SAFETY: both pointers are to locals that outlive the call.
        let ret = unsafe { mint_carve(size, CARVE_ALIGN, CARVE_FLOOR, &mut start, &mut st) };
        if ret != 0 {
            if ret == -(bindings::ENOMEM as i32) {
                let why = if st.tries == 0 {
                    "no System RAM range that large holds only movable pages"
                } else {
                    "no range that large could be emptied"
                };
                return Err(Refusal::with(
                    ENOMEM,
                    &format_args!(
                        "cannot carve {}: {} ({} tries, {} ms; largest free block {}); boot the host with movablecore= or cma=, e.g. movablecore={}",
                        Size(size),
                        why,
                        st.tries,
                        st.ns / 1_000_000,
                        Size(st.largest_free),
                        Size(size.saturating_add(256 << 20))
                    ),
                ));
            }
            return Err(Refusal::with(Error::from_errno(ret), &"carving was interrupted"));
        }
        let range = MemRange { start, size };
        pr_info!(
            "{}: carved {} at {:#x} in {} ms ({} tries)\n",
            label,
            Size(size),
            start,
            st.ns / 1_000_000,
            st.tries
        );
        Self::carved(range, Source::Ram, resname, label)
    }

    /// Carves exactly `range`, which is System RAM.
    fn carve_at(range: MemRange, name: &[u8], label: &str) -> Result<Self, Refusal> {
        Self::keeps_host_free(range.size)?;
        let resname = resource_name(name)?;
        let mut st = CarveStats::default();
        // SAFETY: `st` is a local that outlives the call.
        let ret = unsafe { mint_carve_at(range.start, range.size, &mut st) };
        if ret != 0 {
            if ret == -(bindings::EBUSY as i32) {
                return Err(Refusal::new(
                    EBUSY,
                    "range is System RAM the host cannot give up (reserved, unmovable, in use by a partition, or in two zones; see /proc/iomem)",
                ));
            }
            return Err(Refusal::with(Error::from_errno(ret), &"carving was interrupted"));
        }
        pr_info!(
            "{}: carved {} at {:#x} in {} ms\n",
            label,
            Size(range.size),
            range.start,
            st.ns / 1_000_000
        );
        Self::carved(range, Source::Ram, resname, label)
    }

    /// Shows a just-carved range in /proc/iomem and maps it; gives it back
    /// if either fails.
    fn carved(
        range: MemRange,
        source: Source,
        resname: KBox<[u8; 16]>,
        label: &str,
    ) -> Result<Self, Refusal> {
        // SAFETY: `resname` is NUL-terminated and outlives the resource (it is
        // dropped after `mint_carve_hide` in `drop`).
        let res = NonNull::new(unsafe { mint_carve_show(range.start, range.size, resname.as_ptr()) });
        let Some(res) = res else {
            // SAFETY: carved just now from `source`, used by no one.
            unsafe { source.give_back(&range) };
            return Err(Refusal::new(EBUSY, "cannot show the carved range in /proc/iomem"));
        };
        let t0 = crate::boot::now_ns();
        // The CMA path's memory comes zeroed (the DMA API clears it).
        let w = Self::map(range, Kind::Carved(res, source), resname, source == Source::Cma)?;
        pr_info!(
            "{}: zeroed {} in {} ms\n",
            label,
            Size(range.size),
            (crate::boot::now_ns() - t0) / 1_000_000
        );
        Ok(w)
    }

    /// Maps a claimed range and zeroes it unless it is `zeroed` already. On
    /// failure the claim is undone.
    fn map(
        range: MemRange,
        kind: Kind,
        resname: KBox<[u8; 16]>,
        zeroed: bool,
    ) -> Result<Self, Refusal> {
        let undo = |kind: &Kind| match kind {
            // SAFETY: we requested exactly this region.
            Kind::Reserved => unsafe {
                bindings::__release_region(
                    core::ptr::addr_of_mut!(bindings::iomem_resource),
                    range.start,
                    range.size,
                )
            },
            // SAFETY: shown and carved by the caller, used by no one.
            Kind::Carved(res, source) => unsafe {
                mint_carve_hide(res.as_ptr());
                source.give_back(&range);
            },
        };
        let Ok(size) = usize::try_from(range.size) else {
            undo(&kind);
            return Err(Refusal::new(EINVAL, "range too large"));
        };
        // SAFETY: the range is ours exclusively (claimed); write-back caching
        // matches how the partition will map it. For System RAM this is the
        // kernel's linear map.
        let base = unsafe { bindings::memremap(range.start, size, bindings::MEMREMAP_WB as _) };
        let Some(base) = NonNull::new(base as *mut u8) else {
            undo(&kind);
            return Err(Refusal::new(ENOMEM, "cannot map the range"));
        };
        // Whatever an earlier user left there is wiped now, so that a start
        // only has to copy its segments.
        let mut w = Self {
            range,
            base,
            kind,
            dirty: !zeroed,
            kept: None,
            _name: resname,
        };
        w.scrub();
        Ok(w)
    }

    /// Fills the whole window with zeroes (no trace of an earlier run):
    /// everything if something was written since the last scrub, else only
    /// what [`Window::scrub_except`] kept.
    pub(crate) fn scrub(&mut self) {
        if self.dirty {
            self.zero(self.range.start..self.range.end());
        } else if let Some(keep) = self.kept.clone() {
            self.zero(keep);
        }
        self.dirty = false;
        self.kept = None;
    }

    /// Zeroes `[r.start, r.end)`, which lies inside the window (the callers
    /// clamp it), a piece at a time.
    fn zero(&mut self, r: core::ops::Range<u64>) {
        let start = self.range.start;
        let (mut off, end) = ((r.start - start) as usize, (r.end - start) as usize);
        while off < end {
            let n = (end - off).min(ZERO_CHUNK);
            // SAFETY: `[off, off + n)` lies inside the window (clamped by
            // the caller), which `base` maps and we own exclusively.
            unsafe { core::ptr::write_bytes(self.base.as_ptr().add(off), 0, n) };
            off += n;
            // SAFETY: process context, no spinlock held (the callers hold
            // only the partition's mutex).
            unsafe { mint_cond_resched() };
        }
    }

    /// Fills the window with zeroes except `[keep.start, keep.end)` (the
    /// partition's console region, readable after a stop until the next
    /// start). The next [`Window::scrub`] clears only the kept part.
    pub(crate) fn scrub_except(&mut self, keep: core::ops::Range<u64>) {
        if !self.dirty {
            return;
        }
        let start = self.range.start;
        let end = self.range.end();
        // Clamped into the window (no panic path: `min`/`max` only).
        let lo = keep.start.max(start).min(end);
        let hi = keep.end.max(lo).min(end);
        self.zero(start..lo);
        self.zero(hi..end);
        self.dirty = false;
        self.kept = Some(lo..hi);
    }

    /// Copies the bytes at physical address `src` into `buf`, which must lie
    /// in the window. The partition may be writing them (a running
    /// partition's console): each byte is read once, with a volatile load.
    pub(crate) fn read(&self, src: u64, buf: &mut [u8]) -> Result {
        if !self.range.contains_range(src, buf.len() as u64) {
            return Err(ERANGE);
        }
        let off = (src - self.range.start) as usize;
        // SAFETY: `[off, off + len)` lies inside the mapping (checked above).
        unsafe { copy_volatile(self.base.as_ptr().add(off), buf) };
        Ok(())
    }

    /// Copies `data` to physical address `dest`, which must lie in the window.
    pub(crate) fn write(&mut self, dest: u64, data: &[u8]) -> Result {
        if !self.range.contains_range(dest, data.len() as u64) {
            return Err(ERANGE);
        }
        let off = (dest - self.range.start) as usize;
        self.dirty = true;
        // SAFETY: `[off, off + len)` lies inside the mapping (checked above)
        // and `data` is ordinary kernel memory that cannot overlap it.
        unsafe {
            core::ptr::copy_nonoverlapping(data.as_ptr(), self.base.as_ptr().add(off), data.len())
        };
        Ok(())
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // Leave nothing of the partition behind in the released range.
        self.dirty = true;
        self.scrub();
        // SAFETY: `base` came from `memremap` and is not used afterwards.
        unsafe { bindings::memunmap(self.base.as_ptr() as *mut c_void) };
        match self.kind {
            // SAFETY: the region was requested by `claim`.
            Kind::Reserved => unsafe {
                bindings::__release_region(
                    core::ptr::addr_of_mut!(bindings::iomem_resource),
                    self.range.start,
                    self.range.size,
                )
            },
            // SAFETY: shown and carved by `carved`; the partition's CPUs are
            // stopped (the window outlives every run) and nothing maps it now.
            Kind::Carved(res, source) => unsafe {
                mint_carve_hide(res.as_ptr());
                source.give_back(&self.range);
            },
        }
    }
}

/// A partition's memory: 1 to [`MAX_RANGES`] windows, sorted by address.
///
/// # Invariants
///
/// `ranges` lists the ranges of `windows`, which are sorted by address.
pub(crate) struct Memory {
    windows: KVec<Window>,
    ranges: RangeList,
}

impl Memory {
    /// The memory made of `windows` (none: `None`), sorted.
    fn new(mut windows: KVec<Window>) -> Option<Self> {
        sort_small(&mut windows, |w| w.range.start);
        let mut r = [MemRange { start: 0, size: 0 }; MAX_RANGES];
        for (slot, w) in r.iter_mut().zip(windows.iter()) {
            *slot = w.range;
        }
        let n = windows.len().min(MAX_RANGES);
        // At most MAX_RANGES (one per item of a request) and disjoint (the
        // host's resource tree and allocator keep them apart), so this only
        // fails for no window at all.
        let ranges = RangeList::from_ranges(r.get(..n).unwrap_or(&[])).ok()?;
        Some(Self { windows, ranges })
    }

    /// Claims `items`, all or nothing (on a refusal what this call claimed
    /// goes back): explicit ranges first, then sizes, largest first.
    fn claim_items(items: &[MemItem], name: &[u8], label: &str) -> Result<KVec<Window>, Refusal> {
        let mut windows = KVec::with_capacity(items.len(), GFP_KERNEL)?;
        for item in items {
            if let MemItem::At(r) = item {
                if r.start < 0x10_0000 {
                    return Err(Refusal::new(EINVAL, "memory must lie above 1 MiB"));
                }
                windows.push(Window::claim(*r, name, label)?, GFP_KERNEL)?;
            }
        }
        let mut sizes = [0u64; MAX_RANGES];
        let mut n = 0;
        for item in items {
            if let (MemItem::Size(s), Some(slot)) = (item, sizes.get_mut(n)) {
                *slot = *s;
                n += 1;
            }
        }
        let sizes = sizes.get_mut(..n).unwrap_or(&mut []);
        sort_small(sizes, |s| core::cmp::Reverse(*s));
        for s in sizes.iter() {
            windows.push(Window::carve(*s, name, label)?, GFP_KERNEL)?;
        }
        Ok(windows)
    }

    /// Replaces `old` (the partition's memory, if any) by what `req` asks
    /// for; returns the partition's memory afterwards and the outcome.
    ///
    /// An old window that an item names exactly (`SIZE@START`), or whose
    /// size a `SIZE` item asks for, is kept as it is (not even scrubbed);
    /// the other items are claimed anew, all or nothing, and the old windows
    /// no item keeps go back once that succeeded. On a refusal the old
    /// memory stays as it was, except when a new explicit range overlaps an
    /// old window that is not kept: that one has to go first, and is claimed
    /// again at the same place when the new claim fails (should even that
    /// fail, the kernel log says so and the partition keeps the rest).
    pub(crate) fn rewrite(
        old: Option<Memory>,
        req: &MemRequest,
        name: &[u8],
        label: &str,
    ) -> (Option<Memory>, Result<(), Refusal>) {
        let old = old.map_or(KVec::new(), |m| m.windows);
        let items = req.items();
        // Which old window each item keeps: exact ranges first, then sizes.
        let mut kept_by = [None::<usize>; MAX_RANGES];
        for exact in [true, false] {
            for (i, item) in items.iter().enumerate() {
                if kept_by.get(i).copied().flatten().is_some() {
                    continue;
                }
                let found = (0..old.len()).find(|&k| {
                    !kept_by.contains(&Some(k))
                        && old.get(k).is_some_and(|w| match item {
                            MemItem::At(r) => exact && w.range == *r,
                            MemItem::Size(s) => !exact && w.range.size == *s,
                        })
                });
                if let (Some(k), Some(slot)) = (found, kept_by.get_mut(i)) {
                    *slot = Some(k);
                }
            }
        }
        let mut new_items = [MemItem::Size(0); MAX_RANGES];
        let mut n = 0;
        for (i, item) in items.iter().enumerate() {
            if let (None, Some(slot)) = (kept_by.get(i).copied().flatten(), new_items.get_mut(n)) {
                *slot = *item;
                n += 1;
            }
        }
        let new_items = new_items.get(..n).unwrap_or(&[]);
        // Room for every window up front: below, pushes never allocate (a
        // failed push would drop, and so release, its window).
        let (mut kept, mut spare) = match (
            KVec::with_capacity(MAX_RANGES, GFP_KERNEL),
            KVec::with_capacity(MAX_RANGES, GFP_KERNEL),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return (Self::new(old), Err(ENOMEM.into())),
        };
        for (k, w) in old.into_iter().enumerate() {
            let to = if kept_by.contains(&Some(k)) { &mut kept } else { &mut spare };
            let _ = to.push(w, GFP_KERNEL);
        }
        if new_items.is_empty() && spare.is_empty() {
            return (Self::new(kept), Ok(())); // Nothing changes.
        }
        let overlap = spare.iter().any(|w| {
            new_items
                .iter()
                .any(|i| matches!(i, MemItem::At(r) if r.overlaps(&w.range)))
        });
        let mut gone = [MemRange { start: 0, size: 0 }; MAX_RANGES];
        let mut n_gone = 0;
        if overlap {
            // The host's resource tree cannot hold both.
            for (slot, w) in gone.iter_mut().zip(spare.iter()) {
                *slot = w.range;
                n_gone += 1;
            }
            spare = KVec::new();
        }
        match Self::claim_items(new_items, name, label) {
            Ok(fresh) => {
                drop(spare);
                for w in fresh.into_iter() {
                    // Within capacity: one window per item, at most MAX_RANGES.
                    let _ = kept.push(w, GFP_KERNEL);
                }
                (Self::new(kept), Ok(()))
            }
            Err(e) => {
                for w in spare.into_iter() {
                    let _ = kept.push(w, GFP_KERNEL);
                }
                for r in gone.get(..n_gone).unwrap_or(&[]) {
                    match Window::claim(*r, name, label) {
                        Ok(w) => {
                            let _ = kept.push(w, GFP_KERNEL);
                        }
                        Err(lost) => pr_err!(
                            "{}: memory: the old window {} could not be taken back ({}); the partition keeps the rest\n",
                            label,
                            r,
                            lost
                        ),
                    }
                }
                (Self::new(kept), Err(e))
            }
        }
    }

    /// The claimed ranges.
    pub(crate) fn ranges(&self) -> RangeList {
        self.ranges
    }

    /// Zeroes every window (see [`Window::scrub`]).
    pub(crate) fn scrub(&mut self) {
        self.windows.iter_mut().for_each(Window::scrub);
    }

    /// Zeroes every window but `keep` (see [`Window::scrub_except`]).
    pub(crate) fn scrub_except(&mut self, keep: core::ops::Range<u64>) {
        for w in self.windows.iter_mut() {
            w.scrub_except(keep.clone());
        }
    }

    /// Reads from the window that holds all of `[src, src + buf.len())`.
    pub(crate) fn read(&self, src: u64, buf: &mut [u8]) -> Result {
        let len = buf.len() as u64;
        self.windows
            .iter()
            .find(|w| w.range.contains_range(src, len))
            .ok_or(ERANGE)?
            .read(src, buf)
    }

    /// Writes into the window that holds all of `[dest, dest + data.len())`.
    pub(crate) fn write(&mut self, dest: u64, data: &[u8]) -> Result {
        let len = data.len() as u64;
        self.windows
            .iter_mut()
            .find(|w| w.range.contains_range(dest, len))
            .ok_or(ERANGE)?
            .write(dest, data)
    }
}

/// Copies `out.len()` bytes from `src` into `out`, each byte read once with
/// a volatile load: the memory is a partition's, which its CPUs may be
/// writing meanwhile.
///
/// # Safety
///
/// `src..src + out.len()` must be readable (mapped) memory.
pub(crate) unsafe fn copy_volatile(src: *const u8, out: &mut [u8]) {
    for (i, b) in out.iter_mut().enumerate() {
        // SAFETY: `i < out.len()`: inside the readable range (caller's
        // guarantee).
        *b = unsafe { core::ptr::read_volatile(src.add(i)) };
    }
}

/// Every partition's window by slot, as `(start, size)` (size 0: none),
/// readable without any partition's lock for the overlap check. Only the
/// partition of a slot writes its entry (under its own lock).
static WINDOWS: [[(AtomicU64, AtomicU64); MAX_RANGES]; LOW_SLOTS] =
    [const { [const { (AtomicU64::new(0), AtomicU64::new(0)) }; MAX_RANGES] }; LOW_SLOTS];

/// Records the memory of the partition in `slot` (`None`: it has none).
pub(crate) fn publish(slot: usize, m: Option<&RangeList>) {
    let Some(entries) = WINDOWS.get(slot) else { return };
    let ranges = m.map_or(&[][..], |l| l.ranges());
    for (i, (start, size)) in entries.iter().enumerate() {
        let (s, n) = ranges.get(i).map_or((0, 0), |r| (r.start, r.size));
        size.store(0, Ordering::Release);
        start.store(s, Ordering::Release);
        size.store(n, Ordering::Release);
    }
}

/// Whether `range` overlaps memory of a partition other than `slot`'s.
/// A hint for a clear message: two claims that race are still kept apart by
/// the host's resource tree.
pub(crate) fn overlaps_other(slot: usize, range: &MemRange) -> bool {
    WINDOWS.iter().enumerate().any(|(i, entries)| {
        i != slot
            && entries.iter().any(|(start, size)| {
                let size = size.load(Ordering::Acquire);
                size != 0
                    && range.overlaps(&MemRange {
                        start: start.load(Ordering::Acquire),
                        size,
                    })
            })
    })
}
