//! Finding the EKS clusters a set of identities can see: profiles × regions, in parallel.
//!
//! Credentials are resolved once per profile (each on its own thread: SSO and
//! credential_process are blocking work), then every (profile, region) lists its clusters
//! (ListClusters, paginated) and describes them: at most [`PER_REGION`] requests in flight to
//! one regional endpoint (EKS throttles per account and region) and [`CONCURRENCY`] in all, so
//! the regions are searched side by side. A profile or region that fails is reported and the
//! rest go on. With an IAM Identity Center session ([`SsoScope`]), the identities are every
//! (account, role) the session sees (see [`super::sso::accounts`]), and the regional bound is
//! per account, since each account is known.

use std::sync::Arc;

use anyhow::{bail, Result};
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_types::region::Region;
use indicatif::ProgressBar;
use tokio::sync::Semaphore;

use super::{ClusterInfo, Profiles, Target};

/// Requests in flight at once to one region's endpoint.
pub(crate) const PER_REGION: usize = 16;
/// Requests in flight at once, over every profile and region.
pub(crate) const CONCURRENCY: usize = 64;

/// The two bounds a request waits for.
#[derive(Clone)]
struct Limits {
    all: Arc<Semaphore>,
    region: Arc<Semaphore>,
}

impl Limits {
    async fn acquire(
        &self,
    ) -> (
        Option<tokio::sync::SemaphorePermit<'_>>,
        Option<tokio::sync::SemaphorePermit<'_>>,
    ) {
        // the regional bound first, so a busy region does not hold global permits while it waits
        let r = self.region.acquire().await.ok();
        let a = self.all.acquire().await.ok();
        (r, a)
    }
}

/// The regions of each partition, from the partition data the AWS SDK for Rust ships
/// (aws-sdk-eks 1.160 `endpoint_lib`, which has no public accessor; regenerate with the script
/// in scripts/regions.py when the SDK is bumped). `aws-global` left out.
pub const PARTITION_REGIONS: &[(&str, &[&str])] = &[
    (
        "aws",
        &[
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "mx-central-1",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
        ],
    ),
    ("aws-cn", &["cn-north-1", "cn-northwest-1"]),
    ("aws-us-gov", &["us-gov-east-1", "us-gov-west-1"]),
    ("aws-iso", &["us-iso-east-1", "us-iso-west-1"]),
    ("aws-iso-b", &["us-isob-east-1", "us-isob-west-1"]),
    ("aws-iso-e", &["eu-isoe-west-1"]),
    ("aws-iso-f", &["us-isof-east-1", "us-isof-south-1"]),
    ("aws-eusc", &["eusc-de-east-1"]),
];

/// The regions of `region`'s partition.
pub(crate) fn partition_regions(region: &str) -> &'static [&'static str] {
    let name = super::sts::partition(region).name;
    PARTITION_REGIONS
        .iter()
        .find(|(p, _)| *p == name)
        .map_or(PARTITION_REGIONS[0].1, |(_, r)| r)
}

/// What to search.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    /// Profiles (`None`: the current credentials, as every other command resolves them).
    pub(crate) profiles: Vec<Option<String>>,
    /// Regions; empty: each profile's own region.
    pub(crate) regions: Vec<String>,
    /// Every region of each profile's partition.
    pub(crate) all_regions: bool,
    /// DescribeCluster each found cluster (status, version, endpoint); off for names only.
    pub(crate) describe: bool,
    /// Instead of profiles: the accounts and roles an IAM Identity Center session sees.
    pub(crate) sso: Option<SsoScope>,
}

/// `--sso-session S [--sso-role-name R…] [--sso-account-id A…]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct SsoScope {
    pub(crate) session: String,
    pub(crate) filter: super::sso::accounts::Filter,
}

/// The account and role a cluster was seen with, through an IAM Identity Center session.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub(crate) struct SsoRole {
    pub(crate) account_id: String,
    pub(crate) account_name: String,
    pub(crate) role: String,
}

/// Where an IAM Identity Center search failed: an account (its roles could not be listed) or
/// one of its roles.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct SsoWhere {
    pub(crate) account_id: String,
    pub(crate) account_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) role: Option<String>,
}

/// What an IAM Identity Center search saw besides clusters.
#[derive(Debug, Default)]
pub(crate) struct SsoSeen {
    /// The session's `[sso-session]` name.
    pub(crate) session: String,
    /// Accounts the session can see.
    pub(crate) accounts: usize,
    /// The roles of each account searched.
    pub(crate) roles: Vec<(super::sso::portal::Account, Vec<String>)>,
}

