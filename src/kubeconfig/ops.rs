//! Kubeconfig operations in kubectl's terms — set current-context, set a context's field,
//! rename, remove, add or update an entry — turned into edits of the file's text by the YAML
//! editor ([`crate::yaml::editor`]), which proves each edit by re-parsing.
//!
//! Entries are changed where they stand and never through a YAML alias (an edit there would
//! change the anchored original elsewhere, which client-go's writer would then expand).

use serde_json::{Map, Value};

use super::model::KubeFile;
use super::Kind;
use crate::yaml::document::{NodeId, NodeKind};
use crate::yaml::editor::{Edited, Editor};

/// A change to one kubeconfig file, in kubectl's terms.
#[derive(Debug, Clone)]
pub enum Op {
    /// Sets current-context (`""` unsets it, as kubectl writes an unset one).
    SetCurrentContext(String),
    /// Sets (`Some`) or removes (`None`) a key of a context's body, e.g. `namespace`.
    SetContextField {
        context: String,
        key: String,
        value: Option<String>,
    },
    Rename {
        kind: Kind,
        old: String,
        new: String,
    },
    Remove {
        kind: Kind,
        name: String,
    },
    /// Adds an entry, or updates the one of the same name: with `merge`, keys of its body that
    /// `entry` does not set are kept; without, the body is replaced whole.
    Upsert {
        kind: Kind,
        entry: Map<String, Value>,
        merge: bool,
    },
    /// Sets (`Some`) or removes (`None`) keys of a user's `exec` mapping, key by key where
    /// they stand (the other keys, e.g. `env`, and their comments are kept).
    EditExec {
        user: String,
        changes: Vec<(String, Option<Value>)>,
    },
}

/// Orders a new entry's `name` key like the list's first entry has it.
fn order_like_siblings(
    file: &KubeFile,
    kind: Kind,
    entry: &Map<String, Value>,
) -> Map<String, Value> {
    let Some(first) = file.entries(kind).first() else {
        return entry.clone();
    };
    let doc = &file.doc;
    let keys: Vec<NodeId> = doc.pairs(first.item).map(|(k, _)| k).collect();
    let pos = |key: &str| keys.iter().position(|k| doc.key_is(*k, key));
    let name_first = match (pos("name"), pos(kind.inner())) {
        (Some(n), Some(b)) => n < b,
        _ => return entry.clone(),
    };
    let mut out = Map::new();
    if name_first {
        if let Some(n) = entry.get("name") {
            out.insert("name".into(), n.clone());
        }
    }
    for (k, v) in entry {
        if k != "name" {
            out.insert(k.clone(), v.clone());
        }
    }
    if !name_first {
        if let Some(n) = entry.get("name") {
            out.insert("name".into(), n.clone());
        }
    }
    out
}

