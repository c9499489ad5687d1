//! `kctx token`: the ExecCredential kubectl asks for before it talks to an EKS cluster (one
//! JSON document on stdout; everything else on stderr). The token itself comes from
//! [`crate::token`].

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Run;
use crate::cli::TokenCli;
use crate::exec_credential;
use crate::token::TokenArgs;

impl Run for TokenArgs {
    fn run(&self) -> Result<ExitCode> {
        let exec_info = std::env::var("KUBERNETES_EXEC_INFO").ok();
        let (api_version, warning) = exec_credential::api_version(exec_info.as_deref());
        if let Some(w) = warning {
            eprintln!("kctx: warning: {w}");
        }
        let status = self.status()?;
        let doc = exec_credential::render(api_version, &status);
        let mut out = std::io::stdout().lock();
        out.write_all(doc.as_bytes())
            .and_then(|_| out.flush())
            .context("cannot write the ExecCredential to stdout")?;
        Ok(ExitCode::SUCCESS)
    }
}

/// `kctx token …`, read by a parser of its own arguments only (argv from `token` on): the
/// full command line's thirty commands are not built on the path kubectl runs most.
pub fn main(args: &[std::ffi::OsString]) -> Result<ExitCode> {
    use clap::Parser;
    let cli = TokenCli::try_parse_from(args).unwrap_or_else(|e| super::exit_parse_error(e));
    let result = cli.args.run();
    match result {
        Err(e) if std::env::var_os("KUBERNETES_EXEC_INFO").is_some() => {
            let message = crate::report::one_line(&format!("{e:#}"));
            if said_lately(&message, std::time::SystemTime::now()) {
                // kubectl runs the plugin again on each retry: the error was just printed
                return Ok(ExitCode::FAILURE);
            }
            Err(anyhow::anyhow!(message))
        }
        r => r,
    }
}

/// How long an error printed under kubectl is not printed again.
const SAID_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether `message` was printed by a `kctx token` under kubectl less than [`SAID_FOR`] ago
/// (remembered by its hash and time in the private cache directory; no secret is written);
/// records it otherwise.
fn said_lately(message: &str, now: std::time::SystemTime) -> bool {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    message.hash(&mut h);
    let key = format!("{:016x}", h.finish());
    let Ok(Some(dir)) = crate::store::private::PrivateDir::open(&crate::store::cache::dir(), true)
    else {
        return false;
    };
    let secs = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let last = std::fs::read_to_string(dir.path().join("last-error")).unwrap_or_default();
    if let Some((k, at)) = last.trim().split_once(' ') {
        let at: u64 = at.parse().unwrap_or(0);
        if k == key && secs(now).saturating_sub(at) < SAID_FOR.as_secs() {
            return true;
        }
    }
    let _ = dir.write("last-error", format!("{key} {}\n", secs(now)).as_bytes());
    false
}
