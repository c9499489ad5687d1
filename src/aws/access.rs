//! EKS access entries: who may use a cluster through the EKS API (not the aws-auth ConfigMap).

use std::fmt;

use anyhow::{anyhow, bail, Result};
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eks::types::{AccessScope, AccessScopeType};
use aws_smithy_runtime_api::http::Response as HttpResponse;

/// A cluster's authentication mode (`accessConfig.authenticationMode`): which of access
/// entries and the aws-auth ConfigMap EKS reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AuthMode {
    /// aws-auth only.
    ConfigMap,
    /// An access entry decides; without one, aws-auth.
    ApiAndConfigMap,
    /// Access entries only.
    Api,
}

impl AuthMode {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "CONFIG_MAP" => Some(Self::ConfigMap),
            "API_AND_CONFIG_MAP" => Some(Self::ApiAndConfigMap),
            "API" => Some(Self::Api),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ConfigMap => "CONFIG_MAP",
            Self::ApiAndConfigMap => "API_AND_CONFIG_MAP",
            Self::Api => "API",
        }
    }

    /// Whether EKS reads access entries in this mode.
    pub(crate) fn reads_entries(self) -> bool {
        self != Self::ConfigMap
    }

    /// Whether EKS reads aws-auth in this mode.
    pub(crate) fn reads_aws_auth(self) -> bool {
        self != Self::Api
    }
}

impl std::fmt::Display for AuthMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for AuthMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What DescribeCluster says of access.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccessConfig {
    pub(crate) mode: AuthMode,
    /// `bootstrapClusterCreatorAdminPermissions`: the creator is a cluster admin (in
    /// CONFIG_MAP mode invisibly; otherwise through an access entry EKS made).
    pub(crate) bootstrap_creator_admin: Option<bool>,
}

/// A cluster's access entries, through one EKS client.
pub(crate) struct Eks<'a> {
    pub(crate) rt: &'a tokio::runtime::Runtime,
    pub(crate) client: aws_sdk_eks::Client,
    pub(crate) cluster: String,
    pub(crate) region: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum Scope {
    Cluster,
    Namespace { namespaces: Vec<String> },
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Cluster => write!(f, "cluster"),
            Scope::Namespace { namespaces } => write!(f, "namespaces {}", namespaces.join(",")),
        }
    }
}

impl Scope {
    fn from_sdk(s: Option<&AccessScope>) -> Self {
        match s {
            Some(s) if s.r#type == Some(AccessScopeType::Namespace) => Scope::Namespace {
                namespaces: s.namespaces.clone().unwrap_or_default(),
            },
            _ => Scope::Cluster,
        }
    }

    fn to_sdk(&self) -> AccessScope {
        match self {
            Scope::Cluster => AccessScope::builder()
                .r#type(AccessScopeType::Cluster)
                .build(),
            Scope::Namespace { namespaces } => AccessScope::builder()
                .r#type(AccessScopeType::Namespace)
                .set_namespaces(Some(namespaces.clone()))
                .build(),
        }
    }

    pub(crate) fn from_namespaces(ns: &[String]) -> Self {
        if ns.is_empty() {
            Scope::Cluster
        } else {
            let mut namespaces = ns.to_vec();
            namespaces.sort();
            namespaces.dedup();
            Scope::Namespace { namespaces }
        }
    }

    fn normalized(&self) -> Self {
        match self {
            Scope::Namespace { namespaces } => Self::from_namespaces(namespaces),
            s => s.clone(),
        }
    }
}

/// What CreateAccessEntry is given besides the principal.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewEntry {
    /// STANDARD (default), EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, HYBRID_LINUX
    pub(crate) kind: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) groups: Vec<String>,
}

/// Entry types that EKS accepts, and whether each takes username, groups and policies.
pub(crate) const ENTRY_TYPES: [&str; 5] = [
    "STANDARD",
    "EC2_LINUX",
    "EC2_WINDOWS",
    "FARGATE_LINUX",
    "HYBRID_LINUX",
];

