//! A small per-kubeconfig state file for `kctx use -` and `kctx ns -`, kept next to the cache.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Serialize, Deserialize, Debug, Default)]
pub struct State {
    /// The kubeconfig files this state belongs to (for humans reading the file).
    #[serde(default)]
    pub kubeconfig: Vec<String>,
    #[serde(default)]
    pub previous_context: Option<String>,
    /// Previous namespace per context.
    #[serde(default)]
    pub previous_namespace: BTreeMap<String, String>,
}

fn path(files: &[PathBuf]) -> PathBuf {
    let mut h = Sha256::new();
    for f in files {
        h.update(
            crate::kubeconfig::absolute(f)
                .as_os_str()
                .as_encoded_bytes(),
        );
        h.update([0]);
    }
    let hex: String = h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    crate::cache::dir()
        .join("state")
        .join(format!("{hex}.json"))
}

impl State {
    /// The state for this list of kubeconfig files; anything unreadable is a fresh state.
    pub fn load(files: &[PathBuf]) -> Self {
        std::fs::read(path(files))
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok())
            .unwrap_or_default()
    }

    /// Saves atomically; failure is a warning, never an error (it is a convenience).
    pub fn save(&mut self, files: &[PathBuf]) {
        self.kubeconfig = files.iter().map(|f| f.display().to_string()).collect();
        let p = path(files);
        let res = p
            .parent()
            .map(|d| crate::fsutil::create_dir_all_mode(d, 0o700))
            .transpose()
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                let data = serde_json::to_vec(self)?;
                crate::fsutil::write_atomic(&p, &data, 0o600)
            });
        if let Err(e) = res {
            eprintln!(
                "kctx: warning: cannot remember the previous context in {}: {e:#}",
                p.display()
            );
        }
    }
}
