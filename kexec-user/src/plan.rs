//! Plan where each piece of a boot goes inside the partition's physical
//! memory window `[start, start + size)`.
//!
//! Layout, every piece page aligned, from `mem_min` (default: window start)
//! upward:
//!
//! ```text
//! mem_min -> zero page (4 KiB)
//!            command line (rounded up to pages)
//!            ACPI block (rounded up to pages; optional)
//!            ... gap up to the next multiple of kernel_alignment ...
//! load    -> kernel: protected-mode payload, then room up to load + init_size
//!            ... free ...
//!            initrd (page aligned start, as high as possible; optional)
//! top     -> min(console region start, initrd_addr_max + 1)
//!            ... free up to the console region ...
//!            console region (ramoops; optional, default 1 MiB)
//! end     -> window end
//! ```
//!
//! The console region ([`console_layout`]) takes the top of the window:
//! everything else is planned below it as if the window ended there.
//!
//! If the image's `pref_address` is suitably aligned, lies above the ACPI
//! block and everything still fits with the kernel there, the kernel goes to
//! `pref_address`; otherwise to the lowest aligned address. Because the entry
//! is the 32-bit boot protocol entry (`code32_start`, run with paging off),
//! the zero page and the kernel's whole `init_size` area must lie below 4 GiB.
//! The 64-bit entry (`mint-kexec load --decompress`) uses the same plan: the
//! decompressed kernel's segments go inside `[load, load + init_size)` and
//! its identity page tables, which map the first 4 GiB, go in the ACPI block.
//! All arithmetic is checked: `start + size` may wrap.

use std::ops::Range;

use mint_logic::ramoops::{Layout, LayoutError};

use crate::bzimage::BzImage;

/// Page size used for every alignment in the plan.
pub const PAGE_SIZE: u64 = 0x1000;
/// Size of the zero page (`struct boot_params`).
pub const ZERO_PAGE_SIZE: u64 = 0x1000;
/// Limit of what the 32-bit entry can reach with paging off.
pub const FOUR_GIB: u64 = 1 << 32;

/// What to plan for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    /// First byte of the partition's memory window.
    pub window_start: u64,
    /// Size of the window in bytes.
    pub window_size: u64,
    /// Lowest address to use (kexec's `--mem-min`); `None` means the window start.
    pub mem_min: Option<u64>,
    /// Command line length including the terminating NUL.
    pub cmdline_len: u64,
    /// Initrd length in bytes; 0 means no initrd.
    pub initrd_len: u64,
    /// Length of the ACPI tables block; 0 means none.
    pub acpi_len: u64,
    /// Length of the console (ramoops) region at the top of the window; 0
    /// means none.
    pub console_len: u64,
}

/// Where everything goes. All ranges lie inside [`LoadPlan::window`] and do
/// not overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadPlan {
    /// The partition's window `[start, start + size)`.
    pub window: Range<u64>,
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
    /// Initrd bytes (exact length, page aligned start), if any.
    pub initrd: Option<Range<u64>>,
    /// Entry point: the kernel load address (32-bit boot protocol, `code32_start`).
    /// The 64-bit entry uses `startup_64` instead (see `assemble::Assembled::entry`).
    pub entry: u64,
    /// The console (ramoops) region at the top of the window, if any; every
    /// other range lies below it.
    pub console: Option<Layout>,
}

