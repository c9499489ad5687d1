//! Discovery (issue 15): `kctx discover` and `kctx add --all` against moto's EKS with clusters
//! in several regions of two accounts, reached through two assume-role profiles (moto puts a
//! role's temporary keys in the role's account), and one profile whose credentials fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde_json::Value;

/// Two fresh moto accounts with clusters, and an AWS config whose profiles reach them.
struct World {
    h: Home,
    a: String,
    b: String,
}

/// A moto account of this test alone (moto is shared by every test).
fn account() -> String {
    let n: u64 = unique("a").rsplit('-').next().unwrap().parse().unwrap();
    format!(
        "{:012}",
        400_000_000_000u64 + u64::from(std::process::id()) * 100 + n
    )
}

/// Creates clusters `(account, region, name)` in moto, assuming a role in each account.
fn create_clusters(spec: &[(&str, &str, &str)]) {
    let spec: Vec<Value> = spec
        .iter()
        .map(|(a, r, n)| serde_json::json!([a, r, n]))
        .collect();
    let out = Command::new("python3")
        .args([
            "-c",
            r#"
import boto3, json, sys
url = sys.argv[1]
sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
creds = {}
for acct, region, name in json.loads(sys.argv[2]):
    if acct not in creds:
        creds[acct] = sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/admin",
                                      RoleSessionName="setup")["Credentials"]
    c = creds[acct]
    eks = boto3.client("eks", endpoint_url=url, region_name=region,
                       aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                       aws_session_token=c["SessionToken"])
    if name.startswith("-"):
        eks.delete_cluster(name=name[1:])
    else:
        eks.create_cluster(name=name, roleArn=f"arn:aws:iam::{acct}:role/eks",
                           resourcesVpcConfig={"subnetIds": ["subnet-1"]}, version="1.31")
"#,
            moto(),
            &Value::Array(spec).to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl World {
    fn new() -> Self {
        let h = Home::new();
        let (a, b) = (account(), account());
        h.write(
            ".aws/config",
            &format!(
                "[profile base]\nregion = us-west-2\n\
                 [profile team-a]\nrole_arn = arn:aws:iam::{a}:role/admin\nsource_profile = base\nregion = us-west-2\n\
                 [profile team-b]\nrole_arn = arn:aws:iam::{b}:role/admin\nsource_profile = base\nregion = us-west-2\n\
                 [profile broken]\ncredential_process = /bin/false\nregion = us-west-2\n\
                 [profile only-region]\nregion = eu-west-1\n"
            ),
        );
        h.write(
            ".aws/credentials",
            "[base]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\n",
        );
        create_clusters(&[
            (&a, "us-west-2", "api"),
            (&a, "us-west-2", "web"),
            (&a, "eu-west-1", "api"),
            (&b, "us-west-2", "api"),
            (&b, "ap-south-1", "data"),
        ]);
        World { h, a, b }
    }

    fn kctx(&self) -> Command {
        let mut c = self.h.kctx();
        c.env("AWS_ENDPOINT_URL_EKS", moto())
            .env("AWS_ENDPOINT_URL_STS", moto())
            .env("KUBECONFIG", self.kubeconfig());
        c
    }

    fn kubeconfig(&self) -> PathBuf {
        self.h.path().join(".kube/config")
    }

    fn arn(&self, account: &str, region: &str, name: &str) -> String {
        format!("arn:aws:eks:{region}:{account}:cluster/{name}")
    }
}

const SCOPE: [&str; 10] = [
    "--profile",
    "team-a",
    "--profile",
    "team-b",
    "--region",
    "us-west-2",
    "--region",
    "eu-west-1",
    "--region",
    "ap-south-1",
];

fn table(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn discover_lists_clusters_across_profiles_and_regions_and_reports_what_failed() {
    let w = World::new();
    let o = run(w
        .kctx()
        .arg("discover")
        .args(SCOPE)
        .args(["--profile", "broken"]));
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failing profile makes the exit code say so"
    );
    let rows = table(&stdout(&o));
    let (a, b) = (w.a.as_str(), w.b.as_str());
    assert_eq!(
        rows,
        [
            vec!["NAME", "REGION", "ACCOUNT", "PROFILE", "STATUS", "VERSION", "CONTEXT"],
            vec!["api", "eu-west-1", a, "team-a", "ACTIVE", "1.31", "-"],
            vec!["api", "us-west-2", a, "team-a", "ACTIVE", "1.31", "-"],
            vec!["web", "us-west-2", a, "team-a", "ACTIVE", "1.31", "-"],
            vec!["data", "ap-south-1", b, "team-b", "ACTIVE", "1.31", "-"],
            vec!["api", "us-west-2", b, "team-b", "ACTIVE", "1.31", "-"],
        ]
    );
    // one line for the broken profile, nothing else
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "kctx: error: profile broken: cannot load AWS credentials for profile \"broken\""
        ),
        "{err}"
    );

    // JSON: clusters with ARNs, and the failure
    let o = run(w
        .kctx()
        .arg("discover")
        .args(SCOPE)
        .args(["--profile", "broken", "-o", "json"]));
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let arns: Vec<&str> = j["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["arn"].as_str().unwrap())
        .collect();
    assert_eq!(
        arns,
        [
            w.arn(a, "eu-west-1", "api"),
            w.arn(a, "us-west-2", "api"),
            w.arn(a, "us-west-2", "web"),
            w.arn(b, "ap-south-1", "data"),
            w.arn(b, "us-west-2", "api"),
        ]
    );
    assert_eq!(j["clusters"][0]["profile"], "team-a");
    assert!(j["clusters"][0]["endpoint"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    assert_eq!(j["failures"][0]["profile"], "broken");
    assert!(j["failures"][0]["region"].is_null());

    // names only, and no failure: exit 0
    assert_eq!(
        ok(w.kctx().arg("discover").args(SCOPE).args(["-o", "name"])),
        "api\ndata\nweb\n"
    );

    // every region of the partition: team-b's two clusters, wherever they are
    let o = run(w.kctx().args([
        "discover",
        "--profile",
        "team-b",
        "--all-regions",
        "-o",
        "json",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let found: Vec<(&str, &str)> = j["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["region"].as_str().unwrap()))
        .collect();
    assert_eq!(found, [("data", "ap-south-1"), ("api", "us-west-2")]);

    // every profile with credentials: the one with only a region is left out, with a note
    let o = run(w.kctx().args([
        "discover",
        "--all-profiles",
        "--region",
        "ap-south-1",
        "--region",
        "eu-west-1",
    ]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("kctx: note: skipping profile \"only-region\": no credentials"),
        "{err}"
    );
    assert!(err.contains("kctx: error: profile broken:"), "{err}");
    let rows = table(&stdout(&o));
    assert!(
        rows.contains(&vec![
            "data".into(),
            "ap-south-1".into(),
            b.into(),
            "team-b".into(),
            "ACTIVE".into(),
            "1.31".into(),
            "-".into()
        ]),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r[0] == "api" && r[1] == "eu-west-1" && r[3] == "team-a"),
        "{rows:?}"
    );

    // bad input is refused before any call
    let o = run(w.kctx().args(["discover", "--region", "Not A Region"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid AWS region \"Not A Region\""),
        "{}",
        stderr(&o)
    );
}

/// How many times `path` was renamed into place (kctx's atomic writes) while `cmd` ran.
fn writes_of(cmd: &mut Command, path: &Path) -> (std::process::Output, usize) {
    let log = path.with_extension("strace");
    let prog = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut traced = Command::new("strace");
    traced
        .args(["-f", "-qq", "-e", "trace=rename,renameat,renameat2", "-o"])
        .arg(&log)
        .arg(prog)
        .args(args);
    // Home::cmd starts from an empty environment: so does the traced command
    traced.env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            traced.env(k, v);
        }
    }
    if let Some(d) = cmd.get_current_dir() {
        traced.current_dir(d);
    }
    let o = traced.output().expect("strace (apt-get install strace)");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let target = format!("\"{}\"", path.display());
    let n = text
        .lines()
        .filter(|l| l.contains("rename") && l.contains(&target) && l.trim_end().ends_with("= 0"))
        .count();
    (o, n)
}

#[test]
fn add_all_writes_once_names_what_collides_and_a_rerun_changes_nothing() {
    let w = World::new();
    let (a, b) = (w.a.clone(), w.b.clone());
    // already there: a hand-made context named "web" for another cluster, and a hand-made
    // context for team-a's eu-west-1 api
    let other = "arn:aws:eks:us-east-1:999999999999:cluster/web";
    let mine = w.arn(&a, "eu-west-1", "api");
    w.h.write(
        ".kube/config",
        &format!(
            "# my clusters\napiVersion: v1\nkind: Config\nclusters:\n- name: {other}\n  cluster:\n    server: https://web.example\n- name: {mine}\n  cluster:\n    server: https://old.example\ncontexts:\n- name: web\n  context:\n    cluster: {other}\n    user: me\n- name: my-api\n  context:\n    cluster: {mine}\n    user: me\n    namespace: team\ncurrent-context: web\nusers:\n- name: me\n  user:\n    token: abc\n"
        ),
    );
    let before = std::fs::read_to_string(w.kubeconfig()).unwrap();

    // the dry run says what would change and writes nothing
    let out = ok(w.kctx().args(["add", "--all", "--dry-run"]).args(SCOPE));
    assert_eq!(std::fs::read_to_string(w.kubeconfig()).unwrap(), before);
    let rows = table(&out);
    assert_eq!(rows[0], ["CHANGE", "CONTEXT", "CLUSTER", "PROFILE"]);
    let expect_added = [
        (
            format!("api.us-west-2.{a}"),
            w.arn(&a, "us-west-2", "api"),
            "team-a",
        ),
        (
            "web.us-west-2".to_owned(),
            w.arn(&a, "us-west-2", "web"),
            "team-a",
        ),
        ("data".to_owned(), w.arn(&b, "ap-south-1", "data"), "team-b"),
        (
            format!("api.us-west-2.{b}"),
            w.arn(&b, "us-west-2", "api"),
            "team-b",
        ),
    ];
    for (ctx, arn, profile) in &expect_added {
        assert!(
            rows.contains(&vec![
                "added".into(),
                ctx.clone(),
                arn.clone(),
                profile.to_string()
            ]),
            "{ctx}: {out}"
        );
    }
    assert!(
        rows.contains(&vec![
            "kept".into(),
            "my-api".into(),
            mine.clone(),
            "-".into()
        ]),
        "{out}"
    );
    assert!(out.ends_with("dry run: 4 added, 0 updated, 0 unchanged, 0 pruned, 1 kept (contexts not made by add --all); nothing written\n"), "{out}");

    // the real thing: one atomic write of the file
    let (o, renames) = writes_of(w.kctx().args(["add", "--all"]).args(SCOPE), &w.kubeconfig());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(renames, 1, "one write for every cluster: {}", stdout(&o));
    let text = std::fs::read_to_string(w.kubeconfig()).unwrap();
    assert!(
        text.starts_with("# my clusters\n"),
        "the file's comment is kept:\n{text}"
    );
    let m = merged(&[w.kubeconfig()]);
    use kctx::Kind;
    for (ctx, arn, profile) in &expect_added {
        assert_eq!(m.field(Kind::Contexts, ctx, "cluster"), Some(arn.as_str()));
        assert_eq!(m.field(Kind::Contexts, ctx, "user"), Some(arn.as_str()));
        let user = m.body(Kind::Users, arn).unwrap();
        let exec = &user["exec"];
        assert_eq!(
            exec["env"],
            serde_json::json!([{"name": "AWS_PROFILE", "value": profile}])
        );
        let region = arn.split(':').nth(3).unwrap();
        let name = arn.rsplit('/').next().unwrap();
        assert_eq!(
            exec["args"],
            serde_json::json!(["token", "--cluster-name", name, "--region", region])
        );
        assert!(m.body(Kind::Clusters, arn).unwrap()["server"]
            .as_str()
            .unwrap()
            .starts_with("https://"));
    }
    // hand-made entries untouched; current-context unchanged
    assert_eq!(m.field(Kind::Contexts, "web", "cluster"), Some(other));
    assert_eq!(m.field(Kind::Contexts, "my-api", "namespace"), Some("team"));
    assert_eq!(
        m.body(Kind::Clusters, &mine).unwrap()["server"],
        "https://old.example"
    );
    assert_eq!(m.current_context(), Some("web"));

    // kubectl reads the result, and keeps the marker when it rewrites the file itself
    let mut kubectl = w.h.cmd("kubectl");
    kubectl.env("KUBECONFIG", w.kubeconfig());
    let names = ok(kubectl.args(["config", "get-contexts", "-o", "name"]));
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    let mut want = vec![
        "data".to_owned(),
        "my-api".into(),
        "web".into(),
        "web.us-west-2".into(),
        format!("api.us-west-2.{a}"),
        format!("api.us-west-2.{b}"),
    ];
    want.sort();
    assert_eq!(names, want);
    let mut kubectl = w.h.cmd("kubectl");
    kubectl.env("KUBECONFIG", w.kubeconfig());
    ok(kubectl.args(["config", "set-context", "data", "--namespace", "etl"]));

    // a rerun: nothing to write, even after kubectl rewrote the file in its own style
    let (o, renames) = writes_of(w.kctx().args(["add", "--all"]).args(SCOPE), &w.kubeconfig());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(renames, 0, "{}", stdout(&o));
    assert!(stdout(&o).ends_with("0 added, 0 updated, 4 unchanged, 0 pruned, 1 kept (contexts not made by add --all); nothing to write\n"), "{}", stdout(&o));

    // a template: names from it, refused when they collide (checked against a fresh file)
    let fresh = w.h.path().join("fresh.yaml");
    let o = run(w
        .kctx()
        .args([
            "add",
            "--all",
            "--alias-template",
            "{cluster}",
            "--dry-run",
            "--kubeconfig",
        ])
        .arg(&fresh)
        .args(SCOPE));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!(
            "--alias-template \"{{cluster}}\" gives \"api\" to 3 clusters ({}, {}, {}); add {{region}}, {{account}} or {{profile}} to it",
            w.arn(&a, "eu-west-1", "api"),
            w.arn(&a, "us-west-2", "api"),
            w.arn(&b, "us-west-2", "api")
        )),
        "{}",
        stderr(&o)
    );
    assert!(!fresh.exists());
    let o = run(w
        .kctx()
        .args(["add", "--all", "--alias-template", "{cluster}-{acount}"])
        .args(SCOPE));
    assert!(
        stderr(&o).contains("unknown placeholder {acount}"),
        "{}",
        stderr(&o)
    );
    create_clusters(&[(&b, "eu-west-1", "batch")]);
    let out = ok(w
        .kctx()
        .args([
            "add",
            "--all",
            "--alias-template",
            "{profile}/{cluster}.{region}",
        ])
        .args(SCOPE));
    assert!(
        table(&out).contains(&vec![
            "added".into(),
            "team-b/batch.eu-west-1".into(),
            w.arn(&b, "eu-west-1", "batch"),
            "team-b".into()
        ]),
        "{out}"
    );
    assert!(out.contains("1 added, 0 updated, 4 unchanged"), "{out}");
}

#[test]
fn prune_removes_only_marked_contexts_whose_cluster_is_gone_where_it_searched() {
    let w = World::new();
    let (a, b) = (w.a.clone(), w.b.clone());
    ok(w.kctx().args(["add", "--all"]).args(SCOPE));
    // a hand-made context for a cluster that will vanish too
    let m = merged(&[w.kubeconfig()]);
    use kctx::Kind;
    assert!(m.has(Kind::Contexts, "web"));
    let mut kubectl = w.h.cmd("kubectl");
    kubectl.env("KUBECONFIG", w.kubeconfig());
    ok(kubectl.args([
        "config",
        "set-context",
        "hand-web",
        "--cluster",
        &w.arn(&a, "us-west-2", "web"),
        "--user",
        "someone",
    ]));
    let mut kubectl = w.h.cmd("kubectl");
    kubectl.env("KUBECONFIG", w.kubeconfig());
    ok(kubectl.args(["config", "use-context", "data"]));

    // web (team-a, us-west-2) and data (team-b, ap-south-1) go away
    create_clusters(&[(&a, "us-west-2", "-web"), (&b, "ap-south-1", "-data")]);

    // team-b's credentials fail this time: what it would have searched is not pruned
    let config = std::fs::read_to_string(w.h.path().join(".aws/config")).unwrap();
    let b_role = format!("role_arn = arn:aws:iam::{b}:role/admin\nsource_profile = base");
    w.h.write(
        ".aws/config",
        &config.replace(&b_role, "credential_process = /bin/false"),
    );
    let o = run(w.kctx().args(["add", "--all", "--prune"]).args(SCOPE));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let rows = table(&stdout(&o));
    assert!(
        rows.contains(&vec![
            "pruned".into(),
            "web".into(),
            w.arn(&a, "us-west-2", "web"),
            "team-a".into()
        ]),
        "{rows:?}"
    );
    assert!(!stdout(&o).contains("data"), "{}", stdout(&o));
    let m = merged(&[w.kubeconfig()]);
    assert!(!m.has(Kind::Contexts, "web") && m.has(Kind::Contexts, "data"));
    // the hand-made context stays, and so does the cluster entry it uses
    assert!(m.has(Kind::Contexts, "hand-web"));
    assert!(m.has(Kind::Clusters, &w.arn(&a, "us-west-2", "web")));
    w.h.write(".aws/config", &config);

    // a search that does not cover ap-south-1 leaves data alone too
    let out = ok(w.kctx().args([
        "add",
        "--all",
        "--prune",
        "--profile",
        "team-b",
        "--region",
        "us-west-2",
    ]));
    assert!(table(&out).iter().all(|r| r[0] != "pruned"), "{out}");

    // now it is searched: pruned, with its user and cluster entries; it was current
    let o = run(w.kctx().args(["add", "--all", "--prune"]).args(SCOPE));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        table(&stdout(&o)).contains(&vec![
            "pruned".into(),
            "data".into(),
            w.arn(&b, "ap-south-1", "data"),
            "team-b".into()
        ]),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains(
            "kctx: note: the current context \"data\" is pruned: current-context is unset"
        ),
        "{}",
        stderr(&o)
    );
    let m = merged(&[w.kubeconfig()]);
    assert!(!m.has(Kind::Contexts, "data"));
    assert!(!m.has(Kind::Users, &w.arn(&b, "ap-south-1", "data")));
    assert!(!m.has(Kind::Clusters, &w.arn(&b, "ap-south-1", "data")));
    assert!(m.current_context().is_none());
    let mut kubectl = w.h.cmd("kubectl");
    kubectl.env("KUBECONFIG", w.kubeconfig());
    let names = ok(kubectl.args(["config", "get-contexts", "-o", "name"]));
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    let mut want = vec![
        "hand-web".to_owned(),
        format!("api.us-west-2.{a}"),
        format!("api.us-west-2.{b}"),
        "api.eu-west-1".into(),
    ];
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn regions_are_searched_side_by_side_with_a_bound_per_region() {
    // the EKS double answers after 100 ms, concurrently, and records how many requests it
    // had in flight at once, overall and per region
    let h = Home::new();
    let regions: Vec<&str> = vec![
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-north-1",
        "sa-east-1",
    ];
    let mut by_region = serde_json::Map::new();
    for r in &regions {
        by_region.insert(r.to_string(), serde_json::json!(["one"]));
    }
    let many: Vec<String> = (0..40).map(|i| format!("c{i:02}")).collect();
    by_region.insert("us-west-2".into(), serde_json::json!(many));
    let eks = FakeEks::start(
        h.path(),
        &serde_json::json!({"account": "123456789012", "latency_ms": 100, "regions": by_region}),
    );
    h.write(
        ".aws/credentials",
        "[p1]\naws_access_key_id = AKID1\naws_secret_access_key = x\n[p2]\naws_access_key_id = AKID2\naws_secret_access_key = x\n[p3]\naws_access_key_id = AKID3\naws_secret_access_key = x\n",
    );
    let mut c = h.kctx();
    c.env("AWS_ENDPOINT_URL_EKS", &eks.url).args([
        "discover",
        "-o",
        "json",
        "--profile",
        "p1",
        "--profile",
        "p2",
        "--profile",
        "p3",
    ]);
    for r in &regions {
        c.args(["--region", r]);
    }
    let j: Value = serde_json::from_str(&ok(&mut c)).unwrap();
    assert_eq!(j["clusters"].as_array().unwrap().len(), 3 * (16 + 40));
    let st = eks.state();
    let max = &st["max_in_flight"];
    // one region never sees more than 16 at once, though 120 describes were due there
    assert_eq!(max["us-west-2"], 16, "{max}");
    // and the regions ran side by side, not one after another
    assert!(max["all"].as_u64().unwrap() > 16, "{max}");
    let calls = eks.calls();
    assert_eq!(calls.iter().filter(|c| *c == "ListClusters").count(), 51);
    assert_eq!(
        calls.iter().filter(|c| *c == "DescribeCluster").count(),
        3 * 56
    );
}

#[test]
fn the_region_lists_match_the_partition_data_of_the_locked_sdk() {
    // the version of aws-sdk-eks in Cargo.lock, and its sources in cargo's registry
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).unwrap();
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"aws-sdk-eks\""))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_owned())
        .expect("aws-sdk-eks in Cargo.lock");
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let crate_dir = std::fs::read_dir(cargo_home.join("registry/src"))
        .unwrap()
        .map(|d| d.unwrap().path().join(format!("aws-sdk-eks-{version}")))
        .find(|p| p.is_dir())
        .expect("aws-sdk-eks sources (cargo fetched them to build kctx)");
    let out = Command::new("python3")
        .arg(repo().join("scripts/regions.py"))
        .arg(&crate_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sdk: Vec<(String, Vec<String>)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("(\""))
        .map(|l| {
            let (id, rest) = l.split_once("\", &").unwrap();
            let regions: Vec<String> = serde_json::from_str(rest.trim_end_matches("),")).unwrap();
            (id.to_owned(), regions)
        })
        .collect();
    let ours: Vec<(String, Vec<String>)> = kctx::PARTITION_REGIONS
        .iter()
        .map(|(p, r)| (p.to_string(), r.iter().map(|x| x.to_string()).collect()))
        .collect();
    let (mut ours, mut sdk) = (ours, sdk);
    ours.sort();
    sdk.sort();
    assert_eq!(
        ours, sdk,
        "regenerate PARTITION_REGIONS with scripts/regions.py"
    );
}

