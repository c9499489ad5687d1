//! `kctx access`: does an access entry let the caller in; `list`, `grant`, `revoke`.

use std::process::ExitCode;

use anyhow::Result;

use super::Run;
use crate::aws::access::{self, Eks, Entry, Scope};
use crate::aws::identity::{self, Caller};
use crate::aws::{self, AwsArgs};
use crate::cli::{AccessArgs, AccessCommand, AccessTarget, ReportFormat};
use crate::kubeconfig::{EksExec, Kind, Merged};

/// Exit codes of `kctx access` (check): 0 granted, these otherwise, 1 for errors.
pub const EXIT_NO_ENTRY: u8 = 3;
pub const EXIT_ENTRY_GRANTS_NOTHING: u8 = 4;

/// A resolved cluster with the credentials to act on it.
struct Resolved {
    rt: tokio::runtime::Runtime,
    creds: aws_credential_types::Credentials,
    target: aws::Target,
    cluster: String,
    context: Option<String>,
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

/// A named cluster uses the default credentials (`--profile`, `--region`); otherwise the
/// context's cluster, region and exec identity.
fn resolve(cluster: Option<&str>, t: &AccessTarget) -> Result<Resolved> {
    let mut rt = None;
    let (creds, target, cluster, context) = match cluster {
        Some(name) => {
            let args = AwsArgs {
                profile: t.profile.clone(),
                region: t
                    .region
                    .clone()
                    .or_else(|| cluster_region(name, t.profile.as_deref())),
            };
            let (c, tg) = identity::base_and_role(&args, None, None, &mut rt)?;
            (c, tg, name.to_owned(), None)
        }
        None => {
            let merged = Merged::load();
            let mut ctx = identity::eks_context(&merged, t.context.as_deref())?;
            if t.region.is_some() {
                ctx.exec.region = t.region.clone();
            }
            let (c, tg) = identity::exec_credentials(&ctx.exec, t.profile.as_deref(), &mut rt)?;
            (c, tg, ctx.cluster_name, Some(ctx.context))
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
    })
}

/// The region of a named cluster when `--region` is not given: a context whose cluster it is
/// (its user's exec says the region); else the usual AWS settings; else the current context's.
fn cluster_region(name: &str, profile: Option<&str>) -> Option<String> {
    let m = Merged::load();
    let ctx_region = |ctx: &str| {
        let user = m.field(Kind::Contexts, ctx, "user")?;
        let exec = EksExec::from_user(&m.body(Kind::Users, user)?)?;
        let cluster = m.field(Kind::Contexts, ctx, "cluster").unwrap_or("");
        let region = exec
            .region
            .clone()
            .or_else(|| cluster.split(':').nth(3).map(str::to_owned));
        Some((exec, cluster.to_owned(), region?))
    };
    for ctx in m.names(Kind::Contexts) {
        if let Some((exec, cluster, region)) = ctx_region(&ctx) {
            let by_arn = cluster.starts_with("arn:") && cluster.rsplit('/').next() == Some(name);
            if exec.cluster.as_deref() == Some(name) || by_arn {
                return Some(region);
            }
        }
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
    ctx_region(m.current_context()?).map(|(_, _, r)| r)
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
            Some(AccessCommand::List {
                cluster,
                target,
                output,
            }) => list(cluster.as_deref(), target, *output),
            Some(AccessCommand::Grant {
                principal_arn,
                policy,
                namespaces,
                cluster,
                target,
            }) => grant(
                principal_arn,
                policy,
                namespaces,
                cluster.as_deref(),
                target,
            ),
            Some(AccessCommand::Revoke {
                principal_arn,
                policy,
                cluster,
                target,
            }) => revoke(principal_arn, policy.as_deref(), cluster.as_deref(), target),
        }
    }
}

