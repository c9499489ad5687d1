//! kctx started as `kubectx` (argv[0]'s file name: a symlink, hard link or copy): kubectx's
//! flags, messages, streams and exit codes (ahmetb/kubectx `cmd/kubectx`, whose own test
//! suite runs against this in CI), with kctx's engine underneath — lossless, locked, atomic
//! edits of every `KUBECONFIG` file.
//!
//! kubectx's rules kept as they are: its state file (`$XDG_CACHE_HOME/kubectx`, else
//! `~/.kube/kubectx`), natural sort of the list, `-d` removing only the context entry and
//! leaving current-context as it was, `NEW=OLD` overwriting an existing NEW with a warning,
//! `warning: kubeconfig file not found` (exit 0) when listing without any file, and fzf when
//! it is on PATH, stdout is a terminal and `KUBECTX_IGNORE_FZF` is empty.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};

use crate::kubeconfig::{self, Kind, Merged, Op, Plan, Transaction};

/// Colour as kubectx decides it (fatih/color): `_KUBECTX_FORCE_COLOR` forces it, `NO_COLOR`
/// turns it off, else a terminal on stdout and `TERM` not `dumb`.
pub(crate) fn color() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if set("_KUBECTX_FORCE_COLOR") {
        return true;
    }
    if set("NO_COLOR") {
        return false;
    }
    std::io::stdout().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// kubectx's printer (internal/printer): prefixes and colours on stderr.
pub(crate) struct Printer {
    color: bool,
}

impl Printer {
    pub(crate) fn new() -> Self {
        Self { color: color() }
    }

    fn paint(&self, codes: &str, reset: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{codes}m{s}\x1b[{reset}m")
        } else {
            s.to_owned()
        }
    }

    pub(crate) fn error(&self, msg: &str) {
        eprintln!("{}{msg}", self.paint("31;1", "0;22", "error: "));
    }

    pub(crate) fn warning(&self, msg: &str) {
        eprintln!("{}{msg}", self.paint("33;1", "0;22", "warning: "));
    }

    pub(crate) fn success(&self, msg: &str) {
        eprintln!("{}{msg}", self.paint("32", "0", "✔ "));
    }

    /// A name inside a success message.
    pub(crate) fn name(&self, s: &str) -> String {
        self.paint("32", "0", s)
    }

    /// The current item of a list.
    pub(crate) fn active(&self, s: &str) -> String {
        self.paint("32;1", "0;22", s)
    }
}

/// kubectx's state directory: `$XDG_CACHE_HOME` (as it is), else `~/.kube`.
pub(crate) fn cache_dir() -> PathBuf {
    match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => crate::paths::home().join(".kube"),
    }
}

/// kubectx's message for a KUBECONFIG of which no file exists.
pub(crate) fn not_found(paths: &[PathBuf]) -> String {
    format!(
        "kubeconfig error: failed to load: kubeconfig file not found: open {}: no such file or directory",
        paths.first().map(|p| p.display().to_string()).unwrap_or_default()
    )
}

/// Whether any KUBECONFIG file exists.
pub(crate) fn any_file(paths: &[PathBuf]) -> bool {
    paths.iter().any(|p| p.exists())
}

