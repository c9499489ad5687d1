//! The EKS token: its arguments (`kctx token …`, as a kubeconfig exec entry writes them), the
//! cache that serves it warm, and minting a new one. Below both `kube` (which mints a `kctx
//! token` exec entry's token in-process) and `cmd` (which prints it as kubectl's
//! ExecCredential).
//!
//! Freshness follows what EKS accepts (aws-iam-authenticator's `Verify`): a token is good
//! for 15 minutes after its `X-Amz-Date`, and kubectl is told it expires after 14.

use std::time::{Duration, SystemTime};

use anyhow::Result;
use aws_credential_types::Credentials;
use clap::Args;

use crate::aws::sts;
use crate::aws::{self, AwsArgs, RoleRequest};
use crate::exec_credential::{self, parse_rfc3339, Status};
use crate::store::cache::{self, Cache, Entry, KeyBuilder, Payload, Summary};

/// A cached token is served only while more than this remains before its expirationTimestamp.
pub(crate) const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// Assumed-role credentials are reused until this long before they expire.
pub(crate) const ROLE_MARGIN: Duration = Duration::from_secs(5 * 60);

#[derive(Args, Debug, Clone)]
#[command(group = clap::ArgGroup::new("cluster").required(true))]
pub(crate) struct TokenArgs {
    /// EKS cluster name (signed into the token as x-k8s-aws-id)
    #[arg(long, short = 'i', group = "cluster", value_name = "NAME")]
    pub(crate) cluster_name: Option<String>,
    /// Cluster id of an EKS local cluster on Outposts
    #[arg(long, group = "cluster", value_name = "ID")]
    pub(crate) cluster_id: Option<String>,
    /// AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region)
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// AWS profile from the shared config/credentials files (default: AWS_PROFILE)
    #[arg(long)]
    pub(crate) profile: Option<String>,
    /// IAM role to assume and sign with
    #[arg(long, short = 'r', value_name = "ARN")]
    pub(crate) role_arn: Option<String>,
    /// External id for the role to assume
    #[arg(long, value_name = "ID", requires = "role_arn")]
    pub(crate) external_id: Option<String>,
    /// Session name for the role to assume
    #[arg(
        long,
        value_name = "NAME",
        default_value = "EKSGetTokenAuth",
        requires = "role_arn"
    )]
    pub(crate) session_name: String,
    /// Do not read or write the token cache for this call
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// IAM Identity Center session (`[sso-session NAME]` of the AWS config) to sign with,
    /// instead of a profile (with --sso-account-id and --sso-role-name)
    #[arg(
        long,
        value_name = "NAME",
        requires_all = ["sso_account_id", "sso_role_name"],
        conflicts_with = "profile"
    )]
    pub(crate) sso_session: Option<String>,
    /// With --sso-session: the account whose role signs
    #[arg(long, value_name = "ID", requires = "sso_session")]
    pub(crate) sso_account_id: Option<String>,
    /// With --sso-session: the role (permission set) that signs
    #[arg(long, value_name = "ROLE", requires = "sso_session")]
    pub(crate) sso_role_name: Option<String>,
    /// When kctx may sign in to IAM Identity Center by itself: auto (when kubectl says the
    /// run is interactive, or on a terminal), browser (always: for GUI clients such as Lens or
    /// Headlamp), never (default: KCTX_LOGIN, else auto)
    #[arg(long, value_name = "WHEN", value_parser = ["auto", "browser", "never"])]
    pub(crate) login: Option<String>,
}

/// The arguments of a `kctx token …` exec entry, parsed exactly as the plugin parses them.
pub(crate) fn parse_args(args: &[String]) -> anyhow::Result<TokenArgs> {
    #[derive(clap::Parser, Debug)]
    #[command(name = "kctx token", no_binary_name = false, args_override_self = true)]
    struct TokenCmd {
        #[command(flatten)]
        args: TokenArgs,
    }
    let argv = std::iter::once("kctx token".to_owned()).chain(args.iter().cloned());
    <TokenCmd as clap::Parser>::try_parse_from(argv)
        .map(|c| c.args)
        .map_err(|e| {
            let text = e.render().to_string();
            anyhow::anyhow!(
                "{}",
                text.lines()
                    .next()
                    .unwrap_or("invalid arguments")
                    .trim_start_matches("error: ")
            )
        })
}

