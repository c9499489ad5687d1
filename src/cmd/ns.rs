//! `kctx ns [NAMESPACE|-]`: the namespace of the current context.

use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};
use serde_json::{Map, Value};

use super::contexts::file_list;
use super::Run;
use crate::cli::NsArgs;
use crate::kubeconfig::{self, Kind, Merged};
use crate::state::State;

impl Run for NsArgs {
    fn run(&self) -> Result<ExitCode> {
        let merged = Merged::load();
        let ctx = merged
            .current_context()
            .ok_or_else(|| anyhow!("current-context is not set (use `kctx use NAME` first)"))?
            .to_owned();
        let owner = merged
            .owner(Kind::Contexts, &ctx)
            .ok_or_else(|| anyhow!("current-context {ctx:?} names no context in the kubeconfig"))?
            .to_path_buf();
        let current_ns = merged
            .body(Kind::Contexts, &ctx)
            .and_then(|b| b.get("namespace"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let Some(arg) = &self.namespace else {
            println!("{}", current_ns.as_deref().unwrap_or("default"));
            return Ok(ExitCode::SUCCESS);
        };
        let paths = file_list(&merged);
        let mut state = State::load(&paths);
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
        kubeconfig::modify(&owner, |kc| {
            let entry = kc.find_mut(Kind::Contexts, &ctx).ok_or_else(|| {
                anyhow!(
                    "context {ctx:?} disappeared from {} meanwhile",
                    owner.display()
                )
            })?;
            let body = entry
                .entry("context")
                .or_insert_with(|| Value::Object(Map::new()));
            if !body.is_object() {
                *body = Value::Object(Map::new());
            }
            body.as_object_mut()
                .expect("made a mapping above")
                .insert("namespace".into(), Value::String(target.clone()));
            Ok(())
        })?;
        let old = current_ns.unwrap_or_else(|| "default".into());
        if old != target {
            state.previous_namespace.insert(ctx.clone(), old);
            state.save(&paths);
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
