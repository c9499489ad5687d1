//! A kubeconfig context's EKS cluster and the credentials its user's exec entry signs with,
//! resolved as that plugin (`kctx token`, `aws eks get-token`, aws-iam-authenticator) would
//! resolve them: its `env`, region, profile and role. The bridge between `kubeconfig` (what
//! the file says) and `aws` (who that is), so that neither reads the other.

use anyhow::{anyhow, Result};
use aws_credential_types::Credentials;

use crate::aws::identity::sso_base_and_role;
use crate::aws::sso::config::RoleTarget;
use crate::aws::{AwsArgs, Profiles, Target};
use crate::kubeconfig::{EksExec, Kind, Merged};

/// A context whose user gets EKS credentials through an exec plugin.
#[derive(Debug, Clone)]
pub(crate) struct EksContext {
    pub(crate) context: String,
    /// The EKS cluster name (for the EKS API).
    pub(crate) cluster_name: String,
    pub(crate) exec: EksExec,
}

/// Reads `context` (default: the current one) and its user's exec entry.
pub(crate) fn eks_context(merged: &Merged, context: Option<&str>) -> Result<EksContext> {
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
pub(crate) fn exec_credentials(
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
    // an explicit --profile is the caller's choice of identity, over the entry's SSO role
    let sso = sso_flags(exec).filter(|_| profile_override.is_none());
    sso_base_and_role(
        &args,
        sso,
        exec.role_arn.as_deref(),
        exec.session_name.as_deref(),
        rt,
    )
}

fn sso_flags(exec: &EksExec) -> Option<(&str, &str, &str)> {
    Some((
        exec.sso_session.as_deref()?,
        exec.sso_account_id.as_deref()?,
        exec.sso_role_name.as_deref()?,
    ))
}

/// The IAM Identity Center role an exec entry signs with (its flags, or its profile's SSO
/// settings), once [`exec_credentials`] has applied the entry's env.
pub(crate) fn sso_role(exec: &EksExec) -> Result<Option<RoleTarget>> {
    let mut profiles: Option<Profiles> = None;
    if let Some((s, a, r)) = sso_flags(exec) {
        return crate::aws::sso::explicit_target(&mut profiles, s, a, r).map(Some);
    }
    let from_args = exec
        .profile
        .clone()
        .filter(|_| !exec.env.iter().any(|(k, _)| k == "AWS_PROFILE"));
    let args = AwsArgs {
        profile: from_args,
        region: exec.region.clone(),
    };
    crate::aws::sso::role_target(&args, &mut profiles)
}
