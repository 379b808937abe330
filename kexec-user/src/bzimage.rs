//! Parse and validate an x86 bzImage (Linux boot protocol,
//! `Documentation/arch/x86/boot.rst`).
//!
//! Only what mint needs to boot a 64-bit relocatable kernel through the
//! 32-bit boot protocol entry is accepted: boot protocol 2.12 or newer,
//! `XLF_KERNEL_64` set and `relocatable_kernel` set. The parsed [`BzImage`]
//! borrows the file's bytes and exposes the setup header (raw bytes and
//! decoded fields) and the protected-mode payload that gets loaded at the
//! kernel load address.

use std::ops::Range;

use linux_loader::loader::bootparam::{setup_header, XLF_CAN_BE_LOADED_ABOVE_4G, XLF_KERNEL_64};
use vm_memory::ByteValued;

/// File offset of the setup header (`struct setup_header`, boot_params.hdr).
pub const SETUP_HEADER_OFFSET: usize = 0x1f1;
/// File offset of the byte whose value plus 0x202 is the end of the setup header
/// (the operand of the short jump at 0x200).
pub const SETUP_HEADER_END_BYTE: usize = 0x201;
/// Base that the byte at [`SETUP_HEADER_END_BYTE`] is added to.
pub const SETUP_HEADER_END_BASE: usize = 0x202;
/// File offset of `boot_flag`, which must be [`BOOT_FLAG`].
pub const BOOT_FLAG_OFFSET: usize = 0x1fe;
/// Required value of `boot_flag`.
pub const BOOT_FLAG: u16 = 0xaa55;
/// File offset of the `header` magic, which must be [`HDRS_MAGIC`].
pub const HDRS_OFFSET: usize = 0x202;
/// `"HdrS"` read as a little-endian u32.
pub const HDRS_MAGIC: u32 = 0x5372_6448;
/// File offset of the boot protocol `version` (u16).
pub const VERSION_OFFSET: usize = 0x206;
/// Oldest boot protocol accepted (2.12: `xloadflags`).
pub const MIN_PROTOCOL: u16 = 0x020c;
/// The header must reach at least past `init_size` (0x260..0x264).
pub const MIN_SETUP_HEADER_END: usize = 0x264;
/// The header may not run into `edd_mbr_sig_buffer` (0x290) of the zero page.
pub const MAX_SETUP_HEADER_END: usize = 0x290;
/// Bytes the file must have before anything else can be checked:
/// everything up to and including the protocol version.
pub const MIN_FILE_LEN: usize = VERSION_OFFSET + 2;
/// Smallest `kernel_alignment` accepted (one page).
pub const MIN_KERNEL_ALIGNMENT: u64 = 0x1000;
/// Sector size used by `setup_sects`.
const SECTOR_SIZE: usize = 512;

