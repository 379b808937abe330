//! The initramfs walker of `mint-kexec load --decompress-initrd`.

use std::borrow::Cow;
use std::io::Write;

use mint_kexec::initrd::{self, Unchanged};

use crate::input::Reader;

const TRAILER: &str = "TRAILER!!!";

/// A newc cpio archive of `entries` and the trailer, as `gen_init_cpio` and
/// the kernel build write them.
pub(crate) fn cpio(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut a = Vec::new();
    let trailer = [(TRAILER.as_bytes(), &b""[..])];
    for (i, (name, body)) in entries.iter().chain(trailer.iter()).enumerate() {
        let hdr = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            i + 1,
            if body.is_empty() { 0o40755 } else { 0o100644 },
            0,
            0,
            1,
            0,
            body.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        a.extend_from_slice(hdr.as_bytes());
        a.extend_from_slice(name);
        a.push(0);
        a.resize(a.len().next_multiple_of(4), 0);
        a.extend_from_slice(body);
        a.resize(a.len().next_multiple_of(4), 0);
    }
    a
}

pub(crate) fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level % 10));
    e.write_all(data).expect("writing to a Vec");
    e.finish().expect("writing to a Vec")
}

/// `initrd::decompress`. Raw mode (first byte even): no panic; whatever it
/// refuses it names by an offset inside the input, and `decompress_or_keep`
/// then hands the input back untouched; whatever it accepts had a gzip
/// member. Model mode (odd): the input is built from pieces the kernel
/// accepts (zero padding, plain newc archives, gzip members of archives or
/// of raw bytes) and the output must be exactly the model's: padding
/// dropped, archives copied and members inflated, each at a 4-byte aligned
/// output offset.
pub fn initrd(data: &[u8]) {
    let mut r = Reader::new(data);
    if r.u8() & 1 == 0 {
        let input = r.rest();
        let got = initrd::decompress(input);
        match &got {
            Ok(_) => assert!(input.windows(2).any(|w| w == [0x1f, 0x8b]), "no gzip magic"),
            Err(Unchanged::NoGzip) => {}
            Err(
                Unchanged::OtherCompression(_, at)
                | Unchanged::Unrecognised(at)
                | Unchanged::TruncatedCpio(at)
                | Unchanged::BadGzip(at, _),
            ) => assert!(*at < input.len(), "{got:?}"),
        }
        if let Err(Unchanged::Unrecognised(at)) = &got {
            assert_ne!(input[*at], 0);
        }
        let (kept, why) = initrd::decompress_or_keep(input);
        match (got, kept, why) {
            (Ok(out), Cow::Owned(k), None) => assert_eq!(out, k),
            (Err(e), Cow::Borrowed(k), Some(w)) => {
                assert_eq!(e, w);
                assert_eq!(k, input);
            }
            _ => panic!("decompress_or_keep disagrees with decompress"),
        }
        return;
    }
    let mut input = Vec::new();
    let mut want = Vec::new();
    let mut gzipped = false;
    let pad4 = |v: &mut Vec<u8>| v.resize(v.len().next_multiple_of(4), 0);
    for _ in 0..(r.u8() % 6 + 1) {
        let kind = r.u8();
        match kind % 3 {
            0 => input.resize(input.len() + usize::from(kind / 3 % 16) + 1, 0),
            1 | 2 => {
                let mut entries = Vec::new();
                let mut names = Vec::new();
                for _ in 0..(r.u8() % 4) {
                    let mut name = r.bytes(64).to_vec();
                    if name == TRAILER.as_bytes() {
                        name.push(b'x');
                    }
                    names.push((name, r.bytes(4096).to_vec()));
                }
                for (n, b) in &names {
                    entries.push((&n[..], &b[..]));
                }
                let raw = r.u8() & 1 == 1;
                let plain = if kind % 3 == 2 && raw {
                    r.bytes(4096).to_vec()
                } else {
                    cpio(&entries)
                };
                pad4(&mut want);
                want.extend_from_slice(&plain);
                if kind % 3 == 1 {
                    input.extend_from_slice(&plain);
                } else {
                    input.extend_from_slice(&gzip(&plain, u32::from(kind)));
                    gzipped = true;
                }
            }
            _ => unreachable!(),
        }
    }
    let got = initrd::decompress(&input);
    if gzipped {
        assert_eq!(got.as_deref(), Ok(&want[..]), "model mismatch");
    } else {
        assert_eq!(got, Err(Unchanged::NoGzip));
    }
}
