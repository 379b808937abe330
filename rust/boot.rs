// SPDX-License-Identifier: GPL-2.0

//! Starting and stopping a partition's boot CPU: the page below 1 MiB it
//! starts from, trampoline.S, and INIT/SIPI.
//!
//! Low memory: an x86 CPU leaves INIT/SIPI in real mode at a page below 1 MiB,
//! and a Linux kernel needs some RAM of its own below 1 MiB (for its own AP
//! trampoline). The host reserves all of its first MiB at boot and uses only
//! its own real-mode blob (allocated from the top, below the EBDA) and the
//! BIOS areas; [`LOW_POOL`] is the range mint hands out instead, in 64 KiB
//! slots, one per partition: the slot's first page holds our trampoline, the
//! rest is the partition's private low RAM (listed in its e820 map).

use core::ffi::c_void;

use kernel::bindings;
use kernel::prelude::*;

use crate::cpus::CpuClaim;
use crate::logic::identity::{IdentityMap, ENTRIES};
use crate::logic::memrange::MemRange;

/// Start of the low-memory pool (below it: the real-mode IVT/BDA and the
/// 64 KiB every Linux keeps free).
pub(crate) const LOW_POOL_START: u64 = 0x10000;
/// Size of one partition's slot.
pub(crate) const LOW_SLOT_SIZE: u64 = 0x10000;
/// Number of slots: 0x10000..0x80000, below where the host's own real-mode
/// blob and the EBDA live on PC platforms.
pub(crate) const LOW_SLOTS: usize = 7;

/// Value trampoline.S stores once it has left real mode ("MINT").
const REACHED: u32 = 0x544e_494d;
/// How long to wait for the CPU to leave the trampoline.
const START_TIMEOUT_MS: u32 = 2000;

extern "C" {
    static mint_trampoline_start: u8;
    static mint_trampoline_end: u8;
    static mint_trampoline_boot_params: u8;
    static mint_trampoline_entry: u8;
    static mint_trampoline_reached: u8;
    static mint_trampoline_tsc: u8;
    static mint_trampoline_mode: u8;
    static mint_trampoline_cr3: u8;

    /// A zeroed page below 4 GiB (rust/mem_shim.c); NULL if none.
    ///
    /// # Safety
    ///
    /// `phys` must be valid for writes.
    fn mint_page_dma32(phys: *mut u64) -> *mut c_void;
    /// Frees a page from `mint_page_dma32`.
    ///
    /// # Safety
    ///
    /// `va` must come from `mint_page_dma32` and not be used afterwards.
    fn mint_page_free(va: *mut c_void);

    /// INIT assert + deassert to `apicid` (rust/arch_shim.c).
    ///
    /// # Safety
    ///
    /// `apicid` must belong to a CPU that the host does not use (a claimed,
    /// offline CPU): whatever it runs stops.
    fn mint_apic_init(apicid: u32);
    /// INIT, SIPI, SIPI to `apicid` with the vector of `page_phys`.
    ///
    /// # Safety
    ///
    /// As for `mint_apic_init`; `page_phys` must be a page-aligned address
    /// below 1 MiB holding code for the CPU to run in real mode.
    fn mint_apic_wake(apicid: u32, page_phys: u64);
}

/// The physical page of slot `slot`'s trampoline.
pub(crate) fn trampoline_page(slot: usize) -> u64 {
    LOW_POOL_START + slot as u64 * LOW_SLOT_SIZE
}

/// The private low RAM of slot `slot` (after the trampoline page), as
/// `[start, end)`.
pub(crate) fn low_ram(slot: usize) -> (u64, u64) {
    let page = trampoline_page(slot);
    (page + 0x1000, page + LOW_SLOT_SIZE)
}

fn field_offset(field: *const u8) -> usize {
    field as usize - core::ptr::addr_of!(mint_trampoline_start) as usize
}

fn blob() -> &'static [u8] {
    // SAFETY: the bytes between the two trampoline.S symbols are .rodata.
    unsafe {
        let start = core::ptr::addr_of!(mint_trampoline_start);
        let end = core::ptr::addr_of!(mint_trampoline_end);
        core::slice::from_raw_parts(start, end as usize - start as usize)
    }
}

/// A temporary mapping of one low page.
struct LowPage(*mut u8);

impl LowPage {
    fn map(phys: u64) -> Result<Self> {
        // SAFETY: `phys` is a page of the low pool, reserved by the host since
        // boot and used by no one but this partition.
        let p = unsafe { bindings::memremap(phys, 4096, bindings::MEMREMAP_WB as _) };
        if p.is_null() {
            return Err(ENOMEM);
        }
        Ok(Self(p as *mut u8))
    }

