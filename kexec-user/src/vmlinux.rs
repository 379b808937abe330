//! Decompress a bzImage's kernel on the host and lay out its ELF segments,
//! so that the partition can enter the decompressed kernel directly through
//! the Linux 64-bit boot protocol (`mint-kexec load --decompress`).
//!
//! What the kernel's own decompressor does, and what this module mirrors
//! (Linux 6.12):
//!
//! * The bzImage's protected-mode code carries the compressed kernel at
//!   `payload_offset` (setup header 0x248, relative to the start of the
//!   protected-mode code), `payload_length` bytes long (0x24c;
//!   `header.S`: `ZO_input_data`, `ZO_z_input_len`).
//! * Those bytes are `vmlinux.bin.all` (`vmlinux.bin`, i.e. `objcopy -R
//!   .comment -S vmlinux`, followed by `vmlinux.relocs`) compressed, followed
//!   by the 4-byte little-endian length of `vmlinux.bin.all`
//!   (`arch/x86/boot/compressed/Makefile`, `scripts/Makefile.lib`:
//!   `cmd_lz4_with_size`, `size_append`). mint's kernel is built with
//!   `CONFIG_KERNEL_LZ4`, so the stream is `lz4 -l`, the LZ4 *legacy* format:
//!   the magic 0x184C2102, then chunks of { u32 compressed length, LZ4
//!   block }, every chunk 8 MiB decompressed except the last.
//! * `lib/decompress_unlz4.c` (`__decompress` in the PREBOOT build) is
//!   handed the payload without its size trailer; `unlz4` decompresses each
//!   chunk to exactly `min(8 MiB, bytes still expected)`. The stream ends when
//!   fewer than 4 input bytes remain, at a chunk length of 0, or when the
//!   input is used up exactly after a chunk; a repeated magic (concatenated
//!   streams) is skipped. Running past the input is "data corrupted".
//! * `arch/x86/boot/compressed/misc.c`, `parse_elf()`: every `PT_LOAD` must
//!   have `p_align` a multiple of 2 MiB and is copied (its `p_filesz` bytes;
//!   bss is left alone) to `output + (p_paddr - LOAD_PHYSICAL_ADDR)`; the
//!   entry is `output + (e_entry - LOAD_PHYSICAL_ADDR)`, where `e_entry` is
//!   `phys_startup_64` (`arch/x86/kernel/vmlinux.lds.S`), i.e. `startup_64`
//!   of `arch/x86/kernel/head_64.S`.
//! * No relocation is needed. `misc.c`, `handle_relocations()`: "64-bit
//!   relocations are only needed if KASLR has chosen a different starting
//!   address offset from __START_KERNEL_map": on x86_64 `delta = virt_addr -
//!   LOAD_PHYSICAL_ADDR`, and `virt_addr` is `LOAD_PHYSICAL_ADDR` unless
//!   `choose_random_location()` randomized it. We keep the link-time virtual
//!   address; the physical load address may differ, which `__startup_64()`
//!   (`arch/x86/kernel/head64.c`) handles by itself: `phys_base = load_delta
//!   = physaddr - (_text - __START_KERNEL_map)`, requiring only 2 MiB
//!   alignment. The relocation table at the end of `vmlinux.bin.all` is
//!   therefore ignored. The result boots like `nokaslr`.
//!
//! `LOAD_PHYSICAL_ADDR` is not stored in the image; it is
//! `CONFIG_PHYSICAL_START` rounded up to `CONFIG_PHYSICAL_ALIGN`
//! (`arch/x86/include/asm/page_types.h`), and the linker script places `_text`
//! — the start of the first `PT_LOAD` — at exactly that physical address.
//! This module takes it as the **lowest `p_paddr` of the `PT_LOAD` segments**
//! (which must be the first one and 2 MiB aligned), and checks that `e_entry`
//! lies in the loaded bytes.

use std::ops::Range;

use thiserror::Error;

use crate::bzimage::BzImage;

/// Magic of the LZ4 legacy format (`lz4 -l`), `ARCHIVE_MAGICNUMBER` in
/// `lib/decompress_unlz4.c`.
pub const LZ4_LEGACY_MAGIC: u32 = 0x184c_2102;
/// Decompressed size of every legacy chunk but the last
/// (`LZ4_DEFAULT_UNCOMPRESSED_CHUNK_SIZE`).
pub const LZ4_LEGACY_CHUNK: usize = 8 << 20;
/// Most bytes one byte of an LZ4 block decodes to: a match length byte of
/// 255 (a sequence's token, offset and literals only lower the ratio).
pub const LZ4_MAX_RATIO: u64 = 255;
/// Largest decompressed kernel accepted, whatever the image claims.
pub const MAX_DECOMPRESSED: u64 = 1 << 30;
/// `PT_LOAD` alignment `parse_elf()` insists on (`p_align % 0x200000`).
pub const SEGMENT_ALIGN: u64 = 0x20_0000;

