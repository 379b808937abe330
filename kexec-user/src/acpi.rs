//! A per-partition ACPI table set.
//!
//! The partition's kernel (the host's own bzImage, built with `CONFIG_ACPI`)
//! finds its tables through `boot_params.acpi_rsdp_addr`. They must describe
//! only the partition's CPUs and devices and steer the kernel away from every
//! piece of shared hardware, so the set is minimal. The tables come from the
//! `acpi_tables` crate (its table builders and its AML builder); they follow
//! one another in the block in this order, each 16-byte aligned:
//!
//! * RSDP, revision 2, at the block's start (so `rsdp_addr` is the block's
//!   base, which the loader's tests rely on), pointing at the XSDT and, if
//!   the whole block lies below 4 GiB, at the RSDT;
//! * XSDT, listing the FADT, the MADT and, with PCI buses, the MCFG;
//! * RSDT, the same list with 32-bit pointers, only below 4 GiB;
//! * FADT, revision 6.0, hardware-reduced: the PM timer, and the reset and
//!   sleep registers in the status page (below);
//! * DSDT, revision 2 (64-bit AML integers): `\_S5`, the console UART and
//!   the PCI host bridges (below);
//! * MADT: the decoy LAPIC, then one entry per partition CPU (a local APIC
//!   for ids up to 0xfe, a local x2APIC above; see the notes in [`build`]);
//! * MCFG, only with PCI buses: one allocation per bus.
//!
//! Below 4 GiB that puts the FADT at 0xa0 and the DSDT at 0x1c0, and
//! without PCI buses the MADT right after the DSDT (offsets the loader's
//! real-image test in `assemble.rs` checks). The crate cannot express three
//! things, which are written here in a few documented lines: the RSDP's
//! RSDT pointer (the crate leaves it zero), the MADT's revision (the crate
//! writes 1; the set keeps revision 5) and the Processor Local x2APIC
//! structure (MADT type 9, a small struct here). The tables name the crate as their creator
//! ([`CREATOR_ID`]); their OEM fields are mint's ([`OEM_ID`], which the
//! module looks for in the FADT).
//!
//! The set is at most [`MAX_TABLES_LEN`] bytes long (an upper bound for
//! [`MAX_CPUS`] x2APIC CPUs, a console UART, [`MAX_PCI_BUSES`] buses and
//! [`MAX_PCI_WINDOWS`] windows), well inside [`ACPI_TABLES_MAX`]; [`build`]
//! refuses more buses or windows.
//!
//! The reserved block ([`ACPI_BLOCK_SIZE`], 64 KiB, ACPI data in the
//! partition's e820, so its kernel never reuses it) holds the ACPI tables at
//! its start and in its last page the partition's status page
//! ([`STATUS_PAGE_OFFSET`]); the 64-bit entry's page tables, which load
//! images up to version 4 placed at 0x8000, are the module's now, in host
//! memory:
//!
//! ```text
//! 0x0000  ACPI tables (at most ACPI_TABLES_MAX = 0x8000 bytes)
//! 0x8000  unused
//! 0xf000  status page, 0x1000 bytes (no segment: all zero from the scrub)
//! ```
//!
//! The status page (layout in [`mint_logic::load_image`]) is where the
//! partition's kernel ends up when it reboots or powers off through ACPI,
//! and the module watches it:
//!
//! | FADT field | value | what the partition's kernel does with it |
//! |---|---|---|
//! | `RESET_REG` | SystemMemory, 8 bits, byte access, status page + 0 | `acpi_reboot` writes `RESET_VALUE` there, waits 15 ms, then falls back to the keyboard controller and a triple fault, which reset the machine: the host must stop the partition first |
//! | `RESET_VALUE` | [`RESET_VALUE`] | |
//! | flags | `RESET_REG_SUP` | without it, `acpi_reboot` skips the register |
//! | `SLEEP_CONTROL_REG` | SystemMemory, 8 bits, byte access, status page + 1 | poweroff (`acpi_hw_extended_sleep`) writes `SLP_TYPa << 2 \| SLP_EN` = 0x34 there |
//! | `SLEEP_STATUS_REG` | the same byte | poweroff first writes WAK_STS (0x80), which the control write then overwrites, so its wait for WAK_STS never ends: the partition spins until the host stops it |
//!
//! Linux offers ACPI poweroff only if `\_S5` exists and both sleep registers
//! are non-zero: the DSDT therefore always names `\_S5` (SLP_TYPa = SLP_TYPb
//! = 5). All three registers share one page, which Linux maps at boot for
//! the reset register (`acpi_os_initialize`); its poweroff, which runs with
//! interrupts off, then finds the sleep registers mapped too. The module
//! finds the status page through the reset register
//! ([`mint_logic::fadt::role`]).
//!
//! The DSDT holds `\_S5`, the partition's console UART if it has one,
//! described without an interrupt, and a host bridge for each PCI bus it
//! owns ([`PciBus`]), with a motherboard device that reserves the buses'
//! ECAM; in ASL:
//!
//! ```text
//! Name (\_S5, Package () { 0x05, 0x05 })        // SLP_TYPa, SLP_TYPb
//! Scope (\_SB_) {                               // only with a UART or buses
//!     Device (COM1) {                           // only with a console UART
//!         Name (_HID, EisaId ("PNP0501"))        // 16550A-compatible COM port
//!         Name (_UID, One)
//!         Name (_CRS, ResourceTemplate () {
//!             IO (Decode16, BASE, BASE, 0x01, 0x08)
//!         })                                     // no IRQ descriptor
//!     }
//!     Device (PC00) {                           // PC00, PC01, ...: one per bus
//!         Name (_HID, EisaId ("PNP0A08"))        // PCI Express root bridge
//!         Name (_CID, EisaId ("PNP0A03"))        // PCI root bridge
//!         Name (_SEG, SEGMENT)
//!         Name (_BBN, BUS)
//!         Name (_UID, INDEX)                     // 0, 1, ... in the given order
//!         Name (_CRS, ResourceTemplate () {
//!             WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
//!                 0, BUS, BUS, 0, 1)
//!             DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
//!                 NonCacheable, ReadWrite, 0, START, END - 1, 0, LENGTH)
//!                                                // each memory window below
//!                                                // 4 GiB; QWordMemory above
//!             WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode,
//!                 EntireRange, 0, START, END - 1, 0, LENGTH)
//!                                                // each I/O window
//!         })
//!     }
//!     Device (ECAM) {                           // only with PCI buses
//!         Name (_HID, EisaId ("PNP0C02"))        // motherboard resources
//!         Name (_CRS, ResourceTemplate () {
//!             Memory32Fixed (ReadWrite, ECAM_BASE + (BUS << 20), 0x100000)
//!                                                // each bus; QWordMemory if
//!                                                // above 4 GiB
//!         })
//!     }
//! }
//! ```
//!
//! Why the UART has no interrupt: hardware-reduced ACPI gives the guest the
//! null legacy PIC, so ISA IRQ 3/4 do not exist for it, and the legacy ttyS
//! entries (irq 3/4 from the kernel's built-in table) wait forever for a
//! transmit interrupt: the polled printk console works, but the tty never
//! sends a byte. 8250_pnp binds PNP0501, finds no IRQ resource and registers
//! the port with irq 0 (`uart_read_port_properties` returns -ENXIO, which it
//! takes as "poll"); the 8250 core then services irq-0 ports from a timer
//! (`univ8250_setup_timer`) and does not raise MCR.OUT2, which a PC UART
//! needs to drive its (the host's) interrupt line. The PNP driver registers
//! before the legacy ports, and `serial8250_find_match_or_unused` matches the
//! legacy entry with the same I/O base, so the port keeps its line (ttyS1 for
//! 0x2f8) and the `console=ttyS1` console. The device is COM1 of the
//! partition's own namespace; Linux numbers the line by I/O base, not by name
//! or `_UID`.
//!
//! The PCI host bridges: each bus the partition owns is a root bus of its
//! own, numbered as on the host, so the partition scans exactly that bus and
//! finds its functions with the BARs the host assigned, inside the bridge's
//! windows (the same ranges). Linux takes the bus range from the
//! WordBusNumber descriptor (`_BBN` and `_SEG` agree with it), the windows
//! from the producer descriptors, and the config space of the bus from the
//! MCFG allocation of its segment; the allocation's base is the segment's
//! ECAM base as the host's MCFG gives it (the address of bus 0), with start
//! and end bus both the one bus, so it covers only that bus's 1 MiB slice.
//! Linux uses an MCFG region only if a PNP0C01/PNP0C02 device's `_CRS`
//! covers it ("not reserved in ACPI motherboard resources"), hence `ECAM`.
//! (On x86 it also ignores an allocation whose base lies above 4 GiB unless
//! its DMI data dates the firmware 2010 or later.) There is no `_OSC`: Linux
//! then leaves the PCIe services that belong to the host's root ports
//! (native hotplug, AER, PME, LTR, DPC) and ASPM alone. There is no `_PRT` either:
//! with no I/O APIC in the MADT (and `acpi=noirq`) INTx cannot be routed,
//! the functions must use MSI or MSI-X, which the FADT allows (its boot
//! flags never carry NO_MSI).
//!
//! The block is built for a given physical base; every pointer in it is
//! `base + offset`. The caller places [`AcpiTables::bytes`] at that base in the
//! partition's memory and marks [`ACPI_BLOCK_SIZE`] bytes there as ACPI data
//! in the partition's e820 map.
//!
//! Not covered by ACPI, for the record: the guest still reads the CMOS clock
//! once at boot (`x86_platform.get_wallclock` ignores the FADT RTC flag) and,
//! while `x86_platform.legacy.warm_reset` is set, writes CMOS register 0xf and
//! the warm-reset vector at physical 0x467 when it boots its other CPUs.

use std::fmt;
use std::ops::Range;

