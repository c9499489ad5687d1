//! AWS credentials, region and clients.
//!
//! The token path runs before every kubectl command, so plain keys (environment, or static
//! keys in the shared credentials file) are read directly; only what needs it (assume-role
//! profiles, SSO, credential_process, web identity, containers, instance metadata) goes
//! through `aws-config`'s full provider chain. Region never comes from instance metadata.

pub(crate) mod access;
pub(crate) mod auth_map;
pub(crate) mod credential_process;
pub(crate) mod describe;
pub(crate) mod discover;
pub(crate) mod iam;
pub(crate) mod identity;
pub(crate) mod migrate;
pub(crate) mod policies;
pub(crate) mod sso;
pub mod sts;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context, Result};

use crate::report::{error_chain, one_line};
use aws_config::profile::ProfileSet;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_types::region::Region;

use self::sts::Variant;

/// Settings shared by every command that talks to AWS.
#[derive(Debug, Clone, Default)]
pub(crate) struct AwsArgs {
    /// `--profile`; when absent `AWS_PROFILE` / `AWS_DEFAULT_PROFILE` apply.
    pub(crate) profile: Option<String>,
    /// `--region`; when absent `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's region.
    pub(crate) region: Option<String>,
}

fn env_nonempty(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

fn env_bool(key: &str) -> Option<bool> {
    env_nonempty(key).map(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The profile in use: `--profile`, then `AWS_PROFILE`, then `AWS_DEFAULT_PROFILE`.
pub(crate) fn profile_name(explicit: Option<&str>) -> Option<String> {
    explicit
        .map(str::to_owned)
        .or_else(|| env_nonempty("AWS_PROFILE"))
        .or_else(|| env_nonempty("AWS_DEFAULT_PROFILE"))
}

/// Paths of the shared config and credentials files.
pub(crate) fn config_file() -> PathBuf {
    env_nonempty("AWS_CONFIG_FILE")
        .map(|p| crate::paths::expand_tilde(&p))
        .unwrap_or_else(|| crate::paths::home().join(".aws").join("config"))
}

pub(crate) fn credentials_file() -> PathBuf {
    env_nonempty("AWS_SHARED_CREDENTIALS_FILE")
        .map(|p| crate::paths::expand_tilde(&p))
        .unwrap_or_else(|| crate::paths::home().join(".aws").join("credentials"))
}

/// Environment keys, used unless a profile was chosen explicitly with `--profile`
/// (as the AWS CLI does).
pub(crate) fn env_credentials(explicit_profile: bool) -> Option<Credentials> {
    if explicit_profile {
        return None;
    }
    let ak = env_nonempty("AWS_ACCESS_KEY_ID")?;
    let sk = env_nonempty("AWS_SECRET_ACCESS_KEY")?;
    let token = env_nonempty("AWS_SESSION_TOKEN").or_else(|| env_nonempty("AWS_SECURITY_TOKEN"));
    Some(Credentials::new(ak, sk, token, None, "Environment"))
}

/// Runs a future that touches no I/O driver to completion (profile parsing is synchronous
/// inside `aws-config`), without building a runtime.
fn block_on_ready<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// The parsed shared config and credentials files, loaded at most once per process.
pub(crate) struct Profiles {
    set: Option<ProfileSet>,
    name: String,
}

impl Profiles {
    pub(crate) fn load(profile: Option<&str>) -> Result<Self> {
        let name = profile.unwrap_or("default").to_owned();
        let files = aws_runtime::env_config::file::EnvConfigFiles::default();
        let set = block_on_ready(aws_config::profile::load(
            &aws_types::os_shim_internal::Fs::real(),
            &aws_types::os_shim_internal::Env::real(),
            &files,
            Some(name.clone().into()),
        ));
        let set = match set {
            Ok(s) => Some(s),
            Err(e) => {
                return Err(anyhow!(
                    "cannot read the AWS config ({}) or credentials ({}) file: {}",
                    config_file().display(),
                    credentials_file().display(),
                    error_chain(&e)
                ))
            }
        };
        Ok(Self { set, name })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn exists(&self) -> bool {
        self.set
            .as_ref()
            .is_some_and(|s| s.get_profile(&self.name).is_some())
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.set
            .as_ref()?
            .get_profile(&self.name)?
            .get(key)
            .filter(|v| !v.trim().is_empty())
    }

    /// Every profile of the config and credentials files, sorted.
    pub(crate) fn all(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .set
            .as_ref()
            .map(|s| s.profiles().map(str::to_owned).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// A key of another profile than the selected one.
    pub(crate) fn get_of(&self, profile: &str, key: &str) -> Option<&str> {
        self.set
            .as_ref()?
            .get_profile(profile)?
            .get(key)
            .filter(|v| !v.trim().is_empty())
    }

    /// How `profile` gets credentials, as aws-config decides; `Err` says why it has none
    /// (a profile with only `region`, an SSO profile with only a token, …).
    pub(crate) fn credential_source(
        &self,
        profile: &str,
    ) -> std::result::Result<&'static str, String> {
        let has = |k: &str| self.get_of(profile, k).is_some();
        if has("role_arn")
            && (has("source_profile") || has("credential_source") || has("web_identity_token_file"))
        {
            Ok("assume role")
        } else if (has("sso_session") || has("sso_start_url"))
            && has("sso_account_id")
            && has("sso_role_name")
        {
            Ok("SSO")
        } else if has("credential_process") {
            Ok("credential_process")
        } else if has("aws_access_key_id") && has("aws_secret_access_key") {
            Ok("static keys")
        } else if has("credential_source") {
            Ok("credential_source")
        } else if has("login_session") {
            Err("login_session profiles are not supported by this build".into())
        } else if has("sso_session") || has("sso_start_url") {
            Err("an SSO profile without sso_account_id and sso_role_name gives a token, not credentials".into())
        } else {
            Err("no credentials (keys, role, SSO or credential_process)".into())
        }
    }

    /// Static keys, when the profile has them and nothing that takes precedence over them.
    pub(crate) fn static_credentials(&self) -> Option<Credentials> {
        const CHAIN_KEYS: &[&str] = &[
            "role_arn",
            "credential_process",
            "sso_session",
            "sso_start_url",
            "sso_account_id",
            "web_identity_token_file",
            "credential_source",
            "login_session",
        ];
        if CHAIN_KEYS.iter().any(|k| self.get(k).is_some()) {
            return None;
        }
        let ak = self.get("aws_access_key_id")?;
        let sk = self.get("aws_secret_access_key")?;
        let token = self.get("aws_session_token").map(str::to_owned);
        Some(Credentials::new(
            ak,
            sk,
            token,
            None,
            "SharedCredentialsFile",
        ))
    }
}

/// Region and endpoint variant for one command.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) region: String,
    pub(crate) variant: Variant,
}

/// `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's region; never IMDS.
pub(crate) fn resolve_target(args: &AwsArgs, profiles: &mut Option<Profiles>) -> Result<Target> {
    let explicit = args
        .region
        .clone()
        .or_else(|| env_nonempty("AWS_REGION"))
        .or_else(|| env_nonempty("AWS_DEFAULT_REGION"));
    let need_profile = explicit.is_none()
        || env_nonempty("AWS_USE_FIPS_ENDPOINT").is_none()
        || env_nonempty("AWS_USE_DUALSTACK_ENDPOINT").is_none();
    if need_profile && profiles.is_none() {
        *profiles = Some(Profiles::load(
            profile_name(args.profile.as_deref()).as_deref(),
        )?);
    }
    let p = profiles.as_ref();
    let region = match explicit {
        Some(r) => r,
        None => match p.and_then(|p| p.get("region")) {
            Some(r) => r.to_owned(),
            None => bail!(
                "no AWS region: pass --region, set AWS_REGION, or set `region` for profile {:?} in {}",
                p.map_or("default", |p| p.name()),
                config_file().display()
            ),
        },
    };
    crate::aws::sts::validate_region(&region)?;
    let flag = |env: &str, key: &str| {
        env_bool(env)
            .or_else(|| {
                p.and_then(|p| p.get(key))
                    .map(|v| v.eq_ignore_ascii_case("true"))
            })
            .unwrap_or(false)
    };
    Ok(Target {
        region,
        variant: Variant {
            fips: flag("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"),
            dual_stack: flag("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"),
        },
    })
}

/// A current-thread runtime for the calls that need the network.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The SDK's HTTPS client — rustls with aws-lc, the proxy from the environment, each
/// client's own timeouts, as aws-smithy-runtime's default client — resolving host names with
/// kctx's resolver ([`crate::dns`]) instead of getaddrinfo, which a static binary cannot use
/// safely. Built once per process.
pub(crate) fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::{proxy::ProxyConfig, tls, Builder, ConnectorBuilder};
    static CLIENT: std::sync::OnceLock<aws_smithy_runtime_api::client::http::SharedHttpClient> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            Builder::new().build_with_connector_fn(move |settings, components| {
                let mut b = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::AwsLc,
                ));
                b.set_connector_settings(settings.cloned());
                if let Some(c) = components {
                    b.set_sleep_impl(c.sleep_impl());
                }
                b.set_proxy_config(Some(ProxyConfig::from_env()));
                b.build_with_resolver(crate::dns::Dns)
            })
        })
        .clone()
}