/// Why a file is not a bootable bzImage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BzImageError {
    /// No `0xAA55` boot flag at 0x1FE or no `"HdrS"` magic at 0x202.
    #[error(
        "not a bzImage: boot_flag 0x{boot_flag:04x} at 0x1fe (want 0xaa55), \
         header magic 0x{magic:08x} at 0x202 (want 0x53726448 \"HdrS\")"
    )]
    NotBzImage {
        /// Value found at 0x1FE.
        boot_flag: u16,
        /// Value found at 0x202.
        magic: u32,
    },
    /// The file ends before something the header says is there.
    #[error("bzImage truncated: file is 0x{len:x} bytes but the {what} needs 0x{needed:x}")]
    Truncated {
        /// File length.
        len: u64,
        /// Length the file would need.
        needed: u64,
        /// What needs those bytes.
        what: &'static str,
    },
    /// Boot protocol older than 2.12.
    #[error(
        "boot protocol 0x{version:04x} too old: need 0x{:04x} (2.12) or newer",
        MIN_PROTOCOL
    )]
    OldProtocol {
        /// Protocol version found at 0x206.
        version: u16,
    },
    /// The setup header end (0x202 + byte at 0x201) is implausible.
    #[error(
        "setup header claims to end at 0x{end:x}, outside 0x{:x}..=0x{:x}",
        MIN_SETUP_HEADER_END,
        MAX_SETUP_HEADER_END
    )]
    BadHeaderLength {
        /// Claimed end offset of the setup header.
        end: u64,
    },
    /// `xloadflags` lacks `XLF_KERNEL_64`.
    #[error(
        "kernel is not 64-bit capable: xloadflags 0x{xloadflags:04x} lacks XLF_KERNEL_64 (0x1)"
    )]
    Not64Bit {
        /// Value of `xloadflags`.
        xloadflags: u16,
    },
    /// `relocatable_kernel` is 0.
    #[error("kernel is not relocatable: relocatable_kernel is {relocatable_kernel}")]
    NotRelocatable {
        /// Value of `relocatable_kernel`.
        relocatable_kernel: u8,
    },
    /// `kernel_alignment` is not a power of two of at least one page.
    #[error("bad kernel_alignment 0x{alignment:x}: need a power of two >= 0x1000")]
    BadAlignment {
        /// Value of `kernel_alignment`.
        alignment: u32,
    },
    /// `init_size` cannot even hold the protected-mode payload.
    #[error("init_size 0x{init_size:x} is smaller than the 0x{payload_len:x}-byte protected-mode payload")]
    InitSizeTooSmall {
        /// Value of `init_size`.
        init_size: u32,
        /// Length of the protected-mode payload.
        payload_len: u64,
    },
}

/// A validated bzImage, borrowing the file's bytes.
#[derive(Debug, Clone)]
pub struct BzImage<'a> {
    data: &'a [u8],
    header: setup_header,
    header_range: Range<usize>,
    setup_sects: u32,
    payload_offset: usize,
}

fn le16(data: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([data[off], data[off + 1]])
}

fn le32(data: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([data[off], data[off + 1], data[off + 2], data[off + 3]])
}

impl<'a> BzImage<'a> {
    /// Parses and validates `data`, the whole bzImage file.
    pub fn parse(data: &'a [u8]) -> Result<Self, BzImageError> {
        let len = data.len();
        let truncated = |needed: usize, what| BzImageError::Truncated {
            len: len as u64,
            needed: needed as u64,
            what,
        };
        if len < MIN_FILE_LEN {
            return Err(truncated(MIN_FILE_LEN, "setup header magic and version"));
        }
        let boot_flag = le16(data, BOOT_FLAG_OFFSET);
        let magic = le32(data, HDRS_OFFSET);
        if boot_flag != BOOT_FLAG || magic != HDRS_MAGIC {
            return Err(BzImageError::NotBzImage { boot_flag, magic });
        }
        let version = le16(data, VERSION_OFFSET);
        if version < MIN_PROTOCOL {
            return Err(BzImageError::OldProtocol { version });
        }
        let header_end = SETUP_HEADER_END_BASE + usize::from(data[SETUP_HEADER_END_BYTE]);
        if !(MIN_SETUP_HEADER_END..=MAX_SETUP_HEADER_END).contains(&header_end) {
            return Err(BzImageError::BadHeaderLength {
                end: header_end as u64,
            });
        }
        if len < header_end {
            return Err(truncated(header_end, "setup header"));
        }

        // Decode with linux-loader's layout; fields past the header's end stay 0.
        let mut raw = [0u8; std::mem::size_of::<setup_header>()];
        let n = (header_end - SETUP_HEADER_OFFSET).min(raw.len());
        raw[..n].copy_from_slice(&data[SETUP_HEADER_OFFSET..SETUP_HEADER_OFFSET + n]);
        let header = *setup_header::from_slice(&raw).expect("buffer has the size of setup_header");

        let xloadflags = header.xloadflags;
        if xloadflags & XLF_KERNEL_64 == 0 {
            return Err(BzImageError::Not64Bit { xloadflags });
        }
        let relocatable_kernel = header.relocatable_kernel;
        if relocatable_kernel == 0 {
            return Err(BzImageError::NotRelocatable { relocatable_kernel });
        }
        let alignment = header.kernel_alignment;
        if !alignment.is_power_of_two() || u64::from(alignment) < MIN_KERNEL_ALIGNMENT {
            return Err(BzImageError::BadAlignment { alignment });
        }

        let setup_sects = match header.setup_sects {
            0 => 4,
            n => u32::from(n),
        };
        let payload_offset = (setup_sects as usize + 1) * SECTOR_SIZE;
        // syssize: protected-mode size in 16-byte paragraphs (32 bits since
        // 2.04). At least one byte is needed even if syssize is 0.
        let needed =
            (payload_offset as u64 + u64::from(header.syssize) * 16).max(payload_offset as u64 + 1);
        if (len as u64) < needed {
            return Err(BzImageError::Truncated {
                len: len as u64,
                needed,
                what: "protected-mode kernel (setup_sects, syssize)",
            });
        }
        let payload_len = (len - payload_offset) as u64;
        let init_size = header.init_size;
        if u64::from(init_size) < payload_len {
            return Err(BzImageError::InitSizeTooSmall {
                init_size,
                payload_len,
            });
        }

        Ok(Self {
            data,
            header,
            header_range: SETUP_HEADER_OFFSET..header_end,
            setup_sects,
            payload_offset,
        })
    }