/// Profiles left out of `--all-profiles`, with why.
pub(crate) type Skipped = Vec<(String, String)>;

/// The profiles `--all-profiles` searches (sorted), and those left out.
pub(crate) fn all_profiles() -> Result<(Vec<String>, Skipped)> {
    let p = Profiles::load(None)?;
    let mut usable = Vec::new();
    let mut skipped = Vec::new();
    for name in p.all() {
        match p.credential_source(&name) {
            Ok(_) => usable.push(name),
            Err(why) => skipped.push((name, why)),
        }
    }
    Ok((usable, skipped))
}

/// One cluster seen through one profile.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Found {
    pub(crate) name: String,
    pub(crate) region: String,
    pub(crate) profile: Option<String>,
    /// From DescribeCluster (absent when the scope does not describe).
    #[serde(skip)]
    pub(crate) info: Option<ClusterInfo>,
    /// The account and role it was seen with, for an IAM Identity Center search.
    #[serde(skip)]
    pub(crate) sso: Option<SsoRole>,
}

impl Found {
    pub(crate) fn arn(&self) -> Option<&str> {
        self.info
            .as_ref()
            .map(|i| i.arn.as_str())
            .filter(|a| !a.is_empty())
    }

    pub(crate) fn account(&self) -> Option<&str> {
        self.arn()
            .and_then(|a| a.split(':').nth(4))
            .or(self.sso.as_ref().map(|s| s.account_id.as_str()))
    }
}

/// A profile (region `None`) or a profile's region that could not be searched.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Failure {
    pub(crate) profile: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) error: String,
    /// For an IAM Identity Center search: the account (and role).
    #[serde(flatten)]
    pub(crate) sso: Option<SsoWhere>,
}

/// What a search found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub(crate) clusters: Vec<Found>,
    pub(crate) failures: Vec<Failure>,
    /// (profile, region) pairs searched completely.
    pub(crate) searched: Vec<(Option<String>, String)>,
    /// (profile, region) pairs skipped because the region is not enabled for the account
    /// (only with `all_regions`).
    pub(crate) not_enabled: Vec<(Option<String>, String)>,
    /// Each profile's account (from STS), when `accounts` was asked for.
    pub(crate) accounts: Vec<(Option<String>, String)>,
    /// For an IAM Identity Center search: (account and role, region) searched completely.
    pub(crate) sso_searched: Vec<(SsoRole, String)>,
    /// For an IAM Identity Center search: (account and role, region) not enabled.
    pub(crate) sso_not_enabled: Vec<(SsoRole, String)>,
    /// For an IAM Identity Center search: what the session saw.
    pub(crate) sso: Option<SsoSeen>,
}

/// A profile's (or an IAM Identity Center role's) credentials and the regions to search with
/// them.
struct Identity {
    profile: Option<String>,
    creds: Credentials,
    target: Target,
    regions: Vec<String>,
    sso: Option<SsoRole>,
}

fn resolve(profile: Option<String>, scope: &Scope) -> Result<Identity> {
    let args = super::AwsArgs {
        profile: profile.clone(),
        region: scope.regions.first().cloned(),
    };
    let mut profiles = None;
    // a profile without a region is fine when the regions come from elsewhere
    let target = match super::resolve_target(&args, &mut profiles) {
        Ok(t) => t,
        Err(_) if scope.all_regions => Target {
            region: "us-east-1".into(),
            variant: Default::default(),
        },
        Err(e) => bail!("{e:#}; or pass --region or --all-regions"),
    };
    let mut rt = None;
    let creds = super::sso::base_credentials(&args, &target, &mut profiles, &mut rt)?;
    let regions = if !scope.regions.is_empty() {
        scope.regions.clone()
    } else if scope.all_regions {
        partition_regions(&target.region)
            .iter()
            .map(|r| r.to_string())
            .collect()
    } else {
        vec![target.region.clone()]
    };
    Ok(Identity {
        profile,
        creds,
        target,
        regions,
        sso: None,
    })
}

