//! What the user sees on a terminal: colour, and picking one name from many.

use std::io::{IsTerminal, Write};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};

use crate::cli::ColorChoice;

static COLOR: OnceLock<bool> = OnceLock::new();
static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Decides colour once: `--color always|never`, else a terminal on stdout, `NO_COLOR` unset or
/// empty (no-color.org), and `TERM` not `dumb`.
pub(crate) fn init_color(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
    let _ = COLOR.set(wants_color(choice, std::io::stdout().is_terminal()));
}

/// `--color` for a stream that is (or is not) a terminal.
fn wants_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// Whether messages on stderr are coloured: the same rule, for stderr.
pub(crate) fn stderr_color() -> bool {
    let choice = CHOICE.get().copied().unwrap_or(ColorChoice::Auto);
    wants_color(choice, std::io::stderr().is_terminal())
}

pub(crate) fn color() -> bool {
    *COLOR.get().unwrap_or(&false)
}

/// A name as it may be shown on a terminal: control characters (an ESC could start an escape
/// sequence, an OSC set the window title or a link), C1 controls, line and paragraph
/// separators and bidirectional overrides written as visible escapes (`\x1b`, `\u{202e}`),
/// never raw.
pub(crate) fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            if (c as u32) < 0x100 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The current item, highlighted as kubectx does (green, bold).
pub(crate) fn highlight(s: &str) -> String {
    if color() {
        format!("\x1b[1;32m{s}\x1b[0m")
    } else {
        s.to_owned()
    }
}

/// Names one per line. On a terminal the current one stands out: in colour, or with `*` when
/// colour is off. Piped: bare names, as kubectx prints them for scripts.
pub(crate) fn name_list(names: &[String], current: Option<&str>) -> String {
    let tty = std::io::stdout().is_terminal();
    let mut out = String::new();
    for n in names {
        let is_current = current == Some(n.as_str());
        let shown = safe(n);
        if color() {
            out.push_str(&if is_current {
                highlight(&shown)
            } else {
                shown.into_owned()
            });
        } else if tty {
            out.push_str(if is_current { "* " } else { "  " });
            out.push_str(&shown);
        } else {
            out.push_str(n);
        }
        out.push('\n');
    }
    out
}

/// Whether an interactive picker can run: stdin, stdout and stderr are terminals (the picker
/// draws on stderr; without one it would spin), and `KCTX_IGNORE_FZF` is unset or empty
/// (kubectx's rule: any value, even `0`, turns the picker off).
pub(crate) fn interactive() -> bool {
    std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("KCTX_IGNORE_FZF").is_none_or(|v| v.is_empty())
}

/// kubectx's interactive mode: `KUBECTX_IGNORE_FZF` empty, stdout a terminal, fzf on PATH.
pub(crate) fn fzf_mode() -> bool {
    std::env::var_os("KUBECTX_IGNORE_FZF").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
        && fzf().is_some()
}

/// `fzf` on PATH, as kubectx uses it.
fn fzf() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("fzf"))
        .find(|p| p.is_file())
}

/// Lets the user pick one of `items` (the current one first in view). `None`: cancelled
/// (Esc, Ctrl-C, or nothing chosen in fzf).
pub(crate) fn pick(
    prompt: &str,
    items: &[String],
    current: Option<&str>,
) -> Result<Option<String>> {
    if items.is_empty() {
        bail!("nothing to choose from");
    }
    match fzf() {
        Some(fzf) => pick_fzf(&fzf, prompt, items, current),
        None => pick_builtin(prompt, items, current),
    }
}

fn pick_fzf(
    fzf: &std::path::Path,
    prompt: &str,
    items: &[String],
    current: Option<&str>,
) -> Result<Option<String>> {
    // like kubectx: `fzf --ansi --no-preview`, the list on its stdin with the current one
    // highlighted; fzf draws on the terminal itself
    let mut child = Command::new(fzf)
        .args(["--ansi", "--no-preview", "--prompt", &format!("{prompt}> ")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", fzf.display()))?;
    {
        let mut stdin = child.stdin.take().expect("piped");
        for it in items {
            let shown = safe(it);
            let line = if current == Some(it.as_str()) {
                format!("\x1b[1;32m{shown}\x1b[0m\n")
            } else {
                format!("{shown}\n")
            };
            if stdin.write_all(line.as_bytes()).is_err() {
                break; // fzf quit early
            }
        }
    }
    let out = child.wait_with_output().context("fzf")?;
    let chosen = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    // the name as shown maps back to the name itself
    Ok(items.iter().find(|it| safe(it) == chosen).cloned())
}

fn pick_builtin(prompt: &str, items: &[String], current: Option<&str>) -> Result<Option<String>> {
    let default = items
        .iter()
        .position(|n| Some(n.as_str()) == current)
        .unwrap_or(0);
    // The picker reads keys in raw mode, where Ctrl-C arrives as a key; dialoguer's terminal
    // layer then raises SIGINT, which would kill kctx before the cursor is shown again. Ignore
    // SIGINT for the picker's lifetime, and restore the cursor and the disposition ourselves.
    // SAFETY: changing a signal disposition; no handler code runs.
    let old = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    // Ctrl-C leaves dialoguer's list drawn (Esc clears it): make room for the prompt and the
    // list first (so drawing never scrolls), remember where it starts, and clear from there
    let rows = 1 + items.len().min(PICKER_ROWS);
    let _ = reserve_rows(rows);
    let shown: Vec<String> = items.iter().map(|it| safe(it).into_owned()).collect();
    let res = dialoguer::FuzzySelect::new()
        .with_prompt(prompt)
        .items(&shown)
        .default(default)
        .max_length(PICKER_ROWS)
        .interact_opt();
    let _ = console_show_cursor();
    // SAFETY: restoring the previous disposition.
    unsafe {
        libc::signal(libc::SIGINT, old);
    }
    match res {
        Ok(Some(i)) => Ok(Some(items[i].clone())),
        Ok(None) => Ok(None),
        Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
            let _ = clear_from_saved();
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The most names the built-in picker shows at once.
const PICKER_ROWS: usize = 20;

/// Scrolls `rows` lines into view below the cursor, goes back, and saves the cursor there.
fn reserve_rows(rows: usize) -> std::io::Result<()> {
    let mut err = std::io::stderr();
    err.write_all("\n".repeat(rows).as_bytes())?;
    write!(err, "\x1b[{rows}A\x1b7")?;
    err.flush()
}

/// Back to the saved cursor, and everything below it cleared.
fn clear_from_saved() -> std::io::Result<()> {
    let mut err = std::io::stderr();
    err.write_all(b"\x1b8\x1b[J")?;
    err.flush()
}

/// Shows the terminal cursor again (the picker hides it while drawing).
fn console_show_cursor() -> std::io::Result<()> {
    let mut err = std::io::stderr();
    err.write_all(b"\x1b[?25h")?;
    err.flush()
}

/// A progress bar on stderr for long work; hidden when stderr is not a terminal (indicatif
/// also hides it for `TERM=dumb`), so piped output never carries escape codes.
pub(crate) fn progress(what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {prefix} {msg} {pos}/{len} [{bar:30}] {elapsed}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_prefix(what.to_owned());
    pb.enable_steady_tick(std::time::Duration::from_millis(100));
    pb
}
