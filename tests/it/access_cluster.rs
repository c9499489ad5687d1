//! `kctx access` reconciles EKS's rules with what the cluster answers (issue 22): an answer
//! that needed authentication proves it, the cluster creator's hidden admin, what RBAC and
//! access policies let the caller do (the rights summary and `kctx access can-i`), and
//! `access migrate` keeping the creator.
//!
//! Peers: moto (STS, IAM), the EKS access-entry double, and the TLS test API server, which
//! verifies EKS tokens and answers SelfSubjectReview, SelfSubjectRulesReview and
//! SelfSubjectAccessReview from a small RBAC table per user; kubectl run against the same
//! server and context, where its answer is the reference.

use std::path::Path;
use std::process::Command;

use crate::aws_auth::{
    api_server, code, config_map, eks_state, iam, kctx, kubeconfig, new_user, writes, Caller, ACCT,
    ADMIN, CLUSTER,
};
use crate::common::*;
use serde_json::{json, Value};

/// kubectl on the same kubeconfig, with the same credentials kctx gets.
fn kubectl(h: &Home, cfg: &Path, who: &Caller) -> Command {
    let mut c = h.cmd("kubectl");
    c.env("KUBECONFIG", cfg)
        .env("PATH", path_with_kctx(h))
        .env("AWS_ACCESS_KEY_ID", &who.ak)
        .env("AWS_SECRET_ACCESS_KEY", &who.sk)
        .env("AWS_REGION", "us-west-2")
        .env("AWS_ENDPOINT_URL_STS", moto());
    c
}

/// Replaces the API server's identities (it reads the file on every request).
fn set_identities(h: &Home, ids: Value) {
    std::fs::write(
        h.path().join(format!("identities-{CLUSTER}.json")),
        ids.to_string(),
    )
    .unwrap();
}

/// Replaces (or with `None` removes) the API server's aws-auth ConfigMap.
fn set_aws_auth(h: &Home, cm: Option<Value>) {
    let f = h.path().join(format!("aws-auth-{CLUSTER}.json"));
    match cm {
        Some(v) => std::fs::write(&f, v.to_string()).unwrap(),
        None => {
            let _ = std::fs::remove_file(&f);
        }
    }
}

fn line_of<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"))
}

const ALL: &str = "get list watch create update patch delete";

