//! Encoding of the blob written to a partition's sysfs `load` file.
//!
//! The format is defined (and parsed, by the kernel module) in
//! [`mint_logic::load_image`]; this side only serializes it.

use mint_logic::load_image::{
    FLAG_ENTRY_64, HEADER_LEN, MAGIC, OFF_BOOT_PARAMS, OFF_CONSOLE, OFF_CONSOLE_LEN,
    OFF_CONSOLE_SIZE, OFF_COUNT, OFF_ENTRY, OFF_FLAGS, OFF_MAGIC, OFF_PMSG_SIZE, OFF_RECORD_SIZE,
    OFF_STATUS_PAGE, OFF_TOTAL_LEN, OFF_VERSION, SEGMENT_DESC_LEN, VERSION,
};
use mint_logic::ramoops::Layout;

/// Serializes a load image: header, segment table, then the segments' data.
///
/// `entry_64`: `false` to enter the kernel through the 32-bit boot protocol
/// at `entry` (the bzImage's `code32_start`), `true` to enter it in long
/// mode (`FLAG_ENTRY_64`: the bzImage's 64-bit entry, or the decompressed
/// kernel's `startup_64`), on identity page tables the module builds. The
/// reserved `page_table` field stays 0.
///
/// `status_page`: the physical address of the partition's 4 KiB status page
/// (the last page of the ACPI block, which its FADT points at), or `None`.
///
/// `console`: the partition's ramoops region (console ring and crash
/// records, at the top of one of its ranges), or `None`: its address, length,
/// `record_size`, `console_size` and `pmsg_size` go in the header (all zero
/// for none), so that the module lays out the same zones as the partition's
/// kernel.
///
/// `segments` are `(dest, data)` pairs, in the order the module will copy
/// them. The caller is responsible for a valid image (1 to
/// [`MAX_SEGMENTS`](mint_logic::load_image::MAX_SEGMENTS) non-empty segments, total at
/// most [`MAX_TOTAL_LEN`](mint_logic::load_image::MAX_TOTAL_LEN));
/// use [`check`] to verify the result exactly as the module will.
pub fn encode(
    entry: u64,
    boot_params: u64,
    entry_64: bool,
    status_page: Option<u64>,
    console: Option<&Layout>,
    segments: &[(u64, &[u8])],
) -> Vec<u8> {
    let data_len: usize = segments.iter().map(|(_, d)| d.len()).sum();
    let total = HEADER_LEN + segments.len() * SEGMENT_DESC_LEN + data_len;
    let mut blob = vec![0u8; HEADER_LEN];
    blob[OFF_MAGIC..OFF_MAGIC + MAGIC.len()].copy_from_slice(&MAGIC);
    blob[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&VERSION.to_le_bytes());
    // Saturate rather than truncate: an oversized count is then refused by the module.
    let count = u32::try_from(segments.len()).unwrap_or(u32::MAX);
    blob[OFF_COUNT..OFF_COUNT + 4].copy_from_slice(&count.to_le_bytes());
    blob[OFF_ENTRY..OFF_ENTRY + 8].copy_from_slice(&entry.to_le_bytes());
    blob[OFF_BOOT_PARAMS..OFF_BOOT_PARAMS + 8].copy_from_slice(&boot_params.to_le_bytes());
    blob[OFF_TOTAL_LEN..OFF_TOTAL_LEN + 8].copy_from_slice(&(total as u64).to_le_bytes());
    if entry_64 {
        blob[OFF_FLAGS..OFF_FLAGS + 4].copy_from_slice(&FLAG_ENTRY_64.to_le_bytes());
    }
    let status_page = status_page.unwrap_or(0);
    blob[OFF_STATUS_PAGE..OFF_STATUS_PAGE + 8].copy_from_slice(&status_page.to_le_bytes());
    if let Some(c) = console {
        let region = c.region();
        blob[OFF_CONSOLE..OFF_CONSOLE + 8].copy_from_slice(&region.start.to_le_bytes());
        for (off, v) in [
            (OFF_CONSOLE_LEN, region.end - region.start),
            (OFF_RECORD_SIZE, c.record_size()),
            (OFF_CONSOLE_SIZE, c.console_size()),
            (OFF_PMSG_SIZE, c.pmsg_size()),
        ] {
            // A Layout keeps every size within 1 GiB; saturate rather than
            // truncate all the same, so that the module refuses it.
            let v = u32::try_from(v).unwrap_or(u32::MAX);
            blob[off..off + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
    blob.reserve_exact(total - HEADER_LEN);
    for (dest, data) in segments {
        blob.extend_from_slice(&dest.to_le_bytes());
        blob.extend_from_slice(&(data.len() as u64).to_le_bytes());
    }
    for (_, data) in segments {
        blob.extend_from_slice(data);
    }
    debug_assert_eq!(blob.len(), total);
    blob
}

/// Checks an encoded blob with the module's own parser and validator
/// against the partition's memory `ranges`, so that `mint-kexec` reports a
/// bad image before writing it.
pub fn check(
    blob: &[u8],
    ranges: &[mint_logic::memrange::MemRange],
) -> Result<(), mint_logic::load_image::LoadImageError> {
    mint_logic::load_image::parse(blob)?.validate_within(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mint_logic::load_image::{parse, total_len_from_prefix, LoadImageError, MAX_SEGMENTS};
    use mint_logic::memrange::MemRange;
    use mint_logic::ramoops::Layout;

    /// Little-endian fields read at literal offsets (the v5 header as the
    /// format documents it), not through the logic crate's `OFF_*` constants.
    fn le(b: &[u8], off: usize, len: usize) -> u64 {
        b[off..off + len]
            .iter()
            .rev()
            .fold(0, |acc, &x| acc << 8 | u64::from(x))
    }

    #[test]
    fn roundtrip_through_module_parser() {
        let zp = vec![0x5au8; 4096];
        let cmdline = b"console=ttyS0\0".to_vec();
        let kernel: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let segs: [(u64, &[u8]); 3] = [
            (0x4000_1000, &zp),
            (0x4000_2000, &cmdline),
            (0x4100_0000, &kernel),
        ];
        let blob = encode(
            0x4100_0000,
            0x4000_1000,
            false,
            Some(0x4001_f000),
            None,
            &segs,
        );
        assert_eq!(&blob[..8], b"MINTLOAD");
        assert_eq!(&blob[8..12], &[5, 0, 0, 0], "version 5");
        assert_eq!(
            total_len_from_prefix(&blob[..HEADER_LEN]),
            Some(Ok(blob.len() as u64))
        );
        let img = parse(&blob).unwrap();
        assert_eq!(img.entry(), 0x4100_0000);
        assert_eq!(img.boot_params(), 0x4000_1000);
        assert_eq!(img.segment_count(), 3);
        assert_eq!(img.status_page(), Some(0x4001_f000));
        assert!(!img.entry_64());
        let back: Vec<(u64, &[u8])> = img.segments().collect();
        assert_eq!(back, segs);
        let window = MemRange {
            start: 0x4000_0000,
            size: 0x1000_0000,
        };
        assert_eq!(check(&blob, &[window]), Ok(()));
        let small = MemRange {
            start: 0x4000_0000,
            size: 0x100_0000,
        };
        assert_eq!(
            check(&blob, &[small]),
            Err(LoadImageError::OutsideMemory { index: 2 })
        );
        // The kernel in a second range is fine.
        let second = MemRange {
            start: 0x4100_0000,
            size: 0x20_0000,
        };
        assert_eq!(check(&blob, &[small, second]), Ok(()));
        // No status page; and one outside the window.
        let none = encode(0x4100_0000, 0x4000_1000, false, None, None, &segs);
        assert_eq!(parse(&none).unwrap().status_page(), None);
        assert_eq!(&none[56..64], &[0; 8]);
        // No console region: all its fields zero.
        assert_eq!(parse(&blob).unwrap().console(), None);
        assert_eq!(&blob[64..88], &[0; 24]);
        assert_eq!(check(&none, &[window]), Ok(()));
        let outside = encode(
            0x4100_0000,
            0x4000_1000,
            false,
            Some(0x5000_0000),
            None,
            &segs,
        );
        assert_eq!(
            check(&outside, &[window]),
            Err(LoadImageError::StatusPageOutside)
        );
        let unaligned = encode(
            0x4100_0000,
            0x4000_1000,
            false,
            Some(0x4001_f001),
            None,
            &segs,
        );
        assert_eq!(parse(&unaligned), Err(LoadImageError::BadStatusPage));
    }

    #[test]
    fn roundtrip_with_the_64_bit_entry_above_4g() {
        let zp = vec![0u8; 4096];
        let kernel = vec![0x90u8; 8192];
        // Zero page and kernel in 2G@0x140000000; the bzImage's 64-bit entry
        // at load + 0x200.
        let segs: [(u64, &[u8]); 2] = [(0x1_4000_0000, &zp), (0x1_4020_0000, &kernel)];
        let blob = encode(
            0x1_4020_0200,
            0x1_4000_0000,
            true,
            Some(0x1_4001_1000),
            None,
            &segs,
        );
        assert_eq!(le(&blob, 40, 4), 1, "flags: FLAG_ENTRY_64");
        assert_eq!(le(&blob, 48, 8), 0, "page_table: reserved");
        let img = parse(&blob).unwrap();
        assert!(img.entry_64());
        assert_eq!(img.entry(), 0x1_4020_0200);
        assert_eq!(img.status_page(), Some(0x1_4001_1000));
        let mem = MemRange {
            start: 0x1_4000_0000,
            size: 2 << 30,
        };
        assert_eq!(check(&blob, &[mem]), Ok(()));
        // The same without the flag: out of the 32-bit entry's reach.
        let blob = encode(
            0x1_4020_0000,
            0x1_4000_0000,
            false,
            Some(0x1_4001_1000),
            None,
            &segs,
        );
        assert_eq!(check(&blob, &[mem]), Err(LoadImageError::Above4G));
    }

    #[test]
    fn invalid_inputs_are_caught_by_the_parser() {
        assert_eq!(
            parse(&encode(0, 0, false, None, None, &[])),
            Err(LoadImageError::BadSegmentCount)
        );
        let one: &[u8] = &[1];
        let many = vec![(0u64, one); MAX_SEGMENTS as usize + 1];
        assert_eq!(
            parse(&encode(0, 0, false, None, None, &many)),
            Err(LoadImageError::BadSegmentCount)
        );
        assert_eq!(
            parse(&encode(0, 0, false, None, None, &[(0, &[])])),
            Err(LoadImageError::EmptySegment { index: 0 })
        );
    }

    #[test]
    fn v5_header_decoded_independently() {
        let zp = vec![0u8; 4096];
        let cmdline = vec![b'x'; 100];
        let kernel = vec![0x90u8; 8192];
        let segs: [(u64, &[u8]); 3] = [
            (0x2000_0000, &zp),
            (0x2000_a000, &cmdline),
            (0x2020_0000, &kernel),
        ];
        // The top MiB of a 256 MiB window.
        let layout = Layout::for_region(0x2ff0_0000, 0x10_0000).unwrap();
        let blob = encode(
            0x2020_0200,
            0x2000_0000,
            true,
            Some(0x2000_f000),
            Some(&layout),
            &segs,
        );
        assert_eq!(&blob[0..8], b"MINTLOAD");
        assert_eq!(le(&blob, 8, 4), 5, "version");
        assert_eq!(le(&blob, 12, 4), 3, "count");
        assert_eq!(le(&blob, 16, 8), 0x2020_0200, "entry");
        assert_eq!(le(&blob, 24, 8), 0x2000_0000, "boot_params");
        assert_eq!(le(&blob, 32, 8), blob.len() as u64, "total_len");
        assert_eq!(le(&blob, 40, 4), 1, "flags: FLAG_ENTRY_64");
        assert_eq!(le(&blob, 44, 4), 0, "reserved");
        assert_eq!(le(&blob, 48, 8), 0, "page_table: reserved");
        assert_eq!(le(&blob, 56, 8), 0x2000_f000, "status_page");
        assert_eq!(le(&blob, 64, 8), 0x2ff0_0000, "console");
        assert_eq!(le(&blob, 72, 4), 0x10_0000, "console_len");
        assert_eq!(le(&blob, 76, 4), 0x1_0000, "record_size");
        assert_eq!(le(&blob, 80, 4), 0x8_0000, "console_size");
        assert_eq!(le(&blob, 84, 4), 0x1_0000, "pmsg_size");
        // The segment table starts at 88, the data after it.
        assert_eq!(le(&blob, 88, 8), 0x2000_0000);
        assert_eq!(le(&blob, 96, 8), 4096);
        assert_eq!(le(&blob, 88 + 32, 8), 0x2020_0000);
        assert_eq!(le(&blob, 88 + 40, 8), 8192);
        assert_eq!(blob.len(), 88 + 3 * 16 + 4096 + 100 + 8192);
        // The 32-bit entry: flags 0.
        let b32 = encode(0x2020_0000, 0x2000_0000, false, None, None, &segs);
        assert_eq!(le(&b32, 40, 4), 0, "flags");
        assert_eq!(le(&b32, 48, 8), 0, "page_table");
        // The module's parser reads the same region and accepts the image.
        assert_eq!(parse(&blob).unwrap().console(), Some(layout));
        let window = MemRange {
            start: 0x2000_0000,
            size: 0x1000_0000,
        };
        assert_eq!(check(&blob, &[window]), Ok(()));
        // A region over a segment, or past the window, is refused.
        let low = Layout::for_region(0x2020_0000, 0x10_0000).unwrap();
        let over = encode(
            0x2020_0000,
            0x2000_0000,
            false,
            Some(0x2000_f000),
            Some(&low),
            &segs,
        );
        assert_eq!(check(&over, &[window]), Err(LoadImageError::ConsoleOverlap));
        let high = Layout::for_region(0x3000_0000, 0x10_0000).unwrap();
        let past = encode(
            0x2020_0000,
            0x2000_0000,
            false,
            Some(0x2000_f000),
            Some(&high),
            &segs,
        );
        assert_eq!(check(&past, &[window]), Err(LoadImageError::ConsoleOutside));
        // ... unless a second range holds it.
        let next = MemRange {
            start: 0x3000_0000,
            size: 0x10_0000,
        };
        assert_eq!(check(&past, &[window, next]), Ok(()));
        // And a region without a status page.
        let top = Layout::for_region(0x2ff0_0000, 0x10_0000).unwrap();
        let unwatched = encode(0x2020_0000, 0x2000_0000, false, None, Some(&top), &segs);
        assert_eq!(
            check(&unwatched, &[window]),
            Err(LoadImageError::ConsoleWithoutStatusPage)
        );
    }
}
