//! `kctx access` (no subcommand): what EKS's rules say of the caller (an access entry, an
//! aws-auth mapping, neither), what the cluster itself answers, and the two reconciled.
//!
//! - Any answer that needed authentication proves the identity is authenticated: a
//!   SelfSubjectReview (`kubectl auth whoami`), and reading aws-auth whether it gives 200, 404
//!   or 403. Only 401 is a refusal. kctx never says "kubectl will get Unauthorized" after the
//!   cluster accepted the same credentials.
//! - When the cluster authenticates an identity that no access entry and no aws-auth mapping
//!   explains, in `CONFIG_MAP` (or `API_AND_CONFIG_MAP` without an entry), it is the cluster
//!   creator's implicit admin (EKS's `bootstrapClusterCreatorAdminPermissions`): it appears
//!   nowhere, and only moving to access entries makes it visible and revocable.
//! - What the identity may do is asked of the cluster: SelfSubjectAccessReview (as `kubectl
//!   auth can-i`) for the common resources of the namespace and for nodes and namespaces, and
//!   SelfSubjectRulesReview (as `kubectl auth can-i --list`) for the rules, carried in
//!   `-o json`. The rules review settles what it lists; access reviews ask for the rest,
//!   because EKS's access policies are checked by a webhook that the rules review cannot list
//!   (EKS User Guide, "Associate access policies": `kubectl auth can-i --list` does not show
//!   them), so an incomplete review's noes are not trusted ([`settled`]).
//! - Exit codes: 0 granted (by EKS's rules or the cluster's answer), 3 the cluster refuses the
//!   identity (401, or EKS's rules say it will), 4 authenticated but granted nothing, 1 when
//!   nothing decides (the cluster cannot be reached and EKS's rules depend on what it holds).

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{json, Value};

use super::{
    or_dash, policies_line, read_aws_auth, resolve, AwsAuth, Reach, Resolved, EXIT_GRANTS_NOTHING,
    EXIT_REFUSED, EXIT_UNKNOWN,
};
use crate::aws::access::{AccessConfig, AuthMode, Entry};
use crate::aws::auth_map::{self, AuthMap};
use crate::aws::identity::Caller;
use crate::aws::policies;
use crate::cli::{AccessArgs, AccessTarget, AwsAuthArgs, ReportFormat};
use crate::kube::{self, CallError, RulesReview, UserInfo};
use crate::kubeconfig::{Kind, Merged};
use crate::rbac::{self, Summary, CLUSTER_SCOPED, NAMESPACED};

/// What the cluster itself answered about the caller.
#[derive(Debug, Clone)]
pub(super) enum ClusterSays {
    /// Not asked: no context whose credentials are the ones checked.
    NotAsked(String),
    /// Asked, no conclusive answer (unreachable, TLS, a credential plugin that failed).
    NoAnswer(String),
    /// 401 Unauthorized.
    Refused { by: String },
    /// An answer that needed authentication.
    Authenticated { user: Option<UserInfo>, by: String },
}

impl ClusterSays {
    fn conclusive(&self) -> bool {
        matches!(self, Self::Refused { .. } | Self::Authenticated { .. })
    }

    fn user(&self) -> Option<&UserInfo> {
        match self {
            Self::Authenticated { user, .. } => user.as_ref(),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::NotAsked(why) => format!("not asked: {why}"),
            Self::NoAnswer(why) => format!("no answer: {why}"),
            Self::Refused { by } => format!("refuses this identity (401 Unauthorized, {by})"),
            Self::Authenticated { user: Some(u), by } => format!(
                "user {:?}, groups {} ({by})",
                u.username,
                or_dash(&u.groups)
            ),
            Self::Authenticated { user: None, by } => {
                format!("authenticates this identity ({by})")
            }
        }
    }
}

/// What the cluster lets the caller do.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Rights {
    pub(super) namespace: String,
    /// The namespaced resources in `namespace`.
    pub(super) here: Summary,
    /// Nodes and namespaces.
    pub(super) cluster: Summary,
    /// SelfSubjectRulesReview of `namespace`, when it answered.
    pub(super) rules: Option<RulesReview>,
}

impl Rights {
    /// Asks the cluster: the rules review of the namespace, then access reviews for what the
    /// rules do not settle ([`settled`]).
    fn gather(c: &kube::Cluster, namespace: &str) -> Result<Self, String> {
        let rules = c.rules_review(namespace).ok();
        let mut asks = rbac::requests(&NAMESPACED, namespace);
        let split = asks.len();
        asks.extend(rbac::requests(&CLUSTER_SCOPED, ""));
        let known: Vec<Option<bool>> = asks.iter().map(|r| settled(rules.as_ref(), r)).collect();
        let open: Vec<rbac::Request> = asks
            .iter()
            .zip(&known)
            .filter(|(_, k)| k.is_none())
            .map(|(r, _)| r.clone())
            .collect();
        let mut asked = c.can_i_all(&open).into_iter();
        let mut answers = Vec::with_capacity(asks.len());
        for k in known {
            let a = match k {
                Some(yes) => yes,
                None => match asked.next() {
                    Some(Ok(x)) => x.allowed,
                    Some(Err(e)) => {
                        return Err(format!(
                            "{:#}",
                            c.explain(
                                "asking what this identity may do (SelfSubjectAccessReview)",
                                &e
                            )
                        ))
                    }
                    None => return Err("the cluster gave fewer answers than asked".into()),
                },
            };
            answers.push(a);
        }
        Ok(Self {
            namespace: namespace.to_owned(),
            here: Summary::from_answers(&NAMESPACED, &answers[..split]),
            cluster: Summary::from_answers(&CLUSTER_SCOPED, &answers[split..]),
            rules,
        })
    }

