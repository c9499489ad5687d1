//! On-disk cache of ExecCredentials and assumed-role credentials.
//!
//! Layout: `$KCTX_CACHE_DIR`, else `$KUBECACHEDIR/kctx`, else `~/.kube/cache/kctx`. The
//! directory must be the user's own and private (see [`PrivateDir`]: one owned by someone
//! else, writable by others or a symlink is not used, with one warning); every file is 0600
//! from creation and reached without following symlinks. Entries are JSON files named by the
//! SHA-256 of their key (see [`KeyBuilder`]); writes are atomic (temp file + rename). A
//! `<hash>.lock` file, held with an advisory lock, makes concurrent cold calls single-flight.

use std::cell::{Cell, OnceCell};
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::private::PrivateDir;
use crate::exec_credential::{parse_rfc3339, Status};

/// How long a cold call waits for another process minting the same entry.
pub(crate) const SINGLE_FLIGHT_WAIT: Duration = Duration::from_secs(10);
const FORMAT: u32 = 1;

/// The cache directory (not created until something is written).
pub(crate) fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KCTX_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("KUBECACHEDIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("kctx");
    }
    crate::paths::home()
        .join(".kube")
        .join("cache")
        .join("kctx")
}

/// Builds a cache key: everything that can change who signs or what is signed.
///
/// Callers add, in order, each input with a label. Secret inputs go through
/// [`KeyBuilder::secret`], which hashes them before they join the key, and the key itself is
/// only ever written as its SHA-256, so no secret reaches the disk.
#[derive(Default)]
pub(crate) struct KeyBuilder {
    hasher: Sha256,
}

impl KeyBuilder {
    pub(crate) fn new(kind: &str) -> Self {
        let mut k = Self::default();
        k.part("kctx-cache-format", &FORMAT.to_string());
        k.part("kind", kind);
        k
    }

    /// A labelled plain part.
    pub(crate) fn part(&mut self, label: &str, value: &str) -> &mut Self {
        // length-prefixed so that no two different part lists hash alike
        for s in [label, value] {
            self.hasher.update((s.len() as u64).to_le_bytes());
            self.hasher.update(s.as_bytes());
        }
        self
    }

    pub(crate) fn opt(&mut self, label: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.part(label, v),
            None => self.part(label, "\u{0}none"),
        }
    }

    /// A secret part: only its hash joins the key.
    pub(crate) fn secret(&mut self, label: &str, value: Option<&str>) -> &mut Self {
        let h = value.map(|v| hex(&Sha256::digest(v.as_bytes())));
        self.opt(label, h.as_deref())
    }

    /// Identity of a file (path, size, modification time, inode) — changes when it is edited.
    pub(crate) fn file(&mut self, label: &str, path: &Path) -> &mut Self {
        let id = match fs::metadata(path) {
            Ok(m) => format!(
                "{}|{}|{}.{}|{}",
                path.display(),
                m.len(),
                m.mtime(),
                m.mtime_nsec(),
                m.ino()
            ),
            Err(_) => format!("{}|absent", path.display()),
        };
        self.part(label, &id)
    }

    /// Identity of every file in a directory (e.g. the SSO token cache).
    pub(crate) fn dir_files(&mut self, label: &str, dir: &Path) -> &mut Self {
        let mut names: Vec<PathBuf> = match fs::read_dir(dir) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        self.part(label, &names.len().to_string());
        for p in &names {
            self.file(label, p);
        }
        self
    }

    pub(crate) fn finish(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }
}

fn hex(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

/// What `kctx cache list` shows of an entry; never a secret.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) cluster: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) role_arn: Option<String>,
    /// The IAM Identity Center session that signed (`kctx logout` removes its entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sso_session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sso_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sso_role_name: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum Payload {
    Token {
        status: Status,
    },
    Role {
        access_key_id: String,
        secret_access_key: String,
        session_token: String,
        expiration: String,
    },
    /// An IAM Identity Center OIDC client registration, reused by later sign-ins.
    #[serde(rename = "sso-client")]
    SsoClient {
        client_id: String,
        client_secret: String,
        expiration: String,
    },
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) kctx_cache: u32,
    pub(crate) summary: Summary,
    #[serde(flatten)]
    pub(crate) payload: Payload,
}

impl Entry {
    pub(crate) fn expires(&self) -> Option<SystemTime> {
        match &self.payload {
            Payload::Token { status } => parse_rfc3339(&status.expiration_timestamp),
            Payload::Role { expiration, .. } | Payload::SsoClient { expiration, .. } => {
                parse_rfc3339(expiration)
            }
        }
    }
}

/// The token cache directory, reached only through [`PrivateDir`] checks.
pub(crate) struct Cache {
    path: PathBuf,
    dir: OnceCell<Option<PrivateDir>>,
    warned: Cell<bool>,
}

