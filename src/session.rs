//! Per-shell contexts: a private kubeconfig for one shell (or one command), so that a switch in
//! one terminal cannot change another's.
//!
//! A session's kubeconfig is a 0600 file in a private runtime directory
//! (`$XDG_RUNTIME_DIR/kctx`, else `<cache dir>/shells`; 0700 and owner-checked like the cache)
//! holding one context with its cluster and user, copied from the user's kubeconfig files (the
//! "library"), and current-context set. The shell gets:
//!
//! - `KUBECONFIG` = that file (kubectl and every kubeconfig tool see only this context);
//! - `KCTX_SHELL_FILE` = the same path (so kctx knows the shell is isolated);
//! - `KCTX_SAVED` = what `KUBECONFIG`, `AWS_PROFILE`, `AWS_REGION` were before the first
//!   session (JSON), for `kctx env --off`; its `KUBECONFIG` names the user's kubeconfig files
//!   (the library). A session made inside a session (`kctx exec`, `kctx env` again) keeps it;
//! - `AWS_PROFILE` / `AWS_REGION` of the context's EKS user (unless `--no-aws`); a context
//!   that sets neither gets back what was saved, so a switch never leaves the previous
//!   context's profile behind.
//!
//! Files are named `<pid>.<random>.<scope>.yaml`, where pid is the process whose life the
//! file follows (kctx itself for `shell`/`exec`, the shell for `env`) and scope names the host
//! and PID namespace that pid belongs to; a file of this scope whose process is gone is removed
//! by the next kctx that makes one. Files of other scopes (another container or host sharing
//! the directory) are left alone: their pids mean nothing here.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::kubeconfig::{EksExec, Kind, Merged};
use crate::store::private::PrivateDir;
use crate::yaml::emit::{self, Style};

pub(crate) const FILE_VAR: &str = "KCTX_SHELL_FILE";
pub(crate) const SAVED_VAR: &str = "KCTX_SAVED";

/// What the environment held before a session took over (None = unset).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Saved {
    #[serde(rename = "KUBECONFIG")]
    pub(crate) kubeconfig: Option<String>,
    #[serde(rename = "AWS_PROFILE")]
    pub(crate) aws_profile: Option<String>,
    #[serde(rename = "AWS_REGION")]
    pub(crate) aws_region: Option<String>,
}

impl Saved {
    /// The environment as it is now.
    pub(crate) fn now() -> Self {
        let var = |k: &str| std::env::var(k).ok();
        Self {
            kubeconfig: var("KUBECONFIG"),
            aws_profile: var("AWS_PROFILE"),
            aws_region: var("AWS_REGION"),
        }
    }
}

/// The session this process runs in, when `KUBECONFIG` is still the session's file.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) file: PathBuf,
    pub(crate) saved: Saved,
}

pub(crate) fn current() -> Option<Session> {
    let file = std::env::var(FILE_VAR).ok().filter(|f| !f.is_empty())?;
    if std::env::var("KUBECONFIG").ok().as_deref() != Some(file.as_str()) {
        return None; // the user pointed KUBECONFIG elsewhere since
    }
    if !looks_like_session(Path::new(&file)) {
        return None; // not a file kctx made: KCTX_SHELL_FILE set by hand, or copied
    }
    let saved = std::env::var(SAVED_VAR)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    Some(Session {
        file: PathBuf::from(file),
        saved,
    })
}

/// Whether a file name is one kctx gives session files: `<pid>.<hex>[.<scope>].yaml`.
fn session_name(name: &str) -> Option<(i32, Option<&str>)> {
    let stem = name.strip_suffix(".yaml")?;
    let parts: Vec<&str> = stem.split('.').collect();
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    let (pid, nonce, scope) = match parts.as_slice() {
        [pid, nonce, scope] => (*pid, *nonce, Some(*scope)),
        [pid, nonce] => (*pid, *nonce, None), // made before scopes
        _ => return None,
    };
    if !hex(nonce) || scope.is_some_and(|s| !hex(s)) {
        return None;
    }
    Some((pid.parse().ok()?, scope))
}