/// What aws-config's credential providers are built with: the region and kctx's HTTP client.
fn provider_config(region: &Region) -> aws_config::provider_config::ProviderConfig {
    aws_config::provider_config::ProviderConfig::default()
        .with_region(Some(region.clone()))
        .with_http_client(http_client())
}

/// Instance metadata that gives up quickly: a black-holed metadata address must not turn
/// "no credentials" into a multi-second hang.
fn fast_imds(region: &Region) -> aws_config::imds::Client {
    aws_config::imds::Client::builder()
        .configure(&provider_config(region))
        .connect_timeout(Duration::from_millis(300))
        .read_timeout(Duration::from_millis(700))
        .operation_timeout(Duration::from_millis(1200))
        .max_attempts(1)
        .build()
}

/// Resolves base credentials: environment keys, static profile keys, then the full chain.
pub(crate) fn base_credentials(
    args: &AwsArgs,
    target: &Target,
    profiles: &mut Option<Profiles>,
    rt: &mut Option<tokio::runtime::Runtime>,
) -> Result<Credentials> {
    if let Some(c) = env_credentials(args.profile.is_some()) {
        return Ok(c);
    }
    let name = profile_name(args.profile.as_deref());
    if profiles.is_none() {
        *profiles = Some(Profiles::load(name.as_deref())?);
    }
    let p = profiles.as_ref().expect("loaded above");
    if let Some(c) = p.static_credentials() {
        return Ok(c);
    }
    // a credential_process (at the base of the profile's chain) runs bounded, by kctx
    if let Some(chain) = p.process_chain() {
        return credential_process::resolve(&chain, target, rt);
    }
    if name.is_some() && !p.exists() {
        bail!(
            "AWS profile {:?} not found in {} or {}",
            p.name(),
            config_file().display(),
            credentials_file().display()
        );
    }
    let rt = get_runtime(rt)?;
    let region = Region::new(target.region.clone());
    let profile_display = p.name().to_owned();
    let sso = p.get("sso_start_url").is_some() || p.get("sso_session").is_some();
    // Without a profile, web identity or container settings, the chain's last resort is
    // instance metadata; its failure then just means "no credentials anywhere".
    let only_imds_left = !p.exists()
        && [
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ]
        .iter()
        .all(|k| env_nonempty(k).is_none());
    rt.block_on(async {
        let provider: Box<dyn ProvideCredentials> = match args.profile.as_deref() {
            Some(explicit) => Box::new(
                aws_config::profile::ProfileFileCredentialsProvider::builder()
                    .configure(&provider_config(&region))
                    .profile_name(explicit)
                    .build(),
            ),
            None => Box::new(
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .configure(provider_config(&region))
                    .region(region.clone())
                    .imds_client(fast_imds(&region))
                    .build()
                    .await,
            ),
        };
        provider
            .provide_credentials()
            .await
            .map_err(|e| explain_credentials_error(&e, &profile_display, only_imds_left, sso))
    })
}