    /// Whether the cluster lets the caller do anything beyond asking about itself.
    pub(super) fn any(&self) -> bool {
        self.here.any()
            || self.cluster.any()
            || self
                .rules
                .as_ref()
                .is_some_and(|r| r.resource_rules.iter().any(|x| !x.is_basic()))
    }

    /// Whether the cluster listed every rule (no authorizer it could not ask).
    pub(super) fn complete(&self) -> bool {
        self.rules.as_ref().is_some_and(|r| !r.incomplete)
    }
}

/// What the rules review of a namespace settles without asking: a request in that namespace
/// its rules allow is allowed (RBAC allows it, and EKS's webhook only ever adds rights); when
/// the review is complete, one they do not allow is not. A cluster-scoped request is always
/// asked: a namespace's review also lists what RoleBindings there grant, which reaches no
/// cluster-scoped resource.
pub(super) fn settled(rules: Option<&RulesReview>, r: &rbac::Request) -> Option<bool> {
    let rules = rules.filter(|x| !r.namespace.is_empty() && x.namespace == r.namespace)?;
    if rbac::allows(&rules.resource_rules, r) {
        Some(true)
    } else if !rules.incomplete {
        Some(false)
    } else {
        None
    }
}

/// What was learnt of the caller and the cluster, before anything is concluded.
pub(super) struct Facts {
    pub(super) r: Resolved,
    pub(super) access: AccessConfig,
    pub(super) caller: Caller,
    pub(super) entry: Option<Entry>,
    /// Read when the mode reads it and no access entry decided already.
    pub(super) aws_auth: Option<AwsAuth>,
    pub(super) cluster: ClusterSays,
    /// The connection, for more questions (`can-i`).
    pub(super) reach: Reach,
    /// The namespace asked about (`Ask::rights_in`).
    pub(super) namespace: Option<String>,
    pub(super) rights: Option<Result<Rights, String>>,
}

/// What `gather` is asked for.
pub(super) struct Ask<'a> {
    pub(super) cluster: Option<&'a str>,
    pub(super) target: &'a AccessTarget,
    pub(super) aws_auth: &'a AwsAuthArgs,
    /// The namespace whose rights to summarise; `None`: no summary.
    pub(super) rights_in: Option<String>,
}

/// Who the cluster says the caller is, when the cluster speaks for the caller; with why the
/// cluster gave no answer at all (unreachable, TLS), so that it is not asked again only to wait
/// again.
fn whoami(reach: &Reach, r: &Resolved) -> (ClusterSays, Option<String>) {
    if !r.speaks_for_caller {
        let why = if r.context.is_none() || !r.from_context {
            "the identity checked is not a kubeconfig context's, so the cluster is not asked who it is"
        } else {
            "--profile replaces the context's credentials, so the cluster is not asked who they are"
        };
        return (ClusterSays::NotAsked(why.into()), None);
    }
    let c = match reach {
        Ok(c) => c,
        Err(why) => return (ClusterSays::NoAnswer(why.clone()), Some(why.clone())),
    };
    let says = match c.whoami() {
        Ok(u) => ClusterSays::Authenticated {
            user: Some(u),
            by: "SelfSubjectReview".into(),
        },
        Err(CallError::Status { code: 401, .. }) => ClusterSays::Refused {
            by: "SelfSubjectReview".into(),
        },
        Err(CallError::Status { code: 403, .. }) => ClusterSays::Authenticated {
            user: None,
            by: "SelfSubjectReview gave 403 Forbidden".into(),
        },
        Err(e) => {
            let why = format!(
                "{:#}",
                c.explain("asking who this identity is (SelfSubjectReview)", &e)
            );
            let gone = matches!(e, CallError::Unreachable(_)).then(|| why.clone());
            return (ClusterSays::NoAnswer(why), gone);
        }
    };
    (says, None)
}

/// What reading aws-auth from the cluster proves, when the cluster had not said: 200, 404 and
/// 403 need an authenticated identity; 401 is a refusal.
fn from_aws_auth(says: ClusterSays, aws_auth: Option<&AwsAuth>, live: bool) -> ClusterSays {
    if says.conclusive() || !live {
        return says;
    }
    match aws_auth {
        Some(AwsAuth::Read { .. }) => ClusterSays::Authenticated {
            user: None,
            by: "reading aws-auth answered 200".into(),
        },
        Some(AwsAuth::Absent { .. }) => ClusterSays::Authenticated {
            user: None,
            by: "reading aws-auth answered 404 Not Found".into(),
        },
        Some(AwsAuth::Forbidden { .. }) => ClusterSays::Authenticated {
            user: None,
            by: "reading aws-auth answered 403 Forbidden, not 401 Unauthorized".into(),
        },
        Some(AwsAuth::Unauthorized { .. }) => ClusterSays::Refused {
            by: "reading aws-auth".into(),
        },
        _ => says,
    }
}

