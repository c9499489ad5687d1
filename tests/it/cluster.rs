//! Talking to the cluster (issue 11): namespaces from the API (pick, list, check, force,
//! unset, complete), whoami's cluster view, every kind of kubeconfig auth and TLS setting, and
//! unreachable servers — against the TLS test API server, which verifies EKS tokens as EKS does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

const CLUSTER: &str = "test-cluster";
const ADMIN_AK: &str = "AKIDADMIN";
const ADMIN_SK: &str = "adminsecretkey";
const VIEW_AK: &str = "AKIDRESTRICTED";
const VIEW_SK: &str = "restrictedsecret";
const NOBODY_AK: &str = "AKIDNOBODY";
const NOBODY_SK: &str = "nobodysecret";

fn admin() -> Value {
    json!({"username": "kubernetes-admin", "uid": "aws-iam-authenticator:123456789012:AIDAADMIN",
           "groups": ["system:masters", "system:authenticated"],
           "extra": {"arn": ["arn:aws:iam::123456789012:user/admin"], "accessKeyId": [ADMIN_AK]}})
}

fn server(h: &Home, opts: ServerOpts) -> ApiServer {
    let mut opts = opts;
    opts.identities.push((ADMIN_AK.into(), admin()));
    opts.identities.push((
        VIEW_AK.into(),
        json!({"username": "viewer", "groups": ["viewers"], "restricted": true}),
    ));
    if opts.namespaces.is_none() {
        opts.namespaces = Some(
            [
                "default",
                "kube-public",
                "kube-system",
                "web",
                "web-staging",
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    ApiServer::start_with(
        h.path(),
        CLUSTER,
        &[
            (ADMIN_AK, ADMIN_SK),
            (VIEW_AK, VIEW_SK),
            (NOBODY_AK, NOBODY_SK),
        ],
        opts,
    )
}

/// A kubeconfig whose context `eks` runs `kctx token` (bare `kctx`, found on PATH).
fn eks_kubeconfig(h: &Home, s: &ApiServer, ns: Option<&str>) -> PathBuf {
    let ns = ns
        .map(|n| format!("    namespace: {n}\n"))
        .unwrap_or_default();
    h.write(
        ".kube/config",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: eks\n  context:\n    cluster: c\n    user: u\n{ns}current-context: eks\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kctx\n      args: [token, --cluster-name, {CLUSTER}, --region, us-west-2]\n",
            s.url,
            s.ca_data()
        ),
    )
}

fn kctx_as(h: &Home, cfg: &Path, ak: &str, sk: &str) -> Command {
    let mut c = h.kctx();
    c.env("KUBECONFIG", cfg)
        .env("PATH", path_with_kctx(h))
        .env("AWS_ACCESS_KEY_ID", ak)
        .env("AWS_SECRET_ACCESS_KEY", sk)
        .env("AWS_REGION", "us-west-2")
        .env("AWS_ENDPOINT_URL_STS", moto());
    c
}

fn ns_of(cfg: &Path) -> Option<String> {
    let m = merged(&[cfg.to_path_buf()]);
    m.field(kctx::Kind::Contexts, "eks", "namespace")
        .map(str::to_owned)
}

fn requests(s: &ApiServer, path_part: &str) -> Vec<Value> {
    s.requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap_or("").contains(path_part))
        .collect()
}

#[test]
fn ns_sets_checks_suggests_forces_unsets_and_goes_back() {
    let h = Home::new();
    let s = server(&h, ServerOpts::default());
    let cfg = eks_kubeconfig(&h, &s, None);
    let admin = || kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK);
    assert_eq!(ok(admin().args(["ns", "-c"])), "default\n");
    ok(admin().args(["ns", "web"]));
    assert_eq!(ns_of(&cfg).as_deref(), Some("web"));
    assert_eq!(
        requests(&s, "/api/v1/namespaces/web").len(),
        1,
        "the namespace was looked up"
    );
    // a typo: an error naming the closest ones, nothing written
    let o = run(admin().args(["ns", "kube-sytem"]));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("no namespace \"kube-sytem\"")
            && e.contains("\"kube-system\"")
            && e.contains("--force"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    assert_eq!(ns_of(&cfg).as_deref(), Some("web"));
    // --force skips the check
    let before = s.requests().len();
    ok(admin().args(["ns", "not-there-yet", "--force"]));
    assert_eq!(s.requests().len(), before, "--force sends nothing");
    assert_eq!(ns_of(&cfg).as_deref(), Some("not-there-yet"));
    // - goes back; --unset removes the key
    ok(admin().args(["ns", "-"]));
    assert_eq!(ns_of(&cfg).as_deref(), Some("web"));
    ok(admin().args(["ns", "--unset"]));
    assert_eq!(ns_of(&cfg), None);
    assert!(!std::fs::read_to_string(&cfg).unwrap().contains("namespace"));
    assert_eq!(ok(admin().args(["ns", "--current"])), "default\n");
    // an identity that may not get namespaces: set anyway, with one warning (kubectx#416)
    let o = run(kctx_as(&h, &cfg, VIEW_AK, VIEW_SK).args(["ns", "web-staging"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("could not check that namespace \"web-staging\" exists"),
        "{}",
        stderr(&o)
    );
    assert_eq!(ns_of(&cfg).as_deref(), Some("web-staging"));
}

#[test]
fn ns_lists_when_piped_and_picks_on_a_terminal() {
    let h = Home::new();
    let s = server(&h, ServerOpts::default());
    let cfg = eks_kubeconfig(&h, &s, Some("web"));
    let out = ok(kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK).arg("ns"));
    assert_eq!(out, "default\nkube-public\nkube-system\nweb\nweb-staging\n");
    // a terminal: the picker, current marked; type and pick
    let mut c = Command::new("python3");
    c.env_clear()
        .env("HOME", h.path())
        .env("PATH", std::env::var("PATH").unwrap())
        .env("KUBECONFIG", &cfg)
        .env("TERM", "xterm")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", ADMIN_AK)
        .env("AWS_SECRET_ACCESS_KEY", ADMIN_SK)
        .env("AWS_REGION", "us-west-2");
    let o = in_terminal(&mut c, b"kube-sys\r", 2.0, 2.0, &[kctx_bin(), "ns"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("namespace"), "{}", stdout(&o));
    assert_eq!(ns_of(&cfg).as_deref(), Some("kube-system"));
}

#[test]
fn bash_completes_namespaces_from_the_cluster_and_stays_silent_when_it_cannot() {
    let h = Home::new();
    let s = server(&h, ServerOpts::default());
    let cfg = eks_kubeconfig(&h, &s, None);
    let path = path_with_kctx(&h);
    let t = Tmux::start(
        &h,
        "bash",
        &["--norc", "--noprofile"],
        &[
            ("PATH", &path),
            ("KUBECONFIG", &cfg.display().to_string()),
            ("PS1", "$ "),
            ("AWS_ACCESS_KEY_ID", ADMIN_AK),
            ("AWS_SECRET_ACCESS_KEY", ADMIN_SK),
            ("AWS_REGION", "us-west-2"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    t.type_text("source <(kctx completions bash)\n");
    t.wait_for("$ ");
    t.reset();
    t.type_text("kctx ns kube-sy");
    t.keys(&["Tab"]);
    t.wait_for("kctx ns kube-system ");
    // an identity the cluster does not know: no candidates, and nothing printed
    t.keys(&["C-u"]);
    t.type_text("export AWS_ACCESS_KEY_ID=AKIDNOBODY AWS_SECRET_ACCESS_KEY=nobodysecret\n");
    t.reset();
    t.type_text("kctx ns kube-sy");
    t.keys(&["Tab"]);
    std::thread::sleep(Duration::from_secs(2));
    let screen = t.screen();
    assert!(
        !screen.contains("kube-system")
            && !screen.contains("error")
            && !screen.contains("Unauthorized"),
        "{screen}"
    );
}

#[test]
fn whoami_shows_what_the_cluster_sees_and_explains_a_401() {
    let h = Home::new();
    let s = server(&h, ServerOpts::default());
    let cfg = eks_kubeconfig(&h, &s, None);
    // a `kctx` on PATH that would record being run: the exec entry's token must be minted
    // in-process, never by running the plugin
    let spy = h.path().join("spy");
    std::fs::create_dir_all(&spy).unwrap();
    let spy_kctx = spy.join("kctx");
    std::fs::write(
        &spy_kctx,
        format!(
            "#!/bin/sh\ntouch \"$HOME/plugin-ran\"\nexec {} \"$@\"\n",
            kctx_bin()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &spy_kctx,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let spy_path = format!("{}:{}", spy.display(), std::env::var("PATH").unwrap());
    let out = ok(kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK)
        .env("PATH", &spy_path)
        .arg("whoami"));
    assert!(
        !h.path().join("plugin-ran").exists(),
        "the exec plugin ran as a subprocess"
    );
    assert!(out.contains("username:   kubernetes-admin\n"), "{out}");
    assert!(
        out.contains("groups:     system:masters, system:authenticated\n"),
        "{out}"
    );
    assert!(
        out.contains("extra:      accessKeyId=AKIDADMIN  arn=arn:aws:iam::123456789012:user/admin"),
        "{out}"
    );
    assert!(out.contains("account:    "), "the AWS view too: {out}");
    let j: Value = serde_json::from_str(&ok(
        kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK).args(["whoami", "-o", "json"])
    ))
    .unwrap();
    assert_eq!(j["kubernetes"]["username"], "kubernetes-admin");
    assert_eq!(j["kubernetes"]["groups"][0], "system:masters");
    assert!(
        j["caller_arn"].is_string() && j["principal_arn"].is_string(),
        "{j}"
    );
    assert!(requests(&s, "selfsubjectreviews")
        .iter()
        .all(|r| r["access_key"] == ADMIN_AK));
    // an identity the cluster does not map: 401, explained
    let o = run(kctx_as(&h, &cfg, NOBODY_AK, NOBODY_SK).arg("whoami"));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("does not accept this identity (401 Unauthorized)") && e.contains("kctx access"),
        "{e}"
    );
    assert!(
        stdout(&o).contains("caller:"),
        "the AWS side is still shown: {}",
        stdout(&o)
    );
    // --no-cluster asks only AWS
    let before = s.requests().len();
    ok(kctx_as(&h, &cfg, NOBODY_AK, NOBODY_SK).args(["whoami", "--no-cluster"]));
    assert_eq!(s.requests().len(), before);
}

#[test]
fn whoami_falls_back_to_v1beta1_on_older_clusters() {
    let h = Home::new();
    let s = server(
        &h,
        ServerOpts {
            old: true,
            ..Default::default()
        },
    );
    let cfg = eks_kubeconfig(&h, &s, None);
    let out = ok(kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK).args(["whoami", "--no-cluster"]));
    assert!(!out.contains("username"));
    let out = ok(kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK).arg("whoami"));
    assert!(out.contains("username:   kubernetes-admin"), "{out}");
    assert!(!requests(&s, "/v1beta1/selfsubjectreviews").is_empty());
}

#[test]
fn other_auth_kinds_a_static_token_and_another_exec_plugin() {
    let h = Home::new();
    let s = server(
        &h,
        ServerOpts {
            identities: vec![
                (
                    "token:static-token-123".into(),
                    json!({"username": "static-user", "groups": ["ops"]}),
                ),
                (
                    "token:from-plugin-456".into(),
                    json!({"username": "plugin-user", "groups": ["devs"]}),
                ),
            ],
            ..Default::default()
        },
    );
    // a plugin that is not kctx (e.g. gke-gcloud-auth-plugin), relative to the kubeconfig
    let plugin = h.write(
        ".kube/plugins/other-plugin",
        "#!/bin/sh\necho \"$KUBERNETES_EXEC_INFO\" > \"$HOME/plugin-exec-info\"\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"from-plugin-456\"}}'\n",
    );
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let cfg = h.write(
        ".kube/config",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: static\n  context: {{cluster: c, user: static}}\n- name: plugin\n  context: {{cluster: c, user: plugin}}\ncurrent-context: static\nusers:\n- name: static\n  user: {{token: static-token-123}}\n- name: plugin\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./plugins/other-plugin\n      interactiveMode: Never\n",
            s.url,
            s.ca_data()
        ),
    );
    let k = || {
        let mut c = h.kctx();
        c.env("KUBECONFIG", &cfg);
        c
    };
    let out = ok(k().arg("whoami"));
    assert!(
        out.contains("context:    static\nusername:   static-user\n"),
        "{out}"
    );
    assert_eq!(ok(k().arg("ns")).lines().count(), 5);
    let out = ok(k().args(["whoami", "--context", "plugin"]));
    assert!(out.contains("username:   plugin-user"), "{out}");
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(h.path().join("plugin-exec-info")).unwrap())
            .unwrap();
    assert_eq!(
        info,
        json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "spec": {"interactive": false}}),
        "the plugin got client-go's KUBERNETES_EXEC_INFO"
    );

    // the plugin runs once per command (kube-rs would run it up to three times)
    let count = h.path().join("plugin-runs");
    let counting = h.write(
        ".kube/plugins/counting",
        &format!(
            "#!/bin/sh\necho run >> {}\nexec \"$(dirname \"$0\")/other-plugin\"\n",
            count.display()
        ),
    );
    std::fs::set_permissions(
        &counting,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let swap = |from: &str, to: &str| {
        let text = std::fs::read_to_string(&cfg).unwrap().replace(from, to);
        std::fs::write(&cfg, text).unwrap();
    };
    swap("./plugins/other-plugin", "./plugins/counting");
    ok(k().args(["whoami", "--context", "plugin"]));
    assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 1);

    // a plugin that stalls is bounded by --request-timeout: one line, the plugin named
    let slow = h.write(
        ".kube/plugins/slow",
        "#!/bin/sh
sleep 30
",
    );
    std::fs::set_permissions(&slow, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    swap("./plugins/counting", "./plugins/slow");
    let t = Instant::now();
    let o = run(k().args(["whoami", "--context", "plugin", "--request-timeout", "1s"]));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.starts_with("kctx: error: user \"plugin\" of context \"plugin\" (https://127.0.0.1:")
            && e.contains("plugins/slow` gave no credential within 1s")
            && e.contains("gave no credential within")
            && e.lines().count() == 1,
        "{e}"
    );
    // a missing plugin: named, with its install hint
    swap(
        "command: ./plugins/slow",
        "command: no-such-plugin-kctx\n      installHint: 'install it with: brew install no-such-plugin'",
    );
    let e = stderr(&run(k().args(["whoami", "--context", "plugin"])));
    assert!(
        e.contains("its exec plugin `no-such-plugin-kctx` is not installed (not found) (install it with: brew install no-such-plugin)")
            && e.lines().count() == 1,
        "{e}"
    );
}

