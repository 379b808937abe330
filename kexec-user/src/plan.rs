//! Plan where each piece of a boot goes in the partition's physical memory:
//! its ranges (1 to [`mint_logic::memlist::MAX_RANGES`], see
//! [`RangeList`]), each used on its own (a piece never spans two ranges,
//! adjacent or not, as the module requires).
//!
//! Every piece is page aligned. The zero page, the command line, the ACPI
//! block and the kernel go together into one range, the *main* range, from
//! its start (or `mem_min`) upward:
//!
//! ```text
//! start   -> zero page (4 KiB)
//!            command line (rounded up to pages)
//!            ACPI block (rounded up to pages; optional)
//!            ... gap up to the next multiple of kernel_alignment ...
//! load    -> kernel: protected-mode payload, then room up to load + init_size
//!            ... free ...
//!            initrd (page aligned start, as high as possible; optional)
//! top     -> min(console region start or range end, initrd limit)
//!            ... free ...
//!            console region (ramoops; optional, default 1 MiB), if it is
//!            in this range
//! end     -> range end
//! ```
//!
//! * The console region ([`console_layout`]) takes the top of the highest
//!   range larger than it, whatever else is planned: the command line's
//!   `ramoops.*` parameters depend on nothing but the ranges and its size.
//!   The other pieces are planned below it in that range, as if the range
//!   ended there.
//! * The main range is the highest range that holds the low blocks, the
//!   kernel and the initrd; else the highest that holds the low blocks and
//!   the kernel while another range holds the initrd (then the initrd goes
//!   to the top of the highest such range).
//! * In the main range, the kernel goes to the image's `pref_address` if it
//!   is suitably aligned, lies above the ACPI block and everything planned
//!   for the range still fits with the kernel there; otherwise to the
//!   lowest aligned address.
//! * The initrd ends at or below `initrd_addr_max + 1`, unless the image
//!   has `XLF_CAN_BE_LOADED_ABOVE_4G` (then anywhere, the zero page's `ext_`
//!   fields holding the high half of its address).
//!
//! How the kernel is entered follows from where it lands
//! ([`LoadPlan::entry_64`]): the bzImage's 32-bit entry (`code32_start` =
//! load address, paging off) while the zero page, the command line and the
//! kernel's whole `init_size` area lie below 4 GiB, else its 64-bit entry
//! (load address + [`ENTRY_64_OFFSET`], long mode, on the identity page
//! tables the module builds). A piece above 4 GiB needs
//! `XLF_CAN_BE_LOADED_ABOVE_4G` (`XLF_KERNEL_64` every accepted image has);
//! an image without it is planned in the ranges' parts below 4 GiB, and
//! refused, naming the flag, if it only fits above. The decompressed 64-bit
//! entry (`mint-kexec load --decompress`) uses the same plan: its segments
//! go inside `[load, load + init_size)`.
//!
//! `mem_min` (kexec's `--mem-min`) must lie in one of the ranges: no piece
//! but the console region goes below it. All arithmetic is checked.

use std::ops::Range;

use mint_logic::memlist::{MemItem, MemRequest, RangeList, CARVE_ALIGN};
use mint_logic::memrange::MemRange;
use mint_logic::ramoops::{Layout, LayoutError};

use crate::bzimage::BzImage;

/// Page size used for every alignment in the plan.
pub const PAGE_SIZE: u64 = 0x1000;
/// Size of the zero page (`struct boot_params`).
pub const ZERO_PAGE_SIZE: u64 = 0x1000;
/// Limit of what the 32-bit entry can reach with paging off.
pub const FOUR_GIB: u64 = 1 << 32;
/// Offset of a bzImage's 64-bit entry (its decompressor's `startup_64`)
/// from the kernel load address (`Documentation/arch/x86/boot.rst`, "64-bit
/// Boot Protocol").
pub const ENTRY_64_OFFSET: u64 = 0x200;

/// What to plan for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    /// The partition's memory.
    pub memory: RangeList,
    /// Lowest address to use (kexec's `--mem-min`); `None` means no limit.
    pub mem_min: Option<u64>,
    /// Command line length including the terminating NUL.
    pub cmdline_len: u64,
    /// Initrd length in bytes; 0 means no initrd.
    pub initrd_len: u64,
    /// Length of the ACPI tables block; 0 means none.
    pub acpi_len: u64,
    /// Length of the console (ramoops) region at the top of the highest
    /// range that can hold it ([`console_layout`]); 0 means none.
    pub console_len: u64,
}

/// Where everything goes. Every range lies inside one range of
/// [`LoadPlan::memory`] and none overlaps another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadPlan {
    /// The partition's memory.
    pub memory: RangeList,
    /// The range that holds the zero page, the command line, the ACPI
    /// block and the kernel.
    pub main: MemRange,
    /// Address of the 4 KiB zero page.
    pub zero_page: u64,
    /// Command line bytes (exact length, NUL included; page aligned start).
    pub cmdline: Range<u64>,
    /// ACPI tables block (exact length, page aligned start), if any.
    pub acpi: Option<Range<u64>>,
    /// Kernel area `[load, load + init_size)`; `kernel.start` is the load address.
    pub kernel: Range<u64>,
    /// Where the protected-mode payload is copied: `[load, load + payload_len)`.
    pub payload: Range<u64>,
    /// Initrd bytes (exact length, page aligned start), if any: in the main
    /// range or another one.
    pub initrd: Option<Range<u64>>,
    /// Whether the bzImage is entered through its 64-bit entry: the kernel's
    /// `init_size` area (and so possibly the zero page and the command
    /// line below it) reaches above 4 GiB.
    pub entry_64: bool,
    /// The bzImage's entry point: the load address (`code32_start`, 32-bit
    /// boot protocol), or with [`LoadPlan::entry_64`] the load address +
    /// [`ENTRY_64_OFFSET`]. The decompressed 64-bit entry uses `startup_64`
    /// instead (see `assemble::Assembled::entry`).
    pub entry: u64,
    /// The console (ramoops) region, if any: the top of its range; every
    /// other piece in that range lies below it.
    pub console: Option<Layout>,
}

