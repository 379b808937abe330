//! Fuzz target `identity`: boot identity page tables: refusals, table count, a 4-level walk maps the ranges 1:1.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::identity::identity(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("identity");
}
