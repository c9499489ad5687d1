//! `kctx add` side by side with `aws eks update-kubeconfig`, against moto's EKS, and kubectl
//! reading back what was written.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

/// Output with the (per-test) home directory masked, to compare the AWS CLI's and kctx's.
fn masked(out: &str, h: &Home) -> String {
    out.replace(&h.path().display().to_string(), "HOME")
}

/// The document with every user's exec entry removed (the only place the two may differ).
fn without_exec(mut v: Value) -> Value {
    if let Some(users) = v.get_mut("users").and_then(Value::as_array_mut) {
        for u in users {
            if let Some(body) = u.get_mut("user").and_then(Value::as_object_mut) {
                body.remove("exec");
            }
        }
    }
    v
}

/// Runs `aws eks update-kubeconfig` in one home and `kctx add` in another with the same
/// arguments and starting file; asserts equal documents (key order included) but for exec.
fn side_by_side(start: Option<&str>, name: &str, extra: &[&str]) -> (Home, Home, String, String) {
    let (ha, hk) = (Home::new(), Home::new());
    if let Some(s) = start {
        ha.write(".kube/config", s);
        hk.write(".kube/config", s);
    }
    let a = ok(ha
        .aws_moto()
        .args(["eks", "update-kubeconfig", "--name", name])
        .args(extra));
    let k = ok(hk.kctx_moto().args(["add", name]).args(extra));
    let ya = yaml(&ha.path().join(".kube/config"));
    let yk = yaml(&hk.path().join(".kube/config"));
    assert_eq!(
        without_exec(ya),
        without_exec(yk),
        "documents differ beyond exec"
    );
    assert_eq!(masked(&a, &ha), masked(&k, &hk), "printed messages differ");
    (ha, hk, a, k)
}

fn exec_of(h: &Home, user: &str) -> Value {
    let doc = yaml(&h.path().join(".kube/config"));
    doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == user)
        .unwrap()["user"]["exec"]
        .clone()
}

const FOREIGN: &str = r#"# a file other tools wrote
apiVersion: v1
kind: Config
preferences:
  colors: true
  extensions:
  - name: prefs-ext
    extension: {any: thing}
clusters:
- name: kind-dev
  cluster:
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true
    x-vendor-field: {nested: [1, 2, {deep: "x"}]}
  extra-top: keep me
contexts:
- name: kind-dev
  context: {cluster: kind-dev, user: kind-dev, namespace: "no"}
users:
- name: kind-dev
  user:
    token: abc
    exec: null
current-context: kind-dev
extensions:
- name: top-ext
  extension: {hello: world}
x-unknown-top: [a, b]
"#;

#[test]
fn fresh_home_matches_update_kubeconfig() {
    let name = unique("fresh");
    let arn = create_cluster(&name, "us-west-2");
    let (_ha, hk, a, _) = side_by_side(None, &name, &[]);
    assert_eq!(
        a,
        format!(
            "Added new context {arn} to {}/.kube/config\n",
            _ha.path().display()
        )
    );
    let exec = exec_of(&hk, &arn);
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert_eq!(
        exec["command"],
        kctx_bin(),
        "kctx is not on PATH here: absolute path"
    );
    assert_eq!(
        exec["args"],
        json!(["token", "--cluster-name", name, "--region", "us-west-2"])
    );
    assert!(exec.get("env").is_none());
    let cfg = hk.path().join(".kube/config");
    assert_eq!(
        std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!hk.path().join(".kube/config.lock").exists());
}

#[test]
fn exec_aws_is_byte_identical_to_update_kubeconfig() {
    let name = unique("bytes");
    create_cluster(&name, "us-west-2");
    let (ha, hk) = (Home::new(), Home::new());
    ok(ha.aws_moto().args([
        "eks",
        "update-kubeconfig",
        "--name",
        &name,
        "--alias",
        "sandbox",
    ]));
    ok(hk
        .kctx_moto()
        .args(["add", &name, "--alias", "sandbox", "--exec", "aws"]));
    assert_eq!(
        std::fs::read_to_string(ha.path().join(".kube/config")).unwrap(),
        std::fs::read_to_string(hk.path().join(".kube/config")).unwrap()
    );
}

