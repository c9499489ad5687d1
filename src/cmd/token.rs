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
    let cli = TokenCli::try_parse_from(args).unwrap_or_else(|e| crate::cli::friendlier(e).exit());
    cli.args.run()
}
