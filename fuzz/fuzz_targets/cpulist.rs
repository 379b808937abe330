//! Fuzz target `cpulist`: cpulist parser: reference model, canonical form round trip.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::text::cpulist(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("cpulist");
}