/// Checks a new entry as EKS would, before calling it: known type; node types take no
/// username, groups or policy (and must be roles); no `system:` groups; no reserved username
/// prefix; `{{SessionName}}` with a `:` before it.
pub(crate) fn validate_entry(principal: &str, e: &NewEntry, policy: bool) -> Result<()> {
    let kind = e.kind.as_deref().unwrap_or("STANDARD");
    if !ENTRY_TYPES.contains(&kind) {
        bail!(
            "unknown access entry type {kind:?} (one of {})",
            ENTRY_TYPES.join(", ")
        );
    }
    if kind != "STANDARD" {
        if e.username.is_some() || !e.groups.is_empty() || policy {
            bail!("a {kind} access entry takes no --username, --kubernetes-groups or --policy (EKS gives node entries their own)");
        }
        if !principal.contains(":role/") {
            bail!("a {kind} access entry needs an IAM role, not {principal}");
        }
    }
    if principal.contains(":role/aws-service-role/") {
        bail!("{principal} is a service-linked role: EKS does not allow access entries for it");
    }
    if let Some(g) = e.groups.iter().find(|g| g.starts_with("system:")) {
        bail!("the Kubernetes group {g:?} is not allowed in an access entry (names starting with \"system:\" are reserved)");
    }
    if let Some(u) = &e.username {
        if let Some(p) = RESERVED_USERNAME_PREFIXES
            .iter()
            .find(|p| u.starts_with(**p))
        {
            bail!("the username {u:?} is not allowed in an access entry (usernames may not start with {p:?})");
        }
        if let Some((before, _)) = u.split_once("{{SessionName}}") {
            if !before.contains(':') {
                bail!("the username {u:?} needs a ':' before {{{{SessionName}}}} (e.g. \"dev:{{{{SessionName}}}}\")");
            }
        }
    }
    Ok(())
}

/// Username prefixes EKS reserves for itself.
pub(crate) const RESERVED_USERNAME_PREFIXES: [&str; 5] =
    ["system:", "eks:", "aws:", "amazon:", "iam:"];

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Policy {
    pub(crate) policy_arn: String,
    pub(crate) scope: Scope,
}

impl Policy {
    pub(crate) fn name(&self) -> &str {
        policy_name(&self.policy_arn)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Entry {
    pub(crate) principal_arn: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) username: String,
    pub(crate) groups: Vec<String>,
    pub(crate) policies: Vec<Policy>,
}

impl Entry {
    pub(crate) fn grants_something(&self) -> bool {
        !self.policies.is_empty() || !self.groups.is_empty()
    }
}

/// The last segment of a policy ARN.
pub(crate) fn policy_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A full policy ARN from an ARN, a policy name, or a short form
/// (`cluster-admin`, `admin`, `edit`, `view`, `admin-view`).
///
/// An ARN must be exactly `arn:<partition>:eks::aws:cluster-access-policy/<Name>` with a
/// name of letters and digits (the only shape EKS's policy ARNs have), in the cluster's
/// partition: anything else (`…/AmazonEKSClusterAdminPolicy/../AmazonEKSViewPolicy`) is
/// refused, so the policy named in kctx's report is always the one sent.
pub(crate) fn policy_arn(input: &str, partition: &str) -> Result<String> {
    let shape = format!("arn:{partition}:eks::aws:cluster-access-policy/NAME");
    if input.starts_with("arn:") {
        let p: Vec<&str> = input.splitn(6, ':').collect();
        let name = (p.len() == 6 && p[2] == "eks" && p[3].is_empty() && p[4] == "aws")
            .then(|| p[5].strip_prefix("cluster-access-policy/"))
            .flatten()
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric()));
        let Some(name) = name else {
            bail!("{input:?} is not an access policy ARN: it must be exactly {shape}, NAME in letters and digits (e.g. AmazonEKSViewPolicy)");
        };
        if p[1] != partition {
            bail!(
                "{input:?} is in partition {:?}, the cluster in {partition:?}: use {shape}",
                p[1]
            );
        }
        return Ok(format!(
            "arn:{partition}:eks::aws:cluster-access-policy/{name}"
        ));
    }
    let name = match input.to_ascii_lowercase().as_str() {
        "cluster-admin" | "clusteradmin" => "AmazonEKSClusterAdminPolicy",
        "admin" => "AmazonEKSAdminPolicy",
        "edit" => "AmazonEKSEditPolicy",
        "view" => "AmazonEKSViewPolicy",
        "admin-view" => "AmazonEKSAdminViewPolicy",
        _ if input.starts_with("Amazon") && input.bytes().all(|b| b.is_ascii_alphanumeric()) => input,
        _ => bail!(
            "unknown access policy {input:?}: use a policy ARN, a name such as AmazonEKSViewPolicy, or cluster-admin, admin, edit, view"
        ),
    };
    Ok(format!(
        "arn:{partition}:eks::aws:cluster-access-policy/{name}"
    ))
}

