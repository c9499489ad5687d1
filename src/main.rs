use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`kctx list | head -1`), like other Unix tools, instead of
    // Rust's default of an error or a panic on the next print.
    // SAFETY: setting a signal disposition to the default before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Shell completion requests (only when KCTX_COMPLETE is set; otherwise a no-op).
    kctx::complete_env();
    let mut cmd = kctx::Cli::command();
    let matches = cmd
        .try_get_matches_from_mut(std::env::args_os())
        .unwrap_or_else(|e| kctx::friendlier(e).exit());
    let cli = kctx::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match kctx::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kctx: error: {}", kctx::one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