#[test]
fn merging_keeps_foreign_entries_unknown_fields_and_order() {
    let name = unique("merge");
    let arn = create_cluster(&name, "us-west-2");
    let (_ha, hk, _, _) = side_by_side(Some(FOREIGN), &name, &[]);
    let doc = yaml(&hk.path().join(".kube/config"));
    let scratch = Home::new();
    let before = yaml(&scratch.write("f", FOREIGN));
    // every foreign entry and unknown key survives, in order
    assert_eq!(doc["clusters"][0], before["clusters"][0]);
    assert_eq!(doc["contexts"][0], before["contexts"][0]);
    assert_eq!(doc["users"][0], before["users"][0]);
    for k in [
        "preferences",
        "extensions",
        "x-unknown-top",
        "apiVersion",
        "kind",
    ] {
        assert_eq!(doc[k], before[k], "{k}");
    }
    let keys: Vec<_> = doc.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "apiVersion",
            "kind",
            "preferences",
            "clusters",
            "contexts",
            "users",
            "current-context",
            "extensions",
            "x-unknown-top"
        ]
    );
    assert_eq!(doc["current-context"], arn.as_str());
    assert_eq!(doc["clusters"][1]["name"], arn.as_str());
    // kubectl reads the strings the same as before (namespace "no" stays a string)
    let view = kubectl_view(&hk, &hk.path().join(".kube/config").display().to_string());
    let ns = view["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kind-dev")
        .unwrap()["context"]["namespace"]
        .clone();
    assert_eq!(ns, "no");
}

