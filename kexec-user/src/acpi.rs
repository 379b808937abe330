//! A per-partition ACPI table set.
//!
//! The partition's kernel (the host's own bzImage, built with `CONFIG_ACPI`)
//! finds its tables through `boot_params.acpi_rsdp_addr`. They must describe
//! only the partition's CPUs and steer the kernel away from every piece of
//! shared hardware, so the set is minimal:
//!
//! ```text
//! offset  table
//! 0x000   RSDP  (revision 2, 36 bytes, 16-byte aligned)
//! 0x030   XSDT  -> FADT, MADT
//! 0x070   RSDT  -> FADT, MADT      (only pointed to if the block lies below 4 GiB)
//! 0x0a0   FADT  (revision 6, hardware-reduced: the PM timer, and the reset
//!               and sleep registers in the status page)
//! 0x1c0   DSDT  (49 bytes: `\_S5` only; 98 bytes: `\_S5` and the console
//!               UART, see below)
//! M       MADT  (decoy LAPIC, then one entry per partition CPU: a local
//!               APIC for IDs up to 0xfe, a local x2APIC above), where
//!               M = DSDT end rounded up to 16: 0x200 without a console
//!               UART, 0x230 with it
//! ```
//!
//! All tables start 16-byte aligned; the tables end with the MADT, at most
//! 0x230 + 44 + 8 + 16 * 254 = 0x1244 bytes ([`MAX_TABLES_LEN`]: every
//! partition CPU an x2APIC entry), well inside [`ACPI_TABLES_MAX`].
//!
//! The reserved block ([`ACPI_BLOCK_SIZE`], 64 KiB, ACPI data in the
//! partition's e820, so its kernel never reuses it) holds the ACPI tables at
//! its start, then, with the 64-bit entry (`mint-kexec load --decompress`),
//! the boot page tables ([`crate::pagetable`]) at [`PAGE_TABLES_OFFSET`],
//! and in its last page the partition's status page
//! ([`STATUS_PAGE_OFFSET`]):
//!
//! ```text
//! 0x0000  ACPI tables (at most ACPI_TABLES_MAX = 0x8000 bytes)
//! 0x8000  boot page tables, 0x6000 bytes (64-bit entry only)
//! 0xe000  unused
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
//! interrupts off, then finds the sleep registers mapped too.
//!
//! The DSDT holds `\_S5` and, if the partition has a console UART, that
//! UART, described without an interrupt (hand-encoded AML, [`dsdt_aml`]):
//!
//! ```text
//! Name (\_S5, Package () { 0x05, 0x05 })        // SLP_TYPa, SLP_TYPb
//! Scope (\_SB_) {                               // only with a console UART
//!     Device (COM1) {
//!         Name (_HID, EisaId ("PNP0501"))        // 16550A-compatible COM port
//!         Name (_UID, One)
//!         Name (_CRS, ResourceTemplate () {
//!             IO (Decode16, BASE, BASE, 0x01, 0x08)
//!         })                                     // no IRQ descriptor
//!     }
//! }
//! ```
//!
//! Why: hardware-reduced ACPI gives the guest the null legacy PIC, so ISA
//! IRQ 3/4 do not exist for it, and the legacy ttyS entries (irq 3/4 from
//! the kernel's built-in table) wait forever for a transmit interrupt: the
//! polled printk console works, but the tty never sends a byte. 8250_pnp
//! binds PNP0501, finds no IRQ resource and registers the port with irq 0
//! (`uart_read_port_properties` returns -ENXIO, which it takes as "poll");
//! the 8250 core then services irq-0 ports from a timer
//! (`univ8250_setup_timer`) and does not raise MCR.OUT2, which a PC UART
//! needs to drive its (the host's) interrupt line. The PNP driver registers before the legacy
//! ports, and `serial8250_find_match_or_unused` matches the legacy entry
//! with the same I/O base, so the port keeps its line (ttyS1 for 0x2f8) and
//! the `console=ttyS1` console. The device is COM1 of the partition's own
//! namespace; Linux numbers the line by I/O base, not by name or `_UID`.
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

use mint_logic::load_image::{
    PAGE_TABLE_LEN, RESET_VALUE, STATUS_PAGE_LEN, STATUS_RESET_OFF, STATUS_SLEEP_OFF,
};

/// Size of the region reserved for the block in the partition's memory.
pub const ACPI_BLOCK_SIZE: u64 = 0x10000;
/// Room for the ACPI tables at the start of the block:
/// [`AcpiTables::bytes`] is never longer than this ([`build`] asserts it).
pub const ACPI_TABLES_MAX: u64 = 0x8000;
/// Offset in the block of the boot page tables for the 64-bit entry, right
/// after the tables' room (page aligned).
pub const PAGE_TABLES_OFFSET: u64 = ACPI_TABLES_MAX;
/// The longest table set [`build`] makes: [`MAX_CPUS`] CPUs, all with
/// x2APIC entries, and a console UART.
pub const MAX_TABLES_LEN: usize = 0x1244;
/// Offset in the block of the partition's status page: the block's last page.
pub const STATUS_PAGE_OFFSET: u64 = ACPI_BLOCK_SIZE - STATUS_PAGE_LEN;

const _: () = assert!(MAX_TABLES_LEN as u64 <= ACPI_TABLES_MAX);
const _: () = assert!(PAGE_TABLES_OFFSET.is_multiple_of(0x1000));
const _: () = assert!(PAGE_TABLES_OFFSET + PAGE_TABLE_LEN <= ACPI_BLOCK_SIZE);
// The status page overlaps neither the tables' room nor the page tables,
// and is a whole page inside the block.
const _: () = assert!(STATUS_PAGE_OFFSET == 0xf000);
const _: () = assert!(STATUS_PAGE_OFFSET.is_multiple_of(STATUS_PAGE_LEN));
const _: () = assert!(ACPI_TABLES_MAX <= STATUS_PAGE_OFFSET);
const _: () = assert!(PAGE_TABLES_OFFSET + PAGE_TABLE_LEN <= STATUS_PAGE_OFFSET);
const _: () = assert!(STATUS_PAGE_OFFSET + STATUS_PAGE_LEN <= ACPI_BLOCK_SIZE);

/// Largest number of partition CPUs: as many as xAPIC entries can name
/// (8-bit ids, 0xff is the broadcast/invalid id, one id goes to the decoy,
/// which must stay a type-0 entry). The module, which numbers CPUs 0..=255
/// and keeps CPU 0, could give one more.
pub const MAX_CPUS: usize = 254;

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
/// Creator id of every table.
pub const CREATOR_ID: [u8; 4] = *b"MINT";
/// Creator revision of every table.
pub const CREATOR_REVISION: u32 = 1;

/// Physical address of the local APIC, as on every x86 PC.
pub const LOCAL_APIC_ADDRESS: u32 = 0xfee0_0000;

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
/// MADT entry type of a Processor Local APIC.
pub const MADT_TYPE_LOCAL_APIC: u8 = 0;
/// MADT entry type of a Processor Local x2APIC.
pub const MADT_TYPE_LOCAL_X2APIC: u8 = 9;

