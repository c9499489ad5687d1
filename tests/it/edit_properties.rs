//! Property test: random kubeconfigs, written in random but valid layouts (indentation, list
//! indentation, `name:` first or last, flow or block bodies, comments, quoting, CRLF), edited
//! by random sequences of kctx's operations. After every edit the file must read back as
//! exactly what an independent model of the operation says (applied to plain JSON), every
//! edit must be made in place (no fallback rewrite: these files have no anchors), and the
//! text of every entry no operation touched must still be in the file, byte for byte.

use std::path::Path;

use kctx::{Kind, KubeFile, Op};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const NAMES: &[&str] = &[
    "a",
    "b",
    "prod",
    "dev-1",
    "on",
    "x: y",
    "ünï",
    "0777",
    "arn:aws:eks:eu-west-1:1:cluster/c",
];

#[derive(Debug, Clone)]
struct Layout {
    indent: usize,
    seq_indent: bool,
    name_first: bool,
    crlf: bool,
    comments: bool,
    /// per entry: flow body
    flow: Vec<bool>,
    /// per entry: quote style of its name (0 plain when safe, 1 single, 2 double)
    quote: Vec<u8>,
    /// per list: written `[{…}, {…}]` on one line (one member per line, with comments, when
    /// `comments`)
    flow_lists: Vec<bool>,
}

/// (kind, name, body fields)
type Entry = (Kind, String, Vec<(String, String)>);

#[derive(Debug, Clone)]
struct Doc {
    entries: Vec<Entry>,
    current: Option<String>,
}

fn q(s: &str, style: u8) -> String {
    let plain_safe = kctx::plain_ok(s);
    match style {
        1 => format!("'{}'", s.replace('\'', "''")),
        2 => serde_json::to_string(s).unwrap(),
        _ if plain_safe => s.to_owned(),
        _ => serde_json::to_string(s).unwrap(),
    }
}

/// Writes the document as a person might have (this is the test's own writer, not kctx's).
fn write(doc: &Doc, l: &Layout) -> String {
    let nl = if l.crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    let line = |out: &mut String, s: String| {
        out.push_str(&s);
        out.push_str(nl);
    };
    if l.comments {
        line(&mut out, "# written by hand".into());
    }
    line(&mut out, "apiVersion: v1".into());
    line(&mut out, "kind: Config".into());
    let pad = if l.seq_indent {
        " ".repeat(l.indent)
    } else {
        String::new()
    };
    let gap = " ".repeat(l.indent.max(2) - 1);
    let body_col = pad.len() + 1 + gap.len();
    let mut i = 0;
    for kind in Kind::ALL {
        let items: Vec<_> = doc.entries.iter().filter(|e| e.0 == kind).collect();
        if items.is_empty() {
            line(&mut out, format!("{}: []", kind.key()));
            continue;
        }
        if l.flow_lists[kind as usize % l.flow_lists.len()] {
            let flow: Vec<String> = items
                .iter()
                .map(|(_, name, fields)| {
                    let inner: Vec<String> = fields
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", q(v, 2)))
                        .collect();
                    format!(
                        "{{name: {}, {}: {{{}}}}}",
                        q(name, 2),
                        kind.inner(),
                        inner.join(", ")
                    )
                })
                .collect();
            if l.comments {
                // one member per line, each with a comment line above it and a trailing one
                line(&mut out, format!("{}: [", kind.key()));
                for (j, f) in flow.iter().enumerate() {
                    let sep = if j + 1 < flow.len() { "," } else { "" };
                    line(&mut out, format!("  # member {j}"));
                    line(&mut out, format!("  {f}{sep}   # after {j}"));
                }
                line(&mut out, "]".into());
            } else {
                line(&mut out, format!("{}: [{}]", kind.key(), flow.join(", ")));
            }
            continue;
        }
        line(&mut out, format!("{}:", kind.key()));
        for (_, name, fields) in items {
            let flow = l.flow[i % l.flow.len()];
            let qs = l.quote[i % l.quote.len()];
            i += 1;
            if l.comments && i % 2 == 0 {
                line(&mut out, format!("{pad}# about {name}"));
            }
            let name_line = format!("name: {}", q(name, qs));
            let body: Vec<String> = if flow {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", q(v, 2)))
                    .collect();
                vec![format!("{}: {{{}}}", kind.inner(), inner.join(", "))]
            } else if fields.is_empty() {
                vec![format!("{}: {{}}", kind.inner())]
            } else {
                let mut v = vec![format!("{}:", kind.inner())];
                for (k, val) in fields {
                    let trailing = if l.comments { "   # set by hand" } else { "" };
                    v.push(format!(
                        "{}{k}: {}{trailing}",
                        " ".repeat(l.indent),
                        q(val, qs)
                    ));
                }
                v
            };
            let mut lines = Vec::new();
            if l.name_first {
                lines.push(name_line);
                lines.extend(body);
            } else {
                lines.extend(body);
                lines.push(name_line);
            }
            for (j, ln) in lines.iter().enumerate() {
                if j == 0 {
                    line(&mut out, format!("{pad}-{gap}{ln}"));
                } else {
                    line(&mut out, format!("{}{ln}", " ".repeat(body_col)));
                }
            }
        }
        if l.comments {
            line(&mut out, String::new());
        }
    }
    if let Some(c) = &doc.current {
        line(&mut out, format!("current-context: {}", q(c, 0)));
    }
    out
}

