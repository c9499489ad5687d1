//! The kctx binary: which tool it is (kctx, or kubectx/kubens by its name), the command line
//! parsed, the command run, and an error printed as one line with the exit code.
//!
//! kubectl runs `kctx token` before every request batch, so start-up is kept at the process
//! floor (issue 25): the process starts at C's `main`, without Rust's own start-up, which
//! reads `/proc/self/maps` and installs a stack-overflow handler on an alternate stack (a
//! dozen system calls and a tenth of a millisecond here). What kctx needs of it is done in
//! [`kctx::start_process`]; the arguments still come from `std::env::args_os` (glibc hands
//! them to std before `main`), and [`kctx::end_process`] flushes standard output. A stack
//! overflow ends the process with SIGSEGV instead of Rust's message. (A test build keeps
//! Rust's `main`: the test harness needs it; main.rs has no tests of its own.)
#![cfg_attr(not(test), no_main)]

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    kctx::start_process();
    kctx::end_process(run())
}

#[cfg_attr(test, allow(dead_code))]
fn run() -> ExitCode {
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