/// A regular file of this user's whose name is a session file's.
fn looks_like_session(file: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    file.file_name()
        .and_then(|n| n.to_str())
        .and_then(session_name)
        .is_some()
        && std::fs::symlink_metadata(file)
            .is_ok_and(|m| m.is_file() && m.uid() == crate::store::fsutil::euid())
}

/// The directories session files may live in (see [`runtime_dir`]).
fn session_dirs() -> Vec<PathBuf> {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty() && Path::new(d).is_dir())
        .map(|d| PathBuf::from(d).join("kctx"))
        .into_iter()
        .chain([crate::store::cache::dir().join("shells")])
        .collect()
}

/// The user's kubeconfig files: those `KUBECONFIG` named before the session, else the usual.
pub(crate) fn library_paths() -> Vec<PathBuf> {
    match current() {
        Some(s) => crate::kubeconfig::paths_from(s.saved.kubeconfig.as_deref()),
        None => crate::kubeconfig::paths(),
    }
}

/// The private directory session files live in.
pub(crate) fn runtime_dir() -> Result<PrivateDir> {
    let candidates = session_dirs();
    let mut why = Vec::new();
    for dir in candidates {
        if let Some(parent) = dir.parent() {
            // the cache dir itself must be private too when it holds `shells`
            if parent == crate::store::cache::dir() {
                if let Err(e) = PrivateDir::open(parent, true) {
                    why.push(e.to_string());
                    continue;
                }
            }
        }
        match PrivateDir::open(&dir, true) {
            Ok(Some(d)) => return Ok(d),
            Ok(None) => {}
            Err(e) => why.push(e.to_string()),
        }
    }
    bail!(
        "no private directory for per-shell kubeconfigs: {}",
        why.join("; ")
    )
}

fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// Where this process's pids are meaningful: a short hash of the host name and the PID
/// namespace. Two containers (or two hosts on one NFS home) that share the fallback directory
/// get different scopes, so neither removes the other's live files.
pub fn scope() -> String {
    let mut host = [0u8; 256];
    // SAFETY: gethostname writes at most host.len() bytes into the buffer.
    let host = if unsafe { libc::gethostname(host.as_mut_ptr().cast(), host.len()) } == 0 {
        let end = host.iter().position(|&b| b == 0).unwrap_or(host.len());
        String::from_utf8_lossy(&host[..end]).into_owned()
    } else {
        String::new()
    };
    let pid_ns = std::fs::read_link("/proc/self/ns/pid")
        .map(|l| l.display().to_string())
        .unwrap_or_default();
    // FNV-1a: stable across builds and releases (std's hasher is not)
    let h = format!("{host}\0{pid_ns}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{:08x}", h as u32)
}

/// A session file unused for this long, whose owner is gone and which no process holds
/// open, is stale. The age covers shells that carry a file without holding it open and
/// without their owner (an `eval` in a direnv-style `bash -c` handing its exports on).
pub(crate) const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Removes session files of scope `ours` that nothing can still be using: their owner process
/// is gone, no process holds them open (a `kctx shell`/`exec` child inherits an open
/// descriptor, so its whole process tree keeps the file, even after kctx was killed), and
/// they were neither used (read or switched) nor made within [`STALE_AFTER`]. Their `use -`
/// state goes with them.
pub(crate) fn clean_stale(dir: &PrivateDir, ours: &str) -> usize {
    let now = std::time::SystemTime::now();
    let mut candidates: Vec<String> = Vec::new();
    for name in dir.names() {
        let Some((pid, file_scope)) = session_name(&name) else {
            continue;
        };
        if file_scope.is_some_and(|s| s != ours) || alive(pid) {
            continue;
        }
        let path = dir.path().join(&name);
        let last_use = std::fs::metadata(&path)
            .ok()
            .and_then(|m| Some(m.accessed().ok()?.max(m.modified().ok()?)));
        if last_use.is_some_and(|t| now.duration_since(t).unwrap_or_default() < STALE_AFTER) {
            continue;
        }
        candidates.push(name);
    }
    if candidates.is_empty() {
        return 0;
    }
    let open = open_files();
    let mut n = 0;
    for name in candidates {
        let path = dir.path().join(&name);
        // /proc's links name the real path; the session directory may be reached through a
        // symlink (a /home that links to /var/home)
        if open.contains(&path) || path.canonicalize().is_ok_and(|real| open.contains(&real)) {
            continue;
        }
        if dir.remove(&name).is_ok() {
            crate::store::state::State::forget(&[path]);
            n += 1;
        }
    }
    n
}

