// SPDX-License-Identifier: GPL-2.0

//! mint: run further, independent Linux kernels ("partitions") on CPUs and
//! memory taken from the running host, without a hypervisor.
//!
//! This crate root only lists the module's parts and declares the module; see
//! `docs/sysfs-abi.md` for the user-visible interface.

use kernel::prelude::*;

mod boot;
mod cpus;
mod partition;
mod registry;
mod sysfs;
mod window;

/// Pure logic shared with the host-side tools; `cargo test` covers it there.
#[allow(unreachable_pub, dead_code)]
mod logic {
    #[path = "src/cpulist.rs"]
    pub mod cpulist;
    #[path = "src/load_image.rs"]
    pub mod load_image;
    #[path = "src/memrange.rs"]
    pub mod memrange;
    #[path = "src/name.rs"]
    pub mod name;
    #[path = "src/state.rs"]
    pub mod state;
}

module! {
    type: Mint,
    name: "mint",
    author: "mint developers",
    description: "Boot independent Linux partitions on offlined CPUs",
    license: "GPL",
}

/// The loaded module: owns the sysfs tree and every partition's resources.
struct Mint {
    _registry: registry::Registration,
}

impl kernel::Module for Mint {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let registry = registry::Registration::new(module)?;
        pr_info!("loaded, /sys/kernel/mint ready\n");
        Ok(Mint {
            _registry: registry,
        })
    }
}

impl Drop for Mint {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
