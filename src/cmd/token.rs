//! `kctx token`: the ExecCredential kubectl asks for before it talks to an EKS cluster.

use std::io::Write;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{Context, Result};
use aws_credential_types::Credentials;

use super::Run;
use crate::aws::sts;
use crate::aws::{self, AwsArgs, RoleRequest};
use crate::cli::TokenArgs;
use crate::exec_credential::{self, Status};
use crate::store::cache::{self, Cache, Entry, KeyBuilder, Payload, Summary};

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
        }
    }

    /// The ExecCredential status: from the cache while it is fresh, else newly minted.
    pub fn status(&self) -> Result<Status> {
        if self.no_cache {
            return self.mint(None);
        }
        let cache = Cache::new(cache::dir());
        let key = self.token_key();
        if let Some(st) = cache.get_token(&key, SystemTime::now()) {
            return Ok(st);
        }
        // Single flight: one process mints, the others wait and then read its entry.
        let _lock = cache.lock(&key, cache::SINGLE_FLIGHT_WAIT);
        if let Some(st) = cache.get_token(&key, SystemTime::now()) {
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

    /// Resolves credentials (assuming the role if asked) and signs a new token now.
    fn mint(&self, cache: Option<&Cache>) -> Result<Status> {
        let args = self.aws_args();
        let mut profiles = None;
        let mut rt = None;
        let target = aws::resolve_target(&args, &mut profiles)?;
        let creds = match &self.role_arn {
            None => aws::base_credentials(&args, &target, &mut profiles, &mut rt)?,
            Some(arn) => {
                let req = RoleRequest {
                    role_arn: arn,
                    session_name: &self.session_name,
                    external_id: self.external_id.as_deref(),
                };
                let key = self.role_key();
                let cached = cache.and_then(|c| c.get_role(&key, SystemTime::now()));
                match cached {
                    Some(c) => c,
                    None => {
                        let _lock = cache.and_then(|c| c.lock(&key, cache::SINGLE_FLIGHT_WAIT));
                        match cache.and_then(|c| c.get_role(&key, SystemTime::now())) {
                            Some(c) => c,
                            None => {
                                let base =
                                    aws::base_credentials(&args, &target, &mut profiles, &mut rt)?;
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
/// - STS endpoint overrides: credentials from another STS (a test double) are another identity.
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
            &aws::home().join(".aws").join("sso").join("cache"),
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