impl TokenArgs {
    fn cluster(&self) -> &str {
        self.cluster_id
            .as_deref()
            .or(self.cluster_name.as_deref())
            .expect("clap requires one of --cluster-name / --cluster-id")
    }

    fn aws_args(&self) -> AwsArgs {
        AwsArgs {
            profile: self.profile.clone(),
            region: self.region.clone(),
        }
    }

    fn summary(&self) -> Summary {
        Summary {
            cluster: Some(self.cluster().to_owned()),
            region: explicit_region(self.region.as_deref()),
            profile: aws::profile_name(self.profile.as_deref()),
            role_arn: self.role_arn.clone(),
            sso_session: self.sso_session.clone(),
            sso_account_id: self.sso_account_id.clone(),
            sso_role_name: self.sso_role_name.clone(),
        }
    }

    /// The ExecCredential status: from the cache while it is fresh, else newly minted.
    pub(crate) fn status(&self) -> Result<Status> {
        if let Some(m) = self.login.as_deref().and_then(aws::sso::LoginMode::parse) {
            aws::sso::set_login_mode(m);
        }
        if self.no_cache {
            return self.mint(None);
        }
        let cache = Cache::new(cache::dir());
        let key = self.token_key();
        if let Some(st) = cached_token(&cache, &key, SystemTime::now()) {
            return Ok(st);
        }
        // Single flight: one process mints, the others wait and then read its entry.
        let _lock = cache.lock(&key, cache::SINGLE_FLIGHT_WAIT);
        if let Some(st) = cached_token(&cache, &key, SystemTime::now()) {
            return Ok(st);
        }
        let status = self.mint(Some(&cache))?;
        cache.put(
            &key,
            &Entry {
                kctx_cache: 1,
                summary: self.summary(),
                payload: Payload::Token {
                    status: status.clone(),
                },
            },
        );
        Ok(status)
    }

    /// Makes sure the IAM Identity Center session this entry signs with has a usable token
    /// (renewing it, or signing in when that is allowed), unless a cached token or cached role
    /// credentials make it unneeded. For callers that bound the mint in time (a sign-in is
    /// not bounded that way).
    pub(crate) fn sign_in_if_needed(&self) -> Result<()> {
        if let Some(m) = self.login.as_deref().and_then(aws::sso::LoginMode::parse) {
            aws::sso::set_login_mode(m);
        }
        let cache = Cache::new(cache::dir());
        let now = SystemTime::now();
        if !self.no_cache
            && (cached_token(&cache, &self.token_key(), now).is_some()
                || cached_role(&cache, &self.sso_role_key(), now).is_some())
        {
            return Ok(());
        }
        let args = self.aws_args();
        let mut profiles = None;
        let sso = match (&self.sso_session, &self.sso_account_id, &self.sso_role_name) {
            (Some(s), Some(a), Some(r)) => Some(aws::sso::explicit_target(&mut profiles, s, a, r)?),
            _ => aws::sso::role_target(&args, &mut profiles)?,
        };
        if let Some(t) = sso {
            let rt = aws::runtime()?;
            aws::sso::access_token(&t.session, t.profile.as_deref(), &rt)?;
        }
        Ok(())
    }

    /// Resolves credentials (assuming the role if asked) and signs a new token now.
    fn mint(&self, cache: Option<&Cache>) -> Result<Status> {
        let args = self.aws_args();
        let mut profiles = None;
        let mut rt = None;
        let target = aws::resolve_target(&args, &mut profiles)?;
        let creds = match &self.role_arn {
            None => self.base_credentials(&args, &target, &mut profiles, &mut rt, cache)?,
            Some(arn) => {
                let req = RoleRequest {
                    role_arn: arn,
                    session_name: &self.session_name,
                    external_id: self.external_id.as_deref(),
                };
                let key = self.role_key();
                let cached = cache.and_then(|c| cached_role(c, &key, SystemTime::now()));
                match cached {
                    Some(c) => c,
                    None => {
                        let _lock = cache.and_then(|c| c.lock(&key, cache::SINGLE_FLIGHT_WAIT));
                        match cache.and_then(|c| cached_role(c, &key, SystemTime::now())) {
                            Some(c) => c,
                            None => {
                                let base = self.base_credentials(
                                    &args,
                                    &target,
                                    &mut profiles,
                                    &mut rt,
                                    cache,
                                )?;
                                let rt = aws::get_runtime(&mut rt)?;
                                let c = aws::assume_role(rt, base, &target, &req)?;
                                if let Some(cache) = cache {
                                    store_role(cache, &key, self.summary(), &c);
                                }
                                c
                            }
                        }
                    }
                }
            }
        };
        let host = sts::sts_host(&target.region, target.variant);
        let now = SystemTime::now();
        let token = sts::token(&creds, &target.region, &host, self.cluster(), now)?;
        // A token signed with session credentials dies with them: never claim longer.
        let mut expires = now + sts::TOKEN_LIFETIME;
        if let Some(exp) = creds.expiry() {
            expires = expires.min(exp);
        }
        Ok(Status {
            expiration_timestamp: exec_credential::rfc3339(expires),
            token,
        })
    }

