//! `kctx access`: may the caller use the cluster — through an access entry or the aws-auth
//! ConfigMap, by EKS's rules for the cluster's authentication mode, reconciled with what the
//! cluster itself answers (`check.rs`); what it may do there (`check.rs`, `can_i.rs`); what
//! access policies allow (`policies.rs`); `list`, `grant`, `revoke`, and `migrate` (aws-auth →
//! access entries, in `migrate.rs`).

mod can_i;
mod check;
mod migrate;
mod policies;

use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::Run;
use crate::aws::access::{self, Eks, Entry, NewEntry, Scope};
use crate::aws::auth_map::AuthMap;
use crate::aws::identity::{self, Caller};
use crate::aws::{self, AwsArgs};
use crate::cli::{
    AccessArgs, AccessCommand, AccessListArgs, AccessTarget, AwsAuthArgs, GrantArgs, MigrateArgs,
    ReportFormat, RevokeArgs,
};
use crate::kube::{self, CallError};
use crate::kubeconfig::{EksExec, Kind, Merged};

/// Exit codes of `kctx access` (check): 0 granted, these otherwise, 1 for errors and when
/// nothing decides. `kctx access can-i` answers no with [`EXIT_GRANTS_NOTHING`].
pub(crate) const EXIT_REFUSED: u8 = 3;
pub(crate) const EXIT_GRANTS_NOTHING: u8 = 4;
pub(crate) const EXIT_UNKNOWN: u8 = 1;

/// A resolved cluster with the credentials to act on it.
struct Resolved {
    rt: tokio::runtime::Runtime,
    creds: aws_credential_types::Credentials,
    target: aws::Target,
    cluster: String,
    /// The kubeconfig context used (or one whose cluster this is, for reading aws-auth).
    context: Option<String>,
    /// Whether the context was asked for (or is the current one), not just found.
    from_context: bool,
    /// Whether the cluster, reached through `context`, sees the identity checked here (the
    /// context's own credentials, no `--profile` instead): only then do its answers (who it
    /// says the caller is, what it lets it do) speak for the caller.
    speaks_for_caller: bool,
}

impl Resolved {
    fn eks(&self) -> Eks<'_> {
        Eks {
            rt: &self.rt,
            client: aws::eks_client(self.creds.clone(), &self.target),
            cluster: self.cluster.clone(),
            region: self.target.region.clone(),
        }
    }

    fn caller(&self) -> Result<Caller> {
        identity::caller(&self.rt, self.creds.clone(), &self.target)
    }

    fn partition(&self) -> &'static str {
        access::partition(&self.target.region)
    }
}

/// The contexts whose cluster is EKS cluster `name`, with their user's exec.
fn contexts_for_cluster(m: &Merged, name: &str) -> Vec<(String, EksExec)> {
    m.names(Kind::Contexts)
        .into_iter()
        .filter_map(|ctx| {
            let user = m.field(Kind::Contexts, &ctx, "user")?;
            let exec = EksExec::from_user(&m.body(Kind::Users, user)?)?;
            let cluster = m.field(Kind::Contexts, &ctx, "cluster").unwrap_or("");
            let by_arn = cluster.starts_with("arn:") && cluster.rsplit('/').next() == Some(name);
            (exec.cluster.as_deref() == Some(name) || by_arn).then_some((ctx, exec))
        })
        .collect()
}