#[test]
fn refused_keys_are_not_mistaken_for_regions_that_are_not_enabled() {
    let h = Home::new();
    h.write(
        ".aws/credentials",
        "[p]\naws_access_key_id = AKIDP\naws_secret_access_key = x\n",
    );
    let discover = |state: Value, region_args: &[&str]| {
        let eks = FakeEks::start(h.path(), &state);
        run(h
            .kctx()
            .env("AWS_ENDPOINT_URL_EKS", &eks.url)
            .args(["discover", "--profile", "p", "-o", "name"])
            .args(region_args))
    };
    // an opt-in region the account has not enabled: a note, and the search succeeds
    let o = discover(
        serde_json::json!({"regions": {"us-west-2": ["api"]}, "unrecognized_regions": ["af-south-1"]}),
        &["--all-regions"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "api\n");
    assert!(
        stderr(&o).contains("not enabled") && stderr(&o).contains("af-south-1"),
        "{}",
        stderr(&o)
    );
    // keys refused everywhere: the regions every account has say so, and the exit code too
    let o = discover(
        serde_json::json!({"regions": {"us-west-2": ["api"]}, "unrecognized_regions": ["*"]}),
        &["--all-regions"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("us-west-2: eks:ListClusters: UnrecognizedClientException: The security token included in the request is invalid. (the profile's credentials are not accepted)"),
        "{}",
        stderr(&o)
    );
    // one region asked for: the same line, no debug dump of the SDK's error
    let o = discover(
        serde_json::json!({"regions": {}, "unrecognized_regions": ["*"]}),
        &["--region", "us-west-2"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("UnrecognizedClientException: The security token")
            && !stderr(&o).contains("Error {"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bulk_refresh_keeps_shared_users_kubectl_defaults_and_unknown_accounts() {
    let h = Home::new();
    h.write(
        ".aws/credentials",
        "[p]\naws_access_key_id = AKIDP\naws_secret_access_key = x\n",
    );
    let kc = h.path().join(".kube/config");
    let eks = FakeEks::start(
        h.path(),
        &serde_json::json!({"regions": {"us-west-2": ["api", "tmp"]}}),
    );
    let arn = "arn:aws:eks:us-west-2:123456789012:cluster/api";
    let k = |eks: &FakeEks| {
        let mut c = h.kctx();
        c.env("AWS_ENDPOINT_URL_EKS", &eks.url)
            .env("AWS_ENDPOINT_URL_STS", moto())
            .env("KUBECONFIG", &kc);
        c
    };
    let all = ["add", "--all", "--profile", "p", "--region", "us-west-2"];
    ok(k(&eks).args(all));
    // a hand-made context shares the user add --all made (named by the cluster ARN, as
    // update-kubeconfig names it) and signs through a role
    let role = "arn:aws:iam::123456789012:role/admin";
    ok(k(&eks).args([
        "add",
        "api",
        "--region",
        "us-west-2",
        "--profile",
        "p",
        "--alias",
        "api-admin",
        "--role-arn",
        role,
    ]));
    let signs_as_role = || {
        merged(std::slice::from_ref(&kc))
            .body(kctx::Kind::Users, arn)
            .unwrap()["exec"]["args"]
            .to_string()
            .contains(role)
    };
    assert!(signs_as_role());
    let before = std::fs::read(&kc).unwrap();
    let o = run(k(&eks).args(all));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("0 added, 0 updated, 2 unchanged, 0 pruned; nothing to write"),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains(&format!("kctx: note: user {arn:?} of context \"api\" is kept as it is: hand-made context(s) \"api-admin\" use it too")),
        "{}",
        stderr(&o)
    );
    assert!(
        signs_as_role(),
        "the hand-made context still signs as the role"
    );
    assert_eq!(std::fs::read(&kc).unwrap(), before);

    // a user without a profile (keys from the environment) that kubectl saved (`env: null`):
    // a re-run is still a no-op
    let kc2 = h.path().join("env-keys.yaml");
    let k2 = || {
        let mut c = k(&eks);
        c.env("KUBECONFIG", &kc2)
            .env("AWS_ACCESS_KEY_ID", "AKIDP")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .env("AWS_REGION", "us-west-2")
            .env_remove("AWS_PROFILE");
        c
    };
    ok(k2().args(["add", "--all"]));
    let mut kubectl = h.cmd("kubectl");
    kubectl.env("KUBECONFIG", &kc2);
    ok(kubectl.args(["config", "set-context", "api", "--namespace", "n1"]));
    assert!(std::fs::read_to_string(&kc2).unwrap().contains("env: null"));
    let out = ok(k2().args(["add", "--all"]));
    assert!(out.contains("0 added, 0 updated, 2 unchanged"), "{out}");

    // tmp goes away, but STS cannot say which account the profile is: nothing is pruned,
    // and that is a failure, not a quiet "0 pruned"
    let eks = FakeEks::start(
        h.path(),
        &serde_json::json!({"regions": {"us-west-2": ["api"]}}),
    );
    let o = run(k(&eks)
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .args(all)
        .arg("--prune"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("sts:GetCallerIdentity")
            && stderr(&o).contains("its account is unknown, so none of its contexts is pruned"),
        "{}",
        stderr(&o)
    );
    assert!(merged(std::slice::from_ref(&kc)).has(kctx::Kind::Contexts, "tmp"));
    let out = ok(k(&eks).args(all).arg("--prune"));
    assert!(out.contains("1 pruned"), "{out}");

    // a file kctx will not write (a second YAML document): the table of changes is not
    // printed as if they had happened
    let multi = h.write(
        "multi.yaml",
        "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n---\nfoo: bar\n",
    );
    let o = run(k(&eks).env("KUBECONFIG", &multi).args(all));
    assert!(!o.status.success());
    assert!(!stdout(&o).contains("added"), "{}", stdout(&o));
    assert!(stderr(&o).contains("multi.yaml"), "{}", stderr(&o));
}
