//! Bare `kctx`: an interactive fuzzy picker on a terminal, else the plain list.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{bail, Result};

use super::contexts::switch;
use super::list::print_list;
use crate::cli::ListFormat;
use crate::kubeconfig::{Kind, Merged};

pub fn run() -> Result<ExitCode> {
    let merged = Merged::load();
    merged.require_readable()?;
    let interactive = std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal()
        && std::env::var_os("KCTX_IGNORE_FZF").is_none_or(|v| v.is_empty());
    if !interactive {
        print_list(&merged, ListFormat::Plain)?;
        return Ok(ExitCode::SUCCESS);
    }
    let names = merged.names(Kind::Contexts);
    if names.is_empty() {
        bail!("the kubeconfig has no contexts (add one with `kctx add CLUSTER`)");
    }
    let current = merged.current_context();
    let default = names
        .iter()
        .position(|n| Some(n.as_str()) == current)
        .unwrap_or(0);
    let picked = dialoguer::FuzzySelect::new()
        .with_prompt("context")
        .items(&names)
        .default(default)
        .max_length(20)
        .interact_opt()?;
    match picked {
        Some(i) => {
            switch(&names[i])?;
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::from(130)), // cancelled with Esc
    }
}