const ELF_HEADER_LEN: usize = 64;
const PHDR_LEN: usize = 56;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ET_EXEC: u16 = 2;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;

/// Why a kernel could not be decompressed or laid out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VmlinuxError {
    /// `payload_offset`/`payload_length` point outside the protected-mode code.
    #[error(
        "compressed payload at 0x{offset:x}+0x{length:x} (setup header payload_offset, \
         payload_length) is outside the 0x{available:x}-byte protected-mode code"
    )]
    PayloadOutside {
        /// `payload_offset`.
        offset: u64,
        /// `payload_length`.
        length: u64,
        /// Length of the protected-mode code.
        available: u64,
    },
    /// The payload does not start with the LZ4 legacy magic.
    #[error(
        "the kernel is not LZ4 (lz4 -l legacy) compressed: payload starts with {found} \
         (magic {magic}); --decompress needs CONFIG_KERNEL_LZ4"
    )]
    NotLz4 {
        /// Name of the compression the magic belongs to, or "unknown".
        found: &'static str,
        /// The first bytes, in hex.
        magic: String,
    },
    /// The size trailer announces more than the kernel's room.
    #[error(
        "output too large: the payload announces 0x{announced:x} decompressed bytes, more than \
         the 0x{limit:x} allowed (init_size)"
    )]
    AnnouncedTooLarge {
        /// The size trailer.
        announced: u64,
        /// `min(init_size, MAX_DECOMPRESSED)`.
        limit: u64,
    },
    /// The size trailer announces more than the stream could decompress to.
    #[error(
        "corrupt payload: the size trailer announces 0x{announced:x} bytes, more than \
         0x{compressed:x} bytes of LZ4 can hold (at most {LZ4_MAX_RATIO} bytes per byte)"
    )]
    ImplausibleSize {
        /// The size trailer.
        announced: u64,
        /// Length of the LZ4 stream (magic and chunk lengths included).
        compressed: u64,
    },
    /// A chunk's length runs past the end of the compressed data.
    #[error(
        "truncated LZ4 chunk {index} at payload offset 0x{at:x}: it claims 0x{claimed:x} bytes, \
         0x{left:x} remain"
    )]
    TruncatedChunk {
        /// Chunk number, from 0.
        index: usize,
        /// Offset of its length field in the payload.
        at: usize,
        /// Claimed compressed length.
        claimed: u64,
        /// Bytes left after the length field.
        left: usize,
    },
    /// More data than the size trailer announced.
    #[error(
        "output too large: LZ4 chunk {index} would decompress past the 0x{announced:x} bytes \
         the size trailer announces"
    )]
    OutputTooLarge {
        /// Chunk number.
        index: usize,
        /// The size trailer.
        announced: u64,
    },
    /// A chunk did not decode to the size the kernel's decompressor expects.
    #[error("LZ4 chunk {index} is corrupt: {reason}")]
    BadChunk {
        /// Chunk number.
        index: usize,
        /// The decoder's complaint or the size mismatch.
        reason: String,
    },
    /// The stream ended before the announced size.
    #[error(
        "truncated LZ4 stream: 0x{got:x} bytes decompressed, the size trailer announces 0x{announced:x}"
    )]
    ShortOutput {
        /// Bytes produced.
        got: u64,
        /// The size trailer.
        announced: u64,
    },
    /// The decompressed kernel is not an ELF file mint can load.
    #[error("decompressed kernel: {0}")]
    BadElf(String),
}

type Result<T, E = VmlinuxError> = std::result::Result<T, E>;

/// Names a compressed stream by its first bytes (the formats
/// `arch/x86/boot/compressed` can be built with).
fn compression_name(data: &[u8]) -> &'static str {
    let starts = |m: &[u8]| data.starts_with(m);
    if starts(&LZ4_LEGACY_MAGIC.to_le_bytes()) {
        "lz4 (legacy)"
    } else if starts(&[0x04, 0x22, 0x4d, 0x18]) {
        "lz4 (frame format)"
    } else if starts(&[0x1f, 0x8b]) {
        "gzip"
    } else if starts(b"BZh") {
        "bzip2"
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        "xz"
    } else if starts(&[0x89, b'L', b'Z', b'O']) {
        "lzo"
    } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "zstd"
    } else if starts(&[0x5d, 0, 0]) {
        "lzma"
    } else {
        "unknown"
    }
}

fn le32(d: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(d[off..off + 4].try_into().expect("4 bytes"))
}

/// The compressed payload of `image` (size trailer included).
pub fn compressed_payload<'a>(image: &BzImage<'a>) -> Result<&'a [u8]> {
    let pm = image.payload();
    let offset = u64::from(image.header().payload_offset);
    let length = u64::from(image.header().payload_length);
    let outside = || VmlinuxError::PayloadOutside {
        offset,
        length,
        available: pm.len() as u64,
    };
    let end = offset.checked_add(length).ok_or_else(outside)?;
    if end > pm.len() as u64 {
        return Err(outside());
    }
    Ok(&pm[offset as usize..end as usize])
}