#[test]
fn the_creator_in_config_map_is_an_invisible_admin_that_migrate_keeps() {
    let h = Home::new();
    let me = new_user("creator");
    let ops = &iam(json!([{"kind": "role", "name": unique("ops")}]))[0];
    let ops_arn = ops["arn"].as_str().unwrap();
    let cm = config_map(
        &format!("- rolearn: {ops_arn}\n  username: ops\n  groups: [ops]\n"),
        "",
        "",
    );
    // EKS's authenticator maps the creator as kubernetes-admin in system:masters
    let s = api_server(
        &h,
        &me,
        json!({"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}),
        Some(cm),
    );
    let cfg = kubeconfig(&h, &s.url, &s.ca_data(), &[]);
    let mut st = eks_state("CONFIG_MAP", json!({}));
    st["clusters"][CLUSTER]["creator"] = json!(me.arn);
    let eks = FakeEks::start(h.path(), &st);

    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("aws-auth:      no mapping for this principal (read from the cluster (context \"eks\"))"),
        "{out}"
    );
    assert!(out.contains("kubernetes:    user \"kubernetes-admin\", groups system:masters,system:authenticated (SelfSubjectReview)"), "{out}");
    assert_eq!(
        line_of(&out, "rights:"),
        format!("rights:        in default: pods: {ALL}; deployments: {ALL}; services: {ALL}; configmaps: {ALL}; secrets: {ALL}")
    );
    let verdict = line_of(&out, "verdict:");
    assert!(verdict.contains("the cluster authenticates this identity (SelfSubjectReview), but no aws-auth mapping names it: it is the cluster creator's implicit admin (bootstrapClusterCreatorAdminPermissions), which appears nowhere and cannot be revoked except by moving to access entries"), "{out}");
    assert!(!out.contains("Unauthorized"), "{out}");
    // kubectl asks the same cluster the same question
    let who = ok(kubectl(&h, &cfg, &me).args(["auth", "whoami", "-o", "json"]));
    let who: Value = serde_json::from_str(&who).unwrap();
    assert_eq!(who["status"]["userInfo"]["username"], "kubernetes-admin");
    let j: Value = serde_json::from_str(&stdout(&run(
        kctx(&h, &cfg, &eks, &me.ak, &me.sk).args(["access", "-o", "json"])
    )))
    .unwrap();
    assert_eq!(j["cluster_creator_admin"], true);
    assert_eq!(j["bootstrap_cluster_creator_admin_permissions"], true);
    assert_eq!(j["kubernetes"]["authenticated"], true);
    assert_eq!(j["kubernetes"]["user"]["username"], "kubernetes-admin");
    assert_eq!(j["granted"], true);

    // the plan names the creator: it stays an admin, as an access entry
    let migrate = |eks: &FakeEks, extra: &[&str]| {
        run(kctx(&h, &cfg, eks, &me.ak, &me.sk)
            .args(["access", "migrate", "--target-authentication-mode", "API"])
            .args(extra))
    };
    let o = migrate(&eks, &[]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    let creator_row: Vec<&str> = line_of(&out, "creator ").split_whitespace().collect();
    assert_eq!(
        creator_row[..7],
        [
            "creator",
            me.arn.as_str(),
            "create",
            "STANDARD",
            "-",
            "-",
            "AmazonEKSClusterAdminPolicy"
        ],
        "{out}"
    );
    assert!(out.contains("the cluster creator's admin (bootstrapClusterCreatorAdminPermissions): kept as an access entry"), "{out}");
    assert!(
        out.contains("3. switch the authentication mode API_AND_CONFIG_MAP -> API"),
        "{out}"
    );
    assert!(writes(&eks).is_empty());
    // --approve: EKS makes the creator's entry at the switch; kctx keeps it and goes to API
    let o = migrate(&eks, &["--approve"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "kept access entry {}: EKS made it when the mode changed (the cluster creator's admin)",
            me.arn
        )),
        "{out}"
    );
    assert!(
        out.contains(
            "created 1 of 2 access entries (1 already there); authentication mode is now API"
        ),
        "{out}"
    );
    let st = eks.state();
    assert_eq!(st["clusters"][CLUSTER]["mode"], "API");
    assert_eq!(
        st["clusters"][CLUSTER]["entries"][&me.arn]["policies"],
        json!([{"policyArn": ADMIN, "accessScope": {"type": "cluster"}}])
    );
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        line_of(&stdout(&o), "verdict:").starts_with(
            "verdict:       granted by access entry: AmazonEKSClusterAdminPolicy (cluster)"
        ),
        "{}",
        stdout(&o)
    );

    // a cluster whose switch makes no creator entry: kctx makes it, so API loses no admin
    let eks2 = FakeEks::start(h.path(), &eks_state("CONFIG_MAP", json!({})));
    let o = migrate(&eks2, &["--approve"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("created 2 of 2 access entries; authentication mode is now API"),
        "{out}"
    );
    let st = eks2.state();
    assert_eq!(
        st["clusters"][CLUSTER]["entries"][&me.arn]["policies"],
        json!([{"policyArn": ADMIN, "accessScope": {"type": "cluster"}}])
    );

    // someone aws-auth maps runs the plan: the creator cannot be told, and that is said
    let eks3 = FakeEks::start(h.path(), &eks_state("CONFIG_MAP", json!({})));
    set_aws_auth(
        &h,
        Some(config_map(
            "",
            &format!("- userarn: {}\n  username: me\n  groups: [ops]\n", me.arn),
            "",
        )),
    );
    set_identities(&h, json!({&me.ak: {"username": "me", "groups": ["ops"]}}));
    let o = migrate(&eks3, &[]);
    let out = stdout(&o);
    assert!(!out.contains("\ncreator "), "{out}");
    assert!(out.contains("note: the cluster creator (bootstrapClusterCreatorAdminPermissions) is an admin that no mapping shows"), "{out}");
}

#[test]
fn aws_auth_answers_200_404_and_403_each_prove_authentication() {
    let h = Home::new();
    let me = new_user("old");
    // a cluster older than 1.27: no SelfSubjectReview, so only aws-auth's answer tells
    let s = ApiServer::start_with(
        h.path(),
        CLUSTER,
        &[(&me.ak, &me.sk)],
        ServerOpts {
            identities: vec![(
                me.ak.clone(),
                json!({"username": "kubernetes-admin", "groups": ["system:masters"]}),
            )],
            aws_auth: Some(config_map(
                &format!(
                    "- rolearn: arn:aws:iam::{ACCT}:role/other\n  username: o\n  groups: [o]\n"
                ),
                "",
                "",
            )),
            no_self_review: true,
            ..Default::default()
        },
    );
    let cfg = kubeconfig(&h, &s.url, &s.ca_data(), &[]);
    let eks = FakeEks::start(h.path(), &eks_state("CONFIG_MAP", json!({})));
    let access = || run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));

    let o = access();
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("kubernetes:    authenticates this identity (reading aws-auth answered 200)"),
        "{out}"
    );
    assert!(
        line_of(&out, "verdict:").contains("the cluster creator's implicit admin"),
        "{out}"
    );
    assert!(!out.contains("Unauthorized"), "{out}");

    set_aws_auth(&h, None);
    let o = access();
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("reading aws-auth answered 404 Not Found"),
        "{out}"
    );
    assert!(
        line_of(&out, "verdict:").contains("the cluster creator's implicit admin"),
        "{out}"
    );
    assert!(!out.contains("Unauthorized"), "{out}");

    set_aws_auth(&h, Some(config_map("", "", "")));
    set_identities(
        &h,
        json!({&me.ak: {"username": "viewer", "groups": ["viewers"], "restricted": true,
                        "rbac": [{"namespace": null, "via": "ClusterRoleBinding \"viewers\" of ClusterRole \"view\" to Group \"viewers\"",
                                  "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]}]}}),
    );
    let o = access();
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(out.contains("kubernetes:    authenticates this identity (reading aws-auth answered 403 Forbidden, not 401 Unauthorized)"), "{out}");
    assert!(out.contains("verdict:       the cluster authenticates this identity (reading aws-auth answered 403 Forbidden, not 401 Unauthorized); aws-auth could not be read (403 Forbidden)"), "{out}");
    assert!(
        line_of(&out, "rights:").starts_with("rights:        in default: pods: get list;"),
        "{out}"
    );
    assert!(!out.contains("will get Unauthorized"), "{out}");

    // only a 401 is a refusal
    set_identities(&h, json!({}));
    let o = access();
    let out = stdout(&o);
    assert_eq!(code(&o), 3, "{out}{}", stderr(&o));
    assert!(
        out.contains("kubernetes:    refuses this identity (401 Unauthorized, SelfSubjectReview)"),
        "{out}"
    );
    assert!(
        out.contains("verdict:       the cluster refuses this identity (401 Unauthorized): no access entry or aws-auth mapping admits it"),
        "{out}"
    );

    // and an unreachable cluster with an unreadable aws-auth decides nothing: exit 1
    drop(s);
    let o = access();
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}{}", stderr(&o));
    assert!(
        out.contains("aws-auth:      could not be read: cannot reach the cluster"),
        "{out}"
    );
    assert!(
        out.contains("verdict:       aws-auth could not be read, so whether it admits this principal is unknown"),
        "{out}"
    );
}

#[test]
fn a_group_with_namespace_rights_is_summarised_and_can_i_answers_as_kubectl() {
    let h = Home::new();
    let me = new_user("dev");
    let users = format!(
        "- userarn: {}\n  username: dev\n  groups:\n  - dev-team\n",
        me.arn
    );
    let via = "RoleBinding \"dev/dev-team\" of Role \"developer\" to Group \"dev-team\"";
    let s = api_server(
        &h,
        &me,
        json!({"username": "dev", "groups": ["dev-team", "system:authenticated"],
               "rbac": [{"namespace": "dev", "via": via, "rules": [
                   {"verbs": ["get", "list", "watch", "create", "delete"], "apiGroups": [""], "resources": ["pods"]},
                   {"verbs": ["get", "list"], "apiGroups": ["apps"], "resources": ["deployments"]}]}]}),
        Some(config_map("", &users, "")),
    );
    let cfg = kubeconfig(&h, &s.url, &s.ca_data(), &[]);
    let eks = FakeEks::start(h.path(), &eks_state("CONFIG_MAP", json!({})));
    let k = || kctx(&h, &cfg, &eks, &me.ak, &me.sk);

    let o = run(k().args(["access", "-n", "dev"]));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert_eq!(
        line_of(&out, "rights:"),
        "rights:        in dev: pods: get list watch create delete; deployments: get list; services: —; configmaps: —; secrets: —"
    );
    assert_eq!(
        line_of(&out, "  cluster:"),
        "  cluster:     nodes: —; namespaces: —"
    );
    assert!(line_of(&out, "verdict:").starts_with("verdict:       mapped by aws-auth mapUsers line 1: user \"dev\", groups dev-team; RBAC decides what they may do; the cluster says user \"dev\""), "{out}");
    // -o json carries the cluster's rules
    let j: Value = serde_json::from_str(&stdout(&run(
        k().args(["access", "-n", "dev", "-o", "json"])
    )))
    .unwrap();
    let rights = &j["kubernetes"]["rights"];
    assert_eq!(rights["namespace"], "dev");
    assert_eq!(rights["rules"]["incomplete"], false);
    let rules = rights["rules"]["resource_rules"].as_array().unwrap();
    assert!(
        rules.contains(
            &json!({"verbs": ["get", "list"], "apiGroups": ["apps"], "resources": ["deployments"]})
        ),
        "{rights}"
    );
    // another namespace: authenticated, granted nothing there
    let o = run(k().args(["access", "-n", "prod"]));
    let out = stdout(&o);
    assert_eq!(code(&o), 4, "{out}{}", stderr(&o));
    assert!(
        line_of(&out, "rights:").starts_with("rights:        in prod: pods: —;"),
        "{out}"
    );
    assert!(out.contains("the cluster lets it do nothing in namespace prod or cluster-wide: authenticated, but granted nothing"), "{out}");

    // can-i: yes with where it comes from, no with exit 4; kubectl answers the same
    for (verb, resource, yes) in [
        ("create", "pods", true),
        ("delete", "po", true),
        ("get", "deployments.apps", true),
        ("delete", "deployments", false),
        ("get", "secrets", false),
    ] {
        let o = run(k().args(["access", "can-i", verb, resource, "-n", "dev"]));
        let out = stdout(&o);
        let kube = run(kubectl(&h, &cfg, &me).args(["auth", "can-i", verb, resource, "-n", "dev"]));
        assert_eq!(
            out.lines().next(),
            stdout(&kube).lines().next(),
            "{verb} {resource}: kctx {out} kubectl {}{}",
            stdout(&kube),
            stderr(&kube)
        );
        assert_eq!(
            code(&o),
            if yes { 0 } else { 4 },
            "{verb} {resource}: {out}{}",
            stderr(&o)
        );
        assert_eq!(code(&kube), if yes { 0 } else { 1 });
        if yes {
            assert_eq!(
                out.lines().nth(1).unwrap(),
                format!("  RBAC: allowed by {via} (group dev-team from aws-auth mapUsers line 1)"),
                "{out}"
            );
        }
    }
    let o = run(k().args(["access", "can-i", "create", "pods", "-n", "prod", "-q"]));
    assert_eq!(code(&o), 4);
    assert_eq!(stdout(&o), "");
}

/// AmazonEKSViewPolicy's rules as the EKS User Guide lists them ("Review access policy
/// permissions"), for the test server's authorizer webhook.
fn view_policy_rules() -> Value {
    let glw = json!(["get", "list", "watch"]);
    let rows: Vec<(&str, Vec<&str>)> = vec![
        (
            "apps",
            vec![
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
        ),
        (
            "autoscaling",
            vec![
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status",
            ],
        ),
        (
            "batch",
            vec!["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
        ),
        ("discovery.k8s.io", vec!["endpointslices"]),
        (
            "extensions",
            vec![
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
        ),
        (
            "networking.k8s.io",
            vec!["ingresses", "ingresses/status", "networkpolicies"],
        ),
        (
            "policy",
            vec!["poddisruptionbudgets", "poddisruptionbudgets/status"],
        ),
        (
            "",
            vec![
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
        ),
        (
            "",
            vec![
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
        ),
        ("", vec!["namespaces"]),
    ];
    Value::Array(
        rows.into_iter()
            .map(|(g, r)| json!({"verbs": glw, "apiGroups": [g], "resources": r}))
            .collect(),
    )
}

#[test]
fn an_access_entry_with_the_view_policy_on_one_namespace_is_explained_offline_as_the_cluster_answers(
) {
    let h = Home::new();
    let me = new_user("viewer");
    let view = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
    let s = api_server(
        &h,
        &me,
        json!({"username": me.arn, "groups": ["system:authenticated"],
               "policies": [{"name": "AmazonEKSViewPolicy", "namespaces": ["dev"], "rules": view_policy_rules()}]}),
        None,
    );
    let cfg = kubeconfig(&h, &s.url, &s.ca_data(), &[]);
    let eks = FakeEks::start(
        h.path(),
        &eks_state(
            "API",
            json!({&me.arn: {"type": "STANDARD", "username": me.arn, "groups": [],
                "policies": [{"policyArn": view, "accessScope": {"type": "namespace", "namespaces": ["dev"]}}]}}),
        ),
    );
    let k = || kctx(&h, &cfg, &eks, &me.ak, &me.sk);
    let o = run(k().args(["access", "-n", "dev"]));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    let offline = line_of(&out, "  allows:")
        .strip_prefix("  allows:      AmazonEKSViewPolicy in dev: ")
        .unwrap_or_else(|| panic!("{out}"));
    let cluster = line_of(&out, "rights:")
        .strip_prefix("rights:        in dev: ")
        .unwrap();
    assert_eq!(offline, cluster, "{out}");
    assert_eq!(
        cluster,
        "pods: get list watch; deployments: get list watch; services: get list watch; configmaps: get list watch; secrets: —"
    );
    // access policies are not in the rules review (a webhook checks them): said in JSON
    let j: Value = serde_json::from_str(&stdout(&run(
        k().args(["access", "-n", "dev", "-o", "json"])
    )))
    .unwrap();
    assert_eq!(j["kubernetes"]["rights"]["rules"]["incomplete"], true);
    // the policy explained offline, alone, reads the same
    let p = ok(k().args(["access", "policies", "view"]));
    assert!(
        p.contains(&format!("  in a namespace of its scope:  {cluster}\n")),
        "{p}"
    );
    // outside its scope: nothing, by either account
    let o = run(k().args(["access", "-n", "prod"]));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "the entry has a policy: {out}{}", stderr(&o));
    assert_eq!(
        line_of(&out, "  allows:"),
        "  allows:      AmazonEKSViewPolicy nothing in prod (not in its scope: namespaces dev)"
    );
    assert_eq!(
        line_of(&out, "rights:"),
        "rights:        in prod: pods: —; deployments: —; services: —; configmaps: —; secrets: —"
    );
    // can-i says where a yes comes from, and why a no
    let o = run(k().args(["access", "can-i", "list", "pods", "-n", "dev"]));
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "yes\n  access policy AmazonEKSViewPolicy (namespaces dev) of the access entry {}\n",
            me.arn
        )
    );
    let o = run(k().args(["access", "can-i", "list", "pods", "-n", "prod"]));
    assert_eq!(code(&o), 4);
    assert_eq!(
        stdout(&o),
        "no\n  access policy AmazonEKSViewPolicy would allow it, but its scope is namespaces dev\n"
    );
    let o = run(k().args(["access", "can-i", "delete", "pods", "-n", "dev"]));
    assert_eq!((code(&o), stdout(&o).as_str()), (4, "no\n"));
    let kube = run(kubectl(&h, &cfg, &me).args(["auth", "can-i", "list", "pods", "-n", "dev"]));
    assert_eq!(stdout(&kube), "yes\n", "{}", stderr(&kube));
}
