//! `kctx init bash|zsh|fish [--aliases]`: the one line a shell's rc file needs —
//! `eval "$(kctx init bash)"` (zsh alike; fish: `kctx init fish | source`) — printing the
//! completion registration (bash's ARN-aware one included) and, with `--aliases`, `kubectx`
//! and `kubens` functions that run kctx's kubectx and kubens personalities, as a link named
//! `kubectx` or `kubens` would.

use std::process::ExitCode;

use anyhow::Result;
use clap_complete::env::{EnvCompleter, Fish, Zsh};

use super::completions::{KctxBash, COMPLETE_VAR};
use super::Run;
use crate::cli::{InitArgs, InitShell};

impl Run for InitArgs {
    fn run(&self) -> Result<ExitCode> {
        print!("{}", script(self.shell, self.aliases)?);
        Ok(ExitCode::SUCCESS)
    }
}

/// The text to evaluate in `shell`.
pub(crate) fn script(shell: InitShell, aliases: bool) -> Result<String> {
    let mut buf = Vec::new();
    let completer: &dyn EnvCompleter = match shell {
        InitShell::Bash => &KctxBash,
        InitShell::Zsh => &Zsh,
        InitShell::Fish => &Fish,
    };
    let header = match shell {
        InitShell::Fish => "# kctx: completion (kctx init fish | source)\n",
        _ => "# kctx: completion (eval \"$(kctx init SHELL)\")\n",
    };
    buf.extend_from_slice(header.as_bytes());
    completer.write_registration(COMPLETE_VAR, "kctx", "kctx", "kctx", &mut buf)?;
    if !buf.ends_with(b"\n") {
        buf.push(b'\n');
    }
    if aliases {
        let functions = match shell {
            InitShell::Fish => {
                "# kubectx and kubens, run by kctx with their own flags and messages\n\
                 function kubectx --wraps kubectx; command kctx --as=kubectx $argv; end\n\
                 function kubens --wraps kubens; command kctx --as=kubens $argv; end\n"
            }
            _ => {
                "# kubectx and kubens, run by kctx with their own flags and messages\n\
                 kubectx() { command kctx --as=kubectx \"$@\"; }\n\
                 kubens() { command kctx --as=kubens \"$@\"; }\n"
            }
        };
        buf.extend_from_slice(functions.as_bytes());
    }
    // the last command's status is the eval's: a prompt should not show a failure
    buf.extend_from_slice(b"true\n");
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
