//! Kubernetes RBAC rules as the RBAC authorizer reads them, and a short summary of what they
//! allow for the resources people ask about first.
//!
//! Matching follows `k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go`: a rule
//! allows a request when its verbs hold the verb or `*`, its API groups the group or `*`, its
//! resources the resource (`pods`, `pods/log` for a subresource), `*` or `*/<subresource>`,
//! and its resource names are empty or hold the requested name (a request without a name
//! matches no rule that lists names). These are the rules `SelfSubjectRulesReview` returns
//! (`kubectl auth can-i --list`) and EKS access policies are written in.

use serde::{Deserialize, Serialize};

/// One resource rule (`rbac.authorization.k8s.io/v1` PolicyRule, `authorization.k8s.io/v1`
/// ResourceRule).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rule {
    pub(crate) verbs: Vec<String>,
    #[serde(default)]
    pub(crate) api_groups: Vec<String>,
    #[serde(default)]
    pub(crate) resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) resource_names: Vec<String>,
}

/// What is asked: a verb on a resource (`pods`, with `subresource` `log`), in a group
/// (`""` for the core group), optionally one object by name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub(crate) struct Request {
    pub(crate) verb: String,
    pub(crate) group: String,
    pub(crate) resource: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) subresource: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) name: String,
    /// The namespace (`""`: cluster scope, or every namespace for a namespaced resource).
    pub(crate) namespace: String,
    /// A non-resource URL (`/healthz`): when set, the request is for it, not a resource.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) path: String,
}

impl Request {
    pub(crate) fn new(verb: &str, group: &str, resource: &str, namespace: &str) -> Self {
        Self {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            ..Default::default()
        }
    }

    /// `pods`, `pods/log`, `deployments.apps` — as kubectl writes a resource.
    pub(crate) fn shown(&self) -> String {
        if !self.path.is_empty() {
            return self.path.clone();
        }
        let mut s = self.resource.clone();
        if !self.group.is_empty() {
            s = format!("{s}.{}", self.group);
        }
        if !self.subresource.is_empty() {
            s = format!("{s}/{}", self.subresource);
        }
        if !self.name.is_empty() {
            s = format!("{s} {:?}", self.name);
        }
        s
    }
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|x| x == want)
}

impl Rule {
    /// Builds a rule from string slices (the tables of EKS access policies).
    pub(crate) fn of(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Self {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        Self {
            verbs: own(verbs),
            api_groups: own(groups),
            resources: own(resources),
            resource_names: Vec::new(),
        }
    }

    /// RBAC's `VerbMatches && APIGroupMatches && ResourceMatches && ResourceNameMatches`.
    pub(crate) fn allows(&self, r: &Request) -> bool {
        if !r.path.is_empty() {
            return false;
        }
        let verb = has(&self.verbs, "*") || has(&self.verbs, &r.verb);
        let group = has(&self.api_groups, "*") || has(&self.api_groups, &r.group);
        let combined = if r.subresource.is_empty() {
            r.resource.clone()
        } else {
            format!("{}/{}", r.resource, r.subresource)
        };
        let resource = self.resources.iter().any(|x| {
            x == "*"
                || *x == combined
                || (!r.subresource.is_empty() && *x == format!("*/{}", r.subresource))
        });
        let name = self.resource_names.is_empty() || has(&self.resource_names, &r.name);
        verb && group && resource && name
    }

    /// The rules every authenticated user gets from the API server's bootstrap roles
    /// (`system:basic-user`: creating self-reviews), which grant nothing on the cluster's
    /// objects.
    pub(crate) fn is_basic(&self) -> bool {
        let review_groups = ["authorization.k8s.io", "authentication.k8s.io"];
        !self.resources.is_empty()
            && self
                .api_groups
                .iter()
                .all(|g| review_groups.contains(&g.as_str()))
            && self.resources.iter().all(|r| {
                [
                    "selfsubjectaccessreviews",
                    "selfsubjectrulesreviews",
                    "selfsubjectreviews",
                ]
                .contains(&r.as_str())
            })
    }
}

/// Whether any of `rules` allows `r`.
pub(crate) fn allows(rules: &[Rule], r: &Request) -> bool {
    rules.iter().any(|x| x.allows(r))
}

/// A resource in the summary: how it is shown, its group, its name, whether it lives in
/// namespaces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) shown: &'static str,
    pub(crate) group: &'static str,
    pub(crate) resource: &'static str,
}

/// The namespaced resources the summary shows.
pub(crate) const NAMESPACED: [Target; 5] = [
    Target {
        shown: "pods",
        group: "",
        resource: "pods",
    },
    Target {
        shown: "deployments",
        group: "apps",
        resource: "deployments",
    },
    Target {
        shown: "services",
        group: "",
        resource: "services",
    },
    Target {
        shown: "configmaps",
        group: "",
        resource: "configmaps",
    },
    Target {
        shown: "secrets",
        group: "",
        resource: "secrets",
    },
];

