//! mint's fuzz targets as plain functions, for two drivers:
//!
//! - `cargo fuzz` (libFuzzer, `fuzz/fuzz_targets/*.rs`, one thin binary per
//!   target) for coverage-guided runs: `cargo xtask fuzz`;
//! - [`regress`], a stable, libFuzzer-free run of every target over its
//!   seeds, its recorded crashes and a fixed number of deterministic
//!   mutations: the `cargo test` of this crate, which `cargo xtask test`
//!   runs with the host unit tests.
//!
//! Every target takes arbitrary bytes, must not panic, overflow, index out
//! of bounds or allocate by what the input claims, and asserts a property
//! of what the parser returns (see each target's documentation). Seeds come
//! from the project's real inputs ([`real`]), generated at run time, and
//! from small hand-made files in `fuzz/seeds/<target>/`; inputs that once
//! failed live in `fuzz/regressions/<target>/`.

use std::path::PathBuf;

pub mod input;
pub mod mutate;
pub mod real;
pub mod regress;
pub mod seeds;
pub mod targets;

/// One fuzz target.
pub struct Target {
    /// Its name: the `cargo fuzz` binary, and the seed and regression
    /// directories.
    pub name: &'static str,
    /// What it fuzzes.
    pub about: &'static str,
    /// Runs one input; panics when a property fails.
    pub run: fn(&[u8]),
    /// Longest input worth trying (libFuzzer's `-max_len`).
    pub max_len: usize,
    /// Tokens for the mutators (libFuzzer's `-dict`).
    pub dict: &'static [&'static [u8]],
    /// Seeds generated from the real inputs (and synthetic ones).
    pub seeds: fn(&real::Real) -> Vec<seeds::Seed>,
}

const TEXT_DICT: &[&[u8]] = &[
    b",",
    b"-",
    b"@",
    b"0x",
    b"0X",
    b"K",
    b"M",
    b"G",
    b"k",
    b"m",
    b"g",
    b"\n",
    b" ",
    b"\t",
    b"os",
    b"255",
    b"256",
    b"4096",
    b"0x1000",
    b"18446744073709551615",
    b"0xffffffffffffffff",
    b"ffffffffffffffff",
    b"ACPI PM_TMR",
    b" : ",
];

const KERNEL_DICT: &[&[u8]] = &[
    b"HdrS",
    b"\x55\xaa",
    b"\x7fELF\x02\x01\x01",
    b"\x02\x21\x4c\x18",
    b"\x00\x00\x20\x00\x00\x00\x00\x00",
    b"\x01\x00\x00\x00",
    b"\x3e\x00",
    b"\x38\x00",
];

const INITRD_DICT: &[&[u8]] = &[
    b"070701",
    b"070702",
    b"TRAILER!!!\0",
    b"\x1f\x8b\x08",
    b"\x28\xb5\x2f\xfd",
    b"\xfd7zXZ\x00",
    b"00000000",
    b"0000000b",
];

const LOAD_IMAGE_DICT: &[&[u8]] = &[
    b"MINTLOAD",
    b"\x00\x10\x00\x00\x00\x00\x00\x00",
    b"\x00\x00\x00\x20\x00\x00\x00\x00",
    b"\x00\x00\x00\x10\x00\x00\x00\x00",
    b"\x00\x60\x00\x00",
    b"\x00\x00\x01\x00",
];

const PCI_DICT: &[&[u8]] = &[
    b"0x",
    b"0x0000000000000000",
    b"0x000000000000ffff",
    b"0xffffffffffffffff",
    b"0x0000000000040101",
    b"0x0000000000040200",
    b"0x0000000000046200",
    b"0x000000000014220c",
    b"0x0000000020000000",
    b"0x0000000000000212",
    b" ",
    b"\n",
    b"MCFG",
    b"\x3c\x00\x00\x00",
    b"\x00\x00\x00\xb0\x00\x00\x00\x00",
    b"\x00\x00\x00\xff",
    b"0000:",
    b":00.0",
    b"1f.7",
    b",",
    b":",
    b".",
];

