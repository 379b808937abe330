//! Fuzz target `memlist`: memory lists (SIZE and SIZE@START items): reference model, Display round trip, sorted disjoint lists.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::text::memlist(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("memlist");
}
