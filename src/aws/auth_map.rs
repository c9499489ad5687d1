//! The aws-auth ConfigMap (`kube-system/aws-auth`), read and matched exactly as EKS's
//! authenticator (aws-iam-authenticator) does.
//!
//! - `mapRoles`, `mapUsers`, `mapAccounts` are YAML strings inside the ConfigMap. Field names
//!   are matched case-insensitively (the authenticator decodes them with Go's encoding/json);
//!   a key whose YAML does not parse contributes nothing and is reported with its line; an
//!   invalid entry is dropped and reported; the others still count.
//! - The caller's ARN is canonicalised (`…:sts::A:assumed-role/R/S` → `arn:P:iam::A:role/R`,
//!   no path), then compared case-insensitively: role mappings first (the last of duplicates
//!   wins), then user mappings, then `mapAccounts` (username = the canonical ARN, no groups).
//!   A `rolearn` written with an IAM path never matches an assumed role.
//! - Username and groups are rendered: `{{AccountID}}`, `{{SessionName}}` (`@` → `-`),
//!   `{{SessionNameRaw}}`, `{{AccessKeyID}}`; `{{EC2PrivateDNSName}}` is left as written (the
//!   server asks EC2 for it), but only a session named after an instance id (`i-` and 8 or 17
//!   word characters) can render it: any other caller is refused (401) by that mapping, with
//!   no fallback to `mapAccounts`.

use serde_json::{Map, Value};

use crate::yaml::document::{Document, NodeId, Resolved};

/// What a mapping matches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum Matcher {
    Role {
        arn: String,
    },
    /// The alpha SSO matcher: `arn:<partition>:iam::<account>:role/AWSReservedSSO_<ps>_*`.
    Sso {
        permission_set: String,
        account: String,
        partition: Option<String>,
    },
    User {
        arn: String,
    },
    Account {
        account: String,
    },
}

/// One mapping of the ConfigMap.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Mapping {
    /// `mapRoles`, `mapUsers` or `mapAccounts`
    pub(crate) key: &'static str,
    /// Line within that key's value (1-based).
    pub(crate) line: usize,
    #[serde(flatten)]
    pub(crate) matcher: Matcher,
    pub(crate) username: String,
    pub(crate) groups: Vec<String>,
}