/// With `--sso-session`: each (account, role) the session sees, with its credentials from the
/// portal, and the regions to search with it (`--region`/`--all-regions`, else AWS_REGION,
/// else the session's region). An account or role without credentials is a failure of its
/// own; a session without a usable token ends the search (with the `kctx login` to run).
fn sso_identities(
    scope: &Scope,
    sso: &SsoScope,
    progress: &ProgressBar,
    out: &mut Scan,
) -> Result<Vec<Identity>> {
    let profiles = Profiles::load(None)?;
    let session = super::sso::config::named(&profiles, &sso.session)?;
    let rt = super::runtime()?;
    // a sign-in prints on stderr: the progress bar steps aside meanwhile
    let token = progress.suspend(|| super::sso::access_token(&session, None, &rt))?;
    let client = super::sso::portal::client(&session.region);
    let seen = rt.block_on(super::sso::accounts::enumerate(
        &client,
        &token,
        &sso.filter,
        progress,
    ))?;
    let home = scope
        .regions
        .first()
        .cloned()
        .or_else(|| super::env_nonempty("AWS_REGION"))
        .or_else(|| super::env_nonempty("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| session.region.clone());
    let args = super::AwsArgs {
        profile: None,
        region: Some(home.clone()),
    };
    let target = super::resolve_target(&args, &mut Some(profiles))?;
    let regions = if !scope.regions.is_empty() {
        scope.regions.clone()
    } else if scope.all_regions {
        partition_regions(&home)
            .iter()
            .map(|r| r.to_string())
            .collect()
    } else {
        vec![home]
    };
    for (account, error) in seen.failed {
        out.failures.push(Failure {
            profile: None,
            region: None,
            error,
            sso: Some(SsoWhere {
                account_id: account.id,
                account_name: account.name,
                role: None,
            }),
        });
    }
    let mut ids = Vec::new();
    for rc in seen.picked {
        let role = SsoRole {
            account_id: rc.account.id,
            account_name: rc.account.name,
            role: rc.role,
        };
        match rc.creds {
            Ok(creds) => ids.push(Identity {
                profile: None,
                creds,
                target: target.clone(),
                regions: regions.clone(),
                sso: Some(role),
            }),
            Err(error) if sso.filter.credentials => out.failures.push(Failure {
                profile: None,
                region: None,
                error,
                sso: Some(SsoWhere {
                    account_id: role.account_id,
                    account_name: role.account_name,
                    role: Some(role.role),
                }),
            }),
            Err(_) => {}
        }
    }
    out.sso = Some(SsoSeen {
        session: sso.session.clone(),
        accounts: seen.accounts.len(),
        roles: seen.roles,
    });
    Ok(ids)
}

/// Each attempt bounded, so one unreachable endpoint cannot stall the search.
fn bounded() -> TimeoutConfig {
    super::bounded_timeouts()
}

/// An EKS client for discovery (bounded waits).
fn client(creds: &Credentials, target: &Target, region: &str) -> aws_sdk_eks::Client {
    let mut b = aws_sdk_eks::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .http_client(super::http_client())
        .region(Region::new(region.to_owned()))
        .credentials_provider(creds.clone())
        .use_fips(target.variant.fips)
        .use_dual_stack(target.variant.dual_stack)
        .timeout_config(bounded());
    if let Some(url) = super::endpoint_override("EKS") {
        b = b.endpoint_url(url);
    }
    aws_sdk_eks::Client::from_conf(b.build())
}

/// The regions of the `aws` partition that every account has (those launched before
/// March 2019); the others are opt-in. China and GovCloud regions are all enabled.
const ALWAYS_ENABLED: [&str; 17] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-south-1",
    "sa-east-1",
];

fn opt_in(region: &str) -> bool {
    super::sts::partition(region).name == "aws" && !ALWAYS_ENABLED.contains(&region)
}

/// Whether an error says the region is not enabled for the account: an opt-in region that
/// is not enabled answers every call as if the token were unknown. In a region every account
/// has, the same answer means the credentials are refused.
fn not_enabled<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(
    region: &str,
    e: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    opt_in(region)
        && e.as_service_error()
            .and_then(|s| s.code())
            .is_some_and(refused)
}

/// The codes of an answer that does not accept the request's credentials.
fn refused(code: &str) -> bool {
    matches!(
        code,
        "UnrecognizedClientException" | "InvalidClientTokenId" | "AuthFailure"
    )
}

/// One line for an SDK error ([`super::sdk_error_line`]), saying when the code means the
/// profile's credentials are refused.
fn error_line<
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
>(
    e: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> String {
    let line = super::sdk_error_line(e);
    let code = e.as_service_error().and_then(|s| s.code());
    if code.is_some_and(refused) {
        format!("{line} (the profile's credentials are not accepted)")
    } else {
        line
    }
}

enum Task {
    Account(Option<String>, Result<String, String>),
    Region(Option<String>, String, RegionResult),
    /// A region searched with an IAM Identity Center role.
    SsoRegion(SsoRole, String, RegionResult),
}

enum RegionResult {
    Done(Vec<Found>),
    NotEnabled,
    Failed(String),
}

async fn search_region(
    client: aws_sdk_eks::Client,
    profile: Option<String>,
    region: String,
    describe: bool,
    all_regions: bool,
    sem: Limits,
) -> RegionResult {
    let mut names = Vec::new();
    let mut token = None;
    let mut pages = super::Pages::new("eks:ListClusters");
    loop {
        let page = {
            let _permits = sem.acquire().await;
            client
                .list_clusters()
                .set_next_token(token.take())
                .send()
                .await
        };
        match page {
            Ok(p) => {
                names.extend(p.clusters.unwrap_or_default());
                match pages.next(p.next_token) {
                    Ok(Some(t)) => token = Some(t),
                    Ok(None) => break,
                    Err(why) => return RegionResult::Failed(why),
                }
            }
            Err(e) if all_regions && not_enabled(&region, &e) => return RegionResult::NotEnabled,
            Err(e) => return RegionResult::Failed(format!("eks:ListClusters: {}", error_line(&e))),
        }
    }
    let mut found = Vec::new();
    if !describe {
        for name in names {
            found.push(Found {
                name,
                region: region.clone(),
                profile: profile.clone(),
                info: None,
                sso: None,
            });
        }
        return RegionResult::Done(found);
    }
    let mut set = tokio::task::JoinSet::new();
    for name in names {
        let (client, sem, region) = (client.clone(), sem.clone(), region.clone());
        set.spawn(async move {
            let _permits = sem.acquire().await;
            let r = super::describe_cluster_with(&client, &region, &name).await;
            (name, r)
        });
    }
    let mut errors = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((name, Ok(info))) => found.push(Found {
                name,
                region: region.clone(),
                profile: profile.clone(),
                info: Some(info),
                sso: None,
            }),
            Ok((_, Err(e))) => errors.push(format!("{e:#}")),
            Err(e) => errors.push(format!("a DescribeCluster task failed: {e}")),
        }
    }
    if errors.is_empty() {
        RegionResult::Done(found)
    } else {
        RegionResult::Failed(errors.join("; "))
    }
}