pub(crate) fn get_runtime(
    rt: &mut Option<tokio::runtime::Runtime>,
) -> Result<&tokio::runtime::Runtime> {
    if rt.is_none() {
        *rt = Some(runtime()?);
    }
    Ok(rt.as_ref().expect("set above"))
}

/// Under kubectl (`KUBERNETES_EXEC_INFO` set), how to give kctx credentials: through the
/// kubeconfig, since that is where the plugin's environment comes from.
fn no_credentials_fix() -> String {
    if std::env::var_os("KUBERNETES_EXEC_INFO").is_some() {
        "this kubeconfig user's exec entry runs kctx without credentials: add \
         `env: [{name: AWS_PROFILE, value: PROFILE}]` to it, or re-add the cluster with \
         `kctx add CLUSTER --profile PROFILE`"
            .to_owned()
    } else {
        format!(
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile (or set AWS_PROFILE) for a profile in {} / {}, or run `aws configure` or `kctx login`",
            config_file().display(),
            credentials_file().display()
        )
    }
}

/// One line a user can act on. Never includes secrets (the SDK's errors do not carry keys).
fn explain_credentials_error(
    e: &CredentialsError,
    profile: &str,
    only_imds_left: bool,
    sso: bool,
) -> anyhow::Error {
    let detail = error_chain(e);
    let lower = detail.to_ascii_lowercase();
    // an SSO profile (the sso-session form or the legacy sso_start_url form) whose token is
    // missing, unreadable or expired
    if sso
        || (lower.contains("sso")
            && (lower.contains("expired") || lower.contains("refresh") || lower.contains("token")))
    {
        return anyhow!(
            "the SSO session for AWS profile {profile:?} has expired or is missing: run `kctx login --profile {profile}` ({})",
            one_line(&detail)
        );
    }
    match e {
        CredentialsError::ProviderError(_) | CredentialsError::ProviderTimedOut(_)
            if only_imds_left =>
        {
            // under kubectl (which runs the plugin again on each retry) one short line
            if std::env::var_os("KUBERNETES_EXEC_INFO").is_some() {
                anyhow!("no AWS credentials found: {}", no_credentials_fix())
            } else {
                anyhow!(
                    "no AWS credentials found: {} (instance metadata: {})",
                    no_credentials_fix(),
                    one_line(&detail)
                )
            }
        }
        // a profile that names a missing source_profile (or another broken chain link)
        CredentialsError::CredentialsNotLoaded(_)
            if lower.contains("source profile") || lower.contains("was not defined") =>
        {
            anyhow!(
                "cannot load AWS credentials for profile {profile:?}: {}",
                one_line(detail.trim_start_matches("the credential provider was not enabled: "))
            )
        }
        CredentialsError::CredentialsNotLoaded(_) => {
            anyhow!("no AWS credentials found: {}", no_credentials_fix())
        }
        _ => anyhow!(
            "cannot load AWS credentials for profile {profile:?}: {}",
            one_line(&detail)
        ),
    }
}

