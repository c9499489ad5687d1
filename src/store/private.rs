//! A private directory: one only this user can write, used the way ssh and the
//! aws-iam-authenticator cache use theirs.
//!
//! The directory must be owned by the effective user, not be a symlink, and not be writable by
//! group or others; one that kctx creates gets mode 0700. It is held open, and every entry is
//! reached through that handle (`openat` and friends) with `O_NOFOLLOW`: a symlink planted at
//! an entry, lock or temp name is never followed, new files are created with `O_EXCL`, and an
//! entry that is not a private regular file owned by the user reads as absent.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};

use super::fsutil::euid;

/// A temp file older than this was left by a writer that was killed.
pub(crate) const STALE_TEMP: Duration = Duration::from_secs(600);
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// Why a directory is not used.
#[derive(Debug)]
pub(crate) struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug)]
pub(crate) struct PrivateDir {
    path: PathBuf,
    fd: OwnedFd,
}

fn nofollow() -> OFlags {
    OFlags::NOFOLLOW | OFlags::CLOEXEC
}

impl PrivateDir {
    /// Opens `path`, creating it (and missing parents) with mode 0700 when `create` is set.
    /// `Ok(None)`: it does not exist and `create` is off.
    pub(crate) fn open(path: &Path, create: bool) -> Result<Option<Self>, Refused> {
        let shown = path.display();
        let fresh = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Refused(format!("{shown} is a symbolic link")))
            }
            Ok(m) if !m.is_dir() => return Err(Refused(format!("{shown} is not a directory"))),
            Ok(_) => false,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !create {
                    return Ok(None);
                }
                super::fsutil::create_dir_all_mode(path, 0o700)
                    .map_err(|e| Refused(format!("cannot create {shown}: {e}")))?;
                true
            }
            Err(e) => return Err(Refused(format!("cannot inspect {shown}: {e}"))),
        };
        let fd = rfs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | nofollow(),
            Mode::empty(),
        )
        .map_err(|e| Refused(format!("cannot open {shown}: {e}")))?;
        let st = rfs::fstat(&fd).map_err(|e| Refused(format!("cannot inspect {shown}: {e}")))?;
        let me = euid();
        if st.st_uid != me {
            return Err(Refused(format!(
                "{shown} is owned by uid {}, not by you (uid {me})",
                st.st_uid
            )));
        }
        if fresh {
            // our own new directory: exactly 0700, whatever the umask did
            rfs::fchmod(&fd, Mode::from_raw_mode(0o700))
                .map_err(|e| Refused(format!("cannot set the mode of {shown}: {e}")))?;
        } else if st.st_mode & 0o022 != 0 {
            return Err(Refused(format!(
                "{shown} is writable by group or others (mode {:o}; fix with `chmod 700 {shown}`)",
                st.st_mode & 0o7777
            )));
        }
        Ok(Some(Self {
            path: path.to_path_buf(),
            fd,
        }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Opens an entry for reading if it is a private regular file of this user.
    fn open_private(&self, name: &str) -> Option<File> {
        let fd = rfs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | nofollow() | OFlags::NONBLOCK,
            Mode::empty(),
        )
        .ok()?;
        let st = rfs::fstat(&fd).ok()?;
        let ok = FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
            && st.st_uid == euid()
            && st.st_mode & 0o077 == 0;
        ok.then(|| File::from(fd))
    }

    /// The bytes of an entry; `None` when it is missing or not a private regular file of ours.
    pub(crate) fn read(&self, name: &str) -> Option<Vec<u8>> {
        let mut f = self.open_private(name)?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).ok()?;
        Some(buf)
    }

    /// Replaces an entry atomically: a new 0600 temp file (`O_EXCL`, never through a symlink),
    /// then a rename over the entry. Stale temp files of killed writers are removed first.
    pub(crate) fn write(&self, name: &str, data: &[u8]) -> io::Result<()> {
        self.remove_temps(Some(STALE_TEMP));
        let (tmp, mut f) = self.create_temp(name)?;
        let res = f
            .write_all(data)
            .and_then(|_| rfs::renameat(&self.fd, &tmp, &self.fd, name).map_err(io::Error::from));
        if res.is_err() {
            let _ = rfs::unlinkat(&self.fd, &tmp, AtFlags::empty());
        }
        res
    }

    fn create_temp(&self, name: &str) -> io::Result<(String, File)> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        for _ in 0..16 {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let tmp = format!(
                ".{name}.{}{:08x}{}{TEMP_SUFFIX}",
                std::process::id(),
                nanos,
                N.fetch_add(1, Ordering::Relaxed)
            );
            match rfs::openat(
                &self.fd,
                tmp.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | nofollow(),
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => return Ok((tmp, File::from(fd))),
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(io::Error::other("cannot find a free temp file name"))
    }

    /// Removes an entry (missing is fine).
    pub(crate) fn remove(&self, name: &str) -> io::Result<()> {
        match rfs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Names in the directory.
    pub(crate) fn names(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(&self.path) else {
            return Vec::new();
        };
        let mut v: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Temp files (`.<name>.….tmp`) left by interrupted writes.
    pub(crate) fn temps(&self) -> Vec<String> {
        self.names()
            .into_iter()
            .filter(|n| n.starts_with('.') && n.ends_with(TEMP_SUFFIX))
            .collect()
    }

    /// Removes temp files (older than `age`, or all); returns how many.
    pub(crate) fn remove_temps(&self, age: Option<Duration>) -> usize {
        let mut n = 0;
        for t in self.temps() {
            let old = match age {
                None => true,
                Some(age) => rfs::statat(&self.fd, t.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                    .ok()
                    .map(|st| {
                        let mtime =
                            SystemTime::UNIX_EPOCH + Duration::from_secs(st.st_mtime.max(0) as u64);
                        mtime.elapsed().unwrap_or_default() > age
                    })
                    .unwrap_or(false),
            };
            if old && self.remove(&t).is_ok() {
                n += 1;
            }
        }
        n
    }

    /// An exclusive advisory lock on `name` (created 0600, never through a symlink), waited for
    /// up to `wait`. `None` when the wait ran out or the file is not ours.
    pub(crate) fn lock(&self, name: &str, wait: Duration) -> Option<File> {
        let fd = rfs::openat(
            &self.fd,
            name,
            OFlags::RDWR | OFlags::CREATE | nofollow(),
            Mode::from_raw_mode(0o600),
        )
        .ok()?;
        let st = rfs::fstat(&fd).ok()?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile || st.st_uid != euid() {
            return None;
        }
        let f = File::from(fd);
        let start = Instant::now();
        let mut delay = Duration::from_millis(2);
        loop {
            match f.try_lock() {
                Ok(()) => return Some(f),
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_millis(25));
                }
                Err(_) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn refuses_symlinks_and_open_modes_and_creates_0700() {
        let d = tempfile::tempdir().unwrap();
        let fresh = d.path().join("a/b");
        let pd = PrivateDir::open(&fresh, true).unwrap().unwrap();
        assert_eq!(
            std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            0o700
        );
        pd.write("x.json", b"{}").unwrap();
        assert_eq!(pd.read("x.json").unwrap(), b"{}");
        let open = d.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = PrivateDir::open(&open, true).unwrap_err();
        assert!(e.0.contains("writable by group or others"), "{e}");
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&fresh, &link).unwrap();
        assert!(PrivateDir::open(&link, true)
            .unwrap_err()
            .0
            .contains("symbolic link"));
        assert!(PrivateDir::open(&d.path().join("none"), false)
            .unwrap()
            .is_none());
    }

    #[test]
    fn planted_symlinks_are_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let pd = PrivateDir::open(&d.path().join("c"), true)
            .unwrap()
            .unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, d.path().join("c/e.json")).unwrap();
        std::os::unix::fs::symlink(d.path().join("elsewhere"), d.path().join("c/k.lock")).unwrap();
        assert!(pd.read("e.json").is_none(), "a symlinked entry is a miss");
        assert!(pd.lock("k.lock", Duration::from_millis(1)).is_none());
        assert!(
            !d.path().join("elsewhere").exists(),
            "no file created through a lock symlink"
        );
        pd.write("e.json", b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(pd.read("e.json").unwrap(), b"new");
        // a readable-by-others entry is a miss too
        std::fs::write(d.path().join("c/open.json"), "x").unwrap();
        std::fs::set_permissions(
            d.path().join("c/open.json"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        assert!(pd.read("open.json").is_none());
    }
}
