//! Shared pieces of the context commands: switching, and the rows `list` shows.

use anyhow::{anyhow, Result};

use crate::kubeconfig::{self, arn_account, EksExec, Kind, Merged, Op, Plan, Transaction};
use crate::session;
use crate::store::state::State;

/// What to say when there are no contexts at all.
pub(crate) fn no_contexts_hint() -> String {
    let files: Vec<String> = kubeconfig::paths()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    format!(
        "no contexts in {}: add an EKS cluster with `kctx add CLUSTER --region REGION`",
        files.join(":")
    )
}

/// `.` means the current context (kubectx's spelling).
pub(crate) fn dot(m: &Merged, name: &str) -> Result<String> {
    if name != "." {
        return Ok(name.to_owned());
    }
    m.current_context()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("`.` means the current context, and current-context is not set"))
}

/// `kctx -u`: unsets current-context where it is set (as kubectl writes an unset one: `""`).
pub(crate) fn unset() -> Result<()> {
    let paths = kubeconfig::paths();
    let tx = Transaction::begin(&paths, &[])?;
    let m = &tx.merged;
    m.require_readable()?;
    let Some(previous) = m.current_context().map(str::to_owned) else {
        eprintln!("current-context is not set; nothing to unset.");
        return Ok(());
    };
    let mut plan = Plan::default();
    plan.push(
        &m.current_context_file(),
        Op::SetCurrentContext(String::new()),
    );
    tx.commit(plan)?;
    let files = m.paths();
    let mut state = State::load(&files);
    state.previous_context = Some(previous);
    state.save(&files);
    eprintln!("current-context unset (`kctx -` goes back).");
    Ok(())
}

/// The contexts to offer (the user's whole library, also inside an isolated shell) and the
/// current one (the shell's own, when isolated).
pub(crate) fn view() -> (Merged, Vec<String>, Option<String>) {
    let library = Merged::load_paths(&session::library_paths());
    let (names, current) = view_of(&library);
    (library, names, current)
}

/// [`view`] of a library already read: its names, and the current context as this shell sees
/// it (an isolated shell's own, from its small session file; otherwise the library's).
pub(crate) fn view_of(library: &Merged) -> (Vec<String>, Option<String>) {
    let names = library.names(Kind::Contexts);
    let current = match session::current() {
        None => library.current_context().map(str::to_owned),
        Some(_) => Merged::load().current_context().map(str::to_owned),
    };
    (names, current)
}

/// For commands that edit the user's kubeconfig files from inside an isolated shell: a note
/// that they do (the shell's own copy is not what they change).
pub(crate) fn note_if_isolated(what: &str) {
    if session::current().is_some() {
        let files: Vec<String> = session::library_paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        eprintln!(
            "kctx: note: this shell is isolated; {what} edits your kubeconfig ({}), not this shell's context",
            files.join(":")
        );
    }
}

/// `use` inside an isolated shell: the shell's file gets the chosen context from the library;
/// no other shell and none of the user's files change.
fn switch_session(s: &session::Session, name: &str) -> Result<()> {
    let library = Merged::load_paths(&session::library_paths());
    library.require_readable()?;
    let here = Merged::load();
    let files = here.paths();
    let mut state = State::load(&files);
    let name = if name == "-" {
        state.previous_context.clone().ok_or_else(|| {
            anyhow!("no previous context in this shell (kctx remembers it after `kctx use NAME`)")
        })?
    } else {
        name.to_owned()
    };
    if !library.has(Kind::Contexts, &name) {
        return Err(unknown_context(&library, &name));
    }
    let previous = here.current_context().map(str::to_owned);
    // the namespace of the context being left is remembered for this shell, and the one
    // coming back gets the namespace it had here
    if let Some(p) = &previous {
        match here.field(Kind::Contexts, p, "namespace") {
            Some(ns) => state.session_namespaces.insert(p.clone(), ns.to_owned()),
            None => state.session_namespaces.remove(p),
        };
    }
    let namespace = state.session_namespaces.get(&name).cloned();
    session::replace(&s.file, &library, &name, namespace.as_deref())?;
    if previous.as_deref() != Some(name.as_str()) {
        state.previous_context = previous;
    }
    state.save(&files);
    eprintln!(
        "Switched this shell to context {name:?} (other shells and your kubeconfig are unchanged)."
    );
    // this process cannot change the shell's environment: say where it no longer fits
    let want = session::aws_variables(&session::aws_env(&library, &name), &s.saved);
    let stale: Vec<String> = want
        .iter()
        .filter(|(k, v)| std::env::var(k).ok() != *v)
        .map(|(k, v)| match v {
            Some(v) => format!("{k} should be {v:?}"),
            None => format!("{k} should be unset"),
        })
        .collect();
    if !stale.is_empty() {
        eprintln!(
            "kctx: note: for this context {} (aws commands and exec entries without a profile use them); `eval \"$(kctx env {})\"` sets them",
            stale.join(" and "),
            session::quote_posix(&name)
        );
    }
    Ok(())
}