    /// The whole file.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The decoded setup header (linux-loader layout). Fields past the
    /// image's header end read as 0.
    pub fn header(&self) -> &setup_header {
        &self.header
    }

    /// File range of the setup header: 0x1F1 .. 0x202 + byte at 0x201. The same
    /// range is copied to the same offsets of the zero page.
    pub fn setup_header_range(&self) -> Range<usize> {
        self.header_range.clone()
    }

    /// The setup header bytes exactly as in the file.
    pub fn setup_header_bytes(&self) -> &'a [u8] {
        &self.data[self.header_range.clone()]
    }

    /// Number of real-mode setup sectors (`setup_sects`, 0 read as 4).
    pub fn setup_sects(&self) -> u32 {
        self.setup_sects
    }

    /// File offset of the protected-mode kernel: `(setup_sects + 1) * 512`.
    pub fn payload_offset(&self) -> usize {
        self.payload_offset
    }

    /// The protected-mode kernel: from [`Self::payload_offset`] to the end of the file.
    pub fn payload(&self) -> &'a [u8] {
        &self.data[self.payload_offset..]
    }

    /// Length of [`Self::payload`] in bytes.
    pub fn payload_len(&self) -> u64 {
        (self.data.len() - self.payload_offset) as u64
    }

    /// Boot protocol version (e.g. 0x020f for 2.15).
    pub fn protocol(&self) -> u16 {
        self.header.version
    }

    /// `loadflags` as found in the image.
    pub fn loadflags(&self) -> u8 {
        self.header.loadflags
    }

    /// `xloadflags` as found in the image.
    pub fn xloadflags(&self) -> u16 {
        self.header.xloadflags
    }

    /// Whether `XLF_CAN_BE_LOADED_ABOVE_4G` is set (kernel, boot_params,
    /// command line and initrd may live above 4 GiB).
    pub fn can_load_above_4g(&self) -> bool {
        self.header.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G != 0
    }

    /// Required physical alignment of the load address (a power of two, at least 4 KiB).
    pub fn kernel_alignment(&self) -> u64 {
        u64::from(self.header.kernel_alignment)
    }

    /// Bytes of memory, starting at the load address, the kernel needs to
    /// decompress and run (always at least [`Self::payload_len`]).
    pub fn init_size(&self) -> u64 {
        u64::from(self.header.init_size)
    }

    /// Largest command line the kernel accepts (`cmdline_size`).
    pub fn cmdline_size(&self) -> u64 {
        u64::from(self.header.cmdline_size)
    }

    /// Highest address the initrd may occupy, inclusive (`initrd_addr_max`).
    pub fn initrd_addr_max(&self) -> u64 {
        u64::from(self.header.initrd_addr_max)
    }

    /// Preferred load address (`pref_address`); the kernel is relocatable, so
    /// other suitably aligned addresses work too.
    pub fn pref_address(&self) -> u64 {
        self.header.pref_address
    }
}