/// Every file some process of this user holds open (from /proc/*/fd).
fn open_files() -> std::collections::HashSet<PathBuf> {
    let mut out = std::collections::HashSet::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let name = p.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue; // another user's, or gone
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                out.insert(target);
            }
        }
    }
    out
}

/// An open descriptor of a session file for a child to inherit: while the child or anything
/// it starts holds it, the file is in use (see [`clean_stale`]).
pub(crate) fn hold_open(file: &Path) -> Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let f =
        std::fs::File::open(file).map_err(|e| anyhow!("cannot open {}: {e}", file.display()))?;
    // SAFETY: fcntl on a descriptor this function owns; only the close-on-exec flag changes.
    unsafe {
        let flags = libc::fcntl(f.as_raw_fd(), libc::F_GETFD);
        if flags >= 0 {
            libc::fcntl(f.as_raw_fd(), libc::F_SETFD, flags & !libc::FD_CLOEXEC);
        }
    }
    Ok(f)
}

/// The process whose life a file made by `kctx env` should follow: the shell that runs
/// `eval "$(kctx env …)"` and reads kctx's output. bash, zsh, dash and fish start kctx as
/// their own child; where a subshell stands between (a compound command substitution), that
/// subshell writes into the same pipe as kctx, so the owner is the nearest ancestor whose
/// standard output is not kctx's pipe.
pub(crate) fn owner_for_env() -> i32 {
    // SAFETY: getppid cannot fail.
    let mut owner = unsafe { libc::getppid() };
    let stdout_of = |pid: &str| std::fs::read_link(format!("/proc/{pid}/fd/1")).ok();
    let ppid_of = |pid: i32| -> Option<i32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let Some(pipe) = stdout_of("self").filter(|l| l.to_string_lossy().starts_with("pipe:")) else {
        return owner;
    };
    for _ in 0..16 {
        if stdout_of(&owner.to_string()).as_ref() != Some(&pipe) {
            break;
        }
        match ppid_of(owner) {
            Some(p) if p > 1 => owner = p,
            _ => break,
        }
    }
    owner
}

/// The kubeconfig text of a session on `context` of `library`: the context (with `namespace`
/// when given), its cluster and user, and current-context.
pub(crate) fn content(library: &Merged, context: &str, namespace: Option<&str>) -> Result<String> {
    if !library.has(Kind::Contexts, context) {
        return Err(library.unknown(Kind::Contexts, context));
    }
    let entry = |kind: Kind, name: &str| -> Option<Map<String, Value>> {
        let f = library.owner_file(kind, name)?;
        let mut e = f.entry_json(kind, name)?;
        // relative paths are relative to the file the entry came from
        let dir = f.path.parent().map(Path::to_path_buf).unwrap_or_default();
        if let Some(Value::Object(body)) = e.get_mut(kind.inner()) {
            for key in [
                "certificate-authority",
                "client-certificate",
                "client-key",
                "tokenFile",
            ] {
                if let Some(Value::String(p)) = body.get_mut(key) {
                    if !p.is_empty() && !Path::new(p.as_str()).is_absolute() {
                        *p = dir.join(&*p).display().to_string();
                    }
                }
            }
            if let Some(Value::Object(exec)) = body.get_mut("exec") {
                if let Some(Value::String(c)) = exec.get_mut("command") {
                    if c.contains('/') && !Path::new(c.as_str()).is_absolute() {
                        *c = dir.join(&*c).display().to_string();
                    }
                }
            }
        }
        Some(e)
    };
    let mut ctx =
        entry(Kind::Contexts, context).ok_or_else(|| anyhow!("cannot read context {context:?}"))?;
    if let Some(ns) = namespace {
        if let Some(Value::Object(body)) = ctx.get_mut("context") {
            body.insert("namespace".into(), json!(ns));
        } else {
            ctx.insert("context".into(), json!({"namespace": ns}));
        }
    }
    let field = |k: &str| library.field(Kind::Contexts, context, k).map(str::to_owned);
    let clusters: Vec<Value> = field("cluster")
        .and_then(|c| entry(Kind::Clusters, &c))
        .map(Value::Object)
        .into_iter()
        .collect();
    let users: Vec<Value> = field("user")
        .and_then(|u| entry(Kind::Users, &u))
        .map(Value::Object)
        .into_iter()
        .collect();
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "contexts": [Value::Object(ctx)],
        "current-context": context,
        "preferences": {},
        "users": users,
    });
    Ok(format!(
        "# kctx: this shell's private kubeconfig (a copy of context {}); removed when the shell exits\n{}",
        // escaped: a line break or control character in a comment would end it early
        emit::double_quoted(context),
        emit::document(&doc, &Style::default())
    ))
}

