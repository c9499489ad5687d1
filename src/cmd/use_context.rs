//! `kctx use NAME|-`.

use std::process::ExitCode;

use anyhow::Result;

use super::contexts::switch;
use super::Run;
use crate::cli::UseArgs;

impl Run for UseArgs {
    fn run(&self) -> Result<ExitCode> {
        switch(&self.name)?;
        Ok(ExitCode::SUCCESS)
    }
}
