//! Fuzz target `kernel_lz4`: the kernel's lz4 -l payload decompressor: announced length, round trip.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::kernel::kernel_lz4(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("kernel_lz4");
}