impl Facts {
    pub(super) fn gather(a: &Ask<'_>) -> Result<Self> {
        let r = resolve(a.cluster, a.target)?;
        let eks = r.eks();
        let caller = r.caller()?;
        let access = eks.access_config()?;
        let entry = if access.mode.reads_entries() {
            eks.find_for(&caller.principal_arn)?
        } else {
            None
        };
        let needs_aws_auth = access.mode.reads_aws_auth() && entry.is_none();
        let reach = if r.speaks_for_caller || (needs_aws_auth && a.aws_auth.aws_auth_file.is_none())
        {
            super::reach(&r, crate::cli::request_timeout())
        } else {
            Err("not needed".into())
        };
        let (says, gone) = whoami(&reach, &r);
        let aws_auth = needs_aws_auth.then(|| match (&gone, &a.aws_auth.aws_auth_file) {
            (Some(why), None) if r.speaks_for_caller => AwsAuth::Unreadable { why: why.clone() },
            _ => read_aws_auth(&r, a.aws_auth, &reach),
        });
        let live = r.speaks_for_caller && a.aws_auth.aws_auth_file.is_none();
        let cluster = from_aws_auth(says, aws_auth.as_ref(), live);
        let rights = match (&cluster, &reach, &a.rights_in) {
            (ClusterSays::Authenticated { .. }, Ok(c), Some(ns)) => Some(Rights::gather(c, ns)),
            _ => None,
        };
        Ok(Self {
            r,
            access,
            caller,
            entry,
            aws_auth,
            cluster,
            reach,
            namespace: a.rights_in.clone(),
            rights,
        })
    }

    pub(super) fn cluster_user(&self) -> Option<&UserInfo> {
        self.cluster.user()
    }

    fn map(&self) -> Option<&AuthMap> {
        match &self.aws_auth {
            Some(AwsAuth::Read { map, .. }) => Some(map),
            _ => None,
        }
    }

    fn rights(&self) -> Option<&Rights> {
        self.rights.as_ref().and_then(|r| r.as_ref().ok())
    }

    /// Matches the caller as the authenticator does, and applies the mode's rules.
    pub(super) fn assess(&self) -> Assessment<'_> {
        let c = &self.caller;
        let auth_caller =
            auth_map::Caller::new(&c.arn, &c.account, &c.user_id, self.r.creds.access_key_id());
        let map = self.map();
        let found = match (map, &auth_caller) {
            (Some(m), Ok(c)) => m.find(c),
            _ => None,
        };
        // a mapping meant for the caller that does not apply: also worth saying when
        // mapAccounts catches the caller instead
        let near: Vec<String> = match (map, &auth_caller, &found) {
            (Some(m), Ok(c), None) => m.near_misses(c),
            (Some(m), Ok(c), Some(f)) if f.mapping.key == "mapAccounts" => m.near_misses(c),
            _ => Vec::new(),
        };
        let judged = verdict(&Inputs {
            mode: self.access.mode,
            creator_admin: self.access.bootstrap_creator_admin,
            entry: self.entry.as_ref(),
            aws_auth: self.aws_auth.as_ref(),
            found: found.as_ref(),
            unacceptable: auth_caller.as_ref().err().map(String::as_str),
            principal: &c.principal_arn,
            cluster: &self.cluster,
            rights: self.rights(),
        });
        Assessment {
            found,
            near,
            judged,
        }
    }
}

/// What EKS's rules and the cluster conclude from the facts.
pub(super) struct Assessment<'f> {
    pub(super) found: Option<auth_map::Found<'f>>,
    /// Mappings meant for the caller that do not apply (an IAM path in a rolearn, …).
    pub(super) near: Vec<String>,
    pub(super) judged: Judged,
}

/// Everything the verdict is decided from.
pub(super) struct Inputs<'a> {
    pub(super) mode: AuthMode,
    pub(super) creator_admin: Option<bool>,
    pub(super) entry: Option<&'a Entry>,
    pub(super) aws_auth: Option<&'a AwsAuth>,
    pub(super) found: Option<&'a auth_map::Found<'a>>,
    /// Why the authenticator refuses the caller's ARN itself (it cannot canonicalise it).
    pub(super) unacceptable: Option<&'a str>,
    pub(super) principal: &'a str,
    pub(super) cluster: &'a ClusterSays,
    pub(super) rights: Option<&'a Rights>,
}

/// The conclusion: exit code, one verdict line, and what explains a disagreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Judged {
    pub(super) code: u8,
    pub(super) verdict: String,
    pub(super) notes: Vec<String>,
    /// The caller is the cluster creator's implicit admin.
    pub(super) creator: bool,
}

/// What EKS's rules alone say.
enum EksSays {
    /// An access entry decides; `grants`: it has a policy or groups.
    Entry { grants: bool, text: String },
    /// An aws-auth mapping admits the caller; `grants`: with some group.
    Mapped { grants: bool, text: String },
    /// Refused (401) by the rules; `unmapped`: because nothing names the caller in a mode
    /// that reads aws-auth (where the creator's hidden admin may still admit it).
    Refused { unmapped: bool, text: String },
    /// The rules depend on what could not be read.
    Unknown { text: String },
}

