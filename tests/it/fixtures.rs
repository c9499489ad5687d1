//! Hand-written kubeconfigs (tests/fixtures/*.yaml) through every command that writes: the
//! result must be exactly the expected file (only the touched entries change; comments,
//! blank lines, indentation, quoting, flow style, CRLF, a BOM and document markers stay),
//! kubectl must read exactly the intended data, and a command that changes nothing must leave
//! the file byte-identical. `KCTX_BLESS=1` rewrites the expected files (review the diff!).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde_json::{json, Value};

const FIXTURES: &[&str] = &[
    "comments",
    "kubectl",
    "four-space",
    "flow",
    "quoted",
    "crlf",
    "bom",
    "anchors",
];

/// Fixtures whose edits of some entries cannot be made in place (and say so).
fn expects_note(fixture: &str, case: &str) -> bool {
    // anchors.yaml: prod's context is an anchor that prod-copy's alias uses; removing prod
    // would leave the alias dangling, so the file is rewritten (with prod-copy's data written
    // out). Every other edit of that file stays in place.
    fixture == "anchors" && case == "rm-prod"
}

struct Fx {
    h: Home,
    cfg: PathBuf,
    path_env: String,
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(repo().join(format!("tests/fixtures/{name}.yaml"))).unwrap()
}

impl Fx {
    fn new(fixture: &str) -> Self {
        let h = Home::new();
        let cfg = h.write("config", &fixture_text(fixture));
        let path_env = path_with_kctx(&h);
        Self { h, cfg, path_env }
    }

    fn kctx(&self) -> Command {
        let mut c = self.h.kctx_moto();
        c.env("KUBECONFIG", &self.cfg).env("PATH", &self.path_env);
        c
    }

    fn text(&self) -> String {
        String::from_utf8(std::fs::read(&self.cfg).unwrap()).unwrap()
    }

    fn view(&self) -> Value {
        kubectl_view(&self.h, &self.cfg.display().to_string())
    }
}

/// The cluster `add` reads from moto, created once for this test binary.
struct Added {
    name: String,
    arn: String,
    server: String,
    ca: String,
}

fn added() -> &'static Added {
    static A: std::sync::OnceLock<Added> = std::sync::OnceLock::new();
    A.get_or_init(|| {
        let name = unique("fixture");
        let arn = create_cluster(&name, "us-west-2");
        let h = Home::new();
        let out = ok(h.aws_moto().args([
            "eks",
            "describe-cluster",
            "--name",
            &name,
            "--query",
            "cluster.[endpoint,certificateAuthority.data]",
            "--output",
            "text",
        ]));
        let mut it = out.split_whitespace();
        Added {
            name,
            arn,
            server: it.next().unwrap().to_owned(),
            ca: it.next().unwrap().to_owned(),
        }
    })
}

/// Replaces what changes from run to run with placeholders.
fn normalize(s: &str) -> String {
    let a = added();
    s.replace(&a.arn, "@ARN@")
        .replace(&a.ca, "@CA@")
        .replace(&a.server, "@SERVER@")
        .replace(&a.name, "@NAME@")
}

fn golden(fixture: &str, case: &str, got: &str) {
    let path = repo().join(format!("tests/fixtures/expected/{fixture}.{case}.yaml"));
    let got = normalize(got);
    if std::env::var_os("KCTX_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with KCTX_BLESS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        got,
        want,
        "{fixture}.{case}: differs from {}",
        path.display()
    );
}

fn context_names(v: &Value) -> Vec<String> {
    v["contexts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn remove_named(v: &mut Value, list: &str, name: &str) {
    if let Some(a) = v[list].as_array_mut() {
        a.retain(|e| e["name"] != name);
    }
}

fn named<'a>(v: &'a mut Value, list: &str, name: &str) -> &'a mut Value {
    v[list]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["name"] == name)
        .unwrap()
}

type Intend = fn(&mut Value);

/// (case, arguments, what kubectl must see afterwards, given what it saw before)
fn cases() -> Vec<(&'static str, Vec<String>, Intend)> {
    let a = added();
    vec![
        ("use-prod", vec!["use".into(), "prod".into()], |v| {
            v["current-context"] = json!("prod")
        }),
        // --force: the fixtures name no reachable cluster (tests/cluster.rs checks namespaces)
        (
            "ns",
            vec!["ns".into(), "web".into(), "--force".into()],
            |v| named(v, "contexts", "dev")["context"]["namespace"] = json!("web"),
        ),
        (
            "rename",
            vec!["rename".into(), "prod".into(), "production".into()],
            |v| named(v, "contexts", "prod")["name"] = json!("production"),
        ),
        ("rm-prod", vec!["rm".into(), "prod".into()], |v| {
            remove_named(v, "contexts", "prod");
            let still_used = context_names(v).iter().any(|c| c == "prod-copy");
            if !still_used {
                remove_named(v, "clusters", "prod-cluster");
                remove_named(v, "users", "admin");
            }
        }),
        ("rm-dev", vec!["rm".into(), "dev".into()], |v| {
            remove_named(v, "contexts", "dev");
            remove_named(v, "clusters", "dev-cluster");
            remove_named(v, "users", "dev-user");
            v["current-context"] = json!("");
        }),
        (
            "add",
            vec![
                "add".into(),
                a.name.clone(),
                "--alias".into(),
                "new".into(),
                "--user-alias".into(),
                "new-user".into(),
            ],
            |v| {
                let a = added();
                v["clusters"].as_array_mut().unwrap().push(json!({
                    "name": a.arn,
                    "cluster": {"server": a.server, "certificate-authority-data": a.ca}
                }));
                v["contexts"].as_array_mut().unwrap().push(json!({
                    "name": "new", "context": {"cluster": a.arn, "user": "new-user"}
                }));
                v["users"].as_array_mut().unwrap().push(json!({
                    "name": "new-user",
                    "user": {"exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "args": ["token", "--cluster-name", a.name, "--region", "us-west-2"],
                        "command": "kctx",
                        "env": null,
                        "interactiveMode": "IfAvailable",
                        "provideClusterInfo": false
                    }}
                }));
                v["current-context"] = json!("new");
            },
        ),
    ]
}