    /// Writes `v` at byte `off`; offsets past the page are ignored (the
    /// trampoline's fields all lie inside it, see `start_cpu`).
    fn write_u32(&self, off: usize, v: u32) {
        if off % 4 != 0 || off + 4 > 4096 {
            return;
        }
        // SAFETY: aligned and in bounds (checked); the page is mapped for our
        // lifetime.
        unsafe { core::ptr::write_volatile(self.0.add(off) as *mut u32, v) };
    }

    /// Writes `v` at byte `off` as two u32 halves, low first (the field is
    /// read only once the CPU is sent off).
    fn write_u64(&self, off: usize, v: u64) {
        self.write_u32(off, v as u32);
        self.write_u32(off + 4, (v >> 32) as u32);
    }

    /// Reads the u32 at byte `off` (0 past the page).
    fn read_u32(&self, off: usize) -> u32 {
        if off % 4 != 0 || off + 4 > 4096 {
            return 0;
        }
        // SAFETY: as for `write_u32`; volatile because another CPU writes it.
        unsafe { core::ptr::read_volatile(self.0.add(off) as *const u32) }
    }
}

impl Drop for LowPage {
    fn drop(&mut self) {
        // SAFETY: mapped by `map`, not used afterwards.
        unsafe { bindings::memunmap(self.0 as *mut c_void) };
    }
}

/// Identity page tables for a 64-bit entry (see `logic/identity.rs`), in
/// host pages below 4 GiB: the trampoline loads CR3 while in 32-bit mode.
/// The pages stay allocated until drop, which must come after the
/// partition's CPUs were stopped (the kernel only uses them at its entry,
/// but nothing tells the host when it stopped).
///
/// # Invariants
///
/// `pages` holds `(va, phys)` of pages from `mint_page_dma32`, table `i` in
/// entry `i`; table 0 is the PML4.
pub(crate) struct PageTables {
    pages: KVec<(*mut c_void, u64)>,
}

// SAFETY: the pages are plain memory owned by this value.
unsafe impl Send for PageTables {}
// SAFETY: `&PageTables` allows no mutation.
unsafe impl Sync for PageTables {}

impl PageTables {
    /// Most tables built for one partition (4 MiB: 2 MiB pages covering up
    /// to about a TiB).
    const MAX_TABLES: usize = 1024;

    /// Tables mapping the first 4 GiB and every one of `ranges` 1:1.
    pub(crate) fn new(ranges: &[MemRange]) -> core::result::Result<Self, crate::refusal::Refusal> {
        let map = IdentityMap::new(ranges).map_err(|e| crate::refusal::Refusal::with(EINVAL, &e))?;
        let n = map.table_count();
        if n > Self::MAX_TABLES {
            return Err(crate::refusal::Refusal::new(E2BIG, "too much memory to map"));
        }
        let mut t = Self {
            pages: KVec::with_capacity(n, GFP_KERNEL)?,
        };
        for _ in 0..n {
            let mut phys = 0u64;
            // SAFETY: `phys` is a local.
            let va = unsafe { mint_page_dma32(&mut phys) };
            if va.is_null() {
                return Err(ENOMEM.into()); // `t` frees what it holds.
            }
            t.pages.push((va, phys), GFP_KERNEL).inspect_err(|_| {
                // SAFETY: just allocated, not stored.
                unsafe { mint_page_free(va) }
            })?;
        }
        for (i, &(va, _)) in t.pages.iter().enumerate() {
            // SAFETY: `va` is a page-aligned 4 KiB page (ENTRIES u64s) that
            // we own and nothing else references yet.
            let entries = unsafe { &mut *(va as *mut [u64; ENTRIES]) };
            map.fill(i, |k| t.pages.get(k).map_or(0, |&(_, phys)| phys), entries);
        }
        Ok(t)
    }

    /// The CR3 value: the PML4's address (below 4 GiB).
    fn cr3(&self) -> u64 {
        self.pages.first().map_or(0, |&(_, phys)| phys)
    }
}

impl Drop for PageTables {
    fn drop(&mut self) {
        for &(va, _) in self.pages.iter() {
            // SAFETY: from `mint_page_dma32`, used by no one now (the type's
            // contract: dropped after the CPUs were stopped).
            unsafe { mint_page_free(va) };
        }
    }
}

