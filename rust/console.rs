// SPDX-License-Identifier: GPL-2.0

//! Reading a partition's console and crash records out of its window.
//!
//! The partition's own kernel writes them through pstore/ramoops into the
//! region its load image names (`logic/src/ramoops.rs` decodes the format);
//! this file only copies the bytes a `read(2)` of `console` or `crash` asks
//! for, a page at most, straight from the window into sysfs's buffer: no
//! read copies a whole ring. Everything read from the region is untrusted:
//! lengths come from [`Ring::decode`], which bounds them by the zone.

use core::ops::Range;

use kernel::prelude::*;


use crate::logic::ramoops::{self, Layout, RecordHead, Ring};
use crate::window::Memory;

/// Bytes of a record's text read to parse its head.
const HEAD_LEN: usize = 64;
/// Bytes at the end of a crash record searched for the panic line (the
/// stack trace printed after it is shorter than this).
const REASON_TAIL: usize = 16 << 10;
/// Longest panic reason put in the host's log.
const MAX_REASON: usize = 160;
/// The panic line's marker.
const PANIC_MARK_LEN: usize = b"Kernel panic - not syncing: ".len();
/// Bytes of record text searched at a time, on the stack.
const SCAN_STEP: usize = 768;

/// The text ring of the zone `zone` (physical addresses).
fn ring(w: &Memory, zone: &Range<u64>) -> Ring {
    let mut header = [0u8; ramoops::ZONE_HEADER_LEN as usize];
    if w.read(zone.start, &mut header).is_err() {
        return Ring::EMPTY;
    }
    Ring::decode(&header, zone.end - zone.start)
}

/// Copies `text[offset..]` of the ring `r` in `zone` into `buf`; returns the
/// byte count (0 past the end).
fn copy_text(w: &Memory, zone: &Range<u64>, r: Ring, offset: usize, buf: &mut [u8]) -> Result<usize> {
    let data = zone.start + ramoops::ZONE_HEADER_LEN;
    let mut n = 0;
    for piece in r.slice(offset, buf.len()) {
        let len = piece.end - piece.start;
        let dst = buf.get_mut(n..n + len).ok_or(EINVAL)?;
        w.read(data + piece.start as u64, dst)?;
        n += len;
    }
    Ok(n)
}

/// `read(2)` of the console: its text from `offset`, oldest first.
pub(crate) fn read_console(w: &Memory, l: &Layout, offset: u64, buf: &mut [u8]) -> Result<usize> {
    let zone = l.console();
    let Ok(offset) = usize::try_from(offset) else {
        return Ok(0);
    };
    copy_text(w, &zone, ring(w, &zone), offset, buf)
}

/// The newest crash record: its zone, ring and head.
fn last_record(w: &Memory, l: &Layout) -> Option<(Range<u64>, Ring, RecordHead)> {
    let mut best: Option<(Range<u64>, Ring, RecordHead)> = None;
    for i in 0..l.records() {
        let Some(zone) = l.record(i) else { break };
        let r = ring(w, &zone);
        if r.is_empty() {
            continue;
        }
        let mut prefix = [0u8; HEAD_LEN];
        let n = copy_text(w, &zone, r, 0, &mut prefix).unwrap_or(0);
        let Some(head) = ramoops::record_head(&prefix[..n]) else {
            continue;
        };
        // Records go to zones 0, 1, 2, ... and wrap: the newest has the
        // highest crash counter (`Panic#N`), then the latest time.
        if best
            .as_ref()
            .is_none_or(|(_, _, b)| (head.count, head.time) >= (b.count, b.time))
        {
            best = Some((zone, r, head));
        }
    }
    best
}

/// `read(2)` of `crash`: the newest crash record's text (after its `====`
/// line) from `offset`; nothing if there is none.
pub(crate) fn read_crash(w: &Memory, l: &Layout, offset: u64, buf: &mut [u8]) -> Result<usize> {
    let Some((zone, r, head)) = last_record(w, l) else {
        return Ok(0);
    };
    let Some(offset) = usize::try_from(offset).ok().and_then(|o| o.checked_add(head.body)) else {
        return Ok(0);
    };
    copy_text(w, &zone, r, offset, buf)
}

/// Why the newest crash record says the partition panicked.
pub(crate) enum Reason<'a> {
    /// The text after `Kernel panic - not syncing: `, printable.
    Text(&'a str),
    /// The newest record is a panic record without that line (near its end).
    Unreadable,
    /// No panic record (the agent must have reported the panic).
    NoRecord,
}

/// The reason of the newest panic record, printable, into `out`. Scans the
/// record's last [`REASON_TAIL`] bytes backwards, a stack buffer at a time.
pub(crate) fn panic_reason<'a>(w: &Memory, l: &Layout, out: &'a mut [u8; MAX_REASON]) -> Reason<'a> {
    let Some((zone, r, head)) = last_record(w, l) else {
        return Reason::NoRecord;
    };
    if head.kind != ramoops::RecordKind::Panic {
        return Reason::NoRecord;
    }
    // Each step reads SCAN_STEP new bytes plus the start of the next step's
    // (already searched) text, so a line that crosses steps is found whole.
    let mut buf = [0u8; SCAN_STEP + PANIC_MARK_LEN + MAX_REASON];
    let floor = r.len().saturating_sub(REASON_TAIL);
    let mut end = r.len();
    while end > floor {
        let from = end.saturating_sub(SCAN_STEP).max(floor);
        let want = (r.len() - from).min(buf.len());
        let Ok(n) = copy_text(w, &zone, r, from, &mut buf[..want]) else {
            break;
        };
        if let Some(reason) = ramoops::panic_reason(&buf[..n]) {
            let len = reason.len().min(MAX_REASON);
            for (o, &b) in out.iter_mut().zip(&reason[..len]) {
                // The partition wrote these bytes: only printable ASCII
                // reaches the host's log.
                *o = if (0x20..0x7f).contains(&b) { b } else { b'?' };
            }
            return core::str::from_utf8(&out[..len]).map_or(Reason::Unreadable, Reason::Text);
        }
        end = from;
    }
    Reason::Unreadable
}

/// Room for [`panic_reason`].
pub(crate) const fn reason_buf() -> [u8; MAX_REASON] {
    [0; MAX_REASON]
}