/// Table offsets inside the block (all 16-byte aligned).
const RSDP_OFF: usize = 0x000;
const XSDT_OFF: usize = 0x030;
const XSDT_LEN: usize = HEADER_LEN + 2 * 8;
const RSDT_OFF: usize = 0x070;
const RSDT_LEN: usize = HEADER_LEN + 2 * 4;
const FADT_OFF: usize = 0x0a0;
const DSDT_OFF: usize = 0x1c0;
// The MADT follows the DSDT, whose length depends on its content.

/// Number of I/O ports a 16550 UART decodes.
pub const UART_PORTS: u16 = 8;
/// Highest I/O base a UART can have (its 8 ports must fit the 16-bit space).
pub const MAX_UART_BASE: u16 = u16::MAX - (UART_PORTS - 1);

// FADT field offsets (ACPI 6.5, table 5.9).
const FADT_FIRMWARE_CTRL: usize = 36;
const FADT_DSDT: usize = 40;
const FADT_PREFERRED_PM_PROFILE: usize = 45;
const FADT_SCI_INT: usize = 46;
const FADT_SMI_CMD: usize = 48;
const FADT_PM_TMR_BLK: usize = 76;
const FADT_PM_TMR_LEN: usize = 91;
const FADT_IAPC_BOOT_ARCH: usize = 109;
const FADT_FLAGS: usize = 112;
const FADT_RESET_REG: usize = 116;
const FADT_RESET_VALUE: usize = 128;
const FADT_MINOR_VERSION: usize = 131;
const FADT_X_FIRMWARE_CTRL: usize = 132;
const FADT_X_DSDT: usize = 140;
const FADT_X_PM_TMR_BLK: usize = 208;
const FADT_SLEEP_CONTROL_REG: usize = 244;
const FADT_SLEEP_STATUS_REG: usize = 256;
const FADT_HYPERVISOR_VENDOR_ID: usize = 268;

/// FADT flags: WBINVD works.
pub const FADT_WBINVD: u32 = 1 << 0;
/// FADT flags: the power button, if any, is a control-method device (there is none).
pub const FADT_PWR_BUTTON: u32 = 1 << 4;
/// FADT flags: the sleep button, if any, is a control-method device (there is none).
pub const FADT_SLP_BUTTON: u32 = 1 << 5;
/// FADT flags: `RESET_REG` is a working reset register (RESET_REG_SUP).
pub const FADT_RESET_REG_SUP: u32 = 1 << 10;
/// FADT flags: hardware-reduced ACPI (no PM1/GPE/SCI fixed hardware, no legacy PIC).
pub const FADT_HW_REDUCED_ACPI: u32 = 1 << 20;
/// IA-PC boot architecture flags: it is not safe to probe for VGA.
pub const IAPC_NO_VGA: u16 = 1 << 2;
/// IA-PC boot architecture flags: no CMOS RTC.
pub const IAPC_CMOS_RTC_NOT_PRESENT: u16 = 1 << 5;
/// SCI interrupt announced in the FADT (unused in hardware-reduced mode).
pub const SCI_INT: u16 = 11;

