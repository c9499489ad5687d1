//! `kctx doctor` (issue 26) on a hand-written kubeconfig split over two KUBECONFIG files, with
//! comments and one planted problem per code; a kuberc; an AWS config with a work profile and
//! an SSO profile whose cached token has expired; moto's EKS holding one recreated cluster (new
//! CA; moto keeps the endpoint, so the entry carries an older one) and missing another. Every
//! code is found; `--fix` mends exactly the fixable ones (the files compared whole with
//! tests/fixtures/doctor/expected); kubectl reads the result; the converted `aws eks get-token`
//! user, run by kubectl, presents a token the EKS-like API server accepts, signed with the
//! profile's key; a second run reports only what cannot be fixed and writes nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde_json::Value;

const AK_WORK: &str = "AKIDWORKEXAMPLE00001";
const SK_WORK: &str = "workSecretKeyEXAMPLE/0123456789abcdefghij";

/// Every code of the catalogue.
const ALL_CODES: &[&str] = &[
    "aws-cli-exec",
    "authenticator-exec",
    "exec-api-v1alpha1",
    "missing-cluster",
    "missing-user",
    "dangling-current-context",
    "orphan-cluster",
    "orphan-user",
    "exec-command-not-found",
    "unknown-aws-profile",
    "sso-session-expired",
    "kubeconfig-permissions",
    "kuberc-blocks-kctx",
    "shadowed-entry",
    "cluster-not-found",
    "endpoint-changed",
    "ca-changed",
];

/// What `--fix` says it did (home and this run's names masked).
const FIXED: &str = r#"Fixed:
  ~/.kube/a.yaml: user "aws-user": aws-cli-exec: rewrite as `kctx token --cluster-name {{REC}} --region us-west-2` with AWS_PROFILE=work (its env kept)
  ~/.kube/a.yaml: context "old-prod": dangling-current-context: unset current-context in this file
  ~/.kube/a.yaml: cluster "unused": orphan-cluster: remove it
  ~/.kube/a.yaml: kubeconfig-permissions: chmod 0600
  ~/.kube/a.yaml: context "rec" (cluster "arn:aws:eks:us-west-2:123456789012:cluster/{{REC}}"): endpoint-changed: set server to {{NEW_SERVER}}
  ~/.kube/a.yaml: context "rec" (cluster "arn:aws:eks:us-west-2:123456789012:cluster/{{REC}}"): ca-changed: set certificate-authority-data to the cluster's
  ~/.kube/b.yaml: user "authenticator-user": authenticator-exec: rewrite as `kctx token --cluster-name {{LIVE}} --region us-west-2` with AWS_PROFILE=work (its env kept)
  ~/.kube/b.yaml: user "v1a-user": exec-api-v1alpha1: set apiVersion to client.authentication.k8s.io/v1beta1
  ~/.kube/b.yaml: user "unused-user": orphan-user: remove it
  wrote ~/.kube/a.yaml
  wrote ~/.kube/b.yaml
  chmod 0600 ~/.kube/a.yaml
"#;

/// What cannot be fixed: the text report after `--fix`, and of every later run.
const REMAINING: &str = r#"~/.kube/a.yaml
  error    missing-cluster         context "broken" (cluster "nowhere"): it names cluster "nowhere", which no kubeconfig file defines
  error    missing-user            context "nouser": it names user "ghost", which no kubeconfig file defines
  error    cluster-not-found       context "gone" (cluster "arn:aws:eks:us-west-2:123456789012:cluster/{{GONE}}"): EKS has no cluster "{{GONE}}" in us-west-2 for the context's credentials (deleted, renamed, or in another account)
~/.kube/b.yaml
  warning  sso-session-expired     user "sso-user": its AWS profile "sso-dev" signs in through SSO session "corp", and its token expired at 2024-01-01T00:00:00Z: run `kctx login --sso-session corp`
  error    unknown-aws-profile     user "typo-user": its exec uses AWS profile "wrok", which ~/.aws/config and ~/.aws/credentials do not define; did you mean "work"?
  error    exec-command-not-found  user "oidc": its exec command `kubectl-oidc_login` is not on PATH (its installHint: kubectl krew install oidc-login)
  info     shadowed-entry          cluster "shared": also defined in ~/.kube/a.yaml, which comes first: kubectl reads that one, never this
~/.kube/kuberc
  error    kuberc-blocks-kctx      its credentialPluginPolicy (Allowlist) keeps kubectl from running `kctx` for users "authenticator-user", "aws-user", "kctx-user", "sso-user", "typo-user", "v1a-user"; add:
                                     - name: kctx      # under credentialPluginAllowlist