/// A named cluster uses the default credentials (`--profile`, `--region`); otherwise the
/// context's cluster, region and exec identity.
fn resolve(cluster: Option<&str>, t: &AccessTarget) -> Result<Resolved> {
    let mut rt = None;
    let (creds, target, cluster, context, from_context) = match cluster {
        Some(name) => {
            let args = AwsArgs {
                profile: t.profile.clone(),
                region: t
                    .region
                    .clone()
                    .or_else(|| cluster_region(name, t.profile.as_deref())),
            };
            let (c, tg) = identity::base_and_role(&args, None, None, &mut rt)?;
            let ctx = contexts_for_cluster(&Merged::load(), name)
                .into_iter()
                .next()
                .map(|(c, _)| c);
            (c, tg, name.to_owned(), ctx, false)
        }
        None => {
            let merged = Merged::load();
            let mut ctx = crate::eks::eks_context(&merged, t.context.as_deref())?;
            if t.region.is_some() {
                ctx.exec.region = t.region.clone();
            }
            let (c, tg) = crate::eks::exec_credentials(&ctx.exec, t.profile.as_deref(), &mut rt)?;
            (c, tg, ctx.cluster_name, Some(ctx.context), true)
        }
    };
    let rt = match rt {
        Some(rt) => rt,
        None => aws::runtime()?,
    };
    Ok(Resolved {
        rt,
        creds,
        target,
        cluster,
        context,
        speaks_for_caller: from_context && t.profile.is_none(),
        from_context,
    })
}

/// The region of a named cluster when `--region` is not given: a context whose cluster it is
/// (its user's exec says the region); else the usual AWS settings; else the current context's.
fn cluster_region(name: &str, profile: Option<&str>) -> Option<String> {
    let m = Merged::load();
    let region_of = |ctx: &str, exec: &EksExec| {
        exec.region.clone().or_else(|| {
            m.field(Kind::Contexts, ctx, "cluster")
                .and_then(|c| c.split(':').nth(3))
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
        })
    };
    if let Some(r) = contexts_for_cluster(&m, name)
        .iter()
        .find_map(|(ctx, exec)| region_of(ctx, exec))
    {
        return Some(r);
    }
    let configured = aws::resolve_target(
        &AwsArgs {
            profile: profile.map(str::to_owned),
            region: None,
        },
        &mut None,
    );
    if configured.is_ok() {
        return None;
    }
    let current = m.current_context()?;
    let user = m.field(Kind::Contexts, current, "user")?;
    let exec = EksExec::from_user(&m.body(Kind::Users, user)?)?;
    region_of(current, &exec)
}

/// What could be learnt of aws-auth.
enum AwsAuth {
    Read {
        map: AuthMap,
        from: String,
    },
    Absent {
        from: String,
    },
    /// The cluster refused the identity itself (401): neither entry nor aws-auth maps it.
    Unauthorized {
        from: String,
    },
    /// The cluster accepted the identity but may not show it aws-auth (403).
    Forbidden {
        from: String,
    },
    Unreadable {
        why: String,
    },
}

impl AwsAuth {
    fn describe(&self) -> String {
        match self {
            AwsAuth::Read { from, .. } => format!("read from {from}"),
            AwsAuth::Absent { from } => format!("{from} has no aws-auth ConfigMap"),
            AwsAuth::Unauthorized { from } => {
                format!("{from} does not accept this identity (401 Unauthorized)")
            }
            AwsAuth::Forbidden { from } => format!(
                "could not be read: this identity may not read kube-system/aws-auth in {from} (403 Forbidden)"
            ),
            AwsAuth::Unreadable { why } => format!("could not be read: {why}"),
        }
    }
}

/// Reads aws-auth from a saved copy (`--aws-auth-file`).
fn read_aws_auth_file(f: &std::path::Path) -> AwsAuth {
    let shown = f.display().to_string();
    let text = match std::fs::read_to_string(f) {
        Ok(t) => t,
        Err(e) => {
            return AwsAuth::Unreadable {
                why: format!("cannot read {shown}: {e}"),
            }
        }
    };
    match crate::yaml::document::Document::parse(text) {
        Ok(doc) => match doc.root().map(|r| doc.to_json(r)) {
            Some(Ok(v)) => match AuthMap::from_config_map(&v) {
                Ok(map) => AwsAuth::Read { map, from: shown },
                Err(e) => AwsAuth::Unreadable {
                    why: format!("{shown}: {e}"),
                },
            },
            _ => AwsAuth::Unreadable {
                why: format!("{shown}: not a ConfigMap"),
            },
        },
        Err(e) => AwsAuth::Unreadable {
            why: format!("{shown}: {e}"),
        },
    }
}

/// The cluster as reached through a kubeconfig context, or why it could not be.
pub(super) type Reach = std::result::Result<kube::Cluster, String>;

