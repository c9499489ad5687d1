//! `kctx rm NAME…`: remove contexts, and their cluster and user entries when no remaining
//! context uses them.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::Run;
use crate::cli::RmArgs;
use crate::kubeconfig::{self, Kind, Merged};

impl Run for RmArgs {
    fn run(&self) -> Result<ExitCode> {
        let merged = Merged::load();
        // Check every name first: nothing changes unless all are known.
        for n in &self.names {
            if merged.get(Kind::Contexts, n).is_none() {
                return Err(merged.unknown(Kind::Contexts, n));
            }
        }
        let removing: HashSet<&str> = self.names.iter().map(String::as_str).collect();
        let field = |ctx: &str, k: &str| {
            merged
                .body(Kind::Contexts, ctx)
                .and_then(|b| b.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        // What the remaining contexts (in every file) still use.
        let remaining: Vec<String> = merged
            .names(Kind::Contexts)
            .into_iter()
            .filter(|n| !removing.contains(n.as_str()))
            .collect();
        let used =
            |k: &str| -> HashSet<String> { remaining.iter().filter_map(|c| field(c, k)).collect() };
        let (used_clusters, used_users) = (used("cluster"), used("user"));

        // Group the removals by the file that owns each entry.
        let mut plan: BTreeMap<PathBuf, Vec<(Kind, String)>> = BTreeMap::new();
        let mut add = |kind: Kind, name: String| {
            if let Some(p) = merged.owner(kind, &name) {
                let v = plan.entry(p.to_path_buf()).or_default();
                if !v.contains(&(kind, name.clone())) {
                    v.push((kind, name));
                }
            }
        };
        let mut report = Vec::new();
        for n in &self.names {
            add(Kind::Contexts, n.clone());
            let mut also = Vec::new();
            if !self.keep_entries {
                if let Some(c) = field(n, "cluster").filter(|c| !used_clusters.contains(c)) {
                    if merged.get(Kind::Clusters, &c).is_some() {
                        also.push(format!("cluster {c:?}"));
                        add(Kind::Clusters, c);
                    }
                }
                if let Some(u) = field(n, "user").filter(|u| !used_users.contains(u)) {
                    if merged.get(Kind::Users, &u).is_some() {
                        also.push(format!("user {u:?}"));
                        add(Kind::Users, u);
                    }
                }
            }
            report.push(if also.is_empty() {
                format!("Deleted context {n:?}.")
            } else {
                format!("Deleted context {n:?} and its {}.", also.join(" and "))
            });
        }
        for (file, items) in &plan {
            kubeconfig::modify(file, |kc| {
                for (kind, name) in items {
                    kc.remove(*kind, name);
                }
                Ok(())
            })?;
        }
        if merged
            .current_context()
            .is_some_and(|c| removing.contains(c))
        {
            kubeconfig::modify(&merged.current_context_file(), |kc| {
                kc.doc
                    .insert("current-context".into(), Value::String(String::new()));
                Ok(())
            })?;
            report.push("current-context is now unset.".into());
        }
        for line in report {
            eprintln!("{line}");
        }
        Ok(ExitCode::SUCCESS)
    }
}
