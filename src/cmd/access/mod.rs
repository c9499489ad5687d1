//! `kctx access`: may the caller use the cluster — through an access entry or the aws-auth
//! ConfigMap, by EKS's rules for the cluster's authentication mode; `list`, `grant`, `revoke`,
//! and `migrate` (aws-auth → access entries, in `migrate.rs`).

mod migrate;

use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::Run;
use crate::aws::access::{self, AuthMode, Eks, Entry, NewEntry, Scope};
use crate::aws::auth_map::{self, AuthMap};
use crate::aws::identity::{self, Caller};
use crate::aws::{self, AwsArgs};
use crate::cli::{
    AccessArgs, AccessCommand, AccessListArgs, AccessTarget, AwsAuthArgs, GrantArgs, MigrateArgs,
    ReportFormat, RevokeArgs,
};
use crate::kube::{self, CallError};
use crate::kubeconfig::{EksExec, Kind, Merged};

/// Exit codes of `kctx access` (check): 0 granted, these otherwise, 1 for errors.
pub(crate) const EXIT_NO_ENTRY: u8 = 3;
pub(crate) const EXIT_ENTRY_GRANTS_NOTHING: u8 = 4;

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

/// Reads aws-auth from `--aws-auth-file`, else from the cluster through the kubeconfig
/// context (with that context's credentials).
fn read_aws_auth(r: &Resolved, a: &AwsAuthArgs) -> AwsAuth {
    if let Some(f) = &a.aws_auth_file {
        let shown = f.display().to_string();
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                return AwsAuth::Unreadable {
                    why: format!("cannot read {shown}: {e}"),
                }
            }
        };
        return match crate::yaml::document::Document::parse(text) {
            Ok(doc) => match doc.root().map(|r| doc.to_json(r)) {
                Some(Ok(v)) => AwsAuth::Read {
                    map: AuthMap::from_config_map(&v),
                    from: shown,
                },
                _ => AwsAuth::Unreadable {
                    why: format!("{shown}: not a ConfigMap"),
                },
            },
            Err(e) => AwsAuth::Unreadable {
                why: format!("{shown}: {e}"),
            },
        };
    }
    let Some(ctx) = &r.context else {
        return AwsAuth::Unreadable {
            why: format!(
                "no kubeconfig context for cluster {:?} to reach it with (--aws-auth-file reads a saved copy)",
                r.cluster
            ),
        };
    };
    let from = format!("the cluster (context {ctx:?})");
    let m = Merged::load();
    let cluster = match kube::connect(&m, ctx, a.request_timeout) {
        Ok(c) => c,
        Err(e) => {
            return AwsAuth::Unreadable {
                why: format!("{e:#}"),
            }
        }
    };
    match cluster.config_map("kube-system", "aws-auth") {
        Ok(Some(cm)) => match serde_json::to_value(&cm) {
            Ok(v) => AwsAuth::Read {
                map: AuthMap::from_config_map(&v),
                from,
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
            None => check(self),
            Some(AccessCommand::List(a)) => a.run(),
            Some(AccessCommand::Grant(a)) => a.run(),
            Some(AccessCommand::Revoke(a)) => a.run(),
            Some(AccessCommand::Migrate(a)) => a.run(),
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

/// What EKS's rules for the mode conclude: (exit code, verdict).
fn verdict(
    mode: AuthMode,
    entry: Option<&Entry>,
    aws_auth: Option<&AwsAuth>,
    found: Option<&auth_map::Found<'_>>,
    principal: &str,
) -> (u8, String) {
    let api = mode.reads_entries();
    let config_map = mode.reads_aws_auth();
    // API and API_AND_CONFIG_MAP: an access entry for the principal decides
    if let (true, Some(e)) = (api, entry) {
        return if !e.grants_something() {
            (
                EXIT_ENTRY_GRANTS_NOTHING,
                "the access entry exists but has no access policy and no Kubernetes groups: authenticated, but authorized for nothing".into(),
            )
        } else if e.policies.is_empty() {
            (
                0,
                format!(
                    "granted by access entry: Kubernetes groups {}; RBAC decides what they may do",
                    e.groups.join(",")
                ),
            )
        } else {
            (0, format!("granted by access entry: {}", policies_line(e)))
        };
    }
    if !config_map {
        return (
            EXIT_NO_ENTRY,
            format!("no access entry for this principal (mode API: aws-auth is not read): kubectl will get Unauthorized (grant with `kctx access grant {principal} --policy view`)"),
        );
    }
    let no_entry = if api { "no access entry; " } else { "" };
    match (aws_auth, found) {
        (_, Some(f)) => {
            let m = f.mapping;
            let at = format!("aws-auth {} line {}", m.key, m.line);
            if let Some(why) = &f.refused {
                (
                    EXIT_NO_ENTRY,
                    format!("{no_entry}{at} matches, but the cluster refuses this identity (401): {why}"),
                )
            } else if f.groups.iter().any(|g| g == "system:masters") {
                (0, format!("{no_entry}granted by {at}: user {:?} in system:masters (cluster admin)", f.username))
            } else if !f.groups.is_empty() {
                (0, format!("{no_entry}mapped by {at}: user {:?}, groups {}; RBAC decides what they may do", f.username, f.groups.join(",")))
            } else {
                (
                    EXIT_ENTRY_GRANTS_NOTHING,
                    format!("{no_entry}mapped by {at} as user {:?} in no group: authenticated, but authorized only by RBAC bindings of that user, if any", f.username),
                )
            }
        }
        (Some(AwsAuth::Read { .. }), None) => (
            EXIT_NO_ENTRY,
            format!("{no_entry}no aws-auth mapping for this principal: kubectl will get Unauthorized"),
        ),
        (Some(AwsAuth::Absent { .. }), None) => (
            EXIT_NO_ENTRY,
            format!("{no_entry}and no aws-auth ConfigMap: kubectl will get Unauthorized"),
        ),
        (Some(AwsAuth::Unauthorized { .. }), None) => (
            EXIT_NO_ENTRY,
            format!("{no_entry}the cluster refuses this identity (401): no aws-auth mapping admits it"),
        ),
        (Some(AwsAuth::Forbidden { .. }), None) => (
            0,
            format!("{no_entry}the cluster authenticates this identity (reading aws-auth gave 403 Forbidden, not 401 Unauthorized), so an aws-auth mapping admits it; its groups are unknown, and RBAC decides what it may do"),
        ),
        (Some(AwsAuth::Unreadable { .. }) | None, None) => (
            EXIT_NO_ENTRY,
            format!("{no_entry}aws-auth could not be read, so whether it admits this principal is unknown"),
        ),
    }
}

/// What was learnt of the caller and the cluster, before anything is concluded.
struct Facts {
    r: Resolved,
    mode: AuthMode,
    caller: Caller,
    entry: Option<Entry>,
    /// Read when the mode reads it and no access entry decided already.
    aws_auth: Option<AwsAuth>,
}

/// What EKS's rules conclude from the facts.
struct Assessment<'f> {
    found: Option<auth_map::Found<'f>>,
    /// Mappings meant for the caller that do not apply (an IAM path in a rolearn, …).
    near: Vec<String>,
    code: u8,
    verdict: String,
}

impl Facts {
    fn gather(a: &AccessArgs) -> Result<Self> {
        let r = resolve(a.cluster.as_deref(), &a.target)?;
        let eks = r.eks();
        let caller = r.caller()?;
        let mode = eks.authentication_mode()?;
        let entry = if mode.reads_entries() {
            eks.find_for(&caller.principal_arn)?
        } else {
            None
        };
        let aws_auth =
            (mode.reads_aws_auth() && entry.is_none()).then(|| read_aws_auth(&r, &a.aws_auth));
        Ok(Self {
            r,
            mode,
            caller,
            entry,
            aws_auth,
        })
    }

    fn map(&self) -> Option<&AuthMap> {
        match &self.aws_auth {
            Some(AwsAuth::Read { map, .. }) => Some(map),
            _ => None,
        }
    }

    /// Matches the caller as the authenticator does, and applies the mode's rules.
    fn assess(&self) -> Assessment<'_> {
        let c = &self.caller;
        let auth_caller = auth_map::Caller::new(&c.arn, &c.account, self.r.creds.access_key_id());
        let map = self.map();
        let found = map.zip(auth_caller.as_ref()).and_then(|(m, c)| m.find(c));
        // a mapping meant for the caller that does not apply: also worth saying when
        // mapAccounts catches the caller instead
        let near: Vec<String> = match (map, &auth_caller, &found) {
            (Some(m), Some(c), None) => m.near_misses(c),
            (Some(m), Some(c), Some(f)) if f.mapping.key == "mapAccounts" => m.near_misses(c),
            _ => Vec::new(),
        };
        let (code, verdict) = verdict(
            self.mode,
            self.entry.as_ref(),
            self.aws_auth.as_ref(),
            found.as_ref(),
            &c.principal_arn,
        );
        Assessment {
            found,
            near,
            code,
            verdict,
        }
    }
}

fn check(a: &AccessArgs) -> Result<ExitCode> {
    let facts = Facts::gather(a)?;
    let x = facts.assess();
    match a.output {
        ReportFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&check_json(&facts, &x))?)
        }
        ReportFormat::Text => print!("{}", check_text(&facts, &x)),
    }
    Ok(ExitCode::from(x.code))
}