/// EKS's rules for the mode, from the access entry and the aws-auth mapping found.
fn eks_says(i: &Inputs<'_>) -> EksSays {
    let api = i.mode.reads_entries();
    if let (true, Some(e)) = (api, i.entry) {
        let text = if !e.grants_something() {
            "the access entry exists but has no access policy and no Kubernetes groups: authenticated, but authorized for nothing".to_owned()
        } else if e.policies.is_empty() {
            format!(
                "granted by access entry: Kubernetes groups {}; RBAC decides what they may do",
                e.groups.join(",")
            )
        } else {
            format!("granted by access entry: {}", policies_line(e))
        };
        return EksSays::Entry {
            grants: e.grants_something(),
            text,
        };
    }
    if !i.mode.reads_aws_auth() {
        return EksSays::Refused {
            unmapped: false,
            text: format!("no access entry for this principal (mode API: aws-auth is not read): kubectl will get Unauthorized (grant with `kctx access grant {} --policy view`)", i.principal),
        };
    }
    let no_entry = if api { "no access entry; " } else { "" };
    if let Some(why) = i.unacceptable {
        return EksSays::Refused {
            unmapped: false,
            text: format!("{no_entry}the authenticator cannot use this caller's ARN ({why}): kubectl will get Unauthorized"),
        };
    }
    if let Some(f) = i.found {
        let m = f.mapping;
        let at = format!("aws-auth {} line {}", m.key, m.line);
        let ambiguous = if m.ambiguous.is_some() {
            " (an AMBIGUOUS mapping: see the note)"
        } else {
            ""
        };
        return if let Some(why) = &f.refused {
            EksSays::Refused {
                unmapped: false,
                text: format!(
                    "{no_entry}{at} matches, but the cluster refuses this identity (401): {why}"
                ),
            }
        } else if f.groups.iter().any(|g| g == "system:masters") {
            EksSays::Mapped { grants: true, text: format!("{no_entry}granted by {at}{ambiguous}: user {:?} in system:masters (cluster admin)", f.username) }
        } else if !f.groups.is_empty() {
            EksSays::Mapped { grants: true, text: format!("{no_entry}mapped by {at}{ambiguous}: user {:?}, groups {}; RBAC decides what they may do", f.username, f.groups.join(",")) }
        } else {
            EksSays::Mapped { grants: false, text: format!("{no_entry}mapped by {at}{ambiguous} as user {:?} in no group: authenticated, but authorized only by RBAC bindings of that user, if any", f.username) }
        };
    }
    match i.aws_auth {
        Some(AwsAuth::Read { .. }) => EksSays::Refused {
            unmapped: true,
            text: format!("{no_entry}no aws-auth mapping for this principal: kubectl will get Unauthorized"),
        },
        Some(AwsAuth::Absent { .. }) => EksSays::Refused {
            unmapped: true,
            text: format!("{no_entry}and no aws-auth ConfigMap: kubectl will get Unauthorized"),
        },
        Some(AwsAuth::Unauthorized { .. }) => EksSays::Unknown {
            text: format!("{no_entry}aws-auth could not be read (401 Unauthorized)"),
        },
        Some(AwsAuth::Forbidden { .. }) => EksSays::Unknown {
            text: format!("{no_entry}aws-auth could not be read (403 Forbidden), so which mapping admits this identity is unknown"),
        },
        Some(AwsAuth::Unreadable { .. }) | None => EksSays::Unknown {
            text: format!("{no_entry}aws-auth could not be read, so whether it admits this principal is unknown"),
        },
    }
}

/// Where the cluster's answer and the mapping found disagree on who the caller is.
fn disagreement(i: &Inputs<'_>, user: &UserInfo) -> Option<String> {
    let shown: Vec<&String> = user
        .groups
        .iter()
        .filter(|g| *g != "system:authenticated")
        .collect();
    let (source, username, groups) = match (i.entry, i.found) {
        (Some(e), _) if i.mode.reads_entries() => {
            ("the access entry", e.username.as_str(), &e.groups)
        }
        (_, Some(f)) => ("the aws-auth mapping", f.username.as_str(), &f.groups),
        _ => return None,
    };
    let name_differs =
        !username.is_empty() && !username.contains("{{") && username != user.username;
    let missing: Vec<&String> = groups.iter().filter(|g| !user.groups.contains(g)).collect();
    (name_differs || !missing.is_empty()).then(|| {
        format!(
            "the cluster says user {:?}, groups {}, where {source} gives user {username:?}, groups {}: the cluster's answer is what counts (a mapping that comes first, such as the cluster creator's, or a change not yet in effect)",
            user.username,
            if shown.is_empty() { "-".to_owned() } else { shown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",") },
            or_dash(groups)
        )
    })
}

