//! `kctx ns [NAMESPACE|-]`: the namespace of the current context.

use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};

use super::Run;
use crate::cli::NsArgs;
use crate::kubeconfig::{self, Kind, Merged, Op, Plan, Transaction};
use crate::store::state::State;

/// The current context, or an error that names unreadable files when they may be the cause.
fn current(m: &Merged) -> Result<String> {
    m.require_readable()?;
    match m.current_context() {
        Some(c) => Ok(c.to_owned()),
        None => {
            let broken: Vec<String> = m.files.iter().filter_map(|f| f.error.clone()).collect();
            if broken.is_empty() {
                bail!("current-context is not set (use `kctx use NAME` first)")
            }
            bail!(
                "current-context is not set in the readable kubeconfig files ({})",
                broken.join("; ")
            )
        }
    }
}

impl Run for NsArgs {
    fn run(&self) -> Result<ExitCode> {
        let Some(arg) = &self.namespace else {
            let m = Merged::load();
            let ctx = current(&m)?;
            if !m.has(Kind::Contexts, &ctx) {
                bail!("current-context {ctx:?} names no context in the kubeconfig");
            }
            let ns = m
                .field(Kind::Contexts, &ctx, "namespace")
                .filter(|s| !s.is_empty());
            println!("{}", ns.unwrap_or("default"));
            return Ok(ExitCode::SUCCESS);
        };
        let tx = Transaction::begin(&kubeconfig::paths(), &[])?;
        let m = &tx.merged;
        let ctx = current(m)?;
        let owner = m
            .owner(Kind::Contexts, &ctx)
            .ok_or_else(|| anyhow!("current-context {ctx:?} names no context in the kubeconfig"))?
            .to_path_buf();
        let current_ns = m
            .field(Kind::Contexts, &ctx, "namespace")
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let files = m.paths();
        let mut state = State::load(&files);
        let target = if arg == "-" {
            state
                .previous_namespace
                .get(&ctx)
                .cloned()
                .ok_or_else(|| anyhow!("no previous namespace for context {ctx:?}"))?
        } else {
            arg.clone()
        };
        if !valid_namespace(&target) {
            bail!("invalid namespace {target:?}: a namespace is a DNS label (lowercase letters, digits and '-', at most 63)");
        }
        let mut plan = Plan::default();
        plan.push(
            &owner,
            Op::SetContextField {
                context: ctx.clone(),
                key: "namespace".into(),
                value: Some(target.clone()),
            },
        );
        tx.commit(plan)?;
        let old = current_ns.unwrap_or_else(|| "default".into());
        if old != target {
            state.previous_namespace.insert(ctx.clone(), old);
            state.save(&files);
        }
        eprintln!("Context {ctx:?} now uses namespace {target:?}.");
        Ok(ExitCode::SUCCESS)
    }
}

fn valid_namespace(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