/// Creates a session file for `owner` and returns its path.
pub(crate) fn create(
    owner: i32,
    library: &Merged,
    context: &str,
    namespace: Option<&str>,
) -> Result<PathBuf> {
    let text = content(library, context, namespace)?;
    let dir = runtime_dir()?;
    let scope = scope();
    clean_stale(&dir, &scope);
    let nonce: u32 = {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        t ^ std::process::id().rotate_left(16)
    };
    let name = format!("{owner}.{nonce:08x}.{scope}.yaml");
    dir.write(&name, text.as_bytes())
        .map_err(|e| anyhow!("cannot write {}: {e}", dir.path().join(&name).display()))?;
    Ok(dir.path().join(name))
}

/// Replaces a session file's content (a switch inside the session), atomically.
pub(crate) fn replace(
    file: &Path,
    library: &Merged,
    context: &str,
    namespace: Option<&str>,
) -> Result<()> {
    let text = content(library, context, namespace)?;
    let dir = file
        .parent()
        .ok_or_else(|| anyhow!("{} is not a session file", file.display()))?;
    let pd = PrivateDir::open(dir, false)
        .map_err(|e| anyhow!("{e}"))?
        .ok_or_else(|| anyhow!("{} is gone", dir.display()))?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("{} is not a session file", file.display()))?;
    pd.write(name, text.as_bytes())
        .map_err(|e| anyhow!("cannot write {}: {e}", file.display()))
}

/// Removes a session file (missing is fine) and its `use -` state — only a file kctx made:
/// in its private session directory, named as a session file, and the user's own.
pub(crate) fn remove(file: &Path) {
    let in_session_dir = file
        .parent()
        .is_some_and(|d| session_dirs().iter().any(|s| s == d));
    if in_session_dir && looks_like_session(file) {
        let _ = std::fs::remove_file(file);
        crate::store::state::State::forget(&[file.to_path_buf()]);
    }
}

/// AWS_PROFILE and AWS_REGION of a context whose user gets EKS credentials.
pub(crate) fn aws_env(library: &Merged, context: &str) -> Vec<(&'static str, String)> {
    let Some(exec) = library
        .field(Kind::Contexts, context, "user")
        .and_then(|u| library.body(Kind::Users, u))
        .and_then(|b| EksExec::from_user(&b))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(p) = exec.profile {
        out.push(("AWS_PROFILE", p));
    }
    if let Some(r) = exec.region {
        out.push(("AWS_REGION", r));
    }
    out
}

