//! `kctx token`: the ExecCredential kubectl asks for before it talks to an EKS cluster (one
//! JSON document on stdout; everything else on stderr). The token itself comes from
//! [`crate::token`].

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Run;
use crate::cli::TokenCli;
use crate::exec_credential;
use crate::token::TokenArgs;

impl Run for TokenArgs {
    fn run(&self) -> Result<ExitCode> {
        let exec_info = std::env::var("KUBERNETES_EXEC_INFO").ok();
        let (api_version, warning) = exec_credential::api_version(exec_info.as_deref());
        if let Some(w) = warning {
            eprintln!("kctx: warning: {w}");
        }
        let status = self.status()?;
        let doc = exec_credential::render(api_version, &status);
        let mut out = std::io::stdout().lock();
        out.write_all(doc.as_bytes())
            .and_then(|_| out.flush())
            .context("cannot write the ExecCredential to stdout")?;
        Ok(ExitCode::SUCCESS)
    }
}

/// `kctx token …`, read by a parser of its own arguments only (argv from `token` on): the
/// full command line's thirty commands are not built on the path kubectl runs most.
pub fn main(args: &[std::ffi::OsString]) -> Result<ExitCode> {
    use clap::Parser;
    // the arguments `kctx add` writes are read without building a parser at all; anything
    // else (help, a typo, a missing or conflicting flag) goes to clap, for its messages
    let args = match quick_parse(args) {
        Some(a) => a,
        None => {
            TokenCli::try_parse_from(args)
                .unwrap_or_else(|e| super::exit_parse_error(e))
                .args
        }
    };
    let result = args.run();
    match result {
        Err(e) if std::env::var_os("KUBERNETES_EXEC_INFO").is_some() => {
            let message = crate::report::one_line(&format!("{e:#}"));
            if said_lately(&message, std::time::SystemTime::now()) {
                // kubectl runs the plugin again on each retry: the error was just printed
                return Ok(ExitCode::FAILURE);
            }
            Err(anyhow::anyhow!(message))
        }
        r => r,
    }
}

/// How long an error printed under kubectl is not printed again.
const SAID_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether `message` was printed by a `kctx token` under kubectl less than [`SAID_FOR`] ago
/// (remembered by its hash and time in the private cache directory; no secret is written);
/// records it otherwise.
fn said_lately(message: &str, now: std::time::SystemTime) -> bool {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    message.hash(&mut h);
    let key = format!("{:016x}", h.finish());
    let Ok(Some(dir)) = crate::store::private::PrivateDir::open(&crate::store::cache::dir(), true)
    else {
        return false;
    };
    let secs = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let last = std::fs::read_to_string(dir.path().join("last-error")).unwrap_or_default();
    if let Some((k, at)) = last.trim().split_once(' ') {
        let at: u64 = at.parse().unwrap_or(0);
        if k == key && secs(now).saturating_sub(at) < SAID_FOR.as_secs() {
            return true;
        }
    }
    let _ = dir.write("last-error", format!("{key} {}\n", secs(now)).as_bytes());
    false
}