/// Helpers shared by the unit tests of this crate: synthetic images and the
/// real-image lookup.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    /// Parameters of a synthetic bzImage.
    #[derive(Debug, Clone)]
    pub struct Synth {
        pub setup_sects: u8,
        pub payload_len: usize,
        pub init_size: u32,
        pub version: u16,
        pub xloadflags: u16,
        pub relocatable: u8,
        pub kernel_alignment: u32,
        pub cmdline_size: u32,
        pub initrd_addr_max: u32,
        pub pref_address: u64,
        pub header_end_byte: u8,
    }

    impl Default for Synth {
        fn default() -> Self {
            Self {
                setup_sects: 3,
                payload_len: 0x3000,
                init_size: 0x10_0000,
                version: 0x020f,
                xloadflags: 0x1,
                relocatable: 1,
                kernel_alignment: 0x20_0000,
                cmdline_size: 2047,
                initrd_addr_max: 0x7fff_ffff,
                pref_address: 0x100_0000,
                header_end_byte: 0x6a,
            }
        }
    }

    impl Synth {
        /// Builds the file bytes.
        pub fn build(&self) -> Vec<u8> {
            let sects = if self.setup_sects == 0 {
                4
            } else {
                self.setup_sects as usize
            };
            let mut d = vec![0u8; (sects + 1) * 512 + self.payload_len];
            let put = |d: &mut Vec<u8>, off: usize, bytes: &[u8]| {
                d[off..off + bytes.len()].copy_from_slice(bytes)
            };
            put(&mut d, 0x1f1, &[self.setup_sects]);
            put(
                &mut d,
                0x1f4,
                &(self.payload_len.div_ceil(16) as u32).to_le_bytes(),
            );
            put(&mut d, 0x1fe, &0xaa55u16.to_le_bytes());
            put(&mut d, 0x200, &[0xeb, self.header_end_byte]);
            put(&mut d, 0x202, b"HdrS");
            put(&mut d, 0x206, &self.version.to_le_bytes());
            put(&mut d, 0x211, &[0x01]); // loadflags: LOADED_HIGH
            put(&mut d, 0x214, &0x10_0000u32.to_le_bytes()); // code32_start
            put(&mut d, 0x22c, &self.initrd_addr_max.to_le_bytes());
            put(&mut d, 0x230, &self.kernel_alignment.to_le_bytes());
            put(&mut d, 0x234, &[self.relocatable, 21]);
            put(&mut d, 0x236, &self.xloadflags.to_le_bytes());
            put(&mut d, 0x238, &self.cmdline_size.to_le_bytes());
            put(&mut d, 0x258, &self.pref_address.to_le_bytes());
            put(&mut d, 0x260, &self.init_size.to_le_bytes());
            // Mark the payload so tests can recognise it.
            let off = (sects + 1) * 512;
            for (i, b) in d[off..].iter_mut().enumerate() {
                *b = (i % 251) as u8;
            }
            d
        }
    }

    /// A valid synthetic image with default parameters.
    pub fn synth() -> Vec<u8> {
        Synth::default().build()
    }

    /// The real bzImage for the real-image tests: `$MINT_TEST_BZIMAGE`, else
    /// `../out/bzImage` from the crate. `None` (after a note) if absent, unless
    /// `MINT_REQUIRE_BZIMAGE=1`, in which case absence panics.
    pub fn real_image() -> Option<Vec<u8>> {
        let path = std::env::var_os("MINT_TEST_BZIMAGE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../out/bzImage"));
        match std::fs::read(&path) {
            Ok(d) => Some(d),
            Err(e) => {
                if std::env::var("MINT_REQUIRE_BZIMAGE").as_deref() == Ok("1") {
                    panic!(
                        "MINT_REQUIRE_BZIMAGE=1 but {} is unreadable: {e}",
                        path.display()
                    );
                }
                eprintln!(
                    "note: skipping real-bzImage test, {} unreadable: {e}",
                    path.display()
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{real_image, synth, Synth};
    use super::*;

    fn err(d: &[u8]) -> BzImageError {
        BzImage::parse(d).expect_err("image should be rejected")
    }

    #[test]
    fn parses_synthetic_image() {
        let d = synth();
        let img = BzImage::parse(&d).unwrap();
        assert_eq!(img.protocol(), 0x020f);
        assert_eq!(img.setup_sects(), 3);
        assert_eq!(img.payload_offset(), 4 * 512);
        assert_eq!(img.payload_len(), 0x3000);
        assert_eq!(img.payload(), &d[2048..]);
        assert_eq!(img.setup_header_range(), 0x1f1..0x26c);
        assert_eq!(img.setup_header_bytes(), &d[0x1f1..0x26c]);
        assert_eq!(img.kernel_alignment(), 0x20_0000);
        assert_eq!(img.init_size(), 0x10_0000);
        assert_eq!(img.cmdline_size(), 2047);
        assert_eq!(img.initrd_addr_max(), 0x7fff_ffff);
        assert_eq!(img.pref_address(), 0x100_0000);
        assert_eq!(img.loadflags(), 1);
        assert!(!img.can_load_above_4g());
        assert_eq!({ img.header().code32_start }, 0x10_0000);
    }

    #[test]
    fn setup_sects_zero_means_four() {
        let d = Synth {
            setup_sects: 0,
            ..Default::default()
        }
        .build();
        let img = BzImage::parse(&d).unwrap();
        assert_eq!(img.setup_sects(), 4);
        assert_eq!(img.payload_offset(), 5 * 512);
        assert_eq!(img.payload_len(), 0x3000);
    }

    #[test]
    fn header_range_follows_byte_0x201() {
        let d = Synth {
            header_end_byte: 0x66,
            ..Default::default()
        }
        .build();
        let img = BzImage::parse(&d).unwrap();
        assert_eq!(img.setup_header_range(), 0x1f1..0x268);
        assert_eq!({ img.header().kernel_info_offset }, 0);
        for bad in [0x61u8, 0x8f] {
            let d = Synth {
                header_end_byte: bad,
                ..Default::default()
            }
            .build();
            assert_eq!(
                err(&d),
                BzImageError::BadHeaderLength {
                    end: 0x202 + u64::from(bad)
                }
            );
        }
    }

    #[test]
    fn rejects_missing_magic_and_boot_flag() {
        let mut d = synth();
        d[0x202..0x206].copy_from_slice(b"XXXX");
        assert!(matches!(
            err(&d),
            BzImageError::NotBzImage {
                boot_flag: 0xaa55,
                ..
            }
        ));
        let mut d = synth();
        d[0x1fe] = 0;
        assert!(matches!(
            err(&d),
            BzImageError::NotBzImage {
                magic: HDRS_MAGIC,
                ..
            }
        ));
    }

    #[test]
    fn rejects_truncated() {
        let d = synth();
        for cut in [0usize, 0x100, 0x205] {
            assert!(matches!(
                err(&d[..cut]),
                BzImageError::Truncated { needed: 0x208, .. }
            ));
        }
        assert!(matches!(
            err(&d[..0x250]),
            BzImageError::Truncated { needed: 0x26c, .. }
        ));
        // Just after the header, exactly at the protected-mode start, and one
        // byte short of syssize.
        for cut in [0x26c, 2048, 2048 + 0x2fff] {
            assert!(matches!(
                err(&d[..cut]),
                BzImageError::Truncated { needed: 0x3800, .. }
            ));
        }
        // Extra bytes after the syssize payload (e.g. a signature) are kept.
        let mut longer = d.clone();
        longer.extend_from_slice(&[0; 100]);
        let img = BzImage::parse(&longer).unwrap();
        assert_eq!(img.payload_len(), 0x3000 + 100);
        // syssize 0: only "something after the setup sectors" is required.
        let mut d0 = d.clone();
        d0[0x1f4..0x1f8].fill(0);
        assert!(matches!(
            err(&d0[..2048]),
            BzImageError::Truncated { needed: 2049, .. }
        ));
        assert!(BzImage::parse(&d0[..2049]).is_ok());
    }

    #[test]
    fn rejects_old_protocol() {
        let d = Synth {
            version: 0x020b,
            ..Default::default()
        }
        .build();
        assert_eq!(err(&d), BzImageError::OldProtocol { version: 0x020b });
        let d = Synth {
            version: 0x020c,
            ..Default::default()
        }
        .build();
        assert!(BzImage::parse(&d).is_ok());
    }

    #[test]
    fn rejects_not_64bit() {
        let d = Synth {
            xloadflags: 0x2,
            ..Default::default()
        }
        .build();
        assert_eq!(err(&d), BzImageError::Not64Bit { xloadflags: 0x2 });
    }

    #[test]
    fn rejects_not_relocatable() {
        let d = Synth {
            relocatable: 0,
            ..Default::default()
        }
        .build();
        assert_eq!(
            err(&d),
            BzImageError::NotRelocatable {
                relocatable_kernel: 0
            }
        );
    }

    #[test]
    fn rejects_bad_alignment() {
        for alignment in [0u32, 0x800, 0x30_0000] {
            let d = Synth {
                kernel_alignment: alignment,
                ..Default::default()
            }
            .build();
            assert_eq!(err(&d), BzImageError::BadAlignment { alignment });
        }
    }

    #[test]
    fn rejects_small_init_size() {
        let d = Synth {
            init_size: 0x2fff,
            ..Default::default()
        }
        .build();
        assert_eq!(
            err(&d),
            BzImageError::InitSizeTooSmall {
                init_size: 0x2fff,
                payload_len: 0x3000
            }
        );
    }

    #[test]
    fn error_messages_name_numbers() {
        let d = Synth {
            version: 0x020b,
            ..Default::default()
        }
        .build();
        assert_eq!(
            err(&d).to_string(),
            "boot protocol 0x020b too old: need 0x020c (2.12) or newer"
        );
        assert_eq!(
            err(&d[..0x100]).to_string(),
            "bzImage truncated: file is 0x100 bytes but the setup header magic and version needs 0x208"
        );
    }

    #[test]
    fn real_image_parses() {
        let Some(d) = real_image() else { return };
        let img = BzImage::parse(&d).expect("real bzImage parses");
        assert!(img.protocol() >= 0x020f, "protocol 0x{:x}", img.protocol());
        assert!(img.xloadflags() & XLF_KERNEL_64 != 0);
        assert!({ img.header().relocatable_kernel } != 0);
        assert!(img.init_size() > img.payload_len());
        assert!(img.kernel_alignment() >= 0x20_0000);
        assert!(img.cmdline_size() >= 255);
        assert_eq!(img.setup_header_range().start, 0x1f1);
        assert_eq!(img.payload_offset() % 512, 0);
        assert_eq!(
            img.payload_offset() as u64 + img.payload_len(),
            d.len() as u64
        );
    }

    #[test]
    fn real_image_truncations_rejected() {
        let Some(d) = real_image() else { return };
        let pm = BzImage::parse(&d).unwrap().payload_offset();
        for cut in [0x100, 0x250, pm, d.len() / 2] {
            let e = err(&d[..cut]);
            assert!(
                matches!(e, BzImageError::Truncated { .. }),
                "cut 0x{cut:x}: {e}"
            );
        }
    }

    #[test]
    fn real_image_corruptions_rejected() {
        let Some(d) = real_image() else { return };
        let mut c = d.clone();
        c[0x202..0x206].fill(0);
        assert!(matches!(err(&c), BzImageError::NotBzImage { .. }));
        let mut c = d.clone();
        c[0x206..0x208].copy_from_slice(&0x020bu16.to_le_bytes());
        assert_eq!(err(&c), BzImageError::OldProtocol { version: 0x020b });
        let mut c = d.clone();
        c[0x236..0x238].fill(0);
        assert_eq!(err(&c), BzImageError::Not64Bit { xloadflags: 0 });
    }
}