/// Why no plan fits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A length computation wrapped around 2^64.
    #[error("address overflow: {what}")]
    Overflow {
        /// Which computation overflowed.
        what: &'static str,
    },
    /// `mem_min` is not inside any range.
    #[error("mem_min 0x{mem_min:x} is not inside the partition's memory {memory}")]
    MemMinOutside {
        /// Requested lowest address.
        mem_min: u64,
        /// The partition's memory, as `memory` shows it.
        memory: String,
    },
    /// The command line is longer than the kernel accepts.
    #[error(
        "command line of 0x{len:x} bytes (with NUL) exceeds the kernel's cmdline_size 0x{max:x}"
    )]
    CmdlineTooLong {
        /// Length including NUL.
        len: u64,
        /// The image's `cmdline_size`.
        max: u64,
    },
    /// A command line length of 0 has no room for the terminating NUL.
    #[error("command line length 0: it must count the terminating NUL")]
    CmdlineEmpty,
    /// No range can hold the low blocks and the kernel's `init_size` area
    /// (with the initrd, when there is one range), below the console region
    /// if it is there. `range` is the one with the most room.
    #[error(
        "memory {range} too small: kernel needs init_size 0x{init_size:x} at 0x{kernel_load:x}\
         {}, 0x{needed:x} bytes from the range's start{}{}",
        initrd_note(*initrd_len),
        console_note(*console_len, *needed, range.size),
        largest_note(*ranges)
    )]
    TooSmall {
        /// The range with the most room.
        range: MemRange,
        /// The image's `init_size`.
        init_size: u64,
        /// Lowest possible kernel load address in `range`.
        kernel_load: u64,
        /// Initrd length, if counted in `range` (one range only), else 0.
        initrd_len: u64,
        /// Bytes needed from the range's start, the console region
        /// included if it is in `range`.
        needed: u64,
        /// Length of the console region at the range's top (0: not there).
        console_len: u64,
        /// How many ranges the partition has.
        ranges: usize,
    },
    /// The kernel fits, but no range has room left for the initrd.
    #[error(
        "memory too small for the initrd of 0x{initrd_len:x} bytes: the kernel takes \
         {main}, and the largest free piece of any range is 0x{largest_free:x} bytes{}",
        if *console_len > 0 { HINT } else { "" }
    )]
    NoRoomForInitrd {
        /// Initrd length.
        initrd_len: u64,
        /// The range the kernel goes into.
        main: MemRange,
        /// The largest piece no other piece takes, below the initrd limit.
        largest_free: u64,
        /// Length of the console region (0: none).
        console_len: u64,
    },
    /// No range is larger than the console region.
    #[error(
        "the console region of 0x{console_len:x} bytes does not fit in the partition's memory \
         (its largest range has 0x{largest:x} bytes){}",
        HINT
    )]
    ConsoleTooLarge {
        /// The region's length.
        console_len: u64,
        /// Size of the largest range.
        largest: u64,
    },
    /// The console region at the top of its range is not one ramoops lays
    /// out (a length that is not a multiple of 4 KiB, or outside 64 KiB to
    /// 1 GiB).
    #[error("{}{}", .0, HINT)]
    Console(LayoutError),
    /// The initrd would fit, but not below `initrd_addr_max`.
    #[error(
        "initrd of 0x{initrd_len:x} bytes must end at or below initrd_addr_max+1 = 0x{limit:x} \
         but the kernel occupies up to 0x{kernel_end:x} and no other range has room below it"
    )]
    InitrdAboveAddrMax {
        /// Initrd length.
        initrd_len: u64,
        /// `initrd_addr_max + 1`.
        limit: u64,
        /// End of the kernel's `init_size` area.
        kernel_end: u64,
    },
    /// The pieces only fit above 4 GiB, and the image may not go there.
    #[error(
        "{what} would end at 0x{end:x}, above 4 GiB (no range below 4 GiB holds it), and the \
         image lacks XLF_CAN_BE_LOADED_ABOVE_4G (xloadflags bit 1), without which the kernel \
         is entered through its 32-bit entry and must lie below 4 GiB"
    )]
    Above4G {
        /// "zero page" or "kernel init_size area".
        what: &'static str,
        /// End address of that piece.
        end: u64,
    },
}

/// How to make room, in every console region error.
const HINT: &str = " (shrink the console region with --console-size, or leave it out with \
                    --no-console-region)";

fn initrd_note(initrd_len: u64) -> String {
    if initrd_len == 0 {
        String::new()
    } else {
        format!(" and initrd 0x{initrd_len:x} bytes")
    }
}

/// The end of a [`PlanError::TooSmall`] message: the console region
/// counted in, and how to make room if a smaller region (or none) would.
fn console_note(console_len: u64, needed: u64, range_size: u64) -> String {
    if console_len == 0 {
        return String::new();
    }
    let helps = needed.saturating_sub(console_len) <= range_size;
    format!(
        ", the console region of 0x{console_len:x} bytes at its top included{}",
        if helps { HINT } else { "" }
    )
}

fn largest_note(ranges: usize) -> String {
    if ranges > 1 {
        format!(" (the roomiest of its {ranges} ranges)")
    } else {
        String::new()
    }
}

/// The console (ramoops) region of `len` bytes at the top of the highest
/// range of `memory` that is larger than `len`, laid out as
/// [`Layout::for_region`] chooses; `None` for `len` 0. The command line's
/// `ramoops.*` parameters, the plan and the load image take their numbers
/// from it.
pub fn console_layout(memory: &RangeList, len: u64) -> Result<Option<Layout>, PlanError> {
    if len == 0 {
        return Ok(None);
    }
    let Some(range) = memory.ranges().iter().rev().find(|r| r.size > len) else {
        return Err(PlanError::ConsoleTooLarge {
            console_len: len,
            largest: memory.ranges().iter().map(|r| r.size).max().unwrap_or(0),
        });
    };
    // The range does not wrap and is larger than `len`.
    Layout::for_region(range.end() - len, len)
        .map(Some)
        .map_err(PlanError::Console)
}

fn align_up(x: u64, align: u64) -> Option<u64> {
    debug_assert!(align.is_power_of_two());
    Some(x.checked_add(align - 1)? & !(align - 1))
}

fn align_down(x: u64, align: u64) -> u64 {
    debug_assert!(align.is_power_of_two());
    x & !(align - 1)
}

/// The pieces of a main range.
struct Main {
    range: MemRange,
    zero_page: u64,
    cmdline_at: u64,
    acpi_at: u64,
    load: u64,
    kernel_end: u64,
    /// Start of the initrd, when it goes into this range.
    initrd: Option<u64>,
}

/// The request's numbers, checked, and the image's limits.
struct Planner<'a> {
    image: &'a BzImage<'a>,
    memory: RangeList,
    /// Page aligned; 0 for none.
    mem_min: u64,
    console: Option<Layout>,
    cmdline_pages: u64,
    acpi_pages: u64,
    initrd_len: u64,
    initrd_pages: u64,
}

