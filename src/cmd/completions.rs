//! `kctx completions SHELL`: the registration script of clap_complete's dynamic completion,
//! so that context names complete from the live kubeconfig.

use std::process::ExitCode;

use anyhow::Result;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use super::Run;
use crate::cli::{CompletionsArgs, Shell};

/// The environment variable the scripts set when they ask kctx for candidates.
pub const COMPLETE_VAR: &str = "KCTX_COMPLETE";

impl Run for CompletionsArgs {
    fn run(&self) -> Result<ExitCode> {
        let shell: &dyn EnvCompleter = match self.shell {
            Shell::Bash => &Bash,
            Shell::Zsh => &Zsh,
            Shell::Fish => &Fish,
            Shell::Powershell => &Powershell,
            Shell::Elvish => &Elvish,
        };
        let mut out = std::io::stdout().lock();
        shell.write_registration(COMPLETE_VAR, "kctx", "kctx", "kctx", &mut out)?;
        Ok(ExitCode::SUCCESS)
    }
}
