//! `mint-kexec` library: the host-testable loading logic of the mint loader
//! (bzImage parsing, window planning, ACPI tables, zero page, load image).

pub mod acpi;
pub mod assemble;
pub mod bzimage;
pub mod cmdline;
pub mod kexec;
pub mod load_blob;
pub mod plan;
pub mod sysfs;
pub mod zeropage;