"#;

const SUMMARY: &str = "8 findings (6 errors, 1 warning, 1 info).\n";

/// (endpoint, CA data) of a moto cluster.
fn describe(name: &str) -> (String, String) {
    let h = Home::new();
    let out = ok(h
        .aws_moto()
        .args(["eks", "describe-cluster", "--name", name])
        .args(["--query", "cluster.[endpoint,certificateAuthority.data]"])
        .args(["--output", "json"]));
    let v: Vec<String> = serde_json::from_str(&out).unwrap();
    (v[0].clone(), v[1].clone())
}

fn delete_cluster(name: &str) {
    let h = Home::new();
    ok(h.aws_moto().args(["eks", "delete-cluster", "--name", name]));
}

struct World {
    h: Home,
    a: PathBuf,
    b: PathBuf,
    path_env: String,
    /// placeholder -> value, for the fixtures
    vars: Vec<(&'static str, String)>,
}

impl World {
    fn new() -> Self {
        let h = Home::new();
        let (rec, live, gone) = (unique("rec"), unique("live"), unique("gone"));
        create_cluster(&live, "us-west-2");
        create_cluster(&rec, "us-west-2");
        let (_, old_ca) = describe(&rec);
        delete_cluster(&rec);
        create_cluster(&rec, "us-west-2");
        let (new_server, new_ca) = describe(&rec);
        assert_ne!(old_ca, new_ca, "moto gives a recreated cluster a new CA");
        let (live_server, live_ca) = describe(&live);
        let vars = vec![
            ("{{REC}}", rec),
            ("{{LIVE}}", live),
            ("{{GONE}}", gone),
            ("{{OLD_CA}}", old_ca),
            ("{{NEW_CA}}", new_ca),
            ("{{NEW_SERVER}}", new_server),
            ("{{LIVE_CA}}", live_ca),
            ("{{LIVE_SERVER}}", live_server),
        ];
        let fill = |name: &str| {
            let mut t =
                std::fs::read_to_string(repo().join("tests/fixtures/doctor").join(name)).unwrap();
            for (k, v) in &vars {
                t = t.replace(k, v);
            }
            t
        };
        let a = h.write(".kube/a.yaml", &fill("a.yaml"));
        let b = h.write(".kube/b.yaml", &fill("b.yaml"));
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o600)).unwrap();
        h.write(
            ".kube/kuberc",
            "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\ncredentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: aws\n- name: kubectl-oidc_login\n",
        );
        h.write(
            ".aws/config",
            "[profile work]\nregion = us-west-2\n\n[profile sso-dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = us-west-2\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
        );
        h.write(
            ".aws/credentials",
            &format!("[work]\naws_access_key_id = {AK_WORK}\naws_secret_access_key = {SK_WORK}\n"),
        );
        // botocore's cache file for session "corp" (named by its sha1): expired, and no
        // refresh token to renew it with
        let sha1 = String::from_utf8(
            Command::new("python3")
                .args([
                    "-c",
                    "import hashlib;print(hashlib.sha1(b'corp').hexdigest())",
                ])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        h.write(
            &format!(".aws/sso/cache/{}.json", sha1.trim()),
            r#"{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": "expired-token", "expiresAt": "2024-01-01T00:00:00Z"}"#,
        );
        let path_env = path_with_kctx(&h);
        // the AWS CLI beside kctx: doctor's PATH is this directory alone
        let aws =
            String::from_utf8(Command::new("which").arg("aws").output().unwrap().stdout).unwrap();
        std::os::unix::fs::symlink(aws.trim(), h.path().join("bin/aws")).unwrap();
        Self {
            a,
            b,
            path_env,
            vars,
            h,
        }
    }

    /// `s` with the home directory as `~` and the names and data of this run as placeholders.
    fn masked(&self, s: &str) -> String {
        let mut vars = self.vars.clone();
        vars.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        let mut t = s.replace(&self.h.path().display().to_string(), "~");
        for (k, v) in &vars {
            t = t.replace(v.as_str(), k);
        }
        t
    }

    fn var(&self, k: &str) -> &str {
        &self.vars.iter().find(|(n, _)| *n == k).unwrap().1
    }

    fn kubeconfig(&self) -> String {
        format!("{}:{}", self.a.display(), self.b.display())
    }