#[test]
fn adding_twice_updates_in_place_and_keeps_the_namespace() {
    let name = unique("twice");
    let arn = create_cluster(&name, "us-west-2");
    let (ha, hk, _, _) = side_by_side(Some(FOREIGN), &name, &[]);
    // add again: "Updated", same document as the AWS CLI's second run
    let a = ok(ha
        .aws_moto()
        .args(["eks", "update-kubeconfig", "--name", &name]));
    let k = ok(hk.kctx_moto().args(["add", &name]));
    assert!(a.starts_with(&format!("Updated context {arn} in ")), "{a}");
    assert_eq!(masked(&a, &ha), masked(&k, &hk));
    assert_eq!(
        without_exec(yaml(&ha.path().join(".kube/config"))),
        without_exec(yaml(&hk.path().join(".kube/config")))
    );
    // a namespace set on kctx's context survives a re-add (update-kubeconfig drops it)
    ok(hk
        .cmd("kubectl")
        .env("KUBECONFIG", hk.path().join(".kube/config"))
        .args(["config", "set-context", &arn, "--namespace", "team-a"]));
    ok(hk.kctx_moto().args(["add", &name]));
    let doc = yaml(&hk.path().join(".kube/config"));
    let ctx = doc["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == arn.as_str())
        .unwrap()
        .clone();
    assert_eq!(ctx["context"]["namespace"], "team-a");
    assert_eq!(doc["contexts"].as_array().unwrap().len(), 2);
}

#[test]
fn aliases_profile_role_and_proxy() {
    let name = unique("alias");
    let arn = create_cluster(&name, "us-west-2");
    let (_ha, hk, a, _) = side_by_side(
        None,
        &name,
        &["--alias", "sandbox", "--user-alias", "sandbox-user"],
    );
    assert!(a.starts_with("Added new context sandbox to "), "{a}");
    let doc = yaml(&hk.path().join(".kube/config"));
    assert_eq!(
        doc["contexts"][0],
        json!({"context": {"cluster": arn, "user": "sandbox-user"}, "name": "sandbox"})
    );
    // profile and role, and a proxy URL (the AWS CLI must not fetch http:// parameters)
    let (ha, hk) = (Home::new(), Home::new());
    for h in [&ha, &hk] {
        h.write(
            ".aws/credentials",
            &format!("[team]\naws_access_key_id = {AK}\naws_secret_access_key = {SK}\n"),
        );
        h.write(
            ".aws/config",
            "[profile team]\nregion = us-west-2\ncli_follow_urlparam = false\n",
        );
    }
    let role = "arn:aws:iam::123456789012:role/eks-admins";
    let args = [
        "--profile",
        "team",
        "--role-arn",
        role,
        "--proxy-url",
        "http://proxy.internal:3128",
    ];
    let a = ok(ha
        .aws_moto()
        .env_remove("AWS_ACCESS_KEY_ID")
        .args(["eks", "update-kubeconfig", "--name", &name])
        .args(args));
    let k = ok(hk
        .kctx_moto()
        .env_remove("AWS_ACCESS_KEY_ID")
        .args(["add", &name])
        .args(args));
    assert_eq!(masked(&a, &ha), masked(&k, &hk));
    assert_eq!(
        without_exec(yaml(&ha.path().join(".kube/config"))),
        without_exec(yaml(&hk.path().join(".kube/config")))
    );
    let exec = exec_of(&hk, &arn);
    assert_eq!(
        exec["args"],
        json!([
            "token",
            "--cluster-name",
            name,
            "--region",
            "us-west-2",
            "--role-arn",
            role
        ])
    );
    assert_eq!(
        exec["env"],
        json!([{"name": "AWS_PROFILE", "value": "team"}])
    );
    let aexec = exec_of(&ha, &arn);
    assert_eq!(aexec["env"], exec["env"]);
    assert_eq!(
        yaml(&hk.path().join(".kube/config"))["clusters"][0]["cluster"]["proxy-url"],
        "http://proxy.internal:3128"
    );
}

#[test]
fn kubeconfig_env_with_two_files_and_explicit_path() {
    let name = unique("twofiles");
    let arn = create_cluster(&name, "us-west-2");
    let other = unique("twofiles-other");
    let arn2 = create_cluster(&other, "us-west-2");
    let (ha, hk) = (Home::new(), Home::new());
    for h in [&ha, &hk] {
        h.write("one.yaml", "apiVersion: v1\nkind: Config\nclusters: []\n");
        h.write("two.yaml", &format!("apiVersion: v1\nkind: Config\nclusters:\n- name: {arn2}\n  cluster: {{server: https://old}}\n"));
    }
    let kc = |h: &Home| {
        format!(
            "{}:{}",
            h.path().join("one.yaml").display(),
            h.path().join("two.yaml").display()
        )
    };
    // new entry -> first file
    let a = ok(ha.aws_moto().env("KUBECONFIG", kc(&ha)).args([
        "eks",
        "update-kubeconfig",
        "--name",
        &name,
    ]));
    let k = ok(hk
        .kctx_moto()
        .env("KUBECONFIG", kc(&hk))
        .args(["add", &name]));
    assert!(k.ends_with("one.yaml\n"), "{k}");
    assert_eq!(masked(&a, &ha), masked(&k, &hk));
    // existing cluster -> the file that has it
    let a = ok(ha.aws_moto().env("KUBECONFIG", kc(&ha)).args([
        "eks",
        "update-kubeconfig",
        "--name",
        &other,
    ]));
    let k = ok(hk
        .kctx_moto()
        .env("KUBECONFIG", kc(&hk))
        .args(["add", &other]));
    // the AWS CLI says "Updated" because the cluster was there; the context was not, and
    // kctx says so (issue 13)
    assert!(a.starts_with(&format!("Updated context {arn2} in ")), "{a}");
    assert!(
        k.starts_with(&format!("Added new context {arn2} to ")) && k.ends_with("two.yaml\n"),
        "{k}"
    );
    assert_eq!(
        masked(&a, &ha)
            .replacen("Updated context", "Added new context", 1)
            .replacen(" in HOME/", " to HOME/", 1),
        masked(&k, &hk)
    );
    // Same entries in the same files. One difference, on purpose: update-kubeconfig sets
    // current-context only in two.yaml, where one.yaml's current-context shadows it (kubectl
    // stays on the old context); kctx also sets it in one.yaml, so kubectl switches.
    for f in ["one.yaml", "two.yaml"] {
        let mut want = without_exec(yaml(&ha.path().join(f)));
        if f == "one.yaml" {
            want["current-context"] = serde_json::Value::String(arn2.clone());
        }
        assert_eq!(want, without_exec(yaml(&hk.path().join(f))), "{f}");
    }
    let kubectl_current = |h: &Home| {
        ok(h.cmd("kubectl")
            .env("KUBECONFIG", kc(h))
            .args(["config", "current-context"]))
    };
    assert_eq!(kubectl_current(&hk).trim(), arn2);
    assert_eq!(
        kubectl_current(&ha).trim(),
        arn,
        "the AWS CLI's switch is shadowed"
    );
    // --kubeconfig with ~ wins over KUBECONFIG
    let out = ok(hk.kctx_moto().env("KUBECONFIG", kc(&hk)).args([
        "add",
        &name,
        "--kubeconfig",
        "~/explicit/kc",
    ]));
    assert!(
        out.ends_with(&format!("{}/explicit/kc\n", hk.path().display())),
        "{out}"
    );
    assert!(yaml(&hk.path().join("explicit/kc"))["clusters"][0]["name"] == arn.as_str());
}

#[test]
fn dry_run_prints_and_writes_nothing() {
    let name = unique("dry");
    let arn = create_cluster(&name, "us-west-2");
    let h = Home::new();
    let cfg = h.write(".kube/config", FOREIGN);
    let out = ok(h.kctx_moto().args(["add", &name, "--dry-run"]));
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), FOREIGN);
    assert!(!h.path().join(".kube/config.lock").exists());
    let printed = kctx::KubeFile::parse(Path::new("stdout"), out.clone().into_bytes()).unwrap();
    assert_eq!(printed.current_context(), Some(arn.as_str()));
    assert!(printed.has(kctx::Kind::Clusters, "kind-dev"));
    // fresh home: nothing created
    let h2 = Home::new();
    ok(h2.kctx_moto().args(["add", &name, "--dry-run"]));
    assert!(!h2.path().join(".kube").exists());
}

