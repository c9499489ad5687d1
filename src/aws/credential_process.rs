//! A profile's `credential_process`, run by kctx rather than aws-config, whose provider waits
//! without end and reads the process's output without bound: `sh -c COMMAND` as the AWS CLI
//! and aws-config run it, bounded by [`crate::process`] (a minute, 64 KiB of output, its own
//! process group killed after the deadline), the output read as the AWS CLI reads it
//! (`Version` 1, `AccessKeyId`, `SecretAccessKey`, optional `SessionToken` and `Expiration`).
//!
//! The profile chain is followed as aws-config follows it (`profile/credentials/repr.rs`
//! `resolve_chain`): `role_arn` with `source_profile` hops to the source, where static keys
//! win after the first hop; the chain's base is the first profile without `role_arn`. When
//! that base is a `credential_process`, kctx runs it and assumes the roles of the chain
//! itself (bounded too); any other base (SSO, web identity, `credential_source`) is left to
//! aws-config.

use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Result};
use aws_credential_types::Credentials;
use serde::Deserialize;

use super::{Profiles, RoleRequest, Target};
use crate::process::{self, Failure, Limits, Stderr};

/// How long a credential_process may take (one stuck helper cannot hang kctx or a discovery
/// over many profiles); `KCTX_CREDENTIAL_PROCESS_TIMEOUT` (seconds) changes it.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);
/// Credentials JSON is a few hundred bytes.
const MAX_STDOUT: usize = 64 << 10;
const MAX_STDERR: usize = 4 << 10;

/// One role of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hop {
    pub(crate) role_arn: String,
    pub(crate) external_id: Option<String>,
    pub(crate) session_name: Option<String>,
}

/// A chain whose base is a credential_process: the profile that has it, its command, and
/// the roles to assume from there (innermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chain {
    pub(crate) profile: String,
    pub(crate) command: String,
    pub(crate) roles: Vec<Hop>,
}

impl Profiles {
    /// The selected profile's chain when its base is a credential_process (see the module
    /// docs); `None` for every other kind of chain, and for broken ones (aws-config says why).
    pub(crate) fn process_chain(&self) -> Option<Chain> {
        let mut name = self.name().to_owned();
        let mut visited: Vec<String> = Vec::new();
        let mut roles = Vec::new();
        loop {
            if visited.contains(&name) || visited.len() > 16 {
                return None;
            }
            let get = |k: &str| self.get_of(&name, k).map(str::to_owned);
            if !visited.is_empty()
                && get("aws_access_key_id").is_some()
                && get("aws_secret_access_key").is_some()
            {
                return None;
            }
            visited.push(name.clone());
            let role = get("role_arn").filter(|_| get("web_identity_token_file").is_none());
            if let Some(role_arn) = role {
                roles.push(Hop {
                    role_arn,
                    external_id: get("external_id"),
                    session_name: get("role_session_name"),
                });
                match (get("source_profile"), get("credential_source")) {
                    (Some(src), None) if src != name => name = src,
                    (Some(_), None) => return base(self, &name, roles),
                    _ => return None,
                }
            } else {
                return base(self, &name, roles);
            }
        }
    }
}

/// aws-config's `base_provider` order: `credential_source`, web identity, SSO, login
/// session, then credential_process (then static keys).
fn base(p: &Profiles, name: &str, mut roles: Vec<Hop>) -> Option<Chain> {
    let has = |k: &str| p.get_of(name, k).is_some();
    if has("credential_source")
        || has("web_identity_token_file")
        || has("sso_session")
        || has("sso_start_url")
        || has("login_session")
    {
        return None;
    }
    let command = p.get_of(name, "credential_process")?.to_owned();
    roles.reverse();
    Some(Chain {
        profile: name.to_owned(),
        command,
        roles,
    })
}