    /// kctx as a user runs it: no AWS keys in the environment, EKS at moto; PATH holds kctx
    /// and aws alone (so that no other plugin a machine may have installed is found).
    fn kctx(&self, args: &[&str]) -> Command {
        let mut c = self.h.kctx();
        c.env("PATH", self.h.path().join("bin"))
            .env("KUBECONFIG", self.kubeconfig())
            .env("AWS_ENDPOINT_URL_EKS", moto())
            .args(["doctor"])
            .args(args);
        c
    }

    /// The expected file, placeholders filled in. `KCTX_BLESS=1` writes `actual` there first
    /// (with the placeholders put back; review the diff!).
    fn expected(&self, name: &str, actual: &str) -> String {
        let path = repo().join("tests/fixtures/doctor/expected").join(name);
        if std::env::var_os("KCTX_BLESS").is_some() {
            let mut vars = self.vars.clone();
            vars.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
            let mut t = actual.to_owned();
            for (k, v) in &vars {
                t = t.replace(v.as_str(), k);
            }
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, t).unwrap();
        }
        let mut t = std::fs::read_to_string(&path).unwrap();
        for (k, v) in &self.vars {
            t = t.replace(k, v);
        }
        t
    }
}

fn json_findings(o: &std::process::Output) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("one JSON document ({e}):\n{}\n{}", stdout(o), stderr(o)));
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    v["findings"].as_array().unwrap().clone()
}

