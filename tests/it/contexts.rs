//! Context commands against fixture kubeconfigs, kubectl reading the result, a real bash for
//! completion and a pseudo-terminal for the picker.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::*;
use serde_json::Value;

/// A fixture in kctx's own output style, so that untouched lines must stay byte-identical.
const ONE: &str = "apiVersion: v1
kind: Config
preferences:
  colors: true
clusters:
- cluster:
    certificate-authority-data: QUJD
    server: https://sandbox.example
    x-vendor: keep
  name: arn:aws:eks:us-west-2:123456789012:cluster/sandbox
- cluster:
    server: https://shared.example
  name: shared
contexts:
- context:
    cluster: arn:aws:eks:us-west-2:123456789012:cluster/sandbox
    user: sandbox-user
  name: sandbox
- context:
    cluster: shared
    namespace: team-a
    user: shared-user
  name: team-a
- context:
    cluster: shared
    user: shared-user
  name: team-b
current-context: team-a
users:
- name: sandbox-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - token
      - --cluster-name
      - sandbox
      - --region
      - us-west-2
      - --role-arn
      - arn:aws:iam::999999999999:role/admin
      command: kctx
      env:
      - name: AWS_PROFILE
        value: team
- name: shared-user
  user:
    token: abc
x-unknown:
- 1
- 2
";

fn setup(files: &[(&str, &str)]) -> (Home, String, Vec<PathBuf>) {
    let h = Home::new();
    let paths: Vec<PathBuf> = files.iter().map(|(n, c)| h.write(n, c)).collect();
    let kc = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    (h, kc, paths)
}

fn k(h: &Home, kc: &str) -> Command {
    let mut c = h.kctx();
    c.env("KUBECONFIG", kc);
    c
}

