//! `kctx access can-i VERB RESOURCE`: the cluster's own answer (SelfSubjectAccessReview, the
//! request `kubectl auth can-i` sends: its first line is kubectl's, `yes` or `no[ - reason]`,
//! and the exit code 0 yes, 4 no), then where EKS says the right comes from when kctx can
//! tell: an access policy of the caller's access entry and its scope (from the EKS User
//! Guide's tables), `system:masters` from an aws-auth mapping or the cluster creator's hidden
//! admin, an RBAC binding to a group that an aws-auth mapping or the access entry gives.
//!
//! RESOURCE is read as kubectl reads it — `TYPE`, `TYPE.GROUP`, `TYPE/NAME`, or a non-resource
//! URL starting with `/` — with the built-in resources' short names (`po`, `deploy`, …)
//! where kubectl would ask the cluster's discovery; a cluster-scoped resource is asked
//! without a namespace.

use std::process::ExitCode;

use anyhow::{bail, Result};

use super::super::Run;
use super::check::{Ask, Facts};
use super::EXIT_GRANTS_NOTHING;
use crate::aws::access::Entry;
use crate::aws::policies;
use crate::cli::CanIArgs;
use crate::kube::{self, AccessAnswer, UserInfo};
use crate::kubeconfig::{Kind, Merged};
use crate::rbac::Request;

/// Built-in resources: (names kubectl accepts, plural, group, namespaced).
const RESOURCES: &[(&[&str], &str, &str, bool)] = &[
    (&["pods", "pod", "po"], "pods", "", true),
    (&["services", "service", "svc"], "services", "", true),
    (&["configmaps", "configmap", "cm"], "configmaps", "", true),
    (&["secrets", "secret"], "secrets", "", true),
    (
        &["serviceaccounts", "serviceaccount", "sa"],
        "serviceaccounts",
        "",
        true,
    ),
    (
        &["persistentvolumeclaims", "persistentvolumeclaim", "pvc"],
        "persistentvolumeclaims",
        "",
        true,
    ),
    (&["events", "event", "ev"], "events", "", true),
    (&["endpoints", "ep"], "endpoints", "", true),
    (
        &["replicationcontrollers", "replicationcontroller", "rc"],
        "replicationcontrollers",
        "",
        true,
    ),
    (
        &["limitranges", "limitrange", "limits"],
        "limitranges",
        "",
        true,
    ),
    (
        &["resourcequotas", "resourcequota", "quota"],
        "resourcequotas",
        "",
        true,
    ),
    (&["namespaces", "namespace", "ns"], "namespaces", "", false),
    (&["nodes", "node", "no"], "nodes", "", false),
    (
        &["persistentvolumes", "persistentvolume", "pv"],
        "persistentvolumes",
        "",
        false,
    ),
    (
        &["deployments", "deployment", "deploy"],
        "deployments",
        "apps",
        true,
    ),
    (
        &["replicasets", "replicaset", "rs"],
        "replicasets",
        "apps",
        true,
    ),
    (
        &["statefulsets", "statefulset", "sts"],
        "statefulsets",
        "apps",
        true,
    ),
    (
        &["daemonsets", "daemonset", "ds"],
        "daemonsets",
        "apps",
        true,
    ),
    (
        &["controllerrevisions", "controllerrevision"],
        "controllerrevisions",
        "apps",
        true,
    ),
    (&["jobs", "job"], "jobs", "batch", true),
    (&["cronjobs", "cronjob", "cj"], "cronjobs", "batch", true),
    (
        &["horizontalpodautoscalers", "horizontalpodautoscaler", "hpa"],
        "horizontalpodautoscalers",
        "autoscaling",
        true,
    ),
    (
        &["ingresses", "ingress", "ing"],
        "ingresses",
        "networking.k8s.io",
        true,
    ),
    (
        &["networkpolicies", "networkpolicy", "netpol"],
        "networkpolicies",
        "networking.k8s.io",
        true,
    ),
    (
        &["poddisruptionbudgets", "poddisruptionbudget", "pdb"],
        "poddisruptionbudgets",
        "policy",
        true,
    ),
    (
        &["endpointslices", "endpointslice"],
        "endpointslices",
        "discovery.k8s.io",
        true,
    ),
    (&["leases", "lease"], "leases", "coordination.k8s.io", true),
    (
        &["roles", "role"],
        "roles",
        "rbac.authorization.k8s.io",
        true,
    ),
    (
        &["rolebindings", "rolebinding"],
        "rolebindings",
        "rbac.authorization.k8s.io",
        true,
    ),
    (
        &["clusterroles", "clusterrole"],
        "clusterroles",
        "rbac.authorization.k8s.io",
        false,
    ),
    (
        &["clusterrolebindings", "clusterrolebinding"],
        "clusterrolebindings",
        "rbac.authorization.k8s.io",
        false,
    ),
    (
        &[
            "customresourcedefinitions",
            "customresourcedefinition",
            "crd",
            "crds",
        ],
        "customresourcedefinitions",
        "apiextensions.k8s.io",
        false,
    ),
    (
        &["storageclasses", "storageclass", "sc"],
        "storageclasses",
        "storage.k8s.io",
        false,
    ),
    (
        &["priorityclasses", "priorityclass", "pc"],
        "priorityclasses",
        "scheduling.k8s.io",
        false,
    ),
];

