//! Shared pieces of the context commands: switching, and the rows `list` shows.

use anyhow::{anyhow, Result};

use crate::kubeconfig::{self, arn_account, EksExec, Kind, Merged, Op, Plan, Transaction};
use crate::store::state::State;

/// Switches to `name` (`-`: the previous context), deciding from the files as read under
/// their locks, and remembers the previous context for `kctx use -` under the same locks.
pub fn switch(name: &str) -> Result<()> {
    let paths = kubeconfig::paths();
    let tx = Transaction::begin(&paths, &[])?;
    let m = &tx.merged;
    m.require_readable()?;
    let files = m.paths();
    let mut state = State::load(&files);
    let name = if name == "-" {
        state.previous_context.clone().ok_or_else(|| {
            anyhow!("no previous context to go back to (kctx remembers it after `kctx use NAME`)")
        })?
    } else {
        name.to_owned()
    };
    if !m.has(Kind::Contexts, &name) {
        return Err(m.unknown(Kind::Contexts, &name));
    }
    let previous = m.current_context().map(str::to_owned);
    let mut plan = Plan::default();
    plan.push(
        &m.current_context_file(),
        Op::SetCurrentContext(name.clone()),
    );
    tx.commit(plan)?;
    if previous.as_deref() != Some(name.as_str()) {
        state.previous_context = previous;
        state.save(&files);
    }
    eprintln!("Switched to context {name:?}.");
    Ok(())
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
            let field = |k: &str| merged.field(Kind::Contexts, &name, k).map(str::to_owned);
            let cluster = field("cluster");
            let user = field("user");
            let eks = user
                .as_deref()
                .and_then(|u| merged.body(Kind::Users, u))
                .and_then(|b| EksExec::from_user(&b))
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
