//! kctx started as `kubens`: kubens's flags, messages, streams and exit codes (ahmetb/kubectx
//! `cmd/kubens`, whose own test suite runs against this in CI, with its kubeconfigs pointed at
//! the test API server), with kctx's engine underneath: lossless, locked edits, and
//! namespaces checked and listed through kctx's API client (bounded, any credential kubectl
//! reads, a `kctx token` user minted in-process).
//!
//! kubens's rules kept: its state file (`$XDG_CACHE_HOME/kubens/<context>`, else
//! `~/.kube/kubens/<context>`), `-u` setting `default` (not removing the field), a switch
//! message without a final period, and an error (exit 1) when no kubeconfig file exists.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};

use super::kubectx::{any_file, cache_dir, not_found, write_state, Printer};
use crate::kubeconfig::{self, Kind, Merged, Op, Plan, Transaction};

/// How long one call to the cluster may take.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, PartialEq, Eq)]
enum Action {
    List,
    Interactive,
    Switch { name: String, force: bool },
    Current,
    Unset,
    Help,
    Version,
    Fail(String),
}

fn parse(args: &[String], interactive: bool) -> Action {
    let switch = |name: &String, force: bool| {
        if name.starts_with('-') && name != "-" {
            Action::Fail(format!("unsupported option {name:?}"))
        } else {
            Action::Switch {
                name: name.clone(),
                force,
            }
        }
    };
    let force = |s: &str| s == "-f" || s == "--force";
    match args {
        [] if interactive => Action::Interactive,
        [] => Action::List,
        [v] => match v.as_str() {
            "-h" | "--help" => Action::Help,
            "-V" | "--version" => Action::Version,
            "-c" | "--current" => Action::Current,
            "-u" | "--unset" => Action::Unset,
            _ => switch(v, false),
        },
        [a, b] if force(b) => switch(a, true),
        [a, b] if force(a) => switch(b, true),
        [a, b] => Action::Fail(format!("unsupported arguments [{a:?} {b:?}]")),
        _ => Action::Fail("too many arguments".into()),
    }
}

