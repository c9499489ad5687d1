//! `kctx whoami`: the identity a context's exec entry gives EKS.

use std::process::ExitCode;

use anyhow::Result;

use super::Run;
use crate::aws;
use crate::cli::{ReportFormat, WhoamiArgs};
use crate::identity;
use crate::kubeconfig::Merged;

impl Run for WhoamiArgs {
    fn run(&self) -> Result<ExitCode> {
        let merged = Merged::load();
        let ctx = identity::eks_context(&merged, self.context.as_deref())?;
        let mut rt = None;
        let (creds, target) = identity::exec_credentials(&ctx.exec, None, &mut rt)?;
        let caller = identity::caller(aws::get_runtime(&mut rt)?, creds, &target)?;
        match self.output {
            ReportFormat::Json => {
                let v = serde_json::json!({
                    "context": ctx.context,
                    "cluster": ctx.cluster_name,
                    "region": target.region,
                    "account": caller.account,
                    "caller_arn": caller.arn,
                    "principal_arn": caller.principal_arn,
                    "user_id": caller.user_id,
                    "exec": ctx.exec,
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            ReportFormat::Text => {
                println!(
                    "context:    {} (cluster {} in {})",
                    ctx.context, ctx.cluster_name, target.region
                );
                println!("account:    {}", caller.account);
                println!("caller:     {}", caller.arn);
                println!("principal:  {}", caller.principal_arn);
                if caller.arn != caller.principal_arn {
                    println!(
                        "            (the role of this session; an access entry may name it with its path, \
                         role/<path>/{}, while aws-auth maps it without one)",
                        caller.principal_arn.rsplit('/').next().unwrap_or_default()
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
