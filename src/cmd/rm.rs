//! `kctx rm NAME…`: remove contexts, and their cluster and user entries when no remaining
//! context uses them.

use std::collections::HashSet;
use std::process::ExitCode;

use anyhow::Result;

use super::Run;
use crate::cli::RmArgs;
use crate::kubeconfig::{Kind, Op, Plan, Transaction};

impl Run for RmArgs {
    fn run(&self) -> Result<ExitCode> {
        super::contexts::note_if_isolated("rm");
        let tx = Transaction::begin(&crate::session::library_paths(), &[])?;
        let m = &tx.merged;
        m.require_readable()?;
        // Everything below is decided from the files as read under their locks.
        // `.` is the current context; a name given twice is removed (and reported) once
        let mut owned: Vec<String> = Vec::new();
        for n in &self.names {
            let n = super::contexts::dot(m, n)?;
            if !owned.contains(&n) {
                owned.push(n);
            }
        }
        let names: Vec<&str> = owned.iter().map(String::as_str).collect();
        for n in &names {
            if !m.has(Kind::Contexts, n) {
                return Err(m.unknown(Kind::Contexts, n));
            }
        }
        let removing: HashSet<&str> = names.iter().copied().collect();
        // What the remaining contexts (in every file) still use.
        let mut used_clusters = HashSet::new();
        let mut used_users = HashSet::new();
        for c in m.names(Kind::Contexts) {
            if removing.contains(c.as_str()) {
                continue;
            }
            if let Some(v) = m.field(Kind::Contexts, &c, "cluster") {
                used_clusters.insert(v.to_owned());
            }
            if let Some(v) = m.field(Kind::Contexts, &c, "user") {
                used_users.insert(v.to_owned());
            }
        }
        let mut plan = Plan::default();
        let mut report = Vec::new();
        // Removing the current context: current-context is cleared *first*, in its own file's
        // write. When the entries live in another file, a crash between the two writes leaves
        // current-context empty and the context still defined — never current-context naming
        // a context that no longer exists.
        if m.current_context().is_some_and(|c| removing.contains(c)) {
            plan.push(
                &m.current_context_file(),
                Op::SetCurrentContext(String::new()),
            );
        }
        let mut gone: HashSet<(Kind, String)> = HashSet::new();
        let mut remove = |plan: &mut Plan, kind: Kind, name: &str| -> bool {
            if !gone.insert((kind, name.to_owned())) {
                return false;
            }
            match m.owner(kind, name) {
                Some(p) => {
                    plan.push(
                        p,
                        Op::Remove {
                            kind,
                            name: name.to_owned(),
                        },
                    );
                    true
                }
                None => false,
            }
        };
        for n in &names {
            remove(&mut plan, Kind::Contexts, n);
            let mut also = Vec::new();
            if !self.keep_entries {
                if let Some(c) = m
                    .field(Kind::Contexts, n, "cluster")
                    .filter(|c| !used_clusters.contains(*c))
                {
                    if remove(&mut plan, Kind::Clusters, c) {
                        also.push(format!("cluster {c:?}"));
                    }
                }
                if let Some(u) = m
                    .field(Kind::Contexts, n, "user")
                    .filter(|u| !used_users.contains(*u))
                {
                    if remove(&mut plan, Kind::Users, u) {
                        also.push(format!("user {u:?}"));
                    }
                }
            }
            report.push(if also.is_empty() {
                format!("Deleted context {n:?}.")
            } else {
                format!("Deleted context {n:?} and its {}.", also.join(" and "))
            });
        }
        if m.current_context().is_some_and(|c| removing.contains(c)) {
            report.push("current-context is now unset.".into());
        }
        tx.commit(plan)?;
        for line in report {
            eprintln!("{line}");
        }
        Ok(ExitCode::SUCCESS)
    }
}
