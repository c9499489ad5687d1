//! The model: what kubectl sees in kubeconfig files — the named clusters, contexts and users,
//! and current-context — for one file, and merged across a `KUBECONFIG` list by client-go's
//! rules. Lookups go through per-file indexes, so a command costs one parse of each file plus
//! work proportional to what it reads.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use serde_json::{Map, Value};

use super::Kind;
use crate::store::fsutil::read_regular;
use crate::yaml::compat::{decode, Encoding};
use crate::yaml::document::{Document, NodeId, NodeKind, Resolved};

/// What `aws eks update-kubeconfig` starts a new file with (its key order).
pub(crate) const SKELETON: &str = "apiVersion: v1\nclusters: []\ncontexts: []\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: []\n";

/// A named entry of one of the three lists.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The node of its `name` (none: no name, which kubectl reads as "").
    name: Option<NodeId>,
    /// The list item (a mapping).
    pub(crate) item: NodeId,
    /// Its `cluster:` / `context:` / `user:` mapping, when it has one.
    pub(crate) body: Option<NodeId>,
}

/// One of the three lists, indexed by name without copying the names: a hash of each name
/// maps to its entry, and a lookup compares the name in the document (entries whose hashes
/// collide, which practically never happens, are found by a scan instead).
#[derive(Debug, Default)]
struct List {
    entries: Vec<Entry>,
    index: HashMap<u64, u32>,
    collided: bool,
}

fn name_hash(name: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(name)
}

/// One kubeconfig file, parsed and indexed.
#[derive(Debug)]
pub struct KubeFile {
    /// The path as the user named it (a symlink stays a symlink when written).
    pub(crate) path: PathBuf,
    pub(crate) doc: Document,
    /// How its bytes are encoded (UTF-16 files are written back as UTF-16).
    pub(crate) encoding: Encoding,
    lists: [List; 3],
    /// Entries without a name (kubectl reads their name as ""): `contexts[3]`, …
    pub(crate) unnamed: Vec<String>,
}

/// The largest kubeconfig kctx reads: far beyond any real one (20,000 contexts of
/// `aws eks update-kubeconfig`'s layout are about 20 MiB).
pub(crate) const MAX_FILE: u64 = 64 << 20;

/// A kubeconfig file's bytes; `None` when it does not exist. A directory, FIFO, device or a
/// file over [`MAX_FILE`] is an error naming it (never a hang or a gigabyte read).
pub(crate) fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    let p = path.display();
    match read_regular(path, MAX_FILE) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => {
            bail!("{p} is a directory, not a kubeconfig file")
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            bail!("{p} is not a regular file (a FIFO, socket or device); kctx reads kubeconfigs only from files")
        }
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
            bail!("{p} is {e}: not a kubeconfig kctx will read")
        }
        Err(e) => Err(anyhow!("cannot read {p}: {e}")),
    }
}

fn type_name(doc: &Document, id: NodeId) -> &'static str {
    let id = doc.deref(id);
    let n = doc.node(id);
    match n.kind {
        NodeKind::BlockMap | NodeKind::FlowMap => "a mapping",
        NodeKind::BlockSeq | NodeKind::FlowSeq => "a list",
        NodeKind::Alias => "an alias",
        _ => match doc.resolve(id) {
            Resolved::Null => "null",
            Resolved::Bool(_) => "a boolean",
            Resolved::Int(_) | Resolved::Float(_) => "a number",
            Resolved::Timestamp(_) => "a date",
            Resolved::Str(_) => "a string",
        },
    }
}

fn is_null(doc: &Document, id: NodeId) -> bool {
    let id = doc.deref(id);
    doc.node(id).kind.is_scalar() && doc.resolve(id) == Resolved::Null
}

impl KubeFile {
    /// A file that does not exist yet (or is empty): the skeleton of a new one.
    pub(crate) fn new_empty(path: &Path) -> Self {
        let doc = Document::parse(SKELETON.to_owned()).expect("the skeleton parses");
        let mut f = Self {
            path: path.to_path_buf(),
            doc,
            encoding: Encoding::Utf8,
            lists: Default::default(),
            unnamed: Vec::new(),
        };
        f.index().expect("the skeleton is valid");
        f
    }