#[test]
fn symlinked_kubeconfig_stays_a_symlink_and_modes_are_kept() {
    let name = unique("link");
    create_cluster(&name, "us-west-2");
    let h = Home::new();
    let real = h.write("dotfiles/kubeconfig", FOREIGN);
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::create_dir_all(h.path().join(".kube")).unwrap();
    std::os::unix::fs::symlink("../dotfiles/kubeconfig", h.path().join(".kube/config")).unwrap();
    ok(h.kctx_moto().args(["add", &name]));
    let link = h.path().join(".kube/config");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(yaml(&real)["clusters"].as_array().unwrap().len(), 2);
}

#[test]
fn yaml_11_words_read_back_identically_in_kubectl() {
    let name = unique("yaml11");
    create_cluster(&name, "us-west-2");
    let h = Home::new();
    let start = r#"apiVersion: v1
kind: Config
clusters:
- name: "on"
  cluster: {server: "https://127.0.0.1:1", tls-server-name: "0777"}
contexts:
- name: "yes"
  context: {cluster: "on", user: "1e3", namespace: "null"}
- name: "y"
  context: {cluster: "on", user: "1e3", namespace: "no"}
users:
- name: "1e3"
  user: {username: "off", password: "0x1F"}
current-context: "yes"
"#;
    let cfg = h.write(".kube/config", start);
    let kc = cfg.display().to_string();
    let before = kubectl_view(&h, &kc);
    ok(h.kctx_moto()
        .args(["add", &name, "--alias", "NO", "--user-alias", "0777"]));
    let after = kubectl_view(&h, &kc);
    // kubectl lists entries sorted by name: compare each old entry by name
    let by_name = |doc: &Value, kind: &str, name: &str| {
        doc[kind]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap()
    };
    for (kind, name) in [
        ("clusters", "on"),
        ("users", "1e3"),
        ("contexts", "yes"),
        ("contexts", "y"),
    ] {
        assert_eq!(
            by_name(&after, kind, name),
            by_name(&before, kind, name),
            "{kind} {name}"
        );
    }
    assert_eq!(
        by_name(&before, "contexts", "y")["context"]["namespace"],
        "no"
    );
    assert_eq!(by_name(&before, "users", "1e3")["user"]["password"], "0x1F");
    assert_eq!(after["current-context"], "NO");
    let new_ctx = after["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "NO")
        .unwrap()
        .clone();
    assert_eq!(new_ctx["context"]["user"], "0777");
}

#[test]
fn bad_input_leaves_the_file_untouched() {
    let name = unique("bad");
    create_cluster(&name, "us-west-2");
    let h = Home::new();
    // unknown cluster: names cluster and region
    let o = run(h.kctx_moto().args(["add", "no-such-cluster"]));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("\"no-such-cluster\"")
            && e.contains("us-west-2")
            && e.starts_with("kctx: error: "),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
    assert!(!h.path().join(".kube/config").exists());
    for (content, want) in [
        ("clusters: [\n  - name: a\n", "invalid YAML"),
        (
            "apiVersion: v1\nclusters:\n  name: x\n",
            "`clusters` must be a list",
        ),
        ("users:\n- name: [1]\n", "users[0].name must be a string"),
    ] {
        let cfg = h.write(".kube/config", content);
        let o = run(h.kctx_moto().args(["add", &name]));
        assert!(!o.status.success(), "{content:?}");
        let e = stderr(&o);
        assert!(
            e.contains(&cfg.display().to_string()) && e.contains(want),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
        assert_eq!(
            std::fs::read_to_string(&cfg).unwrap(),
            content,
            "file changed"
        );
        assert!(!h.path().join(".kube/config.lock").exists());
    }
    // an unwritable location says so
    let blocker = h.write("blocker", "x");
    let o = run(h
        .kctx_moto()
        .args(["add", &name, "--kubeconfig"])
        .arg(blocker.join("config")));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("blocker"), "{}", stderr(&o));
}

#[test]
fn a_held_lock_makes_add_fail_cleanly() {
    let name = unique("locked");
    create_cluster(&name, "us-west-2");
    let h = Home::new();
    let cfg = h.write(".kube/config", FOREIGN);
    let lock = h.write(".kube/config.lock", "");
    let start = Instant::now();
    let o = run(h.kctx_moto().args(["add", &name]));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains(&lock.display().to_string()), "{e}");
    assert!(start.elapsed() < Duration::from_secs(30), "bounded wait");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), FOREIGN);
    assert!(lock.exists(), "someone else's lock is not ours to remove");
}