/// `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true.
pub(crate) fn endpoint_override(service_env: &str) -> Option<String> {
    if env_bool("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") == Some(true) {
        return None;
    }
    env_nonempty(&format!("AWS_ENDPOINT_URL_{service_env}"))
        .or_else(|| env_nonempty("AWS_ENDPOINT_URL"))
}

/// The EKS endpoint requests go to, for messages: an override says which variable set it.
pub(crate) fn eks_endpoint_shown(region: &str) -> String {
    if env_bool("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") != Some(true) {
        for var in ["AWS_ENDPOINT_URL_EKS", "AWS_ENDPOINT_URL"] {
            if let Some(v) = env_nonempty(var) {
                return format!("the endpoint {v} (set by {var})");
            }
        }
    }
    format!(
        "https://eks.{region}.{}",
        crate::aws::sts::partition(region).dns_suffix
    )
}

/// One line for a failed SDK call: the service's `Code: message`, else the transport's error
/// chain (a 403 outside a service's model still carries its code).
pub(crate) fn sdk_error_line<E>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    match e
        .as_service_error()
        .and_then(|s| s.code().map(|c| (c, s.message())))
    {
        Some((code, msg)) => format!(
            "{code}: {}",
            crate::report::one_line(msg.unwrap_or("(no message)"))
        ),
        None => crate::report::one_line(&crate::report::error_chain(e)),
    }
}