/// The request for `verb` on `word` (kubectl's RESOURCE argument), and a note when the
/// resource is not one kctx knows. `namespace` is used for namespaced resources.
pub(super) fn request(
    verb: &str,
    word: &str,
    subresource: Option<&str>,
    namespace: &str,
) -> Result<(Request, Option<String>)> {
    if verb.is_empty() || word.is_empty() {
        bail!("can-i needs a VERB and a RESOURCE (e.g. `kctx access can-i get pods`)");
    }
    if word.starts_with('/') {
        return Ok((
            Request {
                verb: verb.into(),
                path: word.into(),
                ..Default::default()
            },
            None,
        ));
    }
    let (typ, name) = match word.split_once('/') {
        Some((t, n)) => (t, n),
        None => (word, ""),
    };
    let (base, group) = match typ.split_once('.') {
        Some((b, g)) => (b, Some(g)),
        None => (typ, None),
    };
    let lower = base.to_ascii_lowercase();
    let known = RESOURCES
        .iter()
        .find(|(names, _, g, _)| names.contains(&lower.as_str()) && group.is_none_or(|x| x == *g));
    let (resource, group, namespaced, note) = match (known, group) {
        (Some((_, plural, g, namespaced)), _) => ((*plural).to_owned(), (*g).to_owned(), *namespaced, None),
        (None, Some(g)) => (base.to_owned(), g.to_owned(), true, None),
        (None, None) if base == "*" => ("*".to_owned(), String::new(), true, None),
        (None, None) => (
            base.to_owned(),
            String::new(),
            true,
            Some(format!("kctx does not know a resource type {base:?}: asked for it in the core API group (write {base}.GROUP for another group)")),
        ),
    };
    Ok((
        Request {
            verb: verb.into(),
            group,
            resource,
            subresource: subresource.unwrap_or_default().to_owned(),
            name: name.to_owned(),
            namespace: if namespaced {
                namespace.to_owned()
            } else {
                String::new()
            },
            path: String::new(),
        },
        note,
    ))
}

/// What kctx knows of where the caller's rights come from.
pub(super) struct Sources<'a> {
    pub(super) entry: Option<&'a Entry>,
    /// The aws-auth mapping that admits the caller: where it is, and its groups (rendered).
    pub(super) mapping: Option<(String, &'a [String])>,
    pub(super) user: Option<&'a UserInfo>,
    /// The caller is the cluster creator's implicit admin.
    pub(super) creator: bool,
}

/// `RBAC: allowed by RoleBinding "x/ns" of Role "r" to Group "g"` → `g`.
fn rbac_group(reason: &str) -> Option<&str> {
    let rest = reason.split("to Group \"").nth(1)?;
    rest.split('"').next()
}