    /// Parses a file's bytes, checking the types kubectl relies on. Errors name the file.
    pub fn parse(path: &Path, data: Vec<u8>) -> Result<Self> {
        let p = path.display();
        let (text, encoding) = decode(data).map_err(|e| anyhow!("{p}: {e}"))?;
        if text
            .strip_prefix('\u{feff}')
            .unwrap_or(&text)
            .trim()
            .is_empty()
        {
            let mut f = Self::new_empty(path);
            f.encoding = encoding;
            return Ok(f);
        }
        let mut doc = Document::parse(text).map_err(|e| anyhow!("{p}: {e}"))?;
        if doc.root().is_none() || is_null(&doc, 0) {
            // only comments (or `---`): keep them, and start the skeleton after them
            let mut text = std::mem::take(&mut doc.text);
            if !text.ends_with('\n') {
                text.push('\n');
            }
            if doc.root().is_some() {
                // a lone null document (`---` or `~`) has nothing worth keeping but comments
                text = text
                    .lines()
                    .filter(|l| l.trim_start().starts_with('#'))
                    .map(|l| format!("{l}\n"))
                    .collect();
            }
            text.push_str(SKELETON);
            doc = Document::parse(text).map_err(|e| anyhow!("{p}: {e}"))?;
        }
        let mut f = Self {
            path: path.to_path_buf(),
            doc,
            encoding,
            lists: Default::default(),
            unnamed: Vec::new(),
        };
        f.index()?;
        Ok(f)
    }

    /// Reads `path`; a missing or empty file is a new, empty kubeconfig.
    pub fn load(path: &Path) -> Result<Self> {
        match read(path)? {
            Some(data) => Self::parse(path, data),
            None => Ok(Self::new_empty(path)),
        }
    }

    fn index(&mut self) -> Result<()> {
        let p = self.path.display().to_string();
        let doc = &self.doc;
        let root = doc.root().expect("a document with a root");
        if !doc.node(root).kind.is_map() {
            bail!(
                "{p}: a kubeconfig must be a mapping, found {}",
                type_name(doc, root)
            );
        }
        for kind in Kind::ALL {
            let list = &mut self.lists[kind as usize];
            *list = List::default();
            let Some(seq) = doc.get(root, kind.key()) else {
                continue;
            };
            let seq = doc.deref(seq);
            if is_null(doc, seq) {
                continue;
            }
            if !doc.node(seq).kind.is_seq() {
                bail!(
                    "{p}: `{}` must be a list, found {}",
                    kind.key(),
                    type_name(doc, seq)
                );
            }
            // sized once: growing leaves the smaller copies behind in the heap (20,000
            // entries a list at the scale kctx is measured at)
            let n = doc.children(seq).count();
            list.entries.reserve_exact(n);
            list.index.reserve(n);
            for (i, item) in doc.children(seq).enumerate() {
                let item = doc.deref(item);
                if !doc.node(item).kind.is_map() {
                    bail!(
                        "{p}: {}[{i}] must be a mapping, found {}",
                        kind.key(),
                        type_name(doc, item)
                    );
                }
                // kubectl reads a missing or null name as ""
                let name = match doc.get(item, "name") {
                    None => None,
                    Some(n) if is_null(doc, n) => None,
                    Some(n) if doc.as_str(n).is_some() => Some(doc.deref(n)),
                    Some(n) => bail!(
                        "{p}: {}[{i}].name must be a string, found {} (quote it)",
                        kind.key(),
                        type_name(doc, n)
                    ),
                };
                if name.is_none() {
                    self.unnamed.push(format!("{}[{i}]", kind.key()));
                }
                let body = match doc.get(item, kind.inner()) {
                    None => None,
                    Some(b) if is_null(doc, b) => None,
                    Some(b) if doc.node(doc.deref(b)).kind.is_map() => Some(doc.deref(b)),
                    Some(b) => bail!(
                        "{p}: {}[{i}].{} must be a mapping, found {}",
                        kind.key(),
                        kind.inner(),
                        type_name(doc, b)
                    ),
                };
                let text = name.and_then(|n| doc.as_str(n)).unwrap_or("");
                let at = list.entries.len() as u32;
                if let Some(other) = list.index.insert(name_hash(text), at) {
                    let other = &list.entries[other as usize];
                    if other.name.and_then(|n| doc.as_str(n)).unwrap_or("") == text {
                        bail!(
                            "{p}: two {} are named {text:?} (kubectl refuses such a file)",
                            kind.key()
                        );
                    }
                    list.collided = true;
                }
                list.entries.push(Entry { name, item, body });
            }
        }
        if let Some(cc) = doc.get(root, "current-context") {
            if !is_null(doc, cc) && doc.as_str(cc).is_none() {
                bail!(
                    "{p}: current-context must be a string, found {}",
                    type_name(doc, cc)
                );
            }
        }
        Ok(())
    }