/// Checks the namespaces of a namespace scope before any call: each a DNS label (RFC 1123:
/// at most 63 of `a-z`, `0-9`, `-`, starting and ending with a letter or digit, as
/// Kubernetes requires of a namespace name), or such a prefix followed by one `*`, the
/// wildcard EKS allows at the end of a name (`dev-*`: every namespace starting with `dev-`).
pub(crate) fn validate_namespaces(namespaces: &[String]) -> Result<()> {
    for ns in namespaces {
        let (body, wildcard) = match ns.strip_suffix('*') {
            Some(b) => (b, true),
            None => (ns.as_str(), false),
        };
        let chars_ok = body
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let starts_ok = body
            .bytes()
            .next()
            .is_none_or(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let ends_ok = wildcard
            || body
                .bytes()
                .last()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ns.is_empty() {
            bail!("--namespace \"\" is empty: an access policy's namespace scope names namespaces (leave --namespace out for the whole cluster)");
        }
        if !(chars_ok && starts_ok && ends_ok) || ns.len() > 63 {
            bail!("invalid namespace {ns:?} for an access policy's scope: a namespace is a DNS label (at most 63 of a-z, 0-9 and '-', starting and ending with a letter or digit), optionally ending in '*' to match a prefix (dev-*)");
        }
    }
    Ok(())
}

/// The partition of a region (for policy ARNs).
pub(crate) fn partition(region: &str) -> &'static str {
    crate::aws::sts::partition(region).name
}

/// How far a paginated EKS list may go: a looping `nextToken` or an endless list stops with
/// an error instead of holding kctx (and its memory) forever.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageLimits {
    pub(crate) max_pages: usize,
    pub(crate) deadline: std::time::Duration,
}

/// Access-entry lists: EKS pages hold up to 100 items, so 1000 pages is 100 000 entries or
/// policies, far beyond EKS's quotas; two minutes is far beyond any real listing.
pub(crate) const ENTRY_PAGES: PageLimits = PageLimits {
    max_pages: 1000,
    deadline: std::time::Duration::from_secs(120),
};

/// Collects every page: `page(token)` returns one page's items and the next token. Stops
/// with an error naming `what` when a token comes back a second time, after
/// `limits.max_pages` pages, or past `limits.deadline`.
pub(crate) fn paginate<T>(
    what: &str,
    limits: PageLimits,
    mut page: impl FnMut(Option<String>) -> Result<(Vec<T>, Option<String>)>,
) -> Result<Vec<T>> {
    let start = std::time::Instant::now();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut token = None;
    let mut n = 0usize;
    loop {
        n += 1;
        let (items, next) = page(token.take())?;
        out.extend(items);
        let next = match next {
            Some(t) if !t.is_empty() => t,
            _ => return Ok(out),
        };
        if !seen.insert(next.clone()) {
            let shown: String = next.chars().take(40).collect();
            bail!("{what}: page {n} gave a nextToken ({shown:?}) that an earlier page gave: the list loops, stopping");
        }
        if n >= limits.max_pages {
            bail!(
                "{what}: still more after {n} pages ({} items): stopping",
                out.len()
            );
        }
        if start.elapsed() > limits.deadline {
            bail!(
                "{what}: still more after {:.0?} ({n} pages, {} items): stopping",
                limits.deadline,
                out.len()
            );
        }
        token = Some(next);
    }
}

