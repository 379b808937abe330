//! Fuzz target `pci_sysfs`: the PCI parsers: a function's sysfs `resource` file, the ACPI MCFG, addresses and the `devices` list.
//! The target's code and its property: `mint_fuzz_harness::targets`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mint_fuzz_harness::targets::pci::pci_sysfs(data));

#[cfg(not(fuzzing))]
fn main() {
    mint_fuzz_harness::replay_main("pci_sysfs");
}
