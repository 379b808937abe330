//! Where things live: the workspace, `out/`, and the build cache.

use std::path::PathBuf;

/// The workspace root (the parent of `xtask/`).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Stable artifact directory: `out/` in the workspace.
pub fn out() -> PathBuf {
    workspace().join("out")
}

/// The cache outside the repository: `${XDG_CACHE_HOME:-$HOME/.cache}/mint`.
pub fn cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache")
        });
    base.join("mint")
}

/// Which kernel configuration a setup, build or test run uses. Both are built
/// from the same source and cached side by side; the scenarios are the same
/// code for both, parameterized by this value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// `tinyconfig` + `qemu/kernel.config`: what the README's commands and
    /// the demo use.
    Normal,
    /// The normal configuration + `qemu/kernel-debug.config` (lockdep,
    /// atomic-sleep checks, delayed kobject release).
    Debug,
}

impl Kernel {
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Normal => "normal",
            Kernel::Debug => "debug",
        }
    }

    /// The configuration fragments applied, in order, on top of `tinyconfig`
    /// (paths relative to the workspace).
    pub fn fragments(self) -> &'static [&'static str] {
        match self {
            Kernel::Normal => &["qemu/kernel.config"],
            Kernel::Debug => &["qemu/kernel.config", "qemu/kernel-debug.config"],
        }
    }

    /// Appended to the cached build directory's name
    /// (`kernel/<release>-<hash><suffix>`).
    pub fn cache_suffix(self) -> &'static str {
        match self {
            Kernel::Normal => "",
            Kernel::Debug => "-debug",
        }
    }

    /// The link to the build in use: `kernel/current`, `kernel/current-debug`.
    pub fn current_link(self) -> PathBuf {
        cache().join(format!("kernel/current{}", self.cache_suffix()))
    }

    /// Where `cargo xtask build` puts this kernel's artifacts: `out/`, `out/debug/`.
    pub fn out(self) -> PathBuf {
        match self {
            Kernel::Normal => out(),
            Kernel::Debug => out().join("debug"),
        }
    }

    /// The scenarios' serial logs: `out/test-logs/`, `out/test-logs/debug/`.
    pub fn test_logs(self) -> PathBuf {
        match self {
            Kernel::Normal => out().join("test-logs"),
            Kernel::Debug => out().join("test-logs/debug"),
        }
    }
}
