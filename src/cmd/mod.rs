//! One file per subcommand; each implements [`Run`].

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::Command;

mod access;
mod add;
mod cache;
mod completions;
mod contexts;
mod list;
mod ns;
mod pick;
mod rename;
mod rm;
mod token;
mod use_context;
mod whoami;

pub use completions::COMPLETE_VAR;

/// Left-aligned columns three spaces apart, trailing spaces trimmed.
fn render_table<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        out.push_str(cells.join("   ").trim_end());
        out.push('\n');
    }
    out
}

pub trait Run {
    fn run(&self) -> Result<ExitCode>;
}

pub fn run(command: Option<Command>) -> Result<ExitCode> {
    match command {
        None => pick::run(),
        Some(Command::Token(a)) => a.run(),
        Some(Command::Cache(c)) => c.run(),
        Some(Command::Add(a)) => a.run(),
        Some(Command::List(a)) => a.run(),
        Some(Command::Use(a)) => a.run(),
        Some(Command::Current) => list::current(),
        Some(Command::Rename(a)) => a.run(),
        Some(Command::Rm(a)) => a.run(),
        Some(Command::Ns(a)) => a.run(),
        Some(Command::Completions(a)) => a.run(),
        Some(Command::Whoami(a)) => a.run(),
        Some(Command::Access(a)) => a.run(),
    }
}
