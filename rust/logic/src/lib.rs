//! Pure logic shared by the mint kernel module (which includes these files with
//! `#[path]`) and the `mint-kexec` tool, so that `cargo test` covers it on the host.
//!
//! Rules for every file here: `core` only (no `std`, no `alloc`, no crates, no
//! `unsafe`) outside `#[cfg(test)]`, every public item documented; the kernel
//! module compiles these files with rustc 1.85 and `-Wmissing_docs`.
#![no_std]

#[cfg(test)]
extern crate std;

pub mod cpulist;
pub mod fadt;
pub mod identity;
pub mod load_image;
pub mod memlist;
pub mod memrange;
pub mod name;
pub mod pcilist;
pub mod ramoops;
pub mod state;