use acpi_tables::{
    aml,
    fadt::{FADTBuilder, Flags},
    gas::{AccessSize, AddressSpace, GAS},
    madt::{EnabledStatus, LocalInterruptController, ProcessorLocalApic, MADT},
    mcfg::MCFG,
    rsdp::Rsdp,
    sdt::Sdt,
    xsdt::XSDT,
    Aml, AmlSink,
};
use mint_logic::load_image::{RESET_VALUE, STATUS_PAGE_LEN, STATUS_RESET_OFF, STATUS_SLEEP_OFF};
use zerocopy::{little_endian::U32, Immutable, IntoBytes};

/// Size of the region reserved for the block in the partition's memory.
pub const ACPI_BLOCK_SIZE: u64 = 0x10000;
/// Room for the ACPI tables at the start of the block:
/// [`AcpiTables::bytes`] is never longer than this ([`build`] asserts it).
pub const ACPI_TABLES_MAX: u64 = 0x8000;
/// Offset in the block of the partition's status page: the block's last page.
pub const STATUS_PAGE_OFFSET: u64 = ACPI_BLOCK_SIZE - STATUS_PAGE_LEN;

/// Largest number of partition CPUs: as many as xAPIC entries can name
/// (8-bit ids, 0xff is the broadcast/invalid id, one id goes to the decoy,
/// which must stay a type-0 entry). The module, which numbers CPUs 0..=255
/// and keeps CPU 0, could give one more.
pub const MAX_CPUS: usize = 254;

/// Largest number of PCI buses (host bridges) one table set describes.
pub const MAX_PCI_BUSES: usize = 64;
/// Largest number of bridge windows, memory and I/O of all buses together.
pub const MAX_PCI_WINDOWS: usize = 256;

/// Length of the common table header.
const HEADER_LEN: usize = 36;
/// RSDP length (ACPI 2.0+).
const RSDP_LEN: usize = 36;
/// FADT length for revision 6 (ACPI 6.x, with the hypervisor vendor id).
const FADT_LEN: usize = 276;
/// Length of a Processor Local APIC structure (MADT type 0).
const LAPIC_ENTRY_LEN: usize = 8;
/// Length of a Processor Local x2APIC structure (MADT type 9).
const X2APIC_ENTRY_LEN: usize = 16;
/// Length of an MCFG allocation structure.
const MCFG_ENTRY_LEN: usize = 16;
/// Most tables the XSDT and RSDT list: FADT, MADT, MCFG.
const MAX_ROOT_ENTRIES: usize = 3;
/// Length of a QWord address space descriptor, the longest resource
/// descriptor the DSDT holds.
const QWORD_DESCRIPTOR_LEN: usize = 46;
/// Upper bound of the bytes that `Name (NAME, ResourceTemplate () { ... })`
/// adds to its descriptors: NameOp and NameSeg (5), BufferOp (1), a PkgLength
/// (at most 4), the buffer size (an integer, at most 5 bytes here) and the
/// end tag (2).
const CRS_OVERHEAD_MAX: usize = 5 + 1 + 4 + 5 + 2;
/// Upper bound of a `Device (NAME) { ... }` without its children: ExtOpPrefix,
/// DeviceOp, a PkgLength (at most 4), the NameSeg.
const DEVICE_OVERHEAD_MAX: usize = 2 + 4 + 4;
/// `Name (NAME, EisaId (...))`: NameOp, NameSeg, a DWord constant.
const EISA_NAME_LEN: usize = 5 + 5;
/// Upper bound of the AML: `\_S5` (13 bytes), the scope (10 at most), the
/// UART device (its `_HID`, `_UID` of 6 bytes and an 8-byte I/O
/// descriptor), a bridge per bus (`_HID`, `_CID`, `_SEG` of at most 8 bytes,
/// `_BBN` of at most 7, `_UID` of at most 8, a 16-byte bus number
/// descriptor), a QWord descriptor per window, the motherboard device and a
/// QWord descriptor per bus in it.
const AML_MAX_LEN: usize = 13
    + 10
    + (DEVICE_OVERHEAD_MAX + EISA_NAME_LEN + 6 + CRS_OVERHEAD_MAX + 8)
    + MAX_PCI_BUSES * (DEVICE_OVERHEAD_MAX + 2 * EISA_NAME_LEN + 8 + 7 + 8 + CRS_OVERHEAD_MAX + 16)
    + MAX_PCI_WINDOWS * QWORD_DESCRIPTOR_LEN
    + (DEVICE_OVERHEAD_MAX + EISA_NAME_LEN + CRS_OVERHEAD_MAX)
    + MAX_PCI_BUSES * QWORD_DESCRIPTOR_LEN;
/// Upper bound of the table set [`build`] makes ([`MAX_CPUS`] CPUs with
/// x2APIC entries, a console UART, [`MAX_PCI_BUSES`] buses and
/// [`MAX_PCI_WINDOWS`] windows): every table at its longest and 15 bytes of
/// alignment before each one after the RSDP.
pub const MAX_TABLES_LEN: usize = RSDP_LEN
    + 6 * 15
    + (HEADER_LEN + 8 * MAX_ROOT_ENTRIES)
    + (HEADER_LEN + 4 * MAX_ROOT_ENTRIES)
    + FADT_LEN
    + (HEADER_LEN + AML_MAX_LEN)
    + (HEADER_LEN + 8 + LAPIC_ENTRY_LEN + MAX_CPUS * X2APIC_ENTRY_LEN)
    + (HEADER_LEN + 8 + MAX_PCI_BUSES * MCFG_ENTRY_LEN);

const _: () = assert!(MAX_TABLES_LEN as u64 <= ACPI_TABLES_MAX);
// The status page does not overlap the tables' room, and is a whole page
// inside the block.
const _: () = assert!(STATUS_PAGE_OFFSET == 0xf000);
const _: () = assert!(STATUS_PAGE_OFFSET.is_multiple_of(STATUS_PAGE_LEN));
const _: () = assert!(ACPI_TABLES_MAX <= STATUS_PAGE_OFFSET);
const _: () = assert!(STATUS_PAGE_OFFSET + STATUS_PAGE_LEN <= ACPI_BLOCK_SIZE);
// Bridge device names are PC00..PC3F and `_UID`s fit a byte.
const _: () = assert!(MAX_PCI_BUSES <= 0x100);

/// Largest APIC id a Processor Local APIC (xAPIC, type 0) entry can carry
/// usefully: the field is 8 bits and Linux ignores id 0xff. CPUs with larger
/// ids get a Processor Local x2APIC (type 9) entry, as firmware writes them
/// (ACPI 6.5, 5.2.12.12: x2APIC entries are for ids of 0xff and above).
pub const MAX_XAPIC_ID: u32 = 0xfe;

/// The x2APIC id Linux (and the ACPI specification) treat as invalid:
/// `acpi_parse_x2apic` skips an entry with it.
pub const INVALID_X2APIC_ID: u32 = 0xffff_ffff;

/// OEM id written in the RSDP and every table header; a kernel whose FADT has
/// it is a mint partition (mint.ko then takes the agent role).
pub const OEM_ID: [u8; 6] = mint_logic::fadt::MINT_OEM_ID;
/// OEM table id of every table.
pub const OEM_TABLE_ID: [u8; 8] = *b"MINTPART";
/// OEM revision of every table.
pub const OEM_REVISION: u32 = 1;
/// Creator id of every table: the `acpi_tables` crate, which writes them.
pub const CREATOR_ID: [u8; 4] = acpi_tables::CREATOR_ID;
/// Creator revision of every table (the `acpi_tables` crate's).
pub const CREATOR_REVISION: u32 = u32::from_le_bytes(acpi_tables::CREATOR_REVISION);

/// Physical address of the local APIC, as on every x86 PC.
pub const LOCAL_APIC_ADDRESS: u32 = 0xfee0_0000;

/// MADT entry type of a Processor Local APIC.
pub const MADT_TYPE_LOCAL_APIC: u8 = 0;
/// MADT entry type of a Processor Local x2APIC.
pub const MADT_TYPE_LOCAL_X2APIC: u8 = 9;
/// MADT revision of the set (the crate would write 1).
pub const MADT_REVISION: u8 = 5;
/// MADT Processor Local APIC flag: the processor is enabled.
pub const MADT_LAPIC_ENABLED: u32 = 1 << 0;
/// ACPI processor UID of the decoy entry (partition CPUs use 0, 1, ...).
pub const DECOY_UID: u8 = 0xff;

/// Number of I/O ports a 16550 UART decodes.
pub const UART_PORTS: u16 = 8;
/// Highest I/O base a UART can have (its 8 ports must fit the 16-bit space).
pub const MAX_UART_BASE: u16 = u16::MAX - (UART_PORTS - 1);

/// FADT flags: WBINVD works.
pub const FADT_WBINVD: u32 = Flags::Wbinvd as u32;
/// FADT flags: the power button, if any, is a control-method device (there is none).
pub const FADT_PWR_BUTTON: u32 = Flags::PwrButton as u32;
/// FADT flags: the sleep button, if any, is a control-method device (there is none).
pub const FADT_SLP_BUTTON: u32 = Flags::SlpButton as u32;
/// FADT flags: `RESET_REG` is a working reset register (RESET_REG_SUP).
pub const FADT_RESET_REG_SUP: u32 = Flags::ResetRegSup as u32;
/// FADT flags: hardware-reduced ACPI (no PM1/GPE/SCI fixed hardware, no legacy PIC).
pub const FADT_HW_REDUCED_ACPI: u32 = Flags::HwReducedAcpi as u32;
/// IA-PC boot architecture flags: it is not safe to probe for VGA.
pub const IAPC_NO_VGA: u16 = 1 << 2;
/// IA-PC boot architecture flags: MSIs must not be enabled. Never set: a
/// partition's PCI functions can only use MSIs.
pub const IAPC_NO_MSI: u16 = 1 << 3;
/// IA-PC boot architecture flags: no CMOS RTC.
pub const IAPC_CMOS_RTC_NOT_PRESENT: u16 = 1 << 5;
/// SCI interrupt announced in the FADT (unused in hardware-reduced mode).
pub const SCI_INT: u16 = 11;

