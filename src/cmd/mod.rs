//! One file per subcommand; each implements [`Run`].

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};

mod access;
mod add;
mod cache;
mod child;
mod completions;
mod contexts;
mod discover;
mod doctor;
mod env;
mod exec;
mod init;
pub(crate) mod kubectx;
pub(crate) mod kubens;
mod list;
mod login;
mod logout;
mod ns;
mod pick;
mod prompt;
mod rename;
mod rm;
mod shell;
pub(crate) mod token;
pub(crate) mod ui;
mod use_context;
mod whoami;

pub use completions::complete_env;

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

/// What kctx needs of the start-up Rust's `main` would do (src/main.rs starts kctx without
/// it: issue 25), done before anything else: file descriptors 0, 1 and 2 open (on
/// `/dev/null` when the parent closed one, so that no file kctx opens can become its
/// standard output, as std makes sure), and a closed pipe ending the process quietly
/// (`kctx list | head -1`), as other Unix tools do, instead of an error on the next print.
pub fn start_process() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll reads and writes the three entries of `fds`; open and signal take valid
    // arguments; nothing else runs yet (no thread exists).
    unsafe {
        let polled = libc::poll(fds.as_mut_ptr(), 3, 0) >= 0;
        for f in fds {
            let closed = if polled {
                f.revents & libc::POLLNVAL != 0
            } else {
                libc::fcntl(f.fd, libc::F_GETFD) == -1
            };
            // the lowest free descriptor is the closed one
            if closed && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) == -1 {
                libc::abort();
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Ends the process with `code` (standard output flushed by `std::process::exit`).
pub fn end_process(code: ExitCode) -> ! {
    // `ExitCode` keeps its number to itself: found by comparison (it is one byte on Unix)
    let n = (0..=u8::MAX).find(|n| ExitCode::from(*n) == code);
    std::process::exit(n.map_or(1, i32::from))
}

/// A command's result as the process ends: its exit code, or the error printed as one line
/// (`kctx: error: …`) and exit code 1.
pub fn finish(result: Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "kctx: {} {}",
                error_label(),
                crate::report::one_line(&format!("{e:#}"))
            );
            ExitCode::FAILURE
        }
    }
}

/// `error:`, red and bold when stderr takes colour (as clap colours its own).
fn error_label() -> &'static str {
    if ui::stderr_color() {
        "\x1b[1;31merror:\x1b[0m"
    } else {
        "error:"
    }
}

/// A command line clap refused, printed in kctx's one style (`kctx: error: …`, coloured as
/// kctx's other errors), and the process ended with clap's exit code; `--help` and
/// `--version` print as clap prints them.
pub fn exit_parse_error(e: clap::Error) -> ! {
    let e = crate::cli::friendlier(e);
    if !e.use_stderr() {
        e.exit()
    }
    let styled = e.render();
    let text = if ui::stderr_color() {
        styled.ansi().to_string()
    } else {
        styled.to_string()
    };
    eprint!("kctx: {text}");
    std::process::exit(e.exit_code())
}

pub(crate) trait Run {
    fn run(&self) -> Result<ExitCode>;
}

pub fn run(mut cli: Cli) -> Result<ExitCode> {
    ui::init_color(cli.color);
    if let Some(d) = cli.request_timeout {
        crate::cli::set_request_timeout(d);
    }
    if let Some(k) = cli.kubeconfig.take() {
        match &mut cli.command {
            // add writes to the file named (reading the others as before); doctor checks
            // the files named
            Some(Command::Add(a)) => a.kubeconfig = Some(k),
            Some(Command::Doctor(d)) => d.kubeconfig = Some(k),
            // everything else reads and writes it as kubectl does: instead of KUBECONFIG
            _ => {
                if k.is_empty() {
                    anyhow::bail!("--kubeconfig: empty file name");
                }
                std::env::set_var("KUBECONFIG", crate::paths::expand_tilde(&k));
            }
        }
    }
    if cli.current {
        return list::current();
    }
    if cli.unset {
        contexts::unset()?;
        return Ok(ExitCode::SUCCESS);
    }
    if !cli.delete.is_empty() {
        return crate::cli::RmArgs {
            names: cli.delete,
            keep_entries: false,
        }
        .run();
    }
    if let Some(name) = &cli.context {
        rename::switch_or_rename(name)?;
        return Ok(ExitCode::SUCCESS);
    }
    match cli.command {
        None => pick::run(),
        Some(Command::Token(a)) => a.run(),
        Some(Command::Cache(c)) => c.run(),
        Some(Command::Add(a)) => a.run(),
        Some(Command::Discover(a)) => a.run(),
        Some(Command::List(a)) => a.run(),
        Some(Command::Use(a)) => a.run(),
        Some(Command::Current) => list::current(),
        Some(Command::Rename(a)) => a.run(),
        Some(Command::Rm(a)) => a.run(),
        Some(Command::Ns(a)) => a.run(),
        Some(Command::Completions(a)) => a.run(),
        Some(Command::Whoami(a)) => a.run(),
        Some(Command::Access(a)) => a.run(),
        Some(Command::Shell(a)) => a.run(),
        Some(Command::Env(a)) => a.run(),
        Some(Command::Exec(a)) => a.run(),
        Some(Command::Prompt(a)) => a.run(),
        Some(Command::Login(a)) => a.run(),
        Some(Command::Logout(a)) => a.run(),
        Some(Command::Doctor(a)) => a.run(),
        Some(Command::Init(a)) => a.run(),
        Some(Command::Version) => {
            println!("kctx {}", crate::cli::VERSION);
            Ok(ExitCode::SUCCESS)
        }
    }
}
