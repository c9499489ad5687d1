//! `kctx prompt`: `context/namespace` for a shell prompt, ` (isolated)` in a kctx session.
//! It reads only what `KUBECONFIG` names (a session's small file), writes nothing, and prints
//! nothing when there is no current context: a prompt must never fail or wait.

use std::process::ExitCode;

use anyhow::Result;

use super::Run;
use crate::cli::PromptArgs;
use crate::kubeconfig::{Kind, Merged};

impl Run for PromptArgs {
    fn run(&self) -> Result<ExitCode> {
        let m = Merged::load();
        let Some(ctx) = m.current_context() else {
            return Ok(ExitCode::SUCCESS);
        };
        let ns = m
            .field(Kind::Contexts, ctx, "namespace")
            .filter(|n| !n.is_empty())
            .unwrap_or("default");
        let isolated = if crate::session::current().is_some() {
            " (isolated)"
        } else {
            ""
        };
        println!("{ctx}/{ns}{isolated}");
        Ok(ExitCode::SUCCESS)
    }
}
