//! Fuzz target `ramoops`: the ramoops decoder: zones, text slices, crash records, panic reasons, layouts.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::ramoops::ramoops(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("ramoops");
}