/// Why no plan fits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// An address computation wrapped around 2^64.
    #[error("address overflow: {what} (window 0x{window_start:x} + 0x{window_size:x})")]
    Overflow {
        /// Which computation overflowed.
        what: &'static str,
        /// Window start.
        window_start: u64,
        /// Window size.
        window_size: u64,
    },
    /// `mem_min` is not inside the window.
    #[error("mem_min 0x{mem_min:x} outside window 0x{start:x}..0x{end:x}")]
    MemMinOutsideWindow {
        /// Requested lowest address.
        mem_min: u64,
        /// Window start.
        start: u64,
        /// Window end (exclusive).
        end: u64,
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
    /// The window cannot hold the low blocks, the kernel's `init_size`
    /// area, the initrd and the console region.
    #[error(
        "window 0x{window_size:x} bytes too small: kernel needs init_size 0x{init_size:x} at \
         0x{kernel_load:x} and initrd 0x{initrd_len:x} bytes, 0x{needed:x} bytes from the window \
         start{}",
        console_note(*console_len, *needed, *window_size)
    )]
    WindowTooSmall {
        /// Window size.
        window_size: u64,
        /// The image's `init_size`.
        init_size: u64,
        /// Lowest possible kernel load address.
        kernel_load: u64,
        /// Initrd length.
        initrd_len: u64,
        /// Bytes needed from the window start, the console region included.
        needed: u64,
        /// Length of the console region at the window's top (0: none).
        console_len: u64,
    },
    /// The console region is not smaller than the window.
    #[error(
        "the console region of 0x{console_len:x} bytes does not fit in the window of \
         0x{window_size:x} bytes{}",
        HINT
    )]
    ConsoleLargerThanWindow {
        /// The region's length.
        console_len: u64,
        /// Window size.
        window_size: u64,
    },
    /// The console region at the top of the window is not one ramoops lays
    /// out (a window end or a length that is not a multiple of 4 KiB, a
    /// length outside 64 KiB to 1 GiB).
    #[error("{}{}", .0, HINT)]
    Console(LayoutError),
    /// The initrd would fit in the window, but not below `initrd_addr_max`.
    #[error(
        "initrd of 0x{initrd_len:x} bytes must end at or below initrd_addr_max+1 = 0x{limit:x} \
         but the kernel occupies up to 0x{kernel_end:x}"
    )]
    InitrdAboveAddrMax {
        /// Initrd length.
        initrd_len: u64,
        /// `initrd_addr_max + 1`.
        limit: u64,
        /// End of the kernel's `init_size` area.
        kernel_end: u64,
    },
    /// The 32-bit entry cannot reach the zero page or the kernel.
    #[error("{what} ends at 0x{end:x}, above the 4 GiB reach of the 32-bit boot entry")]
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

/// The end of a [`PlanError::WindowTooSmall`] message: the console region
/// counted in, and how to make room if a smaller region (or none) would.
fn console_note(console_len: u64, needed: u64, window_size: u64) -> String {
    if console_len == 0 {
        return String::new();
    }
    let helps = needed.saturating_sub(console_len) < window_size;
    format!(
        ", the console region of 0x{console_len:x} bytes at its top included{}",
        if helps { HINT } else { "" }
    )
}