/// Changes the mapping under `key` of an entry (creating it when absent): key by key in
/// place, or — when its data is shared through an alias, anchor or merge — as a whole value,
/// so that only this entry changes.
fn edit_body(
    ed: &mut Editor<'_>,
    item: NodeId,
    key: &str,
    change: impl FnOnce(&mut Map<String, Value>),
) {
    let doc = ed.doc;
    let slot = doc.get_raw(item, key).filter(|_| !doc.has_merge(item));
    // what kubectl reads there (through aliases and merges), changed as asked
    let current = doc
        .get(item, key)
        .and_then(|s| doc.to_json(s).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default();
    let mut wanted = current.clone();
    change(&mut wanted);
    if wanted == current {
        return;
    }
    match slot {
        Some(s) if doc.node(s).kind.is_map() && !doc.is_shared(s) => {
            for k in current.keys() {
                if !wanted.contains_key(k) {
                    ed.remove_key(s, k);
                }
            }
            for (k, v) in &wanted {
                if current.get(k) != Some(v) {
                    ed.set_key(s, k, v);
                }
            }
        }
        Some(s) => ed.set(s, &Value::Object(wanted)),
        None => ed.set_key(item, key, &Value::Object(wanted)),
    }
}

/// Changes keys of the `exec` mapping of a user entry: in place when that mapping is written
/// in this entry (not shared through an alias, anchor or merge), else through the user's
/// body as a whole value (as [`edit_body`] does).
fn edit_exec(ed: &mut Editor<'_>, item: NodeId, changes: &[(String, Option<Value>)]) {
    let change = |m: &mut Map<String, Value>| {
        for (k, v) in changes {
            match v {
                Some(v) => {
                    m.insert(k.clone(), v.clone());
                }
                None => {
                    m.remove(k);
                }
            }
        }
    };
    let doc = ed.doc;
    let own = |id: NodeId| doc.node(id).kind.is_map() && !doc.is_shared(id) && !doc.has_merge(id);
    let exec = doc
        .get_raw(item, "user")
        .filter(|u| !doc.has_merge(item) && own(*u))
        .and_then(|u| doc.get_raw(u, "exec"))
        .filter(|x| own(*x));
    match exec {
        Some(x) => {
            let current = match doc.to_json(x) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            let mut wanted = current.clone();
            change(&mut wanted);
            for k in current.keys() {
                if !wanted.contains_key(k) {
                    ed.remove_key(x, k);
                }
            }
            for (k, v) in &wanted {
                if current.get(k) != Some(v) {
                    ed.set_key(x, k, v);
                }
            }
        }
        None => edit_body(ed, item, "user", |body| {
            let had = body.get("exec").and_then(Value::as_object).cloned();
            let mut exec = had.clone().unwrap_or_default();
            change(&mut exec);
            if had.is_some() || !exec.is_empty() {
                body.insert("exec".into(), Value::Object(exec));
            }
        }),
    }
}

/// The list of `kind` and `item` in it as written in this file, when neither is reached
/// through an alias (an edit there would change the anchored original, elsewhere).
fn list_and_item(
    file: &KubeFile,
    kind: Kind,
    item: Option<NodeId>,
) -> anyhow::Result<Option<NodeId>> {
    let doc = &file.doc;
    let root = file.root();
    let Some(seq) = doc
        .get_raw(root, kind.key())
        .filter(|_| !doc.has_merge(root))
    else {
        if doc.has_merge(root) {
            anyhow::bail!(
                "{}: its top level takes keys from a `<<` merge; kctx does not edit such a file (expand it with `kubectl config view --raw`)",
                file.path.display()
            );
        }
        return Ok(None);
    };
    let through_alias = doc.node(seq).kind == NodeKind::Alias
        || item.is_some_and(|it| !doc.children(seq).any(|c| c == it));
    if through_alias {
        anyhow::bail!(
            "{}: `{}` (or its entry) is a YAML alias of a list or entry written elsewhere; kctx does not edit through aliases (expand it with `kubectl config view --raw`)",
            file.path.display(),
            kind.key()
        );
    }
    Ok(Some(seq))
}

/// An entry without a name (kubectl reads it as "") is read, never changed: which one an
/// edit of "" means cannot be told.
fn refuse_unnamed(file: &KubeFile, ops: &[Op]) -> anyhow::Result<()> {
    let p = file.path.display();
    // an entry without a name (kubectl reads it as "") is read, never changed: which one an
    // edit of "" means cannot be told
    if !file.unnamed.is_empty() {
        let names = |op: &Op| -> Option<(Kind, String)> {
            match op {
                Op::SetContextField { context, .. } => Some((Kind::Contexts, context.clone())),
                Op::Rename { kind, old, new } if old.is_empty() || new.is_empty() => {
                    Some((*kind, String::new()))
                }
                Op::Remove { kind, name } => Some((*kind, name.clone())),
                Op::Upsert { kind, entry, .. } => Some((
                    *kind,
                    entry
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                )),
                _ => None,
            }
        };
        if let Some((kind, _)) = ops
            .iter()
            .filter_map(names)
            .find(|(k, n)| n.is_empty() && file.has(*k, n))
        {
            let which: Vec<&str> = file
                .unnamed
                .iter()
                .filter(|u| u.starts_with(kind.key()))
                .map(String::as_str)
                .collect();
            anyhow::bail!(
                "{p}: {} has no name, and kctx does not change an entry without one (give it a `name:`)",
                which.join(", ")
            );
        }
    }
    Ok(())
}

/// Applies `ops` to a file: the new text (None when nothing changes).
pub fn apply(file: &KubeFile, ops: &[Op]) -> anyhow::Result<Option<Edited>> {
    use anyhow::anyhow;
    let p = file.path.display();
    if file.doc.extra_documents {
        anyhow::bail!(
            "{p} holds more than one YAML document; kubectl reads only the first and would drop the rest, so kctx will not edit it (move the others to their own files)"
        );
    }
    let doc = &file.doc;
    let root = file.root();
    let mut ed = Editor::new(doc);
    let mut new_entries: [Vec<Value>; 3] = Default::default();
    refuse_unnamed(file, ops)?;
    let gone = |kind: Kind, name: &str| {
        anyhow!(
            "{p}: no {} named {name:?}",
            &kind.key()[..kind.key().len() - 1]
        )
    };
    for op in ops {
        match op {
            Op::SetCurrentContext(name) => {
                ed.set_key(root, "current-context", &Value::String(name.clone()))
            }
            Op::SetContextField {
                context,
                key,
                value,
            } => {
                let e = file
                    .find(Kind::Contexts, context)
                    .ok_or_else(|| gone(Kind::Contexts, context))?;
                list_and_item(file, Kind::Contexts, Some(e.item))?;
                edit_body(&mut ed, e.item, "context", |m| match value {
                    Some(v) => {
                        m.insert(key.clone(), Value::String(v.clone()));
                    }
                    None => {
                        m.remove(key);
                    }
                });
            }
            Op::Rename { kind, old, new } => {
                let e = file.find(*kind, old).ok_or_else(|| gone(*kind, old))?;
                list_and_item(file, *kind, Some(e.item))?;
                ed.set_key(e.item, "name", &Value::String(new.clone()));
            }
            Op::Remove { kind, name } => {
                let e = file.find(*kind, name).ok_or_else(|| gone(*kind, name))?;
                let seq = list_and_item(file, *kind, Some(e.item))?
                    .expect("indexed entries are in a list");
                ed.remove_item(seq, e.item);
            }
            Op::EditExec { user, changes } => {
                let e = file
                    .find(Kind::Users, user)
                    .ok_or_else(|| gone(Kind::Users, user))?;
                list_and_item(file, Kind::Users, Some(e.item))?;
                edit_exec(&mut ed, e.item, changes);
            }
            Op::Upsert { kind, entry, merge } => {
                let name = entry.get("name").and_then(Value::as_str).unwrap_or("");
                match file.find(*kind, name) {
                    Some(e) => {
                        list_and_item(file, *kind, Some(e.item))?;
                        for (k, v) in entry {
                            if k == "name" {
                                continue;
                            }
                            match v {
                                Value::Object(fresh) if *merge && k == kind.inner() => {
                                    edit_body(&mut ed, e.item, k, |m| {
                                        for (bk, bv) in fresh {
                                            m.insert(bk.clone(), bv.clone());
                                        }
                                    })
                                }
                                _ => ed.set_key(e.item, k, v),
                            }
                        }
                    }
                    None => new_entries[*kind as usize]
                        .push(Value::Object(order_like_siblings(file, *kind, entry))),
                }
            }
        }
    }
    for kind in Kind::ALL {
        let items = std::mem::take(&mut new_entries[kind as usize]);
        if items.is_empty() {
            continue;
        }
        // an empty `[]` becomes a block list, as kubectl writes lists
        let seq = list_and_item(file, kind, None)?.filter(|s| {
            let n = doc.node(*s);
            n.kind == NodeKind::BlockSeq
                || (n.kind == NodeKind::FlowSeq && doc.children(*s).next().is_some())
        });
        match seq {
            Some(seq) => {
                for it in &items {
                    ed.append_item(seq, it);
                }
            }
            None => ed.set_key(root, kind.key(), &Value::Array(items)),
        }
    }
    ed.finish().map_err(|e| anyhow!("{p}: {e}"))
}

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn run(src: &str, ops: &[Op]) -> (String, Option<String>) {
        let f = KubeFile::parse(Path::new("k"), src.as_bytes().to_vec()).unwrap();
        match apply(&f, ops).unwrap() {
            Some(e) => (e.text(&f.doc.text), e.rewrote),
            None => (src.to_owned(), None),
        }
    }

    fn spliced(src: &str, ops: &[Op]) -> String {
        let (t, r) = run(src, ops);
        assert_eq!(r, None, "expected an in-place edit of:\n{src}\ngot:\n{t}");
        t
    }

    fn cc(n: &str) -> Op {
        Op::SetCurrentContext(n.into())
    }

    fn obj(v: serde_json::Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// The context names of a kubeconfig text.
    fn f_ctx(text: &str) -> Vec<String> {
        let f = KubeFile::parse(Path::new("k"), text.as_bytes().to_vec()).unwrap();
        f.names(Kind::Contexts).map(str::to_owned).collect()
    }

    const HAND: &str = "\
# my clusters -- hand written
apiVersion: v1
kind: Config
current-context: dev   # switch with kctx

clusters:
  # prod: ask #sre before touching
  - name: prod
    cluster: {server: 'https://prod', insecure-skip-tls-verify: false}
  - name: dev
    cluster:
      server: \"https://dev\"

contexts:
  - name: prod
    context: {cluster: prod, user: admin}
  - name: dev
    context:
      cluster: dev
      user: admin     # same user
      namespace: web

users:
  - name: admin
    user: {token: abc}
";

    #[test]
    fn current_context_keeps_everything_else() {
        let out = spliced(HAND, &[cc("prod")]);
        assert_eq!(
            out,
            HAND.replace("current-context: dev ", "current-context: prod ")
        );
        // a no-op changes nothing
        assert_eq!(run(HAND, &[cc("dev")]).0, HAND);
    }

    #[test]
    fn quoting_style_is_kept_and_ambiguous_names_are_quoted() {
        let src = "current-context: 'a'\nb: \"x\"\n";
        assert_eq!(
            spliced(src, &[cc("prod")]),
            "current-context: 'prod'\nb: \"x\"\n"
        );
        let src = "current-context: a\n";
        assert_eq!(spliced(src, &[cc("on")]), "current-context: \"on\"\n");
        assert_eq!(spliced(src, &[cc("")]), "current-context: \"\"\n");
    }

    #[test]
    fn namespace_is_set_replaced_and_removed_in_place() {
        let set = |ctx: &str, ns: Option<&str>| Op::SetContextField {
            context: ctx.into(),
            key: "namespace".into(),
            value: ns.map(Into::into),
        };
        let out = spliced(HAND, &[set("dev", Some("api"))]);
        assert_eq!(out, HAND.replace("namespace: web", "namespace: api"));
        let out = spliced(HAND, &[set("dev", None)]);
        assert_eq!(out, HAND.replace("      namespace: web\n", ""));
        // flow mapping: the pair joins it
        let out = spliced(HAND, &[set("prod", Some("ops"))]);
        assert_eq!(
            out,
            HAND.replace(
                "{cluster: prod, user: admin}",
                "{cluster: prod, user: admin, namespace: ops}"
            )
        );
    }

    #[test]
    fn remove_takes_the_item_and_its_comment() {
        let out = spliced(
            HAND,
            &[Op::Remove {
                kind: Kind::Clusters,
                name: "prod".into(),
            }],
        );
        assert_eq!(
            out,
            HAND.replace(
                "  # prod: ask #sre before touching\n  - name: prod\n    cluster: {server: 'https://prod', insecure-skip-tls-verify: false}\n",
                ""
            )
        );
        let out = spliced(
            HAND,
            &[Op::Remove {
                kind: Kind::Users,
                name: "admin".into(),
            }],
        );
        assert_eq!(
            out,
            HAND.replace(
                "users:\n  - name: admin\n    user: {token: abc}\n",
                "users: []\n"
            )
        );
    }

    #[test]
    fn rename_touches_only_the_name() {
        let out = spliced(
            HAND,
            &[
                Op::Rename {
                    kind: Kind::Contexts,
                    old: "dev".into(),
                    new: "development".into(),
                },
                cc("development"),
            ],
        );
        assert_eq!(
            out,
            HAND.replace(
                "  - name: dev\n    context:",
                "  - name: development\n    context:"
            )
            .replace("current-context: dev ", "current-context: development ")
        );
    }

    #[test]
    fn new_entries_follow_their_siblings() {
        let entry = obj(json!({"context": {"cluster": "dev", "user": "admin"}, "name": "new"}));
        let out = spliced(
            HAND,
            &[Op::Upsert {
                kind: Kind::Contexts,
                entry,
                merge: true,
            }],
        );
        // 2-space indented list, `name` first like the siblings
        assert_eq!(
            out,
            HAND.replace(
                "      namespace: web\n",
                "      namespace: web\n  - name: new\n    context:\n      cluster: dev\n      user: admin\n"
            )
        );
        // kubectl's layout: name last, list at the key's column
        let kubectl = "apiVersion: v1\ncontexts:\n- context:\n    cluster: a\n    user: a\n  name: a\ncurrent-context: a\nkind: Config\n";
        let entry = obj(json!({"name": "b", "context": {"cluster": "b", "user": "b"}}));
        let out = spliced(
            kubectl,
            &[Op::Upsert {
                kind: Kind::Contexts,
                entry,
                merge: true,
            }],
        );
        assert_eq!(
            out,
            kubectl.replace(
                "  name: a\n",
                "  name: a\n- context:\n    cluster: b\n    user: b\n  name: b\n"
            )
        );
    }

    #[test]
    fn four_space_indents_crlf_and_bom_are_kept() {
        let src = "\u{feff}apiVersion: v1\r\ncontexts:\r\n    -   name: a\r\n        context:\r\n            cluster: a\r\ncurrent-context: a\r\n";
        let entry = obj(json!({"name": "b", "context": {"cluster": "b"}}));
        let out = spliced(
            src,
            &[
                Op::Upsert {
                    kind: Kind::Contexts,
                    entry,
                    merge: true,
                },
                cc("b"),
            ],
        );
        assert_eq!(
            out,
            "\u{feff}apiVersion: v1\r\ncontexts:\r\n    -   name: a\r\n        context:\r\n            cluster: a\r\n    -   name: b\r\n        context:\r\n            cluster: b\r\ncurrent-context: b\r\n"
        );
    }

    #[test]
    fn missing_and_empty_lists_are_created_as_blocks() {
        let src = "apiVersion: v1\nclusters: []   # none yet\nkind: Config\n";
        let entry = obj(json!({"cluster": {"server": "s"}, "name": "c"}));
        let out = spliced(
            src,
            &[Op::Upsert {
                kind: Kind::Clusters,
                entry: entry.clone(),
                merge: true,
            }],
        );
        assert_eq!(out, "apiVersion: v1\nclusters:   # none yet\n- cluster:\n    server: s\n  name: c\nkind: Config\n");
        let src = "apiVersion: v1\nkind: Config";
        let out = spliced(
            src,
            &[Op::Upsert {
                kind: Kind::Clusters,
                entry,
                merge: true,
            }],
        );
        assert_eq!(
            out,
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: s\n  name: c\n"
        );
    }

    #[test]
    fn anchors_fall_back_to_a_rewrite() {
        let src = "contexts:\n- name: a\n  context: &base {cluster: c, user: u}\n- name: b\n  context: *base\ncurrent-context: a\n";
        let ns = |ctx: &str| Op::SetContextField {
            context: ctx.into(),
            key: "namespace".into(),
            value: Some("x".into()),
        };
        // b's alias is replaced by b's own value, in place; a keeps its data
        let out = spliced(src, &[ns("b")]);
        assert_eq!(out, "contexts:\n- name: a\n  context: &base {cluster: c, user: u}\n- name: b\n  context:\n    cluster: c\n    user: u\n    namespace: x\ncurrent-context: a\n");
        // a's body is the anchor: changing it in place would change b too
        let (out, why) = run(src, &[ns("a")]);
        assert!(why.is_some(), "{out}");
        let f = KubeFile::parse(Path::new("k"), out.into_bytes()).unwrap();
        assert_eq!(f.field(Kind::Contexts, "a", "namespace"), Some("x"));
        assert_eq!(
            f.field(Kind::Contexts, "b", "namespace"),
            None,
            "the alias's other user is untouched"
        );
        assert_eq!(f.field(Kind::Contexts, "b", "cluster"), Some("c"));
        // an edit elsewhere in the same file stays in place
        let out = spliced(src, &[cc("b")]);
        assert_eq!(out, src.replace("current-context: a", "current-context: b"));
    }

    #[test]
    fn an_alias_is_changed_where_it_stands_never_its_anchor() {
        let ctx = |n: &str| f_ctx(n);
        // current-context written as an alias of a context's name
        let src = "contexts:\n- name: &cur a\n  context: {cluster: c, user: u}\n- name: b\n  context: {cluster: c, user: u}\ncurrent-context: *cur\n";
        assert_eq!(
            spliced(src, &[cc("b")]),
            src.replace("current-context: *cur", "current-context: b")
        );
        let out = spliced(
            src,
            &[
                cc(""),
                Op::Remove {
                    kind: Kind::Contexts,
                    name: "a".into(),
                },
            ],
        );
        assert_eq!(
            out,
            "contexts:\n- name: b\n  context: {cluster: c, user: u}\ncurrent-context: \"\"\n"
        );
        // a namespace shared through an anchor: only b's changes
        let src = "contexts:\n- name: a\n  context: {cluster: c, user: u, namespace: &ns shared}\n- name: b\n  context: {cluster: c, user: u, namespace: *ns}\n";
        let out = spliced(
            src,
            &[Op::SetContextField {
                context: "b".into(),
                key: "namespace".into(),
                value: Some("foo".into()),
            }],
        );
        assert_eq!(out, src.replace("namespace: *ns", "namespace: foo"));
        // a context named by an alias of a cluster's name: the context is renamed
        let src = "clusters:\n- name: &n prod\n  cluster: {server: s}\ncontexts:\n- name: *n\n  context: {cluster: *n, user: u}\n";
        let out = spliced(
            src,
            &[Op::Rename {
                kind: Kind::Contexts,
                old: "prod".into(),
                new: "staging".into(),
            }],
        );
        assert_eq!(out, src.replace("- name: *n", "- name: staging"));
        assert_eq!(ctx(&out), vec!["staging".to_owned()]);
        // an entry that is itself an alias of one written elsewhere is refused, not edited
        // through its anchor
        let src = "x-templates:\n- &t {name: a, context: {cluster: c, user: u}}\ncontexts:\n- *t\n";
        let f = KubeFile::parse(Path::new("k"), src.as_bytes().to_vec()).unwrap();
        let err = apply(
            &f,
            &[Op::Rename {
                kind: Kind::Contexts,
                old: "a".into(),
                new: "b".into(),
            }],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("kctx does not edit through aliases"), "{err}");
    }

    #[test]
    fn merge_keys_change_the_data_kubectl_reads() {
        let src = "contexts:\n- name: a\n  context: &base {cluster: c, user: u, namespace: one}\n- name: b\n  context:\n    <<: *base\n    namespace: two\n- <<: {context: {cluster: c, user: u}}\n  name: m\n";
        let unset = |c: &str| Op::SetContextField {
            context: c.into(),
            key: "namespace".into(),
            value: None,
        };
        let set = |c: &str| Op::SetContextField {
            context: c.into(),
            key: "namespace".into(),
            value: Some("x".into()),
        };
        for (op, ctx, want) in [
            (unset("b"), "b", None),
            (set("b"), "b", Some("x")),
            (set("m"), "m", Some("x")),
        ] {
            let (out, _) = run(src, &[op]);
            let f = KubeFile::parse(Path::new("k"), out.clone().into_bytes()).unwrap();
            assert_eq!(f.field(Kind::Contexts, ctx, "namespace"), want, "{out}");
            assert_eq!(f.field(Kind::Contexts, ctx, "cluster"), Some("c"), "{out}");
            assert_eq!(
                f.field(Kind::Contexts, "a", "namespace"),
                Some("one"),
                "{out}"
            );
        }
    }

    #[test]
    fn flow_lists_one_member_per_line_keep_the_comments_of_those_that_stay() {
        let src = "contexts: [\n  # staging\n  {name: a, context: {cluster: c, user: u}},\n  # prod -- DO NOT TOUCH\n  {name: b, context: {cluster: c, user: u}},   # team X\n  {name: d, context: {\n    cluster: c, # prod cluster\n    namespace: web, # the app\n    user: u # admin\n  }}\n]\n";
        let rm = |n: &str| Op::Remove {
            kind: Kind::Contexts,
            name: n.into(),
        };
        assert_eq!(
            spliced(src, &[rm("a")]),
            src.replace(
                "  # staging\n  {name: a, context: {cluster: c, user: u}},\n",
                ""
            )
        );
        assert_eq!(
            spliced(src, &[rm("d")]),
            "contexts: [\n  # staging\n  {name: a, context: {cluster: c, user: u}},\n  # prod -- DO NOT TOUCH\n  {name: b, context: {cluster: c, user: u}}   # team X\n]\n"
        );
        let unset = Op::SetContextField {
            context: "d".into(),
            key: "namespace".into(),
            value: None,
        };
        assert_eq!(
            spliced(src, &[unset]),
            src.replace("    namespace: web, # the app\n", "")
        );
        // members sharing lines: written anew from the members that stay, as before
        let src = "contexts: [{name: a, context: {}}, {name: b, context: {}}]\n";
        assert_eq!(
            spliced(src, &[rm("a")]),
            "contexts: [{name: b, context: {}}]\n"
        );
    }

    #[test]
    fn quotes_a_name_needed_go_when_the_next_needs_none() {
        let src = "contexts:\n- name: a\n  context: {}\n- name: \"on\"\n  context: {}\ncurrent-context: a\n";
        let there = spliced(src, &[cc("on")]);
        assert!(there.ends_with("current-context: \"on\"\n"), "{there}");
        assert_eq!(spliced(&there, &[cc("a")]), src);
        // quotes that were a choice stay
        let chosen = src.replace("current-context: a", "current-context: \"a\"");
        assert!(spliced(&chosen, &[cc("b")]).ends_with("current-context: \"b\"\n"));
    }

    #[test]
    fn a_bom_takes_no_column() {
        let src =
            "\u{feff}apiVersion: v1\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n";
        assert_eq!(
            spliced(src, &[cc("a")]),
            format!("{src}current-context: a\n")
        );
    }

    #[test]
    fn more_than_one_document_is_refused() {
        let f = KubeFile::parse(
            Path::new("k"),
            b"current-context: a\n---\nkind: x\n".to_vec(),
        )
        .unwrap();
        let e = apply(&f, &[cc("b")]).unwrap_err().to_string();
        assert!(e.contains("more than one YAML document"), "{e}");
        // a lone trailing `---` is harmless
        assert_eq!(
            spliced("current-context: a\n---\n", &[cc("b")]),
            "current-context: b\n---\n"
        );
    }

    #[test]
    fn exec_keys_change_where_they_stand() {
        let src = "\
users:
# the AWS CLI, slow
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1alpha1   # old
      args:
      - --region
      - us-west-2
      - eks
      - get-token
      - --cluster-name
      - c
      command: aws
      env:   # keep me
      - name: AWS_PROFILE
        value: work
      installHint: pip install awscli
- name: other
  user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}
";
        let op = |user: &str, changes: Vec<(&str, Option<Value>)>| Op::EditExec {
            user: user.into(),
            changes: changes
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        };
        let out = spliced(
            src,
            &[op(
                "u",
                vec![
                    (
                        "apiVersion",
                        Some(json!("client.authentication.k8s.io/v1beta1")),
                    ),
                    ("args", Some(json!(["token", "--cluster-name", "c"]))),
                    ("command", Some(json!("kctx"))),
                    ("installHint", None),
                ],
            )],
        );
        assert_eq!(
            out,
            "\
users:
# the AWS CLI, slow
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1   # old
      args:
      - token
      - --cluster-name
      - c
      command: kctx
      env:   # keep me
      - name: AWS_PROFILE
        value: work
- name: other
  user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}
"
        );
        // a flow mapping, and a second run that changes nothing
        let set = vec![(
            "apiVersion",
            Some(json!("client.authentication.k8s.io/v1beta1")),
        )];
        let out = spliced(src, &[op("other", set.clone())]);
        assert_eq!(
            out,
            src.replace(
                "{exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}",
                "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: x}}"
            )
        );
        let f = KubeFile::parse(Path::new("k"), out.clone().into_bytes()).unwrap();
        assert!(apply(&f, &[op("other", set.clone())]).unwrap().is_none());
        // an exec shared through an anchor: only this user's changes
        let src = "users:\n- name: a\n  user:\n    exec: &e {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}\n- name: b\n  user:\n    exec: *e\n";
        let (out, _) = run(src, &[op("b", set)]);
        let f = KubeFile::parse(Path::new("k"), out.into_bytes()).unwrap();
        let api = |u: &str| f.body(Kind::Users, u).unwrap()["exec"]["apiVersion"].clone();
        assert_eq!(api("a"), json!("client.authentication.k8s.io/v1alpha1"));
        assert_eq!(api("b"), json!("client.authentication.k8s.io/v1beta1"));
    }

    #[test]
    fn upsert_merges_bodies_and_replaces_users() {
        let src = "clusters:\n- cluster:\n    server: old\n    x-keep: 1\n  name: c\nusers:\n- name: u\n  user:\n    token: t\n";
        let cluster = obj(json!({"cluster": {"server": "new"}, "name": "c"}));
        let user = obj(json!({"name": "u", "user": {"exec": {"command": "kctx"}}}));
        let out = spliced(
            src,
            &[
                Op::Upsert {
                    kind: Kind::Clusters,
                    entry: cluster,
                    merge: true,
                },
                Op::Upsert {
                    kind: Kind::Users,
                    entry: user,
                    merge: false,
                },
            ],
        );
        assert_eq!(out, "clusters:\n- cluster:\n    server: new\n    x-keep: 1\n  name: c\nusers:\n- name: u\n  user:\n    exec:\n      command: kctx\n");
    }
}
