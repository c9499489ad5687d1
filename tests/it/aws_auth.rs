//! aws-auth (issue 12): `kctx access` explains access through access entries and aws-auth by
//! the rules of each authentication mode, `access list` shows both, `access grant` takes entry
//! types, groups and usernames, and `access migrate` moves aws-auth to access entries.
//!
//! Peers: moto for STS and IAM (roles and users with paths, assumed roles, access keys), the
//! EKS access-entry double (moto has no access entries, mode updates or DescribeUpdate), and the
//! TLS test API server, which verifies EKS tokens and serves kube-system/aws-auth.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde_json::{json, Value};

pub(crate) const ACCT: &str = "123456789012";
pub(crate) const CLUSTER: &str = "test-cluster";
pub(crate) const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
pub(crate) const ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

/// Creates IAM roles and users in moto (boto3, one process). `spec`: [{"kind": "role"|"user",
/// "name", "path", "key": bool}] → the same list with "arn" (and "ak"/"sk" for keys).
pub(crate) fn iam(spec: Value) -> Vec<Value> {
    let out = Command::new("python3")
        .args([
            "-c",
            r#"
import json, sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
out = []
for s in json.loads(sys.argv[2]):
    if s["kind"] == "role":
        r = iam.create_role(RoleName=s["name"], Path=s.get("path", "/"), AssumeRolePolicyDocument="{}")
        s["arn"] = r["Role"]["Arn"]
    else:
        u = iam.create_user(UserName=s["name"], Path=s.get("path", "/"))
        s["arn"] = u["User"]["Arn"]
        if s.get("key"):
            k = iam.create_access_key(UserName=s["name"])["AccessKey"]
            s["ak"], s["sk"] = k["AccessKeyId"], k["SecretAccessKey"]
    out.append(s)
print(json.dumps(out))
"#,
            moto(),
            &spec.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The aws-auth ConfigMap as the API returns it.
pub(crate) fn config_map(map_roles: &str, map_users: &str, map_accounts: &str) -> Value {
    let mut data = serde_json::Map::new();
    for (k, v) in [
        ("mapRoles", map_roles),
        ("mapUsers", map_users),
        ("mapAccounts", map_accounts),
    ] {
        if !v.is_empty() {
            data.insert(k.into(), v.into());
        }
    }
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "aws-auth", "namespace": "kube-system", "resourceVersion": "1"},
           "data": data})
}

/// The same ConfigMap as `kubectl get cm aws-auth -n kube-system -o yaml` writes it.
pub(crate) fn config_map_yaml(cm: &Value) -> String {
    kctx::emit_document(cm, &Default::default())
}

pub(crate) fn eks_state(mode: &str, entries: Value) -> Value {
    json!({"account": ACCT, "region": "us-west-2", "page_size": 2, "update_polls": 1,
           "clusters": {CLUSTER: {"mode": mode, "entries": entries}}})
}

/// An IAM user in moto with an access key, known to the API server as a Kubernetes user.
pub(crate) struct Caller {
    pub(crate) arn: String,
    pub(crate) ak: String,
    pub(crate) sk: String,
}

pub(crate) fn new_user(prefix: &str) -> Caller {
    let u = &iam(json!([{"kind": "user", "name": unique(prefix), "key": true}]))[0];
    Caller {
        arn: u["arn"].as_str().unwrap().into(),
        ak: u["ak"].as_str().unwrap().into(),
        sk: u["sk"].as_str().unwrap().into(),
    }
}

/// The API server for CLUSTER serving `aws_auth`, with `who` authenticated as `info`.
pub(crate) fn api_server(
    h: &Home,
    who: &Caller,
    info: Value,
    aws_auth: Option<Value>,
) -> ApiServer {
    ApiServer::start_with(
        h.path(),
        CLUSTER,
        &[(&who.ak, &who.sk)],
        ServerOpts {
            identities: vec![(who.ak.clone(), info)],
            aws_auth,
            ..Default::default()
        },
    )
}

/// A kubeconfig whose current context `eks` runs `kctx token` for CLUSTER with `extra` args.
pub(crate) fn kubeconfig(h: &Home, server: &str, ca_data: &str, extra: &[&str]) -> PathBuf {
    let args: Vec<String> = ["token", "--cluster-name", CLUSTER, "--region", "us-west-2"]
        .iter()
        .chain(extra)
        .map(|a| serde_json::to_string(a).unwrap())
        .collect();
    h.write(
        ".kube/config",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca_data}\ncontexts:\n- name: eks\n  context:\n    cluster: c\n    user: u\ncurrent-context: eks\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kctx\n      args: [{}]\n",
            args.join(", ")
        ),
    )
}

pub(crate) fn kctx(h: &Home, cfg: &Path, eks: &FakeEks, ak: &str, sk: &str) -> Command {
    let mut c = h.kctx();
    c.env("KUBECONFIG", cfg)
        .env("PATH", path_with_kctx(h))
        .env("AWS_ACCESS_KEY_ID", ak)
        .env("AWS_SECRET_ACCESS_KEY", sk)
        .env("AWS_REGION", "us-west-2")
        .env("AWS_ENDPOINT_URL_STS", moto())
        .env("AWS_ENDPOINT_URL_IAM", moto())
        .env("AWS_ENDPOINT_URL_EKS", &eks.url);
    c
}

pub(crate) fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap()
}

fn aws_auth_reads(s: &ApiServer) -> usize {
    s.requests()
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap_or("")
                .ends_with("/configmaps/aws-auth")
        })
        .count()
}

pub(crate) const WRITES: [&str; 6] = [
    "CreateAccessEntry",
    "UpdateAccessEntry",
    "DeleteAccessEntry",
    "AssociateAccessPolicy",
    "DisassociateAccessPolicy",
    "UpdateClusterConfig",
];

pub(crate) fn writes(eks: &FakeEks) -> Vec<String> {
    eks.calls()
        .into_iter()
        .filter(|c| WRITES.contains(&c.as_str()))
        .collect()
}

