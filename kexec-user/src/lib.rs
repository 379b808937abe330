//! `mint-kexec` library: the host-testable loading logic of the mint loader
//! (bzImage parsing, planning the partition's memory ranges, ACPI tables,
//! zero page, load image, and for `--decompress`: kernel decompression),
//! the host's view of a partition's console and crash records, and of the
//! PCI functions it owns.

pub mod acpi;
pub mod assemble;
pub mod bzimage;
pub mod cmdline;
pub mod console;
pub mod initrd;
pub mod kexec;
pub mod load_blob;
pub mod pci;
pub mod plan;
pub mod sysfs;
pub mod vmlinux;
pub mod zeropage;
