//! The aws-auth ConfigMap (`kube-system/aws-auth`), read and matched exactly as EKS's
//! authenticator (aws-iam-authenticator: `pkg/mapper/configmap`, `pkg/config`, `pkg/arn`,
//! `pkg/server`) does.
//!
//! - `data` values are strings (the API server refuses anything else); a copy whose
//!   `mapRoles`/`mapUsers`/`mapAccounts` is not a string (a YAML list written without `|`) is
//!   not a ConfigMap, and is refused with one line naming the key.
//! - `mapRoles` and `mapUsers` go YAML → JSON → Go's encoding/json, as `ParseMap` sends them:
//!   sigs.k8s.io/yaml turns each mapping into a JSON object with its keys **sorted bytewise**,
//!   and encoding/json matches keys to fields case-insensitively (Go's `EqualFold`, so `ſ` is
//!   an `s`), every matching key overwriting the field: the bytewise-last spelling wins
//!   (`rolearn` over `RoleARN`). A `null` leaves a string field as it was and empties a list;
//!   a value of the wrong type is ignored (the field keeps what it had). A mapping that spells
//!   one field twice, or gives a field a value the authenticator ignores, is **ambiguous**: it
//!   is matched as the authenticator matches it, and said to be ambiguous wherever it is shown
//!   (`kctx access migrate` never acts on it).
//! - A key whose YAML does not parse contributes nothing and is reported with its line; an
//!   entry that fails the authenticator's `Validate` is dropped and reported; the others still
//!   count. `mapAccounts` keeps each scalar's text (`012345678901` stays as written).
//! - The caller's ARN is canonicalised as `pkg/arn.Canonicalize`
//!   (`…:sts::A:assumed-role/Org/Team/Admin/S` → `arn:P:iam::A:role/Org/Team/Admin`, other
//!   identities unchanged, unknown partitions and services refused), then compared
//!   case-insensitively: role mappings first (the last of duplicates wins), then user
//!   mappings, then `mapAccounts` (username = the canonical ARN, no groups). A `rolearn`
//!   written with an IAM path never matches an assumed role.
//! - Username and groups are rendered: `{{AccountID}}`, `{{SessionName}}` (`@` → `-`),
//!   `{{SessionNameRaw}}`, `{{AccessKeyID}}`; `{{EC2PrivateDNSName}}` is left as written (the
//!   server asks EC2 for it), but only a session named after an instance id (`i-` and 8 or 17
//!   word characters) can render it: any other caller is refused (401) by that mapping, with
//!   no fallback to `mapAccounts`.

use serde_json::{Map, Value};

use crate::yaml::document::{Document, NodeId, Resolved};

