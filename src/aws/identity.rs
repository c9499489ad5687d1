//! Who the caller is to AWS and EKS: credentials (with a role assumed when asked), the STS
//! caller, and the IAM principal EKS matches against access entries.

use anyhow::{bail, Result};
use aws_credential_types::Credentials;

use crate::aws::{self, auth_map, AwsArgs, RoleRequest, Target};

/// An IAM Identity Center role named outright: session, account, role.
pub(crate) type SsoRole<'a> = (&'a str, &'a str, &'a str);

/// Credentials from the default chain (or `--profile`), with a role assumed when asked.
pub(crate) fn base_and_role(
    args: &AwsArgs,
    role_arn: Option<&str>,
    session_name: Option<&str>,
    rt: &mut Option<tokio::runtime::Runtime>,
) -> Result<(Credentials, Target)> {
    sso_base_and_role(args, None, role_arn, session_name, rt)
}

/// [`base_and_role`], with the base credentials from an IAM Identity Center role when one is
/// named (`kctx token --sso-session S --sso-account-id A --sso-role-name R`).
pub(crate) fn sso_base_and_role(
    args: &AwsArgs,
    sso: Option<SsoRole<'_>>,
    role_arn: Option<&str>,
    session_name: Option<&str>,
    rt: &mut Option<tokio::runtime::Runtime>,
) -> Result<(Credentials, Target)> {
    let mut profiles = None;
    let target = aws::resolve_target(args, &mut profiles)?;
    let mut creds = match sso {
        Some((s, a, r)) => {
            let t = aws::sso::explicit_target(&mut profiles, s, a, r)?;
            aws::sso::role_credentials(&t, aws::get_runtime(rt)?)?
        }
        None => aws::sso::base_credentials(args, &target, &mut profiles, rt)?,
    };
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
pub(crate) struct Caller {
    pub(crate) account: String,
    pub(crate) arn: String,
    pub(crate) user_id: String,
    /// IAM role ARN for an assumed-role session (without a path), else the caller ARN.
    pub(crate) principal_arn: String,
}

pub(crate) fn caller(
    rt: &tokio::runtime::Runtime,
    creds: Credentials,
    target: &Target,
) -> Result<Caller> {
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

/// The IAM principal of a caller ARN, as EKS's authenticator canonicalises it
/// ([`auth_map::canonicalize`]): `arn:P:sts::A:assumed-role/ROLE/SESSION` →
/// `arn:P:iam::A:role/ROLE` (a path in the ARN is kept: `assumed-role/Org/Team/Admin/S` →
/// `role/Org/Team/Admin`); other ARNs, and ARNs it refuses, unchanged.
///
/// An assumed-role ARN from STS does not carry the role's path. EKS access entries may name
/// the role with its path (`role/teams/dev/ROLE`), aws-auth never does; [`same_principal`]
/// matches both.
pub(crate) fn principal_arn(caller_arn: &str) -> String {
    auth_map::canonicalize(caller_arn)
        .map(|(_, c)| c)
        .unwrap_or_else(|_| caller_arn.to_owned())
}

/// Whether an access entry's principal ARN names `principal` (role paths ignored for roles).
pub(crate) fn same_principal(entry_arn: &str, principal: &str) -> bool {
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
        // the authenticator's table: a path in an assumed-role ARN is kept
        assert_eq!(
            principal_arn("arn:aws:sts::123456789012:assumed-role/Org/Team/Admin/Session"),
            "arn:aws:iam::123456789012:role/Org/Team/Admin"
        );
        assert_eq!(
            principal_arn("arn:aws:sts::123456789012:user/moto"),
            "arn:aws:sts::123456789012:user/moto"
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