/// Where the answer comes from, as far as kctx can tell (one line each).
pub(super) fn explain(ans: &AccessAnswer, r: &Request, s: &Sources<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let policies: Vec<(&crate::aws::access::Policy, Option<&policies::AccessPolicy>)> = s
        .entry
        .map(|e| {
            e.policies
                .iter()
                .map(|p| (p, policies::find(&p.policy_arn)))
                .collect()
        })
        .unwrap_or_default();
    let principal = s
        .entry
        .map(|e| e.principal_arn.as_str())
        .unwrap_or_default();
    if ans.allowed {
        if s.user
            .is_some_and(|u| u.groups.iter().any(|g| g == "system:masters"))
        {
            out.push(match &s.mapping {
                Some((at, groups)) if groups.iter().any(|g| g == "system:masters") => {
                    format!("system:masters (cluster admin), from aws-auth {at}")
                }
                _ if s.creator => "system:masters (cluster admin): the cluster creator's implicit admin, which no mapping shows".to_owned(),
                _ => "system:masters (cluster admin)".to_owned(),
            });
        }
        for (p, ap) in &policies {
            if ap.is_some_and(|ap| policies::allows(ap, &p.scope, r)) {
                out.push(format!(
                    "access policy {} ({}) of the access entry {principal}",
                    p.name(),
                    p.scope
                ));
            }
        }
    } else {
        for (p, ap) in &policies {
            let mut anywhere = r.clone();
            anywhere.namespace = "any".into();
            let Some(ap) = ap else { continue };
            let cluster = crate::aws::access::Scope::Cluster;
            if policies::allows(ap, &cluster, &anywhere) && !p.scope.covers(&r.namespace) {
                out.push(format!(
                    "access policy {} would allow it, but its scope is {}",
                    p.name(),
                    p.scope
                ));
            }
        }
    }
    if !ans.reason.is_empty() {
        let from = rbac_group(&ans.reason).and_then(|g| {
            let in_mapping = s
                .mapping
                .as_ref()
                .is_some_and(|(_, gs)| gs.iter().any(|x| x == g));
            let in_entry = s.entry.is_some_and(|e| e.groups.iter().any(|x| x == g));
            if in_mapping {
                s.mapping
                    .as_ref()
                    .map(|(at, _)| format!(" (group {g} from aws-auth {at})"))
            } else if in_entry {
                Some(format!(
                    " (group {g} from the access entry's Kubernetes groups)"
                ))
            } else {
                None
            }
        });
        if ans.allowed {
            out.push(format!("{}{}", ans.reason, from.unwrap_or_default()));
        }
    }
    for (p, ap) in &policies {
        if ap.is_none() {
            out.push(format!(
                "access policy {} ({}): kctx does not know its rules",
                p.name(),
                p.scope
            ));
        }
    }
    if ans.allowed && out.is_empty() {
        out.push("the cluster allows it; kctx cannot tell which rule does".into());
    }
    out
}

/// The namespace kubectl would use: `-n`, else the context's, else `default`.
fn namespace(a: &CanIArgs, m: &Merged, ctx: &str) -> String {
    if a.all_namespaces {
        return String::new();
    }
    a.namespace
        .clone()
        .or_else(|| m.field(Kind::Contexts, ctx, "namespace").map(str::to_owned))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into())
}

impl Run for CanIArgs {
    fn run(&self) -> Result<ExitCode> {
        let m = Merged::load();
        m.require_readable()?;
        let ctx = m.context_or_current(self.target.context.as_deref())?;
        let (req, note) = request(
            &self.verb,
            &self.resource,
            self.subresource.as_deref(),
            &namespace(self, &m, &ctx),
        )?;
        if let (Some(n), false) = (&note, self.quiet) {
            eprintln!("kctx: warning: {n}");
        }
        // EKS's side (for the explanation) when the context is an EKS one; its connection is
        // reused for the question
        let facts = Facts::gather(&Ask {
            cluster: None,
            target: &self.target,
            aws_auth: &self.aws_auth,
            rights_in: None,
        });
        let own;
        let cluster = match facts.as_ref().map(|f| &f.reach) {
            Ok(Ok(c)) => c,
            _ => {
                own = kube::connect(&m, &ctx, crate::cli::request_timeout())?;
                &own
            }
        };
        let ans = cluster.can_i(&req).map_err(|e| {
            cluster.explain(
                &format!(
                    "asking whether this identity may {} {}",
                    req.verb,
                    req.shown()
                ),
                &e,
            )
        })?;
        if !self.quiet {
            print!("{}", answer_text(&ans));
            if let Some(f) = facts.as_ref().ok().filter(|f| f.r.speaks_for_caller) {
                let x = f.assess();
                let sources = Sources {
                    entry: f.entry.as_ref(),
                    mapping: x.found.as_ref().map(|m| {
                        (
                            format!("{} line {}", m.mapping.key, m.mapping.line),
                            m.groups.as_slice(),
                        )
                    }),
                    user: f.cluster_user(),
                    creator: x.judged.creator,
                };
                for l in explain(&ans, &req, &sources) {
                    println!("  {l}");
                }
            }
        }
        Ok(if ans.allowed {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_GRANTS_NOTHING)
        })
    }
}

