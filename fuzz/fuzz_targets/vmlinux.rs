//! Fuzz target `vmlinux`: the vmlinux ELF PT_LOAD reader: segments sorted, disjoint, inside init_size.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::kernel::vmlinux(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("vmlinux");
}
