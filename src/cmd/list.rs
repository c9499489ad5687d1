//! `kctx list` and `kctx current`.

use std::process::ExitCode;

use anyhow::{bail, Result};

use super::contexts::{no_contexts_hint, rows, view_of};
use super::ui;
use super::Run;
use crate::cli::{ListArgs, ListFormat};
use crate::kubeconfig::{Kind, Merged};

impl Run for ListArgs {
    fn run(&self) -> Result<ExitCode> {
        let merged = Merged::load_paths(&crate::session::library_paths());
        merged.require_readable()?;
        print_list(&merged, self.output)?;
        Ok(ExitCode::SUCCESS)
    }
}

pub(crate) fn print_list(merged: &Merged, format: ListFormat) -> Result<()> {
    let mut out = String::new();
    match format {
        ListFormat::Plain => {
            let (names, current) = view_of(merged);
            if names.is_empty() {
                eprintln!("{}", no_contexts_hint());
            }
            out = ui::name_list(&names, current.as_deref());
        }
        ListFormat::Name => {
            for name in view_of(merged).0 {
                out.push_str(&name);
                out.push('\n');
            }
        }
        ListFormat::Json => {
            out = serde_json::to_string_pretty(&marked_rows(merged))?;
            out.push('\n');
        }
        ListFormat::Wide => out = wide(&marked_rows(merged)),
    }
    print!("{out}");
    Ok(())
}

/// `list -o wide`: one line per context that fits 120 columns for EKS contexts named as
/// update-kubeconfig names them: the cluster ARN is shown once (as the name when the context
/// is named by it; otherwise as `ACCOUNT/REGION/CLUSTER`), the user only when it is not the
/// cluster's own, and the role by name when it is in the cluster's account.
fn wide(rows: &[super::contexts::Row]) -> String {
    let dash = |s: Option<&str>| s.filter(|s| !s.is_empty()).unwrap_or("-").to_owned();
    let mut table: Vec<[String; 6]> = vec![[
        "CURRENT",
        "NAME",
        "CLUSTER",
        "NAMESPACE",
        "USER",
        "ROLE/PROFILE",
    ]
    .map(String::from)];
    for r in rows {
        let eks = r.eks.as_ref();
        let cluster = r.cluster.as_deref().unwrap_or("");
        let parts: Vec<&str> = cluster.splitn(6, ':').collect();
        let arn = parts.len() == 6 && parts[0] == "arn" && parts[5].starts_with("cluster/");
        let shown_cluster = if !arn {
            dash(Some(cluster))
        } else if r.name == cluster {
            "(the name)".into()
        } else {
            format!(
                "{}/{}/{}",
                parts[4],
                parts[3],
                parts[5].trim_start_matches("cluster/")
            )
        };
        // update-kubeconfig names the user after the cluster: said once is enough
        let user = r.user.as_deref().filter(|u| *u != cluster);
        let account = arn.then(|| parts[4]);
        let role = eks.and_then(|e| e.exec.role_arn.as_deref()).map(|role| {
            match (crate::kubeconfig::arn_account(role), account) {
                (Some(a), Some(b)) if a == b => {
                    role.splitn(6, ':').nth(5).unwrap_or(role).to_owned()
                }
                _ => role.to_owned(),
            }
        });
        let profile = eks
            .and_then(|e| e.exec.profile.as_deref())
            .map(|p| format!("profile:{p}"));
        let who = match (role, profile) {
            (Some(r), Some(p)) => Some(format!("{r} ({p})")),
            (r, p) => r.or(p),
        };
        table.push([
            if r.current { "*".into() } else { String::new() },
            ui::safe(&r.name).into_owned(),
            ui::safe(&shown_cluster).into_owned(),
            ui::safe(&dash(r.namespace.as_deref())).into_owned(),
            ui::safe(&dash(user)).into_owned(),
            ui::safe(&dash(who.as_deref())).into_owned(),
        ]);
    }
    super::render_table(&table)
}

/// The rows, with the current context as this shell sees it (an isolated shell's own).
fn marked_rows(merged: &Merged) -> Vec<super::contexts::Row> {
    let current = view_of(merged).1;
    let mut rows = rows(merged);
    for r in &mut rows {
        r.current = current.as_deref() == Some(r.name.as_str());
    }
    rows
}

/// `kctx current`.
pub(crate) fn current() -> Result<ExitCode> {
    let merged = Merged::load();
    merged.require_readable()?;
    match merged.current_context() {
        Some(c) => {
            println!("{c}");
            Ok(ExitCode::SUCCESS)
        }
        None if merged.names(Kind::Contexts).is_empty() => bail!("{}", no_contexts_hint()),
        None => bail!("current-context is not set (pick one with `kctx`, or `kctx use NAME`)"),
    }
}
