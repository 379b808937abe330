//! `mint-kexec` library: the host-testable loading logic of the mint kexec
//! loader (bzImage parsing, memory layout planning, zero page construction).

pub mod bzimage;
pub mod plan;
pub mod zeropage;
pub mod acpi;
pub mod load_blob;