/// Lines that differ between two texts (removed, added).
fn diff(a: &str, b: &str) -> (Vec<String>, Vec<String>) {
    let al: Vec<&str> = a.lines().collect();
    let bl: Vec<&str> = b.lines().collect();
    let removed = al
        .iter()
        .filter(|l| !bl.contains(l))
        .map(|s| s.to_string())
        .collect();
    let added = bl
        .iter()
        .filter(|l| !al.contains(l))
        .map(|s| s.to_string())
        .collect();
    (removed, added)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn list_formats() {
    let (h, kc, _) = setup(&[("one", ONE)]);
    // piped: bare names, as kubectx prints them for scripts
    assert_eq!(ok(k(&h, &kc).arg("list")), "sandbox\nteam-a\nteam-b\n");
    assert_eq!(
        ok(k(&h, &kc).args(["list", "-o", "name"])),
        "sandbox\nteam-a\nteam-b\n"
    );
    // bare kctx with stdout not a terminal: the names
    assert_eq!(ok(&mut k(&h, &kc)), "sandbox\nteam-a\nteam-b\n");
    let wide = ok(k(&h, &kc).args(["list", "-o", "wide"]));
    let sandbox = wide.lines().find(|l| l.contains("sandbox ")).unwrap();
    for want in [
        "us-west-2",
        "123456789012",
        "arn:aws:iam::999999999999:role/admin",
    ] {
        assert!(sandbox.contains(want), "{want} missing: {wide}");
    }
    assert!(wide
        .lines()
        .find(|l| l.contains("team-a"))
        .unwrap()
        .starts_with('*'));
    let json: Value = serde_json::from_str(&ok(k(&h, &kc).args(["list", "-o", "json"]))).unwrap();
    assert_eq!(json[0]["name"], "sandbox");
    assert_eq!(json[0]["eks"]["region"], "us-west-2");
    assert_eq!(json[0]["eks"]["profile"], "team");
    assert_eq!(json[0]["eks"]["account"], "123456789012");
    assert_eq!(json[1]["current"], true);
    assert_eq!(json[1]["namespace"], "team-a");
    assert!(json[2]["eks"].is_null());
    assert_eq!(ok(k(&h, &kc).arg("current")), "team-a\n");
}

#[test]
fn use_and_go_back_change_only_current_context() {
    let (h, kc, paths) = setup(&[("one", ONE)]);
    ok(k(&h, &kc).args(["use", "sandbox"]));
    let after = read(&paths[0]);
    assert_eq!(
        diff(ONE, &after),
        (
            vec!["current-context: team-a".into()],
            vec!["current-context: sandbox".into()]
        )
    );
    // kubectl agrees
    let view = kubectl_view(&h, &kc);
    assert_eq!(view["current-context"], "sandbox");
    ok(k(&h, &kc).args(["use", "-"]));
    assert_eq!(
        read(&paths[0]),
        ONE,
        "round trip restores the file byte for byte"
    );
    ok(k(&h, &kc).args(["use", "-"]));
    assert_eq!(ok(k(&h, &kc).arg("current")), "sandbox\n");
    // state lives next to the cache, private
    let state = h.path().join(".kube/cache/kctx/state");
    assert!(state.is_dir());
}

#[test]
fn unknown_names_suggest_the_closest() {
    let (h, kc, paths) = setup(&[("one", ONE)]);
    for args in [
        vec!["use", "sandbx"],
        vec!["rename", "sandbx", "x"],
        vec!["rm", "team-c"],
    ] {
        let o = run(k(&h, &kc).args(&args));
        assert!(!o.status.success());
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(
            e.contains("no context named") && e.contains("did you mean"),
            "{e}"
        );
    }
    let e = stderr(&run(k(&h, &kc).args(["use", "sandbx"])));
    assert!(e.contains("\"sandbox\""), "{e}");
    let e = stderr(&run(k(&h, &kc).args(["rm", "team-c"])));
    assert!(e.contains("\"team-a\"") || e.contains("\"team-b\""), "{e}");
    assert_eq!(read(&paths[0]), ONE);
    let o = run(k(&h, &kc).args(["use", "-"]));
    assert!(stderr(&o).contains("no previous context"), "{}", stderr(&o));
}

#[test]
fn rename_moves_current_context_with_it() {
    let (h, kc, paths) = setup(&[("one", ONE)]);
    ok(k(&h, &kc).args(["rename", "team-a", "alpha"]));
    let after = read(&paths[0]);
    let (removed, added) = diff(ONE, &after);
    assert_eq!(removed, ["  name: team-a", "current-context: team-a"]);
    assert_eq!(added, ["  name: alpha", "current-context: alpha"]);
    let o = run(k(&h, &kc).args(["rename", "alpha", "team-b"]));
    assert!(
        !o.status.success() && stderr(&o).contains("already exists"),
        "{}",
        stderr(&o)
    );
    ok(k(&h, &kc).args(["rename", "sandbox", "sb"]));
    assert_eq!(ok(k(&h, &kc).arg("current")), "alpha\n");
}

#[test]
fn rm_cleans_up_only_what_no_other_context_needs() {
    let (h, kc, paths) = setup(&[("one", ONE)]);
    // team-a shares cluster and user with team-b: only the context goes
    ok(k(&h, &kc).args(["rm", "team-a"]));
    let doc = yaml(&paths[0]);
    let names = |kind: &str| -> Vec<String> {
        doc[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("contexts"), ["sandbox", "team-b"]);
    assert_eq!(names("clusters").len(), 2);
    assert_eq!(names("users").len(), 2);
    assert_eq!(
        doc["current-context"], "",
        "the removed context was current"
    );
    assert_eq!(doc["x-unknown"], serde_json::json!([1, 2]));
    // now team-b is the last user of "shared": its cluster and user go too
    ok(k(&h, &kc).args(["rm", "team-b"]));
    let doc = yaml(&paths[0]);
    assert_eq!(doc["clusters"].as_array().unwrap().len(), 1);
    assert_eq!(doc["users"].as_array().unwrap()[0]["name"], "sandbox-user");
    // --keep-entries keeps them
    ok(k(&h, &kc).args(["rm", "sandbox", "--keep-entries"]));
    let doc = yaml(&paths[0]);
    assert!(doc["contexts"].as_array().unwrap().is_empty());
    assert_eq!(doc["clusters"].as_array().unwrap().len(), 1);
    assert_eq!(doc["preferences"]["colors"], true);
}

#[test]
fn ns_shows_sets_and_goes_back() {
    let (h, kc, paths) = setup(&[("one", ONE)]);
    // (these fixtures name no reachable cluster: --force sets without the existence check,
    // which tests/cluster.rs covers)
    assert_eq!(ok(k(&h, &kc).args(["ns", "-c"])), "team-a\n");
    ok(k(&h, &kc).args(["ns", "kube-system", "--force"]));
    assert_eq!(
        diff(ONE, &read(&paths[0])),
        (
            vec!["    namespace: team-a".into()],
            vec!["    namespace: kube-system".into()]
        )
    );
    let view = kubectl_view(&h, &kc);
    let ctx = view["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "team-a")
        .unwrap()
        .clone();
    assert_eq!(ctx["context"]["namespace"], "kube-system");
    ok(k(&h, &kc).args(["ns", "-", "--force"]));
    assert_eq!(read(&paths[0]), ONE);
    ok(k(&h, &kc).args(["use", "team-b"]));
    assert_eq!(ok(k(&h, &kc).args(["ns", "--current"])), "default\n");
    let o = run(k(&h, &kc).args(["ns", "Bad_NS"]));
    assert!(!o.status.success() && stderr(&o).contains("invalid namespace"));
}

#[test]
fn two_files_follow_client_go_rules() {
    let second = "apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://other.example
  name: other
contexts:
- context:
    cluster: other
    user: other
  name: other
- context:
    cluster: other
    user: other
  name: sandbox
current-context: other
users:
- name: other
  user:
    token: zzz
";
    let (h, kc, paths) = setup(&[("one", ONE), ("two", second)]);
    // merged view: first file wins for "sandbox" and for current-context
    assert_eq!(
        ok(k(&h, &kc).args(["list", "-o", "name"])),
        "sandbox\nteam-a\nteam-b\nother\n"
    );
    assert_eq!(ok(k(&h, &kc).arg("current")), "team-a\n");
    let view = kubectl_view(&h, &kc);
    assert_eq!(view["current-context"], "team-a");
    // use: current-context is written where it is set (the first file); the second is untouched
    ok(k(&h, &kc).args(["use", "other"]));
    assert_eq!(read(&paths[1]), second);
    assert_eq!(kubectl_view(&h, &kc)["current-context"], "other");
    // rename an entry owned by the second file: only that file changes
    ok(k(&h, &kc).args(["use", "team-a"]));
    let one_before = read(&paths[0]);
    ok(k(&h, &kc).args(["rename", "other", "other-renamed"]));
    assert_eq!(read(&paths[0]), one_before);
    assert!(read(&paths[1]).contains("name: other-renamed"));
    // a broken third file that no command needs does not stop them
    let broken = h.write("three", "clusters: [\n");
    let kc3 = format!("{kc}:{}", broken.display());
    let o = run(k(&h, &kc3).args(["use", "team-b"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(k(&h, &kc3).arg("list"));
    assert!(o.status.success());
    assert!(stderr(&o).contains("warning: skipping") && stderr(&o).contains("three"));
    // a read-only file that needs no change does not stop a change elsewhere
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&paths[1], std::fs::Permissions::from_mode(0o444)).unwrap();
    ok(k(&h, &kc).args(["ns", "ro-ok", "--force"]));
}

#[test]
fn parallel_use_and_add_never_lose_an_entry() {
    let names: Vec<String> = (0..6).map(|_| unique("pu")).collect();
    let arns: Vec<String> = names
        .iter()
        .map(|n| create_cluster(n, "us-west-2"))
        .collect();
    let (h, kc, paths) = setup(&[("one", ONE)]);
    let mut children = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let mut add = h.kctx_moto();
        add.env("KUBECONFIG", &kc).args(["add", n]);
        children.push(
            add.stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        for ctx in ["sandbox", "team-b"] {
            let _ = i;
            let mut u = k(&h, &kc);
            u.args(["use", ctx]);
            children.push(
                u.stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap(),
            );
        }
    }
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let doc = yaml(&paths[0]);
    let ctxs: Vec<&str> = doc["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for want in ["sandbox", "team-a", "team-b"] {
        assert!(ctxs.contains(&want), "{want} lost");
    }
    for arn in &arns {
        assert!(ctxs.contains(&arn.as_str()), "{arn} lost");
    }
    assert_eq!(ctxs.len(), 3 + arns.len());
}

#[test]
fn completion_candidates_come_from_the_live_kubeconfig() {
    // what the shell scripts ask kctx for (tests/ux.rs types into real bash, zsh and fish)
    let (h, kc, _) = setup(&[("one", ONE.replace("name: team-b", "name: prod").as_str())]);
    let ask = |words: &[&str]| {
        let mut c = k(&h, &kc);
        c.env("KCTX_COMPLETE", "bash")
            .env("_CLAP_IFS", "\n")
            .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
            .arg("--")
            .args(words);
        ok(&mut c)
    };
    assert_eq!(ask(&["kctx", "use", "sa"]).trim(), "sandbox");
    assert_eq!(ask(&["kctx", "rm", "te"]).trim(), "team-a");
    let all = ask(&["kctx", "rename", ""]);
    for n in ["sandbox", "team-a", "prod"] {
        assert!(all.contains(n), "{all}");
    }
    assert!(ask(&["kctx", "us"]).contains("use"));
}

#[test]
fn committed_completion_scripts_are_current() {
    let h = Home::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let now = ok(h.kctx().args(["completions", shell]));
        let file = repo().join(format!("completions/kctx.{shell}"));
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        assert_eq!(
            committed,
            now,
            "{} is stale: run `kctx completions {shell} > completions/kctx.{shell}`",
            file.display()
        );
    }
}

#[test]
fn picker_selects_by_typing_in_a_terminal() {
    let (h, kc, _) = setup(&[("one", ONE)]);
    // Drive kctx in a pseudo-terminal: type "sand", press enter.
    let mut c = h.cmd("python3");
    c.env("KUBECONFIG", &kc).env("TERM", "xterm");
    let o = run(in_terminal(&mut c, b"sand\r", 1.0, 2.0, &[kctx_bin()]));
    assert!(
        o.status.success(),
        "picker failed: {}\n{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("context"),
        "no prompt shown: {}",
        stdout(&o)
    );
    assert_eq!(ok(k(&h, &kc).arg("current")), "sandbox\n");
    // KCTX_IGNORE_FZF: a plain list even on a terminal (marked, without colour)
    let o = run(h
        .cmd("python3")
        .env("KUBECONFIG", &kc)
        .env("KCTX_IGNORE_FZF", "1")
        .env("NO_COLOR", "1")
        .args([
            "-c",
            "import pty,sys; sys.exit(pty.spawn([sys.argv[1]]) >> 8)",
            kctx_bin(),
        ]));
    assert!(o.status.success());
    assert!(stdout(&o).contains("* sandbox"), "{}", stdout(&o));
}

/// How many times `path` was opened while `args` ran (strace: every open, whatever the call).
fn opens_of(h: &Home, kc: &str, args: &[&str], path: &Path) -> usize {
    let log = h.path().join("opens.strace");
    let mut c = h.cmd("strace");
    c.args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o"])
        .arg(&log)
        .arg(kctx_bin())
        .args(args)
        .env("KUBECONFIG", kc);
    let o = run(&mut c);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    let target = format!("\"{}\"", path.display());
    std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.contains(&target) && !l.contains("= -1"))
        .count()
}

#[test]
fn each_command_reads_the_kubeconfig_once() {
    // reading (and parsing) a 20 MB file twice doubles a command's time: list once did
    let (h, kc, paths) = setup(&[("config", ONE)]);
    for args in [
        vec!["list", "-o", "name"],
        vec!["list"],
        vec!["list", "-o", "json"],
        vec!["current"],
        vec!["prompt"],
        vec!["use", "sandbox"],
    ] {
        assert_eq!(opens_of(&h, &kc, &args, &paths[0]), 1, "{args:?}");
    }
    // ns --force asks no cluster, so it reads once, under the lock it writes with (ns that
    // checks the namespace reads, asks the cluster unlocked, then reads again under the lock)
    assert_eq!(opens_of(&h, &kc, &["ns", "--force", "web"], &paths[0]), 1);
}