fn check(a: &AccessArgs) -> Result<ExitCode> {
    let r = resolve(a.cluster.as_deref(), &a.target)?;
    let eks = r.eks();
    let caller = r.caller()?;
    let mode = eks.authentication_mode()?;
    let api = mode.contains("API");
    let config_map = mode.contains("CONFIG_MAP");
    let entry = if api {
        eks.find_for(&caller.principal_arn)?
    } else {
        None
    };

    let (code, verdict) = match (&entry, api) {
        (_, false) => (
            EXIT_NO_ENTRY,
            "access entries are off (CONFIG_MAP): only the aws-auth ConfigMap can admit this principal".to_string(),
        ),
        (None, true) => (
            EXIT_NO_ENTRY,
            if config_map {
                "no access entry for this principal; only an aws-auth ConfigMap mapping could admit it".to_string()
            } else {
                format!(
                    "no access entry for this principal: kubectl will get Unauthorized (grant with `kctx access grant {} --policy view`)",
                    caller.principal_arn
                )
            },
        ),
        (Some(e), true) if !e.grants_something() => (
            EXIT_ENTRY_GRANTS_NOTHING,
            "the access entry exists but has no access policy and no Kubernetes groups: authenticated, but authorized for nothing".to_string(),
        ),
        (Some(e), true) => (
            0,
            if e.policies.is_empty() {
                format!("granted: Kubernetes RBAC for groups {}", e.groups.join(","))
            } else {
                format!("granted by access entry: {}", policies_line(e))
            },
        ),
    };

    match a.output {
        ReportFormat::Json => {
            let v = serde_json::json!({
                "cluster": r.cluster,
                "region": r.target.region,
                "context": r.context,
                "authentication_mode": mode,
                "caller": caller,
                "access_entry": entry,
                "aws_auth_may_apply": config_map,
                "granted": code == 0,
                "verdict": verdict,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        ReportFormat::Text => {
            let mut out = String::new();
            out.push_str(&format!(
                "cluster:       {} ({})\n",
                r.cluster, r.target.region
            ));
            if let Some(c) = &r.context {
                out.push_str(&format!("context:       {c}\n"));
            }
            out.push_str(&format!("auth mode:     {mode}\n"));
            out.push_str(&format!("caller:        {}\n", caller.arn));
            out.push_str(&format!("principal:     {}\n", caller.principal_arn));
            if api {
                match &entry {
                    None => out.push_str("access entry:  none\n"),
                    Some(e) => {
                        out.push_str(&format!(
                            "access entry:  {} ({})\n",
                            e.principal_arn, e.kind
                        ));
                        out.push_str(&format!(
                            "  username:    {}\n",
                            if e.username.is_empty() {
                                "-"
                            } else {
                                &e.username
                            }
                        ));
                        out.push_str(&format!("  groups:      {}\n", or_dash(&e.groups)));
                        out.push_str(&format!("  policies:    {}\n", policies_line(e)));
                    }
                }
            }
            if config_map {
                out.push_str("aws-auth:      the aws-auth ConfigMap is enabled and may also map this principal (kctx reads only the EKS API)\n");
            }
            out.push_str(&format!("verdict:       {verdict}\n"));
            print!("{out}");
        }
    }
    Ok(ExitCode::from(code))
}

fn list(cluster: Option<&str>, t: &AccessTarget, output: ReportFormat) -> Result<ExitCode> {
    let r = resolve(cluster, t)?;
    let eks = r.eks();
    let mut entries = Vec::new();
    for arn in eks.list_entries()? {
        if let Some(e) = eks.entry(&arn)? {
            entries.push(e);
        }
    }
    match output {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&entries)?),
        ReportFormat::Text => {
            let mut rows =
                vec![["PRINCIPAL", "TYPE", "USERNAME", "GROUPS", "POLICIES"].map(String::from)];
            for e in &entries {
                rows.push([
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
            let out = super::render_table(&rows);
            print!("{out}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn grant(
    principal: &str,
    policy: &str,
    namespaces: &[String],
    cluster: Option<&str>,
    t: &AccessTarget,
) -> Result<ExitCode> {
    let r = resolve(cluster, t)?;
    let policy_arn = access::policy_arn(policy, r.partition())?;
    let scope = Scope::from_namespaces(namespaces);
    let eks = r.eks();
    let existing = match eks.entry(principal)? {
        Some(e) => e,
        None => {
            eks.create_entry(principal)?;
            println!(
                "created access entry {principal} (STANDARD) on cluster {}",
                r.cluster
            );
            Entry {
                principal_arn: principal.to_owned(),
                kind: "STANDARD".into(),
                username: String::new(),
                groups: Vec::new(),
                policies: Vec::new(),
            }
        }
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
