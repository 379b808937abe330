//! Fuzz target `initrd`: the initramfs walker of --decompress-initrd: refusals, a model of its output.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::initrd::initrd(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("initrd");
}
