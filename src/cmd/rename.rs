//! `kctx rename OLD NEW`.

use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use super::contexts::file_list;
use super::Run;
use crate::cli::RenameArgs;
use crate::kubeconfig::{self, Kind, Merged};
use crate::state::State;

impl Run for RenameArgs {
    fn run(&self) -> Result<ExitCode> {
        let (old, new) = (self.old.as_str(), self.new.as_str());
        if new.trim().is_empty() {
            bail!("the new context name is empty");
        }
        let merged = Merged::load();
        let owner = merged
            .owner(Kind::Contexts, old)
            .ok_or_else(|| merged.unknown(Kind::Contexts, old))?
            .to_path_buf();
        if old == new {
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(p) = merged.owner(Kind::Contexts, new) {
            bail!("a context named {new:?} already exists in {}", p.display());
        }
        kubeconfig::modify(&owner, |kc| {
            let entry = kc.find_mut(Kind::Contexts, old).ok_or_else(|| {
                anyhow!(
                    "context {old:?} disappeared from {} meanwhile",
                    owner.display()
                )
            })?;
            entry.insert("name".into(), Value::String(new.to_owned()));
            Ok(())
        })?;
        if merged.current_context() == Some(old) {
            kubeconfig::modify(&merged.current_context_file(), |kc| {
                kc.set_current_context(new);
                Ok(())
            })?;
        }
        let paths = file_list(&merged);
        let mut state = State::load(&paths);
        if state.previous_context.as_deref() == Some(old) {
            state.previous_context = Some(new.to_owned());
            state.save(&paths);
        }
        eprintln!("Context {old:?} renamed to {new:?}.");
        Ok(ExitCode::SUCCESS)
    }
}
