//! What a first-time user typed and tripped over (issue 23), and the one-line shell setup
//! (issue 24): global flags on either side of the subcommand, `kctx help`, completion that
//! offers options only when asked, mistyped flags as errors, the note about an absolute exec
//! path, one error style, one short error under kubectl, `kctx init`.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

fn kubeconfig(h: &Home, rel: &str, names: &[&str], current: &str) -> PathBuf {
    let mut s = String::from("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n");
    for n in names {
        s.push_str(&format!(
            "- name: {}\n  context: {{cluster: c, user: u}}\n",
            serde_json::to_string(n).unwrap()
        ));
    }
    s.push_str(&format!("current-context: {current}\n"));
    h.write(rel, &s)
}

fn current(cfg: &PathBuf) -> Option<String> {
    merged(std::slice::from_ref(cfg))
        .current_context()
        .map(str::to_owned)
}

fn k(h: &Home, cfg: &PathBuf) -> Command {
    let mut c = h.kctx();
    c.env("KUBECONFIG", cfg);
    c
}

#[test]
fn global_flags_work_before_and_after_the_subcommand() {
    let h = Home::new();
    let cfg = kubeconfig(&h, ".kube/config", &["a", "b"], "a");
    // what `alias kctx='kctx --color=always'` does to every command
    let out = ok(k(&h, &cfg).args(["--color", "never", "list"]));
    assert_eq!(out, "a\nb\n");
    let out = ok(k(&h, &cfg).args(["--color=always", "list"]));
    assert!(out.contains('\x1b') && out.contains('b'), "{out:?}");
    assert_eq!(
        ok(k(&h, &cfg).args(["--color", "never", "ns", "-c"])),
        "default\n"
    );
    assert_eq!(
        ok(k(&h, &cfg).args(["ns", "-c", "--color", "never"])),
        "default\n"
    );
    // --kubeconfig, on either side, as kubectl's: instead of KUBECONFIG
    let other = kubeconfig(&h, "other.yaml", &["x1", "y1"], "y1");
    assert_eq!(
        ok(k(&h, &cfg).args(["--kubeconfig", other.to_str().unwrap(), "list"])),
        "x1\ny1\n"
    );
    assert_eq!(
        ok(k(&h, &cfg).args(["current", "--kubeconfig", other.to_str().unwrap()])),
        "y1\n"
    );
    ok(k(&h, &cfg).args(["--kubeconfig", other.to_str().unwrap(), "x1"]));
    assert_eq!(current(&other).as_deref(), Some("x1"));
    assert_eq!(
        current(&cfg).as_deref(),
        Some("a"),
        "KUBECONFIG's file untouched"
    );
    // doctor checks the file named, on either side
    for args in [
        vec![
            "--kubeconfig",
            other.to_str().unwrap(),
            "doctor",
            "-o",
            "json",
        ],
        vec![
            "doctor",
            "-o",
            "json",
            "--kubeconfig",
            other.to_str().unwrap(),
        ],
    ] {
        let o = run(k(&h, &cfg).args(&args));
        let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let files: Vec<&str> = j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["file"].as_str())
            .collect();
        assert!(
            !files.is_empty() && files.iter().all(|f| *f == other.to_str().unwrap()),
            "{args:?}: {j}"
        );
    }
    // --request-timeout before the subcommand, and checked
    ok(k(&h, &cfg).args(["--request-timeout", "2s", "ns", "-c"]));
    let o = run(k(&h, &cfg).args(["ns", "-c", "--request-timeout", "soon"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--request-timeout"), "{}", stderr(&o));
    // `kctx NAME` keeps working, with a flag before it too
    ok(k(&h, &cfg).args(["--color", "never", "b"]));
    assert_eq!(current(&cfg).as_deref(), Some("b"));
}

#[test]
fn help_is_a_command_and_a_context_named_help_stays_reachable() {
    let h = Home::new();
    let cfg = kubeconfig(&h, ".kube/config", &["a", "help"], "a");
    let out = ok(k(&h, &cfg).arg("help"));
    assert!(out.contains("Usage: kctx"), "{out}");
    let out = ok(k(&h, &cfg).args(["help", "add"]));
    assert!(out.contains("Usage: kctx add"), "{out}");
    assert_eq!(current(&cfg).as_deref(), Some("a"));
    ok(k(&h, &cfg).args(["use", "help"]));
    assert_eq!(current(&cfg).as_deref(), Some("help"));
}

#[test]
fn mistyped_flags_are_unknown_options_and_dashed_names_follow_a_double_dash() {
    let h = Home::new();
    let cfg = kubeconfig(&h, ".kube/config", &["a", "-weird"], "a");
    for args in [
        &["ns", "--bogus"][..],
        &["use", "--bogus"],
        &["--bogus"],
        &["rm", "--bogus"],
    ] {
        let o = run(k(&h, &cfg).args(args));
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = stderr(&o);
        assert!(
            e.starts_with("kctx: error: unexpected argument '--bogus'"),
            "{args:?}: {e}"
        );
        assert!(!e.contains("namespace is a DNS label") && !e.contains("no context named"));
    }
    // a close option is suggested
    let e = stderr(&run(k(&h, &cfg).args(["ns", "--forse", "x"])));
    assert!(e.contains("'--force'"), "{e}");
    // `-` is still the previous context and namespace, and a dashed name is reachable
    ok(k(&h, &cfg).args(["--", "-weird"]));
    assert_eq!(current(&cfg).as_deref(), Some("-weird"));
    ok(k(&h, &cfg).args(["use", "-"]));
    assert_eq!(current(&cfg).as_deref(), Some("a"));
    ok(k(&h, &cfg).args(["use", "--", "-weird"]));
    assert_eq!(current(&cfg).as_deref(), Some("-weird"));
    // kubectx's delete, and rm after `--`
    ok(k(&h, &cfg).args(["-d", "a"]));
    ok(k(&h, &cfg).args(["rm", "--", "-weird"]));
    assert!(ok(k(&h, &cfg).arg("list")).is_empty());
}

#[test]
fn errors_share_one_prefix_and_token_suggests_the_cluster_name() {
    let h = Home::new();
    let cfg = kubeconfig(&h, ".kube/config", &["a"], "a");
    for args in [&["nosuch"][..], &["use", "--bogus"], &["add"]] {
        let e = stderr(&run(k(&h, &cfg).args(args)));
        assert!(e.starts_with("kctx: error: "), "{args:?}: {e}");
        assert!(
            !e.contains('\x1b'),
            "no colour when stderr is not a terminal: {e:?}"
        );
    }
    let e = stderr(&run(h.kctx().args(["token", "--cluster", "staging"])));
    assert!(
        e.starts_with("kctx: error: ") && e.contains("'--cluster-name'"),
        "{e}"
    );
}

/// kubectl runs the plugin again on each retry: the same failure is said once, in one line.
#[test]
fn a_credentials_error_under_kubectl_is_one_short_line_said_once() {
    let h = Home::new();
    let token = || {
        let mut c = h.kctx();
        c.env("AWS_REGION", "us-west-2")
            .env(
                "KUBERNETES_EXEC_INFO",
                r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
            )
            .args(["token", "--cluster-name", "c"]);
        c
    };
    let first = run(&mut token());
    assert_eq!(first.status.code(), Some(1));
    let e = stderr(&first);
    assert!(
        e.starts_with("kctx: error: no AWS credentials found"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(!e.contains("instance metadata"), "{e}");
    assert!(stdout(&first).is_empty());
    for _ in 0..3 {
        let again = run(&mut token());
        assert_eq!(again.status.code(), Some(1));
        assert_eq!(stderr(&again), "", "said once");
        assert!(stdout(&again).is_empty());
    }
    // outside kubectl every run says it
    let o = run(h
        .kctx()
        .env("AWS_REGION", "us-west-2")
        .args(["token", "--cluster-name", "c"]));
    assert!(stderr(&o).contains("no AWS credentials found"));
}

/// The completion protocol clap_complete's scripts speak, as bash's script calls it.
fn complete_bash(h: &Home, cfg: &PathBuf, words: &[&str]) -> Vec<String> {
    let out = ok(k(h, cfg)
        .env("KCTX_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_IFS", "\x0b")
        .arg("--")
        .args(words));
    out.split('\x0b')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn complete_fish(h: &Home, cfg: &PathBuf, words: &[&str]) -> Vec<String> {
    let out = ok(k(h, cfg).env("KCTX_COMPLETE", "fish").arg("--").args(words));
    out.lines()
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect()
}

#[test]
fn completion_offers_options_only_when_the_word_starts_with_a_dash() {
    let h = Home::new();
    let cfg = kubeconfig(&h, ".kube/config", &["staging", "prod"], "prod");
    for complete in [complete_bash, complete_fish] {
        let names = complete(&h, &cfg, &["kctx", "use", ""]);
        assert_eq!(names, ["staging", "prod"], "contexts, no --help");
        // the slot is full: nothing, so Tab inserts nothing (not `--`)
        assert!(complete(&h, &cfg, &["kctx", "use", "staging", ""]).is_empty());
        // nothing fits
        assert!(complete(&h, &cfg, &["kctx", "use", "zzz"]).is_empty());
        // asked for
        let opts = complete(&h, &cfg, &["kctx", "use", "--"]);
        assert!(opts.iter().any(|o| o == "--help"), "{opts:?}");
        let opts = complete(&h, &cfg, &["kctx", "--col"]);
        assert_eq!(opts, ["--color"]);
        // the cluster cannot be reached: no namespaces, and nothing else
        assert!(complete(&h, &cfg, &["kctx", "ns", ""]).is_empty());
    }
}

#[test]
fn add_says_when_it_writes_an_absolute_path_and_exec_command_names_the_command() {
    let name = unique("newcomer");
    create_cluster(&name, "us-west-2");
    let h = Home::new();
    // run by path, with no kctx on PATH
    let o = run(h
        .kctx_moto()
        .env("PATH", "/usr/bin:/bin")
        .args(["add", &name]));
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    let bin = std::fs::canonicalize(kctx_bin()).unwrap();
    assert!(
        e.contains(&format!("by its path, {}", bin.display())) && e.contains("--exec-command kctx"),
        "{e}"
    );
    let cfg = std::fs::read_to_string(h.path().join(".kube/config")).unwrap();
    assert!(
        cfg.contains(&format!("command: {}", bin.display())),
        "{cfg}"
    );
    // --exec-command: that command, no note
    let o = run(h.kctx_moto().env("PATH", "/usr/bin:/bin").args([
        "add",
        &name,
        "--exec-command",
        "kctx",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("by its path"), "{}", stderr(&o));
    let cfg = std::fs::read_to_string(h.path().join(".kube/config")).unwrap();
    assert!(cfg.contains("command: kctx\n"), "{cfg}");
    // kctx on PATH is this binary: `command: kctx`, no note
    let o = run(h
        .kctx_moto()
        .env("PATH", path_with_kctx(&h))
        .args(["add", &name, "--alias", "second"]));
    assert!(!stderr(&o).contains("by its path"), "{}", stderr(&o));
}

#[test]
fn init_prints_what_each_shell_evaluates_and_the_aliases_run_kubectx_and_kubens() {
    let h = Home::new();
    let cfg = kubeconfig(&h, ".kube/config", &["a", "b"], "a");
    let path = path_with_kctx(&h);
    for (shell, check) in [
        ("bash", &["-n"][..]),
        ("zsh", &["-n"]),
        ("fish", &["--no-execute"]),
    ] {
        if Command::new(shell).arg("--version").output().is_err() {
            panic!("{shell} is not installed (scripts/test.sh installs it)");
        }
        for aliases in [false, true] {
            let mut c = k(&h, &cfg);
            c.args(["init", shell]);
            if aliases {
                c.arg("--aliases");
            }
            let script = ok(&mut c);
            assert!(script.contains("KCTX_COMPLETE"), "{shell}: {script}");
            assert_eq!(script.contains("kubectx"), aliases, "{shell}");
            let file = h.write(&format!("init.{shell}"), &script);
            let st = Command::new(shell).args(check).arg(&file).status().unwrap();
            assert!(st.success(), "{shell} {check:?} refuses: {script}");
        }
    }
    // the aliases are kubectx and kubens, with their messages
    let run_in = |shell: &str, line: &str| {
        let mut c = h.cmd(shell);
        c.env("KUBECONFIG", &cfg).env("PATH", &path);
        let script = match shell {
            "fish" => format!("kctx init fish --aliases | source; {line}"),
            _ => format!("eval \"$(kctx init {shell} --aliases)\"; {line}"),
        };
        c.args(["-c", &script]);
        run(&mut c)
    };
    for shell in ["bash", "zsh", "fish"] {
        let o = run_in(shell, "kubectx b");
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("Switched to context \"b\"."),
            "{shell}: {}",
            stderr(&o)
        );
        assert_eq!(current(&cfg).as_deref(), Some("b"));
        let o = run_in(shell, "kubectx -c");
        assert_eq!(stdout(&o), "b\n", "{shell}");
        let o = run_in(shell, "kubens -c");
        assert_eq!(stdout(&o), "default\n", "{shell}");
        ok(k(&h, &cfg).arg("a"));
    }
    // `kctx --as=kubectx` is what the aliases run
    let o = run(k(&h, &cfg).args(["--as=kubectx", "-h"]));
    assert!(stdout(&o).contains("kubectx"), "{}", stdout(&o));
}
