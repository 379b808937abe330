//! The load image the module parses from what userspace writes to `load`
//! (`rust/logic/src/load_image.rs`), checked against random ranges of
//! memory.
//!
//! Only the parser's public API is used (no offsets of the format), so the
//! target survives format versions; the one format-specific step is the
//! re-encoding with `mint-kexec`'s encoder.

use mint_kexec::load_blob;
use mint_logic::load_image::{
    self, LoadImage, LoadImageError, BOOT_PARAMS_LEN, HEADER_LEN, MAX_SEGMENTS, OFF_TOTAL_LEN,
    SEGMENT_DESC_LEN, STATUS_PAGE_LEN,
};
use mint_logic::memlist::MAX_RANGES;
use mint_logic::memrange::MemRange;

use crate::input::{Reader, Writer};
use crate::targets::kernel::offset_in;

/// Pad mode grows the input to the `total_len` its header announces, up to
/// this many bytes (zero-filled pages cost nothing until touched).
const PAD_LIMIT: u64 = 16 << 20;
/// Re-encoding copies the blob: only for blobs up to this size.
const REENCODE_LIMIT: usize = 1 << 20;

/// `[start, end)` in 128 bits, so that nothing wraps.
fn wide(start: u64, len: u64) -> (u128, u128) {
    (u128::from(start), u128::from(start) + u128::from(len))
}

/// `[start, start + len)` inside `[outer, outer + outer_len)`, neither wrapping 64 bits.
fn inside(start: u64, len: u64, outer: u64, outer_len: u64) -> bool {
    let (s, e) = wide(start, len);
    let (os, oe) = wide(outer, outer_len);
    let max = u128::from(u64::MAX);
    e <= max && oe <= max && s >= os && e <= oe
}

fn overlap(a: (u64, u64), b: (u64, u64)) -> bool {
    let (a0, a1) = wide(a.0, a.1);
    let (b0, b1) = wide(b.0, b.1);
    a.1 != 0 && b.1 != 0 && a0 < b1 && b0 < a1
}

/// `validate_within` restated from its documentation, in 128-bit
/// arithmetic: `Err(reason)` names the first rule broken.
fn model(img: &LoadImage<'_>, mem: &[MemRange]) -> Result<(), String> {
    let in_mem = |addr, len| mem.iter().any(|r| inside(addr, len, r.start, r.size));
    let segs: Vec<(u64, u64)> = img.segments().map(|(d, b)| (d, b.len() as u64)).collect();
    for (i, &(d, l)) in segs.iter().enumerate() {
        if !in_mem(d, l) {
            return Err(format!("segment {i} outside"));
        }
    }
    for i in 0..segs.len() {
        for j in i + 1..segs.len() {
            if overlap(segs[i], segs[j]) {
                return Err(format!("segments {i} and {j} overlap"));
            }
        }
    }
    let in_one = |addr, len| segs.iter().any(|&(d, l)| inside(addr, len, d, l));
    if !in_one(img.boot_params(), BOOT_PARAMS_LEN) {
        return Err("boot params".into());
    }
    if !in_one(img.entry(), 1) {
        return Err("entry".into());
    }
    // The 32-bit entry reaches the first 4 GiB only.
    if !img.entry_64()
        && (!inside(img.entry(), 1, 0, 1 << 32)
            || !inside(img.boot_params(), BOOT_PARAMS_LEN, 0, 1 << 32))
    {
        return Err("above 4 GiB".into());
    }
    let status = img.status_page().map(|p| (p, STATUS_PAGE_LEN));
    if let Some((p, l)) = status {
        if !in_mem(p, l) {
            return Err("status page".into());
        }
    }
    if let Some(c) = img.console() {
        let r = c.region();
        let region = (r.start, r.end - r.start);
        if !in_mem(region.0, region.1) {
            return Err("console region outside".into());
        }
        if segs
            .iter()
            .chain(status.iter())
            .any(|&s| overlap(s, region))
        {
            return Err("console region overlaps".into());
        }
    }
    Ok(())
}

/// The target's input: a mode byte, a count byte (modulo
/// [`MAX_RANGES`] + 1), that many ranges (`start`, `size`, raw: the
/// validator must cope with any range, in any order, overlapping or not),
/// then the blob. Pad mode (bit 0) zero-fills the blob up to the
/// `total_len` its header announces, so that a header and segment table
/// alone reach the address checks.
pub fn input(pad: bool, ranges: &[MemRange], blob: &[u8]) -> Vec<u8> {
    let mut w = Writer::new().u8(u8::from(pad)).u8(ranges.len() as u8);
    for r in ranges {
        w = w.u64(r.start).u64(r.size);
    }
    w.rest(blob)
}