/// Natural order (facette.io/natsort, as kubectx sorts): digit runs compare as numbers.
pub(crate) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut start = 0;
        let b = s.as_bytes();
        for i in 1..=b.len() {
            if i == b.len() || b[i].is_ascii_digit() != b[i - 1].is_ascii_digit() {
                out.push(&s[start..i]);
                start = i;
            }
        }
        out
    }
    let (x, y) = (chunks(a), chunks(b));
    for (p, q) in x.iter().zip(&y) {
        let ord = match (p.parse::<u128>(), q.parse::<u128>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            _ => p.cmp(q),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    x.len().cmp(&y.len())
}

/// What the command line asks for (kubectx's `parseArgs`, in its order).
#[derive(Debug, PartialEq, Eq)]
enum Action {
    List,
    Interactive,
    Switch(String),
    Current,
    Unset,
    Delete(Vec<String>),
    Rename { new: String, old: String },
    Shell(String),
    Help,
    Version,
    Fail(String),
}

fn parse(args: &[String], interactive: bool) -> Action {
    match args {
        [] if interactive => Action::Interactive,
        [] => Action::List,
        [flag, rest @ ..] if flag == "-s" || flag == "--shell" => match rest {
            [] => Action::Fail(format!(
                "'{flag}' requires a context name argument (or fzf for interactive mode)"
            )),
            [name] => Action::Shell(name.clone()),
            _ => Action::Fail("'--shell' accepts at most one context name argument".into()),
        },
        [flag, ..] if flag == "-r" || flag == "--readonly" => Action::Fail(format!(
            "'{flag}' (a read-only shell) is not supported by kctx"
        )),
        [flag] if flag == "-d" => Action::Fail("'-d' needs arguments".into()),
        [flag, names @ ..] if flag == "-d" => Action::Delete(names.to_vec()),
        [v] => match v.as_str() {
            "-h" | "--help" => Action::Help,
            "-V" | "--version" => Action::Version,
            "-c" | "--current" => Action::Current,
            "-u" | "--unset" => Action::Unset,
            _ => match v.split_once('=') {
                Some((new, old)) if !new.is_empty() && !old.is_empty() => Action::Rename {
                    new: new.into(),
                    old: old.into(),
                },
                _ if v.starts_with('-') && v != "-" => {
                    Action::Fail(format!("unsupported option '{v}'"))
                }
                _ => Action::Switch(v.clone()),
            },
        },
        _ => Action::Fail("too many arguments".into()),
    }
}

/// `kubectx …`
pub fn main(args: Vec<OsString>) -> ExitCode {
    let p = Printer::new();
    let args: Vec<String> = args
        .into_iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let interactive = crate::cmd::ui::fzf_mode();
    let res = match parse(&args, interactive) {
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
        Action::Switch(name) => {
            switch(&p, &name).map_err(|e| anyhow!("failed to switch context: {e:#}"))
        }
        Action::Current => current(),
        Action::Unset => unset(&p),
        Action::Delete(names) => names.iter().try_for_each(|n| delete(&p, n)),
        Action::Rename { new, old } => rename(&p, &new, &old),
        Action::Shell(name) => return shell(&p, &name),
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
    "Manage and switch between kubectl contexts.\n\nUSAGE:\n  kubectx                       : list the contexts\n  kubectx <NAME>                : switch to context <NAME>\n  kubectx -                     : switch to the previous context\n  kubectx -s, --shell <NAME>    : start a shell scoped to context <NAME> (kctx shell)\n  kubectx -c, --current         : show the current context name\n  kubectx -u, --unset           : unset the current context\n  kubectx <NEW_NAME>=<NAME>     : rename context <NAME> to <NEW_NAME>\n  kubectx <NEW_NAME>=.          : rename current-context to <NEW_NAME>\n  kubectx -d <NAME> [<NAME...>] : delete context <NAME> ('.' for current-context)\n                                  (this command won't delete the user/cluster entry\n                                   referenced by the context entry)\n  kubectx -h, --help            : show this message\n  kubectx -V, --version         : show version\n\nThis is kctx running as kubectx: edits are locked, atomic and keep comments and layout.\n".to_owned()
}

/// The KUBECONFIG files, read (an error naming the first path when none exists).
fn load() -> Result<(Vec<PathBuf>, Merged)> {
    let paths = kubeconfig::paths();
    if !any_file(&paths) {
        bail!("{}", not_found(&paths));
    }
    let m = Merged::load_paths(&paths);
    m.require_readable()
        .map_err(|e| anyhow!("kubeconfig error: {e:#}"))?;
    Ok((paths, m))
}

fn sorted_names(m: &Merged) -> Vec<String> {
    let mut names = m.names(Kind::Contexts);
    names.sort_by(|a, b| natural_cmp(a, b));
    names
}

fn list(p: &Printer) -> Result<()> {
    let paths = kubeconfig::paths();
    if !any_file(&paths) {
        p.warning("kubeconfig file not found");
        return Ok(());
    }
    let (_, m) = load()?;
    let current = m.current_context();
    let mut out = String::new();
    for n in sorted_names(&m) {
        let shown = crate::cmd::ui::safe(&n).into_owned();
        if current == Some(n.as_str()) {
            out.push_str(&p.active(&shown));
        } else {
            out.push_str(&shown);
        }
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

fn pick(p: &Printer) -> Result<()> {
    let paths = kubeconfig::paths();
    if !any_file(&paths) {
        p.warning("kubeconfig file not found");
        return Ok(());
    }
    let (_, m) = load()?;
    let names = sorted_names(&m);
    if names.is_empty() {
        bail!("no contexts found in the kubeconfig file");
    }
    match crate::cmd::ui::pick("context", &names, m.current_context())? {
        Some(name) => switch(p, &name).map_err(|e| anyhow!("failed to switch context: {e:#}")),
        None => bail!("you did not choose any of the options"),
    }
}

fn state_file() -> PathBuf {
    cache_dir().join("kubectx")
}

/// Writes a kubectx state file as kubectx does (0644, no trailing newline).
pub(crate) fn write_state(path: &std::path::Path, value: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::store::fsutil::write_atomic(path, value.as_bytes(), 0o644)
}

fn switch(p: &Printer, name: &str) -> Result<()> {
    let name = if name == "-" {
        match std::fs::read_to_string(state_file()) {
            Ok(prev) if !prev.is_empty() => prev,
            _ => bail!("no previous context found"),
        }
    } else {
        name.to_owned()
    };
    let (paths, _) = load()?;
    let tx = Transaction::begin(&paths, &[])?;
    let m = &tx.merged;
    if !m.has(Kind::Contexts, &name) {
        bail!("no context exists with the name: {name:?}");
    }
    let previous = m.current_context().unwrap_or("").to_owned();
    if previous != name {
        let mut plan = Plan::default();
        plan.push(
            &m.current_context_file(),
            Op::SetCurrentContext(name.clone()),
        );
        tx.commit(plan)?;
        write_state(&state_file(), &previous)?;
    }
    p.success(&format!("Switched to context \"{}\".", p.name(&name)));
    Ok(())
}

fn current() -> Result<()> {
    let (_, m) = load()?;
    match m.current_context() {
        Some(c) => {
            println!("{c}");
            Ok(())
        }
        None => bail!("current-context is not set"),
    }
}

fn unset(p: &Printer) -> Result<()> {
    let (paths, _) = load()?;
    let tx = Transaction::begin(&paths, &[])?;
    let m = &tx.merged;
    let mut plan = Plan::default();
    plan.push(
        &m.current_context_file(),
        Op::SetCurrentContext(String::new()),
    );
    tx.commit(plan)?;
    p.success("Active context unset for kubectl.");
    Ok(())
}

fn delete(p: &Printer, name: &str) -> Result<()> {
    let (paths, _) = load()?;
    let tx = Transaction::begin(&paths, &[])?;
    let m = &tx.merged;
    let target = if name == "." {
        match m.current_context() {
            Some(c) => c.to_owned(),
            None => {
                bail!("error deleting context \"\": can't use '.' as the no active context is set")
            }
        }
    } else {
        name.to_owned()
    };
    let Some(owner) = m.owner(Kind::Contexts, &target).map(PathBuf::from) else {
        bail!("error deleting context {target:?}: context does not exist");
    };
    let mut plan = Plan::default();
    plan.push(
        &owner,
        Op::Remove {
            kind: Kind::Contexts,
            name: target.clone(),
        },
    );
    tx.commit(plan)?;
    if name == "." {
        p.warning("You deleted the current context. Use \"kubectx\" to select a new context.");
    }
    p.success(&format!("Deleted context {}.", p.name(&target)));
    Ok(())
}

fn rename(p: &Printer, new: &str, old: &str) -> Result<()> {
    let (paths, _) = load()?;
    let tx = Transaction::begin(&paths, &[])?;
    let m = &tx.merged;
    let old = if old == "." {
        m.current_context().unwrap_or("").to_owned()
    } else {
        old.to_owned()
    };
    let Some(owner) = m.owner(Kind::Contexts, &old).map(PathBuf::from) else {
        bail!("context {old:?} not found, can't rename it");
    };
    let mut plan = Plan::default();
    if let Some(existing) = m.owner(Kind::Contexts, new).map(PathBuf::from) {
        p.warning(&format!("context {new:?} exists, overwriting it."));
        plan.push(
            &existing,
            Op::Remove {
                kind: Kind::Contexts,
                name: new.to_owned(),
            },
        );
    }
    plan.push(
        &owner,
        Op::Rename {
            kind: Kind::Contexts,
            old: old.clone(),
            new: new.to_owned(),
        },
    );
    if m.current_context() == Some(old.as_str()) {
        plan.push(
            &m.current_context_file(),
            Op::SetCurrentContext(new.to_owned()),
        );
    }
    tx.commit(plan)?;
    p.success(&format!(
        "Context {} renamed to {}.",
        p.name(&old),
        p.name(new)
    ));
    Ok(())
}

/// `-s NAME`: kctx's per-shell context (a private kubeconfig, see `kctx shell`).
fn shell(p: &Printer, name: &str) -> ExitCode {
    use super::Run;
    let args = crate::cli::SessionArgs {
        context: Some(name.to_owned()),
        namespace: None,
        no_aws: false,
    };
    match args.run() {
        Ok(code) => code,
        Err(e) => {
            p.error(&crate::report::one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_are_read_as_kubectx_reads_them() {
        assert_eq!(parse(&a(&[]), false), Action::List);
        assert_eq!(parse(&a(&[]), true), Action::Interactive);
        assert_eq!(parse(&a(&["-"]), false), Action::Switch("-".into()));
        assert_eq!(
            parse(&a(&["a=b=c"]), false),
            Action::Rename {
                new: "a".into(),
                old: "b=c".into()
            }
        );
        assert_eq!(parse(&a(&["=x"]), false), Action::Switch("=x".into()));
        assert_eq!(
            parse(&a(&["-x"]), false),
            Action::Fail("unsupported option '-x'".into())
        );
        assert_eq!(
            parse(&a(&["-d"]), false),
            Action::Fail("'-d' needs arguments".into())
        );
        assert_eq!(
            parse(&a(&["-d", "a", "."]), false),
            Action::Delete(a(&["a", "."]))
        );
        assert_eq!(
            parse(&a(&["a", "b"]), false),
            Action::Fail("too many arguments".into())
        );
    }

    #[test]
    fn natural_order() {
        let mut v = a(&["b", "a10", "a2", "a", "a2b"]);
        v.sort_by(|x, y| natural_cmp(x, y));
        assert_eq!(v, ["a", "a2", "a2b", "a10", "b"]);
    }
}
