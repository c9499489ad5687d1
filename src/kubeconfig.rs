//! Kubeconfig files: read, merge and write without losing anything.
//!
//! A file is held as an ordered generic tree (`serde_json::Value` with preserved key order),
//! so unknown fields at every level and the order of keys survive a round trip. Lists accept
//! `null`. YAML is read with YAML 1.1 booleans and octals, as kubectl (sigs.k8s.io/yaml over
//! go-yaml v2) reads it, and written by serde-saphyr, which quotes every string that a YAML 1.1
//! reader would take for something else (`on`, `no`, `y`, `0777`, `1e3`, `null`, …).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};

use crate::fsutil::{self, LockFile};

/// How long a writer waits for `<file>.lock` before failing.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Clusters,
    Contexts,
    Users,
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

#[derive(Debug, Clone)]
pub struct Kubeconfig {
    /// The path as the user named it (a symlink stays a symlink when written).
    pub path: PathBuf,
    pub doc: Map<String, Value>,
    /// Whether the file existed with content when read.
    pub existed: bool,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn de_options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.legacy_octal_numbers = true; // YAML 1.1, as kubectl reads 0777
    o.with_snippet = false; // one-line errors
    o
}

fn ser_options() -> serde_saphyr::SerializerOptions {
    let mut o = serde_saphyr::SerializerOptions::default();
    o.prefer_block_scalars = false; // long certificate data stays one plain line
    o
}

/// Serialises any value as YAML that YAML 1.1 readers read back identically.
pub fn to_yaml<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_saphyr::to_string_with_options(v, ser_options()).context("serialising YAML")
}

impl Kubeconfig {
    /// What `aws eks update-kubeconfig` starts a new file with.
    pub fn new_empty(path: PathBuf) -> Self {
        let doc = serde_json::json!({
            "apiVersion": "v1",
            "clusters": [],
            "contexts": [],
            "current-context": "",
            "kind": "Config",
            "preferences": {},
            "users": [],
        });
        let Value::Object(doc) = doc else {
            unreachable!()
        };
        Self {
            path,
            doc,
            existed: false,
        }
    }

    /// Parses `data` read from `path`, checking the types kubectl relies on.
    pub fn parse(path: &Path, data: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(data)
            .map_err(|_| anyhow!("{}: not valid UTF-8", path.display()))?;
        if text.trim().is_empty() {
            return Ok(Self::new_empty(path.to_path_buf()));
        }
        let v: Value = serde_saphyr::from_str_with_options(text, de_options()).map_err(|e| {
            anyhow!(
                "{}: invalid YAML: {}",
                path.display(),
                crate::aws::one_line(&e.to_string())
            )
        })?;
        let doc = match v {
            Value::Object(m) => m,
            Value::Null => return Ok(Self::new_empty(path.to_path_buf())),
            other => bail!(
                "{}: a kubeconfig must be a mapping, found {}",
                path.display(),
                type_name(&other)
            ),
        };
        let kc = Self {
            path: path.to_path_buf(),
            doc,
            existed: true,
        };
        kc.validate()?;
        Ok(kc)
    }