/// The token arguments in the forms exec entries carry (`--flag value`, `--flag=value`, `-i
/// NAME`, `-r ARN`, `--no-cache`), read as clap reads them (the last of a repeated flag wins,
/// `--session-name` defaults): `None` for anything else, including every case clap would
/// refuse, so that clap gives its message. Starting clap's parser costs more than the rest of a
/// warm token (issue 25); `quick_parse_agrees_with_clap` holds the two together.
pub(crate) fn quick_parse(args: &[std::ffi::OsString]) -> Option<TokenArgs> {
    let mut it = args.iter().map(|a| a.to_str());
    if it.next()? != Some("token") {
        return None;
    }
    let mut t = TokenArgs {
        cluster_name: None,
        cluster_id: None,
        region: None,
        profile: None,
        role_arn: None,
        external_id: None,
        session_name: String::new(),
        no_cache: false,
        sso_session: None,
        sso_account_id: None,
        sso_role_name: None,
        login: None,
    };
    let mut session_name = None;
    while let Some(arg) = it.next() {
        let arg = arg?;
        if arg == "--no-cache" {
            t.no_cache = true;
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (arg, None),
        };
        let slot = match flag {
            "--cluster-name" | "-i" => &mut t.cluster_name,
            "--cluster-id" => &mut t.cluster_id,
            "--region" => &mut t.region,
            "--profile" => &mut t.profile,
            "--role-arn" | "-r" => &mut t.role_arn,
            "--external-id" => &mut t.external_id,
            "--session-name" => &mut session_name,
            "--sso-session" => &mut t.sso_session,
            "--sso-account-id" => &mut t.sso_account_id,
            "--sso-role-name" => &mut t.sso_role_name,
            "--login" => &mut t.login,
            _ => return None,
        };
        let value = match inline {
            Some(v) => v,
            None => {
                let v = it.next()??;
                // a value that looks like a flag is clap's to judge
                if v.starts_with('-') {
                    return None;
                }
                v
            }
        };
        *slot = Some(value.to_owned());
    }
    let cluster = t.cluster_name.is_some() as u8 + t.cluster_id.is_some() as u8;
    let role_needed = t.external_id.is_some() || session_name.is_some();
    let sso = [&t.sso_session, &t.sso_account_id, &t.sso_role_name].map(Option::is_some);
    let login_ok = t
        .login
        .as_deref()
        .is_none_or(|l| matches!(l, "auto" | "browser" | "never"));
    if cluster != 1
        || (role_needed && t.role_arn.is_none())
        || (sso.iter().any(|x| *x) && !sso.iter().all(|x| *x))
        || (t.sso_session.is_some() && t.profile.is_some())
        || !login_ok
    {
        return None;
    }
    t.session_name = session_name.unwrap_or_else(|| "EKSGetTokenAuth".to_owned());
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Every argument list of up to six words from exec-entry-like pieces: where the quick
    /// reader answers, clap answers the same; the common forms are answered quickly.
    #[test]
    fn quick_parse_agrees_with_clap() {
        const WORDS: &[&str] = &[
            "--cluster-name",
            "a",
            "--cluster-name=b",
            "-i",
            "c",
            "--cluster-id",
            "o",
            "--region",
            "us-west-2",
            "--region=",
            "--profile",
            "p",
            "--profile=q",
            "--role-arn",
            "arn:aws:iam::1:role/x",
            "-r",
            "--external-id",
            "e",
            "--session-name",
            "s",
            "--no-cache",
            "--sso-session",
            "corp",
            "--sso-account-id",
            "111",
            "--sso-role-name",
            "R",
            "--login",
            "browser",
            "--login=nope",
            "--color",
            "never",
            "-x",
            "--",
            "-",
            "-i=z",
            "--region=a=b",
            "--bogus",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut quick = 0;
        for _ in 0..60_000 {
            let n = (next() % 7) as usize;
            let mut argv: Vec<std::ffi::OsString> = vec!["token".into()];
            for _ in 0..n {
                argv.push(WORDS[(next() % WORDS.len() as u64) as usize].into());
            }
            let Some(fast) = quick_parse(&argv) else {
                continue;
            };
            quick += 1;
            let slow = TokenCli::try_parse_from(&argv)
                .unwrap_or_else(|e| panic!("{argv:?}: quick read it, clap refused: {e}"));
            assert_eq!(format!("{fast:?}"), format!("{:?}", slow.args), "{argv:?}");
        }
        assert!(quick > 300, "the quick reader answered only {quick} times");
        for common in [
            &["token", "--cluster-name", "prod", "--region", "us-west-2"][..],
            &["token", "-i", "prod", "-r", "arn:aws:iam::1:role/x"],
            &[
                "token",
                "--cluster-name",
                "a",
                "--region",
                "eu-west-1",
                "--sso-session",
                "corp",
                "--sso-account-id",
                "111",
                "--sso-role-name",
                "ReadOnly",
            ],
            &[
                "token",
                "--cluster-id",
                "0123",
                "--region=us-east-1",
                "--no-cache",
            ],
        ] {
            let argv: Vec<std::ffi::OsString> = common.iter().map(Into::into).collect();
            assert!(quick_parse(&argv).is_some(), "{common:?}");
        }
    }
}