impl Planner<'_> {
    /// What of range `r` the pieces may use: from `mem_min`, below the
    /// console region if it is there.
    fn avail(&self, r: &MemRange) -> Option<Range<u64>> {
        let start = r.start.max(self.mem_min);
        let mut end = r.end();
        if let Some(c) = &self.console {
            if r.contains(c.region().start) {
                end = c.region().start;
            }
        }
        (start < end).then_some(start..end)
    }

    /// The lowest kernel load address in range `r`, after the low blocks
    /// at its usable start: `(zero page, command line, ACPI block, load)`.
    fn low_blocks(&self, start: u64) -> Option<(u64, u64, u64, u64)> {
        let zero_page = align_up(start, PAGE_SIZE)?;
        let cmdline_at = zero_page.checked_add(ZERO_PAGE_SIZE)?;
        let acpi_at = cmdline_at.checked_add(self.cmdline_pages)?;
        let low_end = acpi_at.checked_add(self.acpi_pages)?;
        let lowest = align_up(low_end, self.image.kernel_alignment())?;
        Some((zero_page, cmdline_at, acpi_at, lowest))
    }

    /// The main pieces in range `r`, with the initrd if `with_initrd`
    /// (below `initrd_limit`), the kernel ending at or below `cap`.
    fn place_main(
        &self,
        r: &MemRange,
        with_initrd: bool,
        cap: u64,
        initrd_limit: u64,
    ) -> Option<Main> {
        let avail = self.avail(r)?;
        let (zero_page, cmdline_at, acpi_at, lowest) = self.low_blocks(avail.start)?;
        let kernel_cap = avail.end.min(cap);
        let initrd_top = avail.end.min(initrd_limit);
        let init_size = self.image.init_size();
        // The initrd start (if it goes here) with the kernel at `load`.
        let fits = |load: u64| -> Option<Option<u64>> {
            let kernel_end = load.checked_add(init_size)?;
            if kernel_end > kernel_cap {
                return None;
            }
            if !with_initrd || self.initrd_len == 0 {
                return Some(None);
            }
            let s = align_down(initrd_top.checked_sub(self.initrd_len)?, PAGE_SIZE);
            (s >= kernel_end).then_some(Some(s))
        };
        let align = self.image.kernel_alignment();
        let pref = self.image.pref_address();
        let (load, initrd) = match (pref >= lowest && pref.is_multiple_of(align))
            .then(|| fits(pref))
            .flatten()
        {
            Some(initrd) => (pref, initrd),
            None => (lowest, fits(lowest)?),
        };
        Some(Main {
            range: *r,
            zero_page,
            cmdline_at,
            acpi_at,
            load,
            kernel_end: load + init_size, // checked by fits()
            initrd,
        })
    }

    /// The initrd's start at the top of the highest range but `main` that
    /// has room for it below `initrd_limit`.
    fn initrd_elsewhere(&self, main: &MemRange, initrd_limit: u64) -> Option<u64> {
        self.memory
            .ranges()
            .iter()
            .rev()
            .filter(|r| *r != main)
            .find_map(|r| {
                let avail = self.avail(r)?;
                let top = avail.end.min(initrd_limit);
                let s = align_down(top.checked_sub(self.initrd_len)?, PAGE_SIZE);
                (s >= avail.start).then_some(s)
            })
    }

    /// The main range and where the initrd goes: the highest range that
    /// holds everything, else the highest that holds all but the initrd
    /// while another holds it. `None` if no range will do.
    fn choose(&self, cap: u64, initrd_limit: u64) -> Option<(Main, Option<u64>)> {
        let highest_first = || self.memory.ranges().iter().rev();
        if let Some(m) = highest_first().find_map(|r| self.place_main(r, true, cap, initrd_limit)) {
            let initrd = m.initrd;
            return Some((m, initrd));
        }
        if self.initrd_len == 0 {
            return None;
        }
        highest_first().find_map(|r| {
            let m = self.place_main(r, false, cap, initrd_limit)?;
            let i = self.initrd_elsewhere(r, initrd_limit)?;
            Some((m, Some(i)))
        })
    }

    /// The largest piece of memory no main piece takes, below `limit`.
    fn largest_free(&self, main: &Main, limit: u64) -> u64 {
        self.memory
            .ranges()
            .iter()
            .filter_map(|r| {
                let avail = self.avail(r)?;
                let start = if r == &main.range {
                    main.kernel_end
                } else {
                    avail.start
                };
                Some(avail.end.min(limit).saturating_sub(start))
            })
            .max()
            .unwrap_or(0)
    }

    /// The error when no range holds the low blocks and the kernel: about
    /// the range with the most room.
    fn too_small(&self, console_len: u64) -> PlanError {
        let ranges = self.memory.ranges();
        let room = |r: &MemRange| self.avail(r).map_or(0, |a| a.end - a.start);
        // The last of the roomiest in ascending order: the highest.
        let range = *ranges
            .iter()
            .max_by_key(|r| room(r))
            .expect("a RangeList is never empty");
        let start = range.start.max(self.mem_min);
        let kernel_load = self
            .low_blocks(start)
            .map_or(u64::MAX, |(_, _, _, lowest)| lowest);
        let counted_initrd = if ranges.len() == 1 {
            self.initrd_len
        } else {
            0
        };
        let console_here = self
            .console
            .filter(|c| range.contains(c.region().start))
            .map_or(0, |_| console_len);
        let needed = (kernel_load.saturating_sub(range.start))
            .saturating_add(self.image.init_size())
            .saturating_add(if counted_initrd > 0 {
                self.initrd_pages
            } else {
                0
            })
            .saturating_add(console_here);
        PlanError::TooSmall {
            range,
            init_size: self.image.init_size(),
            kernel_load,
            initrd_len: counted_initrd,
            needed,
            console_len: console_here,
            ranges: ranges.len(),
        }
    }
}

