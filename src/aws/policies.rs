//! What EKS access policies allow, so that kctx can explain them without a cluster.
//!
//! EKS's API does not show a policy's rules ("You can't view the permissions in the policies
//! using the API", API reference, AccessPolicy); the EKS User Guide lists them. The tables
//! below are written down from the guide's page "Review access policy permissions"
//! (awsdocs/amazon-eks-user-guide, `latest/ug/manage-access/k8s-access/access-policy-reference.adoc`,
//! commit 145543a96a20b66b1e946cd818943e5aa7713f6c), one row per row of its tables: (API
//! groups, resources, verbs). A policy is granted in its association's scope: `cluster`
//! (every namespace and the cluster-scoped resources) or `namespace` (the listed namespaces,
//! where `dev-*` covers every namespace starting with `dev-`; no cluster-scoped resource).
//! Access policies are checked by EKS's authorizer webhook, so `kubectl auth can-i --list`
//! (SelfSubjectRulesReview) does not show them; `kubectl auth can-i VERB RESOURCE`
//! (SelfSubjectAccessReview) does.

use crate::rbac::{self, Rule, Summary};

use super::access::Scope;

type Row = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

const GLW: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];

/// One EKS access policy.
pub(crate) struct AccessPolicy {
    pub(crate) name: &'static str,
    /// The guide's one-line description.
    pub(crate) about: &'static str,
    rows: &'static [Row],
}

impl AccessPolicy {
    pub(crate) fn rules(&self) -> Vec<Rule> {
        self.rows
            .iter()
            .map(|(g, r, v)| Rule::of(g, r, v))
            .collect()
    }
}

const VIEW_ROWS: &[Row] = &[
    (
        &["apps"],
        &[
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ],
        GLW,
    ),
    (
        &["autoscaling"],
        &[
            "horizontalpodautoscalers",
            "horizontalpodautoscalers/status",
        ],
        GLW,
    ),
    (
        &["batch"],
        &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
        GLW,
    ),
    (&["discovery.k8s.io"], &["endpointslices"], GLW),
    (
        &["extensions"],
        &[
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "ingresses",
            "ingresses/status",
            "networkpolicies",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "replicationcontrollers/scale",
        ],
        GLW,
    ),
    (
        &["networking.k8s.io"],
        &["ingresses", "ingresses/status", "networkpolicies"],
        GLW,
    ),
    (
        &["policy"],
        &["poddisruptionbudgets", "poddisruptionbudgets/status"],
        GLW,
    ),
    (
        &[""],
        &[
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/status",
        ],
        GLW,
    ),
    (
        &[""],
        &[
            "bindings",
            "events",
            "limitranges",
            "namespaces/status",
            "pods/log",
            "pods/status",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
        ],
        GLW,
    ),
    (&[""], &["namespaces"], GLW),
];

const EDIT_ROWS: &[Row] = &[
    (
        &["apps"],
        &[
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ],
        WRITE,
    ),
    (
        &["apps"],
        &[
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ],
        GLW,
    ),
    (
        &["autoscaling"],
        &[
            "horizontalpodautoscalers",
            "horizontalpodautoscalers/status",
        ],
        GLW,
    ),
    (&["autoscaling"], &["horizontalpodautoscalers"], WRITE),
    (&["batch"], &["cronjobs", "jobs"], WRITE),
    (
        &["batch"],
        &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
        GLW,
    ),
    (&["discovery.k8s.io"], &["endpointslices"], GLW),
    (
        &["extensions"],
        &[
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "ingresses",
            "networkpolicies",
            "replicasets",
            "replicasets/scale",
            "replicationcontrollers/scale",
        ],
        WRITE,
    ),
    (
        &["extensions"],
        &[
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "ingresses",
            "ingresses/status",
            "networkpolicies",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "replicationcontrollers/scale",
        ],
        GLW,
    ),
    (
        &["networking.k8s.io"],
        &["ingresses", "networkpolicies"],
        WRITE,
    ),
    (
        &["networking.k8s.io"],
        &["ingresses", "ingresses/status", "networkpolicies"],
        GLW,
    ),
    (&["policy"], &["poddisruptionbudgets"], WRITE),
    (
        &["policy"],
        &["poddisruptionbudgets", "poddisruptionbudgets/status"],
        GLW,
    ),
    (&[""], &["namespaces"], GLW),
    (
        &[""],
        &[
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
            "secrets",
            "services/proxy",
        ],
        GLW,
    ),
    (&[""], &["serviceaccounts"], &["impersonate"]),
    (
        &[""],
        &[
            "pods",
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
        ],
        WRITE,
    ),
    (
        &[""],
        &[
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "secrets",
            "serviceaccounts",
            "services",
            "services/proxy",
        ],
        WRITE,
    ),
    (
        &[""],
        &[
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/status",
        ],
        GLW,
    ),
    (
        &[""],
        &[
            "bindings",
            "events",
            "limitranges",
            "namespaces/status",
            "pods/log",
            "pods/status",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
        ],
        GLW,
    ),
];

