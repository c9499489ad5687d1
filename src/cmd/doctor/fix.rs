//! `--fix`: the findings' changes turned into kubeconfig operations grouped per file (so that
//! each file is written once, through [`crate::kubeconfig::Transaction`]), and the modes to set.
//! Changes to one entry are merged; an entry that is removed gets no other change.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::checks::{Action, ExecChanges, Finding};
use crate::kubeconfig::{Kind, Op};

/// What `--fix` does, decided from the findings alone.
#[derive(Debug, Default)]
pub(crate) struct Planned {
    /// Operations per file, files in the order the findings first name them.
    pub(crate) edits: Vec<(PathBuf, Vec<Op>)>,
    /// Files to chmod, and the mode.
    pub(crate) chmods: Vec<(PathBuf, u32)>,
    /// One line per finding mended (`file: entry: code: what`).
    pub(crate) said: Vec<String>,
}

fn ops_of<'a>(edits: &'a mut Vec<(PathBuf, Vec<Op>)>, file: &PathBuf) -> &'a mut Vec<Op> {
    if let Some(i) = edits.iter().position(|(p, _)| p == file) {
        return &mut edits[i].1;
    }
    edits.push((file.clone(), Vec::new()));
    &mut edits.last_mut().expect("just pushed").1
}

/// Who a finding is about, with `: ` after it (nothing for a finding about a whole file).
pub(crate) fn subject(f: &Finding) -> String {
    match (&f.context, &f.user, &f.cluster) {
        (Some(c), _, Some(cl)) => format!("context {c:?} (cluster {cl:?}): "),
        (Some(c), _, None) => format!("context {c:?}: "),
        (None, Some(u), _) => format!("user {u:?}: "),
        (None, None, Some(c)) => format!("cluster {c:?}: "),
        (None, None, None) => String::new(),
    }
}

/// Sets `changes` onto what an entry already gets (later changes of a key win; the checks
/// never ask for two different values of one key).
fn merge_changes(into: &mut ExecChanges, changes: &ExecChanges) {
    for (k, v) in changes {
        match into.iter_mut().find(|(ik, _)| ik == k) {
            Some(slot) => slot.1 = v.clone(),
            None => into.push((k.clone(), v.clone())),
        }
    }
}