/// The data the document holds, as plain JSON.
fn model(doc: &Doc) -> Value {
    let mut v = json!({"apiVersion": "v1", "kind": "Config"});
    for kind in Kind::ALL {
        let items: Vec<Value> = doc
            .entries
            .iter()
            .filter(|e| e.0 == kind)
            .map(|(_, n, f)| {
                let body: Map<String, Value> =
                    f.iter().map(|(k, x)| (k.clone(), json!(x))).collect();
                json!({"name": n, kind.inner(): body})
            })
            .collect();
        v[kind.key()] = Value::Array(items);
    }
    if let Some(c) = &doc.current {
        v["current-context"] = json!(c);
    }
    v
}

/// An operation drawn at random; names are resolved against the model when it is applied.
#[derive(Debug, Clone)]
enum OpT {
    Use(usize),
    Ns(usize, Option<usize>),
    Rename(u8, usize, usize),
    Remove(u8, usize),
    Upsert(u8, usize, usize, bool),
    /// a user's exec: key (command, apiVersion, args) set, or removed
    Exec(usize, usize, bool),
}

fn kind_of(k: u8) -> Kind {
    Kind::ALL[k as usize % 3]
}

fn names_of(v: &Value, kind: Kind) -> Vec<String> {
    v[kind.key()]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Resolves a drawn operation against the model; applies it to the model; returns the Op
/// and the names of the entries it touches.
fn resolve(t: &OpT, m: &mut Value) -> Option<(Op, Vec<(Kind, String)>)> {
    match t {
        OpT::Use(i) => {
            let names = names_of(m, Kind::Contexts);
            let n = names.get(i % names.len().max(1))?.clone();
            m["current-context"] = json!(n);
            Some((Op::SetCurrentContext(n), vec![]))
        }
        OpT::Ns(i, ns) => {
            let names = names_of(m, Kind::Contexts);
            let n = names.get(i % names.len().max(1))?.clone();
            let value = ns.map(|j| ["web", "kube-system", "y"][j % 3].to_owned());
            let e = m["contexts"]
                .as_array_mut()?
                .iter_mut()
                .find(|e| e["name"] == n.as_str())?;
            let body = e["context"].as_object_mut()?;
            match &value {
                Some(v) => {
                    body.insert("namespace".into(), json!(v));
                }
                None => {
                    body.remove("namespace");
                }
            }
            Some((
                Op::SetContextField {
                    context: n.clone(),
                    key: "namespace".into(),
                    value,
                },
                vec![(Kind::Contexts, n)],
            ))
        }
        OpT::Rename(k, i, j) => {
            let kind = kind_of(*k);
            let names = names_of(m, kind);
            let old = names.get(i % names.len().max(1))?.clone();
            let new = NAMES[j % NAMES.len()].to_owned() + "-r";
            if names.contains(&new) {
                return None;
            }
            let e = m[kind.key()]
                .as_array_mut()?
                .iter_mut()
                .find(|e| e["name"] == old.as_str())?;
            e["name"] = json!(new);
            Some((
                Op::Rename {
                    kind,
                    old: old.clone(),
                    new,
                },
                vec![(kind, old)],
            ))
        }
        OpT::Remove(k, i) => {
            let kind = kind_of(*k);
            let names = names_of(m, kind);
            let n = names.get(i % names.len().max(1))?.clone();
            m[kind.key()]
                .as_array_mut()?
                .retain(|e| e["name"] != n.as_str());
            Some((
                Op::Remove {
                    kind,
                    name: n.clone(),
                },
                vec![(kind, n)],
            ))
        }
        OpT::Upsert(k, i, s, merge) => {
            let kind = kind_of(*k);
            let name = NAMES[i % NAMES.len()].to_owned();
            let field = ["server", "cluster", "token"][s % 3];
            let entry: Map<String, Value> =
                json!({kind.inner(): {field: format!("v{s}")}, "name": name})
                    .as_object()
                    .unwrap()
                    .clone();
            let list = m[kind.key()].as_array_mut()?;
            match list.iter_mut().find(|e| e["name"] == name.as_str()) {
                Some(e) => {
                    let body = e[kind.inner()].as_object_mut()?;
                    if !*merge {
                        body.clear();
                    }
                    body.insert(field.into(), json!(format!("v{s}")));
                }
                None => list.push(Value::Object(entry.clone())),
            }
            Some((
                Op::Upsert {
                    kind,
                    entry,
                    merge: *merge,
                },
                vec![(kind, name)],
            ))
        }
        OpT::Exec(i, k, remove) => {
            let names = names_of(m, Kind::Users);
            let n = names.get(i % names.len().max(1))?.clone();
            let (key, value) = [
                ("command", json!("kctx")),
                ("apiVersion", json!("client.authentication.k8s.io/v1beta1")),
                ("args", json!(["token", "--cluster-name", "c"])),
            ][k % 3]
                .clone();
            let body = m["users"]
                .as_array_mut()?
                .iter_mut()
                .find(|e| e["name"] == n.as_str())?["user"]
                .as_object_mut()?;
            let had = body.get("exec").and_then(Value::as_object).cloned();
            let mut exec = had.clone().unwrap_or_default();
            if *remove {
                exec.remove(key);
            } else {
                exec.insert(key.into(), value.clone());
            }
            if had.is_some() || !exec.is_empty() {
                body.insert("exec".into(), Value::Object(exec));
            }
            Some((
                Op::EditExec {
                    user: n.clone(),
                    changes: vec![(key.into(), (!*remove).then_some(value))],
                },
                vec![(Kind::Users, n)],
            ))
        }
    }
}

fn arb_doc() -> impl Strategy<Value = Doc> {
    let entry = (
        0u8..3,
        0usize..NAMES.len(),
        proptest::collection::vec((0usize..3, 0usize..4), 0..3),
    );
    (
        proptest::collection::vec(entry, 0..9),
        proptest::option::of(0usize..9),
    )
        .prop_map(|(es, cur)| {
            let mut entries: Vec<Entry> = Vec::new();
            for (k, n, fields) in es {
                let kind = kind_of(k);
                let name = NAMES[n].to_owned();
                if entries.iter().any(|e| e.0 == kind && e.1 == name) {
                    continue; // names are unique per list (kubectl refuses duplicates)
                }
                let mut fs: Vec<(String, String)> = Vec::new();
                for (f, v) in fields {
                    let key = ["server", "user", "namespace"][f].to_owned();
                    if !fs.iter().any(|x| x.0 == key) {
                        fs.push((key, ["x", "on", "https://h:1", "a b"][v].to_owned()));
                    }
                }
                entries.push((kind, name, fs));
            }
            let contexts: Vec<String> = entries
                .iter()
                .filter(|e| e.0 == Kind::Contexts)
                .map(|e| e.1.clone())
                .collect();
            let current = cur.and_then(|i| contexts.get(i % contexts.len().max(1)).cloned());
            Doc { entries, current }
        })
}

fn arb_layout() -> impl Strategy<Value = Layout> {
    (
        prop_oneof![Just(2usize), Just(4usize)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(any::<bool>(), 1..4),
        proptest::collection::vec(0u8..3, 1..4),
        proptest::collection::vec(proptest::bool::weighted(0.2), 3..4),
    )
        .prop_map(
            |(indent, seq_indent, name_first, crlf, comments, flow, quote, flow_lists)| Layout {
                indent,
                seq_indent,
                name_first,
                crlf,
                comments,
                flow,
                quote,
                flow_lists,
            },
        )
}

fn arb_ops() -> impl Strategy<Value = Vec<OpT>> {
    let op = prop_oneof![
        (0usize..9).prop_map(OpT::Use),
        (0usize..9, proptest::option::of(0usize..3)).prop_map(|(i, n)| OpT::Ns(i, n)),
        (0u8..3, 0usize..9, 0usize..9).prop_map(|(k, i, j)| OpT::Rename(k, i, j)),
        (0u8..3, 0usize..9).prop_map(|(k, i)| OpT::Remove(k, i)),
        (0u8..3, 0usize..9, 0usize..3, any::<bool>())
            .prop_map(|(k, i, s, m)| OpT::Upsert(k, i, s, m)),
        (0usize..9, 0usize..3, any::<bool>()).prop_map(|(i, k, r)| OpT::Exec(i, k, r)),
    ];
    proptest::collection::vec(op, 1..7)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn edits_read_back_as_the_model_says_and_leave_the_rest_alone(doc in arb_doc(), layout in arb_layout(), ops in arb_ops()) {
        let text = write(&doc, &layout);
        let path = Path::new("prop.yaml");
        let original = KubeFile::parse(path, text.clone().into_bytes()).expect("the written file parses");
        let mut want = model(&doc);
        prop_assert_eq!(original.to_json().unwrap(), want.clone(), "the writer and the reader agree:\n{}", text);

        // the text of every entry, to find untouched ones afterwards
        let mut spans: Vec<(Kind, String, String)> = Vec::new();
        for kind in Kind::ALL {
            for (name, source) in original.entry_sources(kind) {
                spans.push((kind, name.to_owned(), source.to_owned()));
            }
        }
        let mut touched: Vec<(Kind, String)> = Vec::new();
        let mut current = text.clone();
        for t in &ops {
            let Some((op, names)) = resolve(t, &mut want) else { continue };
            touched.extend(names);
            let file = KubeFile::parse(path, current.clone().into_bytes()).unwrap();
            let res = kctx::apply_ops(&file, std::slice::from_ref(&op)).unwrap();
            if let Some(e) = res {
                prop_assert!(e.rewrote.is_none(), "{:?} fell back to a rewrite: {:?}\n{}", op, e.rewrote, current);
                current = e.text(file.doc_text());
            }
            let after = KubeFile::parse(path, current.clone().into_bytes()).unwrap();
            prop_assert_eq!(after.to_json().unwrap(), want.clone(), "after {:?}:\n{}", op, current);
        }
        for (kind, name, span) in &spans {
            if !touched.iter().any(|(k, n)| k == kind && n == name) {
                prop_assert!(current.contains(span.as_str()), "untouched {:?} {:?} changed:\n{}\n---\n{}", kind, name, text, current);
            }
        }
        if layout.crlf {
            prop_assert!(!current.replace("\r\n", "").contains('\n'), "only CRLF line ends:\n{:?}", current);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// What one command does in one write (`add`: three upserts and current-context; `rm`:
    /// several removals): the ops touch different entries and are applied together.
    #[test]
    fn several_edits_in_one_write(doc in arb_doc(), layout in arb_layout(), ops in arb_ops()) {
        let text = write(&doc, &layout);
        let path = Path::new("prop.yaml");
        let file = KubeFile::parse(path, text.clone().into_bytes()).unwrap();
        let mut want = model(&doc);
        let mut batch = Vec::new();
        let mut touched: Vec<(Kind, String)> = Vec::new();
        let orig = model(&doc);
        let exists = |kind: Kind, n: &str| names_of(&orig, kind).iter().any(|x| x == n);
        for t in &ops {
            let mut trial = want.clone();
            let Some((op, mut names)) = resolve(t, &mut trial) else { continue };
            // one write's ops are relative to the file as read: each touches a different
            // entry that the file has (or, for an upsert, adds one it does not)
            let fine = match &op {
                Op::SetCurrentContext(n) => {
                    names.push((Kind::Contexts, n.clone()));
                    exists(Kind::Contexts, n) && !batch.iter().any(|o| matches!(o, Op::SetCurrentContext(_)))
                }
                Op::SetContextField { context, .. } => exists(Kind::Contexts, context),
                Op::Remove { kind, name } => exists(*kind, name),
                Op::Rename { kind, old, new } => {
                    names.push((*kind, new.clone()));
                    exists(*kind, old) && !exists(*kind, new)
                }
                Op::Upsert { .. } => true,
                Op::EditExec { user, .. } => exists(Kind::Users, user),
            };
            if !fine || names.iter().any(|n| touched.contains(n)) {
                continue;
            }
            want = trial;
            touched.extend(names);
            batch.push(op);
        }
        let res = kctx::apply_ops(&file, &batch).unwrap();
        let out = match res {
            Some(e) => {
                prop_assert!(e.rewrote.is_none(), "{:?}: {:?}", batch, e.rewrote);
                e.text(file.doc_text())
            }
            None => text.clone(),
        };
        let after = KubeFile::parse(path, out.clone().into_bytes()).unwrap();
        prop_assert_eq!(after.to_json().unwrap(), want, "after {:?}:\n{}\n---\n{}", batch, text, out);
    }
}
