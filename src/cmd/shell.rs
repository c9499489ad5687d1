//! `kctx shell [CONTEXT]`: a sub-shell on a private kubeconfig (see `session`).

use std::process::{Command, ExitCode};

use anyhow::{bail, Result};

use super::{child, Run};
use crate::cli::SessionArgs;
use crate::kubeconfig::Merged;
use crate::session;

/// What a session starts from.
pub(crate) struct Prepared {
    pub(crate) library: Merged,
    pub(crate) context: String,
    /// AWS_PROFILE / AWS_REGION to export
    pub(crate) aws: Vec<(&'static str, String)>,
}

/// The library, the context asked for (default: the current one) and its AWS variables.
pub(crate) fn prepare(a: &SessionArgs) -> Result<Prepared> {
    if let Some(ns) = a.namespace.as_deref() {
        if !crate::kubeconfig::valid_namespace(ns) {
            bail!("invalid namespace {ns:?}: a namespace is a DNS label (lowercase letters, digits and '-', at most 63)");
        }
    }
    let library = Merged::load_paths(&session::library_paths());
    library.require_readable()?;
    let context = match &a.context {
        Some(c) => c.clone(),
        None => match session::current() {
            // the session's own context, when asked from inside one
            Some(_) => match Merged::load().current_context() {
                Some(c) => c.to_owned(),
                None => bail!("no context given and current-context is not set"),
            },
            None => match library.current_context() {
                Some(c) => c.to_owned(),
                None => bail!("no context given and current-context is not set"),
            },
        },
    };
    let aws = if a.no_aws {
        Vec::new()
    } else {
        session::aws_env(&library, &context)
    };
    Ok(Prepared {
        library,
        context,
        aws,
    })
}

impl Run for SessionArgs {
    fn run(&self) -> Result<ExitCode> {
        if let Some(s) = session::current() {
            bail!(
                "this shell is already isolated (kubeconfig {}): `kctx use CONTEXT` switches it; `exit` leaves it",
                s.file.display()
            );
        }
        let Prepared {
            library,
            context,
            aws,
        } = prepare(self)?;
        let file = session::create(
            std::process::id() as i32,
            &library,
            &context,
            self.namespace.as_deref(),
        )?;
        let shell = std::env::var("SHELL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into());
        let mut cmd = Command::new(&shell);
        for (k, v) in session::variables(&file, &session::saved_for_new(), &aws) {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        eprintln!(
            "kctx: a shell on context {context:?}{}; `exit` leaves it",
            aws.iter()
                .find(|(k, _)| *k == "AWS_PROFILE")
                .map(|(_, p)| format!(" (AWS_PROFILE={p})"))
                .unwrap_or_default()
        );
        // the child (and all it starts) keeps the file alive, even if kctx is killed
        let _held = session::hold_open(&file)?;
        let f = file.clone();
        child::run(cmd, &shell, move || session::remove(&f))
    }
}