/// EISA id of a 16550A-compatible COM port.
pub const UART_HID: &str = "PNP0501";
/// Name of the UART device in the partition's namespace (`\_SB.COM1`).
pub const UART_DEVICE: &str = "COM1";
/// `_UID` of the UART device.
pub const UART_UID: u64 = 1;
/// EISA id (`_HID`) of a PCI Express root bridge.
pub const PCIE_ROOT_HID: &str = "PNP0A08";
/// EISA id (`_CID`) of a PCI root bridge.
pub const PCI_ROOT_CID: &str = "PNP0A03";
/// EISA id of the motherboard resources device that reserves the ECAM.
pub const MOTHERBOARD_HID: &str = "PNP0C02";
/// Name of that device (`\_SB.ECAM`).
pub const ECAM_DEVICE: &str = "ECAM";
/// Size of one bus's slice of an ECAM region (32 devices, 8 functions, 4 KiB).
pub const ECAM_BUS_SIZE: u64 = 1 << 20;
/// SLP_TYPa and SLP_TYPb of `\_S5`: the sleep control value a powering-off
/// partition writes is then `(5 << 2) | SLP_EN` = 0x34.
pub const S5_SLP_TYP: u8 = 5;

/// One PCI bus a partition owns, as its own host bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciBus {
    /// PCI segment group (MCFG segment, `_SEG`).
    pub segment: u16,
    /// The bus number (the host's numbering; the partition enumerates only it).
    pub bus: u8,
    /// Physical base of the segment's ECAM, as the host's MCFG gives it (the address of bus 0).
    pub ecam_base: u64,
    /// Memory windows the bridge decodes: the functions' memory BARs as the host assigned them.
    pub mem: Vec<std::ops::Range<u64>>,
    /// I/O port windows (the functions' I/O BARs).
    pub io: Vec<std::ops::Range<u16>>,
}

impl PciBus {
    /// The bus's 1 MiB slice of its segment's ECAM, if it does not overflow.
    pub fn ecam_slice(&self) -> Option<Range<u64>> {
        let start = self
            .ecam_base
            .checked_add(u64::from(self.bus) * ECAM_BUS_SIZE)?;
        Some(start..start.checked_add(ECAM_BUS_SIZE)?)
    }

    /// The name of the bridge device for the `index`th bus (PC00, PC01, ...).
    pub fn device_name(index: usize) -> String {
        format!("PC{index:02X}")
    }
}

/// The table block for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcpiTables {
    /// The tables, to be copied to the base they were built for;
    /// at most [`MAX_TABLES_LEN`] (so less than [`ACPI_TABLES_MAX`]) bytes.
    pub bytes: Vec<u8>,
    /// Physical address of the RSDP, for `boot_params.acpi_rsdp_addr`.
    pub rsdp_addr: u64,
    /// Physical address of the status page the FADT points at (base +
    /// [`STATUS_PAGE_OFFSET`]); it is not part of [`AcpiTables::bytes`].
    pub status_page: u64,
}

/// Why a table set could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcpiError {
    /// No partition CPU was given.
    NoCpus,
    /// More than [`MAX_CPUS`] CPUs were given.
    TooManyCpus(usize),
    /// A partition APIC id is 0xffffffff, which no MADT entry can name
    /// (Linux skips it as invalid).
    InvalidApicId(u32),
    /// An APIC id is listed twice.
    DuplicateApicId(u32),
    /// The decoy APIC id does not fit an xAPIC MADT entry (or is 0xff, which
    /// Linux skips): the decoy must be a type-0 entry.
    DecoyIdTooLarge(u32),
    /// The decoy APIC id is one of the partition's CPUs.
    DecoyIsPartitionCpu(u32),
    /// The base is not 16-byte aligned (the RSDP must be).
    UnalignedBase(u64),
    /// The block would wrap the 64-bit address space.
    BaseTooHigh(u64),
    /// The console UART's 8 I/O ports would run past port 0xffff.
    UartBaseTooHigh(u16),
    /// More than [`MAX_PCI_BUSES`] PCI buses were given.
    TooManyPciBuses(usize),
    /// More than [`MAX_PCI_WINDOWS`] bridge windows were given in all.
    TooManyPciWindows(usize),
    /// A (segment, bus) pair is listed twice.
    DuplicatePciBus {
        /// The segment group.
        segment: u16,
        /// The bus.
        bus: u8,
    },
    /// A memory window is empty or inverted (its start not below its end).
    EmptyPciMemWindow {
        /// The segment group.
        segment: u16,
        /// The bus.
        bus: u8,
        /// The window.
        window: Range<u64>,
    },
    /// An I/O window is empty or inverted (its start not below its end).
    EmptyPciIoWindow {
        /// The segment group.
        segment: u16,
        /// The bus.
        bus: u8,
        /// The window.
        window: Range<u16>,
    },
    /// The bus's ECAM slice, `ecam_base + (bus << 20)` and 1 MiB on, would
    /// run past the 64-bit address space.
    EcamOverflow {
        /// The segment group.
        segment: u16,
        /// The bus.
        bus: u8,
        /// The segment's ECAM base.
        ecam_base: u64,
    },
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcpiError::NoCpus => write!(f, "ACPI tables need at least one partition CPU"),
            AcpiError::TooManyCpus(n) => write!(f, "{n} CPUs given; a partition has at most {MAX_CPUS}"),
            AcpiError::InvalidApicId(id) => write!(
                f,
                "APIC id {id:#x} is the invalid x2APIC id: no MADT entry can name it"
            ),
            AcpiError::DuplicateApicId(id) => write!(f, "APIC id {id:#x} is listed twice"),
            AcpiError::DecoyIdTooLarge(id) => {
                write!(f, "decoy APIC id {id:#x} is too large: it must be at most {MAX_XAPIC_ID:#x}")
            }
            AcpiError::DecoyIsPartitionCpu(id) => {
                write!(f, "decoy APIC id {id:#x} is one of the partition's CPUs; pick an id no CPU has")
            }
            AcpiError::UnalignedBase(base) => write!(f, "ACPI block base {base:#x} is not 16-byte aligned"),
            AcpiError::BaseTooHigh(base) => {
                write!(f, "ACPI block at {base:#x} would wrap the 64-bit address space")
            }
            AcpiError::UartBaseTooHigh(port) => write!(
                f,
                "console UART at I/O port {port:#x} would run past port 0xffff (at most {MAX_UART_BASE:#x})"
            ),
            AcpiError::TooManyPciBuses(n) => write!(
                f,
                "{n} PCI buses given; the ACPI tables describe at most {MAX_PCI_BUSES}"
            ),
            AcpiError::TooManyPciWindows(n) => write!(
                f,
                "{n} PCI bridge windows given; the ACPI tables describe at most {MAX_PCI_WINDOWS} in all"
            ),
            AcpiError::DuplicatePciBus { segment, bus } => {
                write!(f, "PCI bus {segment:04x}:{bus:02x} is listed twice")
            }
            AcpiError::EmptyPciMemWindow { segment, bus, window } => write!(
                f,
                "PCI bus {segment:04x}:{bus:02x}: memory window {:#x}..{:#x} is empty or inverted",
                window.start, window.end
            ),
            AcpiError::EmptyPciIoWindow { segment, bus, window } => write!(
                f,
                "PCI bus {segment:04x}:{bus:02x}: I/O window {:#x}..{:#x} is empty or inverted",
                window.start, window.end
            ),
            AcpiError::EcamOverflow { segment, bus, ecam_base } => write!(
                f,
                "PCI bus {segment:04x}:{bus:02x}: its ECAM slice (base {ecam_base:#x} + bus << 20, 1 MiB) \
                 would run past the 64-bit address space"
            ),
        }
    }
}

impl std::error::Error for AcpiError {}