fn find<'a>(fs: &'a [Value], code: &str, key: &str, value: &str) -> &'a Value {
    fs.iter()
        .find(|f| f["code"] == code && f[key] == value)
        .unwrap_or_else(|| panic!("no {code} with {key}={value} in {fs:#?}"))
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn doctor_finds_every_code_fixes_the_fixable_and_then_has_nothing_to_fix() {
    let w = World::new();
    let (a0, b0) = (std::fs::read(&w.a).unwrap(), std::fs::read(&w.b).unwrap());

    // 1. every code, each where it was planted; nothing written without --fix
    let o = run(&mut w.kctx(&["--online", "-o", "json"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let fs = json_findings(&o);
    for code in ALL_CODES {
        assert!(
            fs.iter().any(|f| f["code"] == *code),
            "{code} not found: {fs:#?}"
        );
    }
    let (a, b) = (w.a.display().to_string(), w.b.display().to_string());
    let rec_arn = format!(
        "arn:aws:eks:us-west-2:123456789012:cluster/{}",
        w.var("{{REC}}")
    );
    let aws = find(&fs, "aws-cli-exec", "user", "aws-user");
    assert_eq!(aws["file"], a.as_str());
    assert_eq!(aws["severity"], "warning");
    assert_eq!(
        aws["fix"],
        format!(
            "rewrite as `kctx token --cluster-name {} --region us-west-2` with AWS_PROFILE=work (its env kept)",
            w.var("{{REC}}")
        )
    );
    assert_eq!(
        find(&fs, "authenticator-exec", "user", "authenticator-user")["file"],
        b.as_str()
    );
    assert_eq!(
        find(&fs, "exec-api-v1alpha1", "user", "v1a-user")["severity"],
        "error"
    );
    assert_eq!(
        find(&fs, "missing-cluster", "context", "broken")["cluster"],
        "nowhere"
    );
    assert_eq!(
        find(&fs, "missing-user", "context", "nouser")["user"],
        "ghost"
    );
    let dangling = find(&fs, "dangling-current-context", "context", "old-prod");
    assert_eq!(dangling["file"], a.as_str());
    assert_eq!(
        find(&fs, "orphan-cluster", "cluster", "unused")["file"],
        a.as_str()
    );
    assert_eq!(
        find(&fs, "orphan-user", "user", "unused-user")["file"],
        b.as_str()
    );
    let oidc = find(&fs, "exec-command-not-found", "user", "oidc");
    assert_eq!(
        oidc["message"],
        "its exec command `kubectl-oidc_login` is not on PATH (its installHint: kubectl krew install oidc-login)"
    );
    assert!(oidc.get("fix").is_none());
    assert!(
        find(&fs, "unknown-aws-profile", "user", "typo-user")["message"]
            .as_str()
            .unwrap()
            .contains("\"wrok\"")
    );
    assert_eq!(
        find(&fs, "sso-session-expired", "user", "sso-user")["message"],
        "its AWS profile \"sso-dev\" signs in through SSO session \"corp\", and its token expired at 2024-01-01T00:00:00Z: run `kctx login --sso-session corp`"
    );
    let perm = find(&fs, "kubeconfig-permissions", "file", &a);
    assert_eq!(perm["fix"], "chmod 0600");
    let kuberc = find(&fs, "kuberc-blocks-kctx", "code", "kuberc-blocks-kctx");
    assert_eq!(
        kuberc["file"],
        w.h.path().join(".kube/kuberc").display().to_string()
    );
    assert!(kuberc["message"]
        .as_str()
        .unwrap()
        .ends_with("add:\n- name: kctx      # under credentialPluginAllowlist"));
    let shadow = find(&fs, "shadowed-entry", "cluster", "shared");
    assert_eq!(
        (shadow["file"].as_str(), shadow["severity"].as_str()),
        (Some(b.as_str()), Some("info"))
    );
    let nf = find(&fs, "cluster-not-found", "context", "gone");
    assert!(nf["message"].as_str().unwrap().contains(w.var("{{GONE}}")));
    assert_eq!(
        find(&fs, "endpoint-changed", "context", "rec")["cluster"],
        rec_arn.as_str()
    );
    assert_eq!(
        find(&fs, "ca-changed", "context", "rec")["file"],
        a.as_str()
    );
    // the contexts whose credentials cannot be had are said on stderr
    let err = stderr(&o);
    assert!(
        err.contains("context \"sso\" was not checked online"),
        "{err}"
    );
    assert!(
        err.contains("context \"typo\" was not checked online"),
        "{err}"
    );
    assert_eq!(std::fs::read(&w.a).unwrap(), a0);
    assert_eq!(std::fs::read(&w.b).unwrap(), b0);

    // the text report says the same, grouped by file, with what --fix would do
    let text = w.masked(&stdout(&run(&mut w.kctx(&["--online"]))));
    for line in [
        "~/.kube/a.yaml\n  warning  aws-cli-exec              user \"aws-user\": it runs `aws eks get-token` (the AWS CLI: about a second of Python start-up on every kubectl call)\n                                     fix: rewrite as `kctx token --cluster-name {{REC}} --region us-west-2` with AWS_PROFILE=work (its env kept)\n",
        "\n  warning  kubeconfig-permissions    mode 0644: group and others can read it, and it holds credentials (user \"admin\": `token`)\n                                     fix: chmod 0600\n",
        "\n18 findings (11 errors, 4 warnings, 3 info); 9 can be mended by `kctx doctor --fix`.\n",
    ] {
        assert!(text.contains(line), "{line}\nnot in:\n{text}");
    }

    // 2. --fix mends exactly the fixable ones: the files as expected, byte for byte
    let o = run(&mut w.kctx(&["--online", "--fix"]));
    assert_eq!(
        o.status.code(),
        Some(1),
        "unfixable ones remain: {}",
        stderr(&o)
    );
    assert_eq!(
        w.masked(&stdout(&o)),
        format!("{FIXED}\n{REMAINING}\nRemaining: {SUMMARY}")
    );
    for (file, name) in [(&w.a, "a.yaml"), (&w.b, "b.yaml")] {
        let actual = std::fs::read_to_string(file).unwrap();
        assert_eq!(actual, w.expected(name, &actual), "{name}");
    }
    assert_eq!(
        std::fs::metadata(&w.a).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!w.h.path().join(".kube/a.yaml.lock").exists());

    // 3. kubectl reads what was written
    let view = kubectl_view(&w.h, &w.kubeconfig());
    assert_eq!(view["current-context"], "");
    let users = view["users"].as_array().unwrap();
    let user = |n: &str| users.iter().find(|u| u["name"] == n).unwrap()["user"]["exec"].clone();
    assert_eq!(user("aws-user")["command"], "kctx");
    assert_eq!(user("authenticator-user")["command"], "kctx");
    assert_eq!(
        user("v1a-user")["apiVersion"],
        "client.authentication.k8s.io/v1beta1"
    );
    assert!(users.iter().all(|u| u["name"] != "unused-user"));

    // 4. the converted entry, run by kubectl, presents a token signed with the work profile's key
    let srv = ApiServer::start(w.h.path(), w.var("{{REC}}"), &[(AK_WORK, SK_WORK)]);
    let c = w.h.write(
        ".kube/c.yaml",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: e2e\n  context: {{cluster: e2e, user: aws-user}}\n",
            srv.url,
            srv.ca_data()
        ),
    );
    let out = ok(w
        .h
        .cmd("kubectl")
        .env("PATH", &w.path_env)
        .env("KUBECONFIG", format!("{}:{}", w.kubeconfig(), c.display()))
        .args(["--context", "e2e", "get", "--raw", "/version"]));
    assert!(out.contains("gitVersion"), "{out}");
    let reqs = srv.requests();
    assert!(
        !reqs.is_empty() && reqs.iter().all(|r| r["ok"] == true),
        "{reqs:?}"
    );
    let token = reqs[0]["token"].as_str().unwrap();
    let parsed = crate::verify::verify(token, std::time::SystemTime::now()).unwrap();
    let credential = &parsed.query["x-amz-credential"];
    assert!(
        credential.starts_with(&format!("{AK_WORK}/")),
        "{credential}"
    );
    assert!(
        credential.ends_with("/us-west-2/sts/aws4_request"),
        "{credential}"
    );

    // 5. a second run reports only what cannot be fixed, and --fix then writes nothing
    let o = run(&mut w.kctx(&["--online"]));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(w.masked(&stdout(&o)), format!("{REMAINING}\n{SUMMARY}"));
    let o = run(&mut w.kctx(&["--online", "-o", "json"]));
    assert_eq!(o.status.code(), Some(1));
    let fs = json_findings(&o);
    let mut codes: Vec<&str> = fs.iter().map(|f| f["code"].as_str().unwrap()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(
        codes,
        [
            "cluster-not-found",
            "exec-command-not-found",
            "kuberc-blocks-kctx",
            "missing-cluster",
            "missing-user",
            "shadowed-entry",
            "sso-session-expired",
            "unknown-aws-profile",
        ]
    );
    assert!(fs.iter().all(|f| f.get("fix").is_none()), "{fs:#?}");
    assert_eq!(
        fs.iter()
            .filter(|f| f["code"] == "exec-command-not-found")
            .count(),
        1,
        "only the oidc plugin: {fs:#?}"
    );
    let (a1, b1) = (std::fs::read(&w.a).unwrap(), std::fs::read(&w.b).unwrap());
    let (ma, mb) = (mtime(&w.a), mtime(&w.b));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let o = run(&mut w.kctx(&["--online", "--fix"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(!stdout(&o).contains("Fixed:"), "{}", stdout(&o));
    assert_eq!(std::fs::read(&w.a).unwrap(), a1);
    assert_eq!(std::fs::read(&w.b).unwrap(), b1);
    assert_eq!((mtime(&w.a), mtime(&w.b)), (ma, mb));
}

#[test]
fn a_kubeconfig_kctx_add_wrote_is_healthy_and_usage_errors_exit_2() {
    let h = Home::new();
    let name = unique("healthy");
    create_cluster(&name, "us-west-2");
    let cfg = h.path().join(".kube/config");
    ok(h.kctx_moto().args(["add", &name]));
    let o = run(h
        .kctx_moto()
        .env("KUBECONFIG", &cfg)
        .args(["doctor", "--online"]));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "No problems found.\n");
    let before = std::fs::read(&cfg).unwrap();
    let o = run(h.kctx_moto().args(["doctor", "--fix", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "{\n  \"findings\": []\n}\n");
    assert_eq!(std::fs::read(&cfg).unwrap(), before);
    // with JSON, what --fix did goes to stderr and stdout holds what remains
    let text = String::from_utf8(before).unwrap();
    let arn = format!("arn:aws:eks:us-west-2:123456789012:cluster/{name}");
    std::fs::write(
        &cfg,
        text.replace(&format!("current-context: {arn}"), "current-context: nope"),
    )
    .unwrap();
    let o = run(h.kctx_moto().args(["doctor", "-o", "json"]));
    assert_eq!(o.status.code(), Some(1));
    let fs = json_findings(&o);
    assert_eq!(fs.len(), 1, "{fs:?}");
    assert_eq!(
        fs[0],
        serde_json::json!({
            "code": "dangling-current-context",
            "severity": "error",
            "message": "current-context is \"nope\", which names no context",
            "file": cfg.display().to_string(),
            "context": "nope",
            "fix": "unset current-context in this file"
        })
    );
    let o = run(h.kctx_moto().args(["doctor", "--fix", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "{\n  \"findings\": []\n}\n");
    assert_eq!(
        stderr(&o),
        format!(
            "kctx: fixed: {0}: context \"nope\": dangling-current-context: unset current-context in this file\nkctx: fixed: wrote {0}\n",
            cfg.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&cfg).unwrap(),
        text.replace(&format!("current-context: {arn}"), "current-context: \"\"")
    );
    let o = run(h.kctx().args(["doctor", "--bogus"]));
    assert_eq!(o.status.code(), Some(2));
}
