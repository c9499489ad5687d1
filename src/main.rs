use std::process::ExitCode;

use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`kctx list | head -1`), like other Unix tools, instead of
    // Rust's default of an error or a panic on the next print.
    // SAFETY: setting a signal disposition to the default before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Shell completion requests (only when KCTX_COMPLETE is set; otherwise a no-op).
    clap_complete::CompleteEnv::with_factory(kctx::cli::Cli::command)
        .var(kctx::cmd::COMPLETE_VAR)
        .complete();
    let cli = kctx::cli::Cli::parse();
    match kctx::cmd::run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kctx: error: {}", kctx::aws::one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
