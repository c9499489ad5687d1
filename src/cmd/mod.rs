//! One file per subcommand; each implements [`Run`].

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::Command;

mod add;
mod cache;
mod token;

pub trait Run {
    fn run(&self) -> Result<ExitCode>;
}

pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Token(a) => a.run(),
        Command::Cache(c) => c.run(),
        Command::Add(a) => a.run(),
    }
}