#[test]
fn the_verdict_follows_each_authentication_mode() {
    let h = Home::new();
    let me = new_user("alice");
    let name = me.arn.rsplit('/').next().unwrap().to_owned();
    // mapped under its name in capitals: the authenticator compares ARNs case-insensitively
    let users = format!(
        "- userarn: arn:aws:iam::{ACCT}:user/{}\n  username: \"alice:{{{{AccountID}}}}\"\n  groups:\n  - devs\n",
        name.to_uppercase()
    );
    let roles =
        format!("- rolearn: arn:aws:iam::{ACCT}:role/someone-else\n  username: x\n  groups: [x]\n");
    // the cluster knows alice as the mapping says, and RBAC lets group devs read pods
    let alice = json!({"username": "alice:123456789012", "groups": ["devs", "system:authenticated"],
        "rbac": [{"namespace": null, "via": "ClusterRoleBinding \"devs\" of ClusterRole \"pod-reader\" to Group \"devs\"",
                  "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]}]});
    let s = api_server(&h, &me, alice.clone(), Some(config_map(&roles, &users, "")));
    let ids = h.path().join(format!("identities-{CLUSTER}.json"));
    let known_as = |info: Option<Value>| {
        let v = match info {
            Some(i) => json!({&me.ak: i}),
            None => json!({}),
        };
        std::fs::write(&ids, v.to_string()).unwrap()
    };
    let cfg = kubeconfig(&h, &s.url, &s.ca_data(), &[]);
    let mapped = "mapped by aws-auth mapUsers line 1: user \"alice:123456789012\", groups devs; RBAC decides what they may do";

    // CONFIG_MAP: aws-auth alone
    let eks = FakeEks::start(h.path(), &eks_state("CONFIG_MAP", json!({})));
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(out.contains(&format!("aws-auth:      mapUsers line 1 (user arn:aws:iam::{ACCT}:user/{}), read from the cluster (context \"eks\")", name.to_uppercase())), "{out}");
    assert!(
        out.contains("  username:    alice:123456789012\n  groups:      devs\n"),
        "{out}"
    );
    assert!(out.contains(&format!("verdict:       {mapped}")), "{out}");
    assert!(!out.contains("access entry:"), "{out}");
    assert!(
        !eks.calls().iter().any(|c| c.contains("AccessEntr")),
        "{:?}",
        eks.calls()
    );
    assert_eq!(aws_auth_reads(&s), 1);
    let j: Value = serde_json::from_str(&ok(
        kctx(&h, &cfg, &eks, &me.ak, &me.sk).args(["access", "-o", "json"])
    ))
    .unwrap();
    assert_eq!(j["authentication_mode"], "CONFIG_MAP");
    assert_eq!(j["aws_auth"]["mapping"]["key"], "mapUsers");
    assert_eq!(j["aws_auth"]["mapping"]["line"], 1);
    assert_eq!(j["aws_auth"]["mapping"]["username"], "alice:123456789012");
    assert_eq!(j["aws_auth"]["mapping"]["system_masters"], false);
    assert_eq!(j["granted"], true);

    // API_AND_CONFIG_MAP without an entry: aws-auth still admits
    let eks = FakeEks::start(h.path(), &eks_state("API_AND_CONFIG_MAP", json!({})));
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(out.contains("access entry:  none"), "{out}");
    assert!(
        out.contains(&format!("verdict:       no access entry; {mapped}")),
        "{out}"
    );

    // API_AND_CONFIG_MAP with an entry: the entry wins and aws-auth is not even read
    let before = aws_auth_reads(&s);
    let eks = FakeEks::start(
        h.path(),
        &eks_state(
            "API_AND_CONFIG_MAP",
            json!({&me.arn: {"type": "STANDARD", "username": "alice", "groups": [],
            "policies": [{"policyArn": VIEW, "accessScope": {"type": "cluster"}}]}}),
        ),
    );
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("aws-auth:      not consulted (the access entry decides)"),
        "{out}"
    );
    assert!(
        out.contains("verdict:       granted by access entry: AmazonEKSViewPolicy (cluster)"),
        "{out}"
    );
    assert_eq!(aws_auth_reads(&s), before);

    // API: aws-auth is not read, however well it maps the caller, and EKS refuses it
    let eks = FakeEks::start(h.path(), &eks_state("API", json!({})));
    known_as(None);
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    let out = stdout(&o);
    assert_eq!(code(&o), 3, "{out}");
    assert!(
        out.contains("verdict:       no access entry for this principal (mode API: aws-auth is not read): kubectl will get Unauthorized"),
        "{out}"
    );
    assert!(out.ends_with("(the cluster refuses it: 401)\n"), "{out}");
    assert!(!out.contains("aws-auth:"), "{out}");
    assert_eq!(aws_auth_reads(&s), before);

    // back in CONFIG_MAP: system:masters, no groups, no mapping, no ConfigMap
    let eks = FakeEks::start(h.path(), &eks_state("CONFIG_MAP", json!({})));
    let cm_file = h.path().join(format!("aws-auth-{CLUSTER}.json"));
    let set = |cm: Option<Value>| match cm {
        Some(v) => std::fs::write(&cm_file, v.to_string()).unwrap(),
        None => std::fs::remove_file(&cm_file).unwrap(),
    };
    set(Some(config_map(
        "",
        &users.replace("  - devs\n", "  - system:masters\n"),
        "",
    )));
    known_as(Some(
        json!({"username": "alice:123456789012", "groups": ["system:masters", "system:authenticated"]}),
    ));
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(
        out.contains("groups:      system:masters (system:masters: cluster admin)"),
        "{out}"
    );
    assert!(out.contains("verdict:       granted by aws-auth mapUsers line 1: user \"alice:123456789012\" in system:masters (cluster admin)"), "{out}");

    set(Some(config_map(
        "",
        &users.replace("  groups:\n  - devs\n", ""),
        "",
    )));
    known_as(Some(
        json!({"username": "alice:123456789012", "groups": ["system:authenticated"]}),
    ));
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    assert_eq!(code(&o), 4, "{}", stdout(&o));
    assert!(
        stdout(&o).contains(
            "in no group: authenticated, but authorized only by RBAC bindings of that user"
        ),
        "{}",
        stdout(&o)
    );

    // no mapping: the cluster refuses the identity, and so cannot even show aws-auth
    set(Some(config_map(&roles, "", "")));
    known_as(None);
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("aws-auth:      the cluster (context \"eks\") does not accept this identity (401 Unauthorized)"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains(
        "verdict:       the cluster refuses this identity (401 Unauthorized): no access entry or aws-auth mapping admits it"
    ));
    // ... and read from a saved copy, the mapping is missing too
    let saved = h.write(
        "aws-auth.yaml",
        &config_map_yaml(&config_map(&roles, "", "")),
    );
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk)
        .arg("access")
        .arg("--aws-auth-file")
        .arg(&saved));
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("verdict:       no aws-auth mapping for this principal: kubectl will get Unauthorized (the cluster refuses it: 401)"),
        "{}",
        stdout(&o)
    );

    // mapAccounts admits the whole account: the username is the ARN itself, no groups
    set(Some(config_map("", "", &format!("- \"{ACCT}\"\n"))));
    known_as(Some(
        json!({"username": me.arn, "groups": ["system:authenticated"]}),
    ));
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    assert_eq!(code(&o), 4, "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!("  username:    {}\n", me.arn)),
        "{}",
        stdout(&o)
    );

    // no ConfigMap: again only the creator could get in, and the cluster says it is not one
    set(None);
    known_as(None);
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("verdict:       the cluster refuses this identity (401 Unauthorized)"),
        "{}",
        stdout(&o)
    );
    known_as(Some(alice));
}

