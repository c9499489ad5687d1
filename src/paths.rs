//! Paths as the peers spell them: the home directory, `~` expansion (as kubectl expands
//! `KUBECONFIG` entries and the AWS CLI its `AWS_CONFIG_FILE`), and absolute paths that keep
//! symlinks (as the AWS CLI prints the kubeconfig it wrote).

use std::path::{Path, PathBuf};

/// The home directory (`.` when none can be found).
pub(crate) fn home() -> PathBuf {
    dirs::home_dir().unwrap_or_else(|| PathBuf::from("."))
}

/// `~` and `~/…` expanded to the home directory.
pub(crate) fn expand_tilde(p: &str) -> PathBuf {
    if p == "~" {
        return home();
    }
    if let Some(rest) = p.strip_prefix("~/") {
        return home().join(rest);
    }
    PathBuf::from(p)
}

/// Absolute form of a path, without resolving symlinks.
pub(crate) fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