/// Decompresses the kernel carried by `image`: the returned bytes are
/// `vmlinux.bin.all`, the `vmlinux.bin` ELF file followed by the relocation
/// table (which [`load_segments`] ignores).
pub fn decompress(image: &BzImage<'_>) -> Result<Vec<u8>> {
    decompress_payload(compressed_payload(image)?, image.init_size())
}

/// Decompresses an `lz4 -l` stream followed by its 4-byte size trailer, as
/// `lib/decompress_unlz4.c` does in the kernel's decompressor; at most
/// `limit` bytes (the image's `init_size`) are accepted.
pub fn decompress_payload(payload: &[u8], limit: u64) -> Result<Vec<u8>> {
    if payload.len() < 8 || !payload.starts_with(&LZ4_LEGACY_MAGIC.to_le_bytes()) {
        let head = &payload[..payload.len().min(6)];
        return Err(VmlinuxError::NotLz4 {
            found: if payload.len() < 8 {
                "too few bytes"
            } else {
                compression_name(payload)
            },
            magic: head
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
        });
    }
    let (stream, trailer) = payload.split_at(payload.len() - 4);
    let announced = u64::from(le32(trailer, 0));
    let limit = limit.min(MAX_DECOMPRESSED);
    if announced > limit {
        return Err(VmlinuxError::AnnouncedTooLarge { announced, limit });
    }
    // The output buffer is sized by the trailer: first check that the
    // stream could produce that much at all, so that a few bytes cannot ask
    // for up to `limit` bytes of memory.
    let compressed = stream.len() as u64;
    if announced > compressed.saturating_mul(LZ4_MAX_RATIO) {
        return Err(VmlinuxError::ImplausibleSize {
            announced,
            compressed,
        });
    }
    let mut out = vec![0u8; announced as usize];
    let mut pos = 0usize; // output bytes written
    let mut at = 4usize; // input offset, past the magic
    let mut index = 0usize;
    // unlz4: "if (size < 4) goto exit_3" -- fewer than 4 bytes left ends the stream.
    while stream.len() - at >= 4 {
        let claimed = le32(stream, at);
        if claimed == LZ4_LEGACY_MAGIC {
            at += 4; // a concatenated stream: skip its magic
            continue;
        }
        if claimed == 0 {
            break; // end marker
        }
        let left = stream.len() - at - 4;
        if claimed as usize > left {
            return Err(VmlinuxError::TruncatedChunk {
                index,
                at,
                claimed: claimed.into(),
                left,
            });
        }
        let input = &stream[at + 4..at + 4 + claimed as usize];
        // PREBOOT unlz4: dest_len = min(8 MiB, out_len still expected).
        let want = (out.len() - pos).min(LZ4_LEGACY_CHUNK);
        if want == 0 {
            return Err(VmlinuxError::OutputTooLarge { index, announced });
        }
        let dest = &mut out[pos..pos + want];
        match lz4_flex::block::decompress_into(input, dest) {
            Ok(n) if n == want => {}
            Ok(n) => {
                return Err(VmlinuxError::BadChunk {
                    index,
                    reason: format!("decodes to 0x{n:x} bytes, expected 0x{want:x}"),
                })
            }
            Err(lz4_flex::block::DecompressError::OutputTooSmall { .. }) => {
                return Err(if want < LZ4_LEGACY_CHUNK {
                    VmlinuxError::OutputTooLarge { index, announced }
                } else {
                    VmlinuxError::BadChunk {
                        index,
                        reason: format!("decodes to more than 0x{LZ4_LEGACY_CHUNK:x} bytes"),
                    }
                });
            }
            Err(e) => {
                return Err(VmlinuxError::BadChunk {
                    index,
                    reason: e.to_string(),
                })
            }
        }
        pos += want;
        at += 4 + claimed as usize;
        index += 1;
    }
    if pos != out.len() {
        return Err(VmlinuxError::ShortOutput {
            got: pos as u64,
            announced,
        });
    }
    Ok(out)
}

/// One `PT_LOAD` segment of the decompressed kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Where it goes, relative to the kernel load address:
    /// `p_paddr - LOAD_PHYSICAL_ADDR`.
    pub offset: u64,
    /// The bytes from the file (`p_filesz`).
    pub data: &'a [u8],
    /// Bytes it occupies in memory (`p_memsz` >= `p_filesz`); the rest is bss,
    /// to be zero.
    pub mem_len: u64,
}

impl Segment<'_> {
    /// `[offset, offset + mem_len)`.
    pub fn mem_range(&self) -> Range<u64> {
        self.offset..self.offset + self.mem_len
    }
}