const ADMIN_ROWS: &[Row] = &[
    (
        &["apps"],
        &[
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ],
        WRITE,
    ),
    (
        &["apps"],
        &[
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ],
        GLW,
    ),
    (
        &["authorization.k8s.io"],
        &["localsubjectaccessreviews"],
        &["create"],
    ),
    (&["autoscaling"], &["horizontalpodautoscalers"], WRITE),
    (
        &["autoscaling"],
        &[
            "horizontalpodautoscalers",
            "horizontalpodautoscalers/status",
        ],
        GLW,
    ),
    (&["batch"], &["cronjobs", "jobs"], WRITE),
    (
        &["batch"],
        &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
        GLW,
    ),
    (&["discovery.k8s.io"], &["endpointslices"], GLW),
    (
        &["extensions"],
        &[
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "ingresses",
            "networkpolicies",
            "replicasets",
            "replicasets/scale",
            "replicationcontrollers/scale",
        ],
        WRITE,
    ),
    (
        &["extensions"],
        &[
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "ingresses",
            "ingresses/status",
            "networkpolicies",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "replicationcontrollers/scale",
        ],
        GLW,
    ),
    (
        &["networking.k8s.io"],
        &["ingresses", "ingresses/status", "networkpolicies"],
        GLW,
    ),
    (
        &["networking.k8s.io"],
        &["ingresses", "networkpolicies"],
        WRITE,
    ),
    (&["policy"], &["poddisruptionbudgets"], WRITE),
    (
        &["policy"],
        &["poddisruptionbudgets", "poddisruptionbudgets/status"],
        GLW,
    ),
    (
        &["rbac.authorization.k8s.io"],
        &["rolebindings", "roles"],
        &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
    ),
    (
        &[""],
        &[
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/status",
        ],
        GLW,
    ),
    (
        &[""],
        &[
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
            "secrets",
            "services/proxy",
        ],
        GLW,
    ),
    (
        &[""],
        &[
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "secrets",
            "serviceaccounts",
            "services",
            "services/proxy",
        ],
        WRITE,
    ),
    (
        &[""],
        &[
            "pods",
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
        ],
        WRITE,
    ),
    (&[""], &["serviceaccounts"], &["impersonate"]),
    (
        &[""],
        &[
            "bindings",
            "events",
            "limitranges",
            "namespaces/status",
            "pods/log",
            "pods/status",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
        ],
        GLW,
    ),
    (&[""], &["namespaces"], GLW),
];

/// The access policies kctx can explain (the guide's tables), by name.
pub(crate) const POLICIES: [AccessPolicy; 6] = [
    AccessPolicy {
        name: "AmazonEKSClusterAdminPolicy",
        about: "administrator access to the cluster: every verb on every resource (and every non-resource URL)",
        rows: &[(&["*"], &["*"], &["*"])],
    },
    AccessPolicy {
        name: "AmazonEKSAdminPolicy",
        about: "most permissions to resources, Roles and RoleBindings included; usually scoped to namespaces",
        rows: ADMIN_ROWS,
    },
    AccessPolicy {
        name: "AmazonEKSEditPolicy",
        about: "edit most Kubernetes resources (Secrets included; no Roles or RoleBindings)",
        rows: EDIT_ROWS,
    },
    AccessPolicy {
        name: "AmazonEKSViewPolicy",
        about: "view most Kubernetes resources (not Secrets)",
        rows: VIEW_ROWS,
    },
    AccessPolicy {
        name: "AmazonEKSAdminViewPolicy",
        about: "list and view every resource in the cluster, Secrets included",
        rows: &[(&["*"], &["*"], GLW)],
    },
    AccessPolicy {
        name: "AmazonEKSSecretReaderPolicy",
        about: "read Secrets",
        rows: &[(&[""], &["secrets"], GLW)],
    },
];

