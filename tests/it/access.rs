//! `kctx whoami` and `kctx access` against moto's STS and a test double of the EKS
//! access-entry API (moto has none).

use crate::common::*;
use serde_json::{json, Value};

const ACCT: &str = "123456789012";
const EDIT: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

fn state(mode: &str, entries: Value) -> Value {
    json!({"account": ACCT, "region": "us-west-2", "page_size": 2,
           "clusters": {"sandbox": {"mode": mode, "entries": entries}}})
}

/// A kubeconfig whose current context's user runs `exec` (command + args).
fn kubeconfig(h: &Home, command: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let exec = json!({"apiVersion": "client.authentication.k8s.io/v1beta1", "command": command, "args": args,
                      "env": env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>()});
    let doc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": format!("arn:aws:eks:us-west-2:{ACCT}:cluster/sandbox"), "cluster": {"server": "https://x"}}],
        "contexts": [{"name": "sb", "context": {"cluster": format!("arn:aws:eks:us-west-2:{ACCT}:cluster/sandbox"), "user": "u"}}],
        "current-context": "sb",
        "users": [{"name": "u", "user": {"exec": exec}}],
    });
    h.write(
        "kubeconfig",
        &kctx::emit_document(&doc, &Default::default()),
    )
    .display()
    .to_string()
}

fn kctx_role_args(role: &str) -> Vec<String> {
    [
        "token",
        "--cluster-name",
        "sandbox",
        "--region",
        "us-west-2",
        "--role-arn",
        role,
    ]
    .map(String::from)
    .to_vec()
}

fn k(h: &Home, kc: &str, eks: &FakeEks) -> std::process::Command {
    let mut c = h.kctx();
    c.env("KUBECONFIG", kc)
        .env("AWS_ACCESS_KEY_ID", AK)
        .env("AWS_SECRET_ACCESS_KEY", SK)
        .env("AWS_ENDPOINT_URL_STS", moto())
        .env("AWS_ENDPOINT_URL_EKS", &eks.url);
    c
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap()
}

#[test]
fn assumed_role_with_a_path_is_granted_in_api_mode() {
    let h = Home::new();
    let role = format!("arn:aws:iam::{ACCT}:role/eks-dev");
    let eks = FakeEks::start(
        h.path(),
        &state(
            "API",
            json!({
                format!("arn:aws:iam::{ACCT}:role/teams/dev/eks-dev"): {"type": "STANDARD", "username": "dev", "groups": [],
                    "policies": [{"policyArn": EDIT, "accessScope": {"type": "namespace", "namespaces": ["dev", "qa"]}}]}
            }),
        ),
    );
    let args = kctx_role_args(&role);
    let kc = kubeconfig(
        &h,
        "kctx",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    );
    // whoami: the assumed-role session and its role
    // (the AWS side only: these contexts point at no real cluster; tests/cluster.rs has both)
    let who = ok(k(&h, &kc, &eks).args(["whoami", "--no-cluster"]));
    assert!(
        who.contains(&format!(
            "caller:     arn:aws:sts::{ACCT}:assumed-role/eks-dev/EKSGetTokenAuth"
        )),
        "{who}"
    );
    assert!(who.contains(&format!("principal:  {role}\n")), "{who}");
    let j: Value = serde_json::from_str(&ok(k(&h, &kc, &eks).args([
        "whoami",
        "-o",
        "json",
        "--no-cluster",
    ])))
    .unwrap();
    assert_eq!(j["account"], ACCT);
    assert_eq!(j["principal_arn"], role.as_str());
    // access: found through the role's path, namespace scoped
    let o = run(k(&h, &kc, &eks).arg("access"));
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("auth mode:     API\n"), "{out}");
    assert!(
        out.contains(&format!(
            "access entry:  arn:aws:iam::{ACCT}:role/teams/dev/eks-dev (STANDARD)"
        )),
        "{out}"
    );
    assert!(
        out.contains("AmazonEKSEditPolicy (namespaces dev,qa)"),
        "{out}"
    );
    assert!(
        !out.contains("aws-auth:"),
        "API mode has no ConfigMap: {out}"
    );
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("verdict:       granted"),
        "{out}"
    );
}

