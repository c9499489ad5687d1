//! `kctx use [NAME|-]`.

use std::process::ExitCode;

use anyhow::Result;

use super::contexts::switch;
use super::Run;
use crate::cli::UseArgs;

impl Run for UseArgs {
    fn run(&self) -> Result<ExitCode> {
        match &self.name {
            Some(name) => {
                switch(name)?;
                Ok(ExitCode::SUCCESS)
            }
            None => super::pick::run(),
        }
    }
}