/// kubectl's line: `yes`, or `no` with the reason and the evaluation error when given.
fn answer_text(a: &AccessAnswer) -> String {
    if a.allowed {
        return "yes\n".into();
    }
    let mut s = "no".to_owned();
    if !a.reason.is_empty() {
        s.push_str(&format!(" - {}", a.reason));
    }
    if !a.evaluation_error.is_empty() {
        s.push_str(&format!(" - {}", a.evaluation_error));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::access::{Policy, Scope};

    #[test]
    fn resources_are_read_as_kubectl_writes_them() {
        let r = |w: &str| request("get", w, None, "dev").unwrap().0;
        let p = r("po");
        assert_eq!(
            (p.resource.as_str(), p.group.as_str(), p.namespace.as_str()),
            ("pods", "", "dev")
        );
        let d = r("deploy");
        assert_eq!(
            (d.resource.as_str(), d.group.as_str()),
            ("deployments", "apps")
        );
        assert_eq!(r("deployments.apps").group, "apps");
        let w = r("widgets.example.com");
        assert_eq!(
            (w.resource.as_str(), w.group.as_str()),
            ("widgets", "example.com")
        );
        let n = r("nodes");
        assert_eq!(n.namespace, "", "cluster-scoped: no namespace");
        let one = r("secrets/db-password");
        assert_eq!(
            (one.resource.as_str(), one.name.as_str()),
            ("secrets", "db-password")
        );
        let url = r("/healthz");
        assert_eq!(url.path, "/healthz");
        let (_, note) = request("get", "gizmos", None, "dev").unwrap();
        assert!(note.unwrap().contains("gizmos.GROUP"));
        let sub = request("create", "pods", Some("exec"), "dev").unwrap().0;
        assert_eq!(sub.subresource, "exec");
        assert!(request("", "pods", None, "dev").is_err());
    }

    fn entry(policy: &str, scope: Scope, groups: &[&str]) -> Entry {
        Entry {
            principal_arn: "arn:aws:iam::1:role/dev".into(),
            kind: "STANDARD".into(),
            username: String::new(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            policies: vec![Policy {
                policy_arn: format!("arn:aws:eks::aws:cluster-access-policy/{policy}"),
                scope,
            }],
        }
    }

    #[test]
    fn the_explanation_names_the_policy_and_its_scope_or_the_group_source() {
        let yes = AccessAnswer {
            allowed: true,
            ..Default::default()
        };
        let no = AccessAnswer::default();
        let dev = Scope::Namespace {
            namespaces: vec!["dev".into()],
        };
        let e = entry("AmazonEKSViewPolicy", dev.clone(), &[]);
        let s = Sources {
            entry: Some(&e),
            mapping: None,
            user: None,
            creator: false,
        };
        let get = |ns: &str| Request::new("get", "", "pods", ns);
        assert_eq!(
            explain(&yes, &get("dev"), &s),
            ["access policy AmazonEKSViewPolicy (namespaces dev) of the access entry arn:aws:iam::1:role/dev"]
        );
        assert_eq!(
            explain(&no, &get("prod"), &s),
            ["access policy AmazonEKSViewPolicy would allow it, but its scope is namespaces dev"]
        );
        // a verb the policy never allows: nothing to say
        assert!(explain(&no, &Request::new("delete", "", "pods", "prod"), &s).is_empty());
        // RBAC through a group an aws-auth mapping gives
        let groups = vec!["dev-team".to_owned()];
        let m = Sources {
            entry: None,
            mapping: Some(("mapRoles line 3".into(), &groups)),
            user: None,
            creator: false,
        };
        let rbac = AccessAnswer {
            allowed: true,
            reason: "RBAC: allowed by RoleBinding \"pods/dev\" of Role \"pod-manager\" to Group \"dev-team\"".into(),
            ..Default::default()
        };
        assert_eq!(
            explain(&rbac, &get("dev"), &m),
            ["RBAC: allowed by RoleBinding \"pods/dev\" of Role \"pod-manager\" to Group \"dev-team\" (group dev-team from aws-auth mapRoles line 3)"]
        );
        // the creator's hidden admin
        let u = UserInfo {
            username: "kubernetes-admin".into(),
            groups: vec!["system:masters".into()],
            ..Default::default()
        };
        let c = Sources {
            entry: None,
            mapping: None,
            user: Some(&u),
            creator: true,
        };
        assert!(explain(&yes, &get("dev"), &c)[0].contains("the cluster creator's implicit admin"));
        assert_eq!(answer_text(&no), "no\n");
        assert_eq!(
            answer_text(&AccessAnswer {
                reason: "x".into(),
                ..Default::default()
            }),
            "no - x\n"
        );
    }
}
