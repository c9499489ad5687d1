use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = kctx::cli::Cli::parse();
    match kctx::cmd::run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kctx: error: {}", kctx::aws::one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