/// The cluster-scoped resources the summary shows.
pub(crate) const CLUSTER_SCOPED: [Target; 2] = [
    Target {
        shown: "nodes",
        group: "",
        resource: "nodes",
    },
    Target {
        shown: "namespaces",
        group: "",
        resource: "namespaces",
    },
];

/// The verbs the summary asks about, in kubectl's order.
pub(crate) const VERBS: [&str; 7] = [
    "get", "list", "watch", "create", "update", "patch", "delete",
];

/// The requests behind a summary of `targets` in `namespace` (`""` for cluster scope).
pub(crate) fn requests(targets: &[Target], namespace: &str) -> Vec<Request> {
    targets
        .iter()
        .flat_map(|t| {
            VERBS
                .iter()
                .map(move |v| Request::new(v, t.group, t.resource, namespace))
        })
        .collect()
}

/// What may be done to each resource of a summary: `pods: get list watch; secrets: —`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    /// (resource, the verbs allowed), in the summary's order.
    pub(crate) rows: Vec<(String, Vec<String>)>,
}

impl Summary {
    /// From yes/no answers, one per request of [`requests`] (same order).
    pub(crate) fn from_answers(targets: &[Target], answers: &[bool]) -> Self {
        let rows = targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let verbs = VERBS
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| answers.get(i * VERBS.len() + j) == Some(&true))
                    .map(|(_, v)| (*v).to_owned())
                    .collect();
                (t.shown.to_owned(), verbs)
            })
            .collect();
        Self { rows }
    }

    /// From rules, as the RBAC authorizer would answer each request.
    pub(crate) fn from_rules(targets: &[Target], namespace: &str, rules: &[Rule]) -> Self {
        let answers: Vec<bool> = requests(targets, namespace)
            .iter()
            .map(|r| allows(rules, r))
            .collect();
        Self::from_answers(targets, &answers)
    }

    /// Whether anything at all is allowed.
    pub(crate) fn any(&self) -> bool {
        self.rows.iter().any(|(_, v)| !v.is_empty())
    }

    /// `pods: get list watch; deployments: get list; secrets: —`
    pub(crate) fn line(&self) -> String {
        self.rows
            .iter()
            .map(|(r, v)| {
                if v.is_empty() {
                    format!("{r}: —")
                } else {
                    format!("{r}: {}", v.join(" "))
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(verb: &str, group: &str, resource: &str) -> Request {
        Request::new(verb, group, resource, "dev")
    }

    #[test]
    fn rules_match_as_the_rbac_authorizer_matches_them() {
        let r = Rule::of(&[""], &["pods", "pods/log"], &["get", "list"]);
        assert!(r.allows(&req("get", "", "pods")));
        assert!(!r.allows(&req("delete", "", "pods")));
        assert!(!r.allows(&req("get", "apps", "pods")), "wrong group");
        assert!(!r.allows(&req("get", "", "services")));
        let mut log = req("get", "", "pods");
        log.subresource = "log".into();
        assert!(r.allows(&log));
        log.subresource = "exec".into();
        assert!(!r.allows(&log), "pods does not cover pods/exec");
        // wildcards
        let star = Rule::of(&["*"], &["*"], &["*"]);
        assert!(
            star.allows(&log)
                && star.allows(&req("escalate", "rbac.authorization.k8s.io", "roles"))
        );
        let any_status = Rule::of(&[""], &["*/status"], &["get"]);
        let mut st = req("get", "", "pods");
        st.subresource = "status".into();
        assert!(any_status.allows(&st) && !any_status.allows(&req("get", "", "pods")));
        // resource names: only those objects, never a request without a name
        let named = Rule {
            resource_names: vec!["app-config".into()],
            ..Rule::of(&[""], &["configmaps"], &["get"])
        };
        assert!(!named.allows(&req("get", "", "configmaps")));
        let mut one = req("get", "", "configmaps");
        one.name = "app-config".into();
        assert!(named.allows(&one));
        one.name = "other".into();
        assert!(!named.allows(&one));
    }

    #[test]
    fn the_summary_reads_like_kubectl_auth_can_i() {
        let rules = vec![
            Rule::of(
                &[""],
                &["pods"],
                &["get", "list", "watch", "create", "delete"],
            ),
            Rule::of(&["apps"], &["deployments"], &["get", "list"]),
            Rule::of(
                &["authorization.k8s.io"],
                &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                &["create"],
            ),
        ];
        let s = Summary::from_rules(&NAMESPACED, "dev", &rules);
        assert_eq!(
            s.line(),
            "pods: get list watch create delete; deployments: get list; services: —; configmaps: —; secrets: —"
        );
        assert!(s.any());
        assert!(rules[2].is_basic() && !rules[0].is_basic());
        let none = Summary::from_rules(&CLUSTER_SCOPED, "", &rules[2..]);
        assert_eq!(none.line(), "nodes: —; namespaces: —");
        assert!(!none.any());
        // answers in request order give the same summary
        let answers: Vec<bool> = requests(&NAMESPACED, "dev")
            .iter()
            .map(|r| allows(&rules, r))
            .collect();
        assert_eq!(Summary::from_answers(&NAMESPACED, &answers), s);
    }
}