/// Connects to the cluster through the resolved context (nothing is sent yet).
fn reach(r: &Resolved, timeout: std::time::Duration) -> Reach {
    let Some(ctx) = &r.context else {
        return Err(format!(
            "no kubeconfig context for cluster {:?} to reach it with",
            r.cluster
        ));
    };
    kube::connect(&Merged::load(), ctx, timeout).map_err(|e| format!("{e:#}"))
}

/// Reads aws-auth from `--aws-auth-file`, else from the cluster through the kubeconfig
/// context (with that context's credentials).
fn read_aws_auth(r: &Resolved, a: &AwsAuthArgs, cluster: &Reach) -> AwsAuth {
    if let Some(f) = &a.aws_auth_file {
        return read_aws_auth_file(f);
    }
    let cluster = match cluster {
        Ok(c) => c,
        Err(why) if r.context.is_none() => {
            return AwsAuth::Unreadable {
                why: format!("{why} (--aws-auth-file reads a saved copy)"),
            }
        }
        Err(why) => return AwsAuth::Unreadable { why: why.clone() },
    };
    let from = format!("the cluster (context {:?})", cluster.context);
    match cluster.config_map("kube-system", "aws-auth") {
        Ok(Some(cm)) => match serde_json::to_value(&cm) {
            Ok(v) => match AuthMap::from_config_map(&v) {
                Ok(map) => AwsAuth::Read { map, from },
                Err(e) => AwsAuth::Unreadable {
                    why: format!("{from}: {e}"),
                },
            },
            Err(e) => AwsAuth::Unreadable { why: e.to_string() },
        },
        Ok(None) => AwsAuth::Absent { from },
        Err(CallError::Status { code: 401, .. }) => AwsAuth::Unauthorized { from },
        Err(CallError::Status { code: 403, .. }) => AwsAuth::Forbidden { from },
        Err(e) => AwsAuth::Unreadable {
            why: format!("{:#}", cluster.explain("reading kube-system/aws-auth", &e)),
        },
    }
}

fn policies_line(e: &Entry) -> String {
    if e.policies.is_empty() {
        return "-".into();
    }
    e.policies
        .iter()
        .map(|p| format!("{} ({})", p.name(), p.scope))
        .collect::<Vec<_>>()
        .join(", ")
}