    /// The credentials to sign with (or to assume the role with): an IAM Identity Center
    /// role (`--sso-session …`, or a profile that names one) through its session, cached like
    /// assumed-role credentials; anything else as the AWS CLI resolves it.
    fn base_credentials(
        &self,
        args: &AwsArgs,
        target: &aws::Target,
        profiles: &mut Option<aws::Profiles>,
        rt: &mut Option<tokio::runtime::Runtime>,
        cache: Option<&Cache>,
    ) -> Result<Credentials> {
        let sso = match (&self.sso_session, &self.sso_account_id, &self.sso_role_name) {
            (Some(s), Some(a), Some(r)) => Some(aws::sso::explicit_target(profiles, s, a, r)?),
            _ => aws::sso::role_target(args, profiles)?,
        };
        let Some(sso) = sso else {
            return aws::sso::base_credentials(args, target, profiles, rt);
        };
        let key = self.sso_role_key();
        if let Some(c) = cache.and_then(|c| cached_role(c, &key, SystemTime::now())) {
            return Ok(c);
        }
        let _lock = cache.and_then(|c| c.lock(&key, cache::SINGLE_FLIGHT_WAIT));
        if let Some(c) = cache.and_then(|c| cached_role(c, &key, SystemTime::now())) {
            return Ok(c);
        }
        let c = aws::sso::role_credentials(&sso, aws::get_runtime(rt)?)?;
        if let Some(cache) = cache {
            let mut summary = self.summary();
            summary.role_arn = None;
            summary.sso_session = Some(sso.session.id().to_owned());
            summary.sso_account_id = Some(sso.account_id.clone());
            summary.sso_role_name = Some(sso.role_name.clone());
            store_role(cache, &key, summary, &c);
        }
        Ok(c)
    }

    /// The key of IAM Identity Center role credentials: who signs (see [`identity_parts`]).
    fn sso_role_key(&self) -> String {
        let mut k = KeyBuilder::new("sso-role");
        identity_parts(&mut k, self);
        k.finish()
    }

    /// Everything that decides who signs: see [`identity_parts`].
    fn role_key(&self) -> String {
        let mut k = KeyBuilder::new("role");
        identity_parts(&mut k, self);
        role_parts(&mut k, self);
        k.finish()
    }

    /// Everything that decides who signs and what is signed.
    fn token_key(&self) -> String {
        let mut k = KeyBuilder::new("token");
        // What is signed: the cluster (x-k8s-aws-id), and whether it is a name or an id.
        k.opt("cluster-name", self.cluster_name.as_deref())
            .opt("cluster-id", self.cluster_id.as_deref());
        identity_parts(&mut k, self);
        role_parts(&mut k, self);
        k.finish()
    }
}

fn explicit_region(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_owned)
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|v| !v.is_empty()))
        .or_else(|| {
            std::env::var("AWS_DEFAULT_REGION")
                .ok()
                .filter(|v| !v.is_empty())
        })
}

