// SPDX-License-Identifier: GPL-2.0

//! How the host learns that a partition's kernel ended by itself.
//!
//! Every partition started from an image with a status page (see
//! `logic/src/load_image.rs`) is watched: the partition's own ACPI tables
//! point its FADT reset register and its sleep control/status register at
//! that page, and mint.ko loaded inside the partition (the agent, `agent.rs`)
//! writes what happened there. One kernel thread, `mint-watch`, reads the
//! page of every running partition about once a millisecond — fast enough to
//! stop a partition whose kernel wrote the ACPI reset register before that
//! kernel, 15 ms later, falls back to the keyboard controller, which would
//! reset the whole machine — and, when it sees an outcome, stops the
//! partition's CPUs and records how it ended (`partition.rs`).
//!
//! A partition that panics tells nobody through the status page (unless the
//! agent runs), but its own pstore/ramoops writes a crash record `Panic#1`
//! into its ramoops region (`logic/src/ramoops.rs`): the thread also reads
//! the headers of the region's crash record zones, and a panic record there
//! is the outcome "panicked", once the record is complete: the partition's
//! kernel sets a record's size before it copies the text, so the thread
//! waits until the record's last byte is written (the region is scrubbed to
//! zero before every start), or [`RECORD_GRACE_NS`] at most. An `Oops` record
//! alone is not an end: the partition's kernel may go on.
//!
//! The thread reads the pages without the partitions' locks: each page is
//! mapped by its own [`StatusPage`], shared (`Arc`) between the partition and
//! the thread, so a concurrent stop cannot unmap it under a reader.

use core::ffi::c_void;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicI64, Ordering};

use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;

use crate::logic::load_image;
use crate::logic::ramoops::{self, Layout, RecordKind, Ring};
use crate::window::copy_volatile;

/// How often the thread looks, in microseconds (it sleeps this to twice this).
const PERIOD_US: u32 = 1000;

/// Bytes of the status page the decoder reads.
const PREFIX_LEN: usize = 16;

/// Bytes of a crash record's text read to tell its kind (its `====` line
/// and `Panic#1 Part1`).
const RECORD_PREFIX_LEN: usize = 64;

/// How long a panic record may stay incomplete (its last byte still zero)
/// before the host ends the partition anyway.
const RECORD_GRACE_NS: i64 = 100_000_000;

extern "C" {
    /// Starts the watcher thread (rust/arch_shim.c): it calls `tick` every
    /// `period_us`..2×`period_us` µs until [`mint_watch_stop`].
    ///
    /// # Safety
    ///
    /// `tick` must stay callable until `mint_watch_stop` returns; `name` is a
    /// NUL-terminated string (copied). Only one thread at a time.
    fn mint_watch_start(
        tick: unsafe extern "C" fn(),
        period_us: u32,
        name: *const kernel::ffi::c_char,
    ) -> *mut c_void;
    /// Stops the thread and waits until its last tick has returned.
    ///
    /// # Safety
    ///
    /// `t` was returned by a successful `mint_watch_start` and is stopped once.
    fn mint_watch_stop(t: *mut c_void);
}

/// A mapping of one partition's status page and, if it has a ramoops
/// region, of that region's crash record zones.
///
/// # Invariants
///
/// `base` maps 4 KiB of the partition's window, write-back, until drop; if
/// `records` is `Some((map, layout))`, `map` maps `layout.records_area()`
/// (inside the same window), write-back, until drop. For a window of
/// reserved memory the mapping is this value's own; for carved System RAM
/// it is the kernel's linear map, valid while the window is claimed: the
/// page is read only while it is the partition's watched page, under the
/// watch lock (`Partition::watched_outcome`), and the partition stops
/// watching it before its memory goes back.
pub(crate) struct StatusPage {
    base: NonNull<u8>,
    phys: u64,
    records: Option<(NonNull<u8>, Layout)>,
    /// When the watcher first saw an incomplete panic record (0: not yet).
    panic_seen_ns: AtomicI64,
}

// SAFETY: the mapping is plain memory read with volatile loads from any
// thread; nothing in it is a Rust object.
unsafe impl Send for StatusPage {}
// SAFETY: as above; `&StatusPage` only reads.
unsafe impl Sync for StatusPage {}

impl StatusPage {
    /// Maps the page at `phys` and the crash record zones of `console`,
    /// which the caller has checked lie inside a window the partition owns.
    pub(crate) fn map(phys: u64, console: Option<Layout>) -> Result<Self> {
        // SAFETY: `phys` is a page of a claimed window (reserved memory, or
        // System RAM carved for the partition); write-back matches the
        // window's mapping.
        let p = unsafe { bindings::memremap(phys, 4096, bindings::MEMREMAP_WB as _) };
        let base = NonNull::new(p as *mut u8).ok_or(ENOMEM)?;
        let mut page = Self {
            base,
            phys,
            records: None,
            panic_seen_ns: AtomicI64::new(0),
        };
        if let Some(layout) = console {
            let area = layout.records_area();
            let len = usize::try_from(area.end - area.start).map_err(|_| EINVAL)?;
            // SAFETY: as above: the records area lies in the same window.
            let r = unsafe { bindings::memremap(area.start, len, bindings::MEMREMAP_WB as _) };
            // On failure `page` unmaps the status page as it drops.
            page.records = Some((NonNull::new(r as *mut u8).ok_or(ENOMEM)?, layout));
        }
        Ok(page)
    }