/// Searches `scope`; `progress` counts (profile, region) pairs. With `accounts`, each
/// profile's account is asked of STS too (what pruning needs to stay within its account).
pub(crate) fn scan(scope: &Scope, accounts: bool, progress: &ProgressBar) -> Result<Scan> {
    let mut out = Scan::default();
    progress.set_message("credentials");
    let identities = match &scope.sso {
        Some(sso) => sso_identities(scope, sso, progress, &mut out)?,
        None => identities(scope, &mut out),
    };
    let total: usize = identities.iter().map(|i| i.regions.len()).sum();
    progress.set_length(total as u64);
    progress.set_message("searching");
    let rt = super::runtime()?;
    rt.block_on(search(scope, &identities, accounts, progress, &mut out));
    // a stable order: profiles as given (SSO: account, then role), then region, then name
    let order = |p: &Option<String>| {
        scope
            .profiles
            .iter()
            .position(|x| x == p)
            .unwrap_or(usize::MAX)
    };
    out.clusters.sort_by(|a, b| {
        (order(&a.profile), &a.sso, &a.region, &a.name).cmp(&(
            order(&b.profile),
            &b.sso,
            &b.region,
            &b.name,
        ))
    });
    let sso_key = |f: &Failure| {
        f.sso
            .as_ref()
            .map(|w| (w.account_id.clone(), w.role.clone()))
    };
    out.failures.sort_by(|a, b| {
        (order(&a.profile), sso_key(a), &a.region).cmp(&(order(&b.profile), sso_key(b), &b.region))
    });
    Ok(out)
}

