//! A small per-kubeconfig state file for `kctx use -` and `kctx ns -`, kept in the private
//! `state` directory beside the token cache (never followed through a symlink).
//!
//! Read-modify-write happens while the caller holds the kubeconfig locks (see
//! `kubeconfig::Transaction`), so two kctx processes on the same files never interleave here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::private::PrivateDir;

#[derive(Serialize, Deserialize, Debug, Default)]
pub(crate) struct State {
    /// The kubeconfig files this state belongs to (for humans reading the file).
    #[serde(default)]
    pub(crate) kubeconfig: Vec<String>,
    #[serde(default)]
    pub(crate) previous_context: Option<String>,
    /// Previous namespace per context.
    #[serde(default)]
    pub(crate) previous_namespace: BTreeMap<String, String>,
    /// In a per-shell session: the namespace each context had when the shell left it, so that
    /// coming back (`kctx use -`, `kctx use NAME`) finds it as it was, as in a kubeconfig.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) session_namespaces: BTreeMap<String, String>,
}

fn file_name(files: &[PathBuf]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(crate::paths::absolute(f).as_os_str().as_encoded_bytes());
        h.update([0]);
    }
    let hex: String = h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex}.json")
}

fn state_dir() -> PathBuf {
    crate::store::cache::dir().join("state")
}

/// The state directory: the cache directory and its `state` subdirectory must both pass
/// [`PrivateDir`]'s checks.
fn open_dir(create: bool) -> Result<Option<PrivateDir>, String> {
    let cache = crate::store::cache::dir();
    match PrivateDir::open(&cache, create) {
        Ok(Some(_)) => {}
        Ok(None) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    PrivateDir::open(&state_dir(), create).map_err(|e| e.to_string())
}

impl State {
    /// The state for this list of kubeconfig files; anything unreadable is a fresh state.
    pub(crate) fn load(files: &[PathBuf]) -> Self {
        let dir = match open_dir(false) {
            Ok(Some(d)) => d,
            Ok(None) => return Self::default(),
            Err(e) => {
                eprintln!("kctx: warning: not using the state directory: {e}");
                return Self::default();
            }
        };
        dir.read(&file_name(files))
            .and_then(|d| serde_json::from_slice(&d).ok())
            .unwrap_or_default()
    }

    /// Removes the state of these files (a per-shell session's, when the session ends).
    pub(crate) fn forget(files: &[PathBuf]) {
        if let Ok(Some(dir)) = open_dir(false) {
            let _ = dir.remove(&file_name(files));
        }
    }

    /// Saves atomically; failure is a warning, never an error (it is a convenience).
    pub(crate) fn save(&mut self, files: &[PathBuf]) {
        self.kubeconfig = files.iter().map(|f| f.display().to_string()).collect();
        let name = file_name(files);
        let res = match open_dir(true) {
            Ok(Some(dir)) => serde_json::to_vec(self)
                .map_err(|e| e.to_string())
                .and_then(|data| dir.write(&name, &data).map_err(|e| e.to_string())),
            Ok(None) => Err("it could not be created".into()),
            Err(e) => Err(e),
        };
        if let Err(e) = res {
            eprintln!(
                "kctx: warning: cannot remember the previous context in {}: {e}",
                Path::new(&state_dir()).join(name).display()
            );
        }
    }
}
