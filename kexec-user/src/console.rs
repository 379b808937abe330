//! The host's view of a partition's console and crash records, which the
//! module decodes from the partition's ramoops region and shows as the
//! binary sysfs files `console` and `crash` (root only; `stat` shows size 0,
//! so they are read until EOF).
//!
//! - [`Follower`]: what `mint-kexec console --follow` prints of each new read
//!   of `console`, a ring buffer that, once full, keeps its length while its
//!   oldest text drops off the front.
//! - [`PartitionStatus`]: one partition as `mint-kexec status [--json]`
//!   shows it (the JSON schema is documented in `docs/sysfs-abi.md`).

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Context, Result};
use mint_logic::ramoops;
use serde::Serialize;

use crate::sysfs;

/// How many bytes of the text already printed [`Follower`] looks for in the
/// next read.
pub const TAIL_LEN: usize = 256;

/// Follows a console ring across reads, like `tail -f`: each read of the
/// whole ring yields the bytes not printed yet.
///
/// It keeps the last [`TAIL_LEN`] bytes it saw. While the ring fills, the
/// old text stays where it was and the new text is what lies past it. Once
/// the ring is full its length stays the same and the text moves to the
/// front as its oldest bytes drop off: the new text is then what follows the
/// *last* occurrence of the kept tail (a tail repeated in the new text
/// itself is less likely than one repeated somewhere in the much longer old
/// text). A read without the tail is a console that restarted (a fresh
/// boot clears it) or one that was overwritten more than once around since
/// the previous read: all of it is new. An empty read starts over.
#[derive(Clone, Debug, Default)]
pub struct Follower {
    /// The last bytes of the previous read (at most [`TAIL_LEN`]).
    tail: Vec<u8>,
    /// Length of the previous read.
    len: usize,
}

/// What [`Follower::feed`] found in one read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Update<'a> {
    /// The bytes to print.
    pub new: &'a [u8],
    /// The previous text was not found: the console restarted, or more than
    /// the whole ring was written since the previous read.
    pub restarted: bool,
}

impl Follower {
    /// A follower that has printed nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The part of `now` (the ring's whole text, read afresh) not yet
    /// printed.
    pub fn feed<'a>(&mut self, now: &'a [u8]) -> Update<'a> {
        let tail = &self.tail[..];
        let (new, restarted) = if tail.is_empty() {
            (now, false)
        } else if now.len() >= self.len && now[self.len - tail.len()..self.len] == *tail {
            // Still where it was: the ring has not dropped anything.
            (&now[self.len..], false)
        } else if let Some(at) = rfind(now, tail) {
            (&now[at + tail.len()..], false)
        } else {
            (now, !now.is_empty())
        };
        self.len = now.len();
        self.tail = now[now.len().saturating_sub(TAIL_LEN)..].to_vec();
        Update { new, restarted }
    }
}

/// Where `needle` (non-empty) last occurs in `hay`.
fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Reads a binary sysfs file whole (its size reads as 0: read until EOF).
pub fn read_bin(file: &Path) -> Result<Vec<u8>> {
    fs::read(file).with_context(|| match fs::metadata(file) {
        Err(e) if e.kind() == ErrorKind::NotFound => format!(
            "cannot read {} (a mint.ko without console files?)",
            file.display()
        ),
        _ => format!("cannot read {}", file.display()),
    })
}

