//! IAM: the real ARN of a principal that aws-auth names without its path (`iam:GetRole` /
//! `iam:GetUser` by name, as eksctl's migration restores paths).

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_types::region::Region;

use super::{endpoint_override, Target};
use crate::report::{error_chain, one_line};

/// What IAM says of a mapped principal.
#[derive(Debug, Clone)]
pub(crate) enum Lookup {
    /// Its real ARN (with the path).
    Found(String),
    /// No such role or user any more.
    Missing,
    /// It cannot be looked up (another account, no permission, …): why.
    Unknown(String),
}

/// An IAM client (global; honours `AWS_ENDPOINT_URL_IAM` / `AWS_ENDPOINT_URL`).
pub(crate) fn client(creds: Credentials, target: &Target) -> aws_sdk_iam::Client {
    let mut b = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(super::http_client())
        .region(Region::new(target.region.clone()))
        .credentials_provider(creds);
    if let Some(url) = endpoint_override("IAM") {
        b = b.endpoint_url(url);
    }
    aws_sdk_iam::Client::from_conf(b.build())
}

/// The real ARN (with its IAM path) of a role or user that aws-auth names without one:
/// GetRole / GetUser by name, in the caller's account.
pub(crate) fn lookup(
    rt: &tokio::runtime::Runtime,
    iam: &aws_sdk_iam::Client,
    arn: &str,
    caller_account: &str,
) -> Lookup {
    use aws_sdk_iam::error::ProvideErrorMetadata;
    let p: Vec<&str> = arn.splitn(6, ':').collect();
    if p.len() != 6 {
        return Lookup::Unknown(format!("{arn} is not an ARN"));
    }
    let (account, resource) = (p[4], p[5]);
    if account != caller_account {
        return Lookup::Unknown(format!(
            "it is in account {account}, not the caller's ({caller_account}): kctx cannot look up its IAM path there"
        ));
    }
    let name = resource.rsplit('/').next().unwrap_or(resource);
    let res = if resource.starts_with("role/") {
        rt.block_on(iam.get_role().role_name(name).send())
            .map(|o| o.role.map(|r| r.arn))
            .map_err(|e| {
                (
                    e.code().map(str::to_owned),
                    one_line(&error_chain(&e)),
                    "GetRole",
                )
            })
    } else if resource.starts_with("user/") {
        rt.block_on(iam.get_user().user_name(name).send())
            .map(|o| o.user.map(|u| u.arn))
            .map_err(|e| {
                (
                    e.code().map(str::to_owned),
                    one_line(&error_chain(&e)),
                    "GetUser",
                )
            })
    } else {
        return Lookup::Unknown(format!("{arn} names neither a role nor a user"));
    };
    match res {
        Ok(Some(a)) => Lookup::Found(a),
        Ok(None) => Lookup::Missing,
        Err((Some(code), _, _)) if code == "NoSuchEntity" => Lookup::Missing,
        Err((Some(code), msg, op)) if code.contains("AccessDenied") => Lookup::Unknown(format!(
            "missing permission iam:{op} to restore its IAM path ({msg})"
        )),
        Err((_, msg, op)) => Lookup::Unknown(format!("iam:{op} failed: {msg}")),
    }
}