/// The cache key's account of who signs, and where. Covered, and why:
/// - region (flag or environment) and the FIPS / dual-stack switches: they pick the STS host
///   and the credential scope, i.e. what is signed;
/// - the profile name and whether it was given with `--profile` (which skips environment keys);
/// - environment keys: access key id, secret key and session token, hashed — a different
///   identity in the same shell must never get another's token;
/// - the shared config and credentials files (path, size, mtime, inode): a profile's region,
///   keys, role or SSO settings changing invalidates the entry; a region taken from the
///   profile is covered this way too;
/// - the SSO token cache (`~/.aws/sso/cache`): `aws sso login` as someone else invalidates;
/// - web identity (IRSA) and container credential settings, including the token files;
/// - STS endpoint overrides: credentials from another STS (a test double) are another identity;
/// - an IAM Identity Center session, account and role given as flags, and the SSO endpoint
///   overrides (the session's own settings are in the config file).
fn identity_parts(k: &mut KeyBuilder, a: &TokenArgs) {
    let env = |name: &str| std::env::var(name).ok();
    k.opt("region", explicit_region(a.region.as_deref()).as_deref())
        .opt("fips", env("AWS_USE_FIPS_ENDPOINT").as_deref())
        .opt("dualstack", env("AWS_USE_DUALSTACK_ENDPOINT").as_deref())
        .part(
            "explicit-profile",
            if a.profile.is_some() { "1" } else { "0" },
        )
        .opt(
            "profile",
            aws::profile_name(a.profile.as_deref()).as_deref(),
        )
        .secret("env-access-key", env("AWS_ACCESS_KEY_ID").as_deref())
        .secret("env-secret-key", env("AWS_SECRET_ACCESS_KEY").as_deref())
        .secret("env-session-token", env("AWS_SESSION_TOKEN").as_deref())
        .secret("env-security-token", env("AWS_SECURITY_TOKEN").as_deref())
        .file("config-file", &aws::config_file())
        .file("credentials-file", &aws::credentials_file())
        .dir_files(
            "sso-cache",
            &crate::paths::home().join(".aws").join("sso").join("cache"),
        )
        .opt("web-identity-role", env("AWS_ROLE_ARN").as_deref())
        .opt(
            "web-identity-session",
            env("AWS_ROLE_SESSION_NAME").as_deref(),
        )
        .opt(
            "container-rel",
            env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").as_deref(),
        )
        .opt(
            "container-full",
            env("AWS_CONTAINER_CREDENTIALS_FULL_URI").as_deref(),
        )
        .secret(
            "container-auth",
            env("AWS_CONTAINER_AUTHORIZATION_TOKEN").as_deref(),
        )
        .opt("endpoint-sts", env("AWS_ENDPOINT_URL_STS").as_deref())
        .opt("endpoint", env("AWS_ENDPOINT_URL").as_deref())
        .opt(
            "ignore-endpoints",
            env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").as_deref(),
        );
    for (label, var) in [
        ("web-identity-file", "AWS_WEB_IDENTITY_TOKEN_FILE"),
        (
            "container-auth-file",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        ),
    ] {
        match env(var) {
            Some(p) => k.file(label, std::path::Path::new(&p)),
            None => k.opt(label, None),
        };
    }
    k.opt("sso-session", a.sso_session.as_deref())
        .opt("sso-account-id", a.sso_account_id.as_deref())
        .opt("sso-role-name", a.sso_role_name.as_deref())
        .opt("endpoint-sso", env("AWS_ENDPOINT_URL_SSO").as_deref())
        .opt(
            "endpoint-sso-oidc",
            env("AWS_ENDPOINT_URL_SSO_OIDC").as_deref(),
        );
}

/// The role to assume, with its session name and external id.
fn role_parts(k: &mut KeyBuilder, a: &TokenArgs) {
    k.opt("role-arn", a.role_arn.as_deref());
    if a.role_arn.is_some() {
        k.part("session-name", &a.session_name)
            .secret("external-id", a.external_id.as_deref());
    }
}

fn store_role(cache: &Cache, key: &str, mut summary: Summary, c: &Credentials) {
    let (Some(token), Some(exp)) = (c.session_token(), c.expiry()) else {
        return;
    };
    summary.cluster = None;
    cache.put(
        key,
        &Entry {
            kctx_cache: 1,
            summary,
            payload: Payload::Role {
                access_key_id: c.access_key_id().to_owned(),
                secret_access_key: c.secret_access_key().to_owned(),
                session_token: token.to_owned(),
                expiration: exec_credential::rfc3339(exp),
            },
        },
    );
}

