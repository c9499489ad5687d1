//! Planning the move from aws-auth to access entries, with eksctl's rules
//! (`utils migrate-to-access-entry`), minus its failure modes:
//!
//! - username `system:node:{{EC2PrivateDNSName}}` → an `EC2_LINUX` entry (`EC2_WINDOWS` when a
//!   group is `eks:kube-proxy-windows`), nothing else;
//! - a `system:masters` group → `STANDARD` + AmazonEKSClusterAdminPolicy (cluster scope),
//!   username kept;
//! - other `system:` groups → skipped (access entries cannot carry them);
//! - no `system:` group → `STANDARD` with the same username and groups, no policy;
//! - service-linked roles, `mapAccounts` and `sso:` matchers → skipped;
//! - IAM paths are restored (aws-auth names roles without them; entries need the real ARN); a
//!   principal that no longer exists is skipped and reported (eksctl aborts the whole run);
//! - duplicates dropped; principals that already have an entry skipped;
//! - an ambiguous mapping (a field spelled twice in different case, a value the authenticator
//!   ignores: see `auth_map`) → skipped with the reason: what it grants depends on a reading
//!   few people would guess, so a person fixes it first.
//!
//! Skips other than "already has an entry" and "duplicate" block the switch to `API` mode.

use super::access::{self, NewEntry};
use super::auth_map::{Mapping, Matcher};
use super::iam::Lookup;

/// The `key` of the row that stands for the cluster creator's hidden admin (no aws-auth key).
pub(crate) const CREATOR: &str = "creator";

#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub(crate) enum Action {
    Create {
        principal: String,
        #[serde(rename = "type")]
        kind: String,
        username: Option<String>,
        groups: Vec<String>,
        policy: Option<String>,
    },
    Skip {
        why: String,
        /// Whether this skip keeps aws-auth needed (no switch to API).
        blocks_api: bool,
    },
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Planned {
    pub(crate) mapping: Mapping,
    #[serde(flatten)]
    pub(crate) action: Action,
}

impl Planned {
    pub(crate) fn new_entry(&self) -> Option<(String, NewEntry, Option<String>)> {
        match &self.action {
            Action::Create {
                principal,
                kind,
                username,
                groups,
                policy,
            } => Some((
                principal.clone(),
                NewEntry {
                    kind: Some(kind.clone()),
                    username: username.clone(),
                    groups: groups.clone(),
                },
                policy.clone(),
            )),
            Action::Skip { .. } => None,
        }
    }

    pub(crate) fn blocks_api(&self) -> bool {
        matches!(
            self.action,
            Action::Skip {
                blocks_api: true,
                ..
            }
        )
    }
}

fn skip(why: impl Into<String>, blocks_api: bool) -> Action {
    Action::Skip {
        why: why.into(),
        blocks_api,
    }
}

/// The plan for `mappings` (in aws-auth's order: roles, users, accounts). `existing` are the
/// cluster's access entries; `lookup` restores IAM paths; `partition` names the admin policy.
pub(crate) fn plan(
    mappings: &[Mapping],
    existing: &[String],
    partition: &str,
    mut lookup: impl FnMut(&Mapping) -> Lookup,
) -> Vec<Planned> {
    let mut out: Vec<Planned> = Vec::new();
    for m in mappings {
        let action = decide(m, existing, partition, &out, &mut lookup);
        out.push(Planned {
            mapping: m.clone(),
            action,
        });
    }
    out
}

/// The ARN a mapping names, or why it cannot become an access entry at all.
fn movable(m: &Mapping) -> Result<&str, Action> {
    if let Some(why) = &m.ambiguous {
        return Err(skip(
            format!(
                "ambiguous: {why}; fix the mapping first (kctx never acts on an ambiguous one)"
            ),
            true,
        ));
    }
    let arn = match &m.matcher {
        Matcher::Account { account } => {
            return Err(skip(
                format!("mapAccounts admits all of account {account}; access entries name single principals"),
                true,
            ))
        }
        Matcher::Sso { permission_set, .. } => {
            return Err(skip(
                format!("an sso matcher (permission set {permission_set}) names no single role: create an entry for that permission set's role ARN (it has the aws-reserved/sso.amazonaws.com/ path)"),
                true,
            ))
        }
        Matcher::Role { arn } | Matcher::User { arn } => arn,
    };
    if arn.contains(":role/aws-service-role/") {
        return Err(skip(
            "a service-linked role: EKS allows no access entry for it",
            true,
        ));
    }
    Ok(arn)
}

