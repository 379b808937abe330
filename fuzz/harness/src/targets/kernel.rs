//! The kernel image parsers of `mint-kexec`: the bzImage setup header, the
//! LZ4 payload decompressor and the vmlinux ELF segment reader.

use mint_kexec::bzimage::{BzImage, BzImageError};
use mint_kexec::vmlinux::{self, VmlinuxError, LZ4_LEGACY_MAGIC, SEGMENT_ALIGN};

use crate::input::Reader;

/// The little-endian field of `n` bytes at `off` as the bzImage parser
/// must decode it: bytes at or past `end` (the setup header's end) read as 0.
fn field(data: &[u8], off: usize, n: usize, end: usize) -> u64 {
    (0..n).rev().fold(0u64, |acc, i| {
        let b = if off + i < end {
            data.get(off + i).copied().unwrap_or(0)
        } else {
            0
        };
        acc << 8 | u64::from(b)
    })
}

/// Where `part` lies in `whole`, if it is a subslice of it.
pub(crate) fn offset_in(whole: &[u8], part: &[u8]) -> Option<usize> {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    (p >= w && p + part.len() <= w + whole.len()).then(|| p - w)
}

/// `BzImage::parse`: an accepted image's decoded fields are the bytes of
/// its setup header, its payload is the rest of the file after the setup
/// sectors, and it meets the documented requirements (protocol, 64-bit,
/// relocatable, alignment, `init_size` covering the payload, `syssize`
/// inside the file); the compressed payload the header points at lies
/// inside the payload. Refusals describe the file as it is.
pub fn bzimage(data: &[u8]) {
    let img = match BzImage::parse(data) {
        Ok(img) => img,
        Err(e) => {
            check_refusal(data, &e);
            return;
        }
    };
    let len = data.len();
    let end = 0x202 + usize::from(data[0x201]);
    assert_eq!(img.setup_header_range(), 0x1f1..end);
    assert!((0x264..=0x290).contains(&end));
    assert_eq!(img.setup_header_bytes(), &data[0x1f1..end]);
    let f = |off, n| field(data, off, n, end);
    assert_eq!(u64::from(img.protocol()), f(0x206, 2));
    assert!(img.protocol() >= 0x020c);
    let sects = match data[0x1f1] {
        0 => 4,
        n => u32::from(n),
    };
    assert_eq!(img.setup_sects(), sects);
    assert_eq!(img.payload_offset(), (sects as usize + 1) * 512);
    assert!(img.payload_offset() < len);
    assert_eq!(img.payload(), &data[img.payload_offset()..]);
    assert_eq!(img.payload_len(), (len - img.payload_offset()) as u64);
    assert!(
        f(0x1f4, 4) * 16 <= img.payload_len(),
        "syssize past the end"
    );
    assert_eq!(img.init_size(), f(0x260, 4));
    assert!(img.init_size() >= img.payload_len());
    assert_eq!(img.kernel_alignment(), f(0x230, 4));
    assert!(img.kernel_alignment().is_power_of_two() && img.kernel_alignment() >= 0x1000);
    assert_eq!(u64::from(img.xloadflags()), f(0x236, 2));
    assert!(img.xloadflags() & 1 != 0);
    assert_ne!(f(0x234, 1), 0, "relocatable_kernel");
    assert_eq!(u64::from(img.loadflags()), f(0x211, 1));
    assert_eq!(img.can_load_above_4g(), img.xloadflags() & 2 != 0);
    assert_eq!(img.cmdline_size(), f(0x238, 4));
    assert_eq!(img.initrd_addr_max(), f(0x22c, 4));
    assert_eq!(img.pref_address(), f(0x258, 8));
    assert_eq!(img.data().len(), len);

    let (off, plen) = (f(0x248, 4), f(0x24c, 4));
    match vmlinux::compressed_payload(&img) {
        Ok(p) => {
            assert!(off + plen <= img.payload_len());
            assert_eq!(offset_in(img.payload(), p), Some(off as usize));
            assert_eq!(p.len() as u64, plen);
        }
        Err(VmlinuxError::PayloadOutside {
            offset,
            length,
            available,
        }) => {
            assert_eq!((offset, length, available), (off, plen, img.payload_len()));
            assert!(off + plen > img.payload_len());
        }
        Err(e) => panic!("compressed_payload: unexpected {e:?}"),
    }
}

