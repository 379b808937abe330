//! The FADT role check the module runs on its own kernel's ACPI tables.

use mint_logic::fadt::{self, Role};

/// The rule of `fadt.rs`, restated: the OEM ID decides host or partition;
/// a partition needs a whole reset register, in system memory, at a
/// non-zero, page-aligned address.
fn model(t: &[u8]) -> Role {
    if t.len() < fadt::OEM_ID_OFF + 6
        || t[fadt::OEM_ID_OFF..fadt::OEM_ID_OFF + 6] != fadt::MINT_OEM_ID
    {
        return Role::Host;
    }
    if t.len() < fadt::ROLE_BYTES {
        return Role::Unusable("");
    }
    let gas = &t[fadt::RESET_REG_OFF..fadt::RESET_REG_OFF + fadt::GAS_LEN];
    let addr = u64::from_le_bytes(gas[4..12].try_into().expect("8 bytes"));
    if gas[0] != fadt::GAS_SYSTEM_MEMORY || addr == 0 || addr % 4096 != 0 {
        return Role::Unusable("");
    }
    Role::Partition(addr)
}

/// `fadt::role` agrees with the model (the reason text aside, which must
/// be a non-empty line); no prefix of a table is ever a usable partition
/// unless the whole reset register is in it.
pub fn fadt(data: &[u8]) {
    let got = fadt::role(data);
    match (got, model(data)) {
        (Role::Unusable(why), Role::Unusable(_)) => {
            assert!(!why.is_empty() && !why.contains('\n'));
        }
        (g, m) => assert_eq!(g, m, "FADT prefix {:02x?}", &data[..data.len().min(128)]),
    }
    for cut in [
        fadt::OEM_ID_OFF + 6,
        fadt::RESET_REG_OFF,
        fadt::ROLE_BYTES - 1,
    ] {
        if let Some(prefix) = data.get(..cut) {
            assert!(!matches!(fadt::role(prefix), Role::Partition(_)));
        }
    }
}