pub(crate) fn plan(findings: &[Finding]) -> Planned {
    let mut out = Planned::default();
    let removed: HashSet<(PathBuf, Kind, String)> = findings
        .iter()
        .filter_map(|f| match &f.fix.as_ref()?.action {
            Action::Remove { kind, name } => Some((f.file.clone(), *kind, name.clone())),
            _ => None,
        })
        .collect();
    // per (file, user) and (file, cluster): the merged changes, in first-seen order
    let mut execs: Vec<(PathBuf, String, ExecChanges)> = Vec::new();
    let mut clusters: Vec<(PathBuf, String, Map<String, Value>)> = Vec::new();
    let mut at: HashMap<(PathBuf, Kind, String), usize> = HashMap::new();
    let mut unset: Vec<PathBuf> = Vec::new();
    for f in findings {
        let Some(fix) = &f.fix else {
            continue;
        };
        let gone =
            |kind: Kind, name: &str| removed.contains(&(f.file.clone(), kind, name.to_owned()));
        let mut says = fix.says.clone();
        match &fix.action {
            Action::EditExec { user, .. } if gone(Kind::Users, user) => {
                says = "nothing: the unused user is removed".into();
            }
            Action::UpdateCluster { name, .. } if gone(Kind::Clusters, name) => {
                says = "nothing: the unused cluster is removed".into();
            }
            Action::EditExec { user, changes } => {
                match at.entry((f.file.clone(), Kind::Users, user.clone())) {
                    Entry::Occupied(i) => merge_changes(&mut execs[*i.get()].2, changes),
                    Entry::Vacant(v) => {
                        v.insert(execs.len());
                        execs.push((f.file.clone(), user.clone(), changes.clone()));
                    }
                }
            }
            Action::UpdateCluster { name, set } => {
                match at.entry((f.file.clone(), Kind::Clusters, name.clone())) {
                    Entry::Occupied(i) => clusters[*i.get()].2.extend(set.clone()),
                    Entry::Vacant(v) => {
                        v.insert(clusters.len());
                        clusters.push((f.file.clone(), name.clone(), set.clone()));
                    }
                }
            }
            Action::Remove { kind, name } => ops_of(&mut out.edits, &f.file).push(Op::Remove {
                kind: *kind,
                name: name.clone(),
            }),
            Action::UnsetCurrentContext => {
                if !unset.contains(&f.file) {
                    unset.push(f.file.clone());
                }
            }
            Action::Chmod(mode) => {
                if !out.chmods.iter().any(|(p, _)| *p == f.file) {
                    out.chmods.push((f.file.clone(), *mode));
                }
            }
        }
        out.said.push(format!(
            "{}: {}{}: {says}",
            f.file.display(),
            subject(f),
            f.code
        ));
    }
    for (file, user, changes) in execs {
        ops_of(&mut out.edits, &file).push(Op::EditExec { user, changes });
    }
    for (file, name, set) in clusters {
        let mut entry = Map::new();
        entry.insert("name".into(), Value::String(name));
        entry.insert(Kind::Clusters.inner().into(), Value::Object(set));
        ops_of(&mut out.edits, &file).push(Op::Upsert {
            kind: Kind::Clusters,
            entry,
            merge: true,
        });
    }
    for file in unset {
        ops_of(&mut out.edits, &file).push(Op::SetCurrentContext(String::new()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::checks::{Fix, Severity};
    use super::*;
    use serde_json::json;

    fn finding(
        file: &str,
        code: &'static str,
        user: Option<&str>,
        action: Option<Action>,
    ) -> Finding {
        Finding {
            code,
            severity: Severity::Warning,
            message: String::new(),
            file: PathBuf::from(file),
            context: None,
            cluster: None,
            user: user.map(str::to_owned),
            fix: action.map(|action| Fix {
                says: format!("do {code}"),
                action,
            }),
        }
    }

    fn exec(user: &str, k: &str, v: &str) -> Action {
        Action::EditExec {
            user: user.into(),
            changes: vec![(k.into(), Some(json!(v)))],
        }
    }

    #[test]
    fn one_op_per_entry_files_grouped_removed_entries_left_alone() {
        let findings = vec![
            finding(
                "a",
                "exec-api-v1alpha1",
                Some("u"),
                Some(exec("u", "apiVersion", "v1beta1")),
            ),
            finding("b", "exec-command-not-found", Some("x"), None),
            finding(
                "a",
                "aws-cli-exec",
                Some("u"),
                Some(exec("u", "command", "kctx")),
            ),
            finding(
                "b",
                "orphan-user",
                Some("gone"),
                Some(Action::Remove {
                    kind: Kind::Users,
                    name: "gone".into(),
                }),
            ),
            finding(
                "b",
                "aws-cli-exec",
                Some("gone"),
                Some(exec("gone", "command", "kctx")),
            ),
            finding(
                "a",
                "dangling-current-context",
                None,
                Some(Action::UnsetCurrentContext),
            ),
            finding(
                "a",
                "kubeconfig-permissions",
                None,
                Some(Action::Chmod(0o600)),
            ),
            finding(
                "b",
                "endpoint-changed",
                None,
                Some(Action::UpdateCluster {
                    name: "c".into(),
                    set: Map::from_iter([("server".into(), json!("https://new"))]),
                }),
            ),
            finding(
                "b",
                "ca-changed",
                None,
                Some(Action::UpdateCluster {
                    name: "c".into(),
                    set: Map::from_iter([("certificate-authority-data".into(), json!("Q0E="))]),
                }),
            ),
        ];
        let p = plan(&findings);
        assert_eq!(p.chmods, vec![(PathBuf::from("a"), 0o600)]);
        let files: Vec<&PathBuf> = p.edits.iter().map(|(f, _)| f).collect();
        assert_eq!(files, [&PathBuf::from("b"), &PathBuf::from("a")]);
        let ops_a = format!("{:?}", p.edits[1].1);
        assert_eq!(
            ops_a,
            format!(
                "{:?}",
                vec![
                    Op::EditExec {
                        user: "u".into(),
                        changes: vec![
                            ("apiVersion".into(), Some(json!("v1beta1"))),
                            ("command".into(), Some(json!("kctx")))
                        ]
                    },
                    Op::SetCurrentContext(String::new()),
                ]
            )
        );
        let ops_b = format!("{:?}", p.edits[0].1);
        assert!(
            ops_b.starts_with("[Remove { kind: Users, name: \"gone\" }, Upsert"),
            "{ops_b}"
        );
        assert!(
            !ops_b.contains("EditExec"),
            "a removed user gets no other change: {ops_b}"
        );
        assert!(
            ops_b.contains("\"server\": String(\"https://new\")")
                && ops_b.contains("certificate-authority-data"),
            "{ops_b}"
        );
        assert_eq!(p.said.len(), 8, "{:?}", p.said);
        assert!(p.said.contains(
            &"b: user \"gone\": aws-cli-exec: nothing: the unused user is removed".to_owned()
        ));
        assert!(plan(&[]).edits.is_empty());
    }
}