    /// Its physical address.
    pub(crate) fn phys(&self) -> u64 {
        self.phys
    }

    /// The page's first bytes, as the partition last wrote them.
    pub(crate) fn prefix(&self) -> [u8; PREFIX_LEN] {
        let mut out = [0u8; PREFIX_LEN];
        // SAFETY: 16 < 4096 bytes: inside the mapping (type invariant).
        unsafe { copy_volatile(self.base.as_ptr(), &mut out) };
        out
    }

    /// How the partition's kernel ended, if it has: what its status page
    /// says, else "panicked" if a crash record says `Panic` and is complete
    /// (or has been there for [`RECORD_GRACE_NS`]).
    pub(crate) fn outcome(&self) -> Option<load_image::Outcome> {
        if let Some(o) = load_image::decode_status(&self.prefix()) {
            return Some(o);
        }
        let complete = self.panic_recorded()?;
        let now = crate::boot::now_ns();
        let first = match self.panic_seen_ns.load(Ordering::Relaxed) {
            0 => {
                self.panic_seen_ns.store(now, Ordering::Relaxed);
                now
            }
            t => t,
        };
        (complete || now - first >= RECORD_GRACE_NS).then_some(load_image::Outcome::Panicked)
    }

    /// If one of the crash record zones holds a panic record: whether its
    /// last byte is written.
    fn panic_recorded(&self) -> Option<bool> {
        let (map, layout) = self.records.as_ref()?;
        let zone = layout.record_zone_len() as usize;
        let read = |off: usize, out: &mut [u8]| {
            // SAFETY: callers stay below `records * zone`, the length of the
            // mapping (type invariant).
            unsafe { copy_volatile(map.as_ptr().add(off), out) };
        };
        (0..layout.records() as usize).find_map(|i| {
            let mut header = [0u8; ramoops::ZONE_HEADER_LEN as usize];
            read(i * zone, &mut header);
            let ring = Ring::decode(&header, zone as u64);
            if ring.is_empty() {
                return None;
            }
            // A record is written from the start of its zone; its first
            // bytes are enough to tell its kind. `ring.len()` is at most the
            // zone's capacity (`Ring::decode`).
            let data = i * zone + header.len();
            let mut prefix = [0u8; RECORD_PREFIX_LEN];
            let n = ring.len().min(RECORD_PREFIX_LEN);
            read(data, &mut prefix[..n]);
            if ramoops::record_head(&prefix[..n]).is_none_or(|h| h.kind != RecordKind::Panic) {
                return None;
            }
            let mut last = [0u8; 1];
            read(data + ring.len() - 1, &mut last);
            Some(last[0] != 0)
        })
    }
}

impl Drop for StatusPage {
    fn drop(&mut self) {
        // SAFETY: mapped by `map`, not used afterwards.
        unsafe { bindings::memunmap(self.base.as_ptr() as *mut c_void) };
        if let Some((map, _)) = &self.records {
            // SAFETY: mapped by `map`, not used afterwards.
            unsafe { bindings::memunmap(map.as_ptr() as *mut c_void) };
        }
    }
}

/// The running watcher thread; stopped on drop.
///
/// # Invariants
///
/// `task` was returned by `mint_watch_start` and is not stopped yet.
pub(crate) struct Watcher {
    task: NonNull<c_void>,
}

// SAFETY: the thread handle may be stopped from any thread.
unsafe impl Send for Watcher {}
// SAFETY: `&Watcher` offers nothing.
unsafe impl Sync for Watcher {}

/// The thread's body: one look at every running partition.
///
/// # Safety
///
/// Called by the watcher thread only (process context, may sleep).
unsafe extern "C" fn tick() {
    crate::registry::watch_tick();
}

impl Watcher {
    /// Starts the thread.
    pub(crate) fn start() -> Result<Self> {
        // SAFETY: `tick` is a function of this module, which stops the thread
        // (in `Drop`) before it can be unloaded; the name is a static C string.
        let t = unsafe { mint_watch_start(tick, PERIOD_US, c_str!("mint-watch").as_char_ptr()) };
        if t.is_null() {
            return Err(ENOMEM);
        }
        let err = t as isize;
        if (-4095..0).contains(&err) {
            return Err(Error::from_errno(err as i32));
        }
        Ok(Self {
            // SAFETY: checked non-null above.
            task: unsafe { NonNull::new_unchecked(t) },
        })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // SAFETY: type invariant: started and not yet stopped.
        unsafe { mint_watch_stop(self.task.as_ptr()) };
    }
}