fn or_dash(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

impl Run for AccessArgs {
    fn run(&self) -> Result<ExitCode> {
        match &self.command {
            None => check::run(self),
            Some(AccessCommand::List(a)) => a.run(),
            Some(AccessCommand::Grant(a)) => a.run(),
            Some(AccessCommand::Revoke(a)) => a.run(),
            Some(AccessCommand::Migrate(a)) => a.run(),
            Some(AccessCommand::CanI(a)) => a.run(),
            Some(AccessCommand::Policies(a)) => a.run(),
        }
    }
}

impl Run for AccessListArgs {
    fn run(&self) -> Result<ExitCode> {
        list(
            self.cluster.as_deref(),
            &self.target,
            &self.aws_auth,
            self.output,
        )
    }
}

impl Run for GrantArgs {
    fn run(&self) -> Result<ExitCode> {
        grant(
            &self.principal_arn,
            self.policy.as_deref(),
            &self.namespaces,
            &NewEntry {
                kind: self.kind.clone(),
                username: self.username.clone(),
                groups: self.kubernetes_groups.clone(),
            },
            self.cluster.as_deref(),
            &self.target,
        )
    }
}

impl Run for RevokeArgs {
    fn run(&self) -> Result<ExitCode> {
        revoke(
            &self.principal_arn,
            self.policy.as_deref(),
            self.cluster.as_deref(),
            &self.target,
        )
    }
}

impl Run for MigrateArgs {
    fn run(&self) -> Result<ExitCode> {
        migrate::run(
            self.cluster.as_deref(),
            self.target_authentication_mode.mode(),
            self.approve,
            &self.target,
            &self.aws_auth,
            self.output,
        )
    }
}

fn list(
    cluster: Option<&str>,
    t: &AccessTarget,
    a: &AwsAuthArgs,
    output: ReportFormat,
) -> Result<ExitCode> {
    let r = resolve(cluster, t)?;
    let eks = r.eks();
    let mode = eks.authentication_mode()?;
    let mut entries = Vec::new();
    if mode.reads_entries() {
        for arn in eks.list_entries()? {
            if let Some(e) = eks.entry(&arn)? {
                entries.push(e);
            }
        }
    }
    let aws_auth = mode.reads_aws_auth().then(|| {
        let cluster = match &a.aws_auth_file {
            None => reach(&r, crate::cli::request_timeout()),
            Some(_) => Err(String::new()),
        };
        read_aws_auth(&r, a, &cluster)
    });
    let mappings = match &aws_auth {
        Some(AwsAuth::Read { map, .. }) => map.mappings.clone(),
        _ => Vec::new(),
    };
    match &aws_auth {
        Some(
            x @ (AwsAuth::Unreadable { .. }
            | AwsAuth::Unauthorized { .. }
            | AwsAuth::Forbidden { .. }),
        ) => {
            eprintln!("kctx: warning: aws-auth {}", x.describe())
        }
        Some(AwsAuth::Read { map, .. }) => {
            for p in &map.problems {
                eprintln!("kctx: warning: aws-auth: skipped {p}");
            }
        }
        _ => {}
    }
    match output {
        ReportFormat::Json => {
            let mut rows: Vec<Value> = entries
                .iter()
                .map(|e| {
                    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
                    v["source"] = json!("access-entry");
                    v
                })
                .collect();
            for m in &mappings {
                let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
                v["source"] = json!("aws-auth");
                rows.push(v);
            }
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        ReportFormat::Text => {
            let mut rows = vec![[
                "SOURCE",
                "PRINCIPAL",
                "TYPE",
                "USERNAME",
                "GROUPS",
                "POLICIES",
                "NOTE",
            ]
            .map(String::from)];
            for e in &entries {
                rows.push([
                    "access-entry".into(),
                    e.principal_arn.clone(),
                    e.kind.clone(),
                    if e.username.is_empty() {
                        "-".into()
                    } else {
                        e.username.clone()
                    },
                    or_dash(&e.groups),
                    policies_line(e),
                    "-".into(),
                ]);
            }
            for m in &mappings {
                rows.push([
                    format!("aws-auth:{}", m.at()),
                    m.principal(),
                    m.kind().into(),
                    if m.username.is_empty() {
                        "-".into()
                    } else {
                        m.username.clone()
                    },
                    or_dash(&m.groups),
                    "-".into(),
                    m.ambiguous
                        .as_ref()
                        .map_or_else(|| "-".into(), |why| format!("AMBIGUOUS: {why}")),
                ]);
            }
            print!("{}", super::render_table(&rows));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn grant(
    principal: &str,
    policy: Option<&str>,
    namespaces: &[String],
    new: &NewEntry,
    cluster: Option<&str>,
    t: &AccessTarget,
) -> Result<ExitCode> {
    // EKS's rules, checked before any call
    access::validate_entry(principal, new, policy.is_some())?;
    if !namespaces.is_empty() && policy.is_none() {
        bail!("--namespace scopes a --policy; give one");
    }
    access::validate_namespaces(namespaces)?;
    let r = resolve(cluster, t)?;
    let policy_arn = policy
        .map(|p| access::policy_arn(p, r.partition()))
        .transpose()?;
    let scope = Scope::from_namespaces(namespaces);
    let eks = r.eks();
    if let Some(arn) = &policy_arn {
        known_policy(&eks, arn)?;
    }
    let kind = new.kind.as_deref().unwrap_or("STANDARD");
    let existing = match eks.entry(principal)? {
        Some(e) => {
            if e.kind != kind && new.kind.is_some() {
                bail!(
                    "{principal} already has a {} access entry on cluster {}; its type cannot change (revoke it first)",
                    e.kind,
                    r.cluster
                );
            }
            let groups_change = !new.groups.is_empty() && {
                let (mut a, mut b) = (e.groups.clone(), new.groups.clone());
                a.sort();
                b.sort();
                a != b
            };
            let user_change = new.username.as_deref().is_some_and(|u| u != e.username);
            if groups_change || user_change {
                eks.update_entry(
                    principal,
                    new.username.as_deref().filter(|_| user_change),
                    groups_change.then_some(new.groups.as_slice()),
                )?;
                let mut what = Vec::new();
                if user_change {
                    what.push(format!(
                        "username {:?}",
                        new.username.as_deref().unwrap_or("")
                    ));
                }
                if groups_change {
                    what.push(format!("Kubernetes groups {}", new.groups.join(",")));
                }
                println!(
                    "updated access entry {principal} on cluster {}: {}",
                    r.cluster,
                    what.join(", ")
                );
            }
            e
        }
        None => {
            eks.create_entry_with(principal, new)?;
            let mut what = vec![kind.to_owned()];
            if let Some(u) = &new.username {
                what.push(format!("username {u:?}"));
            }
            if !new.groups.is_empty() {
                what.push(format!("Kubernetes groups {}", new.groups.join(",")));
            }
            println!(
                "created access entry {principal} ({}) on cluster {}",
                what.join(", "),
                r.cluster
            );
            Entry {
                principal_arn: principal.to_owned(),
                kind: kind.to_owned(),
                username: new.username.clone().unwrap_or_default(),
                groups: new.groups.clone(),
                policies: Vec::new(),
            }
        }
    };
    let Some(policy_arn) = policy_arn else {
        if kind == "STANDARD"
            && new.groups.is_empty()
            && existing.policies.is_empty()
            && existing.groups.is_empty()
        {
            eprintln!("kctx: note: this entry has no access policy and no Kubernetes groups: it lets {principal} authenticate, but grants nothing");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let name = access::policy_name(&policy_arn);
    if access::has_policy(&existing.policies, &policy_arn, &scope) {
        println!(
            "{principal} already has {name} ({scope}) on cluster {}: nothing changed",
            r.cluster
        );
    } else {
        eks.associate(principal, &policy_arn, &scope)?;
        println!(
            "associated {name} ({scope}) with {principal} on cluster {}",
            r.cluster
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses a policy EKS does not offer (ListAccessPolicies), before anything is created; when
/// the list cannot be read, EKS's own answer to the association decides.
fn known_policy(eks: &Eks<'_>, policy_arn: &str) -> Result<()> {
    let name = access::policy_name(policy_arn);
    let Ok(names) = eks.access_policy_names() else {
        return Ok(());
    };
    if names.iter().any(|n| n == name) {
        return Ok(());
    }
    let close: Vec<&String> = names
        .iter()
        .filter(|n| n.eq_ignore_ascii_case(name))
        .collect();
    match close.first() {
        Some(n) => bail!("EKS has no access policy named {name:?}; did you mean {n}?"),
        None => bail!(
            "EKS has no access policy named {name:?} (`kctx access policies` explains the common ones; ListAccessPolicies lists {})",
            names.join(", ")
        ),
    }
}

fn revoke(
    principal: &str,
    policy: Option<&str>,
    cluster: Option<&str>,
    t: &AccessTarget,
) -> Result<ExitCode> {
    let r = resolve(cluster, t)?;
    let eks = r.eks();
    let Some(existing) = eks.entry(principal)? else {
        println!(
            "{principal} has no access entry on cluster {}: nothing changed",
            r.cluster
        );
        return Ok(ExitCode::SUCCESS);
    };
    match policy {
        Some(p) => {
            let policy_arn = access::policy_arn(p, r.partition())?;
            let name = access::policy_name(&policy_arn);
            if existing.policies.iter().any(|x| x.policy_arn == policy_arn) {
                eks.disassociate(principal, &policy_arn)?;
                println!(
                    "disassociated {name} from {principal} on cluster {}",
                    r.cluster
                );
            } else {
                println!(
                    "{principal} does not have {name} on cluster {}: nothing changed",
                    r.cluster
                );
            }
        }
        None => {
            eks.delete_entry(principal)?;
            println!(
                "deleted access entry {principal} from cluster {}",
                r.cluster
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