/// The verdict: EKS's rules, reconciled with what the cluster answered.
pub(super) fn verdict(i: &Inputs<'_>) -> Judged {
    let eks = eks_says(i);
    let mut notes = Vec::new();
    let judged = |code: u8, verdict: String, notes: Vec<String>, creator: bool| Judged {
        code,
        verdict,
        notes,
        creator,
    };
    match i.cluster {
        ClusterSays::Refused { .. } => {
            let text = match eks {
                EksSays::Refused { text, .. } => format!("{text} (the cluster refuses it: 401)"),
                EksSays::Entry { text, .. } | EksSays::Mapped { text, .. } => format!(
                    "the cluster refuses this identity (401 Unauthorized), although {text}: access entries take effect after a few seconds; otherwise the kubeconfig's credentials are not the ones checked here"
                ),
                EksSays::Unknown { .. } => "the cluster refuses this identity (401 Unauthorized): no access entry or aws-auth mapping admits it".to_owned(),
            };
            judged(EXIT_REFUSED, text, notes, false)
        }
        ClusterSays::Authenticated { user, by } => {
            let masters = user
                .as_ref()
                .is_some_and(|u| u.groups.iter().any(|g| g == "system:masters"));
            let (text, eks_grants, creator) = match eks {
                EksSays::Entry { grants, text } | EksSays::Mapped { grants, text } => {
                    (text, grants, false)
                }
                EksSays::Refused { unmapped: true, .. } => (
                    creator_text(i, by),
                    true,
                    i.creator_admin != Some(false),
                ),
                EksSays::Refused { text, .. } => (
                    format!("EKS's rules would refuse this identity ({}), yet the cluster authenticates it ({by}): something kctx cannot see admits it (an access entry made moments ago, another authenticator)", text.replace(": kubectl will get Unauthorized", "")),
                    false,
                    false,
                ),
                EksSays::Unknown { text } => (
                    format!("the cluster authenticates this identity ({by}); {text}"),
                    false,
                    false,
                ),
            };
            if let Some(u) = user {
                notes.extend(disagreement(i, u));
            }
            let granted = masters
                || match i.rights {
                    Some(r) if r.complete() => r.any(),
                    Some(r) => r.any() || eks_grants,
                    None => eks_grants,
                };
            let who = match user {
                Some(u) => format!(
                    "; the cluster says user {:?}, groups {}",
                    u.username,
                    or_dash(&u.groups)
                ),
                None => String::new(),
            };
            if granted {
                judged(0, format!("{text}{who}"), notes, creator)
            } else {
                let here = match i.rights {
                    Some(r) => format!(
                        "; the cluster lets it do nothing in namespace {} or cluster-wide",
                        r.namespace
                    ),
                    None => String::new(),
                };
                judged(
                    EXIT_GRANTS_NOTHING,
                    format!("{text}{who}{here}: authenticated, but granted nothing"),
                    notes,
                    creator,
                )
            }
        }
        ClusterSays::NotAsked(_) | ClusterSays::NoAnswer(_) => match eks {
            EksSays::Entry { grants, text } | EksSays::Mapped { grants, text } => judged(
                if grants { 0 } else { EXIT_GRANTS_NOTHING },
                text,
                notes,
                false,
            ),
            EksSays::Refused { unmapped, text } => {
                let caveat = if unmapped && i.creator_admin != Some(false) {
                    " — unless this identity created the cluster (the creator's admin is invisible in this mode; the cluster could not be asked)"
                } else {
                    ""
                };
                judged(EXIT_REFUSED, format!("{text}{caveat}"), notes, false)
            }
            EksSays::Unknown { text } => judged(EXIT_UNKNOWN, text, notes, false),
        },
    }
}

/// An identity the cluster authenticates that no entry or mapping names.
fn creator_text(i: &Inputs<'_>, by: &str) -> String {
    let nothing = if i.mode.reads_entries() {
        "no access entry and no aws-auth mapping names it"
    } else {
        "no aws-auth mapping names it"
    };
    if i.creator_admin == Some(false) {
        return format!("the cluster authenticates this identity ({by}), but {nothing} and bootstrapClusterCreatorAdminPermissions is off: something kctx cannot see admits it");
    }
    format!("the cluster authenticates this identity ({by}), but {nothing}: it is the cluster creator's implicit admin (bootstrapClusterCreatorAdminPermissions), which appears nowhere and cannot be revoked except by moving to access entries (`kctx access migrate --target-authentication-mode API` keeps it as an access entry)")
}

pub(super) fn run(a: &AccessArgs) -> Result<ExitCode> {
    // the namespace needs the context: resolve it the way gather will
    let ns = match &a.namespace {
        Some(n) => n.clone(),
        None => {
            let probe = resolve_namespace_context(a.cluster.as_deref(), &a.target);
            probe.unwrap_or_else(|| "default".into())
        }
    };
    let facts = Facts::gather(&Ask {
        cluster: a.cluster.as_deref(),
        target: &a.target,
        aws_auth: &a.aws_auth,
        rights_in: Some(ns),
    })?;
    let x = facts.assess();
    match a.output {
        ReportFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&check_json(&facts, &x))?)
        }
        ReportFormat::Text => print!("{}", check_text(&facts, &x)),
    }
    Ok(ExitCode::from(x.judged.code))
}

/// The context's namespace, when the check goes through a context.
fn resolve_namespace_context(cluster: Option<&str>, t: &AccessTarget) -> Option<String> {
    if cluster.is_some() {
        return None;
    }
    let m = Merged::load();
    let ctx = m.context_or_current(t.context.as_deref()).ok()?;
    m.field(Kind::Contexts, &ctx, "namespace")
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}