#[test]
fn a_server_without_scheme_and_proxies_chosen_as_kubectl_chooses_them() {
    let h = Home::new();
    let s = server(&h, ServerOpts::default());
    // `server: 127.0.0.1:PORT` with a CA: https, as client-go defaults it (kube-rs panicked)
    let bare = s.url.trim_start_matches("https://");
    let cfg = h.write(
        ".kube/config",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {bare}\n    certificate-authority-data: {}\ncontexts:\n- name: eks\n  context: {{cluster: c, user: u}}\ncurrent-context: eks\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kctx\n      args: [token, --cluster-name, {CLUSTER}, --region, us-west-2]\n",
            s.ca_data()
        ),
    );
    let out = ok(kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK).arg("whoami"));
    assert!(out.contains("kubernetes-admin"), "{out}");
    // CA data that is not a certificate: said as such, not as an unknown issuer later
    let good = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, good.replace(&s.ca_data(), "bm90IGEgY2VydA==")).unwrap();
    let e = stderr(&run(kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK).arg("whoami")));
    assert!(
        e.contains("cluster \"c\" of context \"eks\": its certificate-authority-data is not a PEM certificate"),
        "{e}"
    );
    std::fs::write(&cfg, good).unwrap();
    // a proxy from the environment is not used for a loopback server (Go's rule), and an
    // empty NO_PROXY entry is no error (kube-rs failed every call on both)
    let out = ok(kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK)
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "example.com,,")
        .arg("whoami"));
    assert!(out.contains("kubernetes-admin"), "{out}");
    // the cluster's own proxy-url is always used (here a dead one: the call fails)
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "    certificate-authority-data",
        "    proxy-url: http://127.0.0.1:9\n    certificate-authority-data",
    );
    std::fs::write(&cfg, text).unwrap();
    let o = run(kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK).args(["whoami", "--request-timeout", "2s"]));
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("cannot reach the cluster of context \"eks\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn minting_a_kctx_token_is_bounded_too() {
    // an assume-role through an STS endpoint that accepts and never answers
    let h = Home::new();
    let s = server(&h, ServerOpts::default());
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sts = format!("http://{}", silent.local_addr().unwrap());
    let cfg = h.write(
        ".kube/config",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: role\n  context: {{cluster: c, user: u}}\ncurrent-context: role\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kctx\n      args: [token, --cluster-name, {CLUSTER}, --region, us-west-2, --role-arn, 'arn:aws:iam::123456789012:role/x']\n",
            s.url,
            s.ca_data()
        ),
    );
    let t = Instant::now();
    let o = run(kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK)
        .env("AWS_ENDPOINT_URL_STS", &sts)
        .args(["ns", "--request-timeout", "1s"]));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("user \"u\" of context \"role\": minting its token took longer than 1s")
            && e.lines().count() == 1,
        "{e}"
    );
    drop(silent);
}

