//! `kctx env [CONTEXT]` / `kctx env --off`: the exports that isolate the current shell.

use std::process::ExitCode;

use anyhow::{bail, Result};

use super::shell::{prepare, Prepared};
use super::Run;
use crate::cli::EnvArgs;
use crate::session::{self, Saved, Syntax};

impl Run for EnvArgs {
    fn run(&self) -> Result<ExitCode> {
        let syntax = Syntax::detect(self.shell.as_deref());
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            // typed without eval: the exports would only be printed
            eprintln!(
                "kctx: note: these exports change nothing until the shell evaluates them: {}",
                if matches!(syntax, Syntax::Fish) {
                    "kctx env … | source"
                } else {
                    "eval \"$(kctx env …)\""
                }
            );
        }
        if self.off {
            let Some(s) = session::current() else {
                bail!("this shell is not isolated by kctx (KUBECONFIG is not a kctx session file)");
            };
            session::remove(&s.file);
            print!("{}", syntax.render(&session::restore(&s.saved)));
            return Ok(ExitCode::SUCCESS);
        }
        let Prepared {
            library,
            context,
            aws,
        } = prepare(&self.session)?;
        let (file, saved) = match session::current() {
            // already isolated: switch this shell's file, keep what was saved first
            Some(s) => {
                session::replace(
                    &s.file,
                    &library,
                    &context,
                    self.session.namespace.as_deref(),
                )?;
                (s.file, s.saved)
            }
            None => (
                session::create(
                    session::owner_for_env(),
                    &library,
                    &context,
                    self.session.namespace.as_deref(),
                )?,
                Saved::now(),
            ),
        };
        print!(
            "{}",
            syntax.render(&session::variables(&file, &saved, &aws))
        );
        Ok(ExitCode::SUCCESS)
    }
}