    fn validate(&self) -> Result<()> {
        let p = self.path.display();
        for kind in Kind::ALL {
            match self.doc.get(kind.key()) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let Value::Object(m) = item else {
                            bail!(
                                "{p}: {}[{i}] must be a mapping, found {}",
                                kind.key(),
                                type_name(item)
                            );
                        };
                        match m.get("name") {
                            Some(Value::String(_)) => {}
                            Some(other) => bail!(
                                "{p}: {}[{i}].name must be a string, found {} (quote it)",
                                kind.key(),
                                type_name(other)
                            ),
                            None => bail!("{p}: {}[{i}] has no name", kind.key()),
                        }
                        match m.get(kind.inner()) {
                            None | Some(Value::Null) | Some(Value::Object(_)) => {}
                            Some(other) => bail!(
                                "{p}: {}[{i}].{} must be a mapping, found {}",
                                kind.key(),
                                kind.inner(),
                                type_name(other)
                            ),
                        }
                    }
                }
                Some(other) => bail!(
                    "{p}: `{}` must be a list, found {}",
                    kind.key(),
                    type_name(other)
                ),
            }
        }
        match self.doc.get("current-context") {
            None | Some(Value::Null) | Some(Value::String(_)) => Ok(()),
            Some(other) => bail!(
                "{p}: current-context must be a string, found {}",
                type_name(other)
            ),
        }
    }

    /// Reads `path`; a missing or empty file is a new, empty kubeconfig.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read(path) {
            Ok(data) => Self::parse(path, &data),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Self::new_empty(path.to_path_buf()))
            }
            Err(e) => Err(anyhow!("cannot read {}: {e}", path.display())),
        }
    }

    pub fn entries(&self, kind: Kind) -> &[Value] {
        match self.doc.get(kind.key()) {
            Some(Value::Array(a)) => a,
            _ => &[],
        }
    }

    pub fn names(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.entries(kind)
            .iter()
            .filter_map(|e| e.get("name").and_then(Value::as_str))
    }

    pub fn find(&self, kind: Kind, name: &str) -> Option<&Map<String, Value>> {
        self.entries(kind)
            .iter()
            .filter_map(Value::as_object)
            .find(|m| m.get("name").and_then(Value::as_str) == Some(name))
    }

    /// The body (`cluster:` / `context:` / `user:`) of a named entry.
    pub fn body(&self, kind: Kind, name: &str) -> Option<&Map<String, Value>> {
        self.find(kind, name)?.get(kind.inner())?.as_object()
    }

    pub fn has(&self, kind: Kind, name: &str) -> bool {
        self.find(kind, name).is_some()
    }

    fn list_mut(&mut self, kind: Kind) -> &mut Vec<Value> {
        let slot = self
            .doc
            .entry(kind.key())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !slot.is_array() {
            *slot = Value::Array(Vec::new()); // null (validated: nothing else)
        }
        slot.as_array_mut().expect("made a list above")
    }

    pub fn find_mut(&mut self, kind: Kind, name: &str) -> Option<&mut Map<String, Value>> {
        self.list_mut(kind)
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .find(|m| m.get("name").and_then(Value::as_str) == Some(name))
    }

    /// Replaces the entry of the same name in place, or appends it. Returns whether it existed.
    pub fn upsert(&mut self, kind: Kind, entry: Map<String, Value>) -> bool {
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match self.find_mut(kind, &name) {
            Some(slot) => {
                *slot = entry;
                true
            }
            None => {
                self.list_mut(kind).push(Value::Object(entry));
                false
            }
        }
    }

    /// Removes a named entry; returns whether it was there.
    pub fn remove(&mut self, kind: Kind, name: &str) -> bool {
        if !self.has(kind, name) {
            return false;
        }
        let list = self.list_mut(kind);
        list.retain(|e| e.get("name").and_then(Value::as_str) != Some(name));
        true
    }

    pub fn current_context(&self) -> Option<&str> {
        self.doc
            .get("current-context")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn set_current_context(&mut self, name: &str) {
        self.doc
            .insert("current-context".into(), Value::String(name.to_owned()));
    }

    pub fn to_yaml(&self) -> Result<String> {
        to_yaml(&self.doc)
    }
}

/// The files named by `KUBECONFIG` (`:`-separated, empty parts skipped, `~` expanded), else
/// `~/.kube/config`.
pub fn paths() -> Vec<PathBuf> {
    let v: Vec<PathBuf> = std::env::var("KUBECONFIG")
        .unwrap_or_default()
        .split(':')
        .filter(|s| !s.trim().is_empty())
        .map(fsutil::expand_tilde)
        .collect();
    if v.is_empty() {
        vec![default_path()]
    } else {
        v
    }
}

pub fn default_path() -> PathBuf {
    crate::aws::home().join(".kube").join("config")
}