/// The loadable view of a decompressed kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vmlinux<'a> {
    /// The address the kernel was linked to load at (the lowest `p_paddr`).
    pub load_physical_addr: u64,
    /// `e_entry - LOAD_PHYSICAL_ADDR`: the offset of `startup_64` from the load address.
    pub entry_offset: u64,
    /// The `PT_LOAD` segments, sorted, not overlapping, inside `init_size`.
    pub segments: Vec<Segment<'a>>,
}

impl Vmlinux<'_> {
    /// End of the last segment in memory, relative to the load address
    /// (the kernel's `_end - _text`).
    pub fn mem_end(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.offset + s.mem_len)
    }

    /// Bytes taken from the file, all segments together.
    pub fn file_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.data.len() as u64).sum()
    }
}

fn elf_err(msg: impl Into<String>) -> VmlinuxError {
    VmlinuxError::BadElf(msg.into())
}

/// Reads the `PT_LOAD` segments of `elf` (the `vmlinux.bin` from
/// [`decompress`]) as `parse_elf()` would place them, and checks they fit
/// the kernel's `init_size` bytes from the load address: ELF64,
/// little-endian, x86-64, `ET_EXEC`, at least one `PT_LOAD`, each with
/// 2 MiB-multiple alignment and `p_filesz <= p_memsz`, sorted by `p_paddr`,
/// not overlapping, and the entry inside the first segment's file bytes.
pub fn load_segments(elf: &[u8], init_size: u64) -> Result<Vmlinux<'_>> {
    if elf.len() < ELF_HEADER_LEN || &elf[..4] != b"\x7fELF" {
        return Err(elf_err("not an ELF file (no \\x7fELF magic)"));
    }
    if elf[4] != ELFCLASS64 || elf[5] != ELFDATA2LSB {
        return Err(elf_err(format!(
            "not a little-endian ELF64 file (class {}, data {})",
            elf[4], elf[5]
        )));
    }
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]);
    let u64_at = |d: &[u8], o: usize| u64::from_le_bytes(d[o..o + 8].try_into().expect("8 bytes"));
    let (e_type, e_machine) = (u16_at(16), u16_at(18));
    if e_type != ET_EXEC {
        return Err(elf_err(format!("ELF type {e_type}, not ET_EXEC (2)")));
    }
    if e_machine != EM_X86_64 {
        return Err(elf_err(format!("ELF machine {e_machine}, not x86-64 (62)")));
    }
    let e_entry = u64_at(elf, 24);
    let e_phoff = u64_at(elf, 32);
    let (e_phentsize, e_phnum) = (u16_at(54), u16_at(56));
    if usize::from(e_phentsize) != PHDR_LEN {
        return Err(elf_err(format!(
            "program header size {e_phentsize}, not {PHDR_LEN}"
        )));
    }
    let table_len = u64::from(e_phnum) * PHDR_LEN as u64;
    let table = e_phoff
        .checked_add(table_len)
        .filter(|&end| end <= elf.len() as u64)
        .map(|end| &elf[e_phoff as usize..end as usize])
        .ok_or_else(|| elf_err("program header table runs past the end of the file"))?;

    // (p_paddr, p_offset, p_filesz, p_memsz) of every PT_LOAD, in table order.
    let mut loads = Vec::new();
    for (i, ph) in table.chunks_exact(PHDR_LEN).enumerate() {
        if le32(ph, 0) != PT_LOAD {
            continue;
        }
        let (p_offset, p_paddr) = (u64_at(ph, 8), u64_at(ph, 24));
        let (p_filesz, p_memsz, p_align) = (u64_at(ph, 32), u64_at(ph, 40), u64_at(ph, 48));
        if !p_align.is_multiple_of(SEGMENT_ALIGN) {
            return Err(elf_err(format!(
                "PT_LOAD {i}: alignment 0x{p_align:x} is not a multiple of 2 MiB"
            )));
        }
        if p_filesz > p_memsz {
            return Err(elf_err(format!(
                "PT_LOAD {i}: file size 0x{p_filesz:x} exceeds memory size 0x{p_memsz:x}"
            )));
        }
        if p_offset
            .checked_add(p_filesz)
            .is_none_or(|end| end > elf.len() as u64)
        {
            return Err(elf_err(format!(
                "PT_LOAD {i}: bytes 0x{p_offset:x}+0x{p_filesz:x} run past the end of the \
                 0x{:x}-byte file",
                elf.len()
            )));
        }
        loads.push((i, p_paddr, p_offset, p_filesz, p_memsz));
    }
    let &(_, base, ..) = loads.first().ok_or_else(|| elf_err("no PT_LOAD segment"))?;
    if !base.is_multiple_of(SEGMENT_ALIGN) {
        return Err(elf_err(format!(
            "first PT_LOAD at physical 0x{base:x}, not 2 MiB aligned (LOAD_PHYSICAL_ADDR)"
        )));
    }
    let mut segments = Vec::with_capacity(loads.len());
    // End of the previous segment, relative to the load address (like every
    // position below: `base + end` may not fit in 64 bits).
    let mut prev_end = 0u64;
    for &(i, p_paddr, p_offset, p_filesz, p_memsz) in &loads {
        let Some(offset) = p_paddr.checked_sub(base).filter(|&o| o >= prev_end) else {
            return Err(elf_err(format!(
                "PT_LOAD {i} at physical 0x{p_paddr:x} is out of order or overlaps the one \
                 before (which ends at 0x{base:x} + 0x{prev_end:x})"
            )));
        };
        let end = offset
            .checked_add(p_memsz)
            .filter(|&e| e <= init_size)
            .ok_or_else(|| {
                elf_err(format!(
                    "PT_LOAD {i} (0x{offset:x}+0x{p_memsz:x} from the load address) does not fit \
                 init_size 0x{init_size:x}"
                ))
            })?;
        prev_end = end;
        segments.push(Segment {
            offset,
            data: &elf[p_offset as usize..(p_offset + p_filesz) as usize],
            mem_len: p_memsz,
        });
    }
    let entry_offset = e_entry.wrapping_sub(base);
    let first = &segments[0];
    if e_entry < base || entry_offset >= first.data.len() as u64 {
        return Err(elf_err(format!(
            "entry 0x{e_entry:x} is not in the first PT_LOAD (0x{base:x}+0x{:x})",
            first.data.len()
        )));
    }
    Ok(Vmlinux {
        load_physical_addr: base,
        entry_offset,
        segments,
    })
}