/// Following `nextToken` with bounds: a token seen before, more than [`Pages::MAX`] pages, or
/// more than [`Pages::DEADLINE`] in all is an error — a service (or a double) that loops or
/// never ends a list must not keep kctx forever.
pub(crate) struct Pages {
    what: &'static str,
    seen: std::collections::HashSet<String>,
    start: std::time::Instant,
}

impl Pages {
    pub(crate) const MAX: usize = 1000;
    pub(crate) const DEADLINE: Duration = Duration::from_secs(300);

    /// For the listing `what` (e.g. `eks:ListClusters`).
    pub(crate) fn new(what: &'static str) -> Self {
        Self {
            what,
            seen: Default::default(),
            start: std::time::Instant::now(),
        }
    }

    /// The token to ask the next page with (`None`: the list is complete), or why to stop.
    pub(crate) fn next(
        &mut self,
        token: Option<String>,
    ) -> std::result::Result<Option<String>, String> {
        let Some(t) = token.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if !self.seen.insert(t.clone()) {
            return Err(format!(
                "{} returned a nextToken it had returned before; kctx stopped following it",
                self.what
            ));
        }
        if self.seen.len() >= Self::MAX {
            return Err(format!(
                "{} returned more than {} pages; kctx stopped following it",
                self.what,
                Self::MAX
            ));
        }
        if self.start.elapsed() > Self::DEADLINE {
            return Err(format!(
                "{} is still listing after {} s; kctx stopped following it",
                self.what,
                Self::DEADLINE.as_secs()
            ));
        }
        Ok(Some(t))
    }
}

/// Credentials of an assumed role.
pub(crate) struct RoleRequest<'a> {
    pub(crate) role_arn: &'a str,
    pub(crate) session_name: &'a str,
    pub(crate) external_id: Option<&'a str>,
}

/// STS AssumeRole with `base` credentials; honours endpoint overrides (unlike the token host).
/// Bounds for calls that must not stall a command (kubectl waits on `kctx token`): 5 s to
/// connect, 20 s per attempt.
pub(crate) fn bounded_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(20))
        .build()
}

pub(crate) fn assume_role(
    rt: &tokio::runtime::Runtime,
    base: Credentials,
    target: &Target,
    req: &RoleRequest<'_>,
) -> Result<Credentials> {
    let conf = sts_config(base, target)
        .to_builder()
        .timeout_config(bounded_timeouts())
        .build();
    let client = aws_sdk_sts::Client::from_conf(conf);
    let out = rt
        .block_on(
            client
                .assume_role()
                .role_arn(req.role_arn)
                .role_session_name(req.session_name)
                .set_external_id(req.external_id.map(str::to_owned))
                .send(),
        )
        .map_err(|e| {
            anyhow!(
                "cannot assume role {}: {}",
                req.role_arn,
                one_line(&error_chain(&e))
            )
        })?;
    let c = out.credentials.ok_or_else(|| {
        anyhow!(
            "STS AssumeRole for {} returned no credentials",
            req.role_arn
        )
    })?;
    let expiry = SystemTime::try_from(c.expiration).ok();
    Ok(Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        expiry,
        "AssumeRole",
    ))
}

/// What `kctx add` needs from EKS `DescribeCluster`.
#[derive(Debug, Clone)]
pub(crate) struct ClusterInfo {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) endpoint: String,
    pub(crate) ca_data: String,
    pub(crate) status: String,
    /// Kubernetes version (`1.31`).
    pub(crate) version: String,
    pub(crate) id: Option<String>,
    /// Local clusters on Outposts carry `outpostConfig` and are addressed by id.
    pub(crate) outpost: bool,
}