/// Plans the layout of `image` and the other pieces described by `req`.
pub fn plan(image: &BzImage<'_>, req: &PlanRequest) -> Result<LoadPlan, PlanError> {
    let ovf = |what| PlanError::Overflow { what };
    let memory = req.memory;
    let mem_min = match req.mem_min {
        Some(m) if !memory.ranges().iter().any(|r| r.contains(m)) => {
            return Err(PlanError::MemMinOutside {
                mem_min: m,
                memory: memory.to_string(),
            })
        }
        // Inside a page aligned range: its page is too.
        Some(m) => align_up(m, PAGE_SIZE).ok_or_else(|| ovf("mem_min"))?,
        None => 0,
    };
    let console = console_layout(&memory, req.console_len)?;
    if req.cmdline_len == 0 {
        return Err(PlanError::CmdlineEmpty);
    }
    if req.cmdline_len > image.cmdline_size() {
        return Err(PlanError::CmdlineTooLong {
            len: req.cmdline_len,
            max: image.cmdline_size(),
        });
    }
    let planner = Planner {
        image,
        memory,
        mem_min,
        console,
        cmdline_pages: align_up(req.cmdline_len, PAGE_SIZE).ok_or_else(|| ovf("command line"))?,
        acpi_pages: align_up(req.acpi_len, PAGE_SIZE).ok_or_else(|| ovf("ACPI block"))?,
        initrd_len: req.initrd_len,
        initrd_pages: align_up(req.initrd_len, PAGE_SIZE).ok_or_else(|| ovf("initrd size"))?,
    };
    let above_4g = image.can_load_above_4g();
    // Without XLF_CAN_BE_LOADED_ABOVE_4G: the kernel below 4 GiB, the
    // initrd below initrd_addr_max.
    let cap = if above_4g { u64::MAX } else { FOUR_GIB };
    let initrd_limit = if above_4g {
        u64::MAX
    } else {
        image.initrd_addr_max().saturating_add(1)
    };
    let (main, initrd) = match planner.choose(cap, initrd_limit) {
        Some(found) => found,
        None => return Err(why_not(&planner, req, cap, initrd_limit)),
    };
    let entry_64 = main.kernel_end > FOUR_GIB;
    let entry = if entry_64 {
        main.load + ENTRY_64_OFFSET
    } else {
        main.load
    };
    Ok(LoadPlan {
        memory,
        main: main.range,
        zero_page: main.zero_page,
        cmdline: main.cmdline_at..main.cmdline_at + req.cmdline_len,
        acpi: (req.acpi_len != 0).then(|| main.acpi_at..main.acpi_at + req.acpi_len),
        kernel: main.load..main.kernel_end,
        payload: main.load..main.load + image.payload_len(),
        initrd: initrd.map(|s| s..s + req.initrd_len),
        entry_64,
        entry,
        console,
    })
}

/// Why [`Planner::choose`] found nothing: the 4 GiB limit of an image
/// without `XLF_CAN_BE_LOADED_ABOVE_4G`, its `initrd_addr_max`, or too
/// little memory.
fn why_not(p: &Planner<'_>, req: &PlanRequest, cap: u64, initrd_limit: u64) -> PlanError {
    let highest_first = || p.memory.ranges().iter().rev();
    let kernel_only = |cap| highest_first().find_map(|r| p.place_main(r, false, cap, initrd_limit));
    let Some(main) = kernel_only(cap) else {
        if let Some(m) = kernel_only(u64::MAX).filter(|_| cap != u64::MAX) {
            let (what, end) = if m.zero_page + ZERO_PAGE_SIZE > FOUR_GIB {
                ("zero page", m.zero_page + ZERO_PAGE_SIZE)
            } else {
                ("kernel init_size area", m.kernel_end)
            };
            return PlanError::Above4G { what, end };
        }
        return p.too_small(req.console_len);
    };
    // The kernel fits: the initrd does not.
    if initrd_limit != u64::MAX && p.choose(cap, u64::MAX).is_some() {
        return PlanError::InitrdAboveAddrMax {
            initrd_len: p.initrd_len,
            limit: initrd_limit,
            kernel_end: main.kernel_end,
        };
    }
    if p.memory.ranges().len() == 1 {
        return p.too_small(req.console_len);
    }
    PlanError::NoRoomForInitrd {
        initrd_len: p.initrd_len,
        main: main.range,
        largest_free: p.largest_free(&main, initrd_limit),
        console_len: req.console_len,
    }
}

