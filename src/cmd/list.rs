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
        ListFormat::Wide => {
            let dash = |s: Option<&str>| s.filter(|s| !s.is_empty()).unwrap_or("-").to_owned();
            let mut table: Vec<[String; 8]> = vec![[
                "CURRENT",
                "NAME",
                "CLUSTER",
                "USER",
                "NAMESPACE",
                "REGION",
                "ACCOUNT",
                "ROLE/PROFILE",
            ]
            .map(String::from)];
            for r in &marked_rows(merged) {
                let eks = r.eks.as_ref();
                let who = eks.and_then(|e| {
                    e.exec
                        .role_arn
                        .clone()
                        .or_else(|| e.exec.profile.as_ref().map(|p| format!("profile:{p}")))
                });
                table.push([
                    if r.current { "*".into() } else { String::new() },
                    r.name.clone(),
                    dash(r.cluster.as_deref()),
                    dash(r.user.as_deref()),
                    dash(r.namespace.as_deref()),
                    dash(eks.and_then(|e| e.exec.region.as_deref())),
                    dash(eks.and_then(|e| e.account.as_deref())),
                    dash(who.as_deref()),
                ]);
            }
            out = super::render_table(&table);
        }
    }
    print!("{out}");
    Ok(())
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