impl Mapping {
    pub(crate) fn principal(&self) -> String {
        match &self.matcher {
            Matcher::Role { arn } | Matcher::User { arn } => arn.clone(),
            Matcher::Sso {
                permission_set,
                account,
                partition,
            } => format!(
                "arn:{}:iam::{account}:role/AWSReservedSSO_{permission_set}_*",
                partition.as_deref().unwrap_or("aws")
            ),
            Matcher::Account { account } => format!("account {account}"),
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self.matcher {
            Matcher::Role { .. } => "role",
            Matcher::Sso { .. } => "sso",
            Matcher::User { .. } => "user",
            Matcher::Account { .. } => "account",
        }
    }

    /// "role ARN", "user ARN", "sso ARN-pattern" or "account N", for one-line reports.
    pub(crate) fn subject(&self) -> String {
        match &self.matcher {
            Matcher::Account { .. } => self.principal(),
            _ => format!("{} {}", self.kind(), self.principal()),
        }
    }

    pub(crate) fn is_masters(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

/// The parsed ConfigMap, with what could not be used.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthMap {
    pub(crate) mappings: Vec<Mapping>,
    /// One line per key or entry that was skipped, and why.
    pub(crate) problems: Vec<String>,
}

/// The caller as the authenticator sees it.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// `arn:P:iam::A:role/R` for an assumed role, else the ARN as STS gave it.
    pub(crate) canonical: String,
    pub(crate) account: String,
    pub(crate) session_name: String,
    pub(crate) access_key_id: String,
}

/// Canonicalises an STS caller ARN as `pkg/arn.Canonicalize`; `None` for ARNs it rejects.
pub(crate) fn canonicalize(arn: &str) -> Option<(String, String)> {
    let p: Vec<&str> = arn.splitn(6, ':').collect();
    if p.len() != 6 || p[0] != "arn" {
        return None;
    }
    let (partition, service, account, resource) = (p[1], p[2], p[4], p[5]);
    match service {
        "sts" if resource.starts_with("assumed-role/") => {
            let parts: Vec<&str> = resource.split('/').collect();
            if parts.len() < 3 {
                return None;
            }
            let role = parts[1..parts.len() - 1].join("/");
            Some((
                format!("arn:{partition}:iam::{account}:role/{role}"),
                parts[parts.len() - 1].to_owned(),
            ))
        }
        "sts" if resource.starts_with("federated-user/") => Some((arn.to_owned(), String::new())),
        "iam"
            if resource.starts_with("role/")
                || resource.starts_with("user/")
                || resource == "root" =>
        {
            Some((arn.to_owned(), String::new()))
        }
        _ => None,
    }
}

impl Caller {
    pub(crate) fn new(sts_arn: &str, account: &str, access_key_id: &str) -> Option<Self> {
        let (canonical, session_name) = canonicalize(sts_arn)?;
        Some(Self {
            canonical,
            account: account.to_owned(),
            session_name,
            access_key_id: access_key_id.to_owned(),
        })
    }
}

/// Renders the authenticator's templates in a username or group.
pub(crate) fn render(template: &str, c: &Caller) -> String {
    template
        .replace("{{AccountID}}", &c.account)
        .replace("{{SessionNameRaw}}", &c.session_name)
        .replace("{{SessionName}}", &c.session_name.replace('@', "-"))
        .replace("{{AccessKeyID}}", &c.access_key_id)
}

/// A line number in `text` for a byte offset.
fn line_of(text: &str, pos: usize) -> usize {
    text[..pos.min(text.len())].matches('\n').count() + 1
}

/// Case-insensitive field lookup (encoding/json's rule).
fn field<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn string_field(m: &Map<String, Value>, name: &str) -> String {
    match field(m, name) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn groups_field(m: &Map<String, Value>) -> Vec<String> {
    match field(m, "groups") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a ConfigMap value is one the authenticator skips (blank, `""`, `''`).
fn skippable(v: &str) -> bool {
    matches!(v.trim(), "" | "``" | "\"\"" | "''")
}

/// Parses one key's YAML list: (items with their lines, or the syntax error).
fn parse_list(key: &str, text: &str) -> Result<Vec<(usize, Value, Option<String>)>, String> {
    let doc = Document::parse(text.to_owned()).map_err(|e| format!("{key}: {e}"))?;
    let Some(root) = doc.root() else {
        return Ok(Vec::new());
    };
    if !doc.node(root).kind.is_seq() {
        if doc.node(root).kind.is_scalar() && doc.resolve(root) == Resolved::Null {
            return Ok(Vec::new());
        }
        return Err(format!(
            "{key}: line {}: not a list",
            line_of(text, doc.node(root).start as usize)
        ));
    }
    let items: Vec<NodeId> = doc.children(root).collect();
    Ok(items
        .into_iter()
        .map(|it| {
            let n = doc.node(it);
            let line = line_of(text, n.start as usize);
            // mapAccounts keeps the raw text of scalars (012345678901 stays as written)
            let raw = n.kind.is_scalar().then(|| doc.scalar(it).to_owned());
            (line, doc.to_json(it).unwrap_or(Value::Null), raw)
        })
        .collect())
}

impl AuthMap {
    /// From the ConfigMap's `data` (key → YAML string).
    pub(crate) fn from_data(data: &Map<String, Value>) -> Self {
        let mut out = AuthMap::default();
        let get = |k: &str| {
            data.get(k)
                .and_then(Value::as_str)
                .filter(|v| !skippable(v))
        };
        if let Some(text) = get("mapRoles") {
            match parse_list("mapRoles", text) {
                Err(e) => out.problems.push(e),
                Ok(items) => {
                    for (line, v, _) in items {
                        let Value::Object(m) = v else {
                            out.problems
                                .push(format!("mapRoles line {line}: not a mapping"));
                            continue;
                        };
                        let rolearn = string_field(&m, "rolearn");
                        let sso = field(&m, "sso").and_then(Value::as_object);
                        let matcher = match (rolearn.is_empty(), sso) {
                            (false, Some(_)) => {
                                out.problems.push(format!("mapRoles line {line}: only one of rolearn or sso can be supplied"));
                                continue;
                            }
                            (true, None) => {
                                out.problems.push(format!(
                                    "mapRoles line {line}: one of rolearn or sso must be supplied"
                                ));
                                continue;
                            }
                            (false, None) => Matcher::Role { arn: rolearn },
                            (true, Some(s)) => {
                                let account = string_field(s, "accountID");
                                let ps = string_field(s, "permissionSetName");
                                let partition =
                                    Some(string_field(s, "partition")).filter(|p| !p.is_empty());
                                if account.len() != 12
                                    || !account.bytes().all(|b| b.is_ascii_digit())
                                {
                                    out.problems.push(format!("mapRoles line {line}: sso.accountID {account:?} is not 12 digits"));
                                    continue;
                                }
                                Matcher::Sso {
                                    permission_set: ps,
                                    account,
                                    partition,
                                }
                            }
                        };
                        out.mappings.push(Mapping {
                            key: "mapRoles",
                            line,
                            matcher,
                            username: string_field(&m, "username"),
                            groups: groups_field(&m),
                        });
                    }
                }
            }
        }
        if let Some(text) = get("mapUsers") {
            match parse_list("mapUsers", text) {
                Err(e) => out.problems.push(e),
                Ok(items) => {
                    for (line, v, _) in items {
                        let Value::Object(m) = v else {
                            out.problems
                                .push(format!("mapUsers line {line}: not a mapping"));
                            continue;
                        };
                        let userarn = string_field(&m, "userarn");
                        if userarn.is_empty() {
                            out.problems.push(format!(
                                "mapUsers line {line}: value for userarn must be supplied"
                            ));
                            continue;
                        }
                        out.mappings.push(Mapping {
                            key: "mapUsers",
                            line,
                            matcher: Matcher::User { arn: userarn },
                            username: string_field(&m, "username"),
                            groups: groups_field(&m),
                        });
                    }
                }
            }
        }
        if let Some(text) = get("mapAccounts") {
            match parse_list("mapAccounts", text) {
                Err(e) => out.problems.push(e),
                Ok(items) => {
                    for (line, _, raw) in items {
                        match raw {
                            Some(account) => out.mappings.push(Mapping {
                                key: "mapAccounts",
                                line,
                                matcher: Matcher::Account { account },
                                username: String::new(),
                                groups: Vec::new(),
                            }),
                            None => out
                                .problems
                                .push(format!("mapAccounts line {line}: not an account id")),
                        }
                    }
                }
            }
        }
        out
    }

    /// From a ConfigMap as JSON (the API's answer, or `kubectl get cm aws-auth -o yaml`).
    pub(crate) fn from_config_map(cm: &Value) -> Self {
        match cm.get("data").and_then(Value::as_object) {
            Some(d) => Self::from_data(d),
            None => AuthMap::default(),
        }
    }

    /// The mapping the authenticator would use for `c`, with its rendered username and groups.
    pub(crate) fn find(&self, c: &Caller) -> Option<Found<'_>> {
        let canonical = c.canonical.to_lowercase();
        // roles first; among duplicates of one rolearn the last wins
        let role = self.mappings.iter().rfind(|m| match &m.matcher {
            Matcher::Role { arn } => arn.to_lowercase() == canonical,
            Matcher::Sso {
                permission_set,
                account,
                partition: None,
            } => sso_matches(&canonical, permission_set, account),
            _ => false,
        });
        let user = || {
            self.mappings
                .iter()
                .rfind(|m| matches!(&m.matcher, Matcher::User { arn } if arn.eq_ignore_ascii_case(&c.canonical)))
        };
        if let Some(m) = role.or_else(user) {
            let ec2 = std::iter::once(&m.username)
                .chain(&m.groups)
                .any(|t| t.contains("{{EC2PrivateDNSName}}"));
            return Some(Found {
                mapping: m,
                username: render(&m.username, c),
                groups: m.groups.iter().map(|g| render(g, c)).collect(),
                refused: (ec2 && !is_instance_id(&c.session_name)).then(|| {
                    format!(
                        "it uses {{{{EC2PrivateDNSName}}}}, which the authenticator renders only for a session named after an EC2 instance id (i-…), and this session is {:?}",
                        c.session_name
                    )
                }),
            });
        }
        let account = self.mappings.iter().find(
            |m| matches!(&m.matcher, Matcher::Account { account } if *account == c.account),
        )?;
        Some(Found {
            mapping: account,
            username: c.canonical.clone(),
            groups: Vec::new(),
            refused: None,
        })
    }

    /// Why mappings that look meant for `c` do not apply (e.g. a `rolearn` with a path).
    pub(crate) fn near_misses(&self, c: &Caller) -> Vec<String> {
        let mut out = Vec::new();
        let canonical = c.canonical.to_lowercase();
        for m in &self.mappings {
            match &m.matcher {
                Matcher::Role { arn } => {
                    let lower = arn.to_lowercase();
                    if lower != canonical && strip_path(&lower) == canonical {
                        out.push(format!(
                            "{} line {} maps {arn}, with an IAM path: aws-auth compares the role without its path, so it never matches; write {}",
                            m.key,
                            m.line,
                            c.canonical
                        ));
                    }
                }
                Matcher::Sso {
                    permission_set,
                    account,
                    partition: Some(p),
                } if sso_matches(&canonical, permission_set, account) => out.push(format!(
                    "{} line {} is an sso matcher with partition {p:?}: the authenticator never matches an sso entry that sets partition (leave it out)",
                    m.key, m.line
                )),
                _ => {}
            }
        }
        out
    }
}

/// The authenticator's `^i-(\w{8}|\w{17})$`: a session name that is an EC2 instance id.
fn is_instance_id(session_name: &str) -> bool {
    session_name.strip_prefix("i-").is_some_and(|id| {
        (id.len() == 8 || id.len() == 17)
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// `arn:P:iam::A:role/a/b/R` → `arn:P:iam::A:role/R` (lowercase in, lowercase out).
fn strip_path(arn: &str) -> String {
    match arn.split_once(":role/") {
        Some((head, rest)) => format!("{head}:role/{}", rest.rsplit('/').next().unwrap_or(rest)),
        None => arn.to_owned(),
    }
}

fn sso_matches(canonical_lower: &str, permission_set: &str, account: &str) -> bool {
    let prefix = format!(
        "arn:aws:iam::{account}:role/awsreservedsso_{}_",
        permission_set.to_lowercase()
    );
    canonical_lower.starts_with(&prefix)
}

/// A mapping that applies, rendered for the caller.
#[derive(Debug, Clone)]
pub(crate) struct Found<'a> {
    pub(crate) mapping: &'a Mapping,
    pub(crate) username: String,
    pub(crate) groups: Vec<String>,
    /// Why the authenticator refuses the caller although this mapping matches (401).
    pub(crate) refused: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(roles: &str, users: &str, accounts: &str) -> AuthMap {
        AuthMap::from_data(
            json!({"mapRoles": roles, "mapUsers": users, "mapAccounts": accounts})
                .as_object()
                .unwrap(),
        )
    }

    fn caller(arn: &str) -> Caller {
        Caller::new(arn, "123456789012", "AKIAEXAMPLE").unwrap()
    }

    #[test]
    fn canonicalises_like_the_authenticator() {
        assert_eq!(
            canonicalize("arn:aws:sts::1:assumed-role/dev/bob@example.com").unwrap(),
            ("arn:aws:iam::1:role/dev".into(), "bob@example.com".into())
        );
        assert_eq!(
            canonicalize("arn:aws:iam::1:user/ops/alice").unwrap().0,
            "arn:aws:iam::1:user/ops/alice"
        );
        assert!(canonicalize("arn:aws:sts::1:user/moto").is_none());
        assert!(canonicalize("arn:aws:s3:::bucket").is_none());
    }

    #[test]
    fn matches_roles_before_users_case_insensitively_and_renders_templates() {
        let m = map(
            "- rolearn: arn:aws:iam::123456789012:role/Dev\n  username: dev:{{SessionName}}\n  groups: [devs, 'team-{{AccountID}}']\n- RoleArn: arn:aws:iam::123456789012:role/teams/ops\n  username: ops\n",
            "- userarn: arn:aws:iam::123456789012:user/alice\n  username: alice\n  groups: [system:masters]\n",
            "- \"123456789012\"\n",
        );
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        let c = caller("arn:aws:sts::123456789012:assumed-role/dev/bob@example.com");
        let f = m.find(&c).unwrap();
        assert_eq!(f.mapping.line, 1);
        assert_eq!(f.username, "dev:bob-example.com");
        assert_eq!(f.groups, ["devs", "team-123456789012"]);
        let u = m
            .find(&caller("arn:aws:iam::123456789012:user/ALICE"))
            .unwrap();
        assert_eq!(u.username, "alice");
        assert!(u.mapping.is_masters());
        // a role written with a path never matches: mapAccounts applies, and the path is named
        let ops = caller("arn:aws:sts::123456789012:assumed-role/ops/s");
        let f = m.find(&ops).unwrap();
        assert_eq!(f.mapping.key, "mapAccounts");
        assert_eq!(f.username, "arn:aws:iam::123456789012:role/ops");
        let why = m.near_misses(&ops);
        assert!(
            why[0].contains("line 4") && why[0].contains("IAM path"),
            "{why:?}"
        );
    }

    #[test]
    fn bad_yaml_and_bad_entries_are_reported_not_fatal() {
        let m = map(
            "- rolearn: [\n",
            "- username: nobody\n- userarn: arn:aws:iam::1:user/a\n",
            "",
        );
        assert_eq!(m.mappings.len(), 1);
        assert!(
            m.problems[0].starts_with("mapRoles: invalid YAML at line"),
            "{:?}",
            m.problems
        );
        assert!(m.problems[1].contains("mapUsers line 1: value for userarn must be supplied"));
        // leading zeros in mapAccounts stay
        let m = map("", "", "- 012345678901\n");
        assert!(
            matches!(&m.mappings[0].matcher, Matcher::Account { account } if account == "012345678901")
        );
    }

    #[test]
    fn ec2_private_dns_name_admits_only_instance_sessions() {
        let m = map(
            "- rolearn: arn:aws:iam::123456789012:role/Node\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:nodes]\n",
            "",
            "- \"123456789012\"\n",
        );
        for (session, admitted) in [
            ("i-0123456789abcdef0", true),
            ("i-01234567", true),
            ("alice", false),
            ("i-0123456789", false),
            ("i-0123456789abcdef0x", false),
        ] {
            let f = m
                .find(&caller(&format!(
                    "arn:aws:sts::123456789012:assumed-role/Node/{session}"
                )))
                .unwrap();
            assert_eq!(f.mapping.key, "mapRoles", "{session}");
            assert_eq!(f.username, "system:node:{{EC2PrivateDNSName}}");
            assert_eq!(f.refused.is_none(), admitted, "{session}: {:?}", f.refused);
        }
    }

    #[test]
    fn sso_matcher() {
        let m = map(
            "- sso: {permissionSetName: Admin, accountID: \"123456789012\"}\n  username: admin:{{SessionName}}\n- sso: {permissionSetName: View, accountID: \"123456789012\", partition: aws}\n  username: v\n",
            "",
            "",
        );
        let c = caller("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123abcd/bob");
        assert_eq!(m.find(&c).unwrap().username, "admin:bob");
        let v = caller("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_View_99/x");
        assert!(m.find(&v).is_none());
        assert!(m.near_misses(&v)[0].contains("partition"));
    }
}
