//! `--decompress-initrd`: inflate a gzip initramfs on the host, so the
//! partition's kernel only unpacks a plain cpio archive at boot.
//!
//! An initramfs, as the kernel reads it (init/initramfs.c), is a sequence of
//! segments: plain cpio "newc" archives (each ending with its `TRAILER!!!`
//! entry), compressed blobs recognised by their magic, and zero padding in
//! between. This walks that sequence the same way and replaces every gzip
//! member by what it inflates to; plain archives and padding pass through.
//! Any other compression (zstd, xz, lz4, bzip2, lzma, lzo) or anything
//! unrecognised leaves the whole file as it is: the partition's kernel then
//! decompresses it itself, exactly as it would have without the option.

use std::borrow::Cow;
use std::io::Read;

/// Why the initramfs is handed over unchanged.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unchanged {
    #[error("it has no gzip segment")]
    NoGzip,
    #[error("it has a {0} segment at byte {1}, which the partition's kernel will decompress")]
    OtherCompression(&'static str, usize),
    #[error("unrecognised data at byte {0}")]
    Unrecognised(usize),
    #[error("a cpio archive at byte {0} is truncated")]
    TruncatedCpio(usize),
    #[error("the gzip segment at byte {0} is corrupt: {1}")]
    BadGzip(usize, String),
}