/// MADT Processor Local APIC flag: the processor is enabled.
pub const MADT_LAPIC_ENABLED: u32 = 1 << 0;
/// ACPI processor UID of the decoy entry (partition CPUs use 0, 1, ...).
pub const DECOY_UID: u8 = 0xff;

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
///   no CPU at all, or to the host's BSP); see [`build`]'s MADT notes.
/// * `console_uart`: I/O base of the partition's own 16550 UART (e.g. 0x2f8,
///   ttyS1), described in the DSDT without an interrupt (see the module
///   notes); `None` leaves the DSDT empty.
pub fn build(
    base_phys: u64,
    apic_ids: &[u32],
    pm_timer_port: u16,
    decoy_apic_id: u32,
    console_uart: Option<u16>,
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

    let aml = dsdt_aml(console_uart);
    let dsdt_len = HEADER_LEN + aml.len();
    let madt_off = align16(DSDT_OFF + dsdt_len);
    let madt_len = HEADER_LEN
        + 8
        + LAPIC_ENTRY_LEN
        + apic_ids.iter().map(|&id| madt_entry_len(id)).sum::<usize>();
    let total = madt_off + madt_len;
    // Never into the page tables that may follow at PAGE_TABLES_OFFSET.
    assert!(
        total <= MAX_TABLES_LEN && total as u64 <= ACPI_TABLES_MAX,
        "ACPI tables of {total:#x} bytes overrun their room"
    );
    let addr = |off: usize| base_phys + off as u64;
    let status_page = base_phys + STATUS_PAGE_OFFSET;
    // 32-bit pointers (RSDT, FADT.DSDT) only if the whole block is below 4 GiB;
    // otherwise they are left zero and the 64-bit ones (XSDT, X_DSDT) are used,
    // which Linux prefers anyway for an RSDP of revision 2.
    let low = addr(total) <= 1 << 32;
    let addr32 = |off: usize| if low { addr(off) as u32 } else { 0 };

    let mut block = vec![0u8; total];

    // FADT.
    {
        let t = &mut block[FADT_OFF..FADT_OFF + FADT_LEN];
        // Revision 6 with minor version 0 (ACPI 6.0): Linux then does not
        // honour the "online capable" MADT bit; we do not need it.
        write_header(t, b"FACP", 6);
        // No FACS: there is no firmware waking vector or global lock to share.
        put_u32(t, FADT_FIRMWARE_CTRL, 0);
        put_u64(t, FADT_X_FIRMWARE_CTRL, 0);
        // The DSDT holds at most the console UART: no methods to run, no
        // _PRT, no PCI root bridge, no EC, no buttons, no thermal zones.
        put_u32(t, FADT_DSDT, addr32(DSDT_OFF));
        put_u64(t, FADT_X_DSDT, addr(DSDT_OFF));
        // Preferred PM profile: unspecified.
        t[FADT_PREFERRED_PM_PROFILE] = 0;
        // SCI_INT: the conventional 11. In hardware-reduced mode there is no
        // SCI handler to install and, with no I/O APIC, nothing to route it to.
        put_u16(t, FADT_SCI_INT, SCI_INT);
        // SMI_CMD 0: ACPI mode cannot be switched, so the guest never writes
        // the SMI command port (which would trap into the host's firmware).
        put_u32(t, FADT_SMI_CMD, 0);
        // PM1a/b event and control, PM2 control and GPE0/1 blocks stay zero:
        // the guest must never ack events, sleep or power off the machine
        // (it sleeps through the status page, below).
        // The PM timer is the one fixed register we share: it is a read-only
        // free-running counter, and Linux uses it to calibrate the TSC and as
        // a clocksource. Set in both the legacy and the extended field (equal,
        // so ACPICA does not complain about a 32/64-bit mismatch).
        put_u32(t, FADT_PM_TMR_BLK, u32::from(pm_timer_port));
        t[FADT_PM_TMR_LEN] = 4;
        write_gas_io32(
            &mut t[FADT_X_PM_TMR_BLK..FADT_X_PM_TMR_BLK + 12],
            u64::from(pm_timer_port),
        );
        // IA-PC boot architecture: no legacy (LPC/ISA) devices, no 8042 (bit 1
        // clear: the guest never probes the shared keyboard controller, whose
        // reset line would reboot the machine), not safe to probe VGA, no
        // CMOS RTC (no rtc_cmos device is registered).
        put_u16(
            t,
            FADT_IAPC_BOOT_ARCH,
            IAPC_NO_VGA | IAPC_CMOS_RTC_NOT_PRESENT,
        );
        // Hardware-reduced ACPI: no fixed hardware, Linux replaces the legacy
        // PIC with a null one and skips the PIT/HPET timer setup, so it does
        // not program the shared 8259s or 8254. No power/sleep button.
        // RESET_REG_SUP: the reset register below works.
        put_u32(
            t,
            FADT_FLAGS,
            FADT_WBINVD
                | FADT_PWR_BUTTON
                | FADT_SLP_BUTTON
                | FADT_RESET_REG_SUP
                | FADT_HW_REDUCED_ACPI,
        );
        // The reset register is the status page's RESET byte: a guest
        // reboot writes RESET_VALUE there first. The host, which watches the
        // page, must stop the partition before the kernel's 15 ms wait ends
        // and it falls back to resetting the machine.
        write_gas_mem8(
            &mut t[FADT_RESET_REG..FADT_RESET_REG + 12],
            status_page + STATUS_RESET_OFF as u64,
        );
        t[FADT_RESET_VALUE] = RESET_VALUE;
        // Sleep control and sleep status are both the status page's SLEEP
        // byte: a guest poweroff writes WAK_STS, overwrites it with
        // SLP_TYP | SLP_EN and then waits for WAK_STS forever.
        for off in [FADT_SLEEP_CONTROL_REG, FADT_SLEEP_STATUS_REG] {
            write_gas_mem8(&mut t[off..off + 12], status_page + STATUS_SLEEP_OFF as u64);
        }
        t[FADT_MINOR_VERSION] = 0;
        put_u64(t, FADT_HYPERVISOR_VENDOR_ID, 0);
        checksum_table(t);
    }

    // DSDT: a header (revision 2: 64-bit AML integers), then the AML.
    {
        let t = &mut block[DSDT_OFF..DSDT_OFF + dsdt_len];
        t[HEADER_LEN..].copy_from_slice(&aml);
        write_header(t, b"DSDT", 2);
        checksum_table(t);
    }

    // MADT.
    {
        let t = &mut block[madt_off..madt_off + madt_len];
        write_header(t, b"APIC", 5);
        put_u32(t, HEADER_LEN, LOCAL_APIC_ADDRESS);
        // Flags 0: no PCAT_COMPAT, there is no 8259 pair for the guest to
        // mask or drive. There is no I/O APIC entry and no interrupt source
        // override: the shared I/O APICs belong to the host, and the guest's
        // devices (if any) must use MSIs.
        put_u32(t, HEADER_LEN + 4, 0);
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
        let mut off = HEADER_LEN + 8;
        write_lapic(
            &mut t[off..off + LAPIC_ENTRY_LEN],
            DECOY_UID,
            decoy_apic_id as u8,
            MADT_LAPIC_ENABLED,
        );
        off += LAPIC_ENTRY_LEN;
        for (uid, &id) in apic_ids.iter().enumerate() {
            let len = madt_entry_len(id);
            let e = &mut t[off..off + len];
            if id <= MAX_XAPIC_ID {
                // uid < MAX_CPUS, so it fits the 8-bit field.
                write_lapic(e, uid as u8, id as u8, MADT_LAPIC_ENABLED);
            } else {
                write_x2apic(e, uid as u32, id, MADT_LAPIC_ENABLED);
            }
            off += len;
        }
        debug_assert_eq!(off, madt_len);
        checksum_table(t);
    }

    // XSDT and RSDT, listing FADT then MADT.
    {
        let t = &mut block[XSDT_OFF..XSDT_OFF + XSDT_LEN];
        write_header(t, b"XSDT", 1);
        put_u64(t, HEADER_LEN, addr(FADT_OFF));
        put_u64(t, HEADER_LEN + 8, addr(madt_off));
        checksum_table(t);
    }
    if low {
        let t = &mut block[RSDT_OFF..RSDT_OFF + RSDT_LEN];
        write_header(t, b"RSDT", 1);
        put_u32(t, HEADER_LEN, addr32(FADT_OFF));
        put_u32(t, HEADER_LEN + 4, addr32(madt_off));
        checksum_table(t);
    }

    // RSDP revision 2.
    {
        let t = &mut block[RSDP_OFF..RSDP_OFF + RSDP_LEN];
        t[0..8].copy_from_slice(b"RSD PTR ");
        t[9..15].copy_from_slice(&OEM_ID);
        t[15] = 2;
        put_u32(t, 16, addr32(RSDT_OFF));
        put_u32(t, 20, RSDP_LEN as u32);
        put_u64(t, 24, addr(XSDT_OFF));
        // Checksum of the ACPI 1.0 part (bytes 0..20), then the extended one.
        t[8] = 0u8.wrapping_sub(sum(&t[..20]));
        t[32] = 0u8.wrapping_sub(sum(t));
    }

    Ok(AcpiTables {
        bytes: block,
        rsdp_addr: addr(RSDP_OFF),
        status_page,
    })
}

// AML opcodes and prefixes (ACPI 6.5, section 20).
const AML_ZERO_OP: u8 = 0x00;
const AML_ONE_OP: u8 = 0x01;
const AML_NAME_OP: u8 = 0x08;
const AML_BYTE_PREFIX: u8 = 0x0a;
const AML_WORD_PREFIX: u8 = 0x0b;
const AML_DWORD_PREFIX: u8 = 0x0c;
const AML_QWORD_PREFIX: u8 = 0x0e;
const AML_SCOPE_OP: u8 = 0x10;
const AML_BUFFER_OP: u8 = 0x11;
const AML_PACKAGE_OP: u8 = 0x12;
const AML_ROOT_CHAR: u8 = b'\\';
const AML_EXT_OP_PREFIX: u8 = 0x5b;
const AML_DEVICE_OP: u8 = 0x82;

// Small resource descriptors (ACPI 6.5, section 6.4.2).
/// I/O port descriptor: type 0x08, length 7.
const RES_IO_PORT: u8 = 0x47;
/// I/O port descriptor information: the device decodes 16 address bits.
const RES_IO_DECODE16: u8 = 0x01;
/// End tag: type 0x0f, length 1 (the checksum byte).
const RES_END_TAG: u8 = 0x79;

/// EISA id of a 16550A-compatible COM port.
pub const UART_HID: &str = "PNP0501";
/// Name of the UART device in the partition's namespace (`\_SB.COM1`).
pub const UART_DEVICE: [u8; 4] = *b"COM1";
/// `_UID` of the UART device.
pub const UART_UID: u64 = 1;
/// SLP_TYPa and SLP_TYPb of `\_S5`: the sleep control value a powering-off
/// partition writes is then `(5 << 2) | SLP_EN` = 0x34.
pub const S5_SLP_TYP: u8 = 5;

/// The DSDT's AML: `\_S5`, then, with `console_uart`, that UART as
/// `\_SB.COM1` (PNP0501, one I/O range of 8 ports, no interrupt).
pub fn dsdt_aml(console_uart: Option<u16>) -> Vec<u8> {
    let mut aml = s5_aml();
    let Some(base) = console_uart else {
        return aml;
    };
    let mut device = UART_DEVICE.to_vec();
    device.extend(aml_name(b"_HID", &aml_dword(eisa_id(UART_HID))));
    device.extend(aml_name(b"_UID", &aml_integer(UART_UID)));
    device.extend(aml_name(b"_CRS", &aml_buffer(&uart_resources(base))));

    let mut scope = vec![AML_ROOT_CHAR];
    scope.extend_from_slice(b"_SB_");
    scope.extend(aml_package(&[AML_EXT_OP_PREFIX, AML_DEVICE_OP], &device));
    aml.extend(aml_package(&[AML_SCOPE_OP], &scope));
    aml
}

