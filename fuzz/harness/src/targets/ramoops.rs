//! The ramoops decoder (`rust/logic/src/ramoops.rs`): what the host reads
//! from memory the partition's kernel writes, so every byte is untrusted.

use mint_logic::ramoops::{self, Layout, Ring, SIG, ZONE_HEADER_LEN};

use crate::input::{Reader, Writer};

const MARK: &[u8] = b"Kernel panic - not syncing: ";

/// The input the target reads: a mode byte, the zone length the caller
/// claims (used in mode 1; mode 0 takes the zone's real length), a text
/// slice `(offset, len)`, the layout parameters, then the zone's bytes.
pub fn input(claimed_len: Option<u64>, zone: &[u8]) -> Vec<u8> {
    Writer::new()
        .u8(u8::from(claimed_len.is_some()))
        .u64(claimed_len.unwrap_or(0))
        .u32(0)
        .u32(u32::MAX)
        .u64(0x3ff0_0000)
        .u64(1 << 20)
        .u8(16)
        .u8(19)
        .u8(16)
        .rest(zone)
}

/// A zone as the partition's kernel leaves it: header, then `data`.
pub fn zone(start: u32, size: u32, data: &[u8]) -> Vec<u8> {
    let mut z = Vec::with_capacity(12 + data.len());
    z.extend_from_slice(&SIG.to_le_bytes());
    z.extend_from_slice(&start.to_le_bytes());
    z.extend_from_slice(&size.to_le_bytes());
    z.extend_from_slice(data);
    z
}

/// `Ring::decode` as documented: the header's `start`/`size`, or the empty
/// text when the signature differs, `size` exceeds the capacity or `start`
/// exceeds `size`.
fn ring_model(header: &[u8], zone_len: u64) -> (usize, usize) {
    let Some(h) = header.get(..12) else {
        return (0, 0);
    };
    let word = |i: usize| u32::from_le_bytes(h[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
    let (sig, start, size) = (word(0), u64::from(word(1)), u64::from(word(2)));
    let capacity = zone_len.saturating_sub(ZONE_HEADER_LEN);
    if sig != SIG || size > capacity || start > size {
        (0, 0)
    } else {
        (start as usize, size as usize)
    }
}

/// Zone decoding, text slicing, crash record heads, panic reasons and
/// region layouts. The decoded text never exceeds the zone's capacity and
/// agrees with the model; its pieces, and every slice of it, lie inside
/// the zone's data area (inside the input, when the caller's zone length
/// is the real one) and concatenate to the right text; a parsed record head
/// and panic reason are parts of the text; an accepted layout cuts its
/// region into disjoint zones in order.
pub fn ramoops(data: &[u8]) {
    let mut r = Reader::new(data);
    let mode = r.u8();
    let claimed = r.u64();
    let (offset, len) = (r.u32() as usize, r.u32() as usize);
    let (base, region_len) = (r.u64(), r.u64());
    let shifts = [r.u8(), r.u8(), r.u8()];
    let zone = r.rest();
    let zone_len = if mode & 1 == 1 {
        claimed
    } else {
        zone.len() as u64
    };

    let ring = Ring::decode(zone, zone_len);
    let capacity = zone_len.saturating_sub(ZONE_HEADER_LEN);
    assert!(
        ring.len() as u64 <= capacity,
        "text longer than the zone holds"
    );
    let [a, b] = ring.pieces();
    assert_eq!((a.end, b.start), (ring.len(), 0));
    assert_eq!(a.len() + b.len(), ring.len());
    assert_eq!(
        (b.end, ring.len()),
        ring_model(zone, zone_len),
        "decode disagrees with the model"
    );
    for p in [&a, &b] {
        assert!(p.start <= p.end && p.end as u64 <= capacity);
    }
    let slice = ring.slice(offset, len);
    let end = offset.saturating_add(len).min(ring.len());
    let want = end - offset.min(end);
    assert_eq!(
        slice[0].len() + slice[1].len(),
        want,
        "slice({offset}, {len}) length"
    );
    for (s, p) in slice.iter().zip([&a, &b]) {
        assert!(
            s.is_empty() || (s.start >= p.start && s.end <= p.end),
            "slice outside its piece"
        );
    }
    if mode & 1 == 1 {
        return; // the zone's bytes may be fewer than claimed
    }
    let area = zone.get(ZONE_HEADER_LEN as usize..).unwrap_or(&[]);
    let text: Vec<u8> = [a, b]
        .iter()
        .flat_map(|p| area[p.clone()].iter().copied())
        .collect();
    let sliced: Vec<u8> = slice
        .iter()
        .flat_map(|p| area[p.clone()].iter().copied())
        .collect();
    assert_eq!(sliced, text[offset.min(end)..end], "slice text");

    if let Some(h) = ramoops::record_head(&text) {
        assert!(text.starts_with(b"====") && h.body <= text.len());
        assert_eq!(text[h.body - 1], b'\n');
        let line = format!("===={}.{}-D\n", h.time.0, h.time.1);
        let mut again = line.into_bytes();
        again.extend_from_slice(&text[h.body..]);
        let h2 = ramoops::record_head(&again).expect("a printed head parses");
        assert_eq!((h2.time, h2.kind), (h.time, h.kind));
    }
    if let Some(reason) = ramoops::panic_reason(&text) {
        let at = crate::targets::kernel::offset_in(&text, reason).expect("a part of the text");
        assert!(at >= MARK.len() && &text[at - MARK.len()..at] == MARK);
        assert!(!reason.contains(&b'\n') && !reason.contains(&b'\r'));
    }

    // Mostly powers of two (what ramoops takes), sometimes not.
    let [rs, cs, ps] = shifts.map(|s| {
        if s < 200 {
            1u64 << (s % 31)
        } else {
            u64::from(s) << 10
        }
    });
    for layout in [
        Layout::new(base, region_len, rs, cs, ps),
        Layout::for_region(base, region_len),
    ] {
        match layout {
            Ok(l) => check_layout(&l, base, region_len),
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.is_empty() && !msg.contains('\n'));
            }
        }
    }
}

fn check_layout(l: &Layout, base: u64, len: u64) {
    let region = l.region();
    assert_eq!(region, base..base + len);
    assert!(base.is_multiple_of(4096) && len.is_multiple_of(4096) && base != 0);
    for s in [l.record_size(), l.console_size(), l.pmsg_size()] {
        assert!(s.is_power_of_two());
    }
    assert!(l.records() >= 1);
    let zone = l.record_zone_len();
    assert!(zone > ZONE_HEADER_LEN && zone.is_multiple_of(2));
    let records = l.records_area();
    assert_eq!(records.start, base);
    assert_eq!(
        u128::from(records.end - records.start),
        u128::from(l.records()) * u128::from(zone)
    );
    for i in [0, l.records() - 1] {
        let z = l.record(i).expect("an existing record");
        assert!(z.start >= records.start && z.end <= records.end && z.end - z.start == zone);
    }
    assert_eq!(l.record(l.records()), None);
    let (c, p) = (l.console(), l.pmsg());
    assert_eq!((c.start, c.end - c.start), (records.end, l.console_size()));
    assert_eq!((p.start, p.end - p.start), (c.end, l.pmsg_size()));
    assert!(p.end <= region.end);
}