fn check_refusal(data: &[u8], e: &BzImageError) {
    let msg = e.to_string();
    assert!(!msg.is_empty() && !msg.contains('\n'));
    match *e {
        BzImageError::Truncated { len, needed, .. } => {
            assert_eq!(len, data.len() as u64);
            assert!(needed > len, "{e:?}");
        }
        BzImageError::NotBzImage { boot_flag, magic } => {
            assert_eq!(u64::from(boot_flag), field(data, 0x1fe, 2, usize::MAX));
            assert_eq!(u64::from(magic), field(data, 0x202, 4, usize::MAX));
            assert!(boot_flag != 0xaa55 || magic != 0x5372_6448);
        }
        BzImageError::OldProtocol { version } => assert!(version < 0x020c),
        BzImageError::BadHeaderLength { end } => assert!(!(0x264..=0x290).contains(&end)),
        BzImageError::Not64Bit { xloadflags } => assert_eq!(xloadflags & 1, 0),
        BzImageError::NotRelocatable { relocatable_kernel } => assert_eq!(relocatable_kernel, 0),
        BzImageError::BadAlignment { alignment } => {
            assert!(!alignment.is_power_of_two() || alignment < 0x1000)
        }
        BzImageError::InitSizeTooSmall {
            init_size,
            payload_len,
        } => {
            assert!(u64::from(init_size) < payload_len)
        }
    }
}

/// An `lz4 -l` stream of `plain` (one chunk per 8 MiB) with its size
/// trailer, as the kernel build makes it.
pub(crate) fn lz4_legacy(plain: &[u8]) -> Vec<u8> {
    let mut v = LZ4_LEGACY_MAGIC.to_le_bytes().to_vec();
    for chunk in plain.chunks(vmlinux::LZ4_LEGACY_CHUNK) {
        let block = lz4_flex::block::compress(chunk);
        v.extend_from_slice(&(block.len() as u32).to_le_bytes());
        v.extend_from_slice(&block);
    }
    v.extend_from_slice(&(plain.len() as u32).to_le_bytes());
    v
}

/// `decompress_payload`. Raw mode (first byte even): whatever it accepts
/// has exactly the announced length, within the limit. Round-trip mode (odd):
/// a stream compressed from the input's bytes, with an optional end marker
/// or short tail, decompresses to those bytes, and a trailer one off is
/// refused.
pub fn kernel_lz4(data: &[u8]) {
    let mut r = Reader::new(data);
    let mode = r.u8();
    let limit = u64::from(r.u32());
    if mode & 1 == 0 {
        let payload = r.rest();
        let got = vmlinux::decompress_payload(payload, limit);
        let lz4 = payload.len() >= 8 && payload.starts_with(&LZ4_LEGACY_MAGIC.to_le_bytes());
        match &got {
            Ok(out) => {
                let trailer = trailer_of(payload);
                assert!(lz4);
                assert_eq!(out.len() as u64, trailer);
                assert!(trailer <= limit.min(vmlinux::MAX_DECOMPRESSED));
                assert!(trailer <= (payload.len() as u64 - 4) * vmlinux::LZ4_MAX_RATIO);
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.is_empty() && !msg.contains('\n'), "{msg:?}");
            }
        }
        // The output buffer is sized by the trailer: one the stream cannot
        // fill must be refused before anything is allocated.
        if lz4 {
            let trailer = trailer_of(payload);
            let stream = payload.len() as u64 - 4;
            if trailer <= limit.min(vmlinux::MAX_DECOMPRESSED)
                && trailer > stream * vmlinux::LZ4_MAX_RATIO
            {
                assert!(
                    matches!(got, Err(VmlinuxError::ImplausibleSize { .. })),
                    "a trailer of {trailer:#x} for {stream:#x} bytes of LZ4 reached the decoder"
                );
            }
        }
        return;
    }
    let tail = r.u8();
    let plain = r.rest();
    let mut p = lz4_legacy(plain);
    let trailer = p.split_off(p.len() - 4);
    match tail % 3 {
        0 => {}
        1 => p.extend_from_slice(&[0, 0, 0, 0, tail]), // end marker, then junk
        _ => p.extend_from_slice(&[tail; 3]),          // fewer than 4 bytes: ignored
    }
    let with = |len: u64| {
        let mut q = p.clone();
        q.extend_from_slice(&(len as u32).to_le_bytes());
        vmlinux::decompress_payload(&q, u64::MAX)
    };
    let n = u64::from(u32::from_le_bytes(trailer.try_into().unwrap()));
    assert_eq!(
        with(n).as_deref(),
        Ok(plain),
        "round trip of {} bytes",
        plain.len()
    );
    assert!(with(n + 1).is_err());
    if n > 0 {
        assert!(with(n - 1).is_err());
    }
}