/// `Name (\_S5, Package () { 5, 5 })`: a package of two integers, SLP_TYPa
/// and SLP_TYPb.
fn s5_aml() -> Vec<u8> {
    let typ = aml_integer(u64::from(S5_SLP_TYP));
    let mut body = vec![2]; // NumElements
    body.extend_from_slice(&typ);
    body.extend_from_slice(&typ);
    let mut out = vec![AML_NAME_OP, AML_ROOT_CHAR];
    out.extend_from_slice(b"_S5_");
    out.extend(aml_package(&[AML_PACKAGE_OP], &body));
    out
}

/// `ResourceTemplate () { IO (Decode16, base, base, 1, 8) }`: the I/O port
/// descriptor and the end tag, whose checksum makes the whole template sum
/// to zero.
fn uart_resources(base: u16) -> Vec<u8> {
    let [lo, hi] = base.to_le_bytes();
    let mut r = vec![
        RES_IO_PORT,
        RES_IO_DECODE16,
        lo,
        hi, // minimum base
        lo,
        hi, // maximum base: fixed
        1,  // alignment
        UART_PORTS as u8,
        RES_END_TAG,
    ];
    r.push(0u8.wrapping_sub(sum(&r)));
    r
}

/// The PkgLength encoding for a package whose content after the PkgLength is
/// `content_len` bytes: the encoded value counts the PkgLength bytes too.
/// One byte holds up to 63; otherwise the lead byte's bits 7-6 give the
/// number of following bytes, its bits 3-0 the low nibble, and each
/// following byte the next 8 bits.
fn aml_pkg_length(content_len: usize) -> Vec<u8> {
    if content_len < 63 {
        return vec![(content_len + 1) as u8];
    }
    let extra = (1..=3)
        .find(|&n| content_len + 1 + n < 1 << (4 + 8 * n))
        .expect("AML package longer than 2^28 bytes");
    let v = content_len + 1 + extra;
    let mut out = vec![((extra as u8) << 6) | (v & 0xf) as u8];
    out.extend((0..extra).map(|i| (v >> (4 + 8 * i)) as u8));
    out
}

/// `op PkgLength body`.
fn aml_package(op: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = op.to_vec();
    out.extend(aml_pkg_length(body.len()));
    out.extend_from_slice(body);
    out
}

/// `Name (seg, value)`.
fn aml_name(seg: &[u8; 4], value: &[u8]) -> Vec<u8> {
    let mut out = vec![AML_NAME_OP];
    out.extend_from_slice(seg);
    out.extend_from_slice(value);
    out
}

/// A DWordConst.
fn aml_dword(v: u32) -> Vec<u8> {
    let mut out = vec![AML_DWORD_PREFIX];
    out.extend_from_slice(&v.to_le_bytes());
    out
}

/// The shortest integer encoding, as iasl emits it (Zero, One, Byte, Word,
/// DWord or QWord constant).
fn aml_integer(v: u64) -> Vec<u8> {
    match v {
        0 => vec![AML_ZERO_OP],
        1 => vec![AML_ONE_OP],
        2..=0xff => vec![AML_BYTE_PREFIX, v as u8],
        0x100..=0xffff => {
            let mut out = vec![AML_WORD_PREFIX];
            out.extend_from_slice(&(v as u16).to_le_bytes());
            out
        }
        0x1_0000..=0xffff_ffff => aml_dword(v as u32),
        _ => {
            let mut out = vec![AML_QWORD_PREFIX];
            out.extend_from_slice(&v.to_le_bytes());
            out
        }
    }
}

/// `Buffer () { bytes }`: the buffer size as an integer, then the bytes.
fn aml_buffer(bytes: &[u8]) -> Vec<u8> {
    let mut body = aml_integer(bytes.len() as u64);
    body.extend_from_slice(bytes);
    aml_package(&[AML_BUFFER_OP], &body)
}

/// The compressed EISA id of a 7-character PNP id ("PNP0501"): three
/// 5-bit letters (`'A'` = 1) and four hex digits, stored big-endian, so the
/// DWord's bytes in memory read 0x41 0xd0 0x05 0x01 for PNP0501.
pub fn eisa_id(id: &str) -> u32 {
    let b = id.as_bytes();
    assert!(
        b.len() == 7
            && b[..3].iter().all(u8::is_ascii_uppercase)
            && b[3..].iter().all(u8::is_ascii_hexdigit),
        "bad EISA id {id:?}"
    );
    let letters = b[..3]
        .iter()
        .fold(0u32, |a, &c| (a << 5) | u32::from(c - b'A' + 1));
    let product = u32::from_str_radix(&id[3..], 16).unwrap();
    ((letters << 16) | product).swap_bytes()
}

fn align16(off: usize) -> usize {
    (off + 15) & !15
}

