//! Kubeconfig files: read them as kubectl does, and change only what must change.
//!
//! Built on [`crate::yaml`] (documents with byte spans, the verified text editor):
//! - [`model`]: what kubectl sees — named clusters, contexts, users and current-context, per
//!   file and merged across `KUBECONFIG` by client-go's rules (`loadingrules.go`: the first
//!   file that defines a name wins; current-context from the first file that sets one);
//! - [`ops`]: changes in kubectl's terms (set current-context, rename, remove, upsert) made
//!   as in-place edits of the file that owns the entry;
//! - [`exec`]: what a user's `exec` entry says about the EKS identity it signs with;
//! - [`kuberc`]: which exec plugins kubectl's preferences file lets it run;
//! - [`Transaction`]: locks (client-go's `<file>.lock`), reads after locking, and writes each
//!   changed file once, atomically.

pub(crate) mod exec;
pub(crate) mod kuberc;
pub(crate) mod model;
pub(crate) mod ops;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};

pub(crate) use exec::{arn_account, EksExec};
pub(crate) use model::{closest, KubeFile, Loaded, Merged};
pub(crate) use ops::Op;

use crate::store::fsutil::{self, LockFile};
use crate::yaml::compat::Encoding;

/// How long a writer waits for `<file>.lock` before failing.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Clusters = 0,
    Contexts = 1,
    Users = 2,
}

impl Kind {
    pub fn key(self) -> &'static str {
        match self {
            Kind::Clusters => "clusters",
            Kind::Contexts => "contexts",
            Kind::Users => "users",
        }
    }

    /// The key of an entry's body: `cluster`, `context`, `user`.
    pub fn inner(self) -> &'static str {
        match self {
            Kind::Clusters => "cluster",
            Kind::Contexts => "context",
            Kind::Users => "user",
        }
    }

    pub const ALL: [Kind; 3] = [Kind::Clusters, Kind::Contexts, Kind::Users];
}

/// Whether `s` can name a namespace: a DNS label (RFC 1123: lowercase letters, digits and
/// `-`, at most 63, not starting or ending with `-`), as the API server requires.
pub(crate) fn valid_namespace(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The files named by `KUBECONFIG` (`:`-separated, empty parts skipped, `~` expanded), else
/// `~/.kube/config`.
pub(crate) fn paths() -> Vec<PathBuf> {
    paths_from(std::env::var("KUBECONFIG").ok().as_deref())
}

/// The files a `KUBECONFIG` value names (unset or empty: `~/.kube/config`).
pub(crate) fn paths_from(kubeconfig: Option<&str>) -> Vec<PathBuf> {
    let v: Vec<PathBuf> = kubeconfig
        .unwrap_or_default()
        .split(':')
        .filter(|s| !s.trim().is_empty())
        .map(crate::paths::expand_tilde)
        .collect();
    if v.is_empty() {
        vec![default_path()]
    } else {
        v
    }
}

pub(crate) fn default_path() -> PathBuf {
    crate::paths::home().join(".kube").join("config")
}

/// Changes to make, per file, in the order the files are to be written.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    edits: Vec<(PathBuf, Vec<Op>)>,
}