/// The environment a session sets: (name, value) pairs; `None` = unset.
pub(crate) fn variables(
    file: &Path,
    saved: &Saved,
    aws: &[(&'static str, String)],
) -> Vec<(&'static str, Option<String>)> {
    let mut v: Vec<(&'static str, Option<String>)> = vec![
        ("KUBECONFIG", Some(file.display().to_string())),
        (FILE_VAR, Some(file.display().to_string())),
        (
            SAVED_VAR,
            Some(serde_json::to_string(saved).unwrap_or_default()),
        ),
    ];
    v.extend(aws_variables(aws, saved));
    v
}

/// AWS_PROFILE and AWS_REGION for a session on a context: the context's (`aws`), else what
/// was saved before the first session (`None` = unset).
pub(crate) fn aws_variables(
    aws: &[(&'static str, String)],
    saved: &Saved,
) -> Vec<(&'static str, Option<String>)> {
    [
        ("AWS_PROFILE", &saved.aws_profile),
        ("AWS_REGION", &saved.aws_region),
    ]
    .into_iter()
    .map(|(key, before)| {
        let ours = aws.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
        (key, ours.or_else(|| before.clone()))
    })
    .collect()
}

/// What a new session saves: the current session's saved values inside one (so that `--off`
/// and the library still refer to the user's own setup), else the environment now.
pub(crate) fn saved_for_new() -> Saved {
    current().map(|s| s.saved).unwrap_or_else(Saved::now)
}

/// The environment that restores what a session saved.
pub(crate) fn restore(saved: &Saved) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("KUBECONFIG", saved.kubeconfig.clone()),
        ("AWS_PROFILE", saved.aws_profile.clone()),
        ("AWS_REGION", saved.aws_region.clone()),
        (FILE_VAR, None),
        (SAVED_VAR, None),
    ]
}

/// A shell word for POSIX shells (bash, zsh, sh): single quotes, `'` as `'\''`.
pub fn quote_posix(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A shell word for a command shown to the user: bare when it needs no quotes.
pub(crate) fn word_posix(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@=+,%".contains(&b));
    if plain {
        s.to_owned()
    } else {
        quote_posix(s)
    }
}

/// A shell word for fish: single quotes, with `\` and `'` escaped.
pub(crate) fn quote_fish(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    Posix,
    Fish,
}

impl Syntax {
    /// From `--shell`, else the shell running kctx (the parent process), else `$SHELL`.
    pub(crate) fn detect(explicit: Option<&str>) -> Self {
        // SAFETY: getppid cannot fail.
        let parent = unsafe { libc::getppid() };
        let running = std::fs::read_to_string(format!("/proc/{parent}/comm"))
            .ok()
            .map(|c| c.trim().to_owned())
            .filter(|c| matches!(c.as_str(), "fish" | "bash" | "zsh" | "sh" | "dash" | "ksh"));
        let shell = explicit
            .map(str::to_owned)
            .or(running)
            .or_else(|| std::env::var("SHELL").ok())
            .unwrap_or_default();
        match Path::new(&shell).file_name().and_then(|n| n.to_str()) {
            Some("fish") => Syntax::Fish,
            _ => Syntax::Posix,
        }
    }

    /// Lines that set (or unset) the variables, safe to `eval` / `source`.
    pub(crate) fn render(self, vars: &[(&str, Option<String>)]) -> String {
        let mut out = String::new();
        for (k, v) in vars {
            match (self, v) {
                (Syntax::Posix, Some(v)) => {
                    out.push_str(&format!("export {k}={};\n", quote_posix(v)))
                }
                (Syntax::Posix, None) => out.push_str(&format!("unset {k};\n")),
                (Syntax::Fish, Some(v)) => {
                    out.push_str(&format!("set -gx {k} {};\n", quote_fish(v)))
                }
                (Syntax::Fish, None) => out.push_str(&format!("set -e {k};\n")),
            }
        }
        if self == Syntax::Fish {
            // `set -e` of a variable that is not set fails (status 4): the prompt would show
            // a failure after a switch that worked
            out.push_str("true;\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_hostile_names() {
        assert_eq!(quote_posix("a'b; rm -rf x"), "'a'\\''b; rm -rf x'");
        assert_eq!(quote_fish("a'b\\c"), "'a\\'b\\\\c'");
        let out = Syntax::Posix.render(&[("X", Some("$(touch y)`z`".into())), ("Y", None)]);
        assert_eq!(out, "export X='$(touch y)`z`';\nunset Y;\n");
    }
}
