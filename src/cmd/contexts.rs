//! Shared pieces of the context commands: switching, and the rows `list` shows.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::Value;

use crate::kubeconfig::{self, arn_account, EksExec, Kind, Merged};
use crate::state::State;

/// Sets current-context where client-go would write it, under the file's lock, and
/// remembers the previous context for `kctx use -`.
pub fn switch_to(merged: &Merged, name: &str) -> Result<()> {
    if merged.get(Kind::Contexts, name).is_none() {
        return Err(merged.unknown(Kind::Contexts, name));
    }
    let previous = merged.current_context().map(str::to_owned);
    let file = merged.current_context_file();
    kubeconfig::modify(&file, |kc| {
        kc.set_current_context(name);
        Ok(())
    })?;
    let paths = file_list(merged);
    let mut state = State::load(&paths);
    if previous.as_deref() != Some(name) {
        state.previous_context = previous;
        state.save(&paths);
    }
    eprintln!("Switched to context {name:?}.");
    Ok(())
}

pub fn file_list(merged: &Merged) -> Vec<PathBuf> {
    merged.files.iter().map(|f| f.path.clone()).collect()
}

/// One context as `list -o wide|json` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub name: String,
    pub current: bool,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub namespace: Option<String>,
    /// Present for EKS users (kctx, aws eks get-token, aws-iam-authenticator).
    pub eks: Option<EksRow>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EksRow {
    #[serde(flatten)]
    pub exec: EksExec,
    pub account: Option<String>,
}

pub fn rows(merged: &Merged) -> Vec<Row> {
    let current = merged.current_context();
    merged
        .names(Kind::Contexts)
        .into_iter()
        .map(|name| {
            let body = merged.body(Kind::Contexts, &name);
            let field = |k: &str| {
                body.and_then(|b| b.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let cluster = field("cluster");
            let user = field("user");
            let eks = user
                .as_deref()
                .and_then(|u| merged.body(Kind::Users, u))
                .and_then(EksExec::from_user)
                .map(|exec| {
                    let account = cluster
                        .as_deref()
                        .and_then(arn_account)
                        .or_else(|| exec.role_arn.as_deref().and_then(arn_account))
                        .map(str::to_owned);
                    EksRow { exec, account }
                });
            Row {
                current: current == Some(name.as_str()),
                namespace: field("namespace"),
                cluster,
                user,
                eks,
                name,
            }
        })
        .collect()
}
