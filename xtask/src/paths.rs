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