/// The size trailer: the last 4 bytes, little-endian.
fn trailer_of(payload: &[u8]) -> u64 {
    field(payload, payload.len() - 4, 4, usize::MAX)
}

/// One ELF program header, as the model reads it.
struct Phdr {
    ty: u32,
    offset: u64,
    paddr: u64,
    filesz: u64,
    memsz: u64,
}

fn phdrs(elf: &[u8]) -> Vec<Phdr> {
    let u = |d: &[u8], o: usize, n: usize| field(d, o, n, usize::MAX);
    let (phoff, phnum) = (u(elf, 32, 8) as usize, u(elf, 56, 2) as usize);
    (0..phnum)
        .filter_map(|i| elf.get(phoff + i * 56..phoff + i * 56 + 56))
        .map(|p| Phdr {
            ty: u(p, 0, 4) as u32,
            offset: u(p, 8, 8),
            paddr: u(p, 24, 8),
            filesz: u(p, 32, 8),
            memsz: u(p, 40, 8),
        })
        .collect()
}

/// `load_segments(elf, init_size)`: what it accepts is one segment per
/// `PT_LOAD`, in table order, each the file bytes its header names, at
/// `p_paddr - LOAD_PHYSICAL_ADDR`, sorted, not overlapping, inside
/// `init_size`, the first at offset 0 (2 MiB aligned base), the entry in
/// the first segment's file bytes.
pub fn vmlinux(data: &[u8]) {
    let mut r = Reader::new(data);
    let init_size = r.u64();
    let elf = r.rest();
    let v = match vmlinux::load_segments(elf, init_size) {
        Ok(v) => v,
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'), "{msg:?}");
            return;
        }
    };
    let loads: Vec<Phdr> = phdrs(elf).into_iter().filter(|p| p.ty == 1).collect();
    assert_eq!(v.segments.len(), loads.len());
    assert!(!loads.is_empty());
    let base = v.load_physical_addr;
    assert_eq!(base % SEGMENT_ALIGN, 0);
    assert_eq!(base, loads[0].paddr);
    assert_eq!(v.segments[0].offset, 0);
    let mut prev_end = 0u128;
    for (s, p) in v.segments.iter().zip(&loads) {
        assert_eq!(u128::from(s.offset), u128::from(p.paddr) - u128::from(base));
        assert_eq!(s.mem_len, p.memsz);
        assert_eq!(s.data.len() as u64, p.filesz);
        assert!(s.data.len() as u64 <= s.mem_len);
        assert_eq!(
            offset_in(elf, s.data),
            Some(p.offset as usize),
            "file bytes"
        );
        let start = u128::from(s.offset);
        let end = start + u128::from(s.mem_len);
        assert!(start >= prev_end, "segments overlap or are out of order");
        assert!(end <= u128::from(init_size), "segment past init_size");
        assert_eq!(s.mem_range(), s.offset..s.offset + s.mem_len);
        prev_end = end;
    }
    assert_eq!(u128::from(v.mem_end()), prev_end);
    assert_eq!(
        v.file_bytes(),
        v.segments.iter().map(|s| s.data.len() as u64).sum::<u64>()
    );
    assert!(v.entry_offset < v.segments[0].data.len() as u64);
    assert_eq!(
        field(elf, 24, 8, usize::MAX),
        base + v.entry_offset,
        "e_entry"
    );
}