/// Is this error EKS's "not found"?
fn not_found<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ResourceNotFoundException")
}

impl Eks<'_> {
    /// One line naming the operation, the cluster, and for access denied the permission. A
    /// reply that is not an EKS API answer (a proxy's HTML page, a test double) shows its HTTP
    /// status and the endpoint, and says when an `AWS_ENDPOINT_URL*` override chose it.
    fn err<E>(&self, op: &str, e: SdkError<E, HttpResponse>) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let svc = e.as_service_error();
        let code = svc.and_then(|s| s.code()).unwrap_or("");
        let msg = svc.and_then(|s| s.message()).unwrap_or("").to_owned();
        match code {
            "AccessDeniedException" => anyhow!(
                "missing permission eks:{op} on cluster {:?} in {}: the caller may not call it ({})",
                self.cluster,
                self.region,
                crate::report::one_line(&msg)
            ),
            "ResourceNotFoundException" if op == "DescribeCluster" => anyhow!(
                "EKS cluster {:?} not found in region {}",
                self.cluster,
                self.region
            ),
            "" => match e.raw_response() {
                Some(raw) => anyhow!(
                    "eks:{op} on cluster {:?}: {} answered HTTP {} with something that is not an EKS API response{}",
                    self.cluster,
                    crate::aws::eks_endpoint_shown(&self.region),
                    raw.status().as_u16(),
                    raw.headers()
                        .get("content-type")
                        .map(|t| format!(" ({t})"))
                        .unwrap_or_default()
                ),
                None => anyhow!(
                    "eks:{op} on cluster {:?} failed ({}): {}",
                    self.cluster,
                    crate::aws::eks_endpoint_shown(&self.region),
                    crate::report::one_line(&crate::report::error_chain(&e))
                ),
            },
            _ => anyhow!(
                "eks:{op} on cluster {:?} failed: {code}: {}",
                self.cluster,
                crate::report::one_line(&msg)
            ),
        }
    }

    /// `accessConfig` of the cluster: its authentication mode (CONFIG_MAP when EKS reports
    /// none) and whether its creator was made an admin.
    pub(crate) fn access_config(&self) -> Result<AccessConfig> {
        let out = self
            .rt
            .block_on(self.client.describe_cluster().name(&self.cluster).send())
            .map_err(|e| self.err("DescribeCluster", e))?;
        let ac = out.cluster.and_then(|c| c.access_config);
        let mode = match ac.as_ref().and_then(|a| a.authentication_mode.as_ref()) {
            None => AuthMode::ConfigMap,
            Some(m) => AuthMode::parse(m.as_str()).ok_or_else(|| {
                anyhow!(
                    "cluster {:?} reports authentication mode {:?}, which kctx does not know",
                    self.cluster,
                    m.as_str()
                )
            })?,
        };
        Ok(AccessConfig {
            mode,
            bootstrap_creator_admin: ac.and_then(|a| a.bootstrap_cluster_creator_admin_permissions),
        })
    }

    /// `accessConfig.authenticationMode` (CONFIG_MAP when EKS reports none).
    pub(crate) fn authentication_mode(&self) -> Result<AuthMode> {
        Ok(self.access_config()?.mode)
    }

    /// Every access entry's principal ARN, following `nextToken`.
    pub(crate) fn list_entries(&self) -> Result<Vec<String>> {
        let what = format!("eks:ListAccessEntries on cluster {:?}", self.cluster);
        paginate(&what, ENTRY_PAGES, |token| {
            let page = self
                .rt
                .block_on(
                    self.client
                        .list_access_entries()
                        .cluster_name(&self.cluster)
                        .set_next_token(token)
                        .send(),
                )
                .map_err(|e| self.err("ListAccessEntries", e))?;
            Ok((page.access_entries.unwrap_or_default(), page.next_token))
        })
    }

    /// One entry with its policies; `None` when there is no such entry.
    pub(crate) fn entry(&self, principal: &str) -> Result<Option<Entry>> {
        let out = match self.rt.block_on(
            self.client
                .describe_access_entry()
                .cluster_name(&self.cluster)
                .principal_arn(principal)
                .send(),
        ) {
            Ok(o) => o,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(self.err("DescribeAccessEntry", e)),
        };
        let e = out
            .access_entry
            .unwrap_or_else(|| aws_sdk_eks::types::AccessEntry::builder().build());
        Ok(Some(Entry {
            principal_arn: e.principal_arn.unwrap_or_else(|| principal.to_owned()),
            kind: e.r#type.unwrap_or_default(),
            username: e.username.unwrap_or_default(),
            groups: e.kubernetes_groups.unwrap_or_default(),
            policies: self.policies(principal)?,
        }))
    }

    /// The access policies associated with an entry, following `nextToken`.
    pub(crate) fn policies(&self, principal: &str) -> Result<Vec<Policy>> {
        let what = format!(
            "eks:ListAssociatedAccessPolicies of {principal} on cluster {:?}",
            self.cluster
        );
        paginate(&what, ENTRY_PAGES, |token| {
            let page = self
                .rt
                .block_on(
                    self.client
                        .list_associated_access_policies()
                        .cluster_name(&self.cluster)
                        .principal_arn(principal)
                        .set_next_token(token)
                        .send(),
                )
                .map_err(|e| self.err("ListAssociatedAccessPolicies", e))?;
            let items = page
                .associated_access_policies
                .unwrap_or_default()
                .into_iter()
                .map(|p| Policy {
                    policy_arn: p.policy_arn.unwrap_or_default(),
                    scope: Scope::from_sdk(p.access_scope.as_ref()),
                })
                .collect();
            Ok((items, page.next_token))
        })
    }

    /// The names of the access policies EKS offers (ListAccessPolicies), following
    /// `nextToken`.
    pub(crate) fn access_policy_names(&self) -> Result<Vec<String>> {
        paginate("eks:ListAccessPolicies", ENTRY_PAGES, |token| {
            let page = self
                .rt
                .block_on(
                    self.client
                        .list_access_policies()
                        .set_next_token(token)
                        .send(),
                )
                .map_err(|e| self.err("ListAccessPolicies", e))?;
            let names = page
                .access_policies
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.name)
                .collect();
            Ok((names, page.next_token))
        })
    }

    /// The entry that admits `principal`: its exact ARN, else (for roles) an entry naming the
    /// same role with a path.
    pub(crate) fn find_for(&self, principal: &str) -> Result<Option<Entry>> {
        if let Some(e) = self.entry(principal)? {
            return Ok(Some(e));
        }
        if !principal.contains(":role/") {
            return Ok(None);
        }
        let all = self.list_entries()?;
        match all
            .iter()
            .find(|a| crate::aws::identity::same_principal(a, principal))
        {
            Some(arn) => self.entry(arn),
            None => Ok(None),
        }
    }

    /// CreateAccessEntry with a type, username and Kubernetes groups.
    pub(crate) fn create_entry_with(&self, principal: &str, e: &NewEntry) -> Result<()> {
        self.rt
            .block_on(
                self.client
                    .create_access_entry()
                    .cluster_name(&self.cluster)
                    .principal_arn(principal)
                    .r#type(e.kind.as_deref().unwrap_or("STANDARD"))
                    .set_username(e.username.clone())
                    .set_kubernetes_groups((!e.groups.is_empty()).then(|| e.groups.clone()))
                    .send(),
            )
            .map_err(|err| self.err("CreateAccessEntry", err))?;
        Ok(())
    }

    /// UpdateAccessEntry: a STANDARD entry's username and groups.
    pub(crate) fn update_entry(
        &self,
        principal: &str,
        username: Option<&str>,
        groups: Option<&[String]>,
    ) -> Result<()> {
        self.rt
            .block_on(
                self.client
                    .update_access_entry()
                    .cluster_name(&self.cluster)
                    .principal_arn(principal)
                    .set_username(username.map(str::to_owned))
                    .set_kubernetes_groups(groups.map(<[String]>::to_vec))
                    .send(),
            )
            .map_err(|err| self.err("UpdateAccessEntry", err))?;
        Ok(())
    }

    /// UpdateClusterConfig of `accessConfig.authenticationMode`; returns the update's id.
    pub(crate) fn set_authentication_mode(&self, mode: AuthMode) -> Result<String> {
        use aws_sdk_eks::types::{AuthenticationMode, UpdateAccessConfigRequest};
        let out = self
            .rt
            .block_on(
                self.client
                    .update_cluster_config()
                    .name(&self.cluster)
                    .access_config(
                        UpdateAccessConfigRequest::builder()
                            .authentication_mode(AuthenticationMode::from(mode.as_str()))
                            .build(),
                    )
                    .send(),
            )
            .map_err(|err| self.err("UpdateClusterConfig", err))?;
        out.update.and_then(|u| u.id).ok_or_else(|| {
            anyhow!(
                "eks:UpdateClusterConfig on cluster {:?} returned no update id",
                self.cluster
            )
        })
    }

    /// DescribeUpdate: (status, error messages).
    pub(crate) fn update_status(&self, id: &str) -> Result<(String, Vec<String>)> {
        let out = self
            .rt
            .block_on(
                self.client
                    .describe_update()
                    .name(&self.cluster)
                    .update_id(id)
                    .send(),
            )
            .map_err(|err| self.err("DescribeUpdate", err))?;
        let u = out.update.ok_or_else(|| {
            anyhow!(
                "eks:DescribeUpdate on cluster {:?} returned no update",
                self.cluster
            )
        })?;
        let errors = u
            .errors
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e.error_code
                        .map(|c| c.as_str().to_owned())
                        .unwrap_or_default(),
                    e.error_message.unwrap_or_default()
                )
            })
            .collect();
        Ok((
            u.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            errors,
        ))
    }

    pub(crate) fn delete_entry(&self, principal: &str) -> Result<()> {
        self.rt
            .block_on(
                self.client
                    .delete_access_entry()
                    .cluster_name(&self.cluster)
                    .principal_arn(principal)
                    .send(),
            )
            .map_err(|e| self.err("DeleteAccessEntry", e))?;
        Ok(())
    }

    pub(crate) fn associate(&self, principal: &str, policy_arn: &str, scope: &Scope) -> Result<()> {
        self.rt
            .block_on(
                self.client
                    .associate_access_policy()
                    .cluster_name(&self.cluster)
                    .principal_arn(principal)
                    .policy_arn(policy_arn)
                    .access_scope(scope.to_sdk())
                    .send(),
            )
            .map_err(|e| self.err("AssociateAccessPolicy", e))?;
        Ok(())
    }

    pub(crate) fn disassociate(&self, principal: &str, policy_arn: &str) -> Result<()> {
        self.rt
            .block_on(
                self.client
                    .disassociate_access_policy()
                    .cluster_name(&self.cluster)
                    .principal_arn(principal)
                    .policy_arn(policy_arn)
                    .send(),
            )
            .map_err(|e| self.err("DisassociateAccessPolicy", e))?;
        Ok(())
    }
}

