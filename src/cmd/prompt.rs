//! `kctx prompt`: `context/namespace` for a shell prompt, ` (isolated)` in a kctx session.
//! It reads only what `KUBECONFIG` names (a session's small file), prints nothing when there
//! is no current context, and never fails or waits: a prompt runs before every command line.
//! The answer is remembered while the files are unchanged (see `store::memo`), so a large
//! shared kubeconfig is parsed when it changes, not at every prompt.

use std::process::ExitCode;

use anyhow::Result;

use super::Run;
use crate::cli::PromptArgs;
use crate::kubeconfig::{Kind, Merged};

impl Run for PromptArgs {
    fn run(&self) -> Result<ExitCode> {
        let isolated = if crate::session::current().is_some() {
            " (isolated)"
        } else {
            ""
        };
        let files = crate::kubeconfig::paths();
        let memo_dir = crate::store::cache::dir().join("state");
        // the files as they are now: when unchanged since the last prompt, its answer
        let key = crate::store::memo::key(&files, std::time::SystemTime::now());
        if let Some(answer) = key
            .as_deref()
            .and_then(|k| crate::store::memo::get(&memo_dir, "prompt", &files, k))
        {
            if !answer.is_empty() {
                println!("{answer}{isolated}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        let m = Merged::load_paths(&files);
        // a file it cannot read is said in one line, but a prompt does not fail
        m.warn_broken();
        let answer = match m.current_context() {
            None => String::new(),
            Some(ctx) => {
                let ns = m
                    .field(Kind::Contexts, ctx, "namespace")
                    .filter(|n| !n.is_empty())
                    .unwrap_or("default");
                // the prompt lands on a terminal even though it is captured: names shown safely
                format!("{}/{}", super::ui::safe(ctx), super::ui::safe(ns))
            }
        };
        if let (Some(k), true) = (key, m.errors().next().is_none()) {
            crate::store::memo::put(&memo_dir, "prompt", &files, &k, &answer);
        }
        if !answer.is_empty() {
            println!("{answer}{isolated}");
        }
        Ok(ExitCode::SUCCESS)
    }
}