    pub(crate) fn root(&self) -> NodeId {
        self.doc.root().expect("indexed files have a root")
    }

    pub(crate) fn entries(&self, kind: Kind) -> &[Entry] {
        &self.lists[kind as usize].entries
    }

    /// An entry's name as kubectl reads it ("" for one without a name).
    pub(crate) fn name_of(&self, e: &Entry) -> &str {
        e.name.and_then(|n| self.doc.as_str(n)).unwrap_or("")
    }

    pub fn names(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.entries(kind).iter().map(|e| self.name_of(e))
    }

    pub(crate) fn find(&self, kind: Kind, name: &str) -> Option<&Entry> {
        let l = &self.lists[kind as usize];
        if l.collided {
            return l.entries.iter().find(|e| self.name_of(e) == name);
        }
        l.index
            .get(&name_hash(name))
            .map(|i| &l.entries[*i as usize])
            .filter(|e| self.name_of(e) == name)
    }

    pub fn has(&self, kind: Kind, name: &str) -> bool {
        self.find(kind, name).is_some()
    }

    /// The file's text as read (what an edit's pieces refer to).
    pub fn doc_text(&self) -> &str {
        &self.doc.text
    }

    /// Each entry's name and its text as written in the file (for tests that check that an
    /// edit left the entries it did not touch byte for byte).
    pub fn entry_sources(&self, kind: Kind) -> impl Iterator<Item = (&str, &str)> {
        self.entries(kind).iter().map(|e| {
            let n = self.doc.node(e.item);
            (
                self.name_of(e),
                &self.doc.text[n.start as usize..n.end as usize],
            )
        })
    }

    /// A string field of an entry's body (e.g. a context's `cluster`, `user`, `namespace`).
    pub(crate) fn field(&self, kind: Kind, name: &str, key: &str) -> Option<&str> {
        let body = self.find(kind, name)?.body?;
        self.doc.as_str(self.doc.get(body, key)?)
    }

    /// An entry's body as JSON.
    pub(crate) fn body(&self, kind: Kind, name: &str) -> Option<Map<String, Value>> {
        let body = self.find(kind, name)?.body?;
        match self.doc.to_json(body) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// A whole entry (`name` and body, and any other keys) as JSON.
    pub(crate) fn entry_json(&self, kind: Kind, name: &str) -> Option<Map<String, Value>> {
        match self.doc.to_json(self.find(kind, name)?.item) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// The non-empty current-context of this file.
    pub fn current_context(&self) -> Option<&str> {
        let cc = self.doc.get(self.root(), "current-context")?;
        self.doc.as_str(cc).filter(|s| !s.is_empty())
    }

    /// The whole document as JSON (what kubectl reads).
    pub fn to_json(&self) -> Result<Value> {
        self.doc
            .to_json(self.root())
            .map_err(|e| anyhow!("{}: {e}", self.path.display()))
    }
}

/// One file of a `KUBECONFIG` list, as read.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) path: PathBuf,
    /// `None` when the file is missing or broken (see `error`).
    pub(crate) file: Option<KubeFile>,
    pub(crate) error: Option<String>,
}

/// Several kubeconfig files merged by client-go's rules: the first file that defines a name
/// wins; current-context comes from the first file that sets it.
#[derive(Debug)]
pub struct Merged {
    pub(crate) files: Vec<Loaded>,
}

impl Merged {
    /// Reads every file of `KUBECONFIG` (or `~/.kube/config`). A broken file is kept aside
    /// with its error, so that commands that do not need it still work.
    pub(crate) fn load() -> Self {
        Self::load_paths(&super::paths())
    }