/// Whether `existing` already grants `policy_arn` with `scope` (namespaces compared as sets).
pub(crate) fn has_policy(existing: &[Policy], policy_arn: &str, scope: &Scope) -> bool {
    existing
        .iter()
        .any(|p| p.policy_arn == policy_arn && p.scope.normalized() == scope.normalized())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_forms() {
        let view = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
        assert_eq!(policy_arn("view", "aws").unwrap(), view);
        assert_eq!(policy_arn("AmazonEKSViewPolicy", "aws").unwrap(), view);
        assert_eq!(policy_arn(view, "aws").unwrap(), view);
        assert_eq!(
            policy_arn("cluster-admin", "aws-cn").unwrap(),
            "arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        );
        assert!(policy_arn("root", "aws").is_err());
        // an ARN names exactly one policy, or is refused
        for bad in [
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy/../AmazonEKSViewPolicy",
            "arn:aws:eks::aws:cluster-access-policy/",
            "arn:aws:eks::aws:cluster-access-policy/Amazon EKS",
            "arn:aws:eks:us-west-2:aws:cluster-access-policy/AmazonEKSViewPolicy",
            "arn:aws:eks::123456789012:cluster-access-policy/AmazonEKSViewPolicy",
            "arn:aws:iam::aws:policy/AmazonEKSViewPolicy",
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy?x",
        ] {
            let e = policy_arn(bad, "aws").unwrap_err().to_string();
            assert!(e.contains("is not an access policy ARN"), "{bad}: {e}");
        }
        let e = policy_arn(
            "arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
            "aws",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("partition \"aws-cn\""), "{e}");
        assert_eq!(
            policy_arn("AmazonEKSSecretReaderPolicy", "aws").unwrap(),
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSSecretReaderPolicy"
        );
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn namespaces_of_a_scope_are_dns_labels_or_prefixes() {
        let v = |ns: &[&str]| {
            validate_namespaces(&ns.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert!(v(&["dev", "team-a", "a", "dev-*", "*", "0x"]).is_ok());
        let e = v(&[""]).unwrap_err().to_string();
        assert!(e.starts_with("--namespace \"\" is empty"), "{e}");
        for bad in [
            "Dev",
            "-dev",
            "dev-",
            "dev_x",
            "dev*x",
            "d*-*",
            "dev.x",
            &"a".repeat(64),
        ] {
            assert!(v(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn pagination_stops_on_a_repeated_token_a_page_cap_and_a_deadline() {
        let limits = PageLimits {
            max_pages: 50,
            deadline: std::time::Duration::from_secs(60),
        };
        // three pages, tokens "1" and "2": all items
        let pages = [
            (vec![1, 2], Some("1")),
            (vec![3], Some("2")),
            (vec![4], None),
        ];
        let mut calls = Vec::new();
        let all = paginate("list", limits, |t| {
            calls.push(t.clone());
            let i = t.map_or(0, |t| t.parse::<usize>().unwrap());
            Ok((pages[i].0.clone(), pages[i].1.map(String::from)))
        })
        .unwrap();
        assert_eq!(all, [1, 2, 3, 4]);
        assert_eq!(calls, [None, Some("1".into()), Some("2".into())]);
        // an empty token ends the list too
        assert_eq!(
            paginate("l", limits, |_| Ok((vec![1], Some(String::new())))).unwrap(),
            [1]
        );
        // a token that comes back: A, B, A
        let mut n = 0;
        let e = paginate("eks:ListAccessEntries on cluster \"c\"", limits, |_| {
            n += 1;
            Ok((vec![n], Some(if n % 2 == 1 { "A" } else { "B" }.to_owned())))
        })
        .unwrap_err()
        .to_string();
        assert_eq!(n, 3);
        assert!(e.starts_with("eks:ListAccessEntries on cluster \"c\": page 3 gave a nextToken (\"A\") that an earlier page gave"), "{e}");
        // an endless list of new tokens: the page cap
        let mut n = 0;
        let e = paginate("l", limits, |_| {
            n += 1;
            Ok((vec![0u8; 10], Some(n.to_string())))
        })
        .unwrap_err()
        .to_string();
        assert_eq!(n, 50);
        assert!(e.contains("still more after 50 pages (500 items)"), "{e}");
        // and the deadline
        let quick = PageLimits {
            max_pages: 1_000_000,
            deadline: std::time::Duration::from_millis(30),
        };
        let mut n = 0;
        let e = paginate("l", quick, |_| {
            n += 1;
            std::thread::sleep(std::time::Duration::from_millis(5));
            Ok((vec![()], Some(n.to_string())))
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("still more after 30ms") && n < 100, "{n}: {e}");
    }

    #[test]
    fn scopes_compare_as_sets() {
        let a = Scope::from_namespaces(&["b".into(), "a".into()]);
        let p = [Policy {
            policy_arn: "x".into(),
            scope: Scope::Namespace {
                namespaces: vec!["a".into(), "b".into()],
            },
        }];
        assert!(has_policy(&p, "x", &a));
        assert!(!has_policy(&p, "x", &Scope::Cluster));
        assert_eq!(a.to_string(), "namespaces a,b");
    }
}