/// One partition, as `mint-kexec status` shows it. A field is `None` (JSON
/// `null`) when its file cannot be read or parsed, `name` and the crash
/// reason excepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionStatus {
    /// `osN`.
    pub name: String,
    /// The `state` file: `empty`, `loaded`, `starting`, `running`,
    /// `stopped`, `failed`, `rebooted`, `halted` or `crashed`.
    pub state: Option<String>,
    /// The `cpus` file, a cpulist (`""` for none).
    pub cpus: Option<String>,
    /// The `apic_ids` file, boot CPU first.
    pub apic_ids: Option<Vec<u32>>,
    /// The `memory` file: the claimed ranges, ascending, comma-separated,
    /// each `SIZE@START` (`""` for none).
    pub memory: Option<String>,
    /// The `lowmem` file, `START-END` inclusive.
    pub lowmem: Option<String>,
    /// The `cmdline` file (`""` before a load).
    pub cmdline: Option<String>,
    /// Length of the `console` file: the console text the partition's kernel
    /// left in its ramoops region.
    pub console_bytes: Option<u64>,
    /// Whether the `crash` file holds a record (an oops or a panic).
    pub crashed: Option<bool>,
    /// The text after the last `Kernel panic - not syncing: ` in the crash
    /// record, to the end of its line (bytes that are not UTF-8 replaced
    /// with U+FFFD); `None` without such a line.
    pub crash_reason: Option<String>,
}

/// Every partition, as `mint-kexec status --json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// In the order of the module's `partitions` file.
    pub partitions: Vec<PartitionStatus>,
}