/// Runs the chain: the process, then each role (with the bounds of [`super::assume_role`]).
pub(crate) fn resolve(
    chain: &Chain,
    target: &Target,
    rt: &mut Option<tokio::runtime::Runtime>,
) -> Result<Credentials> {
    let limit = std::env::var("KCTX_CREDENTIAL_PROCESS_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map_or(TIMEOUT, Duration::from_secs_f64);
    let mut creds = run(&chain.profile, &chain.command, limit)?;
    for hop in &chain.roles {
        let session = hop.session_name.clone().unwrap_or_else(|| {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            format!("kctx-session-{now}")
        });
        let rt = super::get_runtime(rt)?;
        creds = super::assume_role(
            rt,
            creds,
            target,
            &RoleRequest {
                role_arn: &hop.role_arn,
                session_name: &session,
                external_id: hop.external_id.as_deref(),
            },
        )?;
    }
    Ok(creds)
}

/// Runs one credential_process within `limit` and reads its credentials.
pub(crate) fn run(profile: &str, command: &str, limit: Duration) -> Result<Credentials> {
    let at = format!("cannot load AWS credentials for profile {profile:?}");
    let mut cmd = Command::new("sh");
    cmd.args(["-c", command]);
    let limits = Limits {
        time: limit,
        stdout: MAX_STDOUT,
        stderr: Stderr::Capture(MAX_STDERR),
    };
    let done = match process::run(cmd, limits) {
        Ok(d) => d,
        Err(Failure::NotFound) | Err(Failure::Spawn(_)) => {
            bail!("{at}: its credential_process cannot be run (no `sh`)")
        }
        Err(Failure::TimedOut { .. }) => bail!(
            "{at}: its credential_process gave no credentials within {} s; kctx stopped it (KCTX_CREDENTIAL_PROCESS_TIMEOUT changes the limit)",
            limit.as_secs_f64()
        ),
        Err(Failure::TooMuchOutput) => bail!(
            "{at}: its credential_process printed more than {} KiB, which is not a credentials JSON",
            MAX_STDOUT >> 10
        ),
        Err(Failure::Wait(e)) => bail!("{at}: waiting for its credential_process: {e}"),
    };
    if !done.status.success() {
        let stderr = crate::report::one_line(&String::from_utf8_lossy(&done.stderr));
        let status = done
            .status
            .code()
            .map_or_else(|| done.status.to_string(), |c| c.to_string());
        if stderr.is_empty() {
            bail!("{at}: its credential_process exited with status {status} and wrote nothing to stderr");
        }
        bail!("{at}: its credential_process exited with status {status}: {stderr}");
    }
    parse(&done.stdout).map_err(|why| anyhow!("{at}: its credential_process printed no credentials JSON (Version 1 with AccessKeyId and SecretAccessKey): {why}"))
}

/// The AWS CLI's credential_process output.
fn parse(stdout: &[u8]) -> std::result::Result<Credentials, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        version: Option<serde_json::Value>,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        session_token: Option<String>,
        expiration: Option<String>,
    }
    let o: Output = serde_json::from_slice(stdout).map_err(|e| e.to_string())?;
    if o.version.as_ref().and_then(serde_json::Value::as_i64) != Some(1) {
        return Err("`Version` is not 1".into());
    }
    let (Some(ak), Some(sk)) = (o.access_key_id, o.secret_access_key) else {
        return Err("`AccessKeyId` or `SecretAccessKey` is missing".into());
    };
    let expiry = match o.expiration {
        None => None,
        Some(e) => Some(
            time::OffsetDateTime::parse(&e, &time::format_description::well_known::Rfc3339)
                .map(SystemTime::from)
                .map_err(|_| format!("`Expiration` {e:?} is not an RFC 3339 time"))?,
        ),
    };
    Ok(Credentials::new(
        ak,
        sk,
        o.session_token,
        expiry,
        "CredentialProcess",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_read_as_the_aws_cli_reads_it() {
        let c = parse(br#"{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","SessionToken":"T","Expiration":"2030-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(c.access_key_id(), "AK");
        assert_eq!(c.session_token(), Some("T"));
        assert!(c.expiry().is_some());
        assert!(parse(br#"{"Version":2,"AccessKeyId":"AK","SecretAccessKey":"SK"}"#).is_err());
        assert!(parse(br#"{"Version":1,"AccessKeyId":"AK"}"#).is_err());
        assert!(parse(b"not json").is_err());
    }

    #[test]
    fn a_stuck_or_flooding_process_is_stopped_in_one_line() {
        let e = run("p", "sleep 30", Duration::from_millis(300)).unwrap_err();
        assert!(e.to_string().contains("gave no credentials within"), "{e}");
        let e = run("p", "yes", Duration::from_secs(10)).unwrap_err();
        assert!(e.to_string().contains("printed more than 64 KiB"), "{e}");
        let e = run("p", "echo broken >&2; exit 3", Duration::from_secs(10)).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("its credential_process exited with status 3: broken"),
            "{e}"
        );
        let e = run("p", "exit 2", Duration::from_secs(10)).unwrap_err();
        assert!(e.to_string().contains("wrote nothing to stderr"), "{e}");
    }
}
