//! What a kubeconfig user's `exec` entry says about the EKS identity it signs with, for the
//! three plugins EKS users run: `kctx token`, `aws eks get-token` (as `aws eks
//! update-kubeconfig` writes it) and `aws-iam-authenticator token`.

use std::path::Path;

use serde_json::{Map, Value};

/// What an EKS user entry's exec says about the identity it signs with.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct EksExec {
    /// `kctx`, `aws` or `aws-iam-authenticator` (the command's file name).
    pub(crate) command: String,
    pub(crate) cluster: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) role_arn: Option<String>,
    pub(crate) profile: Option<String>,
    /// `--session-name` of a kctx entry (the role session name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session_name: Option<String>,
    /// `--sso-session`, `--sso-account-id` and `--sso-role-name` of a kctx entry (an IAM
    /// Identity Center role instead of a profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sso_session: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sso_account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sso_role_name: Option<String>,
    /// Whether the entry names an Outposts cluster id rather than a cluster name.
    #[serde(skip)]
    pub(crate) by_id: bool,
    /// The exec entry's `env` (names and values), applied when acting as this user.
    #[serde(skip)]
    pub(crate) env: Vec<(String, String)>,
    /// The exec entry's arguments, as written.
    #[serde(skip)]
    pub(crate) args: Vec<String>,
}

impl EksExec {
    /// Reads the exec entry of a user body written by kctx, `aws eks update-kubeconfig`, eksctl
    /// or aws-iam-authenticator; `None` for users that are not EKS exec users.
    pub(crate) fn from_user(user: &Map<String, Value>) -> Option<Self> {
        let exec = user.get("exec")?.as_object()?;
        let command = exec.get("command")?.as_str()?;
        let base = Path::new(command)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let args: Vec<&str> = exec
            .get("args")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let is_eks = match base.as_str() {
            "kctx" => args.first() == Some(&"token"),
            "aws" => args.windows(2).any(|w| w == ["eks", "get-token"]),
            "aws-iam-authenticator" => args.first() == Some(&"token"),
            _ => false,
        };
        if !is_eks {
            return None;
        }
        // a repeated flag counts as the plugin counts it: the last one wins (argparse for
        // the AWS CLI, pflag for aws-iam-authenticator, clap overriding for kctx)
        let flag = |names: &[&str]| -> Option<String> {
            args.iter().enumerate().rev().find_map(|(i, a)| {
                for n in names {
                    if a == n {
                        return args.get(i + 1).map(|v| v.to_string());
                    }
                    if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                        return Some(v.to_string());
                    }
                }
                None
            })
        };
        let env = |key: &str| -> Option<String> {
            exec.get("env")?.as_array()?.iter().rev().find_map(|e| {
                (e.get("name")?.as_str()? == key)
                    .then(|| e.get("value")?.as_str().map(str::to_owned))?
            })
        };
        let env_all: Vec<(String, String)> = exec
            .get("env")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| {
                        Some((
                            e.get("name")?.as_str()?.to_owned(),
                            e.get("value")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            command: base,
            by_id: flag(&["--cluster-id"]).is_some(),
            cluster: flag(&["--cluster-name", "--cluster-id", "-i"]),
            region: flag(&["--region"])
                .or_else(|| env("AWS_REGION"))
                .or_else(|| env("AWS_DEFAULT_REGION")),
            role_arn: flag(&["--role-arn", "--role", "-r"]),
            profile: flag(&["--profile"]).or_else(|| env("AWS_PROFILE")),
            session_name: flag(&["--session-name"]),
            sso_session: flag(&["--sso-session"]),
            sso_account_id: flag(&["--sso-account-id"]),
            sso_role_name: flag(&["--sso-role-name"]),
            env: env_all,
            args: args.iter().map(|a| a.to_string()).collect(),
        })
    }
}

/// The account id in an ARN (`arn:partition:service:region:account:…`).
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    let mut it = arn.split(':');
    (it.next()? == "arn").then_some(())?;
    it.nth(3).filter(|a| !a.is_empty())
}