/// The X-Amz-Date inside a token, decoded from the token itself (not trusted from metadata).
pub fn signed_at(token: &str) -> Option<SystemTime> {
    use base64::Engine;
    let b64 = token.strip_prefix(sts::TOKEN_PREFIX)?;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .ok()?;
    let url = std::str::from_utf8(&url).ok()?;
    let date = url
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("X-Amz-Date="))?;
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let t = time::PrimitiveDateTime::parse(date, &fmt).ok()?;
    Some(t.assume_utc().into())
}

/// Whether a cached token may be served at `now`: more than the margin left before its
/// expirationTimestamp, its X-Amz-Date neither in the future (clock moved back) nor older
/// than EKS's 15 minutes (clock moved forward), and its expirationTimestamp no later than
/// X-Amz-Date + 15 minutes (an entry edited to claim more is a miss).
pub(crate) fn fresh(status: &Status, now: SystemTime, margin: Duration) -> bool {
    let Some(exp) = parse_rfc3339(&status.expiration_timestamp) else {
        return false;
    };
    let Some(signed) = signed_at(&status.token) else {
        return false;
    };
    let skew = Duration::from_secs(5);
    if signed > now + skew {
        return false;
    }
    // An expiry beyond what EKS accepts was not written by kctx: never believed.
    if exp > signed + sts::EKS_ACCEPT_WINDOW {
        return false;
    }
    let age = now.duration_since(signed).unwrap_or_default();
    age + margin < sts::EKS_ACCEPT_WINDOW && now + margin < exp
}

/// A cached token that may still be served at `now`.
fn cached_token(cache: &Cache, key: &str, now: SystemTime) -> Option<Status> {
    match cache.get(key)?.payload {
        Payload::Token { status } if fresh(&status, now, TOKEN_MARGIN) => Some(status),
        _ => None,
    }
}

/// Cached assumed-role credentials with more than [`ROLE_MARGIN`] left at `now`.
fn cached_role(cache: &Cache, key: &str, now: SystemTime) -> Option<Credentials> {
    match cache.get(key)?.payload {
        Payload::Role {
            access_key_id,
            secret_access_key,
            session_token,
            expiration,
        } => {
            let exp = parse_rfc3339(&expiration)?;
            (now + ROLE_MARGIN < exp).then(|| {
                Credentials::new(
                    access_key_id,
                    secret_access_key,
                    Some(session_token),
                    Some(exp),
                    "kctx-cache",
                )
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_at(signed: SystemTime) -> Status {
        let creds = Credentials::new("AKID", "SECRET", None, None, "t");
        let tok = sts::token(
            &creds,
            "us-east-1",
            "sts.us-east-1.amazonaws.com",
            "c",
            signed,
        )
        .unwrap();
        Status {
            expiration_timestamp: crate::exec_credential::rfc3339(signed + sts::TOKEN_LIFETIME),
            token: tok,
        }
    }

    #[test]
    fn freshness_follows_expiry_margin_and_clock() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let st = status_at(t0);
        assert_eq!(signed_at(&st.token), Some(t0));
        assert!(fresh(&st, t0, TOKEN_MARGIN));
        assert!(fresh(&st, t0 + Duration::from_secs(12 * 60), TOKEN_MARGIN));
        // under 60 s left of the 14 minutes: refreshed
        assert!(!fresh(
            &st,
            t0 + Duration::from_secs(13 * 60 + 1),
            TOKEN_MARGIN
        ));
        assert!(!fresh(&st, t0 + Duration::from_secs(20 * 60), TOKEN_MARGIN));
        // clock moved back by an hour: the entry was signed "in the future"
        assert!(!fresh(&st, t0 - Duration::from_secs(3600), TOKEN_MARGIN));
        // an expirationTimestamp stretched beyond EKS's window is not trusted
        let mut forged = st.clone();
        forged.expiration_timestamp =
            crate::exec_credential::rfc3339(t0 + Duration::from_secs(3600));
        assert!(!fresh(
            &forged,
            t0 + Duration::from_secs(15 * 60),
            TOKEN_MARGIN
        ));
        // ... not even while the token itself is young: the claimed expiry is a lie
        assert!(!fresh(
            &forged,
            t0 + Duration::from_secs(5 * 60),
            TOKEN_MARGIN
        ));
    }
}
