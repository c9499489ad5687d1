//! `kctx rename OLD NEW`.

use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use super::Run;
use crate::cli::RenameArgs;
use crate::kubeconfig::{Kind, Op, Plan, Transaction};
use crate::store::state::State;

impl Run for RenameArgs {
    fn run(&self) -> Result<ExitCode> {
        let (old, new) = match (&self.new, self.old.split_once('=')) {
            (Some(new), _) => (self.old.as_str(), new.as_str()),
            // kubectx's NEW=OLD (split at the first `=`)
            (None, Some((new, old))) if !new.is_empty() && !old.is_empty() => (old, new),
            (None, _) => bail!("rename takes OLD NEW, or NEW=OLD (`.` = the current context)"),
        };
        rename(old, new)?;
        Ok(ExitCode::SUCCESS)
    }
}

/// Renames context `old` (`.` = the current one) to `new`.
pub(crate) fn rename(old: &str, new: &str) -> Result<()> {
    {
        if new.trim().is_empty() {
            bail!("the new context name is empty");
        }
        if new == "." {
            bail!("`.` cannot be a context name: it means the current context (`kctx rm .`, `kctx rename NEW=.`)");
        }
        super::contexts::note_if_isolated("rename");
        let tx = Transaction::begin(&crate::session::library_paths(), &[])?;
        let m = &tx.merged;
        m.require_readable()?;
        let old = super::contexts::dot(m, old)?;
        let old = old.as_str();
        let owner = m
            .owner(Kind::Contexts, old)
            .ok_or_else(|| m.unknown(Kind::Contexts, old))?
            .to_path_buf();
        if old == new {
            return Ok(());
        }
        if let Some(p) = m.owner(Kind::Contexts, new) {
            bail!("a context named {new:?} already exists in {}", p.display());
        }
        let mut plan = Plan::default();
        let mut moved = None;
        if m.current_context() == Some(old) {
            let cc_file = m.current_context_file();
            if cc_file == owner {
                // one file: the entry and current-context change in one write
                plan.push(
                    &owner,
                    Op::Rename {
                        kind: Kind::Contexts,
                        old: old.into(),
                        new: new.into(),
                    },
                );
                plan.push(&owner, Op::SetCurrentContext(new.into()));
            } else {
                // current-context lives in another file. Renaming in place takes two writes,
                // and a crash between them would leave current-context naming a context that
                // does not exist, whichever file went first. So the renamed context moves to
                // the file that holds current-context: that file is written first, with the
                // new entry and current-context together; the old entry is removed second.
                // A crash between the writes leaves both entries, and current-context valid.
                let entry = m
                    .owner_file(Kind::Contexts, old)
                    .and_then(|f| f.entry_json(Kind::Contexts, old))
                    .ok_or_else(|| anyhow!("cannot read context {old:?}"))?;
                let mut entry = entry;
                entry.insert("name".into(), Value::String(new.into()));
                plan.push(
                    &cc_file,
                    Op::Upsert {
                        kind: Kind::Contexts,
                        entry,
                        merge: false,
                    },
                );
                plan.push(&cc_file, Op::SetCurrentContext(new.into()));
                plan.push(
                    &owner,
                    Op::Remove {
                        kind: Kind::Contexts,
                        name: old.into(),
                    },
                );
                moved = Some(cc_file);
            }
        } else {
            plan.push(
                &owner,
                Op::Rename {
                    kind: Kind::Contexts,
                    old: old.into(),
                    new: new.into(),
                },
            );
        }
        tx.commit(plan)?;
        let files = m.paths();
        let mut state = State::load(&files);
        if state.previous_context.as_deref() == Some(old) {
            state.previous_context = Some(new.to_owned());
            state.save(&files);
        }
        match moved {
            None => eprintln!("Context {old:?} renamed to {new:?}."),
            Some(p) => eprintln!(
                "Context {old:?} renamed to {new:?} and moved from {} to {}, the file that holds current-context.",
                owner.display(),
                p.display()
            ),
        }
        Ok(())
    }
}

/// `kctx ARG`: switch to ARG, or — kubectx's `NEW=OLD` — rename OLD to NEW when ARG has an `=`
/// and no context is named ARG itself.
pub(crate) fn switch_or_rename(arg: &str) -> Result<()> {
    if let Some((new, old)) = arg.split_once('=') {
        let library = crate::kubeconfig::Merged::load_paths(&crate::session::library_paths());
        if !new.is_empty()
            && !old.is_empty()
            && !library.has(crate::kubeconfig::Kind::Contexts, arg)
        {
            return rename(old, new);
        }
    }
    super::contexts::switch(arg)
}
