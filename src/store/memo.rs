//! A remembered answer about a set of files, valid while none of them has changed: for
//! `kctx prompt`, which a shell runs before every prompt, so that a 2,000-context kubeconfig
//! is read when it changes, not each time.
//!
//! The key is every file's identity — device, inode, size, modification and status-change
//! times in nanoseconds (or that it is absent) — so the answer follows kubectl switching
//! context or setting a namespace (an in-place write: new size or times), an editor's
//! rewrite (a new inode), and a same-size rewrite whose mtime was put back (the status-change
//! time still moves; only the kernel sets it). An answer is remembered only when every file's
//! last change is comfortably in the past: file times come from a coarse clock, and a second
//! write within the same tick could otherwise carry the same times as the one read.
//!
//! Memos live in kctx's private state directory (see [`super::private`]).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::private::PrivateDir;

/// How far in the past a file's last change must be for an answer about it to be kept.
const SETTLED: Duration = Duration::from_millis(100);

/// The identities of `files`, hashed; `None` when one changed too recently to be trusted.
pub(crate) fn key(files: &[PathBuf], now: SystemTime) -> Option<String> {
    let mut h = Sha256::new();
    for f in files {
        h.update(f.as_os_str().as_encoded_bytes());
        h.update([0]);
        match std::fs::metadata(f) {
            Ok(m) => {
                let changed = SystemTime::UNIX_EPOCH
                    + Duration::new(
                        m.ctime().max(0) as u64,
                        m.ctime_nsec().clamp(0, 999_999_999) as u32,
                    );
                if now.duration_since(changed).unwrap_or_default() < SETTLED {
                    return None;
                }
                for v in [
                    m.dev(),
                    m.ino(),
                    m.size(),
                    m.mtime() as u64,
                    m.mtime_nsec() as u64,
                    m.ctime() as u64,
                    m.ctime_nsec() as u64,
                ] {
                    h.update(v.to_le_bytes());
                }
            }
            Err(_) => h.update(b"absent"),
        }
    }
    Some(hex(&h.finalize()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The memo file of one question about `files` (`what`: e.g. `prompt`).
fn name(what: &str, files: &[PathBuf]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(f.as_os_str().as_encoded_bytes());
        h.update([0]);
    }
    format!("{what}-{}.memo", &hex(&h.finalize())[..24])
}

/// The remembered answer, when the files are as they were.
pub(crate) fn get(dir: &Path, what: &str, files: &[PathBuf], key: &str) -> Option<String> {
    let d = PrivateDir::open(dir, false).ok()??;
    let data = d.read(&name(what, files))?;
    let text = String::from_utf8(data).ok()?;
    let (stored, answer) = text.split_once('\n')?;
    (stored == key).then(|| answer.to_owned())
}

/// Remembers `answer` for `files` as they are (`key`); a failure only costs the next read.
pub(crate) fn put(dir: &Path, what: &str, files: &[PathBuf], key: &str, answer: &str) {
    if let Ok(Some(d)) = PrivateDir::open(dir, true) {
        let _ = d.write(&name(what, files), format!("{key}\n{answer}").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_follows_every_change_and_distrusts_fresh_ones() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("config");
        std::fs::write(&f, "a").unwrap();
        let files = [f.clone()];
        let later = SystemTime::now() + Duration::from_secs(1);
        assert_eq!(key(&files, SystemTime::now()), None, "written a moment ago");
        let k1 = key(&files, later).unwrap();
        assert_eq!(key(&files, later).unwrap(), k1);
        // a same-size rewrite with its mtime put back: ctime still moves
        let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&f, "b").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_ne!(key(&files, later + Duration::from_secs(1)).unwrap(), k1);
        // an absent file is part of the key too
        let gone = [d.path().join("none")];
        assert!(key(&gone, later).is_some());
        let cache = d.path().join("memo");
        put(&cache, "prompt", &files, "k", "ctx/ns");
        assert_eq!(
            get(&cache, "prompt", &files, "k").as_deref(),
            Some("ctx/ns")
        );
        assert_eq!(get(&cache, "prompt", &files, "other"), None);
    }
}