/// What each access policy of the entry allows in the namespace (offline, from the EKS User
/// Guide's tables): (policy, scope, line).
fn policy_lines(e: &Entry, ns: &str) -> Vec<(String, String)> {
    e.policies
        .iter()
        .map(|p| {
            let what = match policies::find(&p.policy_arn) {
                None => "kctx does not know its rules".to_owned(),
                Some(_) if !p.scope.covers(ns) => {
                    format!("nothing in {ns} (not in its scope: {})", p.scope)
                }
                Some(ap) => {
                    let mut s = format!(
                        "in {ns}: {}",
                        policies::summary(ap, &p.scope, &NAMESPACED, ns).line()
                    );
                    if p.scope.covers("") {
                        s.push_str(&format!(
                            "; cluster: {}",
                            policies::summary(ap, &p.scope, &CLUSTER_SCOPED, "").line()
                        ));
                    }
                    s
                }
            };
            (p.name().to_owned(), what)
        })
        .collect()
}

fn check_json(f: &Facts, x: &Assessment<'_>) -> Value {
    let aws_auth_json = f.aws_auth.as_ref().map(|aa| {
        json!({
            "status": aa.describe(),
            "mapping": x.found.as_ref().map(|m| json!({
                "key": m.mapping.key, "line": m.mapping.line, "kind": m.mapping.kind(),
                "principal": m.mapping.principal(), "username": m.username, "groups": m.groups,
                "system_masters": m.groups.iter().any(|g| g == "system:masters"),
                "refused": m.refused, "ambiguous": m.mapping.ambiguous,
            })),
            "near_misses": x.near,
            "problems": f.map().map(|m| m.problems.clone()).unwrap_or_default(),
        })
    });
    let policy_rights: Vec<Value> = match (&f.entry, &f.namespace) {
        (Some(e), Some(ns)) => policy_lines(e, ns)
            .into_iter()
            .map(|(p, what)| json!({"policy": p, "namespace": ns, "allows": what}))
            .collect(),
        _ => Vec::new(),
    };
    let rights = match &f.rights {
        Some(Ok(r)) => serde_json::to_value(r).unwrap_or(Value::Null),
        Some(Err(e)) => json!({"error": e}),
        None => Value::Null,
    };
    json!({
        "cluster": f.r.cluster,
        "region": f.r.target.region,
        "context": f.r.context.as_ref().filter(|_| f.r.from_context),
        "authentication_mode": f.access.mode,
        "bootstrap_cluster_creator_admin_permissions": f.access.bootstrap_creator_admin,
        "caller": f.caller,
        "access_entry": f.entry,
        "access_policy_rights": policy_rights,
        "aws_auth": aws_auth_json,
        "aws_auth_may_apply": f.access.mode.reads_aws_auth(),
        "kubernetes": {
            "says": f.cluster.describe(),
            "authenticated": match &f.cluster {
                ClusterSays::Authenticated { .. } => json!(true),
                ClusterSays::Refused { .. } => json!(false),
                _ => Value::Null,
            },
            "user": f.cluster.user(),
            "rights": rights,
        },
        "cluster_creator_admin": x.judged.creator,
        "notes": x.judged.notes,
        "granted": x.judged.code == 0,
        "verdict": x.judged.verdict,
    })
}

fn check_text(f: &Facts, x: &Assessment<'_>) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        out.push_str(&format!("{:<15}{value}\n", format!("{label}:")));
    };
    line(
        "cluster",
        &format!("{} ({})", f.r.cluster, f.r.target.region),
    );
    if let (Some(c), true) = (&f.r.context, f.r.from_context) {
        line("context", c);
    }
    line("auth mode", f.access.mode.as_str());
    line("caller", &f.caller.arn);
    line("principal", &f.caller.principal_arn);
    if f.access.mode.reads_entries() {
        match &f.entry {
            None => line("access entry", "none"),
            Some(e) => {
                line("access entry", &format!("{} ({})", e.principal_arn, e.kind));
                line(
                    "  username",
                    if e.username.is_empty() {
                        "-"
                    } else {
                        &e.username
                    },
                );
                line("  groups", &or_dash(&e.groups));
                line("  policies", &policies_line(e));
                for (p, what) in policy_lines(e, f.namespace.as_deref().unwrap_or("default")) {
                    line("  allows", &format!("{p} {what}"));
                }
            }
        }
    }
    if f.access.mode.reads_aws_auth() {
        aws_auth_text(f, x, &mut line);
    }
    line("kubernetes", &f.cluster.describe());
    match &f.rights {
        Some(Ok(r)) => {
            line("rights", &format!("in {}: {}", r.namespace, r.here.line()));
            line("  cluster", &r.cluster.line());
        }
        Some(Err(e)) => line("rights", &format!("unknown: {e}")),
        None => {}
    }
    for n in &x.judged.notes {
        line("  note", n);
    }
    line("verdict", &x.judged.verdict);
    out
}