#[test]
fn tls_server_name_and_a_ca_file_path() {
    let h = Home::new();
    let s = server(
        &h,
        ServerOpts {
            san: Some("DNS:api.kctx-test.internal".into()),
            ..Default::default()
        },
    );
    // the CA as a file next to the kubeconfig, named relatively
    h.write(".kube/ca.crt", &s.ca_pem);
    let base = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority: ca.crt\n__TLS__contexts:\n- name: eks\n  context: {{cluster: c, user: u}}\ncurrent-context: eks\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kctx\n      args: [token, --cluster-name, {CLUSTER}, --region, us-west-2]\n",
        s.url
    );
    let cfg = h.write(
        ".kube/config",
        &base.replace("__TLS__", "    tls-server-name: api.kctx-test.internal\n"),
    );
    let out = ok(kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK).arg("whoami"));
    assert!(out.contains("kubernetes-admin"), "{out}");
    // without tls-server-name the certificate does not match 127.0.0.1: refused, one line
    std::fs::write(&cfg, base.replace("__TLS__", "")).unwrap();
    let o = run(kctx_as(&h, &cfg, ADMIN_AK, ADMIN_SK).arg("ns"));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains(&s.url) && e.contains("\"eks\""), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn unreachable_servers_fail_within_the_timeout_naming_server_and_context() {
    let h = Home::new();
    // a closed port
    let port = free_port();
    let cfg = h.write(
        ".kube/config",
        &format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:{port}'}}\ncontexts:\n- name: dead\n  context: {{cluster: c, user: u}}\ncurrent-context: dead\nusers:\n- name: u\n  user: {{token: t}}\n"),
    );
    let t = Instant::now();
    let o = run(h
        .kctx()
        .env("KUBECONFIG", &cfg)
        .args(["ns", "web", "--request-timeout", "2s"]));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains(&format!("https://127.0.0.1:{port}"))
            && e.contains("\"dead\"")
            && e.contains("--force"),
        "{e}"
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // a server that accepts the connection and never answers
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sport = silent.local_addr().unwrap().port();
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace(&port.to_string(), &sport.to_string()),
    )
    .unwrap();
    let t = Instant::now();
    let o = run(h
        .kctx()
        .env("KUBECONFIG", &cfg)
        .args(["whoami", "--request-timeout", "1s"]));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("cannot reach the cluster of context \"dead\"") && e.contains("limit 1s"),
        "{e}"
    );
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(silent);
}