/// Builds the table block for a partition.
///
/// * `base_phys`: physical address the block will be copied to (16-byte aligned).
/// * `apic_ids`: the partition CPUs' APIC ids, boot CPU first; they get ACPI
///   processor UIDs 0, 1, ... in this order, and a Processor Local APIC
///   entry if the id is at most [`MAX_XAPIC_ID`], else a Processor Local
///   x2APIC entry.
/// * `pm_timer_port`: I/O port of the platform's ACPI PM timer (read-only, so
///   sharing it with the host is harmless), e.g. 0x608 on QEMU q35.
/// * `decoy_apic_id`: an APIC id that belongs to no partition CPU (ideally to
///   no CPU at all, or to the host's BSP); see the MADT notes below.
/// * `console_uart`: I/O base of the partition's own 16550 UART (e.g. 0x2f8,
///   ttyS1), described in the DSDT without an interrupt (see the module
///   notes); `None` leaves it out.
/// * `pci`: the PCI buses the partition owns, each described as a host
///   bridge of its own with an MCFG allocation (see the module notes); at
///   most [`MAX_PCI_BUSES`], with at most [`MAX_PCI_WINDOWS`] windows in
///   all, no (segment, bus) twice, no empty window, and every ECAM slice
///   inside the 64-bit address space. An I/O window cannot include port
///   0xffff (its range end is exclusive).
pub fn build(
    base_phys: u64,
    apic_ids: &[u32],
    pm_timer_port: u16,
    decoy_apic_id: u32,
    console_uart: Option<u16>,
    pci: &[PciBus],
) -> Result<AcpiTables, AcpiError> {
    if apic_ids.is_empty() {
        return Err(AcpiError::NoCpus);
    }
    if apic_ids.len() > MAX_CPUS {
        return Err(AcpiError::TooManyCpus(apic_ids.len()));
    }
    for (i, &id) in apic_ids.iter().enumerate() {
        if id == INVALID_X2APIC_ID {
            return Err(AcpiError::InvalidApicId(id));
        }
        if apic_ids[..i].contains(&id) {
            return Err(AcpiError::DuplicateApicId(id));
        }
    }
    if decoy_apic_id > MAX_XAPIC_ID {
        return Err(AcpiError::DecoyIdTooLarge(decoy_apic_id));
    }
    if apic_ids.contains(&decoy_apic_id) {
        return Err(AcpiError::DecoyIsPartitionCpu(decoy_apic_id));
    }
    if base_phys & 15 != 0 {
        return Err(AcpiError::UnalignedBase(base_phys));
    }
    if base_phys.checked_add(ACPI_BLOCK_SIZE).is_none() {
        return Err(AcpiError::BaseTooHigh(base_phys));
    }
    if let Some(port) = console_uart.filter(|&p| p > MAX_UART_BASE) {
        return Err(AcpiError::UartBaseTooHigh(port));
    }
    check_pci(pci)?;

    let status_page = base_phys + STATUS_PAGE_OFFSET;
    // 32-bit pointers (RSDT, FADT.DSDT) only if the whole block is below 4 GiB;
    // otherwise there is no RSDT and FADT.DSDT is zero: the 64-bit pointers
    // (XSDT, X_DSDT) are used, which Linux prefers anyway for an RSDP of
    // revision 2.
    let low = base_phys + ACPI_BLOCK_SIZE <= 1 << 32;

    // The tables without pointers first, then the layout, then the tables
    // that point at others.
    let dsdt = {
        let mut t = Sdt::new(
            *b"DSDT",
            HEADER_LEN as u32,
            2,
            OEM_ID,
            OEM_TABLE_ID,
            OEM_REVISION,
        );
        t.append_slice(&dsdt_aml(console_uart, pci));
        t.as_slice().to_vec()
    };
    let madt = madt(apic_ids, decoy_apic_id);
    let mcfg = (!pci.is_empty()).then(|| mcfg(pci));

    let root_entries = 2 + usize::from(mcfg.is_some());
    let mut layout = Layout::default();
    let rsdp_off = layout.place(RSDP_LEN);
    let xsdt_off = layout.place(HEADER_LEN + 8 * root_entries);
    let rsdt_off = low.then(|| layout.place(HEADER_LEN + 4 * root_entries));
    let fadt_off = layout.place(FADT_LEN);
    let dsdt_off = layout.place(dsdt.len());
    let madt_off = layout.place(madt.len());
    let mcfg_off = mcfg.as_ref().map(|t| layout.place(t.len()));
    let total = layout.end;
    // Never past the tables' room, towards the status page.
    assert!(
        total <= MAX_TABLES_LEN && total as u64 <= ACPI_TABLES_MAX,
        "ACPI tables of {total:#x} bytes overrun their room"
    );
    let addr = |off: usize| base_phys + off as u64;
    let addr32 = |off: usize| if low { addr(off) as u32 } else { 0 };
    let listed: Vec<u64> = [Some(fadt_off), Some(madt_off), mcfg_off]
        .into_iter()
        .flatten()
        .map(addr)
        .collect();

    let fadt = fadt(addr(dsdt_off), addr32(dsdt_off), pm_timer_port, status_page);

    let mut xsdt = XSDT::new(OEM_ID, OEM_TABLE_ID, OEM_REVISION);
    for &a in &listed {
        xsdt.add_entry(a);
    }
    let xsdt = to_bytes(&xsdt);

    let rsdt = rsdt_off.map(|_| {
        let mut t = Sdt::new(
            *b"RSDT",
            HEADER_LEN as u32,
            1,
            OEM_ID,
            OEM_TABLE_ID,
            OEM_REVISION,
        );
        for &a in &listed {
            // `low`: every table lies below 4 GiB.
            t.append(a as u32);
        }
        t.as_slice().to_vec()
    });

    let rsdp = rsdp(addr(xsdt_off), rsdt_off.map_or(0, addr32));

    let mut block = vec![0u8; total];
    let mut put = |off: usize, t: &[u8]| block[off..off + t.len()].copy_from_slice(t);
    put(rsdp_off, &rsdp);
    put(xsdt_off, &xsdt);
    if let (Some(off), Some(t)) = (rsdt_off, &rsdt) {
        put(off, t);
    }
    put(fadt_off, &fadt);
    put(dsdt_off, &dsdt);
    put(madt_off, &madt);
    if let (Some(off), Some(t)) = (mcfg_off, &mcfg) {
        put(off, t);
    }

    Ok(AcpiTables {
        bytes: block,
        rsdp_addr: addr(rsdp_off),
        status_page,
    })
}

/// Checks the PCI buses against what the tables can say (see [`build`]).
fn check_pci(pci: &[PciBus]) -> Result<(), AcpiError> {
    if pci.len() > MAX_PCI_BUSES {
        return Err(AcpiError::TooManyPciBuses(pci.len()));
    }
    let windows: usize = pci.iter().map(|b| b.mem.len() + b.io.len()).sum();
    if windows > MAX_PCI_WINDOWS {
        return Err(AcpiError::TooManyPciWindows(windows));
    }
    for (i, b) in pci.iter().enumerate() {
        let (segment, bus) = (b.segment, b.bus);
        if pci[..i]
            .iter()
            .any(|o| (o.segment, o.bus) == (segment, bus))
        {
            return Err(AcpiError::DuplicatePciBus { segment, bus });
        }
        if let Some(w) = b.mem.iter().find(|w| w.start >= w.end) {
            return Err(AcpiError::EmptyPciMemWindow {
                segment,
                bus,
                window: w.clone(),
            });
        }
        if let Some(w) = b.io.iter().find(|w| w.start >= w.end) {
            return Err(AcpiError::EmptyPciIoWindow {
                segment,
                bus,
                window: w.clone(),
            });
        }
        if b.ecam_slice().is_none() {
            return Err(AcpiError::EcamOverflow {
                segment,
                bus,
                ecam_base: b.ecam_base,
            });
        }
    }
    Ok(())
}

/// Places tables one after another, each 16-byte aligned.
#[derive(Default)]
struct Layout {
    end: usize,
}

impl Layout {
    /// The offset of the next table of `len` bytes.
    fn place(&mut self, len: usize) -> usize {
        let off = self.end.next_multiple_of(16);
        self.end = off + len;
        off
    }
}

/// The bytes of a table or an AML object.
fn to_bytes(t: &dyn Aml) -> Vec<u8> {
    let mut v = Vec::new();
    t.to_aml_bytes(&mut v);
    v
}

fn sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b))
}

/// The RSDP (revision 2) pointing at the XSDT and, unless `rsdt_addr` is 0,
/// the RSDT. The crate's RSDP has no RSDT pointer (it leaves the field
/// zero), so it is written here (bytes 16..20) and both checksums (byte 8,
/// over the ACPI 1.0 part, bytes 0..20; byte 32, over all 36 bytes) are made
/// again.
fn rsdp(xsdt_addr: u64, rsdt_addr: u32) -> Vec<u8> {
    let mut t = to_bytes(&Rsdp::new(OEM_ID, xsdt_addr));
    assert_eq!(t.len(), RSDP_LEN);
    t[16..20].copy_from_slice(&rsdt_addr.to_le_bytes());
    t[8] = 0;
    t[8] = 0u8.wrapping_sub(sum(&t[..20]));
    t[32] = 0;
    t[32] = 0u8.wrapping_sub(sum(&t));
    t
}

/// The FADT: revision 6.0, hardware-reduced, the PM timer, the reset and
/// sleep registers in the status page.
fn fadt(dsdt: u64, dsdt32: u32, pm_timer_port: u16, status_page: u64) -> Vec<u8> {
    // Hardware-reduced ACPI: no fixed hardware, Linux replaces the legacy
    // PIC with a null one and skips the PIT/HPET timer setup, so it does
    // not program the shared 8259s or 8254. No power/sleep button.
    // RESET_REG_SUP: the reset register below works.
    let mut f = FADTBuilder::new(OEM_ID, OEM_TABLE_ID, OEM_REVISION)
        .flag(Flags::Wbinvd)
        .flag(Flags::PwrButton)
        .flag(Flags::SlpButton)
        .flag(Flags::ResetRegSup)
        .flag(Flags::HwReducedAcpi);
    // Revision 6 with minor version 0 (ACPI 6.0; the crate would write 6.5):
    // Linux then does not honour the "online capable" MADT bit; we do not
    // need it.
    f.fadt_minor_version = 0;
    // No FACS (FIRMWARE_CTRL and X_FIRMWARE_CTRL stay zero): there is no
    // firmware waking vector or global lock to share.
    // The DSDT holds `\_S5`, the console UART and the PCI host bridges: no
    // methods to run, no _PRT, no EC, no buttons, no thermal zones. Both
    // pointers are set (equal) below 4 GiB, only X_DSDT above.
    f.dsdt = dsdt32.into();
    f.x_dsdt = dsdt.into();
    // Preferred PM profile: unspecified (the builder's 0).
    // SCI_INT: the conventional 11. In hardware-reduced mode there is no
    // SCI handler to install and, with no I/O APIC, nothing to route it to.
    f.sci_int = SCI_INT.into();
    // SMI_CMD 0 (the builder's): ACPI mode cannot be switched, so the guest
    // never writes the SMI command port (which would trap into the host's
    // firmware).
    // PM1a/b event and control, PM2 control and GPE0/1 blocks stay zero:
    // the guest must never ack events, sleep or power off the machine
    // (it sleeps through the status page, below).
    // The PM timer is the one fixed register we share: it is a read-only
    // free-running counter, and Linux uses it to calibrate the TSC and as
    // a clocksource. Set in both the legacy and the extended field (equal,
    // so ACPICA does not complain about a 32/64-bit mismatch).
    f.pm_tmr_blk = u32::from(pm_timer_port).into();
    f.pm_tmr_len = 4;
    f.x_pm_tmr_blk = GAS::new(
        AddressSpace::SystemIo,
        32,
        0,
        AccessSize::DwordAccess,
        u64::from(pm_timer_port),
    );
    // IA-PC boot architecture: no legacy (LPC/ISA) devices, no 8042 (bit 1
    // clear: the guest never probes the shared keyboard controller, whose
    // reset line would reboot the machine), not safe to probe VGA, no
    // CMOS RTC (no rtc_cmos device is registered). Never NO_MSI: the PCI
    // functions a partition owns can only use MSIs.
    f.iapc_boot_arch = (IAPC_NO_VGA | IAPC_CMOS_RTC_NOT_PRESENT).into();
    // The reset register is the status page's RESET byte: a guest
    // reboot writes RESET_VALUE there first. The host, which watches the
    // page, must stop the partition before the kernel's 15 ms wait ends
    // and it falls back to resetting the machine.
    f.reset_reg = status_byte(status_page + STATUS_RESET_OFF as u64);
    f.reset_value = RESET_VALUE;
    // Sleep control and sleep status are both the status page's SLEEP
    // byte: a guest poweroff writes WAK_STS, overwrites it with
    // SLP_TYP | SLP_EN and then waits for WAK_STS forever.
    f.sleep_control_reg = status_byte(status_page + STATUS_SLEEP_OFF as u64);
    f.sleep_status_reg = status_byte(status_page + STATUS_SLEEP_OFF as u64);
    // No hypervisor vendor identity (the builder's 0).
    let t = to_bytes(&f.finalize());
    assert_eq!(t.len(), FADT_LEN);
    t
}