/// The console (ramoops) region of `len` bytes at the top of the window
/// `[start, start + size)`, laid out as [`Layout::for_region`] chooses; `None`
/// for `len` 0. The command line's `ramoops.*` parameters and the load image
/// take their numbers from it.
pub fn console_layout(start: u64, size: u64, len: u64) -> Result<Option<Layout>, PlanError> {
    if len == 0 {
        return Ok(None);
    }
    if len >= size {
        return Err(PlanError::ConsoleLargerThanWindow {
            console_len: len,
            window_size: size,
        });
    }
    let end = start.checked_add(size).ok_or(PlanError::Overflow {
        what: "window end",
        window_start: start,
        window_size: size,
    })?;
    Layout::for_region(end - len, len)
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

/// Plans the layout of `image` and the other pieces described by `req`.
pub fn plan(image: &BzImage<'_>, req: &PlanRequest) -> Result<LoadPlan, PlanError> {
    let ovf = |what| PlanError::Overflow {
        what,
        window_start: req.window_start,
        window_size: req.window_size,
    };
    let start = req.window_start;
    let window_end = start
        .checked_add(req.window_size)
        .ok_or_else(|| ovf("window end"))?;
    let mem_min = req.mem_min.unwrap_or(start);
    if !(start..window_end).contains(&mem_min) {
        return Err(PlanError::MemMinOutsideWindow {
            mem_min,
            start,
            end: window_end,
        });
    }
    let console = console_layout(start, req.window_size, req.console_len)?;
    // Everything else goes below the console region.
    let end = console.map_or(window_end, |c| c.region().start);
    if req.cmdline_len == 0 {
        return Err(PlanError::CmdlineEmpty);
    }
    if req.cmdline_len > image.cmdline_size() {
        return Err(PlanError::CmdlineTooLong {
            len: req.cmdline_len,
            max: image.cmdline_size(),
        });
    }
    let init_size = image.init_size();
    let initrd_len = req.initrd_len;
    let initrd_pages = align_up(initrd_len, PAGE_SIZE).ok_or_else(|| ovf("initrd size"))?;

    // Low blocks, upward from mem_min.
    let zero_page = align_up(mem_min, PAGE_SIZE).ok_or_else(|| ovf("zero page"))?;
    let cmdline_at = zero_page
        .checked_add(ZERO_PAGE_SIZE)
        .ok_or_else(|| ovf("command line"))?;
    if cmdline_at > FOUR_GIB {
        return Err(PlanError::Above4G {
            what: "zero page",
            end: cmdline_at,
        });
    }
    let cmdline_pages = align_up(req.cmdline_len, PAGE_SIZE).ok_or_else(|| ovf("command line"))?;
    let acpi_at = cmdline_at
        .checked_add(cmdline_pages)
        .ok_or_else(|| ovf("ACPI block"))?;
    let acpi_pages = align_up(req.acpi_len, PAGE_SIZE).ok_or_else(|| ovf("ACPI block"))?;
    let low_end = acpi_at
        .checked_add(acpi_pages)
        .ok_or_else(|| ovf("ACPI block end"))?;

    // Initrd: as high as allowed.
    let mut initrd_limit = end;
    if !image.can_load_above_4g() {
        initrd_limit = initrd_limit.min(image.initrd_addr_max().saturating_add(1));
    }
    // Initrd start for a given upper limit, if the initrd fits at all.
    let initrd_start = |limit: u64| -> Option<u64> {
        limit
            .checked_sub(initrd_len)
            .map(|s| align_down(s, PAGE_SIZE))
    };

    // Does the kernel at `load` leave room for everything above it?
    let fits = |load: u64, limit: u64| -> bool {
        let Some(kend) = load.checked_add(init_size) else {
            return false;
        };
        if kend > end {
            return false;
        }
        if initrd_len == 0 {
            return true;
        }
        matches!(initrd_start(limit), Some(s) if s >= kend)
    };

    let align = image.kernel_alignment();
    let lowest = align_up(low_end, align).ok_or_else(|| ovf("kernel load address"))?;
    let pref = image.pref_address();
    let load = if pref >= lowest && pref.is_multiple_of(align) && fits(pref, initrd_limit) {
        pref
    } else if fits(lowest, initrd_limit) {
        lowest
    } else if low_end <= end && initrd_limit < end && fits(lowest, end) {
        return Err(PlanError::InitrdAboveAddrMax {
            initrd_len,
            limit: initrd_limit,
            kernel_end: lowest.saturating_add(init_size),
        });
    } else {
        let needed = (lowest - start)
            .checked_add(init_size)
            .and_then(|n| n.checked_add(initrd_pages))
            .and_then(|n| n.checked_add(req.console_len))
            .ok_or_else(|| ovf("needed size"))?;
        return Err(PlanError::WindowTooSmall {
            window_size: req.window_size,
            init_size,
            kernel_load: lowest,
            initrd_len,
            needed,
            console_len: req.console_len,
        });
    };
    let kernel_end = load + init_size; // checked by fits()

    if kernel_end > FOUR_GIB {
        return Err(PlanError::Above4G {
            what: "kernel init_size area",
            end: kernel_end,
        });
    }

    let initrd = if initrd_len == 0 {
        None
    } else {
        let s = initrd_start(initrd_limit).expect("checked by fits()");
        Some(s..s + initrd_len)
    };
    Ok(LoadPlan {
        window: start..window_end,
        zero_page,
        cmdline: cmdline_at..cmdline_at + req.cmdline_len,
        acpi: (req.acpi_len != 0).then(|| acpi_at..acpi_at + req.acpi_len),
        kernel: load..kernel_end,
        payload: load..load + image.payload_len(),
        initrd,
        entry: load,
        console,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bzimage::test_support::{real_image, Synth};

    const MIB: u64 = 1 << 20;

    fn req(start: u64, size: u64) -> PlanRequest {
        PlanRequest {
            window_start: start,
            window_size: size,
            mem_min: None,
            cmdline_len: 100,
            initrd_len: 0x5000,
            acpi_len: 0x10000,
            console_len: 0,
        }
    }

    /// Synthetic image: alignment 2 MiB, init_size 1 MiB, pref_address 16 MiB.
    fn image_bytes() -> Vec<u8> {
        Synth::default().build()
    }

    fn assert_disjoint_inside(p: &LoadPlan) {
        let mut rs = vec![
            p.zero_page..p.zero_page + ZERO_PAGE_SIZE,
            p.cmdline.clone(),
            p.kernel.clone(),
        ];
        rs.extend(p.acpi.clone());
        rs.extend(p.initrd.clone());
        for r in &rs {
            assert!(
                p.window.start <= r.start && r.end <= p.window.end,
                "{r:x?} outside {:x?}",
                p.window
            );
            assert_eq!(r.start % PAGE_SIZE, 0, "{r:x?} unaligned");
        }
        for (i, a) in rs.iter().enumerate() {
            for b in &rs[i + 1..] {
                assert!(
                    a.end <= b.start || b.end <= a.start,
                    "{a:x?} overlaps {b:x?}"
                );
            }
        }
    }

    #[test]
    fn basic_layout() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let p = plan(&img, &req(0x4000_0000, 64 * MIB)).unwrap();
        assert_eq!(p.zero_page, 0x4000_0000);
        assert_eq!(p.cmdline, 0x4000_1000..0x4000_1000 + 100);
        assert_eq!(p.acpi, Some(0x4000_2000..0x4001_2000));
        assert_eq!(p.kernel, 0x4020_0000..0x4030_0000);
        assert_eq!(p.payload, 0x4020_0000..0x4020_3000);
        assert_eq!(p.entry, 0x4020_0000);
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
        assert_eq!(p.initrd.as_ref().unwrap().end, p.window.end);
        assert_disjoint_inside(&p);
        let e = plan(&img, &req(0x4000_0000, need - PAGE_SIZE)).unwrap_err();
        assert_eq!(
            e,
            PlanError::WindowTooSmall {
                window_size: need - PAGE_SIZE,
                init_size: MIB,
                kernel_load: 0x4020_0000,
                initrd_len: 0x5000,
                needed: need,
                console_len: 0,
            }
        );
        assert_eq!(
            e.to_string(),
            "window 0x304000 bytes too small: kernel needs init_size 0x100000 at 0x40200000 \
             and initrd 0x5000 bytes, 0x305000 bytes from the window start"
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
        assert!(matches!(
            plan(&img, &r),
            Err(PlanError::WindowTooSmall { .. })
        ));
        // Window smaller than the low blocks.
        assert!(matches!(
            plan(&img, &req(0x4000_0000, 0x2000)),
            Err(PlanError::WindowTooSmall { .. })
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
        // initrd_addr_max inside the window: initrd ends at or below it.
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
        // Below the kernel end / below the window: error naming the limit.
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
                PlanError::MemMinOutsideWindow {
                    mem_min: bad,
                    start: 0x4000_0000,
                    end: 0x4400_0000
                }
            );
        }
        // mem_min on the last byte of the window: nothing fits.
        let r = PlanRequest {
            mem_min: Some(0x43ff_ffff),
            ..req(0x4000_0000, 64 * MIB)
        };
        assert!(matches!(
            plan(&img, &r),
            Err(PlanError::WindowTooSmall { .. })
        ));
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
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        assert!(matches!(
            plan(&img, &req(u64::MAX - 0xfff, 0x2000)),
            Err(PlanError::Overflow { .. })
        ));
        assert!(matches!(
            plan(&img, &req(1 << 63, 1 << 63)),
            Err(PlanError::Overflow { .. })
        ));
        // Window at the very top of the address space: alignment would wrap.
        let e = plan(&img, &req(u64::MAX - 0x1f_ffff, 0x10_0000)).unwrap_err();
        assert!(
            matches!(e, PlanError::Overflow { .. } | PlanError::Above4G { .. }),
            "{e}"
        );
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
    fn must_stay_below_4g() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let e = plan(&img, &req(0x1_0000_0000, 64 * MIB)).unwrap_err();
        assert_eq!(
            e,
            PlanError::Above4G {
                what: "zero page",
                end: 0x1_0000_1000
            }
        );
        let r = PlanRequest {
            initrd_len: 0,
            ..req(0xffe0_0000, 64 * MIB)
        };
        let e = plan(&img, &r).unwrap_err();
        assert_eq!(
            e,
            PlanError::Above4G {
                what: "kernel init_size area",
                end: 0x1_0010_0000
            }
        );
    }

    #[test]
    fn console_region_at_the_window_top() {
        let d = image_bytes();
        let img = BzImage::parse(&d).unwrap();
        let r = PlanRequest {
            console_len: MIB,
            ..req(0x4000_0000, 64 * MIB)
        };
        let p = plan(&img, &r).unwrap();
        assert_eq!(p.window, 0x4000_0000..0x4400_0000, "the whole window");
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
        assert_eq!(console_layout(0x4000_0000, 64 * MIB, MIB), Ok(Some(c)));
        assert_eq!(console_layout(0x4000_0000, 64 * MIB, 0), Ok(None));
        // Without a region the initrd ends at the window's end.
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
    fn console_region_too_large_for_the_window() {
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
            PlanError::WindowTooSmall {
                window_size: need - PAGE_SIZE,
                init_size: MIB,
                kernel_load: 0x4020_0000,
                initrd_len: 0x5000,
                needed: need,
                console_len: MIB,
            }
        );
        let msg = e.to_string();
        assert_eq!(
            msg,
            "window 0x404000 bytes too small: kernel needs init_size 0x100000 at 0x40200000 \
             and initrd 0x5000 bytes, 0x405000 bytes from the window start, the console region \
             of 0x100000 bytes at its top included (shrink the console region with \
             --console-size, or leave it out with --no-console-region)"
        );
        // Without the region the same window is plenty.
        assert!(plan(&img, &req(0x4000_0000, need - PAGE_SIZE)).is_ok());
        // Where even no region would not help, the options are not offered.
        let e = plan(&img, &r(3 * MIB)).unwrap_err();
        assert!(e.to_string().ends_with(
            "0x405000 bytes from the window start, the console region of 0x100000 bytes at its \
             top included"
        ), "{e}");
        // A region as large as the window, and a misaligned window end.
        let e = plan(&img, &r(MIB)).unwrap_err();
        assert_eq!(
            e,
            PlanError::ConsoleLargerThanWindow {
                console_len: MIB,
                window_size: MIB
            }
        );
        assert!(e.to_string().contains("--console-size"), "{e}");
        let e = plan(&img, &r(64 * MIB + 0x800)).unwrap_err();
        assert_eq!(e, PlanError::Console(LayoutError::Misaligned));
        assert!(e.to_string().contains("--no-console-region"), "{e}");
        let r = PlanRequest {
            console_len: 60 << 10,
            ..req(0x4000_0000, 64 * MIB)
        };
        assert_eq!(
            plan(&img, &r).unwrap_err(),
            PlanError::Console(LayoutError::BadLength)
        );
        // mem_min inside the region: nothing fits below it.
        let r = PlanRequest {
            console_len: MIB,
            mem_min: Some(0x43f8_0000),
            ..req(0x4000_0000, 64 * MIB)
        };
        assert!(matches!(
            plan(&img, &r),
            Err(PlanError::WindowTooSmall { .. })
        ));
    }

    #[test]
    fn real_image_plan() {
        let Some(d) = real_image() else { return };
        let img = BzImage::parse(&d).unwrap();
        let r = PlanRequest {
            window_start: 0x1_0000_0000 - 256 * MIB,
            window_size: 256 * MIB,
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
        assert_disjoint_inside(&p);
        // A window just big enough for the kernel alone is too small with an initrd.
        let small = PlanRequest {
            window_size: img.kernel_alignment() + img.init_size(),
            ..r
        };
        assert!(matches!(
            plan(&img, &small),
            Err(PlanError::WindowTooSmall { .. })
        ));
    }
}
