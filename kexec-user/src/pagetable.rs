//! Identity page tables for entering the kernel through the Linux 64-bit
//! boot protocol (`Documentation/arch/x86/boot.rst`, "64-bit Boot
//! Protocol": long mode, paging on, the kernel's `init_size` range, the zero
//! page and the command line identity mapped).
//!
//! [`identity_4g`] maps the whole first 4 GiB 1:1 with 2 MiB pages, which
//! covers every piece mint places (the plan keeps them below 4 GiB):
//!
//! ```text
//! base + 0x0000  PML4: entry 0 -> PDPT
//! base + 0x1000  PDPT: entries 0..4 -> PD 0..3
//! base + 0x2000  PD 0: 512 x 2 MiB pages, 0 .. 1 GiB
//! base + 0x3000  PD 1: 1 .. 2 GiB
//! base + 0x4000  PD 2: 2 .. 3 GiB
//! base + 0x5000  PD 3: 3 .. 4 GiB
//! ```
//!
//! Table entries are present and writable; the 2 MiB pages are present,
//! writable and `PS`. The kernel's `startup_64`
//! (`arch/x86/kernel/head_64.S`) switches to its own page tables
//! (`early_top_pgt`, fixed up by `__startup_64()`) before it leaves the
//! identity mapping, so these are only used for that first stretch. They
//! live in the ACPI block (see [`crate::acpi`]), which the partition's e820
//! marks as ACPI data, so nothing else ever overwrites them during it.

use mint_logic::load_image::PAGE_TABLE_LEN;

/// Bytes of [`identity_4g`]'s tables: six 4 KiB pages.
pub const LEN: usize = 6 * 4096;
const _: () = assert!(LEN as u64 == PAGE_TABLE_LEN);

/// Page-table entry bit: present.
pub const PRESENT: u64 = 1 << 0;
/// Page-table entry bit: writable.
pub const WRITABLE: u64 = 1 << 1;
/// Page-directory entry bit: maps a 2 MiB page (page size).
pub const PAGE_SIZE_2M: u64 = 1 << 7;

const PAGE: u64 = 0x1000;
const TWO_MIB: u64 = 0x20_0000;
const ENTRIES: usize = 512;

/// Builds the tables for physical address `base` (page aligned, and with
/// `base + LEN` below 4 GiB, as the module requires).
///
/// # Panics
/// If `base` is not page aligned.
pub fn identity_4g(base: u64) -> [u8; LEN] {
    assert!(
        base.is_multiple_of(PAGE),
        "page tables at {base:#x} are not page aligned"
    );
    let mut t = [0u8; LEN];
    let mut put = |index: usize, value: u64| {
        t[index * 8..index * 8 + 8].copy_from_slice(&value.to_le_bytes());
    };
    // PML4[0] -> PDPT.
    put(0, (base + PAGE) | PRESENT | WRITABLE);
    // PDPT[0..4] -> PD 0..3.
    for i in 0..4 {
        put(
            ENTRIES + i,
            (base + (2 + i as u64) * PAGE) | PRESENT | WRITABLE,
        );
    }
    // PD i, entry j -> (i * 512 + j) * 2 MiB.
    for k in 0..4 * ENTRIES {
        put(
            2 * ENTRIES + k,
            (k as u64 * TWO_MIB) | PRESENT | WRITABLE | PAGE_SIZE_2M,
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(t: &[u8], page: usize, index: usize) -> u64 {
        let o = page * 4096 + index * 8;
        u64::from_le_bytes(t[o..o + 8].try_into().unwrap())
    }

    /// Walks the tables like the CPU does for a 4-level, 2 MiB-page mapping.
    fn translate(t: &[u8], base: u64, va: u64) -> Option<u64> {
        let page_of = |addr: u64| {
            let off = addr.checked_sub(base)?;
            (off < LEN as u64 && off % 4096 == 0).then_some((off / 4096) as usize)
        };
        let mask = 0x000f_ffff_ffff_f000u64;
        let pml4e = entry(t, 0, ((va >> 39) & 511) as usize);
        if pml4e & PRESENT == 0 {
            return None;
        }
        let pdpte = entry(t, page_of(pml4e & mask)?, ((va >> 30) & 511) as usize);
        if pdpte & PRESENT == 0 || pdpte & PAGE_SIZE_2M != 0 {
            return None;
        }
        let pde = entry(t, page_of(pdpte & mask)?, ((va >> 21) & 511) as usize);
        if pde & PRESENT == 0 || pde & PAGE_SIZE_2M == 0 {
            return None;
        }
        Some((pde & 0x000f_ffff_ffe0_0000) | (va & (TWO_MIB - 1)))
    }

    #[test]
    fn entries() {
        let base = 0x2001_a000;
        let t = identity_4g(base);
        assert_eq!(t.len() as u64, PAGE_TABLE_LEN);
        assert_eq!(entry(&t, 0, 0), (base + 0x1000) | 0x3);
        for i in 1..512 {
            assert_eq!(entry(&t, 0, i), 0, "PML4[{i}]");
        }
        for i in 0..4 {
            assert_eq!(entry(&t, 1, i), (base + 0x2000 + i as u64 * 0x1000) | 0x3);
        }
        for i in 4..512 {
            assert_eq!(entry(&t, 1, i), 0, "PDPT[{i}]");
        }
        for pd in 0..4 {
            for j in 0..512 {
                let phys = (pd as u64) << 30 | (j as u64) << 21;
                assert_eq!(entry(&t, 2 + pd, j), phys | 0x83, "PD{pd}[{j}]");
            }
        }
        assert_eq!(entry(&t, 5, 511), 0xffe0_0000 | 0x83);
    }

    #[test]
    fn identity_below_4g_only() {
        let base = 0x7fff_a000;
        let t = identity_4g(base);
        for va in [
            0u64,
            0x1234,
            0x20_0000,
            0x2000_0000,
            base,
            0xdead_beef,
            0xffff_ffff,
        ] {
            assert_eq!(translate(&t, base, va), Some(va), "{va:#x}");
        }
        assert_eq!(translate(&t, base, 1 << 32), None);
        assert_eq!(translate(&t, base, 0xffff_ffff_8100_0000), None);
    }

    #[test]
    #[should_panic(expected = "not page aligned")]
    fn unaligned_base_panics() {
        identity_4g(0x2000_0800);
    }
}
