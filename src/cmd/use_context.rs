//! `kctx use NAME|-`.

use std::process::ExitCode;

use anyhow::{anyhow, Result};

use super::contexts::{file_list, switch_to};
use super::Run;
use crate::cli::UseArgs;
use crate::kubeconfig::Merged;
use crate::state::State;

impl Run for UseArgs {
    fn run(&self) -> Result<ExitCode> {
        let merged = Merged::load();
        let name = if self.name == "-" {
            State::load(&file_list(&merged))
                .previous_context
                .ok_or_else(|| anyhow!("no previous context to go back to (kctx remembers it after `kctx use NAME`)"))?
        } else {
            self.name.clone()
        };
        switch_to(&merged, &name)?;
        Ok(ExitCode::SUCCESS)
    }
}