impl Plan {
    /// Adds a change to `file`. Files are written in the order they are first named here.
    pub(crate) fn push(&mut self, file: &Path, op: Op) {
        match self.edits.iter_mut().find(|(p, _)| p == file) {
            Some((_, ops)) => ops.push(op),
            None => self.edits.push((file.to_path_buf(), vec![op])),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Appends `other`'s changes after these.
    pub(crate) fn extend(&mut self, other: Plan) {
        for (path, ops) in other.edits {
            for op in ops {
                self.push(&path, op);
            }
        }
    }
}

/// A read-modify-write of the kubeconfig files.
///
/// `begin` takes `<file>.lock` (client-go's lock) for every file involved, in one fixed order
/// (sorted absolute paths, so two kctx processes never deadlock), and only then reads them:
/// every decision is made from what is on disk under the locks. `commit` writes each changed
/// file once, atomically, in the order of the plan; the locks are held until the transaction
/// is dropped, so follow-up state (the `use -` memory) is written under them too.
pub(crate) struct Transaction {
    _locks: Vec<LockFile>,
    unlocked: Vec<(PathBuf, String)>,
    pub(crate) merged: Merged,
    extras: Merged,
}

impl Transaction {
    /// Locks and reads `paths` (a KUBECONFIG list) and `extras` (other files the command may
    /// write, e.g. `--kubeconfig`). Missing files are locked only where a new file would go.
    pub(crate) fn begin(paths: &[PathBuf], extras: &[PathBuf]) -> Result<Self> {
        let default_file = paths.iter().find(|p| p.exists()).or(paths.last()).cloned();
        let to_lock: Vec<PathBuf> = paths
            .iter()
            .filter(|p| p.exists())
            .chain(default_file.iter())
            .chain(extras.iter())
            .cloned()
            .collect();
        for p in &to_lock {
            // never a lock file beside a FIFO or a device (`KUBECONFIG=/dev/zero`)
            if std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
                model::read(p)?;
            }
        }
        // One file reached through a symlink and its real path is one file: it is locked by
        // the file it really is (and writes go there), in one order for every process — and
        // by the path as named too, which is the lock kubectl takes.
        let mut keyed: Vec<(PathBuf, PathBuf)> = to_lock
            .into_iter()
            .map(|p| {
                let real = fsutil::resolve_symlinks(&crate::paths::absolute(&p))
                    .map(|r| crate::paths::absolute(&r))
                    .unwrap_or_else(|_| crate::paths::absolute(&p));
                // a symlinked directory on the way (`~/linkdir/config`) names the same file
                let real = match (real.parent().map(Path::canonicalize), real.file_name()) {
                    (Some(Ok(dir)), Some(name)) => dir.join(name),
                    _ => real,
                };
                (real, p)
            })
            .collect();
        keyed.sort();
        let mut locks = Vec::new();
        let mut unlocked = Vec::new();
        let mut taken: Vec<PathBuf> = Vec::new();
        for (real, named) in keyed {
            let absolute_named = crate::paths::absolute(&named);
            for lock_path in [real.clone(), absolute_named] {
                if taken.contains(&lock_path) {
                    continue;
                }
                match LockFile::acquire(&lock_path, LOCK_WAIT) {
                    Ok(l) => locks.push(l),
                    Err(e) if is_permission(&e) => {
                        unlocked.push((named.clone(), format!("{e:#}")));
                    }
                    Err(e) => return Err(e),
                }
                taken.push(lock_path);
            }
        }
        Ok(Self {
            _locks: locks,
            unlocked,
            merged: Merged::load_paths(paths),
            extras: Merged::load_paths(extras),
        })
    }

    /// A file as read under the lock; `None` when it is missing or unreadable.
    pub(crate) fn get(&self, path: &Path) -> Option<&KubeFile> {
        self.loaded(path).and_then(|l| l.file.as_ref())
    }

    fn loaded(&self, path: &Path) -> Option<&Loaded> {
        self.merged
            .files
            .iter()
            .chain(self.extras.files.iter())
            .find(|f| f.path == path)
    }

    /// Computes every file's new text first (nothing is written if one fails), then writes
    /// them in the plan's order. Returns the files written.
    pub(crate) fn commit(&self, plan: Plan) -> Result<Vec<PathBuf>> {
        // files the transaction did not read (new ones) are read first, so that every edit
        // below refers to a file that outlives it
        let mut fresh: Vec<KubeFile> = Vec::new();
        for (path, _) in &plan.edits {
            match self.loaded(path) {
                Some(Loaded { error: Some(e), .. }) => bail!("{e}"),
                Some(Loaded { file: Some(_), .. }) => {}
                _ => fresh.push(KubeFile::load(path)?),
            }
        }
        let mut out = Vec::new();
        for (path, ops) in &plan.edits {
            let file = match self.loaded(path) {
                Some(Loaded { file: Some(f), .. }) => f,
                _ => fresh
                    .iter()
                    .find(|f| &f.path == path)
                    .ok_or_else(|| anyhow!("{} could not be read", path.display()))?,
            };
            if let Some(edited) = ops::apply(file, ops)? {
                if let Some((_, why)) = self.unlocked.iter().find(|(p, _)| p == path) {
                    bail!("cannot write {}: {why}", path.display());
                }
                out.push((path.clone(), edited, file));
            }
        }
        let mut written = Vec::new();
        for (path, edited, file) in out {
            let original = &file.doc.text;
            let res = match file.encoding {
                Encoding::Utf8 => {
                    fsutil::write_atomic_with(&path, 0o600, &mut |w| edited.write_to(original, w))
                }
                enc => fsutil::write_atomic(&path, &enc.encode(&edited.text(original)), 0o600),
            };
            res.map_err(|e| anyhow!("cannot write kubeconfig {}: {e:#}", path.display()))?;
            if let Some(why) = edited.rewrote {
                eprintln!(
                    "kctx: note: {}: {why}; rewrote the whole file (its comments and layout were not kept)",
                    path.display()
                );
            }
            written.push(path);
        }
        Ok(written)
    }
}

fn is_permission(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            )
        })
    })
}