#[test]
fn user_principal_without_an_entry() {
    let h = Home::new();
    // env keys unknown to moto: it answers as arn:aws:sts::123456789012:user/moto
    let eks = FakeEks::start(
        h.path(),
        &state(
            "API_AND_CONFIG_MAP",
            json!({
                format!("arn:aws:iam::{ACCT}:user/someone-else"): {"type": "STANDARD", "groups": ["x"], "policies": []}
            }),
        ),
    );
    let kc = kubeconfig(
        &h,
        "aws",
        &[
            "--region",
            "us-west-2",
            "eks",
            "get-token",
            "--cluster-name",
            "sandbox",
            "--output",
            "json",
        ],
        &[],
    );
    let o = run(k(&h, &kc, &eks).arg("access"));
    assert_eq!(code(&o), 3, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("principal:     arn:aws:sts::123456789012:user/moto"),
        "{out}"
    );
    assert!(out.contains("access entry:  none"), "{out}");
    assert!(
        out.contains("aws-auth:") && out.contains("verdict:       no access entry"),
        "{out}"
    );
    // JSON for scripts
    let o = run(k(&h, &kc, &eks).args(["access", "-o", "json"]));
    assert_eq!(code(&o), 3);
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["granted"], false);
    assert_eq!(j["authentication_mode"], "API_AND_CONFIG_MAP");
    assert!(j["access_entry"].is_null());
}

#[test]
fn config_map_clusters_do_not_consult_access_entries() {
    let h = Home::new();
    let eks = FakeEks::start(h.path(), &state("CONFIG_MAP", json!({})));
    let kc = kubeconfig(
        &h,
        "aws-iam-authenticator",
        &[
            "token",
            "-i",
            "sandbox",
            "-r",
            &format!("arn:aws:iam::{ACCT}:role/ops"),
        ],
        &[("AWS_REGION", "us-west-2")],
    );
    // (the AWS side only: these contexts point at no real cluster; tests/cluster.rs has both)
    let who = ok(k(&h, &kc, &eks).args(["whoami", "--no-cluster"]));
    assert!(
        who.contains(&format!("principal:  arn:aws:iam::{ACCT}:role/ops")),
        "{who}"
    );
    let o = run(k(&h, &kc, &eks).arg("access"));
    // no access-entry lines in CONFIG_MAP mode; aws-auth alone decides, and this context's
    // cluster cannot be reached, so the verdict says what is unknown: exit 1, not "no access"
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(!out.contains("access entry:"), "{out}");
    assert!(out.contains("aws-auth:      could not be read"), "{out}");
    assert!(
        out.contains("verdict:       aws-auth could not be read, so whether it admits this principal is unknown"),
        "{out}"
    );
    assert!(
        !eks.calls().iter().any(|c| c.contains("AccessEntr")),
        "{:?}",
        eks.calls()
    );
}

#[test]
fn an_entry_without_policies_or_groups_grants_nothing() {
    let h = Home::new();
    let eks = FakeEks::start(
        h.path(),
        &state(
            "API",
            json!({
                format!("arn:aws:iam::{ACCT}:role/ops"): {"type": "STANDARD", "username": "ops", "groups": [], "policies": []}
            }),
        ),
    );
    let args = kctx_role_args(&format!("arn:aws:iam::{ACCT}:role/ops"));
    let kc = kubeconfig(
        &h,
        "kctx",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    );
    let o = run(k(&h, &kc, &eks).arg("access"));
    assert_eq!(code(&o), 4, "{}", stdout(&o));
    assert!(stdout(&o).contains("authorized for nothing"));
}

