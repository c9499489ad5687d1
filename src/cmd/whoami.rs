//! `kctx whoami`: who a context is — to AWS (the IAM principal its exec entry signs as, for EKS
//! users) and to the cluster (the Kubernetes user and groups it maps that to, via
//! SelfSubjectReview, as `kubectl auth whoami` asks).

use std::process::ExitCode;

use anyhow::{anyhow, Result};
use serde_json::json;

use super::Run;
use crate::aws;
use crate::aws::identity::{self, Caller};
use crate::aws::sso;
use crate::cli::{ReportFormat, WhoamiArgs};
use crate::eks::EksContext;
use crate::kube::{self, UserInfo};
use crate::kubeconfig::{EksExec, Kind, Merged};

struct AwsView {
    ctx: EksContext,
    region: String,
    caller: Caller,
    /// When it signs with an IAM Identity Center role.
    sso: Option<sso::View>,
}

/// The text lines of the AWS side.
fn print_aws(a: &AwsView) {
    println!(
        "context:    {} (cluster {} in {})",
        a.ctx.context, a.ctx.cluster_name, a.region
    );
    println!("account:    {}", a.caller.account);
    if let Some(s) = &a.sso {
        println!(
            "sso:        session {} ({}), account {}, role {}",
            s.session.as_deref().unwrap_or("(legacy profile)"),
            s.start_url,
            s.account_id,
            s.role_name
        );
        println!(
            "sso token:  {}{}",
            s.token,
            s.token_expires
                .as_ref()
                .map(|t| format!(" (expires at {t})"))
                .unwrap_or_default()
        );
    }
    println!("caller:     {}", a.caller.arn);
    println!("principal:  {}", a.caller.principal_arn);
    if a.caller.arn != a.caller.principal_arn {
        println!(
            "            (the role of this session; an access entry may name it with its path, \
             role/<path>/{}, while aws-auth maps it without one)",
            a.caller
                .principal_arn
                .rsplit('/')
                .next()
                .unwrap_or_default()
        );
    }
}

impl Run for WhoamiArgs {
    fn run(&self) -> Result<ExitCode> {
        let merged = Merged::load();
        merged.require_readable()?;
        let name = merged.context_or_current(self.context.as_deref())?;
        let eks_user = merged
            .field(Kind::Contexts, &name, "user")
            .and_then(|u| merged.body(Kind::Users, u))
            .and_then(|b| EksExec::from_user(&b))
            .is_some();
        // the AWS side, for users that get EKS credentials
        let aws_view = if eks_user {
            let ctx = crate::eks::eks_context(&merged, Some(&name))?;
            let mut rt = None;
            let (creds, target) = crate::eks::exec_credentials(&ctx.exec, None, &mut rt)?;
            let caller = identity::caller(aws::get_runtime(&mut rt)?, creds, &target)?;
            let sso = crate::eks::sso_role(&ctx.exec)?.map(|t| sso::View::of(&t));
            Some(AwsView {
                ctx,
                region: target.region,
                caller,
                sso,
            })
        } else if self.no_cluster {
            return Err(crate::eks::eks_context(&merged, Some(&name))
                .err()
                .unwrap_or_else(|| anyhow!("context {name:?} is not an EKS context"))
                .context("and --no-cluster leaves nothing to ask"));
        } else {
            None
        };
        // the cluster side
        let k8s: Option<Result<UserInfo, anyhow::Error>> = (!self.no_cluster).then(|| {
            let cluster = kube::connect(&merged, &name, crate::cli::request_timeout())?;
            cluster
                .whoami()
                .map_err(|e| cluster.explain("asking who this identity is (SelfSubjectReview)", &e))
        });
        let (k8s_view, k8s_err) = match k8s {
            Some(Ok(u)) => (Some(u), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        };
        match self.output {
            ReportFormat::Json => {
                let mut v = match &aws_view {
                    Some(a) => json!({
                        "context": a.ctx.context,
                        "cluster": a.ctx.cluster_name,
                        "region": a.region,
                        "account": a.caller.account,
                        "caller_arn": a.caller.arn,
                        "principal_arn": a.caller.principal_arn,
                        "user_id": a.caller.user_id,
                        "exec": a.ctx.exec,
                        "sso": a.sso,
                    }),
                    None => json!({"context": name}),
                };
                v["kubernetes"] = serde_json::to_value(&k8s_view)?;
                if let Some(e) = &k8s_err {
                    v["kubernetes_error"] = json!(format!("{e:#}"));
                }
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            ReportFormat::Text => {
                match &aws_view {
                    Some(a) => print_aws(a),
                    None => println!("context:    {name}"),
                }
                if let Some(u) = &k8s_view {
                    println!("username:   {}", u.username);
                    if !u.uid.is_empty() {
                        println!("uid:        {}", u.uid);
                    }
                    println!(
                        "groups:     {}",
                        if u.groups.is_empty() {
                            "-".to_owned()
                        } else {
                            u.groups.join(", ")
                        }
                    );
                    if !u.extra.is_empty() {
                        let extra: Vec<String> = u
                            .extra
                            .iter()
                            .map(|(k, v)| format!("{k}={}", v.join(",")))
                            .collect();
                        println!("extra:      {}", extra.join("  "));
                    }
                }
            }
        }
        match k8s_err {
            Some(e) => Err(e),
            None => Ok(ExitCode::SUCCESS),
        }
    }
}
