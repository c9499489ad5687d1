//! `kctx completions SHELL`: the registration script of clap_complete's dynamic completion,
//! so that context names complete from the live kubeconfig.
//!
//! bash gets kctx's own script: bash splits words at `COMP_WORDBREAKS` characters (`:`, `@`,
//! `=`), so an EKS context name (`arn:aws:eks:…:cluster/x`) reaches clap_complete's stock
//! script in pieces and completes to nonsense. kctx's script rejoins the pieces from the command
//! line and trims the completions to what readline replaces, as bash-completion's
//! `_get_comp_words_by_ref -n :` and `__ltrim_colon_completions` do, without needing that
//! package. zsh, fish, PowerShell and elvish take whole words and use clap_complete's scripts.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Shells, Zsh};

use super::Run;
use crate::cli::{CompletionsArgs, Shell};

/// The environment variable the scripts set when they ask kctx for candidates.
pub(crate) const COMPLETE_VAR: &str = "KCTX_COMPLETE";

/// bash, with the script described above; completion itself is clap_complete's.
pub(crate) struct KctxBash;

const BASH_SCRIPT: &str = r#"
# kctx completion for bash: clap_complete's dynamic completer, with the words bash split at
# COMP_WORDBREAKS characters (':' '@' '=') joined again, so ARN-shaped names complete whole.
_kctx_complete() {
    local IFS=$'\013'
    local line=${COMP_LINE:0:COMP_POINT} ws piece i n=-1
    local -a words=()
    # A piece not preceded by whitespace in COMP_LINE belongs to the previous shell word.
    for ((i = 0; i <= COMP_CWORD; i++)); do
        ws=${line%%[![:space:]]*}
        line=${line#"$ws"}
        if ((i == COMP_CWORD)); then
            piece=$line
        else
            piece=${COMP_WORDS[i]}
            line=${line#"$piece"}
        fi
        if ((n < 0)) || [[ -n $ws ]]; then
            words[++n]=$piece
        else
            words[n]+=$piece
        fi
    done
    local cur=${words[n]}
    if compopt +o nospace 2> /dev/null; then
        local space=false
    else
        local space=true
    fi
    COMPREPLY=( $( \
        _CLAP_IFS="$IFS" \
        _CLAP_COMPLETE_INDEX="$n" \
        _CLAP_COMPLETE_COMP_TYPE="${COMP_TYPE}" \
        _CLAP_COMPLETE_SPACE="$space" \
        __VAR__="bash" \
        "__COMPLETER__" -- "${words[@]}" \
    ) ) || { unset COMPREPLY; return; }
    if [[ $space == false && "${COMPREPLY-}" =~ [=/:]$ ]]; then
        compopt -o nospace
    fi
    # Readline replaces only the text after the last COMP_WORDBREAKS character ($2): drop
    # what comes before it from each candidate.
    local prefix=${cur%"$2"}
    if [[ -n $prefix && $cur == *"$2" ]]; then
        local -a kept=()
        for i in "${!COMPREPLY[@]}"; do
            [[ ${COMPREPLY[i]} == "$prefix"* ]] && kept+=("${COMPREPLY[i]#"$prefix"}")
        done
        COMPREPLY=("${kept[@]}")
    fi
    # A name with a space or a shell character is inserted escaped, as bash does file names
    # (unless the word being completed already opened a quote).
    if [[ $cur != [\"\']* ]]; then
        for i in "${!COMPREPLY[@]}"; do
            [[ ${COMPREPLY[i]} == *[[:space:]\"\'\$\`\\\;\&\|\<\>\(\)\*\?\[]* ]] \
                && printf -v "COMPREPLY[i]" '%q' "${COMPREPLY[i]}"
        done
    fi
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -o nospace -o bashdefault -o nosort -F _kctx_complete __BIN__
else
    complete -o nospace -o bashdefault -F _kctx_complete __BIN__
fi
"#;

impl EnvCompleter for KctxBash {
    fn name(&self) -> &'static str {
        Bash.name()
    }
    fn is(&self, name: &str) -> bool {
        Bash.is(name)
    }
    fn write_registration(
        &self,
        var: &str,
        _name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn std::io::Write,
    ) -> Result<(), std::io::Error> {
        let script = BASH_SCRIPT
            .replace("__VAR__", var)
            .replace("__COMPLETER__", completer)
            .replace("__BIN__", bin);
        buf.write_all(script.trim_start().as_bytes())
    }
    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&std::path::Path>,
        buf: &mut dyn std::io::Write,
    ) -> Result<(), std::io::Error> {
        Bash.write_complete(cmd, args, current_dir, buf)
    }
}

/// A shell's completer with one rule of kctx's: options (and clap's `--`) are offered only
/// when the word being completed starts with `-`. So a Tab where no name fits inserts
/// nothing, a positional slot that is full offers nothing, and `kctx use <Tab><Tab>` lists
/// contexts, not `--help`.
pub(crate) struct NamesFirst {
    inner: &'static dyn EnvCompleter,
    /// Candidates one per line with an optional `\t`help (fish, elvish, powershell), rather
    /// than separated by `_CLAP_IFS` (bash, zsh).
    by_lines: bool,
}

impl NamesFirst {
    /// The word being completed: at `_CLAP_COMPLETE_INDEX` for bash and zsh, the last
    /// otherwise (as clap_complete's adapters read it).
    fn current_word(&self, args: &[OsString]) -> String {
        let at = if self.by_lines {
            args.len().saturating_sub(1)
        } else {
            std::env::var("_CLAP_COMPLETE_INDEX")
                .ok()
                .and_then(|i| i.parse().ok())
                .unwrap_or_default()
        };
        args.get(at)
            .map(|w| w.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// `out` without the candidates that start with `-` (`sep` between candidates, or one per
/// line with `\t`help).
pub(crate) fn without_options(out: &str, sep: Option<&str>) -> String {
    match sep {
        Some(sep) => out
            .split(sep)
            .filter(|c| !c.is_empty() && !c.starts_with('-'))
            .collect::<Vec<_>>()
            .join(sep),
        None => out
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('-'))
            .map(|l| format!("{l}\n"))
            .collect(),
    }
}

impl EnvCompleter for NamesFirst {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn is(&self, name: &str) -> bool {
        self.inner.is(name)
    }
    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn std::io::Write,
    ) -> Result<(), std::io::Error> {
        self.inner
            .write_registration(var, name, bin, completer, buf)
    }
    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&std::path::Path>,
        buf: &mut dyn std::io::Write,
    ) -> Result<(), std::io::Error> {
        let word = self.current_word(&args);
        let mut raw = Vec::new();
        self.inner
            .write_complete(cmd, args, current_dir, &mut raw)?;
        if word.starts_with('-') {
            return buf.write_all(&raw);
        }
        let ifs = std::env::var("_CLAP_IFS").ok();
        let sep = (!self.by_lines).then(|| ifs.as_deref().unwrap_or("\n"));
        buf.write_all(without_options(&String::from_utf8_lossy(&raw), sep).as_bytes())
    }
}

const SHELLS: Shells<'static> = Shells(&[
    &NamesFirst {
        inner: &KctxBash,
        by_lines: false,
    },
    &NamesFirst {
        inner: &Zsh,
        by_lines: false,
    },
    &NamesFirst {
        inner: &Fish,
        by_lines: true,
    },
    &NamesFirst {
        inner: &Powershell,
        by_lines: true,
    },
    &NamesFirst {
        inner: &Elvish,
        by_lines: true,
    },
]);

/// Answers a completion request when `KCTX_COMPLETE` is set (and exits); otherwise returns.
/// A completion never prints diagnostics: stderr goes to /dev/null while it runs.
pub fn complete_env() {
    if std::env::var_os(COMPLETE_VAR).is_some_and(|v| !v.is_empty()) {
        if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
            use std::os::fd::AsRawFd;
            // SAFETY: duplicating a valid descriptor onto stderr.
            unsafe {
                libc::dup2(null.as_raw_fd(), 2);
            }
        }
    }
    clap_complete::CompleteEnv::with_factory(crate::cli::Cli::command)
        .var(COMPLETE_VAR)
        .shells(SHELLS)
        .complete();
}

impl Run for CompletionsArgs {
    fn run(&self) -> Result<ExitCode> {
        let shell: &dyn EnvCompleter = match self.shell {
            Shell::Bash => &KctxBash,
            Shell::Zsh => &Zsh,
            Shell::Fish => &Fish,
            Shell::Powershell => &Powershell,
            Shell::Elvish => &Elvish,
        };
        let mut out = std::io::stdout().lock();
        shell.write_registration(COMPLETE_VAR, "kctx", "kctx", "kctx", &mut out)?;
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn options_are_dropped_unless_the_word_asks_for_them() {
        use super::without_options;
        assert_eq!(
            without_options("dev\x0b--help\x0bprod\x0b--", Some("\x0b")),
            "dev\x0bprod"
        );
        assert_eq!(without_options("--\x0b--color", Some("\x0b")), "");
        assert_eq!(
            without_options("dev\tmy cluster\n--help\tPrint help\n-c\nprod\n", None),
            "dev\tmy cluster\nprod\n"
        );
    }
}
