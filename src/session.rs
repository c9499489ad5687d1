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
//! - `KCTX_SAVED` = what `KUBECONFIG`, `AWS_PROFILE`, `AWS_REGION` were (JSON), for
//!   `kctx env --off`; its `library` is where the contexts come from;
//! - `AWS_PROFILE` / `AWS_REGION` of the context's EKS user (unless `--no-aws`).
//!
//! Files are named `<pid>.<random>.yaml`, where pid is the process whose life the file
//! follows (kctx itself for `shell`/`exec`, the shell for `env`); a file whose process is gone
//! is removed by the next kctx that makes one.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::kubeconfig::emit::{self, Style};
use crate::kubeconfig::{EksExec, Kind, Merged};
use crate::store::private::PrivateDir;

pub const FILE_VAR: &str = "KCTX_SHELL_FILE";
pub const SAVED_VAR: &str = "KCTX_SAVED";

/// What the environment held before a session took over (None = unset).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Saved {
    #[serde(rename = "KUBECONFIG")]
    pub kubeconfig: Option<String>,
    #[serde(rename = "AWS_PROFILE")]
    pub aws_profile: Option<String>,
    #[serde(rename = "AWS_REGION")]
    pub aws_region: Option<String>,
}

impl Saved {
    /// The environment as it is now.
    pub fn now() -> Self {
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
pub struct Session {
    pub file: PathBuf,
    pub saved: Saved,
}

pub fn current() -> Option<Session> {
    let file = std::env::var(FILE_VAR).ok().filter(|f| !f.is_empty())?;
    if std::env::var("KUBECONFIG").ok().as_deref() != Some(file.as_str()) {
        return None; // the user pointed KUBECONFIG elsewhere since
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

/// The user's kubeconfig files: those `KUBECONFIG` named before the session, else the usual.
pub fn library_paths() -> Vec<PathBuf> {
    match current() {
        Some(s) => crate::kubeconfig::paths_from(s.saved.kubeconfig.as_deref()),
        None => crate::kubeconfig::paths(),
    }
}

/// The private directory session files live in.
pub fn runtime_dir() -> Result<PrivateDir> {
    let candidates: Vec<PathBuf> = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty() && Path::new(d).is_dir())
        .map(|d| PathBuf::from(d).join("kctx"))
        .into_iter()
        .chain([crate::store::cache::dir().join("shells")])
        .collect();
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

/// Removes session files whose process is gone (shells that were killed).
pub fn clean_stale(dir: &PrivateDir) -> usize {
    let mut n = 0;
    for name in dir.names() {
        let Some(pid) = name.split('.').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if name.ends_with(".yaml") && !alive(pid) && dir.remove(&name).is_ok() {
            n += 1;
        }
    }
    n
}

/// The process whose life a file made by `kctx env` should follow: the shell that runs
/// `eval "$(kctx env …)"`. In a command substitution kctx's parent is a subshell (a fork of
/// that shell, the same program); its parent is the shell.
pub fn owner_for_env() -> i32 {
    // SAFETY: getppid cannot fail.
    let parent = unsafe { libc::getppid() };
    let exe = |pid: i32| std::fs::read_link(format!("/proc/{pid}/exe")).ok();
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
    match ppid_of(parent) {
        Some(gp) if gp > 1 && exe(parent).is_some() && exe(parent) == exe(gp) => gp,
        _ => parent,
    }
}

/// The kubeconfig text of a session on `context` of `library`: the context (with `namespace`
/// when given), its cluster and user, and current-context.
pub fn content(library: &Merged, context: &str, namespace: Option<&str>) -> Result<String> {
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
        serde_json::to_string(context).unwrap_or_default(),
        emit::document(&doc, &Style::default())
    ))
}

/// Creates a session file for `owner` and returns its path.
pub fn create(
    owner: i32,
    library: &Merged,
    context: &str,
    namespace: Option<&str>,
) -> Result<PathBuf> {
    let text = content(library, context, namespace)?;
    let dir = runtime_dir()?;
    clean_stale(&dir);
    let nonce: u32 = {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        t ^ std::process::id().rotate_left(16)
    };
    let name = format!("{owner}.{nonce:08x}.yaml");
    dir.write(&name, text.as_bytes())
        .map_err(|e| anyhow!("cannot write {}: {e}", dir.path().join(&name).display()))?;
    Ok(dir.path().join(name))
}

/// Replaces a session file's content (a switch inside the session), atomically.
pub fn replace(
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

/// Removes a session file (missing is fine).
pub fn remove(file: &Path) {
    let _ = std::fs::remove_file(file);
}

/// AWS_PROFILE and AWS_REGION of a context whose user gets EKS credentials.
pub fn aws_env(library: &Merged, context: &str) -> Vec<(&'static str, String)> {
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
pub fn variables(
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
    for (k, val) in aws {
        v.push((k, Some(val.clone())));
    }
    v
}

/// The environment that restores what a session saved.
pub fn restore(saved: &Saved) -> Vec<(&'static str, Option<String>)> {
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
pub fn word_posix(s: &str) -> String {
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
pub fn quote_fish(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Posix,
    Fish,
}

impl Syntax {
    /// From `--shell`, else the shell running kctx (the parent process), else `$SHELL`.
    pub fn detect(explicit: Option<&str>) -> Self {
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
    pub fn render(self, vars: &[(&str, Option<String>)]) -> String {
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