/// Test helpers: an `lz4 -l` stream writer and a minimal ELF builder.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Compresses `data` the way `lz4 -l` + `size_append` does, with
    /// `chunk`-byte chunks (8 MiB for the real format).
    pub fn lz4_legacy(data: &[u8], chunk: usize) -> Vec<u8> {
        let mut v = LZ4_LEGACY_MAGIC.to_le_bytes().to_vec();
        for c in data.chunks(chunk) {
            let block = lz4_flex::block::compress(c);
            v.extend_from_slice(&(block.len() as u32).to_le_bytes());
            v.extend_from_slice(&block);
        }
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v
    }

    /// One program header: (type, offset, paddr, filesz, memsz, align).
    pub type Phdr = (u32, u64, u64, u64, u64, u64);

    /// An ELF64 x86-64 ET_EXEC file with these program headers, `len` bytes
    /// long, every byte after the headers set to its offset mod 251.
    pub fn elf(entry: u64, phdrs: &[Phdr], len: usize) -> Vec<u8> {
        let mut d: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        d[..ELF_HEADER_LEN + PHDR_LEN * phdrs.len()].fill(0);
        d[..4].copy_from_slice(b"\x7fELF");
        d[4] = ELFCLASS64;
        d[5] = ELFDATA2LSB;
        d[6] = 1;
        d[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        d[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        d[24..32].copy_from_slice(&entry.to_le_bytes());
        d[32..40].copy_from_slice(&(ELF_HEADER_LEN as u64).to_le_bytes());
        d[52..54].copy_from_slice(&(ELF_HEADER_LEN as u16).to_le_bytes());
        d[54..56].copy_from_slice(&(PHDR_LEN as u16).to_le_bytes());
        d[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (i, &(ty, off, paddr, filesz, memsz, align)) in phdrs.iter().enumerate() {
            let p = &mut d[ELF_HEADER_LEN + i * PHDR_LEN..][..PHDR_LEN];
            p[0..4].copy_from_slice(&ty.to_le_bytes());
            p[8..16].copy_from_slice(&off.to_le_bytes());
            p[16..24].copy_from_slice(&(paddr | 0xffff_ffff_8000_0000).to_le_bytes());
            p[24..32].copy_from_slice(&paddr.to_le_bytes());
            p[32..40].copy_from_slice(&filesz.to_le_bytes());
            p[40..48].copy_from_slice(&memsz.to_le_bytes());
            p[48..56].copy_from_slice(&align.to_le_bytes());
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use crate::bzimage::test_support::real_image;

    const MIB: u64 = 1 << 20;
    const LPA: u64 = 0x100_0000;

    /// Three segments like the real kernel's: text, data, bss-carrying.
    fn sample_elf() -> Vec<u8> {
        elf(
            LPA + 0x40,
            &[
                (PT_LOAD, 0x1000, LPA, 0x3000, 0x3000, 2 * MIB),
                (4, 0x1200, LPA + 0x200, 0x20, 0x20, 4), // PT_NOTE, ignored
                (PT_LOAD, 0x4000, LPA + 0x20_0000, 0x1000, 0x1000, 2 * MIB),
                (PT_LOAD, 0x5000, LPA + 0x20_1000, 0x800, 0x5000, 2 * MIB),
            ],
            0x5800,
        )
    }

    #[test]
    fn lz4_legacy_roundtrip() {
        // A tiny ELF with a relocation-like tail, and data spanning two
        // chunks; each also with an end marker or a short tail after the
        // last chunk.
        let mut all = sample_elf();
        all.extend_from_slice(&[0u8; 12]);
        let big: Vec<u8> = (0..(LZ4_LEGACY_CHUNK + 12345))
            .map(|i| (i / 7) as u8)
            .collect();
        for data in [&all[..], &big[..]] {
            let p = lz4_legacy(data, LZ4_LEGACY_CHUNK);
            assert_eq!(decompress_payload(&p, 1 << 30).unwrap(), data);
            // A zero chunk length ends the stream; so does a short tail.
            let mut q = p[..p.len() - 4].to_vec();
            q.extend_from_slice(&0u32.to_le_bytes());
            q.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd, 0xee]);
            q.extend_from_slice(&p[p.len() - 4..]);
            assert_eq!(decompress_payload(&q, 1 << 30).unwrap(), data);
            let mut q = p[..p.len() - 4].to_vec();
            q.extend_from_slice(&[1, 2, 3]);
            q.extend_from_slice(&p[p.len() - 4..]);
            assert_eq!(decompress_payload(&q, 1 << 30).unwrap(), data);
        }
        // Concatenated streams: the second magic is skipped. Like the
        // kernel's decoder, every chunk but the last must be a full 8 MiB.
        let concat = |first: &[u8]| {
            let p = lz4_legacy(first, LZ4_LEGACY_CHUNK);
            let mut q = p[..p.len() - 4].to_vec();
            let small = lz4_legacy(b"tail bytes", LZ4_LEGACY_CHUNK);
            q.extend_from_slice(&small[..small.len() - 4]);
            q.extend_from_slice(&((first.len() + 10) as u32).to_le_bytes());
            decompress_payload(&q, 1 << 30)
        };
        let full = &big[..LZ4_LEGACY_CHUNK];
        let out = concat(full).unwrap();
        assert_eq!(&out[..full.len()], full);
        assert_eq!(&out[full.len()..], b"tail bytes");
        assert_eq!(
            concat(&big).unwrap_err(),
            VmlinuxError::BadChunk {
                index: 1,
                reason: "decodes to 0x3039 bytes, expected 0x3043".into()
            }
        );
    }

    #[test]
    fn lz4_errors() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 97) as u8).collect();
        let p = lz4_legacy(&data, LZ4_LEGACY_CHUNK);
        // Not LZ4: named by magic.
        let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        gz.extend_from_slice(&[0; 8]);
        let e = decompress_payload(&gz, 1 << 30).unwrap_err();
        assert!(
            matches!(e, VmlinuxError::NotLz4 { found: "gzip", .. }),
            "{e}"
        );
        assert!(
            e.to_string().contains("gzip") && e.to_string().contains("1f 8b"),
            "{e}"
        );
        let mut zst = vec![0x28, 0xb5, 0x2f, 0xfd];
        zst.extend_from_slice(&[0; 8]);
        assert!(matches!(
            decompress_payload(&zst, 1 << 30),
            Err(VmlinuxError::NotLz4 { found: "zstd", .. })
        ));
        assert!(matches!(
            decompress_payload(&[2, 0x21], 1 << 30),
            Err(VmlinuxError::NotLz4 { .. })
        ));
        // Truncated chunk: the last chunk loses bytes.
        let mut t = p[..p.len() - 14].to_vec();
        t.extend_from_slice(&p[p.len() - 4..]);
        let e = decompress_payload(&t, 1 << 30).unwrap_err();
        assert!(
            matches!(e, VmlinuxError::TruncatedChunk { index: 0, .. }),
            "{e}"
        );
        assert!(e.to_string().starts_with("truncated LZ4 chunk 0"), "{e}");
        // Size trailer larger than the limit.
        let e = decompress_payload(&p, 50_000).unwrap_err();
        assert_eq!(
            e,
            VmlinuxError::AnnouncedTooLarge {
                announced: 100_000,
                limit: 50_000
            }
        );
        assert!(e.to_string().starts_with("output too large"), "{e}");
        // Size trailer smaller than the data.
        let mut s = p.clone();
        let n = s.len();
        s[n - 4..].copy_from_slice(&99_999u32.to_le_bytes());
        let e = decompress_payload(&s, 1 << 30).unwrap_err();
        assert_eq!(
            e,
            VmlinuxError::OutputTooLarge {
                index: 0,
                announced: 99_999
            }
        );
        // More chunks than the trailer accounts for.
        let mut m = p[..p.len() - 4].to_vec();
        let again = lz4_legacy(b"more", LZ4_LEGACY_CHUNK);
        m.extend_from_slice(&again[4..again.len() - 4]);
        m.extend_from_slice(&100_000u32.to_le_bytes());
        let e = decompress_payload(&m, 1 << 30).unwrap_err();
        assert_eq!(
            e,
            VmlinuxError::OutputTooLarge {
                index: 1,
                announced: 100_000
            }
        );
        // Trailer larger than the data: the stream ends short.
        let mut l = p.clone();
        l[n - 4..].copy_from_slice(&100_001u32.to_le_bytes());
        let e = decompress_payload(&l, 1 << 30).unwrap_err();
        assert!(matches!(e, VmlinuxError::BadChunk { index: 0, .. }), "{e}");
        // Corrupt block data.
        let mut c = p.clone();
        c[8] = 0xff;
        c[9] = 0xff;
        assert!(decompress_payload(&c, 1 << 30).is_err());
        // No chunk at all.
        let mut empty = LZ4_LEGACY_MAGIC.to_le_bytes().to_vec();
        empty.extend_from_slice(&10u32.to_le_bytes());
        let e = decompress_payload(&empty, 1 << 30).unwrap_err();
        assert_eq!(
            e,
            VmlinuxError::ShortOutput {
                got: 0,
                announced: 10
            }
        );
    }

    #[test]
    fn the_trailer_cannot_ask_for_more_than_the_stream_holds() {
        // Found while writing the kernel_lz4 fuzz target: 12 bytes with a trailer of
        // 0x3fffffff made a 1 GiB output buffer before anything was decoded.
        let mut p = LZ4_LEGACY_MAGIC.to_le_bytes().to_vec();
        p.extend_from_slice(&[1, 0, 0, 0]);
        p.extend_from_slice(&0x3fff_ffffu32.to_le_bytes());
        let e = decompress_payload(&p, 1 << 30).unwrap_err();
        assert_eq!(
            e,
            VmlinuxError::ImplausibleSize {
                announced: 0x3fff_ffff,
                compressed: 8
            }
        );
        assert!(e.to_string().starts_with("corrupt payload"), "{e}");
        // The densest real stream stays within the bound: a run of zeros.
        let zeros = vec![0u8; 1 << 20];
        let z = lz4_legacy(&zeros, LZ4_LEGACY_CHUNK);
        assert!((z.len() as u64 - 4) * LZ4_MAX_RATIO >= zeros.len() as u64);
        assert_eq!(decompress_payload(&z, 1 << 30).unwrap(), zeros);
    }

    #[test]
    fn no_panic_on_garbage() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 13) as u8).collect();
        let p = lz4_legacy(&data, LZ4_LEGACY_CHUNK);
        for n in 0..p.len().min(300) {
            let _ = decompress_payload(&p[..n], 1 << 20);
        }
        for i in 0..p.len().min(200) {
            for v in [0u8, 0x7f, 0xff] {
                let mut b = p.clone();
                b[i] = v;
                let _ = decompress_payload(&b, 1 << 20);
            }
        }
        let e = sample_elf();
        for n in 0..e.len().min(400) {
            let _ = load_segments(&e[..n], 16 * MIB);
        }
        for i in 0..(64 + 4 * 56) {
            for v in [0u8, 0x80, 0xff] {
                let mut b = e.clone();
                b[i] = v;
                let _ = load_segments(&b, 16 * MIB);
            }
        }
    }

    #[test]
    fn segments_of_a_tiny_elf() {
        let e = sample_elf();
        // Through the compressor and back, as in a bzImage.
        let back = decompress_payload(&lz4_legacy(&e, LZ4_LEGACY_CHUNK), 1 << 30).unwrap();
        let v = load_segments(&back, 4 * MIB).unwrap();
        assert_eq!(v.load_physical_addr, LPA);
        assert_eq!(v.entry_offset, 0x40);
        assert_eq!(v.segments.len(), 3);
        assert_eq!(v.segments[0].offset, 0);
        assert_eq!(v.segments[0].data, &e[0x1000..0x4000]);
        assert_eq!(v.segments[1].offset, 0x20_0000);
        assert_eq!(v.segments[1].data, &e[0x4000..0x5000]);
        assert_eq!(v.segments[2].mem_range(), 0x20_1000..0x20_6000);
        assert_eq!(v.segments[2].data.len(), 0x800);
        assert_eq!(v.mem_end(), 0x20_6000);
        assert_eq!(v.file_bytes(), 0x4800);
        // Exactly fits; one byte less does not.
        assert!(load_segments(&e, 0x20_6000).is_ok());
        let err = load_segments(&e, 0x20_5fff).unwrap_err().to_string();
        assert!(err.contains("does not fit init_size"), "{err}");
    }

    #[test]
    fn elf_errors() {
        let phdrs = [(PT_LOAD, 0x1000, LPA, 0x1000, 0x1000, 2 * MIB)];
        let ok = elf(LPA, &phdrs, 0x2000);
        assert!(load_segments(&ok, 4 * MIB).is_ok());
        let err = |e: &[u8]| load_segments(e, 4 * MIB).unwrap_err().to_string();
        let mut b = ok.clone();
        b[4] = 1;
        assert!(err(&b).contains("ELF64"));
        let mut b = ok.clone();
        b[16] = 3; // ET_DYN
        assert!(err(&b).contains("ET_EXEC"));
        let mut b = ok.clone();
        b[18] = 3; // EM_386
        assert!(err(&b).contains("x86-64"));
        assert!(err(&ok[..0x1800]).contains("past the end"));
        assert!(err(b"MZ not an elf").contains("not an ELF"));
        // Entry outside the first segment's bytes.
        assert!(err(&elf(LPA + 0x1000, &phdrs, 0x2000)).contains("entry"));
        assert!(err(&elf(LPA - 1, &phdrs, 0x2000)).contains("entry"));
        // Alignment, filesz > memsz, unaligned base, order, overlap, none.
        let one = |ph: Phdr| err(&elf(LPA, &[ph], 0x2000));
        assert!(one((PT_LOAD, 0x1000, LPA, 0x1000, 0x1000, 0x1000)).contains("2 MiB"));
        assert!(one((PT_LOAD, 0x1000, LPA, 0x1000, 0x800, 2 * MIB)).contains("exceeds"));
        assert!(err(&elf(
            LPA + 0x1000,
            &[(PT_LOAD, 0x1000, LPA + 0x1000, 0x1000, 0x1000, 2 * MIB)],
            0x2000
        ))
        .contains("not 2 MiB aligned"));
        let two = |a: Phdr, b: Phdr| err(&elf(LPA, &[a, b], 0x2000));
        let seg = |paddr, memsz| (PT_LOAD, 0x1000, paddr, 0x800, memsz, 2 * MIB);
        assert!(two(seg(LPA, 0x1000), seg(LPA + 0x800, 0x1000)).contains("overlaps"));
        assert!(two(seg(LPA + 0x20_0000, 0x1000), seg(LPA, 0x1000)).contains("overlaps"));
        assert!(load_segments(
            &elf(LPA, &[seg(LPA, 0x1000), seg(LPA + 0x1000, 0x1000)], 0x2000),
            4 * MIB
        )
        .is_ok());
        assert!(err(&elf(LPA, &[(4, 0x1000, LPA, 0x10, 0x10, 4)], 0x2000)).contains("no PT_LOAD"));
    }

    #[test]
    fn segments_at_the_top_of_the_address_space() {
        // Found while writing the vmlinux fuzz target: `p_paddr + p_memsz` just past
        // 2^64 overflowed (a panic in debug builds; in release builds the
        // wrapped end let the next segment overlap this one). Only positions
        // relative to the load address matter, as in the kernel's parse_elf().
        let top = 0xffff_ffff_ffe0_0000;
        let big = elf(
            top,
            &[(PT_LOAD, 0x1000, top, 0x1000, 0x40_0000, 2 * MIB)],
            0x2000,
        );
        let v = load_segments(&big, 0x40_0000).unwrap();
        assert_eq!((v.load_physical_addr, v.mem_end()), (top, 0x40_0000));
        // A second segment at the same address overlaps the first.
        let seg = (PT_LOAD, 0x1000, top, 0x800, 0x30_0000, 2 * MIB);
        let e = elf(top, &[seg, seg], 0x2000);
        assert!(load_segments(&e, 0x40_0000).is_err());
        let low = 0x20_0000;
        let seg = |memsz| (PT_LOAD, 0x1000, low, 0x800, memsz, 2 * MIB);
        let err = load_segments(&elf(low, &[seg(0x1000), seg(0x1000)], 0x2000), 4 * MIB)
            .unwrap_err()
            .to_string();
        assert!(err.contains("overlaps"), "{err}");
    }

    #[test]
    fn real_image_decompresses() {
        let Some(d) = real_image() else { return };
        let img = BzImage::parse(&d).unwrap();
        let payload = compressed_payload(&img).unwrap();
        assert!(payload.starts_with(&LZ4_LEGACY_MAGIC.to_le_bytes()));
        let all = decompress(&img).unwrap();
        assert_eq!(all.len() as u32, le32(payload, payload.len() - 4));
        let v = load_segments(&all, img.init_size()).unwrap();
        assert!(
            v.entry_offset < 0x1000,
            "entry offset {:#x}",
            v.entry_offset
        );
        assert_eq!(v.load_physical_addr % SEGMENT_ALIGN, 0);
        assert!(!v.segments.is_empty());
        assert!(v.mem_end() <= img.init_size());
        for s in &v.segments {
            assert!(s.mem_range().end <= img.init_size());
        }
        eprintln!(
            "real image: vmlinux.bin.all {} bytes, LOAD_PHYSICAL_ADDR {:#x}, entry +{:#x}, \
             {} PT_LOAD, {} file bytes, mem end {:#x}, init_size {:#x}",
            all.len(),
            v.load_physical_addr,
            v.entry_offset,
            v.segments.len(),
            v.file_bytes(),
            v.mem_end(),
            img.init_size()
        );
    }
}