/// The partitions the authenticator recognises (`pkg/endpoints.PARTITIONS`), exactly.
pub(crate) const PARTITIONS: [&str; 8] = [
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

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
    /// Why this mapping does not mean what it seems to (a field spelled twice, a value the
    /// authenticator ignores); it is still matched as the authenticator matches it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ambiguous: Option<String>,
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

    /// `mapRoles:3`: which key of aws-auth, and the line within it.
    pub(crate) fn at(&self) -> String {
        format!("{}:{}", self.key, self.line)
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

/// What kind of identity a canonical ARN names (`pkg/arn.PrincipalType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalType {
    User,
    AssumedRole,
    Role,
    FederatedUser,
    Root,
}

/// `pkg/arn.Canonicalize`, exactly: (type, canonical ARN), or the authenticator's reason for
/// refusing the ARN. An assumed role keeps its whole path (`assumed-role/Org/Team/Admin/S` →
/// `role/Org/Team/Admin`); everything else it accepts is returned unchanged; nothing is
/// lowercased.
pub(crate) fn canonicalize(arn: &str) -> Result<(PrincipalType, String), String> {
    // aws-sdk-go-v2 arn.Parse: the "arn:" prefix, then exactly six ':'-separated sections
    let p: Vec<&str> = arn.splitn(6, ':').collect();
    if !arn.starts_with("arn:") {
        return Err(format!("arn '{arn}' is invalid: 'arn: invalid prefix'"));
    }
    if p.len() != 6 {
        return Err(format!(
            "arn '{arn}' is invalid: 'arn: not enough sections'"
        ));
    }
    let (partition, service, account, resource) = (p[1], p[2], p[4], p[5]);
    if !PARTITIONS.contains(&partition) {
        return Err(format!("arn '{arn}' does not have a recognized partition"));
    }
    let parts: Vec<&str> = resource.split('/').collect();
    match (service, parts[0]) {
        ("sts", "federated-user") => Ok((PrincipalType::FederatedUser, arn.to_owned())),
        ("sts", "assumed-role") => {
            if parts.len() < 3 {
                return Err(format!("assumed-role arn '{arn}' does not have a role"));
            }
            let role = parts[1..parts.len() - 1].join("/");
            Ok((
                PrincipalType::AssumedRole,
                format!("arn:{partition}:iam::{account}:role/{role}"),
            ))
        }
        ("sts", _) => Err(format!("unrecognized resource {resource} for service sts")),
        ("iam", "role") => Ok((PrincipalType::Role, arn.to_owned())),
        ("iam", "user") => Ok((PrincipalType::User, arn.to_owned())),
        ("iam", "root") => Ok((PrincipalType::Root, arn.to_owned())),
        ("iam", _) => Err(format!("unrecognized resource {resource} for service iam")),
        _ => Err(format!(
            "service {service} in arn {arn} is not a valid service for identities"
        )),
    }
}

/// The caller as the authenticator sees it.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// `arn:P:iam::A:role/R` for an assumed role, else the ARN as STS gave it.
    pub(crate) canonical: String,
    pub(crate) account: String,
    /// From STS's `UserId` (`AROA…:session`), as the authenticator takes it.
    pub(crate) session_name: String,
    pub(crate) access_key_id: String,
}

