//! `kctx ns [NAMESPACE|-]`: the namespace of the current context, checked against the cluster
//! (kubens, then better: a missing namespace names the closest ones; one the identity may not
//! look up is set with a warning, as kubens does since ahmetb/kubectx#416).

use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};

use super::{ui, Run};
use crate::cli::NsArgs;
use crate::kube::{self, CallError};
use crate::kubeconfig::{self, closest, Kind, Merged, Op, Plan, Transaction};
use crate::store::state::State;

/// The current context, or an error that names unreadable files when they may be the cause.
fn current(m: &Merged) -> Result<String> {
    m.require_readable()?;
    match m.current_context() {
        Some(c) if m.has(Kind::Contexts, c) => Ok(c.to_owned()),
        Some(c) => bail!("current-context {c:?} names no context in the kubeconfig"),
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

fn namespace_of(m: &Merged, ctx: &str) -> Option<String> {
    m.field(Kind::Contexts, ctx, "namespace")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Run for NsArgs {
    fn run(&self) -> Result<ExitCode> {
        // a forced switch needs nothing but the files under the lock: read once
        if let (true, Some(ns)) = (self.force, self.namespace.as_deref().filter(|n| *n != "-")) {
            if !crate::kubeconfig::valid_namespace(ns) {
                bail!("invalid namespace {ns:?}: a namespace is a DNS label (lowercase letters, digits and '-', at most 63)");
            }
            let ctx = write(None, Some(ns))?;
            eprintln!("Context {ctx:?} now uses namespace {ns:?}.");
            return Ok(ExitCode::SUCCESS);
        }
        let m = Merged::load();
        let ctx = current(&m)?;
        let now = namespace_of(&m, &ctx);
        if self.current {
            println!("{}", now.as_deref().unwrap_or("default"));
            return Ok(ExitCode::SUCCESS);
        }
        if self.unset {
            drop(m);
            write(Some(&ctx), None)?;
            eprintln!("Context {ctx:?} no longer sets a namespace (kubectl uses \"default\").");
            return Ok(ExitCode::SUCCESS);
        }
        let Some(arg) = &self.namespace else {
            return self.list_or_pick(&m, &ctx, now.as_deref());
        };
        let target = if arg == "-" {
            State::load(&m.paths())
                .previous_namespace
                .get(&ctx)
                .cloned()
                .ok_or_else(|| anyhow!("no previous namespace for context {ctx:?}"))?
        } else {
            arg.clone()
        };
        if !crate::kubeconfig::valid_namespace(&target) {
            bail!("invalid namespace {target:?}: a namespace is a DNS label (lowercase letters, digits and '-', at most 63)");
        }
        if !self.force && now.as_deref() != Some(target.as_str()) {
            self.check(&m, &ctx, &target)?;
        }
        // read again under the lock: the copy read first is not kept meanwhile
        drop(m);
        write(Some(&ctx), Some(&target))?;
        eprintln!("Context {ctx:?} now uses namespace {target:?}.");
        Ok(ExitCode::SUCCESS)
    }
}

impl NsArgs {
    /// Checks that `ns` exists in the cluster of `ctx` (GET the namespace).
    fn check(&self, m: &Merged, ctx: &str, ns: &str) -> Result<()> {
        let cluster = kube::connect(m, ctx, crate::cli::request_timeout())
            .map_err(|e| anyhow!("{e:#} (--force sets the namespace without checking)"))?;
        match cluster.namespace_exists(ns) {
            Ok(true) => Ok(()),
            Ok(false) => {
                let mut msg = format!("no namespace {ns:?} in the cluster of context {ctx:?}");
                if let Ok(names) = cluster.namespaces() {
                    let best = closest(&names, ns);
                    if !best.is_empty() {
                        let best: Vec<String> = best.iter().map(|n| format!("{n:?}")).collect();
                        msg.push_str(&format!("; did you mean {}?", best.join(" or ")));
                    }
                }
                bail!("{msg} (--force sets it anyway)")
            }
            Err(CallError::Status { code: 403, .. }) => {
                eprintln!(
                    "kctx: warning: could not check that namespace {ns:?} exists: this identity may not get namespaces in context {ctx:?}; setting it anyway"
                );
                Ok(())
            }
            Err(e) => Err(anyhow!(
                "{} (--force sets the namespace without checking)",
                cluster.explain("checking the namespace", &e)
            )),
        }
    }

    /// No argument: the cluster's namespaces, picked on a terminal, listed otherwise.
    fn list_or_pick(&self, m: &Merged, ctx: &str, now: Option<&str>) -> Result<ExitCode> {
        let cluster = kube::connect(m, ctx, crate::cli::request_timeout())?;
        let names = cluster.namespaces().map_err(|e| match e {
            CallError::Status { code: 403, .. } => anyhow!(
                "this identity may not list namespaces in context {ctx:?}; `kctx ns NAME` sets one without listing"
            ),
            e => cluster.explain("listing namespaces", &e),
        })?;
        let now = now.unwrap_or("default");
        if !ui::interactive() {
            print!("{}", ui::name_list(&names, Some(now)));
            return Ok(ExitCode::SUCCESS);
        }
        match ui::pick("namespace", &names, Some(now))? {
            Some(ns) => {
                write(Some(ctx), Some(&ns))?;
                eprintln!("Context {ctx:?} now uses namespace {ns:?}.");
                Ok(ExitCode::SUCCESS)
            }
            None => Ok(ExitCode::from(130)),
        }
    }
}

/// Sets (or removes) the namespace of `ctx`, deciding under the kubeconfig locks, and
/// remembers the previous one for `kctx ns -`.
/// Sets (or removes) the namespace of the current context, deciding under the lock: `ctx`,
/// when given, is the context the caller checked, which must still be current. Returns the
/// context written.
fn write(ctx: Option<&str>, ns: Option<&str>) -> Result<String> {
    let tx = Transaction::begin(&kubeconfig::paths(), &[])?;
    let m = &tx.merged;
    let ctx = match ctx {
        Some(c) if m.current_context() != Some(c) => bail!(
            "the current context changed meanwhile (now {:?}); run the command again",
            m.current_context().unwrap_or("")
        ),
        Some(c) => c.to_owned(),
        None => current(m)?,
    };
    let owner = m
        .owner(Kind::Contexts, &ctx)
        .ok_or_else(|| anyhow!("context {ctx:?} disappeared meanwhile"))?
        .to_path_buf();
    let before = namespace_of(m, &ctx).unwrap_or_else(|| "default".into());
    let mut plan = Plan::default();
    plan.push(
        &owner,
        Op::SetContextField {
            context: ctx.clone(),
            key: "namespace".into(),
            value: ns.map(str::to_owned),
        },
    );
    tx.commit(plan)?;
    let after = ns.unwrap_or("default");
    if before != after {
        let files = m.paths();
        let mut state = State::load(&files);
        state.previous_namespace.insert(ctx.clone(), before);
        state.save(&files);
    }
    Ok(ctx)
}