/// Every target, in the order runs report them.
pub static TARGETS: &[Target] = &[
    Target {
        name: "cpulist",
        about: "mint-logic cpulist::parse (the cpus file), against a reference model; canonical form round trip",
        run: targets::text::cpulist,
        max_len: 256,
        dict: TEXT_DICT,
        seeds: seeds::none,
    },
    Target {
        name: "memrange",
        about: "mint-logic memrange::parse (SIZE@START, the memory file), against a reference model; Display round trip; range geometry",
        run: targets::text::memrange,
        max_len: 128,
        dict: TEXT_DICT,
        seeds: seeds::none,
    },
    Target {
        name: "memlist",
        about: "mint-logic memlist::parse_request / parse_ranges (the memory file, lists of SIZE and SIZE@START), against a reference model; Display round trip; sorted, disjoint lists; placed; sort_small",
        run: targets::text::memlist,
        max_len: 512,
        dict: TEXT_DICT,
        seeds: seeds::memlist,
    },
    Target {
        name: "name",
        about: "mint-logic name::parse_name / index (the create and destroy files), against a reference model",
        run: targets::text::name,
        max_len: 32,
        dict: TEXT_DICT,
        seeds: seeds::none,
    },
    Target {
        name: "sysfs_values",
        about: "mint-kexec sysfs::parse_lowmem / parse_apic_ids / pm_timer_port: print-and-parse round trips",
        run: targets::text::sysfs_values,
        max_len: 512,
        dict: TEXT_DICT,
        seeds: seeds::none,
    },
    Target {
        name: "fadt",
        about: "mint-logic fadt::role (the module's own FADT), against a reference model",
        run: targets::fadt::fadt,
        max_len: 256,
        dict: &[b"MINT  ", b"FACP", b"\x00\x10\x01\x20\x00\x00\x00\x00"],
        seeds: seeds::fadt,
    },
    Target {
        name: "identity",
        about: "mint-logic identity::IdentityMap (the boot page tables) on fuzzed range lists: refusals, table count, a 4-level walk maps every range and the first 4 GiB 1:1 with 2 MiB pages",
        run: targets::identity::identity,
        max_len: 512,
        dict: &[
            b"\x00\x00\x00\x40\x00\x00\x00\x00",
            b"\x00\x00\x00\x00\x01\x00\x00\x00",
            b"\x00\x00\x00\x00\x00\x80\x00\x00",
            b"\x00\x00\x20\x00\x00\x00\x00\x00",
            b"\xff\xff\xff\xff\xff\xff\xff\xff",
        ],
        seeds: seeds::identity,
    },
    Target {
        name: "bzimage",
        about: "mint-kexec BzImage::parse (setup header) and compressed_payload: fields are the header's bytes, payload inside the file",
        run: targets::kernel::bzimage,
        max_len: 32 << 10,
        dict: KERNEL_DICT,
        seeds: seeds::bzimage,
    },
    Target {
        name: "kernel_lz4",
        about: "mint-kexec vmlinux::decompress_payload (lz4 -l + size trailer): announced length, round trip",
        run: targets::kernel::kernel_lz4,
        max_len: 64 << 10,
        dict: KERNEL_DICT,
        seeds: seeds::kernel_lz4,
    },
    Target {
        name: "vmlinux",
        about: "mint-kexec vmlinux::load_segments (ELF PT_LOADs): one segment per PT_LOAD, sorted, disjoint, inside init_size",
        run: targets::kernel::vmlinux,
        max_len: 16 << 10,
        dict: KERNEL_DICT,
        seeds: seeds::vmlinux,
    },
    Target {
        name: "initrd",
        about: "mint-kexec initrd::decompress (initramfs walker): refusals point into the input; output equals a model of the kernel's walk",
        run: targets::initrd::initrd,
        max_len: 64 << 10,
        dict: INITRD_DICT,
        seeds: seeds::initrd,
    },
    Target {
        name: "load_image",
        about: "mint-logic load_image::parse + validate_within (random ranges): streaming header check, re-encoding, a model of the memory checks",
        run: targets::load_image::load_image,
        max_len: 64 << 10,
        dict: LOAD_IMAGE_DICT,
        seeds: seeds::load_image,
    },
    Target {
        name: "assemble",
        about: "mint-kexec assemble::assemble on a fuzzed kernel, initrd, ELF and memory ranges: the image validates, the plan's pieces lie in the ranges, disjoint",
        run: targets::assemble::assemble,
        max_len: 32 << 10,
        dict: KERNEL_DICT,
        seeds: seeds::assemble,
    },
    Target {
        name: "ramoops",
        about: "mint-logic ramoops: zone decoding, text slices, crash record heads, panic reasons, region layouts",
        run: targets::ramoops::ramoops,
        max_len: 8 << 10,
        dict: &[b"DBGC", b"====", b"-D\n", b"-C\n", b"Panic#", b"Oops#", b"Kernel panic - not syncing: ", b"\n"],
        seeds: seeds::ramoops,
    },
    Target {
        name: "pci_sysfs",
        about: "mint-kexec pci::parse_resource / parse_mcfg, mint-logic pcilist (the devices file), against reference models; BARs fit their kind, ECAM aligned, BDF round trip",
        run: targets::pci::pci_sysfs,
        max_len: 2048,
        dict: PCI_DICT,
        seeds: seeds::pci_sysfs,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `main` of a `fuzz/fuzz_targets/*.rs` binary built without
/// libFuzzer (plain `cargo build`/`cargo run`): runs the target on each file
/// named on the command line, e.g. a crash artifact, so that it reproduces
/// on the stable toolchain without `cargo fuzz`.
pub fn replay_main(name: &str) {
    let t = target(name).expect("the binary's target is registered");
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!(
            "{name}: built without libFuzzer (`cargo fuzz run {name}` fuzzes it); \
             give files to replay them: {name} FILE..."
        );
        std::process::exit(2);
    }
    for f in files {
        let data = std::fs::read(&f).unwrap_or_else(|e| panic!("cannot read {f}: {e}"));
        (t.run)(&data);
        println!("{name}: {f}: ok ({} bytes)", data.len());
    }
}
