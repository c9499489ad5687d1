//! The kctx binary: which tool it is (kctx, or kubectx/kubens by its name), the command line
//! parsed, the command run, and an error printed as one line with the exit code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`kctx list | head -1`), like other Unix tools, instead of
    // Rust's default of an error or a panic on the next print.
    // SAFETY: setting a signal disposition to the default before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Started as kubectx or kubens (a link or a copy), or asked to be one (`kctx --as=kubectx`,
    // as `kctx init --aliases` does): that tool's flags and messages.
    if let Some(tool) = args
        .get(1)
        .and_then(|a| a.to_str())
        .and_then(|a| a.strip_prefix("--as="))
        .filter(|t| matches!(*t, "kubectx" | "kubens"))
    {
        let tool = std::ffi::OsString::from(tool);
        args.splice(0..2, [tool]);
    }
    let argv0 = args.first().map(std::path::Path::new);
    match argv0.and_then(|a| a.file_name()).and_then(|n| n.to_str()) {
        Some("kubectx") => return kctx::kubectx_main(args),
        Some("kubens") => return kctx::kubens_main(args),
        _ => {}
    }
    // kubectl runs `kctx token` before every request batch: its arguments are read before
    // the whole command tree is built
    if args.get(1).is_some_and(|a| a == "token") {
        return kctx::finish(kctx::token_main(&args[1..]));
    }
    // Shell completion requests (only when KCTX_COMPLETE is set; otherwise a no-op).
    kctx::complete_env();
    let mut cmd = kctx::Cli::command();
    let matches = cmd
        .try_get_matches_from_mut(args)
        .unwrap_or_else(|e| kctx::exit_parse_error(e));
    let cli = kctx::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    kctx::finish(kctx::run(cli))
}
