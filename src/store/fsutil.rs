//! Careful file writes: atomic replacement that keeps a file's owner, group and mode,
//! client-go compatible lock files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The effective user id.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Reads a file that must be a regular file of at most `limit` bytes: a FIFO, socket or device
/// is refused without blocking on it (opened non-blocking, checked before any read), a larger
/// file without reading it, and one that grows while it is read stops at the limit.
pub(crate) fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let m = f.metadata()?;
    if m.is_dir() {
        return Err(io::Error::new(io::ErrorKind::IsADirectory, "a directory"));
    }
    let too_large = || {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than {} MiB", limit >> 20),
        )
    };
    if !m.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device)",
        ));
    }
    if m.len() > limit {
        return Err(too_large());
    }
    let mut buf = Vec::with_capacity(m.len() as usize);
    f.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(buf)
}

/// Follows a chain of symlinks to the file that is really written (which may not exist yet),
/// so that replacing it keeps the link a link.
pub(crate) fn resolve_symlinks(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p)
                    .with_context(|| format!("cannot read symlink {}", p.display()))?;
                p = if target.is_absolute() {
                    target
                } else {
                    p.parent().unwrap_or(Path::new(".")).join(target)
                };
            }
            _ => return Ok(p),
        }
    }
    bail!("too many levels of symbolic links at {}", path.display())
}

/// Creates `dir` and its parents with mode `mode` (existing directories are left alone).
pub(crate) fn create_dir_all_mode(dir: &Path, mode: u32) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(mode).create(dir)
}

/// Atomically replaces `path` with `data`: a temp file in the same directory, fsync, rename,
/// fsync of the directory. A reader (or a crash) sees the old or the new file, never a mix.
/// A symlinked path stays a symlink (its target is replaced). An existing file keeps its
/// owner, group and mode (as kubectl keeps them); when the owner cannot be kept (another
/// user's file, written without root), nothing is replaced and the error says why. A new
/// file gets `new_mode`. Missing directories are created.
pub(crate) fn write_atomic(path: &Path, data: &[u8], new_mode: u32) -> Result<()> {
    write_atomic_with(path, new_mode, &mut |w| w.write_all(data))
}

/// [`write_atomic`] with the content written by `write` (in pieces, without first gathering
/// it in memory).
pub(crate) fn write_atomic_with(
    path: &Path,
    new_mode: u32,
    write: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let target = resolve_symlinks(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        create_dir_all_mode(&dir, 0o755)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let existing = fs::metadata(&target).ok();
    let mode = existing
        .as_ref()
        .map_or(new_mode, |m| m.permissions().mode() & 0o7777);
    let prefix = format!(
        ".{}.",
        target
            .file_name()
            .map_or("kctx".into(), |n| n.to_string_lossy())
    );
    // created 0600: nobody else reads it before it has the right owner and mode
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TMP_SUFFIX)
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(&dir)
        .with_context(|| format!("cannot write in directory {}", dir.display()))?;
    {
        let mut w = io::BufWriter::with_capacity(64 << 10, tmp.as_file_mut());
        write(&mut w)
            .and_then(|_| w.flush())
            .with_context(|| format!("cannot write a temp file in {}", dir.display()))?;
    }
    if let Some(m) = &existing {
        keep_owner(tmp.as_file(), m, &target)?;
    }
    // Permissions::from_mode is filtered by the umask at creation; set it exactly.
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write a temp file in {}", dir.display()))?;
    tmp.persist(&target)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", target.display()))?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    remove_stale_temps(&dir, &prefix);
    Ok(())
}

/// Gives the temp file the owner and group of the file it replaces.
fn keep_owner(tmp: &File, old: &fs::Metadata, target: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mine = tmp.metadata()?;
    if mine.uid() == old.uid() && mine.gid() == old.gid() {
        return Ok(());
    }
    rustix::fs::fchown(
        tmp,
        Some(rustix::fs::Uid::from_raw(old.uid())),
        Some(rustix::fs::Gid::from_raw(old.gid())),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot keep the owner of {} (uid {}, gid {}) while running as uid {}: {e}; the file was not changed (run kctx as its owner)",
            target.display(),
            old.uid(),
            old.gid(),
            euid()
        )
    })
}