/// The magic numbers the kernel's decompressors are chosen by (lib/decompress.c).
const OTHER_MAGIC: [(&[u8], &str); 7] = [
    (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
    (&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz"),
    (&[0x02, 0x21], "lz4"),
    (b"BZh", "bzip2"),
    (&[0x5d, 0x00], "lzma"),
    (&[0x89, 0x4c], "lzo"),
    (&[0x1f, 0x9e], "old gzip"),
];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const TRAILER: &[u8] = b"TRAILER!!!";
const CPIO_HEADER_LEN: usize = 110;

fn align4(n: usize) -> usize {
    n.next_multiple_of(4)
}

/// Length of the plain cpio archive at the start of `data`, up to and
/// including its `TRAILER!!!` entry (padded to 4 bytes), or `None` if it is
/// truncated or malformed.
fn cpio_archive_len(data: &[u8]) -> Option<usize> {
    let hex = |b: &[u8]| usize::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok();
    let mut at = 0;
    loop {
        let h = data.get(at..at + CPIO_HEADER_LEN)?;
        if &h[..6] != b"070701" && &h[..6] != b"070702" {
            return None;
        }
        let filesize = hex(&h[54..62])?;
        let namesize = hex(&h[94..102])?;
        let name = data.get(at + CPIO_HEADER_LEN..at + CPIO_HEADER_LEN + namesize)?;
        let data_at = align4(at + CPIO_HEADER_LEN + namesize);
        let next = align4(data_at.checked_add(filesize)?);
        if name.strip_suffix(b"\0") == Some(TRAILER) {
            return Some(next.min(data.len()));
        }
        data.get(data_at..data_at + filesize)?;
        at = next;
    }
}

fn pad4(out: &mut Vec<u8>) {
    out.resize(align4(out.len()), 0);
}

/// The initramfs with every gzip member inflated, or why it stays as is.
pub fn decompress(data: &[u8]) -> Result<Vec<u8>, Unchanged> {
    let mut out = Vec::with_capacity(data.len() * 3);
    let mut at = 0;
    let mut inflated_any = false;
    while at < data.len() {
        let rest = &data[at..];
        if rest[0] == 0 {
            // Padding between segments (the kernel skips zero bytes): not
            // copied; the output is padded where its own layout needs it.
            at += 1;
        } else if rest.starts_with(b"07070") {
            let len = cpio_archive_len(rest).ok_or(Unchanged::TruncatedCpio(at))?;
            // The kernel reads a plain archive only at a 4-byte aligned offset.
            pad4(&mut out);
            out.extend_from_slice(&rest[..len]);
            at += len;
        } else if rest.starts_with(&GZIP_MAGIC) {
            // Inflated, the member becomes a plain archive: aligned likewise.
            pad4(&mut out);
            let mut input = rest;
            let mut gz = flate2::bufread::GzDecoder::new(&mut input);
            gz.read_to_end(&mut out)
                .map_err(|e| Unchanged::BadGzip(at, e.to_string()))?;
            drop(gz);
            // Whatever the decoder did not consume follows the member.
            at = data.len() - input.len();
            inflated_any = true;
        } else if let Some((_, name)) = OTHER_MAGIC.iter().find(|(m, _)| rest.starts_with(m)) {
            return Err(Unchanged::OtherCompression(name, at));
        } else {
            return Err(Unchanged::Unrecognised(at));
        }
    }
    if !inflated_any {
        return Err(Unchanged::NoGzip);
    }
    Ok(out)
}

/// `data` with its gzip members inflated when that is possible; otherwise
/// `data` itself and the reason.
pub fn decompress_or_keep(data: &[u8]) -> (Cow<'_, [u8]>, Option<Unchanged>) {
    match decompress(data) {
        Ok(v) => (Cow::Owned(v), None),
        Err(why) => (Cow::Borrowed(data), Some(why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A newc archive with one file and the trailer.
    fn cpio(name: &str, body: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        for (n, b, mode) in [(name, body, 0o100644u32), ("TRAILER!!!", &b""[..], 0)] {
            let hdr = format!(
                "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
                1, mode, 0, 0, 1, 0, b.len(), 0, 0, 0, 0, n.len() + 1, 0
            );
            a.extend_from_slice(hdr.as_bytes());
            a.extend_from_slice(n.as_bytes());
            a.push(0);
            a.resize(align4(a.len()), 0);
            a.extend_from_slice(b);
            a.resize(align4(a.len()), 0);
        }
        a
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn inflates_a_gzip_initramfs() {
        let plain = cpio("init", b"#!/bin/sh\necho hi\n");
        assert_eq!(decompress(&gzip(&plain)).unwrap(), plain);
    }

    #[test]
    fn keeps_a_plain_prefix_and_inflates_what_follows() {
        // The layout of an initrd with early microcode: plain cpio, then gzip.
        let early = cpio("kernel/x86/microcode/GenuineIntel.bin", &[7u8; 100]);
        let main = cpio("init", b"init");
        let mut input = early.clone();
        input.extend_from_slice(&[0u8; 8]);
        input.extend_from_slice(&gzip(&main));
        let mut want = early;
        want.extend_from_slice(&main);
        assert_eq!(decompress(&input).unwrap(), want);
    }

    #[test]
    fn keeps_plain_archives_aligned_after_an_odd_sized_inflate() {
        // A gzip member followed by padding that leaves the next plain
        // archive aligned in the input but not where the output would be.
        let a = cpio("a", b"1");
        let b = cpio("b", b"22");
        let mut input = gzip(&a);
        while input.len() % 4 != 1 {
            input.push(0);
        }
        input.extend_from_slice(&[0, 0, 0]);
        input.extend_from_slice(&b);
        let out = decompress(&input).unwrap();
        let at = out.len() - b.len();
        assert_eq!(at % 4, 0);
        assert_eq!(&out[at..], &b[..]);
        assert_eq!(&out[..a.len()], &a[..]);
    }

    #[test]
    fn inflates_concatenated_gzip_members() {
        let (a, b) = (cpio("a", b"1"), cpio("b", b"22"));
        let mut input = gzip(&a);
        input.extend_from_slice(&gzip(&b));
        let mut want = a;
        want.extend_from_slice(&b);
        assert_eq!(decompress(&input).unwrap(), want);
    }

    #[test]
    fn leaves_other_compressions_to_the_kernel() {
        let zstd = [0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3];
        assert_eq!(
            decompress(&zstd),
            Err(Unchanged::OtherCompression("zstd", 0))
        );
        let mut mixed = cpio("a", b"1");
        let at = mixed.len();
        mixed.extend_from_slice(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 9]);
        assert_eq!(
            decompress(&mixed),
            Err(Unchanged::OtherCompression("xz", at))
        );
        let (kept, why) = decompress_or_keep(&zstd);
        assert_eq!(&*kept, &zstd[..]);
        assert!(why.is_some());
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert_eq!(decompress(&cpio("a", b"1")), Err(Unchanged::NoGzip));
        assert_eq!(decompress(b"hello"), Err(Unchanged::Unrecognised(0)));
        let plain = cpio("a", b"1");
        assert_eq!(
            decompress(&plain[..plain.len() - 20]),
            Err(Unchanged::TruncatedCpio(0))
        );
        let mut gz = gzip(&plain);
        let n = gz.len();
        gz.truncate(n - 12);
        assert!(matches!(decompress(&gz), Err(Unchanged::BadGzip(0, _))));
    }
}
