//! Bare `kctx` (and `kctx use` without a name): a picker on a terminal, else the names.

use std::process::ExitCode;

use anyhow::Result;

use super::contexts::{no_contexts_hint, switch, view};
use super::ui;

pub(crate) fn run() -> Result<ExitCode> {
    let (merged, names, current) = view();
    merged.require_readable()?;
    if names.is_empty() {
        eprintln!("{}", no_contexts_hint());
        return Ok(ExitCode::SUCCESS);
    }
    let current = current.as_deref();
    if !ui::interactive() {
        print!("{}", ui::name_list(&names, current));
        return Ok(ExitCode::SUCCESS);
    }
    match ui::pick("context", &names, current)? {
        Some(name) => {
            switch(&name)?;
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::from(130)), // cancelled (Esc, Ctrl-C)
    }
}