impl Cache {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            dir: OnceCell::new(),
            warned: Cell::new(false),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.path
    }

    /// The directory, created when `create` is set. `None` when it is missing (and not to be
    /// created) or not safe to use (one warning per process says why).
    fn private(&self, create: bool) -> Option<&PrivateDir> {
        if let Some(d) = self.dir.get() {
            return d.as_ref();
        }
        match PrivateDir::open(&self.path, create) {
            Ok(Some(d)) => self.dir.get_or_init(|| Some(d)).as_ref(),
            Ok(None) => None,
            Err(refused) => {
                self.warn(&format!("not using the token cache: {refused}"));
                self.dir.get_or_init(|| None);
                None
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn entry_path(&self, key: &str) -> PathBuf {
        self.path.join(format!("{key}.json"))
    }

    fn warn(&self, msg: &str) {
        if !self.warned.replace(true) {
            eprintln!("kctx: warning: {msg}");
        }
    }

    /// Reads an entry; anything unreadable, corrupt, foreign or not private is a miss.
    pub(crate) fn get(&self, key: &str) -> Option<Entry> {
        let data = self.private(false)?.read(&format!("{key}.json"))?;
        let e: Entry = serde_json::from_slice(&data).ok()?;
        (e.kctx_cache == FORMAT).then_some(e)
    }

    /// Stores an entry atomically (a 0600 temp file, then a rename). Failure degrades to a
    /// single warning on stderr: the cache is an optimisation, never a reason to fail.
    pub(crate) fn put(&self, key: &str, entry: &Entry) {
        let Some(dir) = self.private(true) else {
            return;
        };
        let res = serde_json::to_vec(entry)
            .map_err(std::io::Error::other)
            .and_then(|data| dir.write(&format!("{key}.json"), &data));
        if let Err(e) = res {
            self.warn(&format!(
                "cache disabled for this call: cannot write to cache directory {}: {e}",
                self.path.display()
            ));
        }
    }

    /// Single flight: an exclusive advisory lock on `<key>.lock`, waited for up to `wait`.
    /// `None` when the wait ran out or locking is impossible; the caller then mints on its own.
    pub(crate) fn lock(&self, key: &str, wait: Duration) -> Option<File> {
        self.private(true)?.lock(&format!("{key}.lock"), wait)
    }

    /// All entries with their keys (for `kctx cache list`).
    pub(crate) fn entries(&self) -> Vec<(String, Option<Entry>)> {
        let Some(dir) = self.private(false) else {
            return Vec::new();
        };
        dir.names()
            .into_iter()
            .filter(|n| !n.starts_with('.'))
            .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
            .map(|key| {
                let e = self.get(&key);
                (key, e)
            })
            .collect()
    }

    /// Temp files left by interrupted writes (they may hold tokens).
    pub(crate) fn temps(&self) -> Vec<String> {
        self.private(false)
            .map(PrivateDir::temps)
            .unwrap_or_default()
    }

    /// Removes every temp file; returns how many.
    pub(crate) fn remove_temps(&self) -> usize {
        self.private(false).map_or(0, |d| d.remove_temps(None))
    }

    /// Removes lock files whose entry is gone (left by failed mints).
    pub(crate) fn remove_orphan_locks(&self) {
        let Some(dir) = self.private(false) else {
            return;
        };
        let names = dir.names();
        for n in &names {
            if let Some(key) = n.strip_suffix(".lock") {
                if !names.contains(&format!("{key}.json")) {
                    let _ = dir.remove(n);
                }
            }
        }
    }

    /// Removes an entry and its lock file.
    pub(crate) fn remove(&self, key: &str) -> std::io::Result<()> {
        let Some(dir) = self.private(false) else {
            return Ok(());
        };
        let _ = dir.remove(&format!("{key}.lock"));
        dir.remove(&format!("{key}.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_differ_by_every_part_and_hide_secrets() {
        let a = KeyBuilder::new("token").part("cluster", "a").finish();
        let b = KeyBuilder::new("token").part("cluster", "b").finish();
        assert_ne!(a, b);
        // length prefixing: ("ab","c") != ("a","bc")
        let x = KeyBuilder::new("t").part("ab", "c").finish();
        let y = KeyBuilder::new("t").part("a", "bc").finish();
        assert_ne!(x, y);
        let s1 = KeyBuilder::new("t").secret("sk", Some("one")).finish();
        let s2 = KeyBuilder::new("t").secret("sk", Some("two")).finish();
        assert_ne!(s1, s2);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn corrupt_entries_are_misses_and_files_are_private() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path().join("cache"));
        let key = KeyBuilder::new("token").finish();
        assert!(c.get(&key).is_none());
        let t0 = SystemTime::now();
        let entry = Entry {
            kctx_cache: FORMAT,
            summary: Summary::default(),
            payload: Payload::Token {
                status: Status {
                    expiration_timestamp: crate::exec_credential::rfc3339(t0),
                    token: "k8s-aws-v1.x".into(),
                },
            },
        };
        c.put(&key, &entry);
        assert!(c.get(&key).is_some());
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(c.dir()), 0o700);
        assert_eq!(mode(&c.entry_path(&key)), 0o600);
        for junk in [
            &b""[..],
            b"{",
            b"{\"kctx_cache\":99}",
            b"\xff\xfe",
            b"[1,2,3]",
        ] {
            fs::write(c.entry_path(&key), junk).unwrap();
            assert!(c.get(&key).is_none());
        }
        let lock = c.lock(&key, Duration::from_millis(1)).unwrap();
        assert_eq!(
            mode(&d.path().join("cache").join(format!("{key}.lock"))),
            0o600
        );
        assert!(
            c.lock(&key, Duration::from_millis(20)).is_none(),
            "second lock must wait"
        );
        drop(lock);
        assert!(c.lock(&key, Duration::from_millis(20)).is_some());
    }
}