/// Absolute form of a path, without resolving symlinks (as the AWS CLI prints it).
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Locks `path` the way client-go does, reads it, lets `f` change it, and writes it back
/// atomically if anything changed. The file is untouched when `f` or the write fails.
pub fn modify<T>(path: &Path, f: impl FnOnce(&mut Kubeconfig) -> Result<T>) -> Result<T> {
    let _lock = LockFile::acquire(path, LOCK_WAIT)?;
    let mut kc = Kubeconfig::load(path)?;
    let before = kc.doc.clone();
    let existed = kc.existed;
    let out = f(&mut kc)?;
    if kc.doc != before || !existed {
        let yaml = kc.to_yaml()?;
        fsutil::write_atomic(path, yaml.as_bytes(), 0o600)
            .with_context(|| format!("cannot write kubeconfig {}", path.display()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_11_words_are_quoted_and_round_trip() {
        let words = [
            "on",
            "off",
            "yes",
            "no",
            "y",
            "n",
            "Y",
            "N",
            "true",
            "True",
            "null",
            "~",
            "",
            "0777",
            "1e3",
            "1_000",
            "0x1F",
            ".inf",
            "12:30",
            "2024-01-01",
            "-1",
            "+1",
            "NO",
            "On",
            "a: b",
            "#c",
            "@a",
            "=",
            "<<",
            "?",
            "3.",
            "line1\nline2",
        ];
        let mut m = Map::new();
        for (i, w) in words.iter().enumerate() {
            m.insert(format!("k{i}"), Value::String((*w).into()));
        }
        let y = to_yaml(&m).unwrap();
        for w in ["on", "yes", "no", "y", "0777", "1e3", "null", "12:30"] {
            assert!(y.contains(&format!("\"{w}\"")), "{w} not quoted:\n{y}");
        }
        let back: Value = serde_saphyr::from_str_with_options(&y, de_options()).unwrap();
        assert_eq!(back, Value::Object(m));
    }

    #[test]
    fn keeps_unknown_fields_and_order_and_accepts_null_lists() {
        let src = "kind: Config\nzeta: 1\nclusters: null\napiVersion: v1\nusers:\n- name: u\n  user:\n    token: t\n    x-custom: {a: [1, 2]}\n  extra: yes\npreferences: {colors: true}\n";
        let kc = Kubeconfig::parse(Path::new("k"), src.as_bytes()).unwrap();
        let keys: Vec<_> = kc.doc.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "kind",
                "zeta",
                "clusters",
                "apiVersion",
                "users",
                "preferences"
            ]
        );
        assert_eq!(
            kc.find(Kind::Users, "u").unwrap()["extra"],
            Value::Bool(true),
            "YAML 1.1 yes"
        );
        let y = kc.to_yaml().unwrap();
        let again = Kubeconfig::parse(Path::new("k"), y.as_bytes()).unwrap();
        assert_eq!(again.doc, kc.doc);
        assert!(y.contains("x-custom"));
    }

    #[test]
    fn wrong_types_name_the_file_and_the_problem() {
        for (src, want) in [
            (
                "clusters: {a: 1}\n",
                "`clusters` must be a list, found a mapping",
            ),
            ("users:\n- 3\n", "users[0] must be a mapping"),
            (
                "contexts:\n- name: 5\n",
                "contexts[0].name must be a string",
            ),
            ("current-context: [a]\n", "current-context must be a string"),
            ("- a\n- b\n", "must be a mapping, found a list"),
            ("clusters: [\n", "invalid YAML"),
        ] {
            let e = Kubeconfig::parse(Path::new("/x/config"), src.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("/x/config: ") && e.contains(want),
                "{src:?}: {e}"
            );
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn upsert_replaces_in_place_or_appends() {
        let mut kc = Kubeconfig::parse(
            Path::new("k"),
            b"clusters:\n- name: a\n  cluster: {server: s1}\n- name: b\n  cluster: {server: s2}\n",
        )
        .unwrap();
        let entry = |n: &str, s: &str| {
            serde_json::json!({"cluster": {"server": s}, "name": n})
                .as_object()
                .unwrap()
                .clone()
        };
        assert!(kc.upsert(Kind::Clusters, entry("a", "new")));
        assert!(!kc.upsert(Kind::Clusters, entry("c", "s3")));
        let names: Vec<_> = kc.names(Kind::Clusters).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(kc.body(Kind::Clusters, "a").unwrap()["server"], "new");
        assert!(kc.remove(Kind::Clusters, "b"));
        assert!(!kc.remove(Kind::Clusters, "b"));
    }
}

/// One file of a `KUBECONFIG` list, as read.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    /// `None` when the file is missing or broken (see `error`).
    pub kc: Option<Kubeconfig>,
    pub error: Option<String>,
}

/// Several kubeconfig files merged by client-go's rules: the first file that defines a name
/// wins; current-context comes from the first file that sets it.
#[derive(Debug)]
pub struct Merged {
    pub files: Vec<Loaded>,
}

impl Merged {
    /// Reads every file of `KUBECONFIG` (or `~/.kube/config`). A broken file is kept aside
    /// with its error, so that commands that do not need it still work.
    pub fn load() -> Self {
        Self::load_paths(&paths())
    }

    pub fn load_paths(paths: &[PathBuf]) -> Self {
        let mut files: Vec<Loaded> = Vec::new();
        for p in paths {
            if files.iter().any(|f| &f.path == p) {
                continue; // client-go ignores repeated paths
            }
            let (kc, error) = match std::fs::read(p) {
                Ok(data) => match Kubeconfig::parse(p, &data) {
                    Ok(kc) => (Some(kc), None),
                    Err(e) => (None, Some(format!("{e:#}"))),
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
                Err(e) => (None, Some(format!("cannot read {}: {e}", p.display()))),
            };
            files.push(Loaded {
                path: p.clone(),
                kc,
                error,
            });
        }
        Self { files }
    }

    /// Prints one warning per unreadable file.
    pub fn warn_broken(&self) {
        for f in &self.files {
            if let Some(e) = &f.error {
                eprintln!("kctx: warning: skipping {}: {e}", f.path.display());
            }
        }
    }

    fn readable(&self) -> impl Iterator<Item = (&Path, &Kubeconfig)> {
        self.files
            .iter()
            .filter_map(|f| f.kc.as_ref().map(|k| (f.path.as_path(), k)))
    }

    /// The file that owns a named entry (the first that defines it).
    pub fn owner(&self, kind: Kind, name: &str) -> Option<&Path> {
        self.readable()
            .find(|(_, k)| k.has(kind, name))
            .map(|(p, _)| p)
    }

    pub fn get(&self, kind: Kind, name: &str) -> Option<&Map<String, Value>> {
        self.readable().find_map(|(_, k)| k.find(kind, name))
    }

    pub fn body(&self, kind: Kind, name: &str) -> Option<&Map<String, Value>> {
        self.get(kind, name)?.get(kind.inner())?.as_object()
    }

    /// Names in merged order (file order, then entry order), first definition wins.
    pub fn names(&self, kind: Kind) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (_, k) in self.readable() {
            for n in k.names(kind) {
                if seen.insert(n.to_owned()) {
                    out.push(n.to_owned());
                }
            }
        }
        out
    }

    pub fn current_context(&self) -> Option<&str> {
        self.readable().find_map(|(_, k)| k.current_context())
    }

    /// client-go's `GetDefaultFilename`: the first file that exists, else the last path.
    pub fn default_file(&self) -> PathBuf {
        self.files
            .iter()
            .find(|f| f.path.exists())
            .or(self.files.last())
            .map(|f| f.path.clone())
            .unwrap_or_else(default_path)
    }

    /// Where client-go writes a new current-context: the first file that already sets one,
    /// else the default file.
    pub fn current_context_file(&self) -> PathBuf {
        self.readable()
            .find(|(_, k)| k.current_context().is_some())
            .map(|(p, _)| p.to_path_buf())
            .unwrap_or_else(|| self.default_file())
    }

    /// An error for an unknown context, naming the closest existing ones.
    pub fn unknown(&self, kind: Kind, name: &str) -> anyhow::Error {
        let names = self.names(kind);
        let mut scored: Vec<(f64, &String)> = names
            .iter()
            .map(|n| {
                let mut s = strsim::jaro_winkler(&n.to_lowercase(), &name.to_lowercase());
                if n.to_lowercase().contains(&name.to_lowercase()) {
                    s += 0.5;
                }
                (s, n)
            })
            .filter(|(s, _)| *s >= 0.7)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let what = &kind.key()[..kind.key().len() - 1];
        let broken: Vec<String> = self
            .files
            .iter()
            .filter(|f| f.error.is_some())
            .map(|f| f.path.display().to_string())
            .collect();
        let mut msg = format!("no {what} named {name:?}");
        if scored.is_empty() {
            if names.is_empty() {
                msg.push_str(" (the kubeconfig has none)");
            }
        } else {
            let best: Vec<String> = scored
                .iter()
                .take(3)
                .map(|(_, n)| format!("{n:?}"))
                .collect();
            msg.push_str(&format!("; did you mean {}?", best.join(" or ")));
        }
        if !broken.is_empty() {
            msg.push_str(&format!(" (unreadable, skipped: {})", broken.join(", ")));
        }
        anyhow!(msg)
    }
}

/// What an EKS user entry's exec says about the identity it signs with.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EksExec {
    /// `kctx`, `aws` or `aws-iam-authenticator` (the command's file name).
    pub command: String,
    pub cluster: Option<String>,
    pub region: Option<String>,
    pub role_arn: Option<String>,
    pub profile: Option<String>,
    /// `--session-name` of a kctx entry (the role session name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// Whether the entry names an Outposts cluster id rather than a cluster name.
    #[serde(skip)]
    pub by_id: bool,
    /// The exec entry's `env` (names and values), applied when acting as this user.
    #[serde(skip)]
    pub env: Vec<(String, String)>,
}

impl EksExec {
    /// Reads the exec entry of a user body written by kctx, `aws eks update-kubeconfig`, eksctl
    /// or aws-iam-authenticator; `None` for users that are not EKS exec users.
    pub fn from_user(user: &Map<String, Value>) -> Option<Self> {
        let exec = user.get("exec")?.as_object()?;
        let command = exec.get("command")?.as_str()?;
        let base = Path::new(command)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let args: Vec<&str> = exec
            .get("args")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let is_eks = match base.as_str() {
            "kctx" => args.first() == Some(&"token"),
            "aws" => args.windows(2).any(|w| w == ["eks", "get-token"]),
            "aws-iam-authenticator" => args.first() == Some(&"token"),
            _ => false,
        };
        if !is_eks {
            return None;
        }
        let flag = |names: &[&str]| -> Option<String> {
            args.iter().enumerate().find_map(|(i, a)| {
                for n in names {
                    if a == n {
                        return args.get(i + 1).map(|v| v.to_string());
                    }
                    if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                        return Some(v.to_string());
                    }
                }
                None
            })
        };
        let env = |key: &str| -> Option<String> {
            exec.get("env")?.as_array()?.iter().find_map(|e| {
                (e.get("name")?.as_str()? == key)
                    .then(|| e.get("value")?.as_str().map(str::to_owned))?
            })
        };
        let env_all: Vec<(String, String)> = exec
            .get("env")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| {
                        Some((
                            e.get("name")?.as_str()?.to_owned(),
                            e.get("value")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            command: base,
            by_id: flag(&["--cluster-id"]).is_some(),
            cluster: flag(&["--cluster-name", "--cluster-id", "-i"]),
            region: flag(&["--region"])
                .or_else(|| env("AWS_REGION"))
                .or_else(|| env("AWS_DEFAULT_REGION")),
            role_arn: flag(&["--role-arn", "--role", "-r"]),
            profile: flag(&["--profile"]).or_else(|| env("AWS_PROFILE")),
            session_name: flag(&["--session-name"]),
            env: env_all,
        })
    }
}

/// The account id in an ARN (`arn:partition:service:region:account:…`).
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut it = arn.split(':');
    (it.next()? == "arn").then_some(())?;
    it.nth(3).filter(|a| !a.is_empty())
}
