//! Fuzz target `assemble`: mint-kexec's whole load path (plan, ACPI, zero page, ELF segments, load image) on a fuzzed kernel.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::assemble::assemble(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("assemble");
}