#[test]
fn twelve_parallel_adds_keep_all_twelve() {
    let names: Vec<String> = (0..12).map(|_| unique("par")).collect();
    let arns: Vec<String> = names
        .iter()
        .map(|n| create_cluster(n, "us-west-2"))
        .collect();
    let h = Home::new();
    h.write(".kube/config", FOREIGN);
    let children: Vec<_> = names
        .iter()
        .map(|n| {
            h.kctx_moto()
                .args(["add", n])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let doc = yaml(&h.path().join(".kube/config"));
    for kind in ["clusters", "users", "contexts"] {
        let got: Vec<&str> = doc[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(got.len(), 13, "{kind}: {got:?}");
        for arn in &arns {
            assert!(got.contains(&arn.as_str()), "{kind} lost {arn}");
        }
    }
}

#[test]
fn kill_9_mid_write_never_leaves_a_broken_file() {
    let name = unique("kill");
    create_cluster(&name, "us-west-2");
    let h = Home::new();
    // a large file: 1,500 contexts
    let mut big = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for i in 0..1500 {
        big.push_str(&format!("- name: c{i}\n  cluster: {{server: \"https://10.0.{}.{}:443\", certificate-authority-data: {}}}\n", i / 250, i % 250, "QUJD".repeat(300)));
    }
    big.push_str("contexts:\n");
    for i in 0..1500 {
        big.push_str(&format!(
            "- name: ctx{i}\n  context: {{cluster: c{i}, user: u{i}}}\n"
        ));
    }
    big.push_str("users:\n");
    for i in 0..1500 {
        big.push_str(&format!("- name: u{i}\n  user: {{token: t{i}}}\n"));
    }
    let cfg = h.write(".kube/config", &big);
    let mut seed = std::process::id() as u64;
    for round in 0..15 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_micros((seed >> 33) % 400_000);
        let mut child = h
            .kctx_moto()
            .args(["add", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let doc = kctx::KubeFile::load(&cfg)
            .unwrap_or_else(|e| panic!("round {round} (after {delay:?}): broken file: {e}"));
        assert!(
            doc.names(kctx::Kind::Contexts).count() >= 1500,
            "round {round}: entries lost"
        );
        // a killed writer leaves its lock behind, as client-go's would; clear it for the next round
        let _ = std::fs::remove_file(h.path().join(".kube/config.lock"));
    }
    // and an add that is not killed completes on the same file
    ok(h.kctx_moto().args(["add", &name]));
    let doc = kctx::KubeFile::load(&cfg).unwrap();
    assert_eq!(doc.names(kctx::Kind::Contexts).count(), 1501);
    assert!(doc
        .current_context()
        .unwrap()
        .ends_with(&format!("cluster/{name}")));
}

#[test]
fn kubectl_authenticates_through_the_kubeconfig_add_wrote() {
    let name = unique("e2e");
    let arn = create_cluster(&name, "us-west-2");
    let h = Home::new();
    ok(h.kctx_moto().args(["add", &name]));
    let srv = ApiServer::start(h.path(), &name, &[(AK, SK)]);
    let ca = h.write("ca.crt", &srv.ca_pem);
    let cfg = h.path().join(".kube/config");
    ok(h.cmd("kubectl")
        .env("KUBECONFIG", &cfg)
        .args([
            "config",
            "set-cluster",
            &arn,
            "--server",
            &srv.url,
            "--embed-certs",
            "--certificate-authority",
        ])
        .arg(&ca));
    let out = ok(h
        .cmd("kubectl")
        .env("KUBECONFIG", &cfg)
        .env("AWS_ACCESS_KEY_ID", AK)
        .env("AWS_SECRET_ACCESS_KEY", SK)
        .args(["get", "--raw", "/version"]));
    assert!(out.contains("v1.31.0-eks-test"), "{out}");
    assert!(srv.requests().iter().all(|r| r["ok"] == true));
}

#[test]
fn clusters_not_ready_are_refused_naming_the_status() {
    let h = Home::new();
    let eks = FakeEks::start(
        h.path(),
        &json!({"clusters": {"creating": {"status": "CREATING", "entries": {}}}}),
    );
    let cfg = h.write(".kube/config", FOREIGN);
    let o = run(h
        .kctx_moto()
        .env("AWS_ENDPOINT_URL_EKS", &eks.url)
        .args(["add", "creating"]));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("\"creating\" is CREATING, not ACTIVE or UPDATING"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), FOREIGN);
}

#[test]
fn outposts_clusters_are_addressed_by_id_as_update_kubeconfig_does() {
    let (ha, hk) = (Home::new(), Home::new());
    let eks = FakeEks::start(
        ha.path(),
        &json!({"clusters": {"edge": {"outpost": true, "entries": {}}}}),
    );
    ok(ha.aws_moto().env("AWS_ENDPOINT_URL_EKS", &eks.url).args([
        "eks",
        "update-kubeconfig",
        "--name",
        "edge",
    ]));
    ok(hk
        .kctx_moto()
        .env("AWS_ENDPOINT_URL_EKS", &eks.url)
        .args(["add", "edge"]));
    let arn = "arn:aws:eks:us-west-2:123456789012:cluster/edge";
    let id = "2f0ac4b2-7d3e-4b8a-9f1e-0123456789ab";
    assert_eq!(
        exec_of(&ha, arn)["args"],
        json!([
            "--region",
            "us-west-2",
            "eks",
            "get-token",
            "--cluster-id",
            id,
            "--output",
            "json"
        ])
    );
    assert_eq!(
        exec_of(&hk, arn)["args"],
        json!(["token", "--cluster-id", id, "--region", "us-west-2"])
    );
    assert_eq!(
        without_exec(yaml(&ha.path().join(".kube/config"))),
        without_exec(yaml(&hk.path().join(".kube/config")))
    );
}

#[test]
fn assume_role_arn_is_used_only_to_read_the_cluster() {
    let name = unique("xacct");
    let arn = create_cluster(&name, "us-west-2");
    let h = Home::new();
    let reader = format!(
        "arn:aws:iam::123456789012:role/reader-{}",
        std::process::id()
    );
    ok(h.kctx_moto()
        .args(["add", &name, "--assume-role-arn", &reader]));
    let s = moto_assumed(&reader);
    assert_eq!(s.len(), 1, "one AssumeRole for DescribeCluster");
    assert_eq!(s[0]["session_name"], "EKSDescribeClusterSession");
    let exec = exec_of(&h, &arn);
    assert!(
        !exec.to_string().contains("reader-"),
        "the read-only role stays out of the user: {exec}"
    );
}

#[test]
fn exec_command_is_the_bare_name_when_path_finds_this_binary_and_verbose_shows_entries() {
    let name = unique("bare");
    let arn = create_cluster(&name, "us-west-2");
    let h = Home::new();
    let path = path_with_kctx(&h);
    let out = ok(h
        .kctx_moto()
        .env("PATH", &path)
        .args(["add", &name, "--verbose"]));
    assert_eq!(exec_of(&h, &arn)["command"], "kctx");
    // --verbose: the message, then the context, user and cluster entries, as update-kubeconfig
    let (msg, rest) = out.split_once('\n').unwrap();
    assert!(msg.starts_with("Added new context "), "{out}");
    assert!(rest.starts_with("Entries:\n\n"), "{out}");
    let docs: Vec<&str> = rest["Entries:\n\n".len()..]
        .split("\n\n")
        .filter(|d| !d.trim().is_empty())
        .collect();
    assert_eq!(docs.len(), 3, "{out}");
    assert!(
        docs[0].starts_with("context:")
            && docs[1].starts_with("name:")
            && docs[2].starts_with("cluster:"),
        "{out}"
    );
    assert!(docs[1].contains("command: kctx"));
}
