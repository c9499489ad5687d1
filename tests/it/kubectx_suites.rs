//! kctx is kubectx and kubens: their own bats suites (ahmetb/kubectx `test/kubectx.bats` and
//! `test/kubens.bats`, vendored unchanged in tests/kubectx/) run against kctx started as
//! `kubectx` and `kubens`. kubens's namespaces come from the test API server (serving `ns1`
//! and `ns2`) through kctx's API client: the suite's `_MOCK_NAMESPACES` hook is kubens's
//! own, and kctx has none.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::common::*;

/// bats: `KCTX_TEST_BATS`, else on PATH (scripts/test.sh installs it from npm).
fn bats() -> String {
    std::env::var("KCTX_TEST_BATS").unwrap_or_else(|_| "bats".into())
}

/// kctx under another name: a symlink `name` in a fresh directory.
fn personality(dir: &Path, name: &str) -> PathBuf {
    let link = dir.join(name);
    std::os::unix::fs::symlink(kctx_bin(), &link).unwrap();
    link
}

/// Copies the vendored suite to `to`, its testdata kubeconfigs rewritten by `fix`.
fn suite(to: &Path, fix: impl Fn(&str) -> String) -> PathBuf {
    let from = repo().join("tests/kubectx");
    std::fs::create_dir_all(to.join("testdata")).unwrap();
    for f in ["kubectx.bats", "kubens.bats", "common.bash"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    for f in ["config1", "config2"] {
        let text = std::fs::read_to_string(from.join("testdata").join(f)).unwrap();
        std::fs::write(to.join("testdata").join(f), fix(&text)).unwrap();
    }
    to.to_path_buf()
}

/// Runs a bats file; returns (passed, failed, TAP output).
fn run_bats(h: &Home, dir: &Path, file: &str, command: &Path) -> (usize, usize, String) {
    let o = Command::new(bats())
        .arg("--tap")
        .arg(dir.join(file))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("COMMAND", command)
        .env("LANG", "C.UTF-8")
        .env("TMPDIR", h.path())
        .current_dir(dir)
        .output()
        .expect("bats (scripts/test.sh installs it from npm)");
    let tap = format!("{}{}", stdout(&o), stderr(&o));
    let passed = tap.lines().filter(|l| l.starts_with("ok ")).count();
    let failed = tap.lines().filter(|l| l.starts_with("not ok ")).count();
    (passed, failed, tap)
}

#[test]
fn kubectx_own_suite_passes_against_kctx_as_kubectx() {
    let h = Home::new();
    let kubectx = personality(h.path(), "kubectx");
    let dir = suite(&h.path().join("suite"), str::to_owned);
    let (passed, failed, tap) = run_bats(&h, &dir, "kubectx.bats", &kubectx);
    assert_eq!((passed, failed), (19, 0), "{tap}");
}

#[test]
fn kubens_own_suite_passes_against_kctx_as_kubens_and_a_real_api_server() {
    let h = Home::new();
    let s = ApiServer::start_with(
        h.path(),
        "kubens-cluster",
        &[],
        ServerOpts {
            identities: vec![(
                "token:kubens-test".into(),
                json!({"username": "kubens-user", "groups": ["system:authenticated"]}),
            )],
            namespaces: Some(vec!["ns1".into(), "ns2".into()]),
            ..Default::default()
        },
    );
    let kubens = personality(h.path(), "kubens");
    let dir = suite(&h.path().join("suite"), |text| {
        text.replace(
            "    server: \"\"",
            &format!(
                "    server: {}\n    certificate-authority-data: {}",
                s.url,
                s.ca_data()
            ),
        )
        .replace("  user: {}", "  user: {token: kubens-test}")
    });
    let (passed, failed, tap) = run_bats(&h, &dir, "kubens.bats", &kubens);
    assert_eq!((passed, failed), (12, 0), "{tap}");
    // the namespaces really came from the API server, not from a mock
    assert!(
        s.requests().iter().any(|r| r["path"]
            .as_str()
            .unwrap_or("")
            .starts_with("/api/v1/namespaces/ns1")),
        "{:?}",
        s.requests()
    );
}

#[test]
fn kctx_itself_takes_kubectx_delete_spelling() {
    let h = Home::new();
    h.write(
        ".kube/config",
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n- name: b\n  context: {cluster: c, user: u}\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: a\n",
    );
    ok(h.kctx().args(["-d", "b", "c"]));
    assert_eq!(ok(h.kctx().arg("list")), "a\n");
}