impl Caller {
    /// The identity the authenticator builds from STS's answer (`pkg/token.Verify`): the
    /// canonical ARN, and for roles the session name after the `:` of `UserId`, which must
    /// have exactly one. `Err` is why the authenticator refuses the caller.
    pub(crate) fn new(
        sts_arn: &str,
        account: &str,
        user_id: &str,
        access_key_id: &str,
    ) -> Result<Self, String> {
        let (kind, canonical) = canonicalize(sts_arn)?;
        let session_name = match kind {
            PrincipalType::Role | PrincipalType::AssumedRole => {
                let parts: Vec<&str> = user_id.split(':').collect();
                if parts.len() != 2 {
                    return Err(format!("malformed UserID {user_id:?}"));
                }
                parts[1].to_owned()
            }
            _ => String::new(),
        };
        Ok(Self {
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
        .replace("{{SessionName}}", &c.session_name.replace('@', "-"))
        .replace("{{SessionNameRaw}}", &c.session_name)
        .replace("{{AccessKeyID}}", &c.access_key_id)
}

/// A line number in `text` for a byte offset.
fn line_of(text: &str, pos: usize) -> usize {
    text[..pos.min(text.len())].matches('\n').count() + 1
}

/// Whether a JSON key names the ASCII field `field` to encoding/json: Go's `EqualFold`
/// (simple Unicode folding), where `ſ` (U+017F) folds to `s` and the Kelvin sign (U+212A)
/// to `k`.
fn folds_to(key: &str, field: &str) -> bool {
    let mut k = key.chars();
    for f in field.chars() {
        let Some(c) = k.next() else { return false };
        let same = (c.is_ascii() && c.eq_ignore_ascii_case(&f))
            || (c == '\u{17F}' && f.eq_ignore_ascii_case(&'s'))
            || (c == '\u{212A}' && f.eq_ignore_ascii_case(&'k'));
        if !same {
            return false;
        }
    }
    k.next().is_none()
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// One JSON object decoded into a Go struct by encoding/json, recording what makes the
/// result differ from what a reader of the YAML would expect.
struct Decoder<'a> {
    obj: &'a Map<String, Value>,
    /// Case variants of one field, and values of the wrong type.
    doubts: Vec<String>,
}

impl<'a> Decoder<'a> {
    fn new(obj: &'a Map<String, Value>) -> Self {
        Self {
            obj,
            doubts: Vec::new(),
        }
    }

    /// The keys that set `field`, in the order encoding/json sees them (sigs.k8s.io/yaml
    /// sorts them bytewise).
    fn keys(&self, field: &str) -> Vec<(&'a String, &'a Value)> {
        let mut v: Vec<(&String, &Value)> = self
            .obj
            .iter()
            .filter(|(k, _)| folds_to(k, field))
            .collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    fn spelled_twice(&mut self, field: &str, keys: &[(&String, &Value)], used: Option<&str>) {
        if keys.len() > 1 {
            let names: Vec<String> = keys.iter().map(|(k, _)| format!("{k:?}")).collect();
            self.doubts.push(format!(
                "keys {} all set {field} (the authenticator reads {})",
                names.join(", "),
                used.map_or_else(|| "none of them".to_owned(), |k| format!("{k:?}"))
            ));
        }
    }

    /// A `string` field: the last string wins, `null` changes nothing, other types are ignored.
    fn string(&mut self, field: &str) -> String {
        self.string_set(field).unwrap_or_default()
    }

    /// A `string` field, `None` when no key sets it.
    fn string_set(&mut self, field: &str) -> Option<String> {
        let keys = self.keys(field);
        let (mut out, mut used) = (None, None);
        for (k, v) in &keys {
            match v {
                Value::String(s) => {
                    out = Some(s.clone());
                    used = Some(k.as_str());
                }
                Value::Null => {}
                other => self.doubts.push(format!(
                    "{k} is {}, not a string: the authenticator ignores it",
                    json_kind(other)
                )),
            }
        }
        self.spelled_twice(field, &keys, used);
        out
    }

    /// A `[]string` field: a list replaces it (non-strings become ""), `null` empties it,
    /// other types are ignored.
    fn list(&mut self, field: &str) -> Vec<String> {
        let keys = self.keys(field);
        let (mut out, mut used) = (Vec::new(), None);
        for (k, v) in &keys {
            match v {
                Value::Array(items) => {
                    out = items
                        .iter()
                        .map(|x| match x {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => {
                                self.doubts.push(format!(
                                    "{k} has an item that is {}: the authenticator reads it as \"\"",
                                    json_kind(other)
                                ));
                                String::new()
                            }
                        })
                        .collect();
                    used = Some(k.as_str());
                }
                Value::Null => {
                    out = Vec::new();
                    used = Some(k.as_str());
                }
                other => self.doubts.push(format!(
                    "{k} is {}, not a list: the authenticator ignores it",
                    json_kind(other)
                )),
            }
        }
        self.spelled_twice(field, &keys, used);
        out
    }

    /// A `*struct` field: each mapping is decoded into the same struct (fields merge),
    /// `null` unsets it, other types are ignored. Returns the merged fields' objects in order.
    fn object(&mut self, field: &str) -> Option<Vec<&'a Map<String, Value>>> {
        let keys = self.keys(field);
        let (mut out, mut used): (Option<Vec<&Map<String, Value>>>, _) = (None, None);
        for (k, v) in &keys {
            match v {
                Value::Object(o) => {
                    out.get_or_insert_with(Vec::new).push(o);
                    used = Some(k.as_str());
                }
                Value::Null => {
                    out = None;
                    used = Some(k.as_str());
                }
                other => self.doubts.push(format!(
                    "{k} is {}, not a mapping: the authenticator ignores it",
                    json_kind(other)
                )),
            }
        }
        self.spelled_twice(field, &keys, used);
        out
    }

    fn ambiguous(self) -> Option<String> {
        (!self.doubts.is_empty()).then(|| self.doubts.join("; "))
    }
}

/// The `sso` matcher of a role mapping, decoded from one or more mappings merged in order.
fn decode_sso(objs: &[&Map<String, Value>], doubts: &mut Vec<String>) -> (String, String, String) {
    let (mut ps, mut account, mut partition) = (String::new(), String::new(), String::new());
    for o in objs {
        let mut d = Decoder::new(o);
        // a field a later `sso` mapping does not set keeps the earlier value
        if let Some(v) = d.string_set("permissionSetName") {
            ps = v;
        }
        if let Some(v) = d.string_set("accountID") {
            account = v;
        }
        if let Some(v) = d.string_set("partition") {
            partition = v;
        }
        doubts.extend(d.doubts.into_iter().map(|x| format!("sso: {x}")));
    }
    (ps, account, partition)
}

/// `SSOARNMatcher` validation: a 12-digit account, a permission set name of 1–32 of
/// `[\w+=,.@-]`, a known partition or none.
fn validate_sso(ps: &str, account: &str, partition: &str) -> Result<(), String> {
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("sso.accountID {account:?} is not 12 digits"));
    }
    let ps_ok = (1..=32).contains(&ps.chars().count())
        && ps
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !ps_ok {
        return Err(format!(
            "sso.permissionSetName {ps:?} is not 1 to 32 of letters, digits and _+=,.@-"
        ));
    }
    if !partition.is_empty() && !PARTITIONS.contains(&partition) {
        return Err(format!("sso.partition {partition:?} is not a partition"));
    }
    Ok(())
}

/// Whether a ConfigMap value is one the authenticator skips (blank, `""`, `''`).
fn skippable(v: &str) -> bool {
    matches!(v.trim(), "" | "``" | "\"\"" | "''")
}

/// One item of a key's YAML list: its line, its JSON, and the raw text of a scalar.
type Item = (usize, Value, Option<String>);

/// Parses one key's YAML list: (items with their lines, or the syntax error).
fn parse_list(key: &str, text: &str) -> Result<Vec<Item>, String> {
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
    items
        .into_iter()
        .map(|it| {
            let n = doc.node(it);
            let line = line_of(text, n.start as usize);
            // mapAccounts keeps the raw text of scalars (012345678901 stays as written)
            let raw = n.kind.is_scalar().then(|| doc.scalar(it).to_owned());
            let v = doc
                .to_json(it)
                .map_err(|e| format!("{key} line {line}: {e}"))?;
            Ok((line, v, raw))
        })
        .collect()
}

/// A `mapRoles` item as `RoleMapping` decodes and validates it.
fn role_mapping(line: usize, m: &Map<String, Value>) -> Result<Mapping, String> {
    let mut d = Decoder::new(m);
    let rolearn = d.string("rolearn");
    let sso = d.object("sso");
    let username = d.string("username");
    let groups = d.list("groups");
    let _userid = d.string("userid");
    let mut doubts = std::mem::take(&mut d.doubts);
    let matcher = match (rolearn.is_empty(), sso) {
        (false, Some(_)) => {
            return Err(format!(
                "mapRoles line {line}: only one of rolearn or sso can be supplied"
            ))
        }
        (true, None) => {
            return Err(format!(
                "mapRoles line {line}: one of rolearn or sso must be supplied"
            ))
        }
        (false, None) => Matcher::Role { arn: rolearn },
        (true, Some(objs)) => {
            let (ps, account, partition) = decode_sso(&objs, &mut doubts);
            validate_sso(&ps, &account, &partition)
                .map_err(|e| format!("mapRoles line {line}: {e}"))?;
            Matcher::Sso {
                permission_set: ps,
                account,
                partition: Some(partition).filter(|p| !p.is_empty()),
            }
        }
    };
    Ok(Mapping {
        key: "mapRoles",
        line,
        matcher,
        username,
        groups,
        ambiguous: (!doubts.is_empty()).then(|| doubts.join("; ")),
    })
}

/// A `mapUsers` item as `UserMapping` decodes and validates it.
fn user_mapping(line: usize, m: &Map<String, Value>) -> Result<Mapping, String> {
    let mut d = Decoder::new(m);
    let userarn = d.string("userarn");
    let username = d.string("username");
    let groups = d.list("groups");
    let _userid = d.string("userid");
    if userarn.is_empty() {
        return Err(format!(
            "mapUsers line {line}: value for userarn must be supplied"
        ));
    }
    Ok(Mapping {
        key: "mapUsers",
        line,
        matcher: Matcher::User { arn: userarn },
        username,
        groups,
        ambiguous: d.ambiguous(),
    })
}

impl AuthMap {
    fn add(
        &mut self,
        key: &'static str,
        text: &str,
        each: fn(usize, &Map<String, Value>) -> Result<Mapping, String>,
    ) {
        match parse_list(key, text) {
            Err(e) => self.problems.push(e),
            Ok(items) => {
                for (line, v, _) in items {
                    let Value::Object(m) = v else {
                        self.problems
                            .push(format!("{key} line {line}: not a mapping"));
                        continue;
                    };
                    match each(line, &m) {
                        Ok(mapping) => self.mappings.push(mapping),
                        Err(e) => self.problems.push(e),
                    }
                }
            }
        }
    }