#[test]
fn a_black_holed_address_fails_within_the_timeout() {
    // SYNs that are never answered: a private network namespace with a route into a veth
    // whose far end never replies (needs root and unshare; skipped otherwise)
    let probe = Command::new("unshare").args(["-n", "true"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: needs `unshare -n` (root)");
        return;
    }
    let h = Home::new();
    let cfg = h.write(
        ".kube/config",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://10.99.0.2:443'}\ncontexts:\n- name: far\n  context: {cluster: c, user: u}\ncurrent-context: far\nusers:\n- name: u\n  user: {token: t}\n",
    );
    let script = format!(
        "ip link set lo up && ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up && ip addr add 10.99.0.1/24 dev v0 && ip neigh add 10.99.0.2 lladdr 02:00:00:00:00:02 dev v0 nud permanent && exec {} ns web --request-timeout 1500ms",
        kctx_bin()
    );
    let t = Instant::now();
    let o = h
        .cmd("unshare")
        .env("KUBECONFIG", &cfg)
        .args(["-n", "sh", "-c", &script])
        .output()
        .unwrap();
    let took = t.elapsed();
    let e = stderr(&o);
    if e.contains("Operation not supported") || e.contains("RTNETLINK") {
        eprintln!("skipped: cannot make a veth here: {e}");
        return;
    }
    assert!(!o.status.success());
    assert!(
        e.contains("https://10.99.0.2:443") && e.contains("\"far\"") && e.contains("limit 1500ms"),
        "{e}"
    );
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(4),
        "{took:?}: {e}"
    );
}
