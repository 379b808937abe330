//! Fuzz target `name`: partition names: parse_name and index against a reference model.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::text::name(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("name");
}