    fn add_accounts(&mut self, text: &str) {
        match parse_list("mapAccounts", text) {
            Err(e) => self.problems.push(e),
            Ok(items) => {
                for (line, _, raw) in items {
                    match raw {
                        Some(account) => self.mappings.push(Mapping {
                            key: "mapAccounts",
                            line,
                            matcher: Matcher::Account { account },
                            username: String::new(),
                            groups: Vec::new(),
                            ambiguous: None,
                        }),
                        None => self
                            .problems
                            .push(format!("mapAccounts line {line}: not an account id")),
                    }
                }
            }
        }
    }

    /// From the ConfigMap's `data` (key → YAML string). `Err` names a value that is not a
    /// string: the API server refuses such a ConfigMap, so this is no copy of one.
    pub(crate) fn from_data(data: &Map<String, Value>) -> Result<Self, String> {
        for (k, v) in data {
            if !v.is_string() {
                return Err(format!(
                    "data.{k} is {}, not a string (a YAML list or mapping written without `|`?): not a valid ConfigMap, the API server refuses it",
                    json_kind(v)
                ));
            }
        }
        let mut out = AuthMap::default();
        let get = |k: &str| {
            data.get(k)
                .and_then(Value::as_str)
                .filter(|v| !skippable(v))
        };
        if let Some(text) = get("mapRoles") {
            out.add("mapRoles", text, role_mapping);
        }
        if let Some(text) = get("mapUsers") {
            out.add("mapUsers", text, user_mapping);
        }
        if let Some(text) = get("mapAccounts") {
            out.add_accounts(text);
        }
        Ok(out)
    }