/// Switches to `name` (`-`: the previous context), deciding from the files as read under
/// their locks, and remembers the previous context for `kctx use -` under the same locks.
pub(crate) fn switch(name: &str) -> Result<()> {
    if let Some(s) = session::current() {
        return switch_session(&s, name);
    }
    let paths = kubeconfig::paths();
    let tx = Transaction::begin(&paths, &[])?;
    let m = &tx.merged;
    m.require_readable()?;
    let files = m.paths();
    let mut state = State::load(&files);
    let name = if name == "-" {
        state.previous_context.clone().ok_or_else(|| {
            anyhow!("no previous context to go back to (kctx remembers it after `kctx use NAME`)")
        })?
    } else {
        name.to_owned()
    };
    if !m.has(Kind::Contexts, &name) {
        return Err(unknown_context(m, &name));
    }
    let previous = m.current_context().map(str::to_owned);
    let mut plan = Plan::default();
    plan.push(
        &m.current_context_file(),
        Op::SetCurrentContext(name.clone()),
    );
    tx.commit(plan)?;
    if previous.as_deref() != Some(name.as_str()) {
        state.previous_context = previous;
        state.save(&files);
    }
    eprintln!("Switched to context {name:?}.");
    Ok(())
}

/// An unknown context, with the closest names — and the command, when the word is (close to)
/// one of kctx's commands (`kctx NAME` takes any other word for a context).
pub(crate) fn unknown_context(m: &Merged, name: &str) -> anyhow::Error {
    let e = m.unknown(Kind::Contexts, name);
    if m.names(Kind::Contexts).is_empty() {
        return anyhow!("{e}; {}", no_contexts_hint());
    }
    use clap::CommandFactory;
    let cmd = crate::cli::Cli::command();
    let close = cmd
        .get_subcommands()
        .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_visible_aliases()))
        .find(|c| strsim::jaro_winkler(c, name) > 0.85);
    match close {
        Some(c) => anyhow!("{e}; for the command, type `kctx {c}`"),
        None => e,
    }
}

/// One context as `list -o wide|json` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) current: bool,
    pub(crate) cluster: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) namespace: Option<String>,
    /// Present for EKS users (kctx, aws eks get-token, aws-iam-authenticator).
    pub(crate) eks: Option<EksRow>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct EksRow {
    #[serde(flatten)]
    pub(crate) exec: EksExec,
    pub(crate) account: Option<String>,
}

pub(crate) fn rows(merged: &Merged) -> Vec<Row> {
    let current = merged.current_context();
    merged
        .names(Kind::Contexts)
        .into_iter()
        .map(|name| {
            let field = |k: &str| merged.field(Kind::Contexts, &name, k).map(str::to_owned);
            let cluster = field("cluster");
            let user = field("user");
            let eks = user
                .as_deref()
                .and_then(|u| merged.body(Kind::Users, u))
                .and_then(|b| EksExec::from_user(&b))
                .map(|exec| {
                    let account = cluster
                        .as_deref()
                        .and_then(arn_account)
                        .or_else(|| exec.role_arn.as_deref().and_then(arn_account))
                        .map(str::to_owned);
                    EksRow { exec, account }
                });
            Row {
                current: current == Some(name.as_str()),
                namespace: field("namespace"),
                cluster,
                user,
                eks,
                name,
            }
        })
        .collect()
}