/// The policy an ARN or name names, when kctx knows its rules.
pub(crate) fn find(arn_or_name: &str) -> Option<&'static AccessPolicy> {
    let name = arn_or_name.rsplit('/').next().unwrap_or(arn_or_name);
    POLICIES.iter().find(|p| p.name == name)
}

/// Whether a namespace pattern of a scope covers `namespace` (`dev-*`: a prefix).
fn pattern_covers(pattern: &str, namespace: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => namespace.starts_with(prefix),
        None => pattern == namespace,
    }
}

impl Scope {
    /// Whether this scope covers a request in `namespace` (`""`: cluster scope).
    pub(crate) fn covers(&self, namespace: &str) -> bool {
        match self {
            Scope::Cluster => true,
            Scope::Namespace { namespaces } => {
                !namespace.is_empty() && namespaces.iter().any(|p| pattern_covers(p, namespace))
            }
        }
    }
}

/// Whether `policy`, associated with `scope`, allows `r`.
pub(crate) fn allows(policy: &AccessPolicy, scope: &Scope, r: &rbac::Request) -> bool {
    scope.covers(&r.namespace) && rbac::allows(&policy.rules(), r)
}

/// What `policy` with `scope` allows of the summary's resources in `namespace` (`""`: the
/// cluster-scoped ones).
pub(crate) fn summary(
    policy: &AccessPolicy,
    scope: &Scope,
    targets: &[rbac::Target],
    namespace: &str,
) -> Summary {
    if !scope.covers(namespace) {
        return Summary::from_answers(targets, &[]);
    }
    Summary::from_rules(targets, namespace, &policy.rules())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::{Request, CLUSTER_SCOPED, NAMESPACED};

    #[test]
    fn the_four_policies_summarised_as_the_guide_lists_them() {
        let cluster = Scope::Cluster;
        let line = |name: &str| summary(find(name).unwrap(), &cluster, &NAMESPACED, "dev").line();
        assert_eq!(
            line("AmazonEKSViewPolicy"),
            "pods: get list watch; deployments: get list watch; services: get list watch; configmaps: get list watch; secrets: —"
        );
        let all = "get list watch create update patch delete";
        assert_eq!(
            line("AmazonEKSEditPolicy"),
            format!("pods: {all}; deployments: {all}; services: {all}; configmaps: {all}; secrets: {all}")
        );
        assert_eq!(line("AmazonEKSAdminPolicy"), line("AmazonEKSEditPolicy"));
        assert_eq!(
            line("AmazonEKSClusterAdminPolicy"),
            line("AmazonEKSEditPolicy")
        );
        // what sets them apart: roles (admin), secrets (view), nodes (cluster admin)
        let roles = Request::new("create", "rbac.authorization.k8s.io", "roles", "dev");
        assert!(allows(
            find("AmazonEKSAdminPolicy").unwrap(),
            &cluster,
            &roles
        ));
        assert!(!allows(
            find("AmazonEKSEditPolicy").unwrap(),
            &cluster,
            &roles
        ));
        let nodes = |name: &str| summary(find(name).unwrap(), &cluster, &CLUSTER_SCOPED, "").line();
        assert_eq!(
            nodes("AmazonEKSClusterAdminPolicy"),
            format!("nodes: {all}; namespaces: {all}")
        );
        assert_eq!(
            nodes("AmazonEKSViewPolicy"),
            "nodes: —; namespaces: get list watch"
        );
        assert_eq!(
            find("arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy")
                .unwrap()
                .name,
            "AmazonEKSAdminViewPolicy"
        );
        assert!(find("AmazonEKSAutoNodePolicy").is_none());
    }

    #[test]
    fn a_namespace_scope_covers_its_namespaces_and_prefixes_only() {
        let view = find("AmazonEKSViewPolicy").unwrap();
        let scope = Scope::Namespace {
            namespaces: vec!["dev".into(), "team-*".into()],
        };
        let get_pods = |ns: &str| allows(view, &scope, &Request::new("get", "", "pods", ns));
        assert!(get_pods("dev") && get_pods("team-a") && get_pods("team-"));
        assert!(!get_pods("prod") && !get_pods("dev2") && !get_pods(""));
        // cluster-scoped resources are never in a namespace scope
        assert!(!summary(view, &scope, &CLUSTER_SCOPED, "").any());
        assert!(!summary(view, &scope, &NAMESPACED, "prod").any());
    }
}