impl PartitionStatus {
    /// Reads partition `name`'s files in `dir`.
    pub fn read(name: &str, dir: &Path) -> Self {
        let text = |f: &str| sysfs::read_value(&dir.join(f)).ok();
        let crash = fs::read(dir.join("crash")).ok();
        let crash_reason = crash
            .as_deref()
            .and_then(ramoops::panic_reason)
            .map(|r| String::from_utf8_lossy(r).into_owned());
        Self {
            name: name.to_string(),
            state: text("state"),
            cpus: text("cpus"),
            apic_ids: text("apic_ids").and_then(|v| sysfs::parse_apic_ids(&v)),
            memory: text("memory"),
            lowmem: text("lowmem"),
            cmdline: text("cmdline"),
            console_bytes: fs::read(dir.join("console")).ok().map(|c| c.len() as u64),
            crashed: crash.as_ref().map(|c| !c.is_empty()),
            crash_reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds every read and returns what was printed, and how often the
    /// follower saw a restart.
    fn follow(reads: &[&[u8]]) -> (Vec<u8>, usize) {
        let mut f = Follower::new();
        let mut out = Vec::new();
        let mut restarts = 0;
        for r in reads {
            let u = f.feed(r);
            out.extend_from_slice(u.new);
            restarts += usize::from(u.restarted);
        }
        (out, restarts)
    }

    #[test]
    fn growing_console() {
        let (out, restarts) = follow(&[b"", b"Linux ", b"Linux ", b"Linux version 6.12\n"]);
        assert_eq!(out, b"Linux version 6.12\n");
        assert_eq!(restarts, 0);
        let mut f = Follower::new();
        assert_eq!(f.feed(b"abc").new, b"abc");
        assert_eq!(f.feed(b"abc").new, b"");
        assert_eq!(f.feed(b"abcdef").new, b"def");
    }

    /// The text of a ring of `cap` bytes after `total` bytes of `text`
    /// were written: the last `cap` of them.
    fn ring(text: &[u8], total: usize, cap: usize) -> Vec<u8> {
        text[total.saturating_sub(cap)..total].to_vec()
    }

    /// A log with unique lines, like a kernel's (timestamps).
    fn log(lines: usize) -> Vec<u8> {
        (0..lines)
            .flat_map(|i| {
                format!("[{:5}.{:06}] line {i}\n", i / 7, i * 13 % 1_000_000).into_bytes()
            })
            .collect()
    }

    #[test]
    fn wrapped_ring_prints_only_the_new_text() {
        let text = log(2000);
        let cap = 4096;
        // Reads after various amounts of writing, across the wrap, with
        // small and large steps (but less than a ring per step).
        let mut total = 0;
        let mut f = Follower::new();
        let mut out = Vec::new();
        for step in [
            100,
            1000,
            3000,
            10,
            0,
            3800,
            1,
            2500,
            0,
            333,
            4096 - TAIL_LEN,
        ] {
            total += step;
            let r = ring(&text, total, cap);
            let u = f.feed(&r);
            assert!(!u.restarted, "step {step} at {total}");
            out.extend_from_slice(u.new);
        }
        // Everything written, each byte once, except what dropped off the
        // ring before it was read: here the first read was complete and no
        // step exceeded the ring, so nothing is lost.
        assert_eq!(out, &text[..total]);
    }

    #[test]
    fn full_ring_without_new_text_prints_nothing() {
        let text = log(500);
        let r = ring(&text, text.len(), 2048);
        let (out, restarts) = follow(&[&r, &r, &r]);
        assert_eq!(out, r);
        assert_eq!(restarts, 0);
    }

    #[test]
    fn short_new_text_in_a_full_ring() {
        // A full ring (the smallest mint makes holds 32 KiB), a few bytes
        // at a time.
        let text = log(4000);
        let cap = 32 << 10;
        let mut f = Follower::new();
        let mut total = 40_000;
        assert_eq!(
            f.feed(&ring(&text, total, cap)).new,
            ring(&text, total, cap)
        );
        for step in [1, 2, 0, 7, 80] {
            let r = ring(&text, total + step, cap);
            assert_eq!(f.feed(&r).new, &text[total..total + step], "step {step}");
            total += step;
        }
    }

    #[test]
    fn restart_that_cleared_the_console() {
        let old = log(100);
        let new = b"[    0.000000] Linux version 6.12 (second boot)\n".to_vec();
        // Seen empty in between (the window scrub at start).
        let (out, restarts) = follow(&[&old, b"", &new]);
        assert_eq!(out, [&old[..], &new[..]].concat());
        assert_eq!(restarts, 0, "an empty read just starts over");
        // Or straight to the new boot's text: none of the old tail in it.
        let mut f = Follower::new();
        assert_eq!(f.feed(&old).new, &old[..]);
        let u = f.feed(&new);
        assert_eq!(
            u,
            Update {
                new: &new,
                restarted: true
            }
        );
        // And the follower goes on from the new text.
        let more = [&new[..], b"more\n"].concat();
        assert_eq!(f.feed(&more).new, b"more\n");
    }

    #[test]
    fn overrun_between_reads_prints_the_whole_ring() {
        let text = log(2000);
        let cap = 1024;
        let first = ring(&text, 5000, cap);
        let second = ring(&text, 5000 + 3 * cap, cap);
        let (out, restarts) = follow(&[&first, &second]);
        assert_eq!(out, [&first[..], &second[..]].concat());
        assert_eq!(restarts, 1);
    }

    #[test]
    fn bytes_are_bytes() {
        let mut f = Follower::new();
        assert_eq!(f.feed(b"a\xffb").new, b"a\xffb");
        assert_eq!(f.feed(b"a\xffb\xfe\n").new, b"\xfe\n");
    }

    #[test]
    fn rfind_finds_the_last() {
        assert_eq!(rfind(b"abcabc", b"abc"), Some(3));
        assert_eq!(rfind(b"abcabc", b"x"), None);
        assert_eq!(rfind(b"ab", b"abc"), None);
        assert_eq!(rfind(b"ab", b""), None);
    }

    #[test]
    fn status_as_json() {
        let s = StatusReport {
            partitions: vec![PartitionStatus {
                name: "os2".into(),
                state: Some("crashed".into()),
                cpus: Some("1".into()),
                apic_ids: Some(vec![1]),
                memory: Some("256M@0x20000000".into()),
                lowmem: Some("0x11000-0x1ffff".into()),
                cmdline: Some("console=ttyS1".into()),
                console_bytes: Some(1234),
                crashed: Some(true),
                crash_reason: Some("sysrq triggered crash".into()),
            }],
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"partitions":[{"name":"os2","state":"crashed","cpus":"1","apic_ids":[1],"memory":"256M@0x20000000","lowmem":"0x11000-0x1ffff","cmdline":"console=ttyS1","console_bytes":1234,"crashed":true,"crash_reason":"sysrq triggered crash"}]}"#
        );
    }
}