fn aws_auth_text(f: &Facts, x: &Assessment<'_>, line: &mut dyn FnMut(&str, &str)) {
    match (&f.aws_auth, &x.found) {
        (None, _) => line("aws-auth", "not consulted (the access entry decides)"),
        (Some(aa), Some(m)) => {
            line(
                "aws-auth",
                &format!(
                    "{} line {} ({}), {}",
                    m.mapping.key,
                    m.mapping.line,
                    m.mapping.subject(),
                    aa.describe()
                ),
            );
            line("  username", &m.username);
            line(
                "  groups",
                &format!(
                    "{}{}",
                    or_dash(&m.groups),
                    if m.groups.iter().any(|g| g == "system:masters") {
                        " (system:masters: cluster admin)"
                    } else {
                        ""
                    }
                ),
            );
            if let Some(why) = &m.mapping.ambiguous {
                line("  AMBIGUOUS", why);
            }
        }
        (Some(aa @ AwsAuth::Read { .. }), None) => line(
            "aws-auth",
            &format!("no mapping for this principal ({})", aa.describe()),
        ),
        (Some(aa), None) => line("aws-auth", &aa.describe()),
    }
    for n in &x.near {
        line("  note", n);
    }
    for p in f.map().map(|m| m.problems.as_slice()).unwrap_or_default() {
        line("  skipped", p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::access::{Policy, Scope};
    use crate::aws::auth_map::{Found, Mapping, Matcher};

    fn read() -> AwsAuth {
        AwsAuth::Read {
            map: AuthMap::default(),
            from: "the cluster (context \"eks\")".into(),
        }
    }

    fn user(name: &str, groups: &[&str]) -> ClusterSays {
        ClusterSays::Authenticated {
            user: Some(UserInfo {
                username: name.into(),
                groups: groups.iter().map(|g| g.to_string()).collect(),
                ..Default::default()
            }),
            by: "SelfSubjectReview".into(),
        }
    }

    fn inputs<'a>(
        mode: AuthMode,
        aws_auth: Option<&'a AwsAuth>,
        cluster: &'a ClusterSays,
    ) -> Inputs<'a> {
        Inputs {
            mode,
            creator_admin: Some(true),
            entry: None,
            aws_auth,
            found: None,
            unacceptable: None,
            principal: "arn:aws:iam::1:role/admin",
            cluster,
            rights: None,
        }
    }

    fn rights(ns: &str, answers: &[bool], incomplete: bool) -> Rights {
        Rights {
            namespace: ns.into(),
            here: Summary::from_answers(&NAMESPACED, answers),
            cluster: Summary::from_answers(&CLUSTER_SCOPED, &[]),
            rules: Some(RulesReview {
                incomplete,
                ..Default::default()
            }),
        }
    }

    #[test]
    fn an_authenticated_identity_no_mapping_explains_is_the_creators_hidden_admin() {
        let aa = read();
        let admin = user(
            "kubernetes-admin",
            &["system:masters", "system:authenticated"],
        );
        for mode in [AuthMode::ConfigMap, AuthMode::ApiAndConfigMap] {
            let j = verdict(&inputs(mode, Some(&aa), &admin));
            assert_eq!(j.code, 0, "{j:?}");
            assert!(j.creator);
            assert!(
                j.verdict.contains("the cluster creator's implicit admin"),
                "{}",
                j.verdict
            );
            assert!(j
                .verdict
                .contains("cannot be revoked except by moving to access entries"));
            assert!(!j.verdict.contains("Unauthorized"), "{}", j.verdict);
        }
        // 404 (no ConfigMap) proves it as well
        let absent = AwsAuth::Absent { from: "c".into() };
        let proof = ClusterSays::Authenticated {
            user: None,
            by: "reading aws-auth answered 404 Not Found".into(),
        };
        let j = verdict(&inputs(AuthMode::ConfigMap, Some(&absent), &proof));
        assert!(j.creator && j.code == 0, "{j:?}");
        // the creator's admin switched off: something else admits it
        let mut off = inputs(AuthMode::ConfigMap, Some(&aa), &admin);
        off.creator_admin = Some(false);
        let j = verdict(&off);
        assert!(
            !j.creator
                && j.verdict
                    .contains("bootstrapClusterCreatorAdminPermissions is off"),
            "{j:?}"
        );
    }

    #[test]
    fn the_clusters_refusal_and_silence_decide_the_exit_code() {
        let aa = read();
        let refused = ClusterSays::Refused {
            by: "SelfSubjectReview".into(),
        };
        let j = verdict(&inputs(AuthMode::ConfigMap, Some(&aa), &refused));
        assert_eq!(j.code, EXIT_REFUSED);
        assert!(
            j.verdict
                .ends_with("kubectl will get Unauthorized (the cluster refuses it: 401)"),
            "{}",
            j.verdict
        );
        // not reachable: EKS's rules decide, with the creator as the one exception
        let silent = ClusterSays::NoAnswer("unreachable".into());
        let j = verdict(&inputs(AuthMode::ConfigMap, Some(&aa), &silent));
        assert_eq!(j.code, EXIT_REFUSED);
        assert!(
            j.verdict
                .contains("unless this identity created the cluster"),
            "{}",
            j.verdict
        );
        // aws-auth unreadable and the cluster silent: nothing decides
        let unreadable = AwsAuth::Unreadable { why: "x".into() };
        let j = verdict(&inputs(AuthMode::ConfigMap, Some(&unreadable), &silent));
        assert_eq!(j.code, EXIT_UNKNOWN, "{j:?}");
        // API mode: no entry, refused either way
        let j = verdict(&inputs(AuthMode::Api, None, &silent));
        assert_eq!(j.code, EXIT_REFUSED);
        assert!(!j.verdict.contains("unless"), "{}", j.verdict);
        let j = verdict(&inputs(AuthMode::Api, None, &refused));
        assert_eq!(j.code, EXIT_REFUSED);
    }

    #[test]
    fn what_the_cluster_lets_it_do_decides_granted_or_nothing() {
        let forbidden = AwsAuth::Forbidden { from: "c".into() };
        let dev = user("dev", &["devs", "system:authenticated"]);
        // complete rules, nothing allowed: 4
        let nothing = rights("prod", &[], false);
        let mut i = inputs(AuthMode::ConfigMap, Some(&forbidden), &dev);
        i.rights = Some(&nothing);
        let j = verdict(&i);
        assert_eq!(j.code, EXIT_GRANTS_NOTHING, "{j:?}");
        assert!(
            j.verdict
                .contains("nothing in namespace prod or cluster-wide"),
            "{}",
            j.verdict
        );
        assert!(
            j.verdict
                .starts_with("the cluster authenticates this identity (SelfSubjectReview)"),
            "{}",
            j.verdict
        );
        // something allowed: 0
        let some = rights("dev", &[true], false);
        i.rights = Some(&some);
        assert_eq!(verdict(&i).code, 0);
        // an access entry with a policy, and a rules list the webhook left incomplete: 0
        let e = Entry {
            principal_arn: "arn:aws:iam::1:role/admin".into(),
            kind: "STANDARD".into(),
            username: String::new(),
            groups: vec![],
            policies: vec![Policy {
                policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".into(),
                scope: Scope::Cluster,
            }],
        };
        let webhook = rights("dev", &[], true);
        let mut api = inputs(AuthMode::Api, None, &dev);
        api.entry = Some(&e);
        api.rights = Some(&webhook);
        let j = verdict(&api);
        assert_eq!(j.code, 0, "{j:?}");
        assert!(j
            .verdict
            .starts_with("granted by access entry: AmazonEKSViewPolicy (cluster)"));
        // API mode, no entry, yet authenticated: said, not called Unauthorized
        let j = verdict(&inputs(AuthMode::Api, None, &dev));
        assert!(
            j.verdict.contains("yet the cluster authenticates it")
                && !j.verdict.contains("Unauthorized")
                && !j.creator,
            "{j:?}"
        );
    }

    #[test]
    fn the_rules_review_settles_what_it_can_and_the_rest_is_asked() {
        let review = |incomplete: bool| RulesReview {
            namespace: "dev".into(),
            resource_rules: vec![rbac::Rule::of(&[""], &["pods"], &["get"])],
            incomplete,
            ..Default::default()
        };
        let complete = review(false);
        let get = |res: &str, ns: &str| rbac::Request::new("get", "", res, ns);
        assert_eq!(settled(Some(&complete), &get("pods", "dev")), Some(true));
        assert_eq!(
            settled(Some(&complete), &get("secrets", "dev")),
            Some(false)
        );
        // another namespace, or cluster scope: asked
        assert_eq!(settled(Some(&complete), &get("pods", "prod")), None);
        assert_eq!(settled(Some(&complete), &get("nodes", "")), None);
        // an incomplete review (EKS's access-policy webhook) settles only its yeses
        let partial = review(true);
        assert_eq!(settled(Some(&partial), &get("pods", "dev")), Some(true));
        assert_eq!(settled(Some(&partial), &get("secrets", "dev")), None);
        assert_eq!(settled(None, &get("pods", "dev")), None);
    }

    #[test]
    fn a_mapping_the_cluster_contradicts_is_noted() {
        let m = Mapping {
            key: "mapRoles",
            line: 3,
            matcher: Matcher::Role {
                arn: "arn:aws:iam::1:role/dev".into(),
            },
            username: "dev".into(),
            groups: vec!["devs".into()],
            ambiguous: None,
        };
        let found = Found {
            mapping: &m,
            username: "dev".into(),
            groups: vec!["devs".into()],
            refused: None,
        };
        let aa = read();
        let admin = user(
            "kubernetes-admin",
            &["system:masters", "system:authenticated"],
        );
        let mut i = inputs(AuthMode::ConfigMap, Some(&aa), &admin);
        i.found = Some(&found);
        let j = verdict(&i);
        assert_eq!(j.code, 0);
        assert!(
            j.verdict.starts_with("mapped by aws-auth mapRoles line 3"),
            "{}",
            j.verdict
        );
        assert_eq!(j.notes.len(), 1);
        assert!(j.notes[0].starts_with("the cluster says user \"kubernetes-admin\", groups system:masters, where the aws-auth mapping gives user \"dev\", groups devs"), "{:?}", j.notes);
        // agreeing answers: no note
        let same = user("dev", &["devs", "system:authenticated"]);
        let mut i = inputs(AuthMode::ConfigMap, Some(&aa), &same);
        i.found = Some(&found);
        assert!(verdict(&i).notes.is_empty());
    }
}