    pub fn load_paths(paths: &[PathBuf]) -> Self {
        let mut files: Vec<Loaded> = Vec::new();
        for p in paths {
            if files.iter().any(|f| &f.path == p) {
                continue; // client-go ignores repeated paths
            }
            let (file, error) = match read(p) {
                Ok(Some(data)) => match KubeFile::parse(p, data) {
                    Ok(f) => (Some(f), None),
                    Err(e) => (None, Some(format!("{e:#}"))),
                },
                Ok(None) => (None, None),
                Err(e) => (None, Some(format!("{e:#}"))),
            };
            files.push(Loaded {
                path: p.clone(),
                file,
                error,
            });
        }
        Self { files }
    }

    /// Prints one warning per unreadable file, and per file with more than one document.
    pub(crate) fn warn_broken(&self) {
        for f in &self.files {
            if let Some(e) = &f.error {
                eprintln!("kctx: warning: skipping {}: {e}", f.path.display());
            }
            if let Some(k) = f.file.as_ref().filter(|k| !k.unnamed.is_empty()) {
                eprintln!(
                    "kctx: warning: {}: {} {} no name (kubectl reads it as \"\")",
                    f.path.display(),
                    k.unnamed.join(", "),
                    if k.unnamed.len() == 1 { "has" } else { "have" }
                );
            }
            if f.file.as_ref().is_some_and(|k| k.doc.extra_documents) {
                eprintln!(
                    "kctx: warning: {} holds more than one YAML document; kubectl (and kctx) read only the first",
                    f.path.display()
                );
            }
        }
    }

    /// For commands that read: an error when no file could be read and one was broken (an
    /// empty list would hide the problem); else a warning per broken file.
    pub(crate) fn require_readable(&self) -> Result<()> {
        let broken: Vec<&Loaded> = self.files.iter().filter(|f| f.error.is_some()).collect();
        if !broken.is_empty() && self.files.iter().all(|f| f.file.is_none()) {
            bail!(
                "{}",
                broken[0]
                    .error
                    .as_deref()
                    .unwrap_or("unreadable kubeconfig")
            );
        }
        self.warn_broken();
        Ok(())
    }

    /// Why each broken file could not be read.
    pub fn errors(&self) -> impl Iterator<Item = &str> {
        self.files.iter().filter_map(|f| f.error.as_deref())
    }

    pub fn readable(&self) -> impl Iterator<Item = &KubeFile> {
        self.files.iter().filter_map(|f| f.file.as_ref())
    }

    /// The file that owns a named entry (the first that defines it).
    pub(crate) fn owner(&self, kind: Kind, name: &str) -> Option<&Path> {
        self.owner_file(kind, name).map(|f| f.path.as_path())
    }

    pub(crate) fn owner_file(&self, kind: Kind, name: &str) -> Option<&KubeFile> {
        self.readable().find(|f| f.has(kind, name))
    }

    pub fn has(&self, kind: Kind, name: &str) -> bool {
        self.owner_file(kind, name).is_some()
    }

    /// A string field of the winning entry's body.
    pub fn field(&self, kind: Kind, name: &str, key: &str) -> Option<&str> {
        self.owner_file(kind, name)?.field(kind, name, key)
    }

