//! Fuzz target `sysfs_values`: mint-kexec's parsers of the module's lowmem and apic_ids and of /proc/ioports.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::text::sysfs_values(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("sysfs_values");
}
