// SPDX-License-Identifier: GPL-2.0

//! mint: run further, independent Linux kernels ("partitions") on CPUs and
//! memory taken from the running host, without a hypervisor.
//!
//! This crate root only lists the module's parts and declares the module; see
//! `docs/sysfs-abi.md` for the user-visible interface.

use kernel::prelude::*;

mod agent;
mod boot;
mod console;
mod cpus;
mod module_ref;
mod partition;
mod pci;
mod refusal;
mod registry;
mod sysfs;
mod watch;
mod window;

/// Pure logic shared with the host-side tools; `cargo test` covers it there.
#[allow(unreachable_pub, dead_code)]
mod logic {
    #[path = "src/cpulist.rs"]
    pub mod cpulist;
    #[path = "src/fadt.rs"]
    pub mod fadt;
    #[path = "src/load_image.rs"]
    pub mod load_image;
    #[path = "src/identity.rs"]
    pub mod identity;
    #[path = "src/memlist.rs"]
    pub mod memlist;
    #[path = "src/memrange.rs"]
    pub mod memrange;
    #[path = "src/name.rs"]
    pub mod name;
    #[path = "src/pcilist.rs"]
    pub mod pcilist;
    #[path = "src/ramoops.rs"]
    pub mod ramoops;
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

/// The loaded module. In the host: owns the sysfs tree and every partition's
/// resources. Inside a partition (its FADT is mint-kexec's): only the agent.
enum Mint {
    /// The host role.
    Host {
        /// The sysfs tree and the partitions.
        _registry: Pin<KBox<registry::Registry>>,
    },
    /// The partition role: reports reboot/poweroff/halt/panic to the host.
    Agent {
        /// The registered handlers and the mapped status page.
        _agent: agent::Agent,
    },
}

impl kernel::Module for Mint {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        if let Some(page) = agent::status_page()? {
            return Ok(Mint::Agent {
                _agent: agent::Agent::new(page)?,
            });
        }
        let registry = registry::Registry::new()?;
        pr_info!("loaded, /sys/kernel/mint ready\n");
        Ok(Mint::Host {
            _registry: registry,
        })
    }
}

impl Drop for Mint {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