fn check_json(f: &Facts, x: &Assessment<'_>) -> Value {
    let aws_auth_json = f.aws_auth.as_ref().map(|aa| {
        json!({
            "status": aa.describe(),
            "mapping": x.found.as_ref().map(|m| json!({
                "key": m.mapping.key, "line": m.mapping.line, "kind": m.mapping.kind(),
                "principal": m.mapping.principal(), "username": m.username, "groups": m.groups,
                "system_masters": m.groups.iter().any(|g| g == "system:masters"),
                "refused": m.refused,
            })),
            "near_misses": x.near,
            "problems": f.map().map(|m| m.problems.clone()).unwrap_or_default(),
        })
    });
    json!({
        "cluster": f.r.cluster,
        "region": f.r.target.region,
        "context": f.r.context.as_ref().filter(|_| f.r.from_context),
        "authentication_mode": f.mode,
        "caller": f.caller,
        "access_entry": f.entry,
        "aws_auth": aws_auth_json,
        "aws_auth_may_apply": f.mode.reads_aws_auth(),
        "granted": x.code == 0,
        "verdict": x.verdict,
    })
}

fn check_text(f: &Facts, x: &Assessment<'_>) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        out.push_str(&format!("{:<15}{value}\n", format!("{label}:")));
    };
    line(
        "cluster",
        &format!("{} ({})", f.r.cluster, f.r.target.region),
    );
    if let (Some(c), true) = (&f.r.context, f.r.from_context) {
        line("context", c);
    }
    line("auth mode", f.mode.as_str());
    line("caller", &f.caller.arn);
    line("principal", &f.caller.principal_arn);
    if f.mode.reads_entries() {
        match &f.entry {
            None => line("access entry", "none"),
            Some(e) => {
                line("access entry", &format!("{} ({})", e.principal_arn, e.kind));
                line(
                    "  username",
                    if e.username.is_empty() {
                        "-"
                    } else {
                        &e.username
                    },
                );
                line("  groups", &or_dash(&e.groups));
                line("  policies", &policies_line(e));
            }
        }
    }
    if f.mode.reads_aws_auth() {
        match (&f.aws_auth, &x.found) {
            (None, _) => line("aws-auth", "not consulted (the access entry decides)"),
            (Some(aa), Some(m)) => {
                line(
                    "aws-auth",
                    &format!(
                        "{} line {} ({}), {}",
                        m.mapping.key,
                        m.mapping.line,
                        m.mapping.subject(),
                        aa.describe()
                    ),
                );
                line("  username", &m.username);
                line(
                    "  groups",
                    &format!(
                        "{}{}",
                        or_dash(&m.groups),
                        if m.groups.iter().any(|g| g == "system:masters") {
                            " (system:masters: cluster admin)"
                        } else {
                            ""
                        }
                    ),
                );
            }
            (Some(aa @ AwsAuth::Read { .. }), None) => line(
                "aws-auth",
                &format!("no mapping for this principal ({})", aa.describe()),
            ),
            (Some(aa), None) => line("aws-auth", &aa.describe()),
        }
        for n in &x.near {
            line("  note", n);
        }
        for p in f.map().map(|m| m.problems.as_slice()).unwrap_or_default() {
            line("  skipped", p);
        }
    }
    line("verdict", &x.verdict);
    out
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
    let aws_auth = mode.reads_aws_auth().then(|| read_aws_auth(&r, a));
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
                ]);
            }
            for m in &mappings {
                rows.push([
                    format!("aws-auth:{}", m.line),
                    m.principal(),
                    m.kind().into(),
                    if m.username.is_empty() {
                        "-".into()
                    } else {
                        m.username.clone()
                    },
                    or_dash(&m.groups),
                    "-".into(),
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
    let r = resolve(cluster, t)?;
    let policy_arn = policy
        .map(|p| access::policy_arn(p, r.partition()))
        .transpose()?;
    let scope = Scope::from_namespaces(namespaces);
    let eks = r.eks();
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