    /// From a ConfigMap as JSON (the API's answer, or `kubectl get cm aws-auth -o yaml`).
    pub(crate) fn from_config_map(cm: &Value) -> Result<Self, String> {
        match cm.get("data") {
            Some(Value::Object(d)) => Self::from_data(d),
            None | Some(Value::Null) => Ok(AuthMap::default()),
            Some(other) => Err(format!(
                "data is {}, not a mapping: not a valid ConfigMap",
                json_kind(other)
            )),
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
            self.mappings.iter().rfind(
                |m| matches!(&m.matcher, Matcher::User { arn } if arn.to_lowercase() == canonical),
            )
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
        .unwrap()
    }

    fn caller(arn: &str) -> Caller {
        let session = arn.rsplit('/').next().unwrap();
        Caller::new(
            arn,
            "123456789012",
            &format!("AROAEXAMPLE:{session}"),
            "AKIAEXAMPLE",
        )
        .unwrap()
    }

    /// aws-iam-authenticator's own table (`pkg/arn/arn_test.go`, `arnTests`), then the edge
    /// cases its code gives (computed with a copy of `Canonicalize`).
    #[test]
    fn canonicalises_exactly_as_the_authenticator() {
        let ok = [
            ("arn:aws:iam::123456789012:user/Alice", "arn:aws:iam::123456789012:user/Alice"),
            ("arn:aws:iam::123456789012:role/Users", "arn:aws:iam::123456789012:role/Users"),
            ("arn:aws:sts::123456789012:assumed-role/Admin/Session", "arn:aws:iam::123456789012:role/Admin"),
            ("arn:aws:sts::123456789012:federated-user/Bob", "arn:aws:sts::123456789012:federated-user/Bob"),
            ("arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"),
            ("arn:aws:sts::123456789012:assumed-role/Org/Team/Admin/Session", "arn:aws:iam::123456789012:role/Org/Team/Admin"),
            ("arn:aws-iso:iam::123456789012:user/Chris", "arn:aws-iso:iam::123456789012:user/Chris"),
            ("arn:aws-iso-b:iam::123456789012:user/Chris", "arn:aws-iso-b:iam::123456789012:user/Chris"),
            // edge cases
            ("arn:aws:sts::123456789012:assumed-role//Session", "arn:aws:iam::123456789012:role/"),
            ("arn:aws:sts::123456789012:assumed-role/Admin/", "arn:aws:iam::123456789012:role/Admin"),
            ("arn:aws:sts:us-east-1:123456789012:assumed-role/Admin/S", "arn:aws:iam::123456789012:role/Admin"),
            ("arn:aws-cn:sts::123456789012:assumed-role/Admin/S", "arn:aws-cn:iam::123456789012:role/Admin"),
            ("arn:aws:iam::1:root/x", "arn:aws:iam::1:root/x"),
            ("arn:aws:iam::1:user", "arn:aws:iam::1:user"),
            ("arn:aws:sts::1:federated-user", "arn:aws:sts::1:federated-user"),
            ("arn:aws:sts::1:assumed-role/A/S:x", "arn:aws:iam::1:role/A"),
            (
                "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/us-east-1/AWSReservedSSO_Admin_abc",
                "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/us-east-1/AWSReservedSSO_Admin_abc",
            ),
        ];
        for (input, want) in ok {
            assert_eq!(
                canonicalize(input).map(|c| c.1),
                Ok(want.to_owned()),
                "{input}"
            );
        }
        let refused = [
            (
                "NOT AN ARN",
                "arn 'NOT AN ARN' is invalid: 'arn: invalid prefix'",
            ),
            (
                "arn:aws:iam::1",
                "arn 'arn:aws:iam::1' is invalid: 'arn: not enough sections'",
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/Admin",
                "does not have a role",
            ),
            (
                "arn:AWS:iam::1:user/x",
                "does not have a recognized partition",
            ),
            (
                "arn:aws-foo:iam::1:user/x",
                "does not have a recognized partition",
            ),
            ("arn:aws:STS::1:assumed-role/A/S", "service STS in arn"),
            (
                "arn:aws:sts::1:Assumed-Role/A/S",
                "unrecognized resource Assumed-Role/A/S for service sts",
            ),
            (
                "arn:aws:iam::1:group/G",
                "unrecognized resource group/G for service iam",
            ),
            (
                "arn:aws:sts::1:user/x",
                "unrecognized resource user/x for service sts",
            ),
            (
                "arn:aws:s3:::bucket",
                "service s3 in arn arn:aws:s3:::bucket is not a valid service for identities",
            ),
        ];
        for (input, why) in refused {
            let e = canonicalize(input).unwrap_err();
            assert!(e.contains(why), "{input}: {e}");
        }
        assert_eq!(
            canonicalize("arn:aws:sts::1:assumed-role/dev/bob@example.com")
                .unwrap()
                .0,
            PrincipalType::AssumedRole
        );
    }

    #[test]
    fn the_session_name_comes_from_the_user_id_as_the_authenticator_takes_it() {
        let c = Caller::new(
            "arn:aws:sts::1:assumed-role/dev/ARN-SESSION",
            "1",
            "AROAX:real@example.com",
            "AK",
        )
        .unwrap();
        assert_eq!(c.session_name, "real@example.com");
        assert_eq!(
            render("u:{{SessionName}}:{{SessionNameRaw}}", &c),
            "u:real-example.com:real@example.com"
        );
        let e = Caller::new("arn:aws:sts::1:assumed-role/dev/s", "1", "AROAX", "AK").unwrap_err();
        assert!(e.contains("malformed UserID"), "{e}");
        let u = Caller::new("arn:aws:iam::1:user/alice", "1", "AIDAX", "AK").unwrap();
        assert_eq!(u.session_name, "");
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

    /// The rows of the research table: sigs.k8s.io/yaml sorts keys bytewise, encoding/json
    /// folds case and lets the last matching key win.
    #[test]
    fn case_variant_keys_resolve_as_encoding_json_does_and_are_ambiguous() {
        let one = |roles: &str| {
            let m = map(roles, "", "");
            assert!(m.problems.is_empty(), "{:?}", m.problems);
            m.mappings[0].clone()
        };
        let arn = |m: &Mapping| match &m.matcher {
            Matcher::Role { arn } => arn.clone(),
            other => panic!("{other:?}"),
        };
        // whichever comes first in the YAML, lowercase `rolearn` wins
        for roles in [
            "- RoleARN: arn:aws:iam::1:role/intern\n  rolearn: arn:aws:iam::1:role/ci-admin\n  groups: [system:masters]\n",
            "- rolearn: arn:aws:iam::1:role/ci-admin\n  RoleARN: arn:aws:iam::1:role/intern\n  groups: [system:masters]\n",
        ] {
            let m = one(roles);
            assert_eq!(arn(&m), "arn:aws:iam::1:role/ci-admin");
            let why = m.ambiguous.unwrap();
            assert!(why.contains("\"RoleARN\", \"rolearn\" all set rolearn (the authenticator reads \"rolearn\")"), "{why}");
        }
        let m = one("- rolearn: a\n  Groups: [system:masters]\n  groups: [dev]\n");
        assert_eq!(m.groups, ["dev"]);
        let m = one("- rolearn: a\n  UserName: admin\n  username: bob\n");
        assert_eq!(m.username, "bob");
        let m = one("- ROLEARN: A\n  RoleArn: B\n  rOLEARN: D\n  rolearn: C\n");
        assert_eq!(arn(&m), "C");
        // null changes nothing in a string, empties a list
        let m = one("- RoleARN: X\n  rolearn:\n");
        assert_eq!(arn(&m), "X");
        assert!(m.ambiguous.unwrap().contains("reads \"RoleARN\""));
        let m = one("- rolearn: a\n  Groups: [system:masters]\n  groups:\n");
        assert!(m.groups.is_empty());
        // a wrong type is ignored (the earlier value stays), and said
        let m = one("- rolearn: a\n  Groups: [system:masters]\n  groups: dev\n");
        assert_eq!(m.groups, ["system:masters"]);
        assert!(m
            .ambiguous
            .unwrap()
            .contains("groups is a string, not a list"));
        let m = one("- rolearn: a\n  groups: [a, 123, b]\n");
        assert_eq!(m.groups, ["a", "", "b"]);
        let m = one("- rolearn: a\n  username: yes\n");
        assert_eq!(m.username, "");
        // non-ASCII sorts after ASCII, and Go folds ſ to s
        let m = one("- rolearn: a\n  groups: [dev]\n  groupſ: [system:masters]\n");
        assert_eq!(m.groups, ["system:masters"]);
        let m = one("- rolearn: a\n  username: bob\n  uſername: admin\n");
        assert_eq!(m.username, "admin");
        // oddly cased keys alone are fine and not ambiguous (the upstream yaml_test)
        let m = one("- rOlEaRn: arn:aws:iam::1:role/x\n  UsErNaMe: x\n  gRoUpS: [g]\n");
        assert_eq!(
            (arn(&m).as_str(), m.username.as_str(), m.groups.len()),
            ("arn:aws:iam::1:role/x", "x", 1)
        );
        assert!(m.ambiguous.is_none());
        // "uSeRaRn" < "userARN" bytewise ('S' < 's'): userARN is read
        let u = map(
            "",
            "- uSeRaRn: arn:aws:iam::1:user/u\n  userARN: arn:aws:iam::1:user/v\n",
            "",
        );
        assert_eq!(
            u.mappings[0].matcher,
            Matcher::User {
                arn: "arn:aws:iam::1:user/v".into()
            }
        );
        assert!(u.mappings[0].ambiguous.is_some());
        // `rolearn: 123` is no string: no rolearn, so the entry is invalid and dropped
        let m = map("- rolearn: 123\n  username: x\n", "", "");
        assert!(m.mappings.is_empty());
        assert!(
            m.problems[0].contains("one of rolearn or sso must be supplied"),
            "{:?}",
            m.problems
        );
        // top-level keys are exact
        let m =
            AuthMap::from_data(json!({"maproles": "- rolearn: x\n"}).as_object().unwrap()).unwrap();
        assert!(m.mappings.is_empty());
    }

    #[test]
    fn the_authenticator_matches_the_case_variant_it_reads() {
        let m = map(
            "- RoleARN: arn:aws:iam::123456789012:role/intern\n  rolearn: arn:aws:iam::123456789012:role/ci-admin\n  username: admin\n  groups: [system:masters]\n",
            "",
            "",
        );
        assert!(m
            .find(&caller("arn:aws:sts::123456789012:assumed-role/intern/s"))
            .is_none());
        let f = m
            .find(&caller("arn:aws:sts::123456789012:assumed-role/ci-admin/s"))
            .unwrap();
        assert!(f.mapping.ambiguous.is_some() && f.mapping.is_masters());
    }

    #[test]
    fn a_value_that_is_not_a_string_is_no_config_map() {
        let e = AuthMap::from_data(
            json!({"mapRoles": [{"rolearn": "arn:aws:iam::1:role/x"}]})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
        assert!(
            e.starts_with("data.mapRoles is a list, not a string"),
            "{e}"
        );
        let e = AuthMap::from_config_map(&json!({"data": "x"})).unwrap_err();
        assert!(e.contains("not a mapping"), "{e}");
        assert!(AuthMap::from_config_map(&json!({"metadata": {}}))
            .unwrap()
            .mappings
            .is_empty());
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
        // the matcher's own validation
        let bad = map(
            "- sso: {permissionSetName: \"has space\", accountID: \"123456789012\"}\n- sso: {permissionSetName: A, accountID: \"1\"}\n- sso: {permissionSetName: A, accountID: \"123456789012\", partition: mars}\n",
            "",
            "",
        );
        assert!(bad.mappings.is_empty());
        assert_eq!(bad.problems.len(), 3, "{:?}", bad.problems);
        // two spellings of sso merge into one matcher, and are ambiguous
        let two = map(
            "- sso: {permissionSetName: Admin}\n  SSO: {accountID: \"123456789012\"}\n",
            "",
            "",
        );
        assert!(two.problems.is_empty(), "{:?}", two.problems);
        assert!(
            matches!(&two.mappings[0].matcher, Matcher::Sso { permission_set, account, .. } if permission_set == "Admin" && account == "123456789012")
        );
        assert!(two.mappings[0].ambiguous.is_some());
    }
}