/// A Generic Address Structure for an 8-bit register in system memory,
/// accessed by bytes.
fn status_byte(addr: u64) -> GAS {
    GAS::new(
        AddressSpace::SystemMemory,
        8,
        0,
        AccessSize::ByteAccess,
        addr,
    )
}

/// A Processor Local x2APIC structure (MADT type 9, ACPI 6.5 table 5.31),
/// which the crate lacks: type, length 16, two reserved bytes, the x2APIC
/// id, the flags (as for type 0) and the ACPI processor UID.
#[repr(C)]
#[derive(Clone, Copy, IntoBytes, Immutable)]
struct ProcessorLocalX2Apic {
    r#type: u8,
    length: u8,
    reserved: [u8; 2],
    x2apic_id: U32,
    flags: U32,
    processor_uid: U32,
}

const _: () = assert!(std::mem::size_of::<ProcessorLocalX2Apic>() == X2APIC_ENTRY_LEN);

impl ProcessorLocalX2Apic {
    fn new(uid: u32, x2apic_id: u32) -> Self {
        ProcessorLocalX2Apic {
            r#type: MADT_TYPE_LOCAL_X2APIC,
            length: X2APIC_ENTRY_LEN as u8,
            reserved: [0; 2],
            x2apic_id: x2apic_id.into(),
            flags: MADT_LAPIC_ENABLED.into(),
            processor_uid: uid.into(),
        }
    }
}

impl Aml for ProcessorLocalX2Apic {
    fn to_aml_bytes(&self, sink: &mut dyn AmlSink) {
        sink.vec(self.as_bytes());
    }
}

/// The MADT: the local APIC address, flags 0, the decoy, then the
/// partition's CPUs.
fn madt(apic_ids: &[u32], decoy_apic_id: u32) -> Vec<u8> {
    // Flags 0 (the crate's): no PCAT_COMPAT, there is no 8259 pair for the
    // guest to mask or drive. There is no I/O APIC entry and no interrupt
    // source override: the shared I/O APICs belong to the host, and the
    // guest's devices (if any) must use MSIs.
    let mut m = MADT::new(
        OEM_ID,
        OEM_TABLE_ID,
        OEM_REVISION,
        LocalInterruptController::Address(LOCAL_APIC_ADDRESS),
    );
    //
    // The decoy comes first. Linux (arch/x86/kernel/cpu/topology.c,
    // check_for_real_bsp) takes the first APIC id registered from the MADT
    // as the machine's real BSP. If that is its own boot CPU but the BSP
    // bit of its APICBASE MSR is clear (true for us: the partition boots
    // on a host AP), it assumes a crash kernel and limits itself to one
    // CPU. If the first id is another one and the boot CPU is not the BSP,
    // it concludes "crash kernel, disabling real BSP", remembers that id
    // as the real BSP and rejects it: topology_register_apic returns
    // before the id enters phys_cpu_present_map, the topology maps or the
    // cpuid->apicid table, so it never gets a CPU number and is never sent
    // INIT/SIPI. The later entries then register normally.
    //
    // For that the decoy must reach topology_register_apic, and
    // acpi_parse_lapic (arch/x86/kernel/acpi/boot.c) drops entries before
    // that when the id is 0xff or when acpi_is_processor_usable() is
    // false. A disabled entry (flags 0) is usable only on FADT >= 6.3 with
    // the online-capable bit, or under a hypervisor: on bare metal it
    // would be skipped and the guest would fall back to one CPU. So the
    // decoy is marked ENABLED; being rejected as the "real BSP" it is
    // never counted as present, possible or hotpluggable.
    //
    // The partition's CPUs follow in the form firmware gives them: a
    // Processor Local APIC (type 0) for ids up to 0xfe, a Processor Local
    // x2APIC (type 9) for 0xff and above. Linux walks both types in one
    // pass, in table order (acpi_parse_madt_lapic_entries), so the decoy
    // stays the first id registered whatever follows. Two rules of
    // acpi_parse_x2apic shape this: with any valid type-0 entry present
    // (the decoy always is) an x2APIC entry with an id below 0xff is
    // ignored, so ids below 0xff must be type 0; and an x2APIC id counts
    // only if apic_id_valid(), i.e. the kernel runs an x2APIC driver
    // (max_apic_id UINT_MAX) when it parses the MADT, which it does when
    // it finds x2APIC enabled at boot ("x2apic: enabled by BIOS"). No
    // Local x2APIC NMI entries (type 10) are needed: Linux only prints
    // them, as it does the type-4 ones this table has never had; and no
    // DSDT processor device: CPUs are enumerated from the MADT alone.
    // (`build` checked the decoy id: at most MAX_XAPIC_ID.)
    m.add_structure(ProcessorLocalApic::new(
        DECOY_UID,
        decoy_apic_id as u8,
        EnabledStatus::Enabled,
    ));
    for (uid, &id) in apic_ids.iter().enumerate() {
        if id <= MAX_XAPIC_ID {
            // uid < MAX_CPUS, so it fits the 8-bit field.
            m.add_structure(ProcessorLocalApic::new(
                uid as u8,
                id as u8,
                EnabledStatus::Enabled,
            ));
        } else {
            m.add_structure(ProcessorLocalX2Apic::new(uid as u32, id));
        }
    }
    let mut t = to_bytes(&m);
    // The crate writes revision 1; keep the 5 these tables always had.
    t[8] = MADT_REVISION;
    t[9] = 0;
    t[9] = 0u8.wrapping_sub(sum(&t));
    t
}

/// The MCFG: one allocation per bus, its segment's ECAM base, the bus as
/// both start and end.
fn mcfg(pci: &[PciBus]) -> Vec<u8> {
    let mut m = MCFG::new(OEM_ID, OEM_TABLE_ID, OEM_REVISION);
    for b in pci {
        m.add_ecam(b.ecam_base, b.segment, b.bus, b.bus);
    }
    to_bytes(&m)
}

/// The DSDT's AML: `\_S5`, then, in `\_SB_`, the console UART as COM1
/// (PNP0501, one I/O range of 8 ports, no interrupt), a host bridge per PCI
/// bus and the device that reserves their ECAM slices (see the module
/// notes). The input is checked ([`build`]).
fn dsdt_aml(console_uart: Option<u16>, pci: &[PciBus]) -> Vec<u8> {
    let s5 = aml::Name::new(
        "\\_S5_".into(),
        &aml::Package::new(vec![&S5_SLP_TYP, &S5_SLP_TYP]),
    );
    let mut out = to_bytes(&s5);
    let mut sb = Vec::new();
    if let Some(base) = console_uart {
        sb.extend(uart_device(base));
    }
    for (index, b) in pci.iter().enumerate() {
        sb.extend(bridge_device(index, b));
    }
    if !pci.is_empty() {
        sb.extend(ecam_device(pci));
    }
    if !sb.is_empty() {
        out.extend(aml::Scope::raw("\\_SB_".into(), sb));
    }
    out
}

/// `Device (COM1)`: the console UART at I/O port `base`, without an
/// interrupt.
fn uart_device(base: u16) -> Vec<u8> {
    let hid = aml::Name::new("_HID".into(), &aml::EISAName::new(UART_HID));
    let uid = aml::Name::new("_UID".into(), &UART_UID);
    let io = aml::IO::new(base, base, 1, UART_PORTS as u8);
    let crs = aml::Name::new("_CRS".into(), &aml::ResourceTemplate::new(vec![&io]));
    to_bytes(&aml::Device::new(
        UART_DEVICE.into(),
        vec![&hid, &uid, &crs],
    ))
}