#[test]
fn an_identity_that_may_not_read_aws_auth_is_judged_from_what_is_known() {
    let h = Home::new();
    let me = new_user("viewer");
    let s = api_server(
        &h,
        &me,
        json!({"username": "viewer", "groups": ["viewers", "system:authenticated"], "restricted": true,
               "rbac": [{"namespace": "default", "via": "RoleBinding \"default/viewers\" of ClusterRole \"view\" to Group \"viewers\"",
                         "rules": [{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods"]}]}]}),
        Some(config_map("", "", "")),
    );
    let cfg = kubeconfig(&h, &s.url, &s.ca_data(), &[]);
    let eks = FakeEks::start(h.path(), &eks_state("API_AND_CONFIG_MAP", json!({})));
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(out.contains("aws-auth:      could not be read: this identity may not read kube-system/aws-auth in the cluster (context \"eks\") (403 Forbidden)"), "{out}");
    assert!(out.contains("verdict:       the cluster authenticates this identity (SelfSubjectReview); no access entry; aws-auth could not be read (403 Forbidden), so which mapping admits this identity is unknown; the cluster says user \"viewer\", groups viewers,system:authenticated"), "{out}");
    assert!(
        out.contains("rights:        in default: pods: get list watch; deployments: —"),
        "{out}"
    );
    // list warns and still lists the entries
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).args(["access", "list"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("kctx: warning: aws-auth could not be read: this identity may not read"),
        "{}",
        stderr(&o)
    );
    // migrate refuses to plan from an aws-auth it cannot see, and writes nothing
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).args(["access", "migrate", "--approve"]));
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("kctx plans nothing without it (--aws-auth-file reads a saved copy)"),
        "{}",
        stderr(&o)
    );
    assert!(writes(&eks).is_empty(), "{:?}", eks.calls());
}

#[test]
fn assumed_roles_templates_sso_and_a_path_in_rolearn() {
    let h = Home::new();
    let (dev, sso_name) = (
        unique("dev"),
        format!("AWSReservedSSO_Admin_{}", unique("x").replace('-', "")),
    );
    let roles = iam(json!([
        {"kind": "role", "name": dev, "path": "/teams/"},
        {"kind": "role", "name": sso_name, "path": "/aws-reserved/sso.amazonaws.com/"},
    ]));
    let (dev_arn, sso_arn) = (
        roles[0]["arn"].as_str().unwrap(),
        roles[1]["arn"].as_str().unwrap(),
    );
    assert_eq!(dev_arn, format!("arn:aws:iam::{ACCT}:role/teams/{dev}"));
    let eks = FakeEks::start(h.path(), &eks_state("CONFIG_MAP", json!({})));
    let file = h.path().join("aws-auth.yaml");
    let access_in =
        |role: &str, session: &str, map_roles: &str, map_users: &str, accounts: &str| {
            std::fs::write(
                &file,
                config_map_yaml(&config_map(map_roles, map_users, accounts)),
            )
            .unwrap();
            // the cluster is never reached: aws-auth comes from the file
            let cfg = kubeconfig(
                &h,
                "https://127.0.0.1:9",
                "",
                &["--role-arn", role, "--session-name", session],
            );
            run(kctx(&h, &cfg, &eks, AK, SK)
                .arg("access")
                .arg("--aws-auth-file")
                .arg(&file))
        };
    let access = |role: &str, session: &str, map_roles: &str, map_users: &str| {
        access_in(role, session, map_roles, map_users, "")
    };

    // the role written with its path never matches the assumed role: said, with the fix
    let o = access(
        dev_arn,
        "alice@example.com",
        &format!("- rolearn: {dev_arn}\n  username: dev:{{{{SessionName}}}}\n  groups: [devs]\n"),
        "",
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 3, "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "caller:        arn:aws:sts::{ACCT}:assumed-role/{dev}/alice@example.com"
        )),
        "{out}"
    );
    assert!(out.contains(&format!(
        "note:        mapRoles line 1 maps {dev_arn}, with an IAM path: aws-auth compares the role without its path, so it never matches; write arn:aws:iam::{ACCT}:role/{dev}"
    )), "{out}");
    assert!(
        out.contains(&format!("read from {}", file.display())),
        "{out}"
    );

    // ... also when mapAccounts admits the caller instead
    let o = access_in(
        dev_arn,
        "alice",
        &format!("- rolearn: {dev_arn}\n  username: dev\n  groups: [system:masters]\n"),
        "",
        &format!("- \"{ACCT}\"\n"),
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 4, "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "aws-auth:      mapAccounts line 1 (account {ACCT}), read from"
        )),
        "{out}"
    );
    assert!(out.contains("note:        mapRoles line 1 maps"), "{out}");

    // without the path it matches; templates are rendered
    let o = access(
        dev_arn,
        "alice@example.com",
        &format!("- rolearn: arn:aws:iam::{ACCT}:role/{dev}\n  username: \"dev:{{{{AccountID}}}}:{{{{SessionName}}}}:{{{{SessionNameRaw}}}}\"\n  groups: [devs, \"team-{{{{AccountID}}}}\"]\n"),
        "",
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "  username:    dev:{ACCT}:alice-example.com:alice@example.com\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("  groups:      devs,team-{ACCT}\n")),
        "{out}"
    );
    // {{EC2PrivateDNSName}} is left for the server, which renders it only for a session named
    // after an instance: anyone else is refused by that mapping, mapAccounts notwithstanding
    let node = format!("- rolearn: arn:aws:iam::{ACCT}:role/{dev}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups: [system:nodes]\n");
    let o = access_in(dev_arn, "alice", &node, "", &format!("- \"{ACCT}\"\n"));
    let out = stdout(&o);
    assert_eq!(code(&o), 3, "{out}{}", stderr(&o));
    assert!(
        out.contains("verdict:       aws-auth mapRoles line 1 matches, but the cluster refuses this identity (401)")
            && out.contains("this session is \"alice\""),
        "{out}"
    );
    let o = access(dev_arn, "i-0123456789abcdef0", &node, "");
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("  username:    system:node:{{EC2PrivateDNSName}}\n"),
        "{out}"
    );

    // roles before users, the last of duplicate roles wins, a broken mapUsers is reported by
    // line and the rest still counts
    let o = access(
        dev_arn,
        "s",
        &format!("- rolearn: arn:aws:iam::{ACCT}:role/{dev}\n  username: first\n  groups: [a]\n- rolearn: arn:aws:iam::{ACCT}:role/{}\n  username: second\n  groups: [b]\n", dev.to_uppercase()),
        "- userarn: [not, a, string\n",
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("aws-auth:      mapRoles line 4") && out.contains("username:    second"),
        "{out}"
    );
    assert!(
        out.contains("  skipped:     mapUsers: invalid YAML at line 1 column 12"),
        "{out}"
    );

    // the sso matcher: the permission set's role in the account, whatever its suffix
    let o = access(
        sso_arn,
        "bob@example.com",
        &format!("- sso:\n    permissionSetName: Admin\n    accountID: \"{ACCT}\"\n  username: \"sso:{{{{SessionName}}}}\"\n  groups: [admins]\n"),
        "",
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "aws-auth:      mapRoles line 1 (sso arn:aws:iam::{ACCT}:role/AWSReservedSSO_Admin_*)"
        )),
        "{out}"
    );
    assert!(
        out.contains("  username:    sso:bob-example.com\n"),
        "{out}"
    );
    // ... but never when it names a partition (the authenticator's own quirk), which is said
    let o = access(
        sso_arn,
        "bob",
        &format!("- sso:\n    permissionSetName: Admin\n    accountID: \"{ACCT}\"\n    partition: aws\n  username: \"sso:{{{{SessionName}}}}\"\n  groups: [admins]\n"),
        "",
    );
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("never matches an sso entry that sets partition"),
        "{}",
        stdout(&o)
    );

    // an unreadable file is named
    let o = run(kctx(
        &h,
        &kubeconfig(&h, "https://127.0.0.1:9", "", &[]),
        &eks,
        AK,
        SK,
    )
    .args(["access", "--aws-auth-file", "/nonexistent/aws-auth.yaml"]));
    assert!(
        stdout(&o)
            .contains("aws-auth:      could not be read: cannot read /nonexistent/aws-auth.yaml"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn list_shows_access_entries_and_aws_auth_mappings() {
    let h = Home::new();
    let eks = FakeEks::start(
        h.path(),
        &eks_state(
            "API_AND_CONFIG_MAP",
            json!({
            format!("arn:aws:iam::{ACCT}:role/admin"): {"type": "STANDARD", "username": "admin", "groups": [],
                "policies": [{"policyArn": ADMIN, "accessScope": {"type": "cluster"}}]}}),
        ),
    );
    let file = h.write(
        "aws-auth.yaml",
        &config_map_yaml(&config_map(
            &format!("- rolearn: arn:aws:iam::{ACCT}:role/nodes\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n"),
            &format!("- userarn: arn:aws:iam::{ACCT}:user/alice\n  username: alice\n  groups: [devs]\n"),
            "",
        )),
    );
    let cfg = kubeconfig(&h, "https://127.0.0.1:9", "", &[]);
    let text = ok(kctx(&h, &cfg, &eks, AK, SK)
        .args(["access", "list"])
        .arg("--aws-auth-file")
        .arg(&file));
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        [
            "SOURCE",
            "PRINCIPAL",
            "TYPE",
            "USERNAME",
            "GROUPS",
            "POLICIES",
            "NOTE"
        ]
    );
    assert_eq!(
        lines[1][..4],
        [
            "access-entry",
            &format!("arn:aws:iam::{ACCT}:role/admin"),
            "STANDARD",
            "admin"
        ]
    );
    // each row says which key of aws-auth it comes from (issue 23)
    assert_eq!(
        lines[2],
        [
            "aws-auth:mapRoles:1",
            &format!("arn:aws:iam::{ACCT}:role/nodes"),
            "role",
            "system:node:{{EC2PrivateDNSName}}",
            "system:bootstrappers,system:nodes",
            "-",
            "-"
        ]
    );
    assert_eq!(
        lines[3],
        [
            "aws-auth:mapUsers:1",
            &format!("arn:aws:iam::{ACCT}:user/alice"),
            "user",
            "alice",
            "devs",
            "-",
            "-"
        ]
    );
    let j: Vec<Value> = serde_json::from_str(&ok(kctx(&h, &cfg, &eks, AK, SK)
        .args(["access", "list", "-o", "json", "--aws-auth-file"])
        .arg(&file)))
    .unwrap();
    let sources: Vec<&str> = j.iter().map(|r| r["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["access-entry", "aws-auth", "aws-auth"]);
    assert_eq!(j[2]["key"], "mapUsers");
    // in API mode aws-auth is not read and not listed
    let eks = FakeEks::start(h.path(), &eks_state("API", json!({})));
    let text = ok(kctx(&h, &cfg, &eks, AK, SK)
        .args(["access", "list"])
        .arg("--aws-auth-file")
        .arg(&file));
    assert!(!text.contains("aws-auth:"), "{text}");
}

#[test]
fn grant_takes_entry_types_groups_and_usernames_checked_before_the_call() {
    let h = Home::new();
    let eks = FakeEks::start(h.path(), &eks_state("API", json!({})));
    let cfg = kubeconfig(&h, "https://127.0.0.1:9", "", &[]);
    let nodes = format!("arn:aws:iam::{ACCT}:role/nodes");
    let dev = format!("arn:aws:iam::{ACCT}:role/dev");
    let g = |args: &[&str]| {
        run(kctx(&h, &cfg, &eks, AK, SK)
            .args(["access", "grant"])
            .args(args))
    };
    for (args, want) in [
        (
            vec![nodes.as_str(), "--type", "EC2_LINUX", "--policy", "view"],
            "a EC2_LINUX access entry takes no --username, --kubernetes-groups or --policy",
        ),
        (
            vec![dev.as_str(), "--kubernetes-groups", "system:masters"],
            "the Kubernetes group \"system:masters\" is not allowed",
        ),
        (
            vec![dev.as_str(), "--username", "eks:me"],
            "usernames may not start with \"eks:\"",
        ),
        (
            vec![dev.as_str(), "--username", "{{SessionName}}"],
            "needs a ':' before {{SessionName}}",
        ),
        (
            vec![
                &format!("arn:aws:iam::{ACCT}:user/u"),
                "--type",
                "EC2_WINDOWS",
            ],
            "needs an IAM role",
        ),
    ] {
        let o = g(&args);
        assert_eq!(code(&o), 1, "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    let o = g(&[&nodes, "--type", "NODE"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("unknown access entry type \"NODE\" (one of STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, HYBRID_LINUX)"), "{}", stderr(&o));
    assert!(writes(&eks).is_empty(), "{:?}", eks.calls());

    // a node entry: no policy needed
    let out =
        ok(kctx(&h, &cfg, &eks, AK, SK).args(["access", "grant", &nodes, "--type", "EC2_LINUX"]));
    assert_eq!(
        out,
        format!("created access entry {nodes} (EC2_LINUX) on cluster {CLUSTER}\n")
    );
    // groups and username, no policy: RBAC decides
    let out = ok(kctx(&h, &cfg, &eks, AK, SK).args([
        "access",
        "grant",
        &dev,
        "--kubernetes-groups",
        "devs,qa",
        "--username",
        "dev:{{SessionName}}",
    ]));
    assert_eq!(out, format!("created access entry {dev} (STANDARD, username \"dev:{{{{SessionName}}}}\", Kubernetes groups devs,qa) on cluster {CLUSTER}\n"));
    let st = eks.state();
    let e = &st["clusters"][CLUSTER]["entries"];
    assert_eq!(e[&nodes]["type"], "EC2_LINUX");
    assert_eq!(e[&nodes]["username"], "system:node:{{EC2PrivateDNSName}}");
    assert_eq!(e[&dev]["groups"], json!(["devs", "qa"]));
    assert_eq!(e[&dev]["username"], "dev:{{SessionName}}");
    // changing the groups updates the entry in place; the same groups again change nothing
    let out = ok(kctx(&h, &cfg, &eks, AK, SK).args([
        "access",
        "grant",
        &dev,
        "--kubernetes-groups",
        "ops",
    ]));
    assert_eq!(
        out,
        format!("updated access entry {dev} on cluster {CLUSTER}: Kubernetes groups ops\n")
    );
    assert_eq!(
        eks.state()["clusters"][CLUSTER]["entries"][&dev]["groups"],
        json!(["ops"])
    );
    let n = writes(&eks).len();
    ok(kctx(&h, &cfg, &eks, AK, SK).args(["access", "grant", &dev, "--kubernetes-groups", "ops"]));
    assert_eq!(writes(&eks).len(), n, "{:?}", eks.calls());
    // a type cannot change
    let o = g(&[&nodes, "--type", "EC2_WINDOWS"]);
    assert!(
        stderr(&o).contains("already has a EC2_LINUX access entry")
            && stderr(&o).contains("its type cannot change"),
        "{}",
        stderr(&o)
    );
    // an entry with nothing: allowed, with a note that it grants nothing
    let o = g(&[&format!("arn:aws:iam::{ACCT}:role/bare")]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("it lets") && stderr(&o).contains("authenticate, but grants nothing"),
        "{}",
        stderr(&o)
    );
}

/// Roles and users for a migration, made in moto with their paths: name → real ARN.
struct Principals {
    nodes: String,
    win: String,
    admin: String,
    dev: String,
    alice: String,
    fargate: String,
}

fn principals() -> Principals {
    let n = unique("m");
    let made = iam(json!([
        {"kind": "role", "name": format!("nodes-{n}")},
        {"kind": "role", "name": format!("win-{n}"), "path": "/nodes/"},
        {"kind": "role", "name": format!("admin-{n}"), "path": "/admins/"},
        {"kind": "role", "name": format!("dev-{n}"), "path": "/teams/dev/"},
        {"kind": "user", "name": format!("alice-{n}"), "path": "/people/"},
        {"kind": "role", "name": format!("fargate-{n}")},
    ]));
    let a = |i: usize| made[i]["arn"].as_str().unwrap().to_owned();
    Principals {
        nodes: a(0),
        win: a(1),
        admin: a(2),
        dev: a(3),
        alice: a(4),
        fargate: a(5),
    }
}

/// aws-auth names roles and users without their paths.
fn no_path(arn: &str) -> String {
    let (head, rest) = arn
        .split_once(":role/")
        .or_else(|| arn.split_once(":user/"))
        .unwrap();
    let kind = if arn.contains(":role/") {
        "role"
    } else {
        "user"
    };
    format!("{head}:{kind}/{}", rest.rsplit('/').next().unwrap())
}

#[test]
fn migrate_plans_without_writing_then_moves_what_can_move() {
    let h = Home::new();
    let p = principals();
    let gone = format!("arn:aws:iam::{ACCT}:role/{}", unique("gone"));
    let map_roles = format!(
        "- rolearn: {}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n\
         - rolearn: {}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n  - eks:kube-proxy-windows\n\
         - rolearn: {}\n  username: admin:{{{{SessionName}}}}\n  groups:\n  - system:masters\n\
         - rolearn: {}\n  username: system:node:{{{{SessionName}}}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n  - system:node-proxier\n\
         - rolearn: {}\n  username: dev:{{{{SessionName}}}}\n  groups:\n  - devs\n\
         - rolearn: arn:aws:iam::{ACCT}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS\n  username: eks\n\
         - rolearn: {gone}\n  username: gone\n  groups: [x]\n\
         - rolearn: {}\n  username: dev-again\n  groups: [devs]\n",
        no_path(&p.nodes),
        no_path(&p.win),
        no_path(&p.admin),
        no_path(&p.fargate),
        no_path(&p.dev),
        no_path(&p.dev),
    );
    let map_users = format!(
        "- userarn: {}\n  username: alice\n  groups: [viewers]\n",
        no_path(&p.alice)
    );
    let file = h.write(
        "aws-auth.yaml",
        &config_map_yaml(&config_map(
            &map_roles,
            &map_users,
            &format!("- \"{ACCT}\"\n"),
        )),
    );
    let eks = FakeEks::start(h.path(), &eks_state("CONFIG_MAP", json!({})));
    let cfg = kubeconfig(&h, "https://127.0.0.1:9", "", &[]);
    let migrate = |extra: &[&str]| {
        run(kctx(&h, &cfg, &eks, AK, SK)
            .args([
                "access",
                "migrate",
                "--target-authentication-mode",
                "API",
                "--aws-auth-file",
            ])
            .arg(&file)
            .args(extra))
    };

    // the plan: every rule, and nothing written
    let o = migrate(&[]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    let rows: Vec<Vec<String>> = out
        .lines()
        .skip_while(|l| !l.starts_with("MAPPING"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    let row = |at: &str| {
        rows.iter()
            .find(|r| r[0] == at)
            .unwrap_or_else(|| panic!("{at}: {out}"))
            .clone()
    };
    assert_eq!(
        row("mapRoles:1")[1..4],
        [p.nodes.clone(), "create".into(), "EC2_LINUX".into()]
    );
    assert_eq!(
        row("mapRoles:6")[1..4],
        [p.win.clone(), "create".into(), "EC2_WINDOWS".into()]
    );
    assert_eq!(
        row("mapRoles:12")[1..8],
        [
            p.admin.clone(),
            "create".into(),
            "STANDARD".into(),
            "admin:{{SessionName}}".into(),
            "-".into(),
            "AmazonEKSClusterAdminPolicy".into(),
            "(cluster)".into()
        ]
    );
    assert_eq!(
        row("mapRoles:12")[8..],
        ["IAM", "path", "restored"].map(String::from)
    );
    assert_eq!(row("mapRoles:16")[2], "skip");
    assert!(row("mapRoles:16").join(" ").contains("its groups system:bootstrappers,system:nodes,system:node-proxier start with \"system:\", which an access entry cannot carry (a Fargate pod execution role: create its FARGATE_LINUX entry"), "{out}");
    assert_eq!(
        row("mapRoles:22")[1..6],
        [
            p.dev.clone(),
            "create".into(),
            "STANDARD".into(),
            "dev:{{SessionName}}".into(),
            "devs".into()
        ]
    );
    assert!(
        row("mapRoles:26")
            .join(" ")
            .contains("a service-linked role"),
        "{out}"
    );
    assert!(
        row("mapRoles:28")
            .join(" ")
            .contains("the role no longer exists in IAM"),
        "{out}"
    );
    assert!(
        row("mapRoles:31")
            .join(" ")
            .contains("a duplicate of mapRoles line 22"),
        "{out}"
    );
    assert_eq!(
        row("mapUsers:1")[1..6],
        [
            p.alice.clone(),
            "create".into(),
            "STANDARD".into(),
            "alice".into(),
            "viewers".into()
        ]
    );
    assert!(
        row("mapAccounts:1")
            .join(" ")
            .contains("mapAccounts admits all of account"),
        "{out}"
    );
    assert!(
        out.contains("1. switch the authentication mode CONFIG_MAP -> API_AND_CONFIG_MAP"),
        "{out}"
    );
    assert!(
        out.contains("2. create 5 access entries (1 with AmazonEKSClusterAdminPolicy)"),
        "{out}"
    );
    assert!(
        out.contains("not switching to API: 4 mapping(s) cannot move to access entries"),
        "{out}"
    );
    assert!(out.contains("this is a plan: nothing was changed"), "{out}");
    assert!(writes(&eks).is_empty(), "{:?}", eks.calls());
    let calls = eks.calls();
    assert!(
        calls.iter().all(|c| c == "DescribeCluster"),
        "CONFIG_MAP: entries are not even listed: {calls:?}"
    );
    let j: Value = serde_json::from_str(&stdout(&migrate(&["-o", "json"]))).unwrap();
    assert_eq!(j["approved"], false);
    assert_eq!(
        j["plan"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["action"] == "create")
            .count(),
        5
    );
    assert_eq!(
        j["mode_changes"],
        json!([{"from": "CONFIG_MAP", "to": "API_AND_CONFIG_MAP", "one_way": true}])
    );
    assert!(writes(&eks).is_empty());

    // --approve: the mode first (waiting for the update), then the entries; API stays off
    let o = migrate(&["--approve"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("authentication mode is now API_AND_CONFIG_MAP"),
        "{out}"
    );
    assert!(
        out.contains(
            "created 5 of 5 access entries; authentication mode is now API_AND_CONFIG_MAP"
        ),
        "{out}"
    );
    assert!(out.contains("4 mapping(s) stay only in aws-auth"), "{out}");
    assert!(!out.contains("kubectl"), "aws-auth is still needed: {out}");
    let w = writes(&eks);
    assert_eq!(w[0], "UpdateClusterConfig");
    assert_eq!(
        w.iter().filter(|c| *c == "CreateAccessEntry").count(),
        5,
        "{w:?}"
    );
    assert_eq!(
        w.iter().filter(|c| *c == "AssociateAccessPolicy").count(),
        1,
        "{w:?}"
    );
    assert!(!w[1..].contains(&"UpdateClusterConfig".to_owned()), "{w:?}");
    let calls = eks.calls();
    let first_create = calls.iter().position(|c| c == "CreateAccessEntry").unwrap();
    assert!(
        calls[..first_create]
            .iter()
            .filter(|c| *c == "DescribeUpdate")
            .count()
            >= 2,
        "waited for the update: {calls:?}"
    );
    let st = eks.state();
    let c = &st["clusters"][CLUSTER];
    assert_eq!(c["mode"], "API_AND_CONFIG_MAP");
    let e = &c["entries"];
    assert_eq!(e[&p.nodes]["type"], "EC2_LINUX");
    assert_eq!(e[&p.win]["type"], "EC2_WINDOWS");
    assert_eq!(e[&p.admin]["username"], "admin:{{SessionName}}");
    assert_eq!(e[&p.admin]["groups"], json!([]));
    assert_eq!(
        e[&p.admin]["policies"],
        json!([{"policyArn": ADMIN, "accessScope": {"type": "cluster"}}])
    );
    assert_eq!(e[&p.dev]["groups"], json!(["devs"]));
    assert_eq!(e[&p.alice]["username"], "alice");
    assert_eq!(e.as_object().unwrap().len(), 5);

    // idempotent: a second run plans nothing and writes nothing
    let n = writes(&eks).len();
    let o = migrate(&["--approve"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(out.contains("nothing to do"), "{out}");
    assert!(out.contains("already has an access entry"), "{out}");
    assert_eq!(writes(&eks).len(), n);
}

#[test]
fn migrate_to_api_when_everything_moves_reading_aws_auth_from_the_cluster() {
    let h = Home::new();
    let p = principals();
    let me = new_user("ops");
    let map_roles = format!(
        "- rolearn: {}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n\
         - rolearn: {}\n  username: admin\n  groups:\n  - system:masters\n",
        no_path(&p.nodes),
        no_path(&p.admin),
    );
    let map_users = format!(
        "- userarn: {}\n  username: ops\n  groups: [system:masters]\n",
        me.arn
    );
    let s = api_server(
        &h,
        &me,
        json!({"username": "ops", "groups": ["system:masters"]}),
        Some(config_map(&map_roles, &map_users, "")),
    );
    let cfg = kubeconfig(&h, &s.url, &s.ca_data(), &[]);
    // the nodes already have their entry
    let eks = FakeEks::start(
        h.path(),
        &eks_state(
            "API_AND_CONFIG_MAP",
            json!({&p.nodes: {"type": "EC2_LINUX", "username": "system:node:{{EC2PrivateDNSName}}", "groups": [], "policies": []}}),
        ),
    );
    let migrate = |extra: &[&str]| {
        run(kctx(&h, &cfg, &eks, &me.ak, &me.sk)
            .args(["access", "migrate", "--target-authentication-mode", "API"])
            .args(extra))
    };
    let o = migrate(&[]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("aws-auth:   read from the cluster (context \"eks\"), 3 mapping(s)"),
        "{out}"
    );
    assert!(
        out.contains(&format!("{} already has an access entry", p.nodes)),
        "{out}"
    );
    assert!(
        out.contains("1. create 2 access entries (2 with AmazonEKSClusterAdminPolicy)"),
        "{out}"
    );
    assert!(out.contains("2. switch the authentication mode API_AND_CONFIG_MAP -> API, only if every entry above was created. THIS IS ONE-WAY"), "{out}");
    assert!(writes(&eks).is_empty());

    let o = migrate(&["--approve"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("created 2 of 2 access entries; authentication mode is now API"),
        "{out}"
    );
    assert!(out.contains("aws-auth is no longer read; kctx leaves it in place. To delete it: kubectl --context eks delete configmap aws-auth -n kube-system"), "{out}");
    assert_eq!(eks.state()["clusters"][CLUSTER]["mode"], "API");
    let w = writes(&eks);
    assert_eq!(w.last().unwrap(), "UpdateClusterConfig", "{w:?}");
    assert!(
        s.requests()
            .iter()
            .all(|r| r["method"] == "GET" || r["method"] == "POST"),
        "kctx never deletes aws-auth"
    );
    // the caller kept its access: it now has an admin entry
    let o = run(kctx(&h, &cfg, &eks, &me.ak, &me.sk).arg("access"));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("granted by access entry: AmazonEKSClusterAdminPolicy (cluster)"));
    // and a rerun has nothing left to do
    let n = writes(&eks).len();
    let o = migrate(&["--approve"]);
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains(
            "is already in API mode: aws-auth is no longer read, so there is nothing to migrate"
        ),
        "{}",
        stdout(&o)
    );
    assert_eq!(writes(&eks).len(), n);
}

#[test]
fn a_partial_failure_reports_exactly_what_was_created_and_keeps_the_mode() {
    let h = Home::new();
    let p = principals();
    let map_roles = format!(
        "- rolearn: {}\n  username: dev\n  groups: [devs]\n- rolearn: {}\n  username: admin\n  groups: [system:masters]\n",
        no_path(&p.dev),
        no_path(&p.admin),
    );
    let map_users = format!(
        "- userarn: {}\n  username: alice\n  groups: [viewers]\n",
        no_path(&p.alice)
    );
    let file = h.write(
        "aws-auth.yaml",
        &config_map_yaml(&config_map(&map_roles, &map_users, "")),
    );
    // CONFIG_MAP -> API_AND_CONFIG_MAP happens; -> API must not, with an entry missing
    let mut state = eks_state("CONFIG_MAP", json!({}));
    state["fail_create"] = json!([&p.admin]);
    let eks = FakeEks::start(h.path(), &state);
    let cfg = kubeconfig(&h, "https://127.0.0.1:9", "", &[]);
    let o = run(kctx(&h, &cfg, &eks, AK, SK)
        .args([
            "access",
            "migrate",
            "--target-authentication-mode",
            "API",
            "--approve",
            "-o",
            "json",
            "--aws-auth-file",
        ])
        .arg(&file));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("kctx: error: migration of cluster {CLUSTER} incomplete: 1 of 3 access entries failed (created: 2)")), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("kctx: FAILED to create access entry {}", p.admin)),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("ResourceLimitExceededException"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("not switching to API: 1 of 3 planned entries failed"),
        "{}",
        stderr(&o)
    );
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let results = j["results"].as_array().unwrap();
    let created: Vec<&str> = results
        .iter()
        .filter(|r| r["created"] == true)
        .map(|r| r["principal"].as_str().unwrap())
        .collect();
    assert_eq!(created, [p.dev.as_str(), p.alice.as_str()]);
    assert_eq!(j["authentication_mode_now"], "API_AND_CONFIG_MAP");
    assert_eq!(
        j["mode_changes_made"],
        json!([{"from": "CONFIG_MAP", "to": "API_AND_CONFIG_MAP", "one_way": true}])
    );
    let st = eks.state();
    assert_eq!(st["clusters"][CLUSTER]["mode"], "API_AND_CONFIG_MAP");
    assert_eq!(
        st["clusters"][CLUSTER]["entries"]
            .as_object()
            .unwrap()
            .len(),
        2
    );
    // once the limit is lifted, a rerun creates just the missing one and switches
    let mut st = st;
    st["fail_create"] = json!([]);
    st["calls"] = json!([]);
    let eks2 = FakeEks::start(h.path(), &st);
    let o = run(kctx(&h, &cfg, &eks2, AK, SK)
        .args([
            "access",
            "migrate",
            "--target-authentication-mode",
            "API",
            "--approve",
            "--aws-auth-file",
        ])
        .arg(&file));
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("created 1 of 1 access entries; authentication mode is now API"),
        "{out}"
    );
    assert_eq!(
        writes(&eks2),
        [
            "CreateAccessEntry",
            "AssociateAccessPolicy",
            "UpdateClusterConfig"
        ]
    );
    assert_eq!(eks2.state()["clusters"][CLUSTER]["mode"], "API");
}

/// Issue 19, item 2: a mapping that spells `rolearn` twice is read as the authenticator reads
/// it (the bytewise-last key: `rolearn`), shown as ambiguous, and never migrated.
#[test]
fn an_ambiguous_mapping_is_matched_as_the_authenticator_reads_it_and_never_migrated() {
    let h = Home::new();
    let intern = format!("arn:aws:iam::{ACCT}:role/intern");
    let ci = format!("arn:aws:iam::{ACCT}:role/ci-admin");
    let file = h.write(
        "aws-auth.yaml",
        &config_map_yaml(&config_map(
            &format!("- RoleARN: {intern}\n  rolearn: {ci}\n  username: admin\n  groups: [system:masters]\n"),
            "",
            "",
        )),
    );
    let eks = FakeEks::start(h.path(), &eks_state("CONFIG_MAP", json!({})));
    let access_as = |role: &str, args: &[&str]| {
        let cfg = kubeconfig(&h, "https://127.0.0.1:9", "", &["--role-arn", role]);
        run(kctx(&h, &cfg, &eks, AK, SK)
            .arg("access")
            .args(args)
            .arg("--aws-auth-file")
            .arg(&file))
    };
    // intern, whose ARN comes first in the YAML, is not mapped at all
    let o = access_as(&intern, &[]);
    let out = stdout(&o);
    assert_eq!(code(&o), 3, "{out}{}", stderr(&o));
    assert!(
        out.contains("aws-auth:      no mapping for this principal"),
        "{out}"
    );
    // ci-admin is the admin, and the mapping is said to be ambiguous
    let o = access_as(&ci, &[]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(out.contains("  AMBIGUOUS:   keys \"RoleARN\", \"rolearn\" all set rolearn (the authenticator reads \"rolearn\")"), "{out}");
    assert!(out.contains("verdict:       granted by aws-auth mapRoles line 1 (an AMBIGUOUS mapping: see the note): user \"admin\" in system:masters"), "{out}");
    // list shows it
    let o = access_as(&ci, &["list"]);
    let out = stdout(&o);
    let row = out
        .lines()
        .find(|l| l.starts_with("aws-auth:mapRoles:1"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains(&ci) && !row.contains(&intern), "{row}");
    assert!(row.ends_with("AMBIGUOUS: keys \"RoleARN\", \"rolearn\" all set rolearn (the authenticator reads \"rolearn\")"), "{row}");
    // migrate skips it, with the reason, and keeps aws-auth (no API)
    let o = access_as(
        &ci,
        &[
            "migrate",
            "--target-authentication-mode",
            "API",
            "-o",
            "json",
        ],
    );
    let j: Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|_| panic!("{}{}", stdout(&o), stderr(&o)));
    let plan = j["plan"].as_array().unwrap();
    assert_eq!(plan.len(), 1, "{j}");
    assert_eq!(plan[0]["action"], "skip");
    assert!(
        plan[0]["why"]
            .as_str()
            .unwrap()
            .starts_with("ambiguous: keys \"RoleARN\", \"rolearn\" all set rolearn"),
        "{j}"
    );
    assert_eq!(
        j["mode_changes"],
        json!([{"from": "CONFIG_MAP", "to": "API_AND_CONFIG_MAP", "one_way": true}])
    );
    let o = access_as(&ci, &["migrate", "--approve"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        !writes(&eks).iter().any(|w| w == "CreateAccessEntry"),
        "{:?}",
        eks.calls()
    );
}

/// Issue 19, item 2: `mapRoles` written without `|` is a list, not the string a ConfigMap
/// holds: the copy is refused with one line naming the key, not read as "no mappings".
#[test]
fn a_map_roles_that_is_not_a_string_is_reported_invalid() {
    let h = Home::new();
    let file = h.write(
        "aws-auth.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles:\n  - rolearn: arn:aws:iam::{ACCT}:role/admin\n    groups: [system:masters]\n"),
    );
    let eks = FakeEks::start(h.path(), &eks_state("CONFIG_MAP", json!({})));
    let cfg = kubeconfig(&h, "https://127.0.0.1:9", "", &[]);
    let me = new_user("reader");
    let k = |args: &[&str]| {
        run(kctx(&h, &cfg, &eks, &me.ak, &me.sk)
            .arg("access")
            .args(args)
            .arg("--aws-auth-file")
            .arg(&file))
    };
    let why = format!("{}: data.mapRoles is a list, not a string (a YAML list or mapping written without `|`?): not a valid ConfigMap, the API server refuses it", file.display());
    let o = k(&[]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!("aws-auth:      could not be read: {why}")),
        "{}",
        stdout(&o)
    );
    let o = k(&["list"]);
    assert!(
        stderr(&o).contains(&format!("kctx: warning: aws-auth could not be read: {why}")),
        "{}",
        stderr(&o)
    );
    let o = k(&["migrate"]);
    assert_eq!(code(&o), 1);
    let e = stderr(&o);
    assert!(
        e.contains(&why) && e.contains("kctx plans nothing without it"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
}

/// Issue 19, items 3 and 19: `--kubernetes-groups` takes one value per flag (or commas), so
/// the positional CLUSTER is the cluster; a namespace scope and a policy ARN are checked
/// before any call.
#[test]
fn grant_keeps_its_cluster_and_checks_scope_and_policy_before_any_call() {
    let h = Home::new();
    let mut st = eks_state("API", json!({}));
    st["clusters"]["prod"] = json!({"mode": "API", "entries": {}});
    let eks = FakeEks::start(h.path(), &st);
    let cfg = kubeconfig(&h, "https://127.0.0.1:9", "", &[]);
    let dev = format!("arn:aws:iam::{ACCT}:role/dev");
    let g = |args: &[&str]| {
        run(kctx(&h, &cfg, &eks, AK, SK)
            .args(["access", "grant"])
            .args(args))
    };
    let o = g(&[&dev, "--kubernetes-groups", "devs", "prod"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("created access entry {dev} (STANDARD, Kubernetes groups devs) on cluster prod\n")
    );
    let state = eks.state();
    assert_eq!(
        state["clusters"]["prod"]["entries"][&dev]["groups"],
        json!(["devs"])
    );
    assert!(state["clusters"][CLUSTER]["entries"]
        .as_object()
        .unwrap()
        .is_empty());
    // repeated and comma-separated values, kubectl style
    let ops = format!("arn:aws:iam::{ACCT}:role/ops");
    ok(kctx(&h, &cfg, &eks, AK, SK).args([
        "access",
        "grant",
        &ops,
        "--kubernetes-groups",
        "a,b",
        "--kubernetes-groups",
        "c",
    ]));
    assert_eq!(
        eks.state()["clusters"][CLUSTER]["entries"][&ops]["groups"],
        json!(["a", "b", "c"])
    );
    // refused before any call, one line each
    let before = eks.calls().len();
    for (args, want) in [
        (
            vec![dev.as_str(), "--policy", "view", "--namespace", ""],
            "kctx: error: --namespace \"\" is empty: an access policy's namespace scope names namespaces",
        ),
        (
            vec![dev.as_str(), "--policy", "view", "-n", "Dev_Team"],
            "kctx: error: invalid namespace \"Dev_Team\" for an access policy's scope",
        ),
        (
            vec![
                dev.as_str(),
                "--policy",
                "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy/../AmazonEKSViewPolicy",
            ],
            "is not an access policy ARN: it must be exactly arn:aws:eks::aws:cluster-access-policy/NAME",
        ),
    ] {
        let o = g(&args);
        assert_eq!(code(&o), 1, "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    }
    assert_eq!(eks.calls().len(), before, "{:?}", eks.calls());
    // a well-formed name EKS does not offer is refused after ListAccessPolicies, before writing
    let n = writes(&eks).len();
    let o = g(&[&dev, "--policy", "AmazonEksViewPolicy"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("EKS has no access policy named \"AmazonEksViewPolicy\"; did you mean AmazonEKSViewPolicy?"), "{}", stderr(&o));
    assert_eq!(writes(&eks).len(), n);
    // a wildcard namespace goes through as EKS takes it
    ok(kctx(&h, &cfg, &eks, AK, SK).args([
        "access", "grant", &dev, "--policy", "view", "-n", "dev-*,qa",
    ]));
    assert_eq!(
        eks.state()["clusters"][CLUSTER]["entries"][&dev]["policies"],
        json!([{"policyArn": VIEW, "accessScope": {"type": "namespace", "namespaces": ["dev-*", "qa"]}}])
    );
}