/// Each profile's credentials, resolved by [`PER_REGION`] workers taking profiles from one
/// queue: a profile whose credentials take long (a slow credential_process, bounded by its
/// own limit) holds one worker, not the others. A profile without credentials is a failure
/// of its own.
fn identities(scope: &Scope, out: &mut Scan) -> Vec<Identity> {
    let queue = std::sync::Mutex::new(scope.profiles.iter().cloned().enumerate());
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PER_REGION.min(scope.profiles.len()) {
            s.spawn(|| loop {
                let next = queue.lock().ok().and_then(|mut q| q.next());
                let Some((i, p)) = next else { return };
                let r = resolve(p.clone(), scope);
                if let Ok(mut res) = results.lock() {
                    res.push((i, p, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _, _)| *i);
    let mut identities = Vec::new();
    for (_, p, r) in results {
        match r {
            Ok(id) => identities.push(id),
            Err(e) => out.failures.push(Failure {
                profile: p,
                region: None,
                error: format!("{e:#}"),
                sso: None,
            }),
        }
    }
    identities
}

/// Every (identity, region) searched side by side, bounded per regional endpoint and in
/// all; with `accounts`, each identity's account asked of STS too.
async fn search(
    scope: &Scope,
    identities: &[Identity],
    accounts: bool,
    progress: &ProgressBar,
    out: &mut Scan,
) {
    let all = Arc::new(Semaphore::new(CONCURRENCY));
    let mut regional: std::collections::HashMap<String, Arc<Semaphore>> = Default::default();
    let mut limits = |region: &str| Limits {
        all: all.clone(),
        region: regional
            .entry(region.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_REGION)))
            .clone(),
    };
    let mut set = tokio::task::JoinSet::new();
    for id in identities {
        if accounts && id.sso.is_none() {
            let conf = super::sts_config(id.creds.clone(), &id.target)
                .to_builder()
                .timeout_config(bounded())
                .build();
            let c = aws_sdk_sts::Client::from_conf(conf);
            let (profile, sem) = (id.profile.clone(), limits("sts"));
            set.spawn(async move {
                let _permits = sem.acquire().await;
                let account = match c.get_caller_identity().send().await {
                    Ok(o) => o
                        .account
                        .ok_or_else(|| "sts:GetCallerIdentity gave no account".to_owned()),
                    Err(e) => Err(format!("sts:GetCallerIdentity: {}", error_line(&e))),
                };
                Task::Account(profile, account)
            });
        }
        for region in &id.regions {
            let c = client(&id.creds, &id.target, region);
            // EKS throttles per account and region: an IAM Identity Center role's account is
            // known, so each account gets its own regional bound
            let bound = match &id.sso {
                Some(r) => format!("{}/{region}", r.account_id),
                None => region.clone(),
            };
            let (profile, region, sem) = (id.profile.clone(), region.clone(), limits(&bound));
            let (describe, all) = (scope.describe, scope.all_regions);
            let pb = progress.clone();
            let sso = id.sso.clone();
            set.spawn(async move {
                let r = search_region(c, profile.clone(), region.clone(), describe, all, sem).await;
                pb.inc(1);
                match sso {
                    Some(role) => Task::SsoRegion(role, region, r),
                    None => Task::Region(profile, region, r),
                }
            });
        }
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Err(e) => out.failures.push(Failure {
                profile: None,
                region: None,
                error: format!("a search task failed: {e}"),
                sso: None,
            }),
            Ok(task) => out.record(task),
        }
    }
}

impl Scan {
    /// Files one finished task's result.
    fn record(&mut self, task: Task) {
        match task {
            Task::Account(profile, Ok(account)) => self.accounts.push((profile, account)),
            // without its account nothing of the profile can be pruned safely: say so
            Task::Account(profile, Err(error)) => self.failures.push(Failure {
                profile,
                region: None,
                error: format!(
                    "{error}; its account is unknown, so none of its contexts is pruned"
                ),
                sso: None,
            }),
            Task::Region(profile, region, RegionResult::Done(found)) => {
                self.clusters.extend(found);
                self.searched.push((profile, region));
            }
            Task::Region(profile, region, RegionResult::NotEnabled) => {
                self.not_enabled.push((profile, region))
            }
            Task::Region(profile, region, RegionResult::Failed(error)) => {
                self.failures.push(Failure {
                    profile,
                    region: Some(region),
                    error,
                    sso: None,
                })
            }
            Task::SsoRegion(role, region, RegionResult::Done(mut found)) => {
                for f in &mut found {
                    f.sso = Some(role.clone());
                }
                self.clusters.extend(found);
                self.sso_searched.push((role, region));
            }
            Task::SsoRegion(role, region, RegionResult::NotEnabled) => {
                self.sso_not_enabled.push((role, region))
            }
            Task::SsoRegion(role, region, RegionResult::Failed(error)) => {
                self.failures.push(Failure {
                    profile: None,
                    region: Some(region),
                    error,
                    sso: Some(SsoWhere {
                        account_id: role.account_id,
                        account_name: role.account_name,
                        role: Some(role.role),
                    }),
                })
            }
        }
    }
}