/// `Device (PCnn)`: the `index`th bus as a PCI Express host bridge.
fn bridge_device(index: usize, b: &PciBus) -> Vec<u8> {
    let bus = aml::AddressSpace::<u16>::new_bus_number(b.bus.into(), b.bus.into());
    let mem: Vec<Box<dyn Aml>> = b.mem.iter().map(|w| memory_range(w)).collect();
    let io: Vec<_> =
        b.io.iter()
            .map(|w| aml::AddressSpace::<u16>::new_io(w.start, w.end - 1, None))
            .collect();
    let mut resources: Vec<&dyn Aml> = vec![&bus];
    resources.extend(mem.iter().map(|m| m.as_ref()));
    resources.extend(io.iter().map(|w| w as &dyn Aml));

    let hid = aml::Name::new("_HID".into(), &aml::EISAName::new(PCIE_ROOT_HID));
    let cid = aml::Name::new("_CID".into(), &aml::EISAName::new(PCI_ROOT_CID));
    let seg = aml::Name::new("_SEG".into(), &b.segment);
    let bbn = aml::Name::new("_BBN".into(), &b.bus);
    let uid = aml::Name::new("_UID".into(), &(index as u64));
    let crs = aml::Name::new("_CRS".into(), &aml::ResourceTemplate::new(resources));
    let name = PciBus::device_name(index);
    to_bytes(&aml::Device::new(
        name.as_str().into(),
        vec![&hid, &cid, &seg, &bbn, &uid, &crs],
    ))
}

/// `Device (ECAM)`: motherboard resources, each bus's ECAM slice.
fn ecam_device(pci: &[PciBus]) -> Vec<u8> {
    let slices: Vec<Box<dyn Aml>> = pci
        .iter()
        .map(|b| {
            // `build` checked that the slice does not overflow.
            let s = b.ecam_slice().expect("ECAM slice checked");
            if s.end <= 1 << 32 {
                Box::new(aml::Memory32Fixed::new(
                    true,
                    s.start as u32,
                    ECAM_BUS_SIZE as u32,
                )) as Box<dyn Aml>
            } else {
                memory_range(&s)
            }
        })
        .collect();
    let hid = aml::Name::new("_HID".into(), &aml::EISAName::new(MOTHERBOARD_HID));
    let crs = aml::Name::new(
        "_CRS".into(),
        &aml::ResourceTemplate::new(slices.iter().map(|s| s.as_ref()).collect()),
    );
    to_bytes(&aml::Device::new(ECAM_DEVICE.into(), vec![&hid, &crs]))
}

/// A memory range as a DWordMemory descriptor if it lies below 4 GiB, else
/// a QWordMemory one: non-cacheable (the window of a prefetchable BAR may
/// be non-prefetchable, not the other way round), read-write, no
/// translation, min and max fixed.
fn memory_range(r: &Range<u64>) -> Box<dyn Aml> {
    let cache = aml::AddressSpaceCacheable::NotCacheable;
    if r.end <= 1 << 32 {
        Box::new(aml::AddressSpace::<u32>::new_memory(
            cache,
            true,
            r.start as u32,
            (r.end - 1) as u32,
            None,
        ))
    } else {
        Box::new(aml::AddressSpace::<u64>::new_memory(
            cache,
            true,
            r.start,
            r.end - 1,
            None,
        ))
    }
}

