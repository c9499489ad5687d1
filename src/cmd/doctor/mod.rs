//! `kctx doctor [--online] [--fix] [-o text|json] [--kubeconfig F]`: what is wrong with the
//! kubeconfig for EKS, and — with `--fix` — the lossless mending of what can be mended.
//!
//! gather ([`gather`]: files, modes, PATH, AWS config, SSO cache, kuberc; `--online`: EKS) →
//! decide ([`checks::decide`], pure) → apply ([`fix::plan`], then one
//! [`Transaction`](crate::kubeconfig::Transaction) for the run: the files are read again under
//! their locks and every change decided from that; chmod last) → report (text, or JSON
//! `{"findings": [{code, severity, message, file, context?, cluster?, user?, fix?}]}`).
//! Exit 0 when nothing of warning or error level remains, 1 otherwise.

mod checks;
mod fix;
mod gather;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::{json, Value};

use self::checks::{Finding, OnlineResult, Severity};
use super::Run;
use crate::cli::{DoctorArgs, ReportFormat};
use crate::kubeconfig::{self, Merged, Plan, Transaction};

impl Run for DoctorArgs {
    fn run(&self) -> Result<ExitCode> {
        let paths: Vec<PathBuf> = match &self.kubeconfig {
            Some(k) => kubeconfig::paths_from(Some(k)),
            None => crate::session::library_paths(),
        };
        let mut notes = Vec::new();
        // EKS is asked before any lock is taken: its answers are facts about AWS, which the
        // entries read under the locks are then compared with
        let online: Vec<OnlineResult> = if self.online {
            gather::online(&Merged::load_paths(&paths), &mut notes)
        } else {
            Vec::new()
        };
        if !self.fix {
            let merged = Merged::load_paths(&paths);
            merged.require_readable()?;
            let findings = check(&merged, &online, &mut notes);
            warn(&notes);
            self.report(&findings, None);
            return Ok(status(&findings));
        }
        let tx = Transaction::begin(&paths, &[])?;
        tx.merged.require_readable()?;
        let findings = check(&tx.merged, &online, &mut notes);
        let planned = fix::plan(&findings);
        let mut plan = Plan::default();
        for (file, ops) in planned.edits {
            for op in ops {
                plan.push(&file, op);
            }
        }
        let written = tx.commit(plan)?;
        let mut chmodded = Vec::new();
        for (file, mode) in &planned.chmods {
            match std::fs::set_permissions(file, std::fs::Permissions::from_mode(*mode)) {
                Ok(()) => chmodded.push(format!("chmod {mode:04o} {}", file.display())),
                Err(e) => notes.push(format!("cannot chmod {}: {e}", file.display())),
            }
        }
        // what remains, read back from the files (still under the locks)
        let after = Merged::load_paths(&paths);
        let remaining = check(&after, &online, &mut Vec::new());
        warn(&notes);
        let mut done = planned.said;
        done.extend(written.iter().map(|p| format!("wrote {}", p.display())));
        done.extend(chmodded);
        self.report(&remaining, Some(&done));
        Ok(status(&remaining))
    }
}

fn check(merged: &Merged, online: &[OnlineResult], notes: &mut Vec<String>) -> Vec<Finding> {
    let offline = gather::offline(merged, notes);
    checks::decide(&offline.into_facts(merged, online))
}

fn warn(notes: &[String]) {
    for n in notes {
        eprintln!("kctx: warning: {}", crate::report::one_line(n));
    }
}

fn status(findings: &[Finding]) -> ExitCode {
    if findings.iter().any(Finding::fails) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

impl DoctorArgs {
    /// Prints the findings; with `--fix`, `done` says what was changed (before the findings
    /// that remain in text, on stderr with JSON so that stdout stays one document).
    fn report(&self, findings: &[Finding], done: Option<&[String]>) {
        match self.output {
            ReportFormat::Json => {
                for d in done.unwrap_or_default() {
                    eprintln!("kctx: fixed: {d}");
                }
                println!("{}", json_report(findings));
            }
            ReportFormat::Text => print!("{}", text_report(findings, done)),
        }
    }
}

/// `{"findings": [{code, severity, message, file, context?, cluster?, user?, fix?}]}`.
fn json_report(findings: &[Finding]) -> String {
    let list: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut o = serde_json::Map::new();
            o.insert("code".into(), json!(f.code));
            o.insert("severity".into(), json!(f.severity.as_str()));
            o.insert("message".into(), json!(f.message));
            o.insert("file".into(), json!(f.file.display().to_string()));
            for (k, v) in [
                ("context", &f.context),
                ("cluster", &f.cluster),
                ("user", &f.user),
            ] {
                if let Some(v) = v {
                    o.insert(k.into(), json!(v));
                }
            }
            if let Some(fix) = &f.fix {
                o.insert("fix".into(), json!(fix.says));
            }
            Value::Object(o)
        })
        .collect();
    serde_json::to_string_pretty(&json!({ "findings": list })).expect("JSON of strings")
}

fn paint(s: Severity) -> String {
    let word = format!("{:<7}", s.as_str());
    if !super::ui::color() {
        return word;
    }
    let code = match s {
        Severity::Error => "1;31",
        Severity::Warning => "33",
        Severity::Info => "36",
    };
    format!("\x1b[{code}m{word}\x1b[0m")
}

/// Findings grouped by file (in the order first named), then a summary line.
fn text_report(findings: &[Finding], done: Option<&[String]>) -> String {
    let mut out = String::new();
    if let Some(done) = done.filter(|d| !d.is_empty()) {
        out.push_str("Fixed:\n");
        for d in done {
            out.push_str(&format!("  {d}\n"));
        }
        out.push('\n');
    }
    let mut files: Vec<&PathBuf> = Vec::new();
    for f in findings {
        if !files.contains(&&f.file) {
            files.push(&f.file);
        }
    }
    let width = findings.iter().map(|f| f.code.len()).max().unwrap_or(0);
    for file in files {
        out.push_str(&format!("{}\n", file.display()));
        for f in findings.iter().filter(|f| &f.file == file) {
            let mut lines = f.message.lines();
            let first = lines.next().unwrap_or_default();
            let subject = fix::subject(f);
            out.push_str(&format!(
                "  {}  {:<width$}  {subject}{first}\n",
                paint(f.severity),
                f.code
            ));
            let indent = " ".repeat(2 + 7 + 2 + width + 2);
            for l in lines {
                out.push_str(&format!("{indent}  {l}\n"));
            }
            if let Some(fix) = &f.fix {
                out.push_str(&format!("{indent}fix: {}\n", fix.says));
            }
        }
    }
    out.push_str(&summary(findings, done.is_some()));
    out
}

fn summary(findings: &[Finding], fixed: bool) -> String {
    if findings.is_empty() {
        return if fixed {
            "Nothing left to fix.\n"
        } else {
            "No problems found.\n"
        }
        .to_owned();
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    for (s, w) in [(Severity::Error, "error"), (Severity::Warning, "warning")] {
        if count(s) > 0 {
            parts.push(plural(count(s), w));
        }
    }
    if count(Severity::Info) > 0 {
        parts.push(format!("{} info", count(Severity::Info)));
    }
    let fixable = findings.iter().filter(|f| f.fix.is_some()).count();
    let tail = if fixable > 0 {
        format!("; {fixable} can be mended by `kctx doctor --fix`")
    } else {
        String::new()
    };
    let lead = if fixed { "Remaining: " } else { "" };
    format!(
        "\n{lead}{} ({}){tail}.\n",
        plural(findings.len(), "finding"),
        parts.join(", ")
    )
}
