//! Fuzz target `load_image`: the module's load image parser and window validation, with a random window.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::load_image::load_image(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("load_image");
}
