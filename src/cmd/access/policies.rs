//! `kctx access policies`: what each EKS access policy allows, offline, in the same summary
//! `kctx access` gives of the cluster's answers (the rules are the EKS User Guide's, see
//! `aws::policies`).

use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::json;

use super::super::Run;
use crate::aws::access::{self, Scope};
use crate::aws::policies::{self, AccessPolicy, POLICIES};
use crate::cli::{PoliciesArgs, ReportFormat};
use crate::rbac::{CLUSTER_SCOPED, NAMESPACED};

/// What a policy allows in a namespace of its scope, and cluster-wide with cluster scope.
fn summaries(p: &AccessPolicy) -> (String, String) {
    (
        policies::summary(p, &Scope::Cluster, &NAMESPACED, "any").line(),
        policies::summary(p, &Scope::Cluster, &CLUSTER_SCOPED, "").line(),
    )
}

impl Run for PoliciesArgs {
    fn run(&self) -> Result<ExitCode> {
        let chosen: Vec<&AccessPolicy> = match &self.policy {
            None => POLICIES.iter().collect(),
            Some(p) => {
                let arn = access::policy_arn(p, "aws")?;
                match policies::find(&arn) {
                    Some(x) => vec![x],
                    None => bail!(
                        "kctx does not know the rules of {} (it knows {})",
                        access::policy_name(&arn),
                        POLICIES.map(|p| p.name).join(", ")
                    ),
                }
            }
        };
        match self.output {
            ReportFormat::Json => {
                let v: Vec<serde_json::Value> = chosen
                    .iter()
                    .map(|p| {
                        let (ns, cluster) = summaries(p);
                        json!({"name": p.name, "about": p.about,
                               "in_a_namespace_of_its_scope": ns, "cluster_scoped_with_cluster_scope": cluster,
                               "rules": p.rules()})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            ReportFormat::Text => {
                for (i, p) in chosen.iter().enumerate() {
                    let (ns, cluster) = summaries(p);
                    if i > 0 {
                        println!();
                    }
                    println!("{}: {}", p.name, p.about);
                    println!("  in a namespace of its scope:  {ns}");
                    println!("  cluster-wide (cluster scope): {cluster}");
                }
                println!("\n(from the EKS User Guide's \"Review access policy permissions\"; `-o json` lists every rule)");
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