#[test]
fn grant_and_revoke_round_trip_idempotently() {
    let h = Home::new();
    let eks = FakeEks::start(h.path(), &state("API", json!({})));
    let kc = kubeconfig(
        &h,
        "kctx",
        &[
            "token",
            "--cluster-name",
            "sandbox",
            "--region",
            "us-west-2",
        ],
        &[],
    );
    let p = format!("arn:aws:iam::{ACCT}:role/teams/dev/eks-dev");
    let out = ok(k(&h, &kc, &eks).args([
        "access",
        "grant",
        &p,
        "--policy",
        "edit",
        "--namespace",
        "qa",
        "--namespace",
        "dev",
    ]));
    assert!(
        out.contains("created access entry")
            && out.contains("associated AmazonEKSEditPolicy (namespaces dev,qa)"),
        "{out}"
    );
    let entry = eks.state()["clusters"]["sandbox"]["entries"][&p].clone();
    assert_eq!(entry["type"], "STANDARD");
    assert_eq!(
        entry["policies"],
        json!([{"policyArn": EDIT, "accessScope": {"type": "namespace", "namespaces": ["dev", "qa"]}}])
    );
    // again: nothing changes, no write call
    let before = eks.calls().len();
    let out = ok(k(&h, &kc, &eks).args([
        "access",
        "grant",
        &p,
        "--policy",
        "AmazonEKSEditPolicy",
        "-n",
        "dev",
        "-n",
        "qa",
    ]));
    assert!(out.contains("nothing changed"), "{out}");
    let new_calls: Vec<String> = eks.calls()[before..].to_vec();
    assert!(
        !new_calls
            .iter()
            .any(|c| c == "CreateAccessEntry" || c == "AssociateAccessPolicy"),
        "{new_calls:?}"
    );
    // a second policy by full ARN, cluster-wide; and the user is now granted
    ok(k(&h, &kc, &eks).args(["access", "grant", &p, "--policy", ADMIN]));
    let list = ok(k(&h, &kc, &eks).args(["access", "list"]));
    assert!(
        list.contains("AmazonEKSClusterAdminPolicy (cluster)")
            && list.contains("AmazonEKSEditPolicy (namespaces dev,qa)"),
        "{list}"
    );
    // revoke one policy, then the entry, then again (no-op)
    let out = ok(k(&h, &kc, &eks).args(["access", "revoke", &p, "--policy", "cluster-admin"]));
    assert!(
        out.starts_with("disassociated AmazonEKSClusterAdminPolicy"),
        "{out}"
    );
    let out = ok(k(&h, &kc, &eks).args(["access", "revoke", &p, "--policy", "cluster-admin"]));
    assert!(out.contains("nothing changed"), "{out}");
    let out = ok(k(&h, &kc, &eks).args(["access", "revoke", &p]));
    assert!(out.starts_with("deleted access entry"), "{out}");
    assert!(eks.state()["clusters"]["sandbox"]["entries"]
        .as_object()
        .unwrap()
        .is_empty());
    let out = ok(k(&h, &kc, &eks).args(["access", "revoke", &p]));
    assert!(
        out.contains("no access entry") && out.contains("nothing changed"),
        "{out}"
    );
    // a bad policy name is refused before any call
    let o = run(k(&h, &kc, &eks).args(["access", "grant", &p, "--policy", "root"]));
    assert!(
        !o.status.success() && stderr(&o).contains("unknown access policy"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn lists_follow_pagination() {
    let h = Home::new();
    let mut entries = serde_json::Map::new();
    for i in 0..5 {
        entries.insert(format!("arn:aws:iam::{ACCT}:user/u{i}"), json!({"type": "STANDARD", "username": format!("u{i}"), "groups": [],
            "policies": [{"policyArn": VIEW, "accessScope": {"type": "cluster"}}, {"policyArn": EDIT, "accessScope": {"type": "namespace", "namespaces": ["n"]}}, {"policyArn": ADMIN, "accessScope": {"type": "cluster"}}]}));
    }
    let eks = FakeEks::start(h.path(), &state("API", Value::Object(entries)));
    let kc = kubeconfig(
        &h,
        "kctx",
        &[
            "token",
            "--cluster-name",
            "sandbox",
            "--region",
            "us-west-2",
        ],
        &[],
    );
    let j: Value =
        serde_json::from_str(&ok(k(&h, &kc, &eks).args(["access", "list", "-o", "json"]))).unwrap();
    let arr = j.as_array().unwrap();
    assert_eq!(arr.len(), 5, "{j}");
    for e in arr {
        assert_eq!(
            e["policies"].as_array().unwrap().len(),
            3,
            "policies paginated too: {e}"
        );
    }
    let calls = eks.calls();
    assert_eq!(
        calls.iter().filter(|c| *c == "ListAccessEntries").count(),
        3,
        "{calls:?}"
    );
    // an explicit cluster with the default credentials works the same
    let text = ok(k(&h, &kc, &eks).args(["access", "list", "sandbox", "--region", "us-west-2"]));
    assert_eq!(text.lines().count(), 6, "{text}");
}

#[test]
fn access_denied_names_the_missing_permission() {
    let h = Home::new();
    let mut st = state("API", json!({}));
    st["deny"] = json!(["ListAccessEntries"]);
    let eks = FakeEks::start(h.path(), &st);
    let kc = kubeconfig(
        &h,
        "kctx",
        &kctx_role_args(&format!("arn:aws:iam::{ACCT}:role/eks-dev"))
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &[],
    );
    // the exact ARN is not there; finding a path variant needs ListAccessEntries
    let o = run(k(&h, &kc, &eks).arg("access"));
    assert_eq!(code(&o), 1);
    let e = stderr(&o);
    assert!(
        e.contains("missing permission eks:ListAccessEntries") && e.contains("sandbox"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
    let o = run(k(&h, &kc, &eks).args(["access", "list"]));
    assert!(stderr(&o).contains("eks:ListAccessEntries"));
    let mut st = state("API", json!({}));
    st["deny"] = json!(["DescribeCluster"]);
    let eks2 = FakeEks::start(h.path(), &st);
    let o = run(k(&h, &kc, &eks2).arg("access"));
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("missing permission eks:DescribeCluster"),
        "{}",
        stderr(&o)
    );
    // an unknown cluster
    let o = run(k(&h, &kc, &eks).args(["access", "--cluster", "nope", "--region", "us-west-2"]));
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("\"nope\" not found in region us-west-2"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn whoami_of_a_non_eks_context_asks_only_the_cluster() {
    let h = Home::new();
    let eks = FakeEks::start(h.path(), &state("API", json!({})));
    let kc = kubeconfig(&h, "gke-gcloud-auth-plugin", &[], &[]);
    // no AWS side to show, and --no-cluster leaves nothing to ask
    let o = run(k(&h, &kc, &eks).args(["whoami", "--no-cluster"]));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("does not get EKS credentials") && e.contains("--no-cluster"),
        "{e}"
    );
    // without it, the cluster is asked (here it cannot be reached: one line naming it)
    let o = run(k(&h, &kc, &eks).args(["whoami", "--request-timeout", "1s"]));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("https://x"), "{}", stderr(&o));
    let o = run(k(&h, &kc, &eks).args(["whoami", "--context", "sbx"]));
    assert!(stderr(&o).contains("did you mean \"sb\""), "{}", stderr(&o));
}

/// Issue 19, item 8: a nextToken that comes back stops the list with one line, at once.
#[test]
fn a_looping_next_token_stops_with_an_error() {
    let h = Home::new();
    let mut entries = serde_json::Map::new();
    for i in 0..3 {
        entries.insert(
            format!("arn:aws:iam::{ACCT}:user/u{i}"),
            json!({"type": "STANDARD", "groups": ["g"], "policies": []}),
        );
    }
    let mut st = state("API", Value::Object(entries));
    st["loop_token"] = json!(true);
    let eks = FakeEks::start(h.path(), &st);
    let kc = kubeconfig(
        &h,
        "kctx",
        &[
            "token",
            "--cluster-name",
            "sandbox",
            "--region",
            "us-west-2",
        ],
        &[],
    );
    let start = std::time::Instant::now();
    let o = run(k(&h, &kc, &eks).args(["access", "list"]));
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let e = stderr(&o);
    assert_eq!(
        e,
        "kctx: error: eks:ListAccessEntries on cluster \"sandbox\": page 2 gave a nextToken (\"again\") that an earlier page gave: the list loops, stopping\n"
    );
    assert_eq!(
        eks.calls()
            .iter()
            .filter(|c| *c == "ListAccessEntries")
            .count(),
        2
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
}
