//! kubectl itself running `kctx token` as its exec plugin, against a TLS API server that
//! authenticates EKS tokens (format rules + SigV4 recomputed for its own cluster name).

use crate::common::*;

fn kubectl(h: &Home, kubeconfig: &std::path::Path) -> std::process::Command {
    let mut c = h.cmd("kubectl");
    c.arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["get", "--raw", "/version"]);
    c
}

#[test]
fn kubectl_authenticates_and_reuses_the_cached_token() {
    let h = Home::new();
    let srv = ApiServer::start(h.path(), "alpha", &[(AK, SK)]);
    let kc = h.write(
        "kubeconfig",
        &exec_kubeconfig(
            &srv,
            "client.authentication.k8s.io/v1beta1",
            &["token", "--cluster-name", "alpha", "--region", "us-west-2"],
            &[("AWS_ACCESS_KEY_ID", AK), ("AWS_SECRET_ACCESS_KEY", SK)],
        ),
    );
    for _ in 0..5 {
        let out = ok(&mut kubectl(&h, &kc));
        assert!(out.contains("v1.31.0-eks-test"), "{out}");
    }
    let reqs = srv.requests();
    assert!(reqs.len() >= 5);
    assert!(reqs.iter().all(|r| r["ok"] == true), "{reqs:?}");
    let first = reqs[0]["token"].as_str().unwrap();
    assert!(first.starts_with("k8s-aws-v1."));
    assert!(
        reqs.iter().all(|r| r["token"] == first),
        "five kubectl processes presented one and the same cached token"
    );
}

/// kubectl's minor version (exec apiVersion v1 needs 1.22+; Debian's kubernetes-client is 1.20).
fn kubectl_minor() -> u32 {
    let out = std::process::Command::new("kubectl")
        .args(["version", "--client", "-o", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["clientVersion"]["minor"]
        .as_str()
        .and_then(|m| m.trim_end_matches('+').parse().ok())
        .unwrap_or(0)
}

#[test]
fn kubectl_with_v1_exec_api_and_session_keys() {
    let h = Home::new();
    let srv = ApiServer::start(h.path(), "alpha", &[(AK, SK)]);
    let api = if kubectl_minor() >= 22 {
        "client.authentication.k8s.io/v1"
    } else {
        "client.authentication.k8s.io/v1beta1"
    };
    let kc = h.write(
        "kubeconfig",
        &exec_kubeconfig(
            &srv,
            api,
            &["token", "--cluster-name", "alpha", "--no-cache"],
            &[],
        ),
    );
    let out = ok(kubectl(&h, &kc)
        .env("AWS_ACCESS_KEY_ID", AK)
        .env("AWS_SECRET_ACCESS_KEY", SK)
        .env("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEBYaDH+ab/cd=ef~g_h.i-j==")
        .env("AWS_REGION", "eu-central-1"));
    assert!(out.contains("gitVersion"), "{out}");
}

#[test]
fn a_server_for_another_cluster_refuses_the_token() {
    let h = Home::new();
    let beta = ApiServer::start(h.path(), "beta", &[(AK, SK)]);
    // the user asks kctx for a token for "alpha" but talks to "beta"
    let kc = h.write(
        "kubeconfig",
        &exec_kubeconfig(
            &beta,
            "client.authentication.k8s.io/v1beta1",
            &["token", "--cluster-name", "alpha", "--region", "us-west-2"],
            &[("AWS_ACCESS_KEY_ID", AK), ("AWS_SECRET_ACCESS_KEY", SK)],
        ),
    );
    let o = run(&mut kubectl(&h, &kc));
    assert!(!o.status.success(), "beta must refuse alpha's token");
    let reqs = beta.requests();
    assert!(!reqs.is_empty());
    assert!(
        reqs.iter()
            .all(|r| r["ok"] == false && r["why"].as_str().unwrap().contains("signature")),
        "{reqs:?}"
    );
    // and a server that does not know the key refuses too
    let other = ApiServer::start(
        &h.path().join("o").tap_mkdir(),
        "alpha",
        &[("AKIDOTHER", "x")],
    );
    let kc2 = h.write(
        "kubeconfig2",
        &exec_kubeconfig(
            &other,
            "client.authentication.k8s.io/v1beta1",
            &["token", "--cluster-name", "alpha", "--region", "us-west-2"],
            &[("AWS_ACCESS_KEY_ID", AK), ("AWS_SECRET_ACCESS_KEY", SK)],
        ),
    );
    assert!(!run(&mut kubectl(&h, &kc2)).status.success());
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}
impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
