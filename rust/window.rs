// SPDX-License-Identifier: GPL-2.0

//! A partition's physical memory window: claimed, mapped, filled, released.
//!
//! The window must lie in memory the host kernel does not manage: today, a
//! range the host's e820 map marks reserved (e.g. booted with
//! `memmap=256M$0x20000000`). System RAM is refused. The claim shows in
//! /proc/iomem under the partition's name and keeps any other driver, or
//! another partition, from taking the range.

use core::ffi::c_void;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::bindings;
use kernel::prelude::*;

use crate::boot::LOW_SLOTS;
use crate::logic::memrange::MemRange;
use crate::refusal::Refusal;

/// A claimed and mapped window; released on drop.
pub(crate) struct Window {
    range: MemRange,
    base: NonNull<u8>,
    /// Something was written since the last scrub.
    dirty: bool,
    /// After [`Window::scrub_except`]: the part it kept (the rest is zero).
    kept: Option<core::ops::Range<u64>>,
    /// The resource name must stay put while the resource exists.
    _name: KBox<[u8; 16]>,
}

// SAFETY: the mapping is plain memory that only the owning partition (under
// the module's lock) touches; the resource is managed by the kernel.
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

impl Window {
    /// Checks that `range` is memory the host does not manage (without
    /// claiming it).
    pub(crate) fn check(range: &MemRange) -> Result<(), Refusal> {
        let size = usize::try_from(range.size).map_err(|_| EINVAL)?;
        // SAFETY: pure query of the resource tree.
        let ram = unsafe {
            bindings::region_intersects(
                range.start,
                size,
                bindings::IORESOURCE_SYSTEM_RAM as _,
                bindings::IORES_DESC_NONE as _,
            )
        };
        if ram != bindings::REGION_DISJOINT as i32 {
            return Err(Refusal::new(
                EBUSY,
                "range overlaps System RAM the host manages (reserve it at boot with memmap=SIZE$START)",
            ));
        }
        if reserved_bytes(range) < range.size {
            return Err(Refusal::new(
                EINVAL,
                "range is not entirely reserved memory in the host's e820 map (see /proc/iomem)",
            ));
        }
        Ok(())
    }

    /// Claims and maps `range` for partition `name`.
    pub(crate) fn claim(range: MemRange, name: &[u8]) -> Result<Self, Refusal> {
        Self::check(&range)?;
        let size = usize::try_from(range.size).map_err(|_| EINVAL)?;
        let mut resname = KBox::new([0u8; 16], GFP_KERNEL)?;
        let n = name.len().min(15);
        resname[..n].copy_from_slice(&name[..n]);
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
        // SAFETY: the range is reserved memory that we now own exclusively;
        // write-back caching matches how the partition will map it.
        let base = unsafe { bindings::memremap(range.start, size, bindings::MEMREMAP_WB as _) };
        let Some(base) = NonNull::new(base as *mut u8) else {
            // SAFETY: we requested exactly this region above.
            unsafe {
                bindings::__release_region(
                    core::ptr::addr_of_mut!(bindings::iomem_resource),
                    range.start,
                    range.size,
                )
            };
            return Err(Refusal::new(ENOMEM, "cannot map the range"));
        };
        // Whatever an earlier user left there is wiped now, so that a start
        // only has to copy its segments.
        let mut w = Self {
            range,
            base,
            dirty: true,
            kept: None,
            _name: resname,
        };
        w.scrub();
        Ok(w)
    }

    /// The claimed range.
    pub(crate) fn range(&self) -> MemRange {
        self.range
    }

    /// Fills the whole window with zeroes (no trace of an earlier run):
    /// everything if something was written since the last scrub, else only
    /// what [`Window::scrub_except`] kept.
    pub(crate) fn scrub(&mut self) {
        if self.dirty {
            // SAFETY: `base` maps `range.size` bytes that we own exclusively.
            unsafe { core::ptr::write_bytes(self.base.as_ptr(), 0, self.range.size as usize) };
        } else if let Some(keep) = self.kept.clone() {
            self.zero(keep);
        }
        self.dirty = false;
        self.kept = None;
    }

    /// Zeroes `[r.start, r.end)`, which `scrub_except` clamped to the window.
    fn zero(&mut self, r: core::ops::Range<u64>) {
        let start = self.range.start;
        // SAFETY: `r` lies inside the window (clamped by the caller), which
        // `base` maps and we own exclusively.
        unsafe {
            core::ptr::write_bytes(
                self.base.as_ptr().add((r.start - start) as usize),
                0,
                (r.end - r.start) as usize,
            )
        };
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
        self.scrub();
        // SAFETY: `base` came from `memremap` and is not used afterwards; the
        // region was requested by `claim`.
        unsafe {
            bindings::memunmap(self.base.as_ptr() as *mut c_void);
            bindings::__release_region(
                core::ptr::addr_of_mut!(bindings::iomem_resource),
                self.range.start,
                self.range.size,
            );
        }
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
static WINDOWS: [(AtomicU64, AtomicU64); LOW_SLOTS] =
    [const { (AtomicU64::new(0), AtomicU64::new(0)) }; LOW_SLOTS];

/// Records the window of the partition in `slot` (`None`: it has none).
pub(crate) fn publish(slot: usize, w: Option<MemRange>) {
    let Some((start, size)) = WINDOWS.get(slot) else { return };
    let (s, n) = w.map_or((0, 0), |r| (r.start, r.size));
    size.store(0, Ordering::Release);
    start.store(s, Ordering::Release);
    size.store(n, Ordering::Release);
}

/// Whether `range` overlaps the window of a partition other than `slot`'s.
/// A hint for a clear message: two claims that race are still kept apart by
/// the host's resource tree.
pub(crate) fn overlaps_other(slot: usize, range: &MemRange) -> bool {
    WINDOWS.iter().enumerate().any(|(i, (start, size))| {
        let size = size.load(Ordering::Acquire);
        i != slot
            && size != 0
            && range.overlaps(&MemRange {
                start: start.load(Ordering::Acquire),
                size,
            })
    })
}