const TMP_SUFFIX: &str = ".tmp";
/// A temp file this old was left by a writer that was killed (kill -9, power loss).
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Removes our own temp files (`.<name>.XXXXXX.tmp`) that a killed writer left behind.
fn remove_stale_temps(dir: &Path, prefix: &str) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(prefix) && name.ends_with(TMP_SUFFIX)) {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if old {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// A client-go style lock: `<file>.lock` created with O_CREAT|O_EXCL, removed on drop.
#[derive(Debug)]
pub(crate) struct LockFile {
    path: PathBuf,
}

impl LockFile {
    /// Takes the lock for `file`, retrying for up to `wait`, then fails naming the lock file.
    pub(crate) fn acquire(file: &Path, wait: Duration) -> Result<Self> {
        let mut name = file.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                create_dir_all_mode(dir, 0o755)
                    .with_context(|| format!("cannot create directory {}", dir.display()))?;
            }
        }
        let start = Instant::now();
        let mut delay = Duration::from_millis(2);
        loop {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(_) => {
                    held::register(&path);
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if start.elapsed() >= wait {
                        bail!(
                            "{} is locked by another process (lock file {} exists); \
                             if no kubectl/kctx is running, remove the lock file",
                            file.display(),
                            path.display()
                        );
                    }
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_millis(50));
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot create lock file {}", path.display()))
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        held::unregister(&self.path);
        let _ = fs::remove_file(&self.path);
    }
}

/// Lock files held by this process, removed when SIGINT, SIGTERM or SIGHUP ends it (Ctrl-C
/// during a write must not leave kubectl locked out; kill -9 cannot be caught, and a lock it
/// leaves behind is named in the error of the next writer).
mod held {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

    const SLOTS: usize = 32;
    static PATHS: [AtomicPtr<libc::c_char>; SLOTS] =
        [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];
    static INSTALLED: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_signal(sig: libc::c_int) {
        for slot in &PATHS {
            let p = slot.swap(std::ptr::null_mut(), Ordering::SeqCst);
            if !p.is_null() {
                // SAFETY: `p` is a NUL-terminated string leaked by `register`; unlink is
                // async-signal-safe.
                unsafe {
                    libc::unlink(p);
                }
            }
        }
        // SAFETY: restoring the default disposition and re-raising is async-signal-safe; the
        // process then dies of the signal as it would have.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }

    pub(super) fn register(path: &Path) {
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
            return;
        };
        let raw = c.into_raw();
        if !PATHS.iter().any(|s| {
            s.compare_exchange(
                std::ptr::null_mut(),
                raw,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
        }) {
            // SAFETY: `raw` came from `into_raw` just above and was not stored.
            drop(unsafe { CString::from_raw(raw) });
            return;
        }
        if !INSTALLED.swap(true, Ordering::SeqCst) {
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                // SAFETY: installing a handler that only calls async-signal-safe functions.
                unsafe {
                    libc::signal(sig, on_signal as *const () as libc::sighandler_t);
                }
            }
        }
    }

    pub(super) fn unregister(path: &Path) {
        let Ok(want) = CString::new(path.as_os_str().as_bytes()) else {
            return;
        };
        for slot in &PATHS {
            let p = slot.load(Ordering::SeqCst);
            // SAFETY: non-null slots hold strings leaked by `register`, freed only here.
            if !p.is_null() && unsafe { std::ffi::CStr::from_ptr(p) } == want.as_c_str() {
                if slot
                    .compare_exchange(p, std::ptr::null_mut(), Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    drop(unsafe { CString::from_raw(p) });
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_keeps_symlink_and_mode() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink("real", &link).unwrap();
        write_atomic(&link, b"new", 0o600).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let fresh = d.path().join("sub/dir/fresh");
        write_atomic(&fresh, b"x", 0o600).unwrap();
        assert_eq!(
            fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 3, "no temp files left behind");
    }

    #[test]
    fn stale_temp_files_of_killed_writers_are_removed() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("config");
        let stale = d.path().join(".config.AbCdEf.tmp");
        let fresh = d.path().join(".config.XyZ123.tmp");
        let other = d.path().join(".other.AbCdEf.tmp");
        for p in [&stale, &fresh, &other] {
            fs::write(p, "partial").unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        for p in [&stale, &other] {
            File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }
        write_atomic(&f, b"x", 0o600).unwrap();
        assert!(!stale.exists(), "a killed writer's temp file is cleaned up");
        assert!(fresh.exists(), "a temp file that may be in use stays");
        assert!(
            other.exists(),
            "another file's temp files are not ours to touch"
        );
    }

    #[test]
    fn lock_is_exclusive_and_released() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("config");
        let l = LockFile::acquire(&f, Duration::from_millis(10)).unwrap();
        assert!(l.path().exists());
        let err = LockFile::acquire(&f, Duration::from_millis(30)).unwrap_err();
        assert!(err.to_string().contains("config.lock"), "{err}");
        drop(l);
        assert!(!d.path().join("config.lock").exists());
        LockFile::acquire(&f, Duration::from_millis(10)).unwrap();
    }
}