fn decide(
    m: &Mapping,
    existing: &[String],
    partition: &str,
    done: &[Planned],
    lookup: &mut impl FnMut(&Mapping) -> Lookup,
) -> Action {
    if let Err(skipped) = movable(m) {
        return skipped;
    }
    let principal = match lookup(m) {
        Lookup::Found(a) => a,
        Lookup::Missing => {
            return skip(
                format!(
                    "the {} no longer exists in IAM (the mapping is dead; remove it from aws-auth)",
                    m.kind()
                ),
                true,
            )
        }
        Lookup::Unknown(why) => return skip(why, true),
    };
    if let Some(first) = done.iter().find(
        |p| matches!(&p.action, Action::Create { principal: other, .. } if *other == principal),
    ) {
        return skip(
            format!(
                "a duplicate of {} line {}",
                first.mapping.key, first.mapping.line
            ),
            false,
        );
    }
    if existing.contains(&principal) {
        return skip(format!("{principal} already has an access entry"), false);
    }
    let username = Some(m.username.clone()).filter(|u| !u.is_empty());
    if m.username == "system:node:{{EC2PrivateDNSName}}" {
        let windows = m.groups.iter().any(|g| g == "eks:kube-proxy-windows");
        if !principal.contains(":role/") {
            return skip("a node mapping for something that is not a role", true);
        }
        return Action::Create {
            principal,
            kind: if windows { "EC2_WINDOWS" } else { "EC2_LINUX" }.into(),
            username: None,
            groups: Vec::new(),
            policy: None,
        };
    }
    let (groups, policy) = if m.is_masters() {
        (
            Vec::new(),
            Some(format!(
                "arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
            )),
        )
    } else if m.groups.iter().any(|g| g.starts_with("system:")) {
        let system: Vec<&str> = m
            .groups
            .iter()
            .filter(|g| g.starts_with("system:"))
            .map(String::as_str)
            .collect();
        let fargate = if m.username == "system:node:{{SessionName}}" {
            " (a Fargate pod execution role: create its FARGATE_LINUX entry with `kctx access grant ARN --type FARGATE_LINUX`)"
        } else {
            ""
        };
        return skip(
            format!(
                "its group{} {} start{} with \"system:\", which an access entry cannot carry{fargate}",
                if system.len() == 1 { "" } else { "s" },
                system.join(","),
                if system.len() == 1 { "s" } else { "" },
            ),
            true,
        );
    } else {
        (m.groups.clone(), None)
    };
    let entry = NewEntry {
        kind: Some("STANDARD".into()),
        username: username.clone(),
        groups: groups.clone(),
    };
    if let Err(e) = access::validate_entry(&principal, &entry, policy.is_some()) {
        return skip(format!("{e}"), true);
    }
    Action::Create {
        principal,
        kind: "STANDARD".into(),
        username,
        groups,
        policy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::auth_map::AuthMap;
    use serde_json::json;

    #[test]
    fn eksctl_rules_and_better_failure_modes() {
        let m = AuthMap::from_data(
            json!({
                "mapRoles": "- rolearn: arn:aws:iam::111122223333:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n- rolearn: arn:aws:iam::111122223333:role/win\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:nodes, eks:kube-proxy-windows]\n- rolearn: arn:aws:iam::111122223333:role/admin\n  username: admin\n  groups: [system:masters, extra]\n- rolearn: arn:aws:iam::111122223333:role/fargate\n  username: system:node:{{SessionName}}\n  groups: [system:node-proxier]\n- rolearn: arn:aws:iam::111122223333:role/dev\n  username: dev:{{SessionName}}\n  groups: [devs]\n- rolearn: arn:aws:iam::111122223333:role/aws-service-role/x\n- rolearn: arn:aws:iam::111122223333:role/gone\n  username: gone\n- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev2\n  groups: [devs]\n- rolearn: arn:aws:iam::111122223333:role/has\n  username: has\n",
                "mapUsers": "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n  groups: [view]\n",
                "mapAccounts": "- \"444455556666\"\n",
            })
            .as_object()
            .unwrap(),
        )
        .unwrap();
        let existing = vec!["arn:aws:iam::111122223333:role/has".to_owned()];
        let plan = plan(&m.mappings, &existing, "aws", |mp| {
            let arn = mp.principal();
            if arn.ends_with("/gone") {
                Lookup::Missing
            } else if arn.ends_with("role/dev") || arn.ends_with("role/Dev") {
                // IAM role names are case-insensitive: both name teams/dev/dev
                Lookup::Found("arn:aws:iam::111122223333:role/teams/dev".into())
            } else {
                Lookup::Found(arn)
            }
        });
        let summary: Vec<String> = plan
            .iter()
            .map(|p| match &p.action {
                Action::Create {
                    principal,
                    kind,
                    username,
                    groups,
                    policy,
                } => format!(
                    "create {kind} {principal} {username:?} {groups:?} {:?}",
                    policy.as_deref().map(|p| p.rsplit('/').next().unwrap())
                ),
                Action::Skip { why, blocks_api } => {
                    format!("skip{} {why}", if *blocks_api { "!" } else { "" })
                }
            })
            .collect();
        assert_eq!(
            summary[0],
            "create EC2_LINUX arn:aws:iam::111122223333:role/nodes None [] None"
        );
        assert_eq!(
            summary[1],
            "create EC2_WINDOWS arn:aws:iam::111122223333:role/win None [] None"
        );
        assert_eq!(summary[2], "create STANDARD arn:aws:iam::111122223333:role/admin Some(\"admin\") [] Some(\"AmazonEKSClusterAdminPolicy\")");
        assert!(
            summary[3].starts_with("skip! its group system:node-proxier starts with \"system:\""),
            "{}",
            summary[3]
        );
        assert_eq!(summary[4], "create STANDARD arn:aws:iam::111122223333:role/teams/dev Some(\"dev:{{SessionName}}\") [\"devs\"] None");
        assert!(
            summary[5].starts_with("skip! a service-linked role"),
            "{}",
            summary[5]
        );
        assert!(
            summary[6].starts_with("skip! the role no longer exists"),
            "{}",
            summary[6]
        );
        assert_eq!(summary[7], "skip a duplicate of mapRoles line 13");
        assert_eq!(
            summary[8],
            "skip arn:aws:iam::111122223333:role/has already has an access entry"
        );
        assert_eq!(
            summary[9],
            "create STANDARD arn:aws:iam::111122223333:user/alice Some(\"alice\") [\"view\"] None"
        );
        assert!(
            summary[10].starts_with("skip! mapAccounts"),
            "{}",
            summary[10]
        );
    }

    #[test]
    fn an_ambiguous_mapping_is_never_acted_on() {
        let m = AuthMap::from_data(
            json!({"mapRoles": "- RoleARN: arn:aws:iam::1:role/intern\n  rolearn: arn:aws:iam::1:role/ci-admin\n  groups: [system:masters]\n- rolearn: arn:aws:iam::1:role/ok\n  username: ok\n  groups: [devs]\n"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let plan = plan(&m.mappings, &[], "aws", |mp| Lookup::Found(mp.principal()));
        match &plan[0].action {
            Action::Skip { why, blocks_api } => {
                assert!(*blocks_api);
                assert!(
                    why.starts_with("ambiguous: keys \"RoleARN\", \"rolearn\" all set rolearn"),
                    "{why}"
                );
                assert!(
                    why.ends_with("fix the mapping first (kctx never acts on an ambiguous one)"),
                    "{why}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&plan[1].action, Action::Create { principal, .. } if principal.ends_with("role/ok"))
        );
    }
}
