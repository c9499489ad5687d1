//! Who a kubeconfig context is to AWS and EKS: the credentials its exec entry would use, the
//! STS caller, and the IAM principal EKS matches against access entries.

use anyhow::{anyhow, bail, Result};
use aws_credential_types::Credentials;

use crate::aws::{self, AwsArgs, RoleRequest, Target};
use crate::kubeconfig::{EksExec, Kind, Merged};

/// A context whose user gets EKS credentials through an exec plugin.
#[derive(Debug, Clone)]
pub struct EksContext {
    pub context: String,
    /// The EKS cluster name (for the EKS API).
    pub cluster_name: String,
    pub exec: EksExec,
}

/// Reads `context` (default: the current one) and its user's exec entry.
pub fn eks_context(merged: &Merged, context: Option<&str>) -> Result<EksContext> {
    let name = merged.context_or_current(context)?;
    let field = |k: &str| merged.field(Kind::Contexts, &name, k).map(str::to_owned);
    let user = field("user").ok_or_else(|| anyhow!("context {name:?} names no user"))?;
    let user_body = merged.body(Kind::Users, &user).ok_or_else(|| {
        anyhow!("context {name:?} names user {user:?}, which the kubeconfig does not define")
    })?;
    let exec = EksExec::from_user(&user_body).ok_or_else(|| {
        anyhow!("context {name:?}: user {user:?} does not get EKS credentials (no `kctx token`, `aws eks get-token` or aws-iam-authenticator exec entry)")
    })?;
    // The EKS API wants the cluster name: from the exec args, or the cluster ARN for Outposts ids.
    let from_arn = field("cluster").and_then(|c| {
        c.starts_with("arn:")
            .then(|| c.rsplit('/').next().map(str::to_owned))
            .flatten()
    });
    let cluster_name = match (&exec.cluster, exec.by_id) {
        (Some(c), false) => c.clone(),
        _ => {
            from_arn.ok_or_else(|| anyhow!("context {name:?}: cannot tell the EKS cluster name"))?
        }
    };
    Ok(EksContext {
        context: name,
        cluster_name,
        exec,
    })
}

/// Resolves credentials exactly as the exec entry would: its env (AWS_PROFILE, …), region and
/// role. Returns them with the region/endpoint target.
pub fn exec_credentials(
    exec: &EksExec,
    profile_override: Option<&str>,
    rt: &mut Option<tokio::runtime::Runtime>,
) -> Result<(Credentials, Target)> {
    for (k, v) in &exec.env {
        // the plugin runs with these set; so do we, for this process only
        std::env::set_var(k, v);
    }
    // `aws --profile P eks get-token` names its profile in the args, not the env
    let from_args = exec
        .profile
        .clone()
        .filter(|_| !exec.env.iter().any(|(k, _)| k == "AWS_PROFILE"));
    let args = AwsArgs {
        profile: profile_override.map(str::to_owned).or(from_args),
        region: exec.region.clone(),
    };
    base_and_role(
        &args,
        exec.role_arn.as_deref(),
        exec.session_name.as_deref(),
        rt,
    )
}

/// Credentials from the default chain (or `--profile`), with a role assumed when asked.
pub fn base_and_role(
    args: &AwsArgs,
    role_arn: Option<&str>,
    session_name: Option<&str>,
    rt: &mut Option<tokio::runtime::Runtime>,
) -> Result<(Credentials, Target)> {
    let mut profiles = None;
    let target = aws::resolve_target(args, &mut profiles)?;
    let mut creds = aws::base_credentials(args, &target, &mut profiles, rt)?;
    if let Some(role) = role_arn {
        let rt = aws::get_runtime(rt)?;
        creds = aws::assume_role(
            rt,
            creds,
            &target,
            &RoleRequest {
                role_arn: role,
                session_name: session_name.unwrap_or("EKSGetTokenAuth"),
                external_id: None,
            },
        )?;
    }
    Ok((creds, target))
}

/// The STS caller and the principal EKS matches access entries against.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Caller {
    pub account: String,
    pub arn: String,
    pub user_id: String,
    /// IAM role ARN for an assumed-role session (without a path), else the caller ARN.
    pub principal_arn: String,
}

pub fn caller(rt: &tokio::runtime::Runtime, creds: Credentials, target: &Target) -> Result<Caller> {
    let out = aws::get_caller_identity(rt, creds, target)?;
    let arn = out.arn.unwrap_or_default();
    if arn.is_empty() {
        bail!("STS GetCallerIdentity returned no ARN");
    }
    Ok(Caller {
        account: out.account.unwrap_or_default(),
        principal_arn: principal_arn(&arn),
        user_id: out.user_id.unwrap_or_default(),
        arn,
    })
}

/// `arn:P:sts::A:assumed-role/ROLE/SESSION` → `arn:P:iam::A:role/ROLE`; other ARNs unchanged.
///
/// An assumed-role ARN does not carry the role's path. EKS access entries may name the role
/// with its path (`role/teams/dev/ROLE`), aws-auth never does; [`same_principal`] matches both.
pub fn principal_arn(caller_arn: &str) -> String {
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[0] == "arn" && parts[2] == "sts" {
        if let Some(rest) = parts[5].strip_prefix("assumed-role/") {
            if let Some(role) = rest.split('/').next() {
                return format!("arn:{}:iam::{}:role/{role}", parts[1], parts[4]);
            }
        }
    }
    caller_arn.to_owned()
}

/// Whether an access entry's principal ARN names `principal` (role paths ignored for roles).
pub fn same_principal(entry_arn: &str, principal: &str) -> bool {
    if entry_arn == principal {
        return true;
    }
    let split = |a: &str| -> Option<(String, String, String)> {
        let p: Vec<&str> = a.splitn(6, ':').collect();
        (p.len() == 6 && p[0] == "arn" && p[2] == "iam").then_some(())?;
        let role = p[5].strip_prefix("role/")?;
        Some((
            p[1].to_owned(),
            p[4].to_owned(),
            role.rsplit('/').next()?.to_owned(),
        ))
    };
    matches!((split(entry_arn), split(principal)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_roles_map_to_their_role() {
        assert_eq!(
            principal_arn("arn:aws:sts::123456789012:assumed-role/eks-dev/EKSGetTokenAuth"),
            "arn:aws:iam::123456789012:role/eks-dev"
        );
        assert_eq!(
            principal_arn("arn:aws-cn:sts::123456789012:assumed-role/r/s"),
            "arn:aws-cn:iam::123456789012:role/r"
        );
        assert_eq!(
            principal_arn("arn:aws:iam::1:user/ops/alice"),
            "arn:aws:iam::1:user/ops/alice"
        );
        assert!(same_principal(
            "arn:aws:iam::1:role/teams/dev/eks-dev",
            "arn:aws:iam::1:role/eks-dev"
        ));
        assert!(!same_principal(
            "arn:aws:iam::2:role/eks-dev",
            "arn:aws:iam::1:role/eks-dev"
        ));
        assert!(!same_principal(
            "arn:aws:iam::1:role/eks-dev2",
            "arn:aws:iam::1:role/eks-dev"
        ));
        assert!(!same_principal(
            "arn:aws:iam::1:user/eks-dev",
            "arn:aws:iam::1:role/eks-dev"
        ));
    }
}