#[cfg(test)]
// Windows are lists of ranges, often of one.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    //! The tables read back with an independent parser, the `acpi` crate
    //! (RSDP, XSDT, RSDT, FADT, MADT, MCFG; the DSDT's AML is checked with
    //! ACPICA in `tests/acpi_iasl.rs`), and the module's own FADT check
    //! ([`mint_logic::fadt::role`]). Expected values come from the inputs.

    use super::*;
    use ::acpi::{
        address::{AccessSize as GasAccess, AddressSpace as GasSpace, GenericAddress},
        fadt::Fadt,
        madt::{Madt, MadtEntry},
        mcfg::Mcfg,
        rsdp::Rsdp,
        sdt::{SdtHeader, Signature},
        AcpiHandler, AcpiTable, PhysicalMapping,
    };
    use mint_logic::fadt::Role;
    use std::ptr::NonNull;

    const BASE: u64 = 0x4000_2000;

    /// Physical memory for the parser: the block at the base it was built
    /// for. Mapping anything outside the block's bytes fails the test.
    #[derive(Clone, Copy)]
    struct Block<'a> {
        base: u64,
        bytes: &'a [u8],
    }

    impl AcpiHandler for Block<'_> {
        unsafe fn map_physical_region<T>(
            &self,
            addr: usize,
            size: usize,
        ) -> PhysicalMapping<Self, T> {
            let off = (addr as u64)
                .checked_sub(self.base)
                .unwrap_or_else(|| panic!("{addr:#x} is below the block at {:#x}", self.base))
                as usize;
            assert!(
                off + size <= self.bytes.len(),
                "{addr:#x}+{size:#x} runs past the tables ({:#x} bytes at {:#x})",
                self.bytes.len(),
                self.base
            );
            let ptr = NonNull::new(self.bytes[off..].as_ptr() as *mut T).unwrap();
            // SAFETY: the bytes are borrowed for the handler's lifetime; the
            // parser's table types are packed (alignment 1) and only read.
            unsafe { PhysicalMapping::new(addr, ptr, size, size, *self) }
        }

        fn unmap_physical_region<T>(_: &PhysicalMapping<Self, T>) {}
    }

    /// The tables of `t`, built for `base`, through its RSDP.
    fn parse(t: &AcpiTables, base: u64) -> ::acpi::AcpiTables<Block<'_>> {
        let block = Block {
            base,
            bytes: &t.bytes,
        };
        // SAFETY: the handler checks every mapping against the block.
        unsafe { ::acpi::AcpiTables::from_rsdp(block, t.rsdp_addr as usize) }.expect("valid RSDP")
    }

    fn rsdp(t: &AcpiTables, base: u64) -> PhysicalMapping<Block<'_>, Rsdp> {
        let block = Block {
            base,
            bytes: &t.bytes,
        };
        // SAFETY: as in `parse`.
        let r = unsafe { block.map_physical_region::<Rsdp>(t.rsdp_addr as usize, RSDP_LEN) };
        r.validate()
            .expect("RSDP signature, OEM id, extended checksum");
        // The parser checks only the extended checksum of a revision-2 RSDP;
        // Linux also checks the ACPI 1.0 one, over the first 20 bytes.
        let off = (t.rsdp_addr - base) as usize;
        assert_eq!(sum(&t.bytes[off..off + 20]), 0, "RSDP 1.0 checksum");
        r
    }

    /// The bytes of the table the parser found at `phys`, checked to lie
    /// 16-byte aligned inside the tables' room.
    fn raw(t: &AcpiTables, base: u64, phys: usize) -> &[u8] {
        let off = (phys as u64 - base) as usize;
        assert_eq!(off % 16, 0, "tables are 16-byte aligned");
        let len = u32::from_le_bytes(t.bytes[off + 4..off + 8].try_into().unwrap()) as usize;
        assert!(off + len <= t.bytes.len() && (off + len) as u64 <= ACPI_TABLES_MAX);
        &t.bytes[off..off + len]
    }

    /// Our OEM fields, and the crate's creator fields.
    fn check_ids(h: &SdtHeader) {
        assert_eq!(h.oem_id(), "MINT  ", "{}", h.signature);
        assert_eq!(h.oem_table_id(), "MINTPART", "{}", h.signature);
        assert_eq!({ h.oem_revision }, OEM_REVISION);
        assert_eq!({ h.creator_id }.to_le_bytes(), CREATOR_ID);
        assert_eq!({ h.creator_revision }, CREATOR_REVISION);
    }

    fn fadt<'a>(tables: &::acpi::AcpiTables<Block<'a>>) -> PhysicalMapping<Block<'a>, Fadt> {
        tables.find_table::<Fadt>().expect("a valid FADT")
    }

    /// (type, ACPI processor UID, APIC id, flags) of each MADT entry, in order.
    fn madt_entries(tables: &::acpi::AcpiTables<Block<'_>>) -> Vec<(u8, u32, u32, u32)> {
        let m = tables.find_table::<Madt>().expect("a valid MADT");
        m.get()
            .entries()
            .map(|e| match e {
                MadtEntry::LocalApic(e) => (0, u32::from(e.processor_id), u32::from(e.apic_id), {
                    e.flags
                }),
                MadtEntry::LocalX2Apic(e) => (9, { e.processor_uid }, { e.x2apic_id }, { e.flags }),
                other => panic!("unexpected MADT entry {other:?}"),
            })
            .collect()
    }

    /// What the MADT must list for `ids` and `decoy`: the decoy first, type
    /// 0, UID 0xff; then each CPU, UIDs 0, 1, ..., type 0 up to id 0xfe,
    /// type 9 above; all enabled.
    fn expected_madt(ids: &[u32], decoy: u32) -> Vec<(u8, u32, u32, u32)> {
        let mut v = vec![(0, 0xff, decoy, 1)];
        for (uid, &id) in ids.iter().enumerate() {
            v.push((if id <= 0xfe { 0 } else { 9 }, uid as u32, id, 1));
        }
        v
    }

    /// (base, segment, start bus, end bus) of each MCFG allocation.
    fn mcfg_entries(tables: &::acpi::AcpiTables<Block<'_>>) -> Option<Vec<(u64, u16, u8, u8)>> {
        let m = tables.find_table::<Mcfg>().ok()?;
        Some(
            m.entries()
                .iter()
                .map(|e| {
                    (
                        { e.base_address },
                        { e.pci_segment_group },
                        e.bus_number_start,
                        e.bus_number_end,
                    )
                })
                .collect(),
        )
    }

    fn gas_mem8(address: u64) -> GenericAddress {
        GenericAddress {
            address_space: GasSpace::SystemMemory,
            bit_width: 8,
            bit_offset: 0,
            access_size: GasAccess::ByteAccess,
            address,
        }
    }

    /// Two buses of two segments, memory windows below and above 4 GiB,
    /// an I/O window.
    fn two_buses() -> Vec<PciBus> {
        vec![
            PciBus {
                segment: 0,
                bus: 3,
                ecam_base: 0xb000_0000,
                mem: vec![0xfe00_0000..0xfe10_0000, 0x38_0000_0000..0x38_0010_0000],
                io: vec![0xc000..0xc040],
            },
            PciBus {
                segment: 1,
                bus: 0x80,
                ecam_base: 0x30_0000_0000,
                mem: vec![0xfd00_0000..0xfd00_4000],
                io: vec![],
            },
        ]
    }

    #[test]
    fn rsdp_xsdt_and_rsdt_list_the_tables() {
        for pci in [vec![], two_buses()] {
            let t = build(BASE, &[2, 3], 0x608, 0xf, None, &pci).unwrap();
            assert_eq!(t.rsdp_addr, BASE, "the RSDP opens the block");
            let r = rsdp(&t, BASE);
            assert_eq!(r.revision(), 2);
            assert_eq!(r.oem_id(), "MINT  ");
            assert_eq!(r.length(), 36);
            // Through the XSDT (revision 2)...
            let tables = parse(&t, BASE);
            let mut want = vec![Signature::FADT, Signature::MADT];
            if !pci.is_empty() {
                want.push(Signature::MCFG);
            }
            let via_xsdt: Vec<Signature> = tables.headers().map(|h| h.signature).collect();
            assert_eq!(via_xsdt, want);
            for h in tables.headers() {
                check_ids(&h);
            }
            // ...and the RSDT (as an ACPI 1.0 reader would), to the same tables.
            let rsdt_addr = r.rsdt_address() as usize;
            assert_ne!(rsdt_addr, 0, "the block is below 4 GiB: an RSDT");
            let block = Block {
                base: BASE,
                bytes: &t.bytes,
            };
            // SAFETY: the handler checks every mapping against the block.
            let v1 = unsafe { ::acpi::AcpiTables::from_rsdt(block, 0, rsdt_addr) }.unwrap();
            let via_rsdt: Vec<Signature> = v1.headers().map(|h| h.signature).collect();
            assert_eq!(via_rsdt, want);
            assert_eq!(
                v1.find_table::<Fadt>().unwrap().physical_start(),
                fadt(&tables).physical_start()
            );
            assert_eq!(
                v1.find_table::<Madt>().unwrap().physical_start(),
                tables.find_table::<Madt>().unwrap().physical_start()
            );
            // Every table checks out (signature, checksum) and lies inside.
            let f = fadt(&tables);
            check_ids(f.header());
            raw(&t, BASE, f.physical_start());
            let m = tables.find_table::<Madt>().unwrap();
            raw(&t, BASE, m.physical_start());
            if let Ok(m) = tables.find_table::<Mcfg>() {
                check_ids(m.header());
                raw(&t, BASE, m.physical_start());
            };
        }
    }

    #[test]
    fn fadt_fields() {
        for pci in [vec![], two_buses()] {
            let t = build(BASE, &[1], 0x608, 0xf, Some(0x2f8), &pci).unwrap();
            let tables = parse(&t, BASE);
            let f = fadt(&tables);
            assert_eq!(f.header().revision, 6);
            assert_eq!({ f.header().length }, 276);
            assert!(f.facs_address().is_err(), "no FACS");
            assert_eq!({ f.sci_interrupt }, 11);
            assert_eq!({ f.smi_cmd_port }, 0, "no SMI command port");
            let flags = { f.flags };
            assert!(flags.supports_equivalent_to_wbinvd());
            assert!(
                flags.power_button_is_control_method(),
                "no fixed power button"
            );
            assert!(
                flags.sleep_button_is_control_method(),
                "no fixed sleep button"
            );
            assert!(flags.supports_system_reset_via_fadt(), "RESET_REG_SUP");
            assert!(flags.system_is_hw_reduced_acpi());
            let boot = { f.iapc_boot_arch };
            assert!(!boot.legacy_devices_are_accessible());
            assert!(!boot.motherboard_implements_8042(), "no 8042");
            assert!(boot.dont_probe_vga());
            assert!(!boot.dont_enable_msi(), "MSIs allowed");
            assert!(!boot.dont_enable_pcie_aspm());
            assert!(boot.use_time_and_alarm_namespace_for_rtc(), "no CMOS RTC");
            // No fixed-hardware blocks but the PM timer: 32-bit, I/O space.
            assert!(f.pm1b_event_block().unwrap().is_none());
            assert!(f.pm2_control_block().unwrap().is_none());
            assert!(f.gpe0_block().unwrap().is_none());
            assert!(f.gpe1_block().unwrap().is_none());
            let tmr = f.pm_timer_block().unwrap().expect("a PM timer");
            assert_eq!(tmr.address_space, GasSpace::SystemIo);
            assert_eq!(tmr.address, 0x608);
            assert_eq!(tmr.bit_width, 32);
            // The status page's registers: RESET byte 0, SLEEP byte 1.
            let page = BASE + STATUS_PAGE_OFFSET;
            assert_eq!(t.status_page, page);
            assert_eq!(
                f.reset_register().unwrap(),
                gas_mem8(page + STATUS_RESET_OFF as u64)
            );
            assert_eq!({ f.reset_value }, RESET_VALUE);
            for reg in [f.sleep_control_register(), f.sleep_status_register()] {
                assert_eq!(reg.unwrap(), Some(gas_mem8(page + STATUS_SLEEP_OFF as u64)));
            }
            // The module reads the same status page out of the FADT.
            assert_eq!(
                mint_logic::fadt::role(raw(&t, BASE, f.physical_start())),
                Role::Partition(page)
            );
            // The DSDT: found through the FADT, valid, revision 2.
            let dsdt = tables.dsdt().unwrap();
            let addr = dsdt.address - HEADER_LEN;
            let block = Block {
                base: BASE,
                bytes: &t.bytes,
            };
            // SAFETY: the handler checks every mapping against the block.
            let h = unsafe {
                block.map_physical_region::<SdtHeader>(addr, HEADER_LEN + dsdt.length as usize)
            };
            h.validate(Signature::DSDT).unwrap();
            assert_eq!(h.revision, 2);
            check_ids(&h);
            assert_eq!(addr % 16, 0);
        }
    }

    #[test]
    fn madt_lists_the_decoy_then_the_cpus() {
        for ids in [
            vec![4, 2, 6, 200],
            vec![0x100, 2, 0xff, 0xfe, 0x1234_5678],
            vec![1, 0xff, 0x100, 0xffff_fffe],
        ] {
            let t = build(BASE, &ids, 0x608, 0xf, None, &[]).unwrap();
            let tables = parse(&t, BASE);
            assert_eq!(madt_entries(&tables), expected_madt(&ids, 0xf), "{ids:x?}");
            let m = tables.find_table::<Madt>().unwrap();
            let m = m.get();
            assert_eq!({ m.local_apic_address }, 0xfee0_0000);
            assert!(!m.supports_8259(), "no PCAT_COMPAT");
            assert_eq!(m.header.revision, 5);
            check_ids(&m.header);
        }
    }

    #[test]
    fn madt_refuses_the_invalid_x2apic_id() {
        assert_eq!(
            build(BASE, &[1, 0xffff_ffff], 0x608, 0xf, None, &[]),
            Err(AcpiError::InvalidApicId(0xffff_ffff))
        );
        assert_eq!(
            build(BASE, &[0x100, 0x100], 0x608, 0xf, None, &[]),
            Err(AcpiError::DuplicateApicId(0x100))
        );
        // The decoy must stay a type-0 entry.
        assert_eq!(
            build(BASE, &[0x100], 0x608, 0xff, None, &[]),
            Err(AcpiError::DecoyIdTooLarge(0xff))
        );
    }

    #[test]
    fn mcfg_has_one_allocation_per_bus() {
        let pci = two_buses();
        let t = build(BASE, &[1], 0x608, 0xf, None, &pci).unwrap();
        let want: Vec<_> = pci
            .iter()
            .map(|b| (b.ecam_base, b.segment, b.bus, b.bus))
            .collect();
        assert_eq!(mcfg_entries(&parse(&t, BASE)), Some(want));
        // No buses, no MCFG.
        let t = build(BASE, &[1], 0x608, 0xf, None, &[]).unwrap();
        assert_eq!(mcfg_entries(&parse(&t, BASE)), None);
    }

    #[test]
    fn block_above_4g_uses_the_xsdt_only() {
        let base = 0x1_2000_0000;
        for pci in [vec![], two_buses()] {
            let t = build(base, &[1, 2], 0xb008, 0, None, &pci).unwrap();
            assert_eq!(t.rsdp_addr, base);
            assert_eq!(rsdp(&t, base).rsdt_address(), 0, "no RSDT");
            let tables = parse(&t, base);
            let f = fadt(&tables);
            assert_eq!(f.pm_timer_block().unwrap().unwrap().address, 0xb008);
            let dsdt = tables.dsdt().unwrap();
            assert!(dsdt.address as u64 > base);
            assert_eq!(madt_entries(&tables), expected_madt(&[1, 2], 0));
            assert_eq!(mcfg_entries(&tables).is_some(), !pci.is_empty());
            // The GAS addresses are 64-bit.
            let page = base + STATUS_PAGE_OFFSET;
            assert_eq!(f.reset_register().unwrap().address, page);
            assert_eq!(
                f.sleep_control_register().unwrap().unwrap().address,
                page + 1
            );
            assert_eq!(
                mint_logic::fadt::role(raw(&t, base, f.physical_start())),
                Role::Partition(page)
            );
            // No table in the block points at a table through a 32-bit
            // pointer: the parser found them all through the XSDT.
        }
        // Just below 4 GiB: the block still fits, 32-bit pointers used.
        let base = (1u64 << 32) - ACPI_BLOCK_SIZE;
        let t = build(base, &[1], 0x608, 0xf, None, &two_buses()).unwrap();
        assert_ne!(rsdp(&t, base).rsdt_address(), 0);
    }

    /// The largest table sets: every CPU an x2APIC entry, a UART, the most
    /// buses, each with its ECAM above 4 GiB and the largest `_SEG`/`_BBN`
    /// encodings, and the most windows, all QWord memory, spread evenly or
    /// all on one bus.
    fn largest(spread: bool) -> (Vec<u32>, Vec<PciBus>) {
        let ids: Vec<u32> = (0x100..).take(MAX_CPUS).collect();
        let per_bus = MAX_PCI_WINDOWS / MAX_PCI_BUSES;
        let pci = (0..MAX_PCI_BUSES)
            .map(|i| {
                let windows = if spread {
                    per_bus
                } else if i == 0 {
                    MAX_PCI_WINDOWS
                } else {
                    0
                };
                let first = 0x100_0000_0000 * (i as u64 + 1);
                PciBus {
                    segment: 0x100 + i as u16,
                    bus: 0xff,
                    ecam_base: 0x80_0000_0000,
                    mem: (0..windows as u64)
                        .map(|w| first + w * 0x1000..first + w * 0x1000 + 0x800)
                        .collect(),
                    io: vec![],
                }
            })
            .collect();
        (ids, pci)
    }

    #[test]
    fn largest_sets_fit() {
        for spread in [true, false] {
            let (ids, pci) = largest(spread);
            let t = build(BASE, &ids, 0x608, 0x80, Some(0x2f8), &pci).unwrap();
            assert!(t.bytes.len() <= MAX_TABLES_LEN, "{:#x}", t.bytes.len());
            let tables = parse(&t, BASE);
            assert_eq!(madt_entries(&tables), expected_madt(&ids, 0x80));
            assert_eq!(mcfg_entries(&tables).unwrap().len(), MAX_PCI_BUSES);
        }
        // The bound is honest: not far above what the largest set takes.
        let (ids, pci) = largest(true);
        let len = build(BASE, &ids, 0x608, 0x80, Some(0x2f8), &pci)
            .unwrap()
            .bytes
            .len();
        assert!(
            MAX_TABLES_LEN - len < 1024,
            "{len:#x} vs {MAX_TABLES_LEN:#x}"
        );
        // Without PCI, the largest sets are what they always were.
        let ids: Vec<u32> = (0..=0xfe).filter(|&i| i != 0x80).collect();
        assert_eq!(ids.len(), MAX_CPUS);
        for uart in [None, Some(0x2f8)] {
            let t = build(BASE, &ids, 0x608, 0x80, uart, &[]).unwrap();
            let tables = parse(&t, BASE);
            assert_eq!(madt_entries(&tables), expected_madt(&ids, 0x80));
        }
    }

    #[test]
    fn too_many_buses_or_windows() {
        let (ids, mut pci) = largest(true);
        pci[0].io.push(0x1000..0x1010);
        assert_eq!(
            build(BASE, &ids, 0x608, 0x80, None, &pci),
            Err(AcpiError::TooManyPciWindows(MAX_PCI_WINDOWS + 1))
        );
        let (ids, mut pci) = largest(true);
        pci.push(PciBus {
            segment: 0,
            bus: 0,
            ecam_base: 0xb000_0000,
            mem: vec![],
            io: vec![],
        });
        assert_eq!(
            build(BASE, &ids, 0x608, 0x80, None, &pci),
            Err(AcpiError::TooManyPciBuses(MAX_PCI_BUSES + 1))
        );
    }

    /// An inverted range, `start..end` with `end` below `start`.
    fn inverted<T>(start: T, end: T) -> Range<T> {
        Range { start, end }
    }

    #[test]
    fn pci_input_errors() {
        let bus = |segment, bus| PciBus {
            segment,
            bus,
            ecam_base: 0xb000_0000,
            mem: vec![0xfe00_0000..0xfe00_1000],
            io: vec![0xc000..0xc020],
        };
        let b = |pci: &[PciBus]| build(BASE, &[1], 0x608, 0xf, None, pci);
        // The same bus number in two segments is fine, twice in one is not.
        assert!(b(&[bus(0, 3), bus(1, 3)]).is_ok());
        assert_eq!(
            b(&[bus(0, 3), bus(1, 3), bus(0, 3)]),
            Err(AcpiError::DuplicatePciBus { segment: 0, bus: 3 })
        );
        let mut e = bus(2, 4);
        e.mem.push(0x1000..0x1000);
        assert_eq!(
            b(&[e]),
            Err(AcpiError::EmptyPciMemWindow {
                segment: 2,
                bus: 4,
                window: 0x1000..0x1000
            })
        );
        let mut e = bus(2, 4);
        e.mem.insert(0, inverted(0x2000, 0x1000));
        assert_eq!(
            b(&[e]),
            Err(AcpiError::EmptyPciMemWindow {
                segment: 2,
                bus: 4,
                window: inverted(0x2000, 0x1000)
            })
        );
        let mut e = bus(2, 4);
        e.io.push(inverted(0x20, 0x10));
        assert_eq!(
            b(&[e]),
            Err(AcpiError::EmptyPciIoWindow {
                segment: 2,
                bus: 4,
                window: inverted(0x20, 0x10)
            })
        );
        // The ECAM slice: bus 0xff of a base 255 MiB below the top wraps;
        // bus 0 there is the last slice that fits.
        let top = u64::MAX - (1 << 28) + 1;
        let mut e = bus(0, 0xff);
        e.ecam_base = top;
        assert_eq!(
            b(&[e]),
            Err(AcpiError::EcamOverflow {
                segment: 0,
                bus: 0xff,
                ecam_base: top
            })
        );
        let mut e = bus(0, 0xfe);
        e.ecam_base = top;
        assert!(b(&[e]).is_ok());
        // Windows up to the ends of their spaces.
        let mut e = bus(0, 1);
        e.mem = vec![0xffff_f000..0x1_0000_0000, u64::MAX - 0xfff..u64::MAX];
        e.io = vec![0..1, 0xfff0..0xffff];
        assert!(b(&[e]).is_ok());
    }

    #[test]
    fn status_page_is_the_blocks_last_page() {
        assert_eq!(STATUS_PAGE_OFFSET, 0xf000);
        let page = STATUS_PAGE_OFFSET..STATUS_PAGE_OFFSET + STATUS_PAGE_LEN;
        assert_eq!(page.end, ACPI_BLOCK_SIZE);
        // The tables' room does not overlap it.
        assert!(ACPI_TABLES_MAX <= page.start);
        // The largest table set stays below it, and the block's bytes
        // never reach it (the page is left to the window scrub).
        let (ids, pci) = largest(true);
        let t = build(BASE, &ids, 0x608, 0x80, Some(0x2f8), &pci).unwrap();
        assert!((t.bytes.len() as u64) <= ACPI_TABLES_MAX);
        assert_eq!(t.status_page, BASE + STATUS_PAGE_OFFSET);
    }

    #[test]
    fn s5_control_value() {
        // SLP_TYPa 5: the control value a powering-off kernel writes,
        // ((SLP_TYPa << 2) & 0x1c) | SLP_EN, has SLP_EN set and WAK_STS clear.
        let control = ((S5_SLP_TYP << 2) & 0x1c) | mint_logic::load_image::SLP_EN;
        assert_eq!(control, 0x34);
        assert_eq!(control & 0x80, 0);
    }

    #[test]
    fn errors() {
        let b = |base, ids: &[u32], decoy, uart| build(base, ids, 0x608, decoy, uart, &[]);
        assert_eq!(b(BASE, &[], 0xf, None), Err(AcpiError::NoCpus));
        let many: Vec<u32> = (0..255).collect();
        assert_eq!(b(BASE, &many, 0xf, None), Err(AcpiError::TooManyCpus(255)));
        assert_eq!(
            b(BASE, &[1, 0xffff_ffff], 0xf, None),
            Err(AcpiError::InvalidApicId(0xffff_ffff))
        );
        assert_eq!(
            b(BASE, &[1, 2, 1], 0xf, None),
            Err(AcpiError::DuplicateApicId(1))
        );
        assert_eq!(
            b(BASE, &[1, 2], 2, None),
            Err(AcpiError::DecoyIsPartitionCpu(2))
        );
        assert_eq!(
            b(BASE, &[1, 2], 0xff, None),
            Err(AcpiError::DecoyIdTooLarge(0xff))
        );
        assert_eq!(
            b(BASE + 8, &[1], 0xf, None),
            Err(AcpiError::UnalignedBase(BASE + 8))
        );
        assert_eq!(
            b(BASE, &[1], 0xf, Some(0xfff9)),
            Err(AcpiError::UartBaseTooHigh(0xfff9))
        );
        assert!(b(BASE, &[1], 0xf, Some(0xfff8)).is_ok());
        let top = u64::MAX - 0xfff0 + 1;
        assert_eq!(b(top, &[1], 0xf, None), Err(AcpiError::BaseTooHigh(top)));
        for e in [
            AcpiError::NoCpus,
            AcpiError::TooManyCpus(300),
            AcpiError::InvalidApicId(0xffff_ffff),
            AcpiError::DuplicateApicId(3),
            AcpiError::DecoyIdTooLarge(0x1ff),
            AcpiError::DecoyIsPartitionCpu(1),
            AcpiError::UnalignedBase(3),
            AcpiError::BaseTooHigh(u64::MAX),
            AcpiError::UartBaseTooHigh(0xfffc),
            AcpiError::TooManyPciBuses(65),
            AcpiError::TooManyPciWindows(257),
            AcpiError::DuplicatePciBus { segment: 1, bus: 2 },
            AcpiError::EmptyPciMemWindow {
                segment: 0,
                bus: 2,
                window: 5..5,
            },
            AcpiError::EmptyPciIoWindow {
                segment: 0,
                bus: 2,
                window: inverted(5, 4),
            },
            AcpiError::EcamOverflow {
                segment: 0,
                bus: 0xff,
                ecam_base: u64::MAX,
            },
        ] {
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'), "{msg}");
        }
        assert_eq!(
            AcpiError::DuplicatePciBus { segment: 1, bus: 2 }.to_string(),
            "PCI bus 0001:02 is listed twice"
        );
    }
}