/// Sorts kubectl's lists by name: the intended data says what is there, not where.
fn canonical(mut v: Value) -> Value {
    for list in ["clusters", "contexts", "users"] {
        if let Some(a) = v[list].as_array_mut() {
            a.sort_by(|x, y| x["name"].as_str().cmp(&y["name"].as_str()));
        }
    }
    v
}

#[test]
fn every_command_on_every_fixture_changes_only_its_entries() {
    let mut failures = Vec::new();
    for fixture in FIXTURES {
        for (case, args, intend) in cases() {
            let fx = Fx::new(fixture);
            let before_view = fx.view();
            let o = run(fx.kctx().args(&args));
            assert!(o.status.success(), "{fixture}.{case}: {}", stderr(&o));
            let note = stderr(&o).lines().any(|l| l.starts_with("kctx: note:"));
            if note != expects_note(fixture, case) {
                failures.push(format!(
                    "{fixture}.{case}: note {note}, expected {}: {}",
                    expects_note(fixture, case),
                    stderr(&o)
                ));
            }
            let text = fx.text();
            golden(fixture, case, &text);
            let mut want = before_view.clone();
            intend(&mut want);
            assert_eq!(
                canonical(fx.view()),
                canonical(want),
                "{fixture}.{case}: what kubectl reads"
            );
            // running it again changes nothing (for add: the same cluster again)
            if case != "rm-prod" && case != "rm-dev" && case != "rename" {
                let again = run(fx.kctx().args(&args));
                assert!(
                    again.status.success(),
                    "{fixture}.{case} again: {}",
                    stderr(&again)
                );
                assert_eq!(
                    fx.text(),
                    text,
                    "{fixture}.{case}: a repeated command rewrote the file"
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn use_and_back_restores_every_fixture_byte_for_byte() {
    for fixture in FIXTURES {
        let fx = Fx::new(fixture);
        let original = fx.text();
        ok(fx.kctx().args(["use", "prod"]));
        assert_ne!(fx.text(), original);
        ok(fx.kctx().args(["use", "-"]));
        assert_eq!(fx.text(), original, "{fixture}");
        ok(fx.kctx().args(["use", "dev"]));
        assert_eq!(
            fx.text(),
            original,
            "{fixture}: use of the current context is a no-op"
        );
    }
}

#[test]
fn a_second_document_is_an_error_for_writes_and_a_warning_for_reads() {
    let fx = Fx::new("multidoc");
    let original = fx.text();
    for args in [
        vec!["use", "prod"],
        vec!["ns", "web", "--force"],
        vec!["rm", "prod"],
        vec!["rename", "dev", "d"],
    ] {
        let o = run(fx.kctx().args(&args));
        assert!(!o.status.success(), "{args:?}");
        let e = stderr(&o);
        assert!(
            e.contains("more than one YAML document") && e.contains(&fx.cfg.display().to_string()),
            "{e}"
        );
        assert_eq!(fx.text(), original, "{args:?} changed the file");
    }
    let o = run(fx.kctx().args(["list", "-o", "name"]));
    assert!(o.status.success());
    assert_eq!(stdout(&o), "prod\ndev\n");
    assert!(
        stderr(&o).contains("more than one YAML document"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_fallback_rewrite_is_announced_and_reads_back() {
    let fx = Fx::new("anchors");
    let o = run(fx.kctx().args(["ns", "web", "--force"]));
    assert!(o.status.success());
    // dev's context is not shared: in place, no note
    assert!(!stderr(&o).contains("note"), "{}", stderr(&o));
    let o = run(fx.kctx().args(["rename", "prod-copy", "copy"]));
    assert!(o.status.success());
    // renaming prod-copy touches only its own name: in place
    assert!(!stderr(&o).contains("note"), "{}", stderr(&o));
    ok(fx.kctx().args(["use", "prod"]));
    let o = run(fx.kctx().args(["ns", "ops", "--force"]));
    let e = stderr(&o);
    assert!(
        e.contains("kctx: note:") && e.contains("rewrote the whole file"),
        "{e}"
    );
    assert_eq!(
        e.lines().filter(|l| l.starts_with("kctx: note:")).count(),
        1,
        "{e}"
    );
    let v = fx.view();
    let ns = |n: &str| {
        v["contexts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .unwrap()["context"]["namespace"]
            .clone()
    };
    assert_eq!(ns("prod"), json!("ops"));
    assert_eq!(
        ns("copy"),
        Value::Null,
        "the alias's other user keeps its data"
    );
    let _: &Path = &fx.cfg;
}