    pub fn body(&self, kind: Kind, name: &str) -> Option<Map<String, Value>> {
        self.owner_file(kind, name)?.body(kind, name)
    }

    /// Names in merged order (file order, then entry order), first definition wins.
    pub(crate) fn names(&self, kind: Kind) -> Vec<String> {
        self.names_where(kind, |_| true)
    }

    /// [`Self::names`] that `keep` accepts, without copying the others (completion asks for
    /// those starting with what was typed, out of tens of thousands).
    pub(crate) fn names_where(&self, kind: Kind, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let mut files = self.readable();
        let Some(first) = files.next() else {
            return Vec::new();
        };
        let mut out: Vec<String> = first
            .names(kind)
            .filter(|n| keep(n))
            .map(str::to_owned)
            .collect();
        let rest: Vec<&KubeFile> = files.collect();
        if !rest.is_empty() {
            let mut seen: HashSet<String> = out.iter().cloned().collect();
            for f in rest {
                for n in f.names(kind).filter(|n| keep(n)) {
                    if seen.insert(n.to_owned()) {
                        out.push(n.to_owned());
                    }
                }
            }
        }
        out
    }

    pub fn current_context(&self) -> Option<&str> {
        self.readable().find_map(|f| f.current_context())
    }

    /// The context a `--context NAME` option names, else the current one; an error when that
    /// is unset or names no context.
    pub(crate) fn context_or_current(&self, context: Option<&str>) -> Result<String> {
        let name = match context {
            Some(c) => c,
            None => self
                .current_context()
                .ok_or_else(|| anyhow!("current-context is not set: pass --context NAME"))?,
        };
        if !self.has(Kind::Contexts, name) {
            return Err(self.unknown(Kind::Contexts, name));
        }
        Ok(name.to_owned())
    }

    /// client-go's `GetDefaultFilename`: the first file that exists, else the last path.
    pub(crate) fn default_file(&self) -> PathBuf {
        self.files
            .iter()
            .find(|f| f.path.exists())
            .or(self.files.last())
            .map(|f| f.path.clone())
            .unwrap_or_else(super::default_path)
    }

    /// Where client-go writes a new current-context: the first file that already sets one,
    /// else the default file.
    pub(crate) fn current_context_file(&self) -> PathBuf {
        self.readable()
            .find(|f| f.current_context().is_some())
            .map(|f| f.path.clone())
            .unwrap_or_else(|| self.default_file())
    }

    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    /// An error for an unknown name, naming the closest existing ones.
    pub(crate) fn unknown(&self, kind: Kind, name: &str) -> anyhow::Error {
        let names = self.names(kind);
        let what = &kind.key()[..kind.key().len() - 1];
        let broken: Vec<String> = self
            .files
            .iter()
            .filter(|f| f.error.is_some())
            .map(|f| f.path.display().to_string())
            .collect();
        let mut msg = format!("no {what} named {name:?}");
        let best = closest(&names, name);
        if best.is_empty() {
            if names.is_empty() {
                msg.push_str(" (the kubeconfig has none)");
            }
        } else {
            let best: Vec<String> = best.iter().map(|n| format!("{n:?}")).collect();
            msg.push_str(&format!("; did you mean {}?", best.join(" or ")));
        }
        if !broken.is_empty() {
            msg.push_str(&format!(" (unreadable, skipped: {})", broken.join(", ")));
        }
        anyhow!(msg)
    }
}

/// Up to three names closest to `name` (Jaro-Winkler, substrings first).
pub(crate) fn closest<'a>(names: &'a [String], name: &str) -> Vec<&'a str> {
    let lname = name.to_lowercase();
    let mut scored: Vec<(f64, &String)> = names
        .iter()
        .map(|n| {
            let ln = n.to_lowercase();
            let mut s = strsim::jaro_winkler(&ln, &lname);
            if ln.contains(&lname) {
                s += 0.5;
            }
            (s, n)
        })
        .filter(|(s, _)| *s >= 0.7)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.iter().take(3).map(|(_, n)| n.as_str()).collect()
}