impl ClusterInfo {
    /// The region part of the cluster ARN (what update-kubeconfig writes into the exec args).
    pub(crate) fn arn_region(&self) -> Option<&str> {
        self.arn.split(':').nth(3).filter(|r| !r.is_empty())
    }
}

/// EKS `DescribeCluster`, honouring `AWS_ENDPOINT_URL_EKS` / `AWS_ENDPOINT_URL`.
pub(crate) fn describe_cluster(
    rt: &tokio::runtime::Runtime,
    creds: Credentials,
    target: &Target,
    name: &str,
) -> Result<ClusterInfo> {
    rt.block_on(describe_cluster_with(
        &eks_client(creds, target),
        &target.region,
        name,
    ))
}

/// DescribeCluster with a given client; errors name the cluster and region.
pub(crate) async fn describe_cluster_with(
    client: &aws_sdk_eks::Client,
    region: &str,
    name: &str,
) -> Result<ClusterInfo> {
    describe_cluster_opt(client, region, name).await?.ok_or_else(|| anyhow!(
        "EKS cluster {name:?} not found in region {region} (check the name, --region and the account of your credentials)"
    ))
}

/// DescribeCluster with a given client: `None` when EKS answers ResourceNotFoundException
/// (no such cluster for these credentials in this region); other errors name the cluster.
pub(crate) async fn describe_cluster_opt(
    client: &aws_sdk_eks::Client,
    region: &str,
    name: &str,
) -> Result<Option<ClusterInfo>> {
    use aws_sdk_eks::operation::describe_cluster::DescribeClusterError;
    let out = match client.describe_cluster().name(name).send().await {
        Ok(out) => out,
        Err(e) => match e.as_service_error() {
            Some(DescribeClusterError::ResourceNotFoundException(_)) => return Ok(None),
            _ => bail!(
                "cannot describe EKS cluster {name:?} in region {region}: {}",
                one_line(&error_chain(&e))
            ),
        },
    };
    let Some(c) = out.cluster else {
        return Ok(None);
    };
    let status = c
        .status
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    Ok(Some(ClusterInfo {
        name: c.name.clone().unwrap_or_else(|| name.to_owned()),
        arn: c.arn.clone().unwrap_or_default(),
        endpoint: c.endpoint.clone().unwrap_or_default(),
        ca_data: c
            .certificate_authority
            .as_ref()
            .and_then(|ca| ca.data.clone())
            .unwrap_or_default(),
        status,
        version: c.version.clone().unwrap_or_default(),
        id: c.id.clone(),
        outpost: c.outpost_config.is_some(),
    }))
}

/// STS GetCallerIdentity (honouring `AWS_ENDPOINT_URL_STS`).
pub(crate) fn get_caller_identity(
    rt: &tokio::runtime::Runtime,
    creds: Credentials,
    target: &Target,
) -> Result<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput> {
    let client = aws_sdk_sts::Client::from_conf(sts_config(creds, target));
    rt.block_on(client.get_caller_identity().send())
        .map_err(|e| {
            anyhow!(
                "STS GetCallerIdentity failed: {}",
                one_line(&error_chain(&e))
            )
        })
}

fn sts_config(creds: Credentials, target: &Target) -> aws_sdk_sts::Config {
    let mut b = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client())
        .region(Region::new(target.region.clone()))
        .credentials_provider(creds)
        .use_fips(target.variant.fips)
        .use_dual_stack(target.variant.dual_stack);
    if let Some(url) = endpoint_override("STS") {
        b = b.endpoint_url(url);
    }
    b.build()
}

/// An EKS client for `target` (honouring `AWS_ENDPOINT_URL_EKS` / `AWS_ENDPOINT_URL`).
pub(crate) fn eks_client(creds: Credentials, target: &Target) -> aws_sdk_eks::Client {
    let mut b = aws_sdk_eks::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client())
        .region(Region::new(target.region.clone()))
        .credentials_provider(creds)
        .use_fips(target.variant.fips)
        .use_dual_stack(target.variant.dual_stack);
    if let Some(url) = endpoint_override("EKS") {
        b = b.endpoint_url(url);
    }
    aws_sdk_eks::Client::from_conf(b.build())
}