fn put_u16(t: &mut [u8], off: usize, v: u16) {
    t[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(t: &mut [u8], off: usize, v: u32) {
    t[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(t: &mut [u8], off: usize, v: u64) {
    t[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b))
}

/// Writes the common header of a table occupying all of `t` (checksum 0).
fn write_header(t: &mut [u8], signature: &[u8; 4], revision: u8) {
    t[0..4].copy_from_slice(signature);
    put_u32(t, 4, t.len() as u32);
    t[8] = revision;
    t[9] = 0;
    t[10..16].copy_from_slice(&OEM_ID);
    t[16..24].copy_from_slice(&OEM_TABLE_ID);
    put_u32(t, 24, OEM_REVISION);
    t[28..32].copy_from_slice(&CREATOR_ID);
    put_u32(t, 32, CREATOR_REVISION);
}

/// Sets the checksum byte so that the whole table sums to zero.
fn checksum_table(t: &mut [u8]) {
    t[9] = 0;
    t[9] = 0u8.wrapping_sub(sum(t));
}

/// A Generic Address Structure for a 32-bit register in system I/O space.
fn write_gas_io32(g: &mut [u8], port: u64) {
    g[0] = 1; // address space id: system I/O
    g[1] = 32; // register bit width
    g[2] = 0; // register bit offset
    g[3] = 3; // access size: dword
    put_u64(g, 4, port);
}

/// A Generic Address Structure for an 8-bit register in system memory,
/// accessed by bytes.
fn write_gas_mem8(g: &mut [u8], addr: u64) {
    g[0] = 0; // address space id: system memory
    g[1] = 8; // register bit width
    g[2] = 0; // register bit offset
    g[3] = 1; // access size: byte
    put_u64(g, 4, addr);
}

/// Length of the MADT entry that describes the CPU with `apic_id`.
fn madt_entry_len(apic_id: u32) -> usize {
    if apic_id <= MAX_XAPIC_ID {
        LAPIC_ENTRY_LEN
    } else {
        X2APIC_ENTRY_LEN
    }
}

/// A Processor Local APIC structure (MADT type 0).
fn write_lapic(e: &mut [u8], uid: u8, apic_id: u8, flags: u32) {
    e[0] = MADT_TYPE_LOCAL_APIC;
    e[1] = LAPIC_ENTRY_LEN as u8;
    e[2] = uid;
    e[3] = apic_id;
    put_u32(e, 4, flags);
}

/// A Processor Local x2APIC structure (MADT type 9, ACPI 6.5 table 5.31):
/// type, length 16, two reserved bytes, the x2APIC id, the flags (as for
/// type 0) and the ACPI processor UID.
fn write_x2apic(e: &mut [u8], uid: u32, x2apic_id: u32, flags: u32) {
    e[0] = MADT_TYPE_LOCAL_X2APIC;
    e[1] = X2APIC_ENTRY_LEN as u8;
    put_u16(e, 2, 0);
    put_u32(e, 4, x2apic_id);
    put_u32(e, 8, flags);
    put_u32(e, 12, uid);
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x4000_2000;

    fn u16_at(b: &[u8], off: usize) -> u16 {
        u16::from_le_bytes(b[off..off + 2].try_into().unwrap())
    }
    fn u32_at(b: &[u8], off: usize) -> u32 {
        u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], off: usize) -> u64 {
        u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
    }

    /// The table at physical address `addr`, checked: inside the block,
    /// signature, length within the block, checksum, OEM fields.
    fn table<'a>(t: &'a AcpiTables, base: u64, addr: u64, sig: &[u8; 4]) -> &'a [u8] {
        assert!(addr >= base, "{addr:#x} below base");
        let off = (addr - base) as usize;
        assert!(
            off + HEADER_LEN <= t.bytes.len(),
            "{addr:#x} outside the block"
        );
        let len = u32_at(&t.bytes, off + 4) as usize;
        assert!(len >= HEADER_LEN && off + len <= t.bytes.len());
        let tab = &t.bytes[off..off + len];
        assert_eq!(&tab[0..4], sig);
        assert_eq!(sum(tab), 0, "{} checksum", String::from_utf8_lossy(sig));
        assert_eq!(&tab[10..16], b"MINT  ");
        assert_eq!(&tab[16..24], &OEM_TABLE_ID);
        assert_eq!(u32_at(tab, 24), OEM_REVISION);
        assert_eq!(&tab[28..32], &CREATOR_ID);
        assert_eq!(u32_at(tab, 32), CREATOR_REVISION);
        assert_eq!(off % 16, 0, "tables are 16-byte aligned");
        tab
    }

    fn rsdp(t: &AcpiTables, base: u64) -> &[u8] {
        assert_eq!(t.rsdp_addr % 16, 0);
        let off = (t.rsdp_addr - base) as usize;
        &t.bytes[off..off + RSDP_LEN]
    }

    /// (FADT, MADT) reached through the XSDT.
    fn via_xsdt(t: &AcpiTables, base: u64) -> (&[u8], &[u8]) {
        let r = rsdp(t, base);
        let xsdt = table(t, base, u64_at(r, 24), b"XSDT");
        assert_eq!(xsdt.len(), HEADER_LEN + 16);
        assert_eq!(xsdt[8], 1);
        (
            table(t, base, u64_at(xsdt, 36), b"FACP"),
            table(t, base, u64_at(xsdt, 44), b"APIC"),
        )
    }

    #[test]
    fn rsdp_fields_and_checksums() {
        let t = build(BASE, &[2, 3], 0x608, 0xf, None).unwrap();
        assert!(t.bytes.len() as u64 <= ACPI_BLOCK_SIZE);
        assert_eq!(t.rsdp_addr, BASE);
        let r = rsdp(&t, BASE);
        assert_eq!(&r[0..8], b"RSD PTR ");
        assert_eq!(&r[9..15], b"MINT  ");
        assert_eq!(r[15], 2);
        assert_eq!(u32_at(r, 20), 36);
        assert_eq!(sum(&r[..20]), 0);
        assert_eq!(sum(r), 0);
        assert_eq!(&r[33..36], &[0, 0, 0]);
        // RSDT: same tables as the XSDT, through 32-bit pointers.
        let rsdt = table(&t, BASE, u64::from(u32_at(r, 16)), b"RSDT");
        assert_eq!(rsdt.len(), HEADER_LEN + 8);
        let (fadt, madt) = via_xsdt(&t, BASE);
        let fadt_addr = u64::from(u32_at(rsdt, 36));
        let madt_addr = u64::from(u32_at(rsdt, 40));
        assert_eq!(table(&t, BASE, fadt_addr, b"FACP"), fadt);
        assert_eq!(table(&t, BASE, madt_addr, b"APIC"), madt);
    }

    #[test]
    fn fadt_fields() {
        let t = build(BASE, &[1], 0x608, 0xf, None).unwrap();
        let (f, _) = via_xsdt(&t, BASE);
        assert_eq!(f.len(), 276);
        assert_eq!(f[8], 6, "revision");
        assert_eq!(f[131], 0, "minor version");
        assert_eq!(u32_at(f, 36), 0, "FIRMWARE_CTRL");
        assert_eq!(u64_at(f, 132), 0, "X_FIRMWARE_CTRL");
        assert_eq!(u16_at(f, 46), 11, "SCI_INT");
        assert_eq!(u32_at(f, 48), 0, "SMI_CMD");
        for off in (56..76).step_by(4).chain([80, 84]) {
            assert_eq!(u32_at(f, off), 0, "PM1/PM2/GPE block at {off}");
        }
        assert_eq!(u32_at(f, 76), 0x608, "PM_TMR_BLK");
        assert_eq!(
            &f[88..94],
            &[0, 0, 0, 4, 0, 0],
            "PM1_EVT/PM1_CNT/PM2_CNT/PM_TMR/GPE0/GPE1 lengths"
        );
        assert_eq!(
            u16_at(f, 109),
            (1 << 2) | (1 << 5),
            "IAPC_BOOT_ARCH: NO_VGA | NO_CMOS_RTC, no 8042"
        );
        assert_eq!(
            u32_at(f, 112),
            1 | (1 << 4) | (1 << 5) | (1 << 10) | (1 << 20),
            "flags: WBINVD, PWR_BUTTON, SLP_BUTTON, RESET_REG_SUP, HW_REDUCED_ACPI"
        );
        // The reset register: the status page's byte 0, system memory, 8
        // bits, byte access; RESET_VALUE 1.
        let page = BASE + 0xf000;
        assert_eq!(t.status_page, page);
        assert_eq!(&f[116..120], &[0, 8, 0, 1], "RESET_REG");
        assert_eq!(u64_at(f, 120), page, "RESET_REG address");
        assert_eq!(f[128], 1, "RESET_VALUE");
        // Sleep control and sleep status: both the status page's byte 1.
        for off in [244, 256] {
            assert_eq!(&f[off..off + 4], &[0, 8, 0, 1], "sleep GAS at {off}");
            assert_eq!(u64_at(f, off + 4), page + 1, "sleep GAS at {off}");
        }
        // X_PM_TMR_BLK: system I/O, 32 bits, offset 0, dword access.
        assert_eq!(&f[208..212], &[1, 32, 0, 3]);
        assert_eq!(u64_at(f, 212), 0x608);
        // Other extended blocks are zero.
        for off in (148..208).step_by(12).chain((220..244).step_by(12)) {
            assert_eq!(&f[off..off + 12], &[0; 12], "GAS at {off}");
        }
        assert_eq!(u64_at(f, 268), 0, "hypervisor vendor id");
        let dsdt_addr = u64_at(f, 140);
        assert_eq!(u64::from(u32_at(f, 40)), dsdt_addr);
        // DSDT: both pointers agree, `\_S5` only.
        let dsdt = table(&t, BASE, dsdt_addr, b"DSDT");
        assert_eq!(dsdt.len(), 49);
        assert_eq!(dsdt[8], 2);
    }

    /// The MADT's entries, each checked to lie inside the table, which they
    /// fill exactly.
    fn madt_entries_of(m: &[u8]) -> Vec<&[u8]> {
        let mut v = Vec::new();
        let mut off = 44;
        while off < m.len() {
            let len = m[off + 1] as usize;
            assert!(len >= 2 && off + len <= m.len());
            v.push(&m[off..off + len]);
            off += len;
        }
        assert_eq!(off, m.len());
        v
    }

    #[test]
    fn madt_entries() {
        let ids = [4, 2, 6, 200];
        let t = build(BASE, &ids, 0x608, 0xf, None).unwrap();
        let (_, m) = via_xsdt(&t, BASE);
        assert_eq!(m[8], 5, "revision");
        assert_eq!(u32_at(m, 36), 0xfee0_0000);
        assert_eq!(u32_at(m, 40), 0, "no PCAT_COMPAT");
        let entries = madt_entries_of(m);
        assert_eq!(entries.len(), ids.len() + 1);
        assert!(
            entries.iter().all(|e| e[0] == 0 && e[1] == 8),
            "only Processor Local APIC entries"
        );
        // Decoy first: uid 0xff, the given id, enabled.
        assert_eq!(entries[0], &[0, 8, 0xff, 0xf, 1, 0, 0, 0]);
        for (i, (e, id)) in entries[1..].iter().zip(ids).enumerate() {
            assert_eq!(e[2] as usize, i, "uid");
            assert_eq!(u32::from(e[3]), id, "APIC id");
            assert_eq!(u32_at(e, 4), 1, "enabled");
        }
    }

    /// Ids up to 0xfe get type-0 entries, 0xff and above type-9 (x2APIC)
    /// entries, in the given order after the type-0 decoy; UIDs count on
    /// across both types.
    #[test]
    fn madt_x2apic_entries() {
        let ids = [0x100, 2, 0xff, 0xfe, 0x1234_5678];
        let t = build(BASE, &ids, 0x608, 0xf, None).unwrap();
        let (_, m) = via_xsdt(&t, BASE);
        assert_eq!(m.len(), 44 + 8 + 8 + 8 + 16 * 3);
        let entries = madt_entries_of(m);
        assert_eq!(entries.len(), ids.len() + 1);
        assert_eq!(
            entries[0],
            &[0, 8, 0xff, 0xf, 1, 0, 0, 0],
            "decoy first, type 0"
        );
        for (uid, (e, &id)) in entries[1..].iter().zip(&ids).enumerate() {
            if id <= 0xfe {
                assert_eq!(*e, &[0, 8, uid as u8, id as u8, 1, 0, 0, 0], "id {id:#x}");
            } else {
                assert_eq!((e[0], e[1]), (9, 16), "id {id:#x}: Processor Local x2APIC");
                assert_eq!(u16_at(e, 2), 0, "reserved");
                assert_eq!(u32_at(e, 4), id, "x2APIC id");
                assert_eq!(u32_at(e, 8), 1, "enabled");
                assert_eq!(u32_at(e, 12), uid as u32, "ACPI processor UID");
            }
        }
    }

    #[test]
    fn madt_refuses_the_invalid_x2apic_id() {
        assert_eq!(
            build(BASE, &[1, 0xffff_ffff], 0x608, 0xf, None),
            Err(AcpiError::InvalidApicId(0xffff_ffff))
        );
        // Every other id beyond 8 bits is fine (x2APIC entries).
        assert!(build(BASE, &[1, 0xff, 0x100, 0xffff_fffe], 0x608, 0xf, None).is_ok());
        assert_eq!(
            build(BASE, &[0x100, 0x100], 0x608, 0xf, None),
            Err(AcpiError::DuplicateApicId(0x100))
        );
        // The decoy must stay a type-0 entry.
        assert_eq!(
            build(BASE, &[0x100], 0x608, 0xff, None),
            Err(AcpiError::DecoyIdTooLarge(0xff))
        );
    }

    #[test]
    fn block_above_4g_uses_xsdt_only() {
        let base = 0x1_2000_0000;
        let t = build(base, &[1, 2], 0xb008, 0, None).unwrap();
        assert_eq!(t.rsdp_addr, base);
        let r = rsdp(&t, base);
        assert_eq!(u32_at(r, 16), 0, "no RSDT");
        assert_eq!(sum(&r[..20]), 0);
        assert_eq!(sum(r), 0);
        let (f, m) = via_xsdt(&t, base);
        assert_eq!(u32_at(f, 40), 0, "no 32-bit DSDT pointer");
        table(&t, base, u64_at(f, 140), b"DSDT");
        assert_eq!(u32_at(f, 76), 0xb008);
        assert_eq!(m[44 + 3], 0, "decoy id 0");
        // Just below 4 GiB: the block still fits, 32-bit pointers used.
        let base = (1u64 << 32) - ACPI_BLOCK_SIZE;
        let t = build(base, &[1], 0x608, 0xf, None).unwrap();
        assert_ne!(u32_at(rsdp(&t, base), 16), 0);
    }

    #[test]
    fn largest_set_fits() {
        let ids: Vec<u32> = (0..=0xfe).filter(|&i| i != 0x80).collect();
        assert_eq!(ids.len(), MAX_CPUS);
        for uart in [None, Some(0x2f8)] {
            let t = build(BASE, &ids, 0x608, 0x80, uart).unwrap();
            assert!(t.bytes.len() as u64 <= ACPI_TABLES_MAX);
            let (_, m) = via_xsdt(&t, BASE);
            assert_eq!(m.len(), 44 + 8 * (MAX_CPUS + 1));
            assert_eq!(m[44 + 8 * MAX_CPUS + 2], 253, "last uid");
        }
        // All x2APIC entries: the longest MADT.
        let ids: Vec<u32> = (0x100..).take(MAX_CPUS).collect();
        for uart in [None, Some(0x2f8)] {
            let t = build(BASE, &ids, 0x608, 0x80, uart).unwrap();
            assert!(t.bytes.len() as u64 <= ACPI_TABLES_MAX);
            if uart.is_some() {
                assert_eq!(
                    t.bytes.len(),
                    MAX_TABLES_LEN,
                    "the largest block, as the module notes say"
                );
            }
            let (_, m) = via_xsdt(&t, BASE);
            assert_eq!(m.len(), 44 + 8 + 16 * MAX_CPUS);
            assert_eq!(u32_at(m, m.len() - 4), 253, "last uid");
        }
    }

    /// The DSDT reached through the FADT (both pointers agree).
    fn dsdt(t: &AcpiTables, base: u64) -> &[u8] {
        let (f, _) = via_xsdt(t, base);
        let addr = u64_at(f, 140);
        assert_eq!(u64::from(u32_at(f, 40)), addr);
        table(t, base, addr, b"DSDT")
    }

    /// Table offsets: DSDT fixed, MADT right after it on a 16-byte boundary,
    /// the block ending with the MADT.
    #[test]
    fn layout_follows_the_dsdt_length() {
        for (uart, dsdt_len, madt_off) in [(None, 49, 0x200), (Some(0x3f8), 98, 0x230)] {
            let t = build(BASE, &[1, 2], 0x608, 0xf, uart).unwrap();
            let d = dsdt(&t, BASE);
            assert_eq!(d.as_ptr() as usize - t.bytes.as_ptr() as usize, 0x1c0);
            assert_eq!(d.len(), dsdt_len);
            let (_, m) = via_xsdt(&t, BASE);
            let off = m.as_ptr() as usize - t.bytes.as_ptr() as usize;
            assert_eq!(off, madt_off);
            assert!(off >= 0x1c0 + dsdt_len);
            assert_eq!(off + m.len(), t.bytes.len());
        }
    }

    /// A small AML reader for what [`dsdt_aml`] emits.
    #[derive(Debug, PartialEq)]
    enum Term {
        Scope(Vec<u8>, Vec<Term>),
        Device([u8; 4], Vec<Term>),
        Name([u8; 4], Data),
        /// A name with the root prefix (`\_S5_`).
        RootName([u8; 4], Data),
    }

    #[derive(Debug, PartialEq)]
    enum Data {
        Int(u64),
        Buffer(Vec<u8>),
        Package(Vec<Data>),
    }

    /// (PkgLength value, bytes it takes).
    fn pkg_length(b: &[u8]) -> (usize, usize) {
        let extra = usize::from(b[0] >> 6);
        if extra == 0 {
            return (usize::from(b[0] & 0x3f), 1);
        }
        assert_eq!(
            b[0] & 0x30,
            0,
            "bits 5-4 of a multi-byte PkgLength are zero"
        );
        let mut v = usize::from(b[0] & 0xf);
        for i in 0..extra {
            v |= usize::from(b[1 + i]) << (4 + 8 * i);
        }
        (v, 1 + extra)
    }

    /// The package after an opcode of `op_len` bytes: (its body, total length).
    fn package(b: &[u8], op_len: usize) -> (&[u8], usize) {
        let (v, n) = pkg_length(&b[op_len..]);
        assert!(op_len + v <= b.len(), "package overruns its parent");
        (&b[op_len + n..op_len + v], op_len + v)
    }

    fn seg(b: &[u8]) -> [u8; 4] {
        let s: [u8; 4] = b[..4].try_into().unwrap();
        assert!(s[0] == b'_' || s[0].is_ascii_uppercase(), "NameSeg {s:?}");
        assert!(s[1..]
            .iter()
            .all(|&c| c == b'_' || c.is_ascii_uppercase() || c.is_ascii_digit()));
        s
    }

    fn data(b: &[u8]) -> (Data, usize) {
        let le = |n: usize| {
            b[1..1 + n]
                .iter()
                .rev()
                .fold(0u64, |a, &x| (a << 8) | u64::from(x))
        };
        match b[0] {
            0x00 => (Data::Int(0), 1),
            0x01 => (Data::Int(1), 1),
            0x0a => (Data::Int(le(1)), 2),
            0x0b => (Data::Int(le(2)), 3),
            0x0c => (Data::Int(le(4)), 5),
            0x0e => (Data::Int(le(8)), 9),
            0x11 => {
                let (body, len) = package(b, 1);
                let (size, n) = data(body);
                let bytes = body[n..].to_vec();
                assert_eq!(size, Data::Int(bytes.len() as u64), "buffer size");
                (Data::Buffer(bytes), len)
            }
            0x12 => {
                let (body, len) = package(b, 1);
                let count = usize::from(body[0]);
                let mut elements = Vec::new();
                let mut rest = &body[1..];
                while !rest.is_empty() {
                    let (d, n) = data(rest);
                    elements.push(d);
                    rest = &rest[n..];
                }
                assert_eq!(elements.len(), count, "NumElements");
                (Data::Package(elements), len)
            }
            op => panic!("unexpected data opcode {op:#x}"),
        }
    }

    fn terms(mut b: &[u8]) -> Vec<Term> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let (term, len) = match b {
                [0x10, ..] => {
                    let (body, len) = package(b, 1);
                    let name_len = if body[0] == b'\\' { 5 } else { 4 };
                    (
                        Term::Scope(body[..name_len].to_vec(), terms(&body[name_len..])),
                        len,
                    )
                }
                [0x5b, 0x82, ..] => {
                    let (body, len) = package(b, 2);
                    (Term::Device(seg(body), terms(&body[4..])), len)
                }
                [0x08, b'\\', ..] => {
                    let (d, n) = data(&b[6..]);
                    (Term::RootName(seg(&b[2..]), d), 6 + n)
                }
                [0x08, ..] => {
                    let (d, n) = data(&b[5..]);
                    (Term::Name(seg(&b[1..]), d), 5 + n)
                }
                _ => panic!("unexpected AML {:02x?}", &b[..b.len().min(4)]),
            };
            out.push(term);
            b = &b[len..];
        }
        out
    }

    /// `Name (\_S5, Package () { 5, 5 })`.
    fn s5() -> Term {
        Term::RootName(*b"_S5_", Data::Package(vec![Data::Int(5), Data::Int(5)]))
    }

    #[test]
    fn dsdt_names_s5() {
        for uart in [None, Some(0x2f8)] {
            let t = build(BASE, &[1], 0x608, 0xf, uart).unwrap();
            let aml = &dsdt(&t, BASE)[HEADER_LEN..];
            let terms = terms(aml);
            assert_eq!(terms[0], s5(), "\\_S5 first");
            assert_eq!(terms.len(), 1 + usize::from(uart.is_some()));
        }
        // SLP_TYPa 5: the control value a powering-off kernel writes,
        // ((SLP_TYPa << 2) & 0x1c) | SLP_EN, has SLP_EN set and WAK_STS clear.
        let control = ((S5_SLP_TYP << 2) & 0x1c) | mint_logic::load_image::SLP_EN;
        assert_eq!(control, 0x34);
        assert_eq!(control & 0x80, 0);
    }

    #[test]
    fn status_page_is_the_blocks_last_page() {
        assert_eq!(STATUS_PAGE_OFFSET, 0xf000);
        let page = STATUS_PAGE_OFFSET..STATUS_PAGE_OFFSET + STATUS_PAGE_LEN;
        assert_eq!(page.end, ACPI_BLOCK_SIZE);
        // Neither the tables' room nor the page tables overlap it.
        for other in [
            0..ACPI_TABLES_MAX,
            PAGE_TABLES_OFFSET..PAGE_TABLES_OFFSET + PAGE_TABLE_LEN,
        ] {
            assert!(
                other.end <= page.start || page.end <= other.start,
                "{other:x?}"
            );
        }
        // The largest table set stays far below it, and the block's bytes
        // never reach it (the page is left to the window scrub).
        let ids: Vec<u32> = (0..=0xfe).filter(|&i| i != 0x80).collect();
        let t = build(BASE, &ids, 0x608, 0x80, Some(0x2f8)).unwrap();
        assert!((t.bytes.len() as u64) < STATUS_PAGE_OFFSET);
        assert_eq!(t.status_page, BASE + STATUS_PAGE_OFFSET);
        // Above 4 GiB too: the GAS addresses are 64-bit.
        let base = 0x1_2000_0000;
        let t = build(base, &[1], 0x608, 0xf, None).unwrap();
        let (f, _) = via_xsdt(&t, base);
        assert_eq!(u64_at(f, 120), base + 0xf000);
        assert_eq!(u64_at(f, 248), base + 0xf001);
        assert_eq!(u64_at(f, 260), base + 0xf001);
    }

    #[test]
    fn dsdt_describes_the_console_uart_without_an_interrupt() {
        let t = build(BASE, &[1], 0x608, 0xf, Some(0x2f8)).unwrap();
        let d = dsdt(&t, BASE);
        assert_eq!(d[8], 2, "revision");
        assert_eq!(d.len(), 98);
        let aml = &d[HEADER_LEN..];
        // The exact bytes (what iasl makes of the ASL in the module notes,
        // except that iasl leaves the end tag's checksum 0).
        #[rustfmt::skip]
        let expected: [u8; 62] = [
            0x08, b'\\', b'_', b'S', b'5', b'_',                   // Name (\_S5,
            0x12, 0x06, 0x02, 0x0a, 0x05, 0x0a, 0x05,                //   Package (2) { 5, 5 })
            0x10, 0x30, b'\\', b'_', b'S', b'B', b'_',             // Scope (\_SB_), PkgLength 48
            0x5b, 0x82, 0x28, b'C', b'O', b'M', b'1',                // Device (COM1), PkgLength 40
            0x08, b'_', b'H', b'I', b'D', 0x0c, 0x41, 0xd0, 0x05, 0x01, // Name (_HID, EisaId ("PNP0501"))
            0x08, b'_', b'U', b'I', b'D', 0x01,                      // Name (_UID, One)
            0x08, b'_', b'C', b'R', b'S', 0x11, 0x0d, 0x0a, 0x0a,    // Name (_CRS, Buffer (10) {
            0x47, 0x01, 0xf8, 0x02, 0xf8, 0x02, 0x01, 0x08,          //   IO (Decode16, 0x2f8, 0x2f8, 1, 8)
            0x79, 0x42,                                              //   end tag, checksum })
        ];
        assert_eq!(aml, expected);
        // And structurally.
        let crs = vec![0x47, 0x01, 0xf8, 0x02, 0xf8, 0x02, 0x01, 0x08, 0x79, 0x42];
        assert_eq!(
            terms(aml),
            vec![
                s5(),
                Term::Scope(
                    b"\\_SB_".to_vec(),
                    vec![Term::Device(
                        *b"COM1",
                        vec![
                            Term::Name(*b"_HID", Data::Int(0x0105_d041)),
                            Term::Name(*b"_UID", Data::Int(1)),
                            Term::Name(*b"_CRS", Data::Buffer(crs.clone())),
                        ]
                    )]
                )
            ]
        );
        // The resource template: one I/O descriptor (small item 0x08, length
        // 7), no IRQ descriptor (0x22/0x23) and no extended IRQ (0x89), then
        // the end tag; the whole template sums to zero.
        assert_eq!(crs[0] >> 3, 0x08, "I/O port descriptor");
        assert_eq!(crs[0] & 7, 7, "length 7");
        assert_eq!(crs[1], 1, "Decode16");
        assert_eq!(u16_at(&crs, 2), 0x2f8, "minimum");
        assert_eq!(u16_at(&crs, 4), 0x2f8, "maximum");
        assert_eq!(crs[6], 1, "alignment");
        assert_eq!(crs[7], 8, "8 ports");
        assert_eq!(&crs[8..9], &[0x79], "end tag right after: no interrupt");
        assert_eq!(sum(&crs), 0, "resource template checksum");
    }

    #[test]
    fn uart_at_other_bases() {
        for base in [0x3f8u16, 0x3e8, 0x2e8, 0x1000, MAX_UART_BASE] {
            let t = build(BASE, &[1], 0x608, 0xf, Some(base)).unwrap();
            let d = dsdt(&t, BASE);
            let Term::Scope(_, dev) = &terms(&d[HEADER_LEN..])[1] else {
                panic!()
            };
            let Term::Device(_, names) = &dev[0] else {
                panic!()
            };
            let Term::Name(_, Data::Buffer(crs)) = &names[2] else {
                panic!()
            };
            assert_eq!(u16_at(crs, 2), base);
            assert_eq!(u16_at(crs, 4), base);
            assert_eq!(sum(crs), 0);
        }
        let t = build(BASE, &[1], 0x608, 0xf, None).unwrap();
        assert_eq!(
            terms(&dsdt(&t, BASE)[HEADER_LEN..]),
            vec![s5()],
            "no UART: only \\_S5"
        );
    }

    #[test]
    fn pkg_length_encoding() {
        for (content, encoded) in [
            (0usize, vec![0x01u8]),
            (62, vec![0x3f]),
            (63, vec![0x41, 0x04]),         // 65 = 0x041
            (4093, vec![0x4f, 0xff]),       // 4095 = 0xfff
            (4094, vec![0x81, 0x00, 0x01]), // 4097 = 0x1001
            (0xf_fffc, vec![0x8f, 0xff, 0xff]),
            (0xf_fffd, vec![0xc1, 0x00, 0x00, 0x01]),
        ] {
            let e = aml_pkg_length(content);
            assert_eq!(e, encoded, "content {content}");
            assert_eq!(pkg_length(&e), (content + e.len(), e.len()));
        }
    }

    #[test]
    fn eisa_ids() {
        assert_eq!(eisa_id("PNP0501").to_le_bytes(), [0x41, 0xd0, 0x05, 0x01]);
        assert_eq!(eisa_id("PNP0A03"), 0x030a_d041);
        assert_eq!(aml_integer(0x2f8), [0x0b, 0xf8, 0x02]);
        assert_eq!(aml_integer(10), [0x0a, 10]);
        assert_eq!(aml_integer(0), [0x00]);
    }

    #[test]
    fn errors() {
        assert_eq!(build(BASE, &[], 0x608, 0xf, None), Err(AcpiError::NoCpus));
        let many: Vec<u32> = (0..255).collect();
        assert_eq!(
            build(BASE, &many, 0x608, 0xf, None),
            Err(AcpiError::TooManyCpus(255))
        );
        assert_eq!(
            build(BASE, &[1, 0xffff_ffff], 0x608, 0xf, None),
            Err(AcpiError::InvalidApicId(0xffff_ffff))
        );
        assert_eq!(
            build(BASE, &[1, 2, 1], 0x608, 0xf, None),
            Err(AcpiError::DuplicateApicId(1))
        );
        assert_eq!(
            build(BASE, &[1, 2], 0x608, 2, None),
            Err(AcpiError::DecoyIsPartitionCpu(2))
        );
        assert_eq!(
            build(BASE, &[1, 2], 0x608, 0xff, None),
            Err(AcpiError::DecoyIdTooLarge(0xff))
        );
        assert_eq!(
            build(BASE + 8, &[1], 0x608, 0xf, None),
            Err(AcpiError::UnalignedBase(BASE + 8))
        );
        assert_eq!(
            build(BASE, &[1], 0x608, 0xf, Some(0xfff9)),
            Err(AcpiError::UartBaseTooHigh(0xfff9))
        );
        assert!(build(BASE, &[1], 0x608, 0xf, Some(0xfff8)).is_ok());
        let top = u64::MAX - 0xfff0 + 1;
        assert_eq!(
            build(top, &[1], 0x608, 0xf, None),
            Err(AcpiError::BaseTooHigh(top))
        );
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
        ] {
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'));
        }
    }
}