/// `parse` + `validate_within`: the streaming check of the header agrees
/// with the full parse; an accepted image's segments are the blob's data
/// in table order, contiguous up to its end, and re-encode to the same
/// bytes; `validate_within` accepts exactly what the model accepts (every
/// segment inside one range, none overlapping, boot parameters and entry
/// inside one segment and, for the 32-bit entry, below 4 GiB, status page
/// and console region inside one range, the console clear of everything
/// else).
pub fn load_image(data: &[u8]) {
    let mut r = Reader::new(data);
    let pad = r.u8() & 1 == 1;
    let count = usize::from(r.u8()) % (MAX_RANGES + 1);
    let ranges: Vec<MemRange> = (0..count)
        .map(|_| MemRange {
            start: r.u64(),
            size: r.u64(),
        })
        .collect();
    let mut blob = r.rest();
    let padded: Vec<u8>;
    let announced = blob
        .get(OFF_TOTAL_LEN..OFF_TOTAL_LEN + 8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .unwrap_or(0);
    if pad && announced > blob.len() as u64 && announced <= PAD_LIMIT {
        let mut v = vec![0u8; announced as usize];
        v[..blob.len()].copy_from_slice(blob);
        padded = v;
        blob = &padded;
    }

    for n in [0, HEADER_LEN / 2, HEADER_LEN - 1] {
        if let Some(p) = blob.get(..n) {
            assert_eq!(load_image::total_len_from_prefix(p), None);
        }
    }
    let prefix = blob
        .get(..HEADER_LEN)
        .map(|p| load_image::total_len_from_prefix(p).expect("a whole header gives an answer"));
    let img = match load_image::parse(blob) {
        Ok(img) => img,
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'));
            assert!(
                matches!(e.errno(), 8 | 22 | 27 | 34 | 99),
                "{e:?} errno {}",
                e.errno()
            );
            match prefix {
                Some(Err(pe)) => assert_eq!(e, pe, "prefix and parse disagree"),
                Some(Ok(total)) if total != blob.len() as u64 => {
                    assert_eq!(e, LoadImageError::LengthMismatch)
                }
                None => assert_eq!(e, LoadImageError::Truncated),
                _ => {}
            }
            return;
        }
    };
    assert_eq!(prefix, Some(Ok(blob.len() as u64)));

    // Structure: count, and the data of the segments in table order.
    let count = img.segment_count();
    assert!((1..=MAX_SEGMENTS).contains(&count));
    let segs: Vec<(u64, &[u8])> = img.segments().collect();
    assert_eq!(segs.len(), count as usize);
    let mut at = HEADER_LEN + count as usize * SEGMENT_DESC_LEN;
    for (_, d) in &segs {
        assert!(!d.is_empty());
        assert_eq!(
            offset_in(blob, d),
            Some(at),
            "segment data not in table order"
        );
        at += d.len();
    }
    assert_eq!(at, blob.len(), "the data does not end the blob");
    if let Some(p) = img.status_page() {
        assert!(p != 0 && p % STATUS_PAGE_LEN == 0);
    }
    if blob.len() <= REENCODE_LIMIT {
        let again = load_blob::encode(
            img.entry(),
            img.boot_params(),
            img.entry_64(),
            img.status_page(),
            img.console().as_ref(),
            &segs,
        );
        assert!(again == blob, "re-encoding gives other bytes");
    }

    // Addresses.
    let got = img.validate_within(&ranges);
    let want = model(&img, &ranges);
    assert_eq!(
        got.is_ok(),
        want.is_ok(),
        "{ranges:?}: validator {got:?}, model {want:?}"
    );
    match got {
        Err(LoadImageError::OutsideMemory { index }) => {
            let (d, b) = segs[index as usize];
            let len = b.len() as u64;
            assert!(!ranges.iter().any(|r| inside(d, len, r.start, r.size)));
        }
        Err(LoadImageError::Above4G) => assert!(!img.entry_64()),
        Err(LoadImageError::Overlap { first, second }) => {
            let (a, b) = (segs[first as usize], segs[second as usize]);
            assert!(first < second && overlap((a.0, a.1.len() as u64), (b.0, b.1.len() as u64)));
        }
        _ => {}
    }
}