/// Where the ranges of a `memory` request may end up, for a dry run of the
/// plan before the request is written: its `SIZE@START` items where they
/// are, its `SIZE` items (which the module carves where it finds room, on
/// [`CARVE_ALIGN`] boundaries) one after another from the first such
/// boundary at or above 4 GiB and above every placed item, as a host with
/// its RAM above 4 GiB would give them. `None` if that does not fit in 64
/// bits (the module refuses such a request anyway).
pub fn dry_run_memory(request: &MemRequest) -> Option<RangeList> {
    let placed_end = request
        .items()
        .iter()
        .filter_map(|i| match i {
            MemItem::At(r) => Some(r.end()),
            MemItem::Size(_) => None,
        })
        .max()
        .unwrap_or(0);
    let mut next = align_up(placed_end.max(FOUR_GIB), CARVE_ALIGN)?;
    let mut ranges = Vec::new();
    for item in request.items() {
        ranges.push(match *item {
            MemItem::At(r) => r,
            MemItem::Size(size) => {
                let r = MemRange::new(next, size).ok()?;
                next = r.end();
                r
            }
        });
    }
    RangeList::from_ranges(&ranges).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bzimage::test_support::{real_image, Synth};

    const MIB: u64 = 1 << 20;

    fn range(start: u64, size: u64) -> MemRange {
        MemRange::new(start, size).unwrap()
    }

    fn list(ranges: &[(u64, u64)]) -> RangeList {
        let r: Vec<MemRange> = ranges.iter().map(|&(s, n)| range(s, n)).collect();
        RangeList::from_ranges(&r).unwrap()
    }

    fn req_list(ranges: &[(u64, u64)]) -> PlanRequest {
        PlanRequest {
            memory: list(ranges),
            mem_min: None,
            cmdline_len: 100,
            initrd_len: 0x5000,
            acpi_len: 0x10000,
            console_len: 0,
        }
    }

    fn req(start: u64, size: u64) -> PlanRequest {
        req_list(&[(start, size)])
    }

    /// Synthetic image: alignment 2 MiB, init_size 1 MiB, pref_address 16
    /// MiB, xloadflags XLF_KERNEL_64 only.
    fn image_bytes() -> Vec<u8> {
        Synth::default().build()
    }

    /// The same with XLF_CAN_BE_LOADED_ABOVE_4G (xloadflags 0x3).
    fn image_above_4g() -> Vec<u8> {
        Synth {
            xloadflags: 0x3,
            ..Default::default()
        }
        .build()
    }

    /// Every piece page aligned, inside one range, none overlapping.
    fn assert_disjoint_inside(p: &LoadPlan) {
        let mut rs = vec![
            p.zero_page..p.zero_page + ZERO_PAGE_SIZE,
            p.cmdline.clone(),
            p.kernel.clone(),
        ];
        rs.extend(p.acpi.clone());
        rs.extend(p.initrd.clone());
        rs.extend(p.console.map(|c| c.region()));
        for r in &rs {
            assert!(
                p.memory.contains_range(r.start, r.end - r.start),
                "{r:x?} not inside one range of {}",
                p.memory
            );
            assert_eq!(r.start % PAGE_SIZE, 0, "{r:x?} unaligned");
        }
        // The zero page, the command line, the kernel and the ACPI block
        // in the main range.
        for r in rs.iter().take(3).chain(&p.acpi) {
            assert!(p.main.contains_range(r.start, r.end - r.start), "{r:x?}");
        }
        for (i, a) in rs.iter().enumerate() {
            for b in &rs[i + 1..] {
                assert!(
                    a.end <= b.start || b.end <= a.start,
                    "{a:x?} overlaps {b:x?}"
                );
            }
        }
        assert_eq!(p.entry_64, p.kernel.end > FOUR_GIB);
        let off = if p.entry_64 { 0x200 } else { 0 };
        assert_eq!(p.entry, p.kernel.start + off);
    }

    #[test]
    fn basic_layout() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let p = plan(&img, &req(0x4000_0000, 64 * MIB)).unwrap();
        assert_eq!(p.main, range(0x4000_0000, 64 * MIB));
        assert_eq!(p.zero_page, 0x4000_0000);
        assert_eq!(p.cmdline, 0x4000_1000..0x4000_1000 + 100);
        assert_eq!(p.acpi, Some(0x4000_2000..0x4001_2000));
        assert_eq!(p.kernel, 0x4020_0000..0x4030_0000);
        assert_eq!(p.payload, 0x4020_0000..0x4020_3000);
        assert_eq!(p.entry, 0x4020_0000);
        assert!(!p.entry_64);
        assert_eq!(p.initrd, Some(0x43ff_b000..0x4400_0000));
        assert_disjoint_inside(&p);
    }

    #[test]
    fn uses_pref_address_when_it_fits() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let p = plan(&img, &req(0, 64 * MIB)).unwrap();
        assert_eq!(p.kernel.start, 16 * MIB);
        assert_disjoint_inside(&p);
        // Kernel at 16 MiB would collide with the initrd at the top: fall back.
        let p = plan(&img, &req(0, 17 * MIB)).unwrap();
        assert_eq!(p.kernel.start, 2 * MIB);
        assert_disjoint_inside(&p);
    }

    #[test]
    fn no_initrd_no_acpi() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let r = PlanRequest {
            initrd_len: 0,
            acpi_len: 0,
            ..req(0x8000_0000, 4 * MIB)
        };
        let p = plan(&img, &r).unwrap();
        assert_eq!(p.acpi, None);
        assert_eq!(p.initrd, None);
        assert_eq!(p.kernel.start, 0x8020_0000);
    }

    #[test]
    fn exact_fit_and_one_page_short() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        // Kernel at +2 MiB, 1 MiB init_size, initrd 0x5000 -> 3 MiB + 0x5000 needed.
        let need = 3 * MIB + 0x5000;
        let p = plan(&img, &req(0x4000_0000, need)).unwrap();
        assert_eq!(p.initrd.as_ref().unwrap().start, p.kernel.end);
        assert_eq!(p.initrd.as_ref().unwrap().end, p.main.end());
        assert_disjoint_inside(&p);
        let e = plan(&img, &req(0x4000_0000, need - PAGE_SIZE)).unwrap_err();
        assert_eq!(
            e,
            PlanError::TooSmall {
                range: range(0x4000_0000, need - PAGE_SIZE),
                init_size: MIB,
                kernel_load: 0x4020_0000,
                initrd_len: 0x5000,
                needed: need,
                console_len: 0,
                ranges: 1,
            }
        );
        assert_eq!(
            e.to_string(),
            "memory 3088K@0x40000000 too small: kernel needs init_size 0x100000 at 0x40200000 \
             and initrd 0x5000 bytes, 0x305000 bytes from the range's start"
        );
        // Without initrd the kernel alone fits exactly; one page less does not.
        let r = PlanRequest {
            initrd_len: 0,
            ..req(0x4000_0000, 3 * MIB)
        };
        assert_eq!(plan(&img, &r).unwrap().kernel.end, 0x4030_0000);
        let r = PlanRequest {
            initrd_len: 0,
            ..req(0x4000_0000, 3 * MIB - PAGE_SIZE)
        };
        let e = plan(&img, &r).unwrap_err();
        assert!(matches!(e, PlanError::TooSmall { initrd_len: 0, .. }));
        assert!(!e.to_string().contains("initrd"), "{e}");
        // Memory smaller than the low blocks.
        assert!(matches!(
            plan(&img, &req(0x4000_0000, 0x2000)),
            Err(PlanError::TooSmall { .. })
        ));
    }

    #[test]
    fn unaligned_initrd_length() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let r = PlanRequest {
            initrd_len: 0x1234,
            ..req(0x4000_0000, 8 * MIB)
        };
        let p = plan(&img, &r).unwrap();
        let i = p.initrd.unwrap();
        assert_eq!(i, 0x407f_e000..0x407f_e000 + 0x1234);
    }

    #[test]
    fn initrd_addr_max() {
        // initrd_addr_max inside the range: initrd ends at or below it.
        for max in [0x405f_ffff, 0x4060_07ff] {
            let d = Synth {
                initrd_addr_max: max,
                ..Default::default()
            }
            .build();
            let img = BzImage::parse(&d).unwrap();
            let p = plan(&img, &req(0x4000_0000, 64 * MIB)).unwrap();
            assert_eq!(p.initrd, Some(0x405f_b000..0x4060_0000));
            assert_disjoint_inside(&p);
        }
        // Below the kernel end / below the range: error naming the limit.
        let d = Synth {
            initrd_addr_max: 0x3fff_ffff,
            ..Default::default()
        }
        .build();
        let img = BzImage::parse(&d).unwrap();
        let e = plan(&img, &req(0x4000_0000, 64 * MIB)).unwrap_err();
        assert_eq!(
            e,
            PlanError::InitrdAboveAddrMax {
                initrd_len: 0x5000,
                limit: 0x4000_0000,
                kernel_end: 0x4030_0000
            }
        );
        // A second range below the limit takes it.
        let p = plan(
            &img,
            &req_list(&[(0x4000_0000, 64 * MIB), (0x3000_0000, MIB)]),
        )
        .unwrap();
        assert_eq!(p.main, range(0x4000_0000, 64 * MIB));
        assert_eq!(p.initrd, Some(0x300f_b000..0x3010_0000));
        assert_disjoint_inside(&p);
        // No initrd: the limit does not matter.
        let r = PlanRequest {
            initrd_len: 0,
            ..req(0x4000_0000, 64 * MIB)
        };
        assert!(plan(&img, &r).is_ok());
        // XLF_CAN_BE_LOADED_ABOVE_4G lifts the limit.
        let d = Synth {
            initrd_addr_max: 0x3fff_ffff,
            xloadflags: 0x3,
            ..Default::default()
        }
        .build();
        let img = BzImage::parse(&d).unwrap();
        let p = plan(&img, &req(0x4000_0000, 64 * MIB)).unwrap();
        assert_eq!(p.initrd.unwrap().end, 0x4400_0000);
    }

    #[test]
    fn mem_min() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let r = PlanRequest {
            mem_min: Some(0x4010_0800),
            ..req(0x4000_0000, 64 * MIB)
        };
        let p = plan(&img, &r).unwrap();
        assert_eq!(p.zero_page, 0x4010_1000);
        assert_eq!(p.kernel.start, 0x4020_0000);
        assert_disjoint_inside(&p);
        // Pushing the low blocks past 2 MiB moves the kernel to the next alignment.
        let r = PlanRequest {
            mem_min: Some(0x401f_0000),
            ..req(0x4000_0000, 64 * MIB)
        };
        assert_eq!(plan(&img, &r).unwrap().kernel.start, 0x4040_0000);
        for bad in [0x3fff_ffff, 0x4400_0000, 0] {
            let r = PlanRequest {
                mem_min: Some(bad),
                ..req(0x4000_0000, 64 * MIB)
            };
            assert_eq!(
                plan(&img, &r).unwrap_err(),
                PlanError::MemMinOutside {
                    mem_min: bad,
                    memory: "64M@0x40000000".into(),
                }
            );
        }
        // mem_min on the last byte of the range: nothing fits.
        let r = PlanRequest {
            mem_min: Some(0x43ff_ffff),
            ..req(0x4000_0000, 64 * MIB)
        };
        assert!(matches!(plan(&img, &r), Err(PlanError::TooSmall { .. })));
    }

    #[test]
    fn mem_min_with_two_ranges() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let two = [(0x1000_0000, 64 * MIB), (0x2000_0000, 64 * MIB)];
        // The higher range is the main one; mem_min in the lower changes nothing.
        for mem_min in [None, Some(0x1010_0800)] {
            let p = plan(
                &img,
                &PlanRequest {
                    mem_min,
                    ..req_list(&two)
                },
            )
            .unwrap();
            assert_eq!(p.main, range(0x2000_0000, 64 * MIB));
            assert_eq!(p.zero_page, 0x2000_0000);
            assert_eq!(p.kernel.start, 0x2020_0000);
        }
        // In the higher one: the pieces start there.
        let p = plan(
            &img,
            &PlanRequest {
                mem_min: Some(0x2010_0800),
                ..req_list(&two)
            },
        )
        .unwrap();
        assert_eq!(p.zero_page, 0x2010_1000);
        // Between the ranges: refused, naming them.
        let e = plan(
            &img,
            &PlanRequest {
                mem_min: Some(0x1800_0000),
                ..req_list(&two)
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "mem_min 0x18000000 is not inside the partition's memory \
             64M@0x10000000,64M@0x20000000"
        );
        // mem_min in the last MiB of the higher range, the lower range below
        // it: nothing fits.
        let e = plan(
            &img,
            &PlanRequest {
                mem_min: Some(0x23f0_0000),
                ..req_list(&two)
            },
        )
        .unwrap_err();
        assert!(matches!(e, PlanError::TooSmall { .. }), "{e}");
    }

    #[test]
    fn cmdline_limits() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let r = PlanRequest {
            cmdline_len: 2047,
            ..req(0x4000_0000, 64 * MIB)
        };
        assert!(plan(&img, &r).is_ok());
        let r = PlanRequest {
            cmdline_len: 2048,
            ..req(0x4000_0000, 64 * MIB)
        };
        assert_eq!(
            plan(&img, &r).unwrap_err(),
            PlanError::CmdlineTooLong {
                len: 2048,
                max: 2047
            }
        );
        let r = PlanRequest {
            cmdline_len: 0,
            ..req(0x4000_0000, 64 * MIB)
        };
        assert_eq!(plan(&img, &r).unwrap_err(), PlanError::CmdlineEmpty);
    }

    #[test]
    fn overflow_is_an_error() {
        let d = image_above_4g();
        let img = BzImage::parse(&d).unwrap();
        // A range at the very top of the address space: alignment would
        // wrap, so nothing fits there.
        let e = plan(&img, &req(u64::MAX - 0x1f_ffff, 0x10_0000)).unwrap_err();
        assert!(matches!(e, PlanError::TooSmall { .. }), "{e}");
        let e = plan(&img, &req(u64::MAX - 0x3fff, 0x2000)).unwrap_err();
        assert!(matches!(e, PlanError::TooSmall { .. }), "{e}");
        let r = PlanRequest {
            initrd_len: u64::MAX,
            ..req(0x4000_0000, 64 * MIB)
        };
        assert!(matches!(plan(&img, &r), Err(PlanError::Overflow { .. })));
        let r = PlanRequest {
            acpi_len: u64::MAX - 0x10,
            ..req(0x4000_0000, 64 * MIB)
        };
        assert!(matches!(plan(&img, &r), Err(PlanError::Overflow { .. })));
    }

    #[test]
    fn without_the_flag_the_pieces_stay_below_4g() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let e = plan(&img, &req(0x1_4000_0000, 64 * MIB)).unwrap_err();
        assert_eq!(
            e,
            PlanError::Above4G {
                what: "zero page",
                end: 0x1_4000_1000
            }
        );
        let msg = e.to_string();
        assert!(
            msg.contains("XLF_CAN_BE_LOADED_ABOVE_4G") && msg.contains("above 4 GiB"),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        // A range across 4 GiB: the kernel's area would cross it.
        let r = PlanRequest {
            initrd_len: 0,
            ..req(0xffe0_0000, 64 * MIB)
        };
        assert_eq!(
            plan(&img, &r).unwrap_err(),
            PlanError::Above4G {
                what: "kernel init_size area",
                end: 0x1_0010_0000
            }
        );
        // Where the kernel fits below 4 GiB in such a range, it goes there;
        // the initrd must still stay below initrd_addr_max.
        let r = PlanRequest {
            initrd_len: 0,
            ..req(0xff00_0000, 64 * MIB)
        };
        let p = plan(&img, &r).unwrap();
        assert_eq!(p.kernel, 0xff20_0000..0xff30_0000);
        assert!(!p.entry_64);
        assert_eq!(
            plan(&img, &req(0xff00_0000, 64 * MIB)).unwrap_err(),
            PlanError::InitrdAboveAddrMax {
                initrd_len: 0x5000,
                limit: 0x8000_0000,
                kernel_end: 0xff30_0000
            }
        );
        // With a range below 4 GiB too, that one is used, whatever its place.
        let p = plan(
            &img,
            &req_list(&[(0x1_4000_0000, 64 * MIB), (0x4000_0000, 64 * MIB)]),
        )
        .unwrap();
        assert_eq!(p.main, range(0x4000_0000, 64 * MIB));
        assert!(!p.entry_64);
        assert_disjoint_inside(&p);
    }

    #[test]
    fn above_4g_the_64_bit_entry() {
        let d = image_above_4g();
        let img = BzImage::parse(&d).unwrap();
        // 2G@0x140000000, the kind of range a host carves at run time.
        let p = plan(&img, &req(0x1_4000_0000, 2 << 30)).unwrap();
        assert_eq!(p.zero_page, 0x1_4000_0000);
        assert_eq!(p.cmdline.start, 0x1_4000_1000);
        assert_eq!(p.acpi, Some(0x1_4000_2000..0x1_4001_2000));
        assert_eq!(p.kernel, 0x1_4020_0000..0x1_4030_0000);
        assert!(p.entry_64);
        assert_eq!(p.entry, 0x1_4020_0200, "load address + 0x200");
        assert_eq!(p.initrd, Some(0x1_bfff_b000..0x1_c000_0000));
        assert_disjoint_inside(&p);
        // Across 4 GiB: the kernel above it needs the 64-bit entry too.
        let r = PlanRequest {
            initrd_len: 0,
            ..req(0xffe0_0000, 64 * MIB)
        };
        let p = plan(&img, &r).unwrap();
        assert_eq!(p.zero_page, 0xffe0_0000);
        assert_eq!(p.kernel.start, 0x1_0000_0000);
        assert!(p.entry_64);
        assert_eq!(p.entry, 0x1_0000_0200);
        // Below 4 GiB the 32-bit entry stays.
        let p = plan(&img, &req(0x4000_0000, 64 * MIB)).unwrap();
        assert!(!p.entry_64);
        assert_eq!(p.entry, 0x4020_0000);
        // Of two ranges that each hold everything, the higher is used.
        let p = plan(
            &img,
            &req_list(&[(0x4000_0000, 64 * MIB), (0x1_4000_0000, 64 * MIB)]),
        )
        .unwrap();
        assert_eq!(p.main, range(0x1_4000_0000, 64 * MIB));
        assert_eq!(p.entry, 0x1_4020_0200);
        assert_eq!(p.initrd, Some(0x1_43ff_b000..0x1_4400_0000));
        assert_disjoint_inside(&p);
    }

    #[test]
    fn two_ranges_kernel_in_one_initrd_in_the_other() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        // 4M@0x40000000 holds the kernel (0x40200000..0x40300000) and 1 MiB
        // above it; 2M@0x30000000 cannot hold the kernel. The 1.5 MiB
        // initrd fits in neither with the kernel: it goes to the top of the
        // other range.
        let r = PlanRequest {
            initrd_len: 0x18_0000,
            ..req_list(&[(0x4000_0000, 4 * MIB), (0x3000_0000, 2 * MIB)])
        };
        let p = plan(&img, &r).unwrap();
        assert_eq!(p.main, range(0x4000_0000, 4 * MIB));
        assert_eq!(p.zero_page, 0x4000_0000);
        assert_eq!(p.kernel, 0x4020_0000..0x4030_0000);
        assert_eq!(p.initrd, Some(0x3008_0000..0x3020_0000));
        assert!(!p.entry_64);
        assert_disjoint_inside(&p);
        // A 1 MiB initrd fits above the kernel: one range for everything.
        let r = PlanRequest {
            initrd_len: MIB,
            ..r
        };
        let p = plan(&img, &r).unwrap();
        assert_eq!(p.initrd, Some(0x4030_0000..0x4040_0000));
        // A 3 MiB initrd fits nowhere: the largest free piece is the 2 MiB range.
        let r = PlanRequest {
            initrd_len: 3 * MIB,
            ..r
        };
        let e = plan(&img, &r).unwrap_err();
        assert_eq!(
            e,
            PlanError::NoRoomForInitrd {
                initrd_len: 3 * MIB,
                main: range(0x4000_0000, 4 * MIB),
                largest_free: 2 * MIB,
                console_len: 0,
            }
        );
        assert_eq!(
            e.to_string(),
            "memory too small for the initrd of 0x300000 bytes: the kernel takes \
             4M@0x40000000, and the largest free piece of any range is 0x200000 bytes"
        );
        // Adjacent ranges are still two: a kernel that would only fit across
        // their seam (at 0x40200000, after the low blocks) does not fit.
        let r = PlanRequest {
            initrd_len: 0,
            ..req_list(&[(0x4000_0000, 2 * MIB), (0x4020_0000, 2 * MIB)])
        };
        assert!(matches!(
            plan(&img, &r),
            Err(PlanError::TooSmall { ranges: 2, .. })
        ));
        // Two ranges too small for the kernel: about the roomiest, the higher.
        let e = plan(
            &img,
            &req_list(&[(0x3000_0000, 2 * MIB), (0x4000_0000, 2 * MIB)]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "memory 2M@0x40000000 too small: kernel needs init_size 0x100000 at 0x40200000, \
             0x300000 bytes from the range's start (the roomiest of its 2 ranges)"
        );
    }

    #[test]
    fn console_region_at_the_top() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let r = PlanRequest {
            console_len: MIB,
            ..req(0x4000_0000, 64 * MIB)
        };
        let p = plan(&img, &r).unwrap();
        let c = p.console.unwrap();
        assert_eq!(c.region(), 0x43f0_0000..0x4400_0000);
        assert_eq!(
            (c.record_size(), c.console_size(), c.pmsg_size()),
            (0x1_0000, 0x8_0000, 0x1_0000)
        );
        // The initrd, as high as possible: right below the region.
        assert_eq!(p.initrd, Some(0x43ef_b000..0x43f0_0000));
        assert_eq!(p.kernel, 0x4020_0000..0x4030_0000);
        assert_disjoint_inside(&p);
        for r in [
            p.kernel.clone(),
            p.initrd.clone().unwrap(),
            p.acpi.clone().unwrap(),
        ] {
            assert!(r.end <= c.region().start, "{r:x?}");
        }
        // The same layout console_layout gives the command line.
        let one = list(&[(0x4000_0000, 64 * MIB)]);
        assert_eq!(console_layout(&one, MIB), Ok(Some(c)));
        assert_eq!(console_layout(&one, 0), Ok(None));
        // Without a region the initrd ends at the range's end.
        assert_eq!(
            plan(&img, &req(0x4000_0000, 64 * MIB)).unwrap().console,
            None
        );
        // With pref_address: the kernel at 16 MiB would leave no room for
        // the initrd below the region, so it moves down.
        let r = PlanRequest {
            console_len: MIB,
            ..req(0, 18 * MIB)
        };
        let p = plan(&img, &r).unwrap();
        assert_eq!(p.kernel.start, 2 * MIB);
        assert_eq!(p.console.unwrap().region(), 17 * MIB..18 * MIB);
        assert_eq!(p.initrd.unwrap().end, 17 * MIB);
    }

    #[test]
    fn console_region_in_the_highest_range() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        // The highest range larger than the region takes it, even a small
        // one that holds nothing else; the rest goes where it fits.
        let two = [(0x4000_0000, 64 * MIB), (0x1_0000_0000, 2 * MIB)];
        let r = PlanRequest {
            console_len: MIB,
            ..req_list(&two)
        };
        let p = plan(&img, &r).unwrap();
        assert_eq!(p.console.unwrap().region(), 0x1_0010_0000..0x1_0020_0000);
        assert_eq!(p.main, range(0x4000_0000, 64 * MIB));
        assert_eq!(p.initrd, Some(0x43ff_b000..0x4400_0000));
        assert!(!p.entry_64);
        assert_disjoint_inside(&p);
        assert_eq!(
            console_layout(&list(&two), MIB).unwrap().unwrap().region(),
            0x1_0010_0000..0x1_0020_0000
        );
        // A region as large as the higher range goes to the lower one.
        assert_eq!(
            console_layout(&list(&two), 2 * MIB)
                .unwrap()
                .unwrap()
                .region(),
            0x43e0_0000..0x4400_0000
        );
        // One larger than every range is refused, naming the largest.
        let e = console_layout(&list(&two), 64 * MIB).unwrap_err();
        assert_eq!(
            e,
            PlanError::ConsoleTooLarge {
                console_len: 64 * MIB,
                largest: 64 * MIB
            }
        );
        assert!(e.to_string().contains("--console-size"), "{e}");
    }

    #[test]
    fn console_region_too_large() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        // Kernel at +2 MiB, 1 MiB init_size, initrd 0x5000, region 1 MiB.
        let need = 4 * MIB + 0x5000;
        let r = |size| PlanRequest {
            console_len: MIB,
            ..req(0x4000_0000, size)
        };
        let p = plan(&img, &r(need)).unwrap();
        assert_eq!(p.initrd.as_ref().unwrap().start, p.kernel.end);
        assert_eq!(p.console.unwrap().region().start, p.initrd.unwrap().end);
        let e = plan(&img, &r(need - PAGE_SIZE)).unwrap_err();
        assert_eq!(
            e,
            PlanError::TooSmall {
                range: range(0x4000_0000, need - PAGE_SIZE),
                init_size: MIB,
                kernel_load: 0x4020_0000,
                initrd_len: 0x5000,
                needed: need,
                console_len: MIB,
                ranges: 1,
            }
        );
        let msg = e.to_string();
        assert_eq!(
            msg,
            "memory 4112K@0x40000000 too small: kernel needs init_size 0x100000 at 0x40200000 \
             and initrd 0x5000 bytes, 0x405000 bytes from the range's start, the console region \
             of 0x100000 bytes at its top included (shrink the console region with \
             --console-size, or leave it out with --no-console-region)"
        );
        // Without the region the same range is plenty.
        assert!(plan(&img, &req(0x4000_0000, need - PAGE_SIZE)).is_ok());
        // Where even no region would not help, the options are not offered.
        let e = plan(&img, &r(3 * MIB)).unwrap_err();
        assert!(
            e.to_string().ends_with(
                "0x405000 bytes from the range's start, the console region of 0x100000 bytes \
                 at its top included"
            ),
            "{e}"
        );
        // A region as large as the range.
        let e = plan(&img, &r(MIB)).unwrap_err();
        assert_eq!(
            e,
            PlanError::ConsoleTooLarge {
                console_len: MIB,
                largest: MIB
            }
        );
        assert!(e.to_string().contains("--console-size"), "{e}");
        assert!(e.to_string().contains("does not fit in"), "{e}");
        let r = PlanRequest {
            console_len: 60 << 10,
            ..req(0x4000_0000, 64 * MIB)
        };
        let e = plan(&img, &r).unwrap_err();
        assert_eq!(e, PlanError::Console(LayoutError::BadLength));
        assert!(e.to_string().contains("--no-console-region"), "{e}");
        // mem_min inside the region: nothing fits below it.
        let r = PlanRequest {
            console_len: MIB,
            mem_min: Some(0x43f8_0000),
            ..req(0x4000_0000, 64 * MIB)
        };
        assert!(matches!(plan(&img, &r), Err(PlanError::TooSmall { .. })));
    }

    #[test]
    fn real_image_plan() {
        let Some(d) = real_image() else { return };
        let img = BzImage::parse(&d).unwrap();
        let r = PlanRequest {
            memory: list(&[(0x1_0000_0000 - 256 * MIB, 256 * MIB)]),
            mem_min: None,
            cmdline_len: 200,
            initrd_len: 10 * MIB,
            acpi_len: 0x10000,
            console_len: MIB,
        };
        let p = plan(&img, &r).unwrap();
        assert_eq!(p.console.unwrap().region(), 0xfff0_0000..0x1_0000_0000);
        assert!(p.initrd.as_ref().unwrap().end <= 0x1_0000_0000 - MIB);
        assert_eq!(p.kernel.start % img.kernel_alignment(), 0);
        assert_eq!(p.kernel.end - p.kernel.start, img.init_size());
        assert!(!p.entry_64);
        assert_disjoint_inside(&p);
        // The real image may be loaded above 4 GiB, through its 64-bit entry.
        assert!(img.can_load_above_4g());
        let high = PlanRequest {
            memory: list(&[(0x1_4000_0000, 256 * MIB)]),
            ..r.clone()
        };
        let p = plan(&img, &high).unwrap();
        assert!(p.entry_64);
        assert_eq!(p.entry, p.kernel.start + 0x200);
        assert_disjoint_inside(&p);
        // Memory just big enough for the kernel alone is too small with an initrd.
        let small = PlanRequest {
            memory: list(&[(
                0x1_0000_0000 - 256 * MIB,
                img.kernel_alignment() + img.init_size(),
            )]),
            ..r
        };
        assert!(matches!(
            plan(&img, &small),
            Err(PlanError::TooSmall { .. })
        ));
    }

    #[test]
    fn dry_run_memory_places_sizes_above_4g() {
        use mint_logic::memlist::parse_request;
        let d = |s: &str| dry_run_memory(&parse_request(s).unwrap()).map(|l| l.to_string());
        assert_eq!(d("256M@0x20000000").as_deref(), Some("256M@0x20000000"));
        assert_eq!(
            d("2G,512M").as_deref(),
            Some("2G@0x100000000,512M@0x180000000")
        );
        // Above the placed items, on a 2 MiB boundary.
        assert_eq!(
            d("2M,16K@0x140001000,256M@0x20000000").as_deref(),
            Some("256M@0x20000000,16K@0x140001000,2M@0x140200000")
        );
        // Past the end of the address space: none.
        assert_eq!(d("4M,4K@0xffffffffffffe000"), None);
    }
}