/// This CPU's time stamp counter.
pub(crate) fn tsc() -> u64 {
    // SAFETY: RDTSC has no preconditions in kernel mode on x86-64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// TSC readings of one start, for the boot-time breakdown.
pub(crate) struct StartTimes {
    /// Just before INIT is sent.
    pub(crate) init: u64,
    /// When the CPU left the trampoline for the kernel (read by the CPU itself).
    pub(crate) entry: u64,
}

/// A boot CPU sent on its way into the trampoline, not yet seen leaving it.
/// Holds the trampoline page's mapping until [`Launch::wait`] is done.
pub(crate) struct Launch {
    page: LowPage,
    reached_off: usize,
    tsc_off: usize,
    apicid: u32,
    init: u64,
}

/// Sends `claim`'s boot CPU (its first) into the trampoline of `slot`, which
/// then enters the kernel at `entry` with boot_params at `boot_params`:
/// through the 32-bit boot protocol (both below 4 GiB), or the 64-bit one
/// when `tables` (the identity page tables for CR3) is given. Returns at once; the caller waits
/// with [`Launch::wait`], and may drop its locks meanwhile.
///
/// Taking the claim is the proof that the CPU belongs to the partition.
pub(crate) fn launch(
    claim: &CpuClaim,
    slot: usize,
    boot_params: u64,
    entry: u64,
    tables: Option<&PageTables>,
) -> Result<Launch> {
    let apicid = claim.apic_ids().next().ok_or(EINVAL)?;
    if tables.is_none() && (boot_params > u64::from(u32::MAX) || entry > u64::from(u32::MAX)) {
        return Err(ERANGE);
    }
    let cr3 = u32::try_from(tables.map_or(0, PageTables::cr3)).map_err(|_| ERANGE)?;
    let phys = trampoline_page(slot);
    let code = blob();
    if code.len() > 4096 {
        return Err(EINVAL);
    }
    let page = LowPage::map(phys)?;
    // SAFETY: the blob fits in the page (checked above) and the mapping is a
    // page we own.
    unsafe { core::ptr::copy_nonoverlapping(code.as_ptr(), page.0, code.len()) };
    // Symbols of trampoline.S: only their addresses are taken.
    let (bp_off, entry_off, reached_off, tsc_off) = (
        field_offset(core::ptr::addr_of!(mint_trampoline_boot_params)),
        field_offset(core::ptr::addr_of!(mint_trampoline_entry)),
        field_offset(core::ptr::addr_of!(mint_trampoline_reached)),
        field_offset(core::ptr::addr_of!(mint_trampoline_tsc)),
    );
    let (mode_off, cr3_off) = (
        field_offset(core::ptr::addr_of!(mint_trampoline_mode)),
        field_offset(core::ptr::addr_of!(mint_trampoline_cr3)),
    );
    page.write_u64(bp_off, boot_params);
    page.write_u64(entry_off, entry);
    page.write_u32(mode_off, u32::from(tables.is_some()));
    page.write_u32(cr3_off, cr3);
    page.write_u32(reached_off, 0);
    // Make the page visible before the IPI (the ICR write is serializing on
    // x86, the fence documents the ordering).
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    let init = tsc();
    // SAFETY: the CPU is claimed by the partition (`claim`: offline for the
    // host) and `phys` is a page-aligned address below 1 MiB holding the
    // trampoline.
    unsafe { mint_apic_wake(apicid, phys) };
    Ok(Launch {
        page,
        reached_off,
        tsc_off,
        apicid,
        init,
    })
}

/// Nanoseconds of the kernel's monotonic clock.
pub(crate) fn now_ns() -> i64 {
    // SAFETY: `ktime_get` has no preconditions.
    unsafe { bindings::ktime_get() }
}

impl Launch {
    /// Waits until the CPU has left the trampoline, for at most
    /// [`START_TIMEOUT_MS`] of wall time; `ETIMEDOUT` if it never does. On
    /// timeout the caller must stop the CPU with [`stop_cpus`].
    pub(crate) fn wait(self) -> Result<StartTimes> {
        let deadline = now_ns() + i64::from(START_TIMEOUT_MS) * 1_000_000;
        loop {
            if self.page.read_u32(self.reached_off) == REACHED {
                let entry = u64::from(self.page.read_u32(self.tsc_off))
                    | u64::from(self.page.read_u32(self.tsc_off + 4)) << 32;
                return Ok(StartTimes {
                    init: self.init,
                    entry,
                });
            }
            if now_ns() > deadline {
                pr_warn!("APIC {}: no sign of life from the trampoline\n", self.apicid);
                return Err(Error::from_errno(-(bindings::ETIMEDOUT as i32)));
            }
            // SAFETY: plain sleep in process context.
            unsafe { bindings::msleep(1) };
        }
    }
}

/// Stops whatever every CPU of `claim` runs (INIT: each then waits for a
/// SIPI). Taking the claim is the proof that the CPUs belong to a partition.
pub(crate) fn stop_cpus(claim: &CpuClaim) {
    for apicid in claim.apic_ids() {
        // SAFETY: the CPU is claimed (offline for the host, owned by the
        // partition whose claim we were given).
        unsafe { mint_apic_init(apicid) };
    }
}
