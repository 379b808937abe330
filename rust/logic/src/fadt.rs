//! What a kernel's FADT says about the module's role: whether this kernel is
//! a mint partition (its tables were built by `mint-kexec`, OEM ID `"MINT  "`)
//! and, if so, where its status page is (the reset register's address, see
//! `load_image.rs`). The module reads the first [`ROLE_BYTES`] of its FADT and
//! asks [`role`]; the host's firmware FADT never carries that OEM ID.

/// OEM ID of the tables mint-kexec builds (kexec-user/src/acpi.rs).
pub const MINT_OEM_ID: [u8; 6] = *b"MINT  ";
/// Offset of the OEM ID in an ACPI table header.
pub const OEM_ID_OFF: usize = 10;
/// Offset of the reset register (a 12-byte Generic Address Structure) in the FADT.
pub const RESET_REG_OFF: usize = 116;
/// Length of a Generic Address Structure.
pub const GAS_LEN: usize = 12;
/// GAS space ID of system memory.
pub const GAS_SYSTEM_MEMORY: u8 = 0;
/// How many bytes of the FADT [`role`] needs.
pub const ROLE_BYTES: usize = RESET_REG_OFF + GAS_LEN;

/// The module's role, from the FADT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Not a partition built by mint-kexec: the host role.
    Host,
    /// A mint partition; its status page's physical address.
    Partition(u64),
    /// A mint partition whose FADT names no usable status page.
    Unusable(&'static str),
}

/// Reads the role out of the first bytes of a FADT (fewer than
/// [`ROLE_BYTES`] is fine: a short table is judged by what it has).
pub fn role(fadt: &[u8]) -> Role {
    if fadt.get(OEM_ID_OFF..OEM_ID_OFF + MINT_OEM_ID.len()) != Some(&MINT_OEM_ID[..]) {
        return Role::Host;
    }
    let Some(gas) = fadt.get(RESET_REG_OFF..RESET_REG_OFF + GAS_LEN) else {
        return Role::Unusable("FADT too short for a reset register");
    };
    if gas[0] != GAS_SYSTEM_MEMORY {
        return Role::Unusable("reset register is not in system memory");
    }
    let mut a = [0u8; 8];
    a.copy_from_slice(&gas[4..12]);
    let addr = u64::from_le_bytes(a);
    if addr == 0 {
        return Role::Unusable("no reset register (mint-kexec without a status page)");
    }
    if addr % 4096 != 0 {
        return Role::Unusable("reset register is not page aligned");
    }
    Role::Partition(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fadt(oem: &[u8; 6], space: u8, addr: u64) -> [u8; ROLE_BYTES] {
        let mut t = [0u8; ROLE_BYTES];
        t[..4].copy_from_slice(b"FACP");
        t[OEM_ID_OFF..OEM_ID_OFF + 6].copy_from_slice(oem);
        t[RESET_REG_OFF] = space;
        t[RESET_REG_OFF + 1] = 8;
        t[RESET_REG_OFF + 4..RESET_REG_OFF + 12].copy_from_slice(&addr.to_le_bytes());
        t
    }

    #[test]
    fn host_firmware_is_the_host_role() {
        assert_eq!(role(&fadt(b"BOCHS ", 1, 0xcf9)), Role::Host);
        assert_eq!(role(&[]), Role::Host);
        assert_eq!(role(&fadt(b"MINT  ", 0, 0x2001_1000)[..12]), Role::Host);
    }

    #[test]
    fn a_partition_finds_its_status_page() {
        assert_eq!(
            role(&fadt(b"MINT  ", 0, 0x2001_1000)),
            Role::Partition(0x2001_1000)
        );
        assert_eq!(
            role(&fadt(b"MINT  ", 0, 0x1_2345_6000)),
            Role::Partition(0x1_2345_6000)
        );
    }

    #[test]
    fn unusable_status_pages_are_named() {
        for t in [
            fadt(b"MINT  ", 1, 0x2001_1000),
            fadt(b"MINT  ", 0, 0),
            fadt(b"MINT  ", 0, 0x2001_1001),
        ] {
            assert!(matches!(role(&t), Role::Unusable(_)), "{t:?}");
        }
        let t = fadt(b"MINT  ", 0, 0x2001_1000);
        assert!(matches!(role(&t[..100]), Role::Unusable(_)));
    }
}