/// `kubens …`
pub fn main(args: Vec<OsString>) -> ExitCode {
    let p = Printer::new();
    let args: Vec<String> = args
        .into_iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let res = match parse(&args, crate::cmd::ui::fzf_mode()) {
        Action::Help => {
            print!("{}", help());
            Ok(())
        }
        Action::Version => {
            println!("{}", crate::cli::VERSION);
            Ok(())
        }
        Action::Fail(msg) => Err(anyhow!(msg)),
        Action::List => list(&p),
        Action::Interactive => pick(&p),
        Action::Switch { name, force } => switch(&p, &name, force),
        Action::Current => current(),
        Action::Unset => unset(&p),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            p.error(&crate::report::one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn help() -> String {
    "Switch between Kubernetes namespaces.\n\nUSAGE:\n  kubens                    : list the namespaces in the current context\n  kubens <NAME>             : change the active namespace of current context\n  kubens <NAME> --force/-f  : force change the active namespace of current context (even if it doesn't exist)\n  kubens -                  : switch to the previous namespace in this context\n  kubens -c, --current      : show the current namespace\n  kubens -h,--help          : show this message\n  kubens -u,--unset         : unset the namespace choice (set to 'default')\n  kubens -V,--version       : show version\n\nThis is kctx running as kubens: edits are locked, atomic and keep comments and layout.\n".to_owned()
}

/// The files, read, and the current context (kubens's errors when either is missing).
fn load() -> Result<(Vec<PathBuf>, Merged, String)> {
    let paths = kubeconfig::paths();
    if !any_file(&paths) {
        bail!("{}", not_found(&paths));
    }
    let m = Merged::load_paths(&paths);
    m.require_readable()
        .map_err(|e| anyhow!("kubeconfig error: {e:#}"))?;
    let ctx = m
        .current_context()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("current-context is not set"))?;
    Ok((paths, m, ctx))
}

/// The namespace of `ctx`: `default` when it sets none.
fn namespace_of(m: &Merged, ctx: &str) -> Result<String> {
    if !m.has(Kind::Contexts, ctx) {
        bail!("cannot read current namespace: context with name {ctx:?} not found");
    }
    Ok(m.field(Kind::Contexts, ctx, "namespace")
        .unwrap_or("default")
        .to_owned())
}

fn namespaces(m: &Merged, ctx: &str) -> Result<Vec<String>> {
    let c = crate::kube::connect(m, ctx, TIMEOUT)
        .map_err(|e| anyhow!("could not list namespaces (is the cluster accessible?): {e:#}"))?;
    c.namespaces().map_err(|e| {
        anyhow!(
            "could not list namespaces (is the cluster accessible?): {:#}",
            c.explain("listing namespaces", &e)
        )
    })
}

fn list(p: &Printer) -> Result<()> {
    let (_, m, ctx) = load()?;
    let current = namespace_of(&m, &ctx)?;
    let mut out = String::new();
    for ns in namespaces(&m, &ctx)? {
        if ns == current {
            out.push_str(&p.active(&ns));
        } else {
            out.push_str(&ns);
        }
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

fn pick(p: &Printer) -> Result<()> {
    if !any_file(&kubeconfig::paths()) {
        p.warning("kubeconfig file not found");
        return Ok(());
    }
    let (_, m, ctx) = load()?;
    let current = namespace_of(&m, &ctx)?;
    let all = namespaces(&m, &ctx)?;
    if all.is_empty() {
        bail!("no namespaces found");
    }
    let Some(ns) = crate::cmd::ui::pick("namespace", &all, Some(&current))? else {
        bail!("you did not choose any of the options");
    };
    set(&ctx, &ns, Some(&current)).map_err(|e| anyhow!("failed to switch namespace: {e:#}"))?;
    p.success(&format!("Active namespace is \"{}\".", p.name(&ns)));
    Ok(())
}

fn state_file(ctx: &str) -> PathBuf {
    cache_dir().join("kubens").join(ctx)
}

/// Sets `ns` on `ctx` (locked, in the file that holds the context), and remembers `before`
/// (the namespace it had) when given and different.
fn set(ctx: &str, ns: &str, before: Option<&str>) -> Result<()> {
    let paths = kubeconfig::paths();
    let tx = Transaction::begin(&paths, &[])?;
    let m = &tx.merged;
    let owner = m
        .owner(Kind::Contexts, ctx)
        .map(PathBuf::from)
        .ok_or_else(|| anyhow!("context with name {ctx:?} not found"))?;
    let mut plan = Plan::default();
    plan.push(
        &owner,
        Op::SetContextField {
            context: ctx.to_owned(),
            key: "namespace".into(),
            value: Some(ns.to_owned()),
        },
    );
    tx.commit(plan)
        .map_err(|e| anyhow!("failed to save kubeconfig file: {e:#}"))?;
    if let Some(before) = before.filter(|b| *b != ns) {
        write_state(&state_file(ctx), before)?;
    }
    Ok(())
}

fn switch(p: &Printer, name: &str, force: bool) -> Result<()> {
    let (_, m, ctx) = load()?;
    let current =
        namespace_of(&m, &ctx).map_err(|e| anyhow!("failed to get current namespace: {e:#}"))?;
    let name = if name == "-" {
        let prev = std::fs::read_to_string(state_file(&ctx))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        if prev.is_empty() {
            bail!("No previous namespace found for current context ({ctx})");
        }
        prev
    } else {
        name.to_owned()
    };
    if !force {
        let c = crate::kube::connect(&m, &ctx, TIMEOUT).map_err(|e| {
            anyhow!("failed to query if namespace exists (is cluster accessible?): {e:#}")
        })?;
        match c.namespace_exists(&name) {
            Ok(true) => {}
            Ok(false) => bail!("no namespace exists with name {name:?}"),
            Err(e) => bail!(
                "failed to query if namespace exists (is cluster accessible?): {:#}",
                c.explain(&format!("getting namespace {name:?}"), &e)
            ),
        }
    }
    set(&ctx, &name, Some(&current))?;
    p.success(&format!("Active namespace is \"{}\"", p.name(&name)));
    Ok(())
}

fn current() -> Result<()> {
    let (_, m, ctx) = load()?;
    if !m.has(Kind::Contexts, &ctx) {
        bail!("failed to read namespace of {ctx:?}: context with name {ctx:?} not found");
    }
    println!(
        "{}",
        m.field(Kind::Contexts, &ctx, "namespace")
            .unwrap_or("default")
    );
    Ok(())
}

fn unset(p: &Printer) -> Result<()> {
    let (_, m, ctx) = load()?;
    namespace_of(&m, &ctx)?;
    // kubens sets `default` (it does not remove the field) and keeps no state for it
    set(&ctx, "default", None)?;
    p.success("Active namespace is \"default\".");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_are_read_as_kubens_reads_them() {
        assert_eq!(
            parse(&a(&["ns", "-f"]), false),
            Action::Switch {
                name: "ns".into(),
                force: true
            }
        );
        assert_eq!(
            parse(&a(&["--force", "-"]), false),
            Action::Switch {
                name: "-".into(),
                force: true
            }
        );
        assert_eq!(
            parse(&a(&["-x"]), false),
            Action::Fail("unsupported option \"-x\"".into())
        );
        assert_eq!(
            parse(&a(&["a", "b"]), false),
            Action::Fail("unsupported arguments [\"a\" \"b\"]".into())
        );
        assert_eq!(
            parse(&a(&["a", "b", "c"]), false),
            Action::Fail("too many arguments".into())
        );
    }
}
