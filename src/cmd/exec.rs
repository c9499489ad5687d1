//! `kctx exec [CONTEXT] -- COMMAND…`: one command on a private kubeconfig.

use std::process::{Command, ExitCode};

use anyhow::Result;

use super::shell::{prepare, Prepared};
use super::{child, Run};
use crate::cli::ExecArgs;
use crate::session;

impl Run for ExecArgs {
    fn run(&self) -> Result<ExitCode> {
        let Prepared {
            library,
            context,
            aws,
        } = prepare(&self.session)?;
        let file = session::create(
            std::process::id() as i32,
            &library,
            &context,
            self.session.namespace.as_deref(),
        )?;
        let mut cmd = Command::new(&self.command[0]);
        cmd.args(&self.command[1..]);
        for (k, v) in session::variables(&file, &session::saved_for_new(), &aws) {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        // the child (and all it starts) keeps the file alive, even if kctx is killed
        let _held = session::hold_open(&file)?;
        let f = file.clone();
        child::run(cmd, &self.command[0], move || session::remove(&f))
    }
}
