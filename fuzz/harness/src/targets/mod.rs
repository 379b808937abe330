//! The targets, grouped by the parsers they exercise.

pub mod assemble;
pub mod fadt;
pub mod identity;
pub mod initrd;
pub mod kernel;
pub mod load_image;
pub mod pci;
pub mod ramoops;
pub mod text;
