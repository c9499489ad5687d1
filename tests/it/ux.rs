//! kctx as a kubectx user types it (issue 13): completion of ARN-shaped names in real shells,
//! the picker (Ctrl-C, fzf), colour, kubectx's shortcuts, empty states and errors that help.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::common::*;
use kctx::Kind;

const DEV: &str = "arn:aws:eks:eu-west-1:444455556666:cluster/dev";
const PROD: &str = "arn:aws:eks:us-east-1:111122223333:cluster/prod";
const STAGE: &str = "arn:aws:eks:us-east-1:111122223333:cluster/stage";

fn kubeconfig(h: &Home, names: &[&str], current: &str) -> PathBuf {
    let mut s = String::from("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n");
    for n in names {
        s.push_str(&format!(
            "- name: {}\n  context: {{cluster: c, user: u}}\n",
            serde_json::to_string(n).unwrap()
        ));
    }
    s.push_str(&format!(
        "current-context: {}\n",
        serde_json::to_string(current).unwrap()
    ));
    h.write(".kube/config", &s)
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

/// Runs kctx in a pseudo-terminal; `keys` are written after `wait` seconds. Returns the raw
/// terminal output and the exit code.
fn in_pty(
    h: &Home,
    cfg: &PathBuf,
    args: &[&str],
    env: &[(&str, &str)],
    keys: &[u8],
) -> (String, i32) {
    let mut c = h.cmd("python3");
    c.env("KUBECONFIG", cfg)
        .env("TERM", "xterm")
        .env("PATH", path_with_kctx(h));
    for (k, v) in env {
        c.env(k, v);
    }
    let argv: Vec<&str> = std::iter::once(kctx_bin())
        .chain(args.iter().copied())
        .collect();
    let o = in_terminal(&mut c, keys, 1.0, 1.5, &argv).output().unwrap();
    (stdout(&o), o.status.code().unwrap_or(-1))
}

fn shell_available(shell: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {shell}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Types `line`, presses Tab, and waits for the completed line; then runs it (Enter) and
/// returns the screen.
fn complete(t: &Tmux, line: &str, want: &str) -> String {
    t.reset();
    t.type_text(line);
    t.keys(&["Tab"]);
    let s = t.wait_for(want);
    t.keys(&["C-u"]);
    s
}

#[test]
fn bash_completes_arn_names_whole_and_unquoted() {
    if !shell_available("tmux") {
        panic!("tmux is needed (scripts/test.sh installs it)");
    }
    let h = Home::new();
    let cfg = kubeconfig(
        &h,
        &[DEV, PROD, STAGE, "dev@team", "sandbox", "with space"],
        "sandbox",
    );
    let path = path_with_kctx(&h);
    let t = Tmux::start(
        &h,
        "bash",
        &["--norc", "--noprofile"],
        &[
            ("PATH", &path),
            ("KUBECONFIG", &cfg.display().to_string()),
            ("PS1", "$ "),
        ],
    );
    t.type_text("source <(kctx completions bash)\n");
    t.wait_for("$ ");
    complete(&t, "kctx use arn:aws:eks:eu", &format!("kctx use {DEV} "));
    complete(
        &t,
        "kctx use arn:aws:eks:us-east-1:111122223333:cluster/p",
        &format!("kctx use {PROD} "),
    );
    complete(&t, "kctx use dev@", "kctx use dev@team ");
    complete(
        &t,
        "kctx whoami --context=arn:aws:eks:eu",
        &format!("--context={DEV} "),
    );
    complete(&t, "kctx use sa", "kctx use sandbox ");
    complete(&t, "kctx sa", "kctx sandbox ");
    // a name with a space is inserted escaped, so that it stays one argument
    complete(&t, "kctx use wi", "kctx use with\\ space ");
    // two ARNs share a prefix: Tab Tab lists both, and never offers --help in their place
    t.reset();
    t.type_text("kctx use arn:aws:eks:us-east-1:111122223333:cluster/");
    t.keys(&["Tab", "Tab"]);
    let s = t.wait_for("stage");
    assert!(s.contains("prod") && !s.contains("--help"), "{s}");
    // and a completed line runs: the switch happens
    t.keys(&["C-u"]);
    t.type_text("kctx use arn:aws:eks:eu");
    t.keys(&["Tab"]);
    t.wait_for(&format!("kctx use {DEV} "));
    t.keys(&["Enter"]);
    t.wait_for("Switched to context");
    assert_eq!(current(&cfg).as_deref(), Some(DEV));
}

#[test]
fn zsh_and_fish_complete_names_with_colons_slashes_and_at() {
    let h = Home::new();
    let cfg = kubeconfig(&h, &[DEV, PROD, "dev@team", "sandbox"], "sandbox");
    let path = path_with_kctx(&h);
    let env = [
        ("PATH", path.as_str()),
        ("KUBECONFIG", &cfg.display().to_string()),
    ];
    let mut tried = 0;
    if shell_available("zsh") {
        tried += 1;
        let env2 = [env[0], env[1], ("PS1", "% ")];
        let t = Tmux::start(&h, "zsh", &["-f"], &env2);
        t.type_text("autoload -U compinit && compinit -u && source <(kctx completions zsh)\n");
        std::thread::sleep(std::time::Duration::from_millis(500));
        complete(&t, "kctx use arn:aws:eks:eu", &format!("kctx use {DEV}"));
        complete(&t, "kctx use dev@", "kctx use dev@team");
        complete(
            &t,
            "kctx use arn:aws:eks:us-east-1:111122223333:cluster/p",
            &format!("kctx use {PROD}"),
        );
    } else {
        eprintln!("zsh not installed: skipped (scripts/test.sh installs it)");
    }
    if shell_available("fish") {
        tried += 1;
        let t = Tmux::start(&h, "fish", &["--no-config"], &env);
        t.type_text("kctx completions fish | source\n");
        std::thread::sleep(std::time::Duration::from_millis(500));
        complete(&t, "kctx use arn:aws:eks:eu", &format!("kctx use {DEV}"));
        complete(&t, "kctx use dev@", "kctx use dev@team");
        complete(
            &t,
            "kctx use arn:aws:eks:us-east-1:111122223333:cluster/p",
            &format!("kctx use {PROD}"),
        );
    } else {
        eprintln!("fish not installed: skipped (scripts/test.sh installs it)");
    }
    if std::env::var_os("CI").is_some() {
        assert_eq!(tried, 2, "CI installs zsh and fish");
    }
}

#[test]
fn ctrl_c_in_the_picker_restores_the_cursor() {
    let h = Home::new();
    let cfg = kubeconfig(&h, &["a", "b", "sandbox"], "a");
    let (out, code) = in_pty(&h, &cfg, &[], &[], b"sa\x03");
    assert_eq!(code, 130, "{out}");
    let hidden = out.rfind("\x1b[?25l").expect("the picker hides the cursor");
    let shown = out.rfind("\x1b[?25h").expect("the cursor comes back");
    assert!(shown > hidden, "the cursor was left hidden: {out:?}");
    // the list is cleared, as Esc clears it: back to where the picker began, screen cleared
    let drawn = out.rfind("sandbox").expect("the list was drawn");
    let cleared = out.rfind("\x1b8\x1b[J").expect("Ctrl-C clears the list");
    assert!(cleared > drawn, "{out:?}");
    assert_eq!(current(&cfg).as_deref(), Some("a"), "nothing switched");
    // Esc too, and Enter picks
    let (_, code) = in_pty(&h, &cfg, &[], &[], b"\x1b");
    assert_eq!(code, 130);
    let (out, code) = in_pty(&h, &cfg, &["use"], &[], b"sand\r");
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        current(&cfg).as_deref(),
        Some("sandbox"),
        "`kctx use` alone opens the picker"
    );
}

#[test]
fn fzf_on_path_is_used_like_kubectx_and_ignore_fzf_turns_the_picker_off() {
    let h = Home::new();
    let cfg = kubeconfig(&h, &["a", "b", "sandbox"], "a");
    // a stand-in fzf: records what it got and picks the line matching FAKE_PICK
    let bin = h.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fzf = bin.join("fzf");
    std::fs::write(
        &fzf,
        "#!/bin/sh\necho \"$@\" > \"$HOME/fzf-args\"\ncat > \"$HOME/fzf-input\"\ngrep \"$FAKE_PICK\" \"$HOME/fzf-input\" | sed 's/\\x1b\\[[0-9;]*m//g' | head -1\n",
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&fzf).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(&fzf, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (out, code) = in_pty(&h, &cfg, &[], &[("FAKE_PICK", "sand")], b"");
    assert_eq!(code, 0, "{out}");
    assert_eq!(current(&cfg).as_deref(), Some("sandbox"));
    let args = std::fs::read_to_string(h.path().join("fzf-args")).unwrap();
    assert!(
        args.contains("--ansi") && args.contains("--no-preview"),
        "{args}"
    );
    let input = std::fs::read_to_string(h.path().join("fzf-input")).unwrap();
    assert_eq!(
        input, "\x1b[1;32ma\x1b[0m\nb\nsandbox\n",
        "the current one is highlighted"
    );
    // KCTX_IGNORE_FZF set to anything, even 0, turns the picker off: the names are printed
    for v in ["1", "0"] {
        let (out, code) = in_pty(
            &h,
            &cfg,
            &[],
            &[("KCTX_IGNORE_FZF", v), ("FAKE_PICK", "b")],
            b"",
        );
        assert_eq!(code, 0);
        assert!(out.contains("a") && out.contains("sandbox"), "{out}");
        assert_eq!(
            current(&cfg).as_deref(),
            Some("sandbox"),
            "KCTX_IGNORE_FZF={v} picked anyway"
        );
    }
}

#[test]
fn piped_output_is_bare_names_and_a_terminal_gets_colour() {
    let h = Home::new();
    let cfg = kubeconfig(&h, &["a", "b"], "b");
    assert_eq!(ok(&mut k(&h, &cfg)), "a\nb\n", "bare kctx, piped");
    assert_eq!(ok(k(&h, &cfg).arg("list")), "a\nb\n", "kctx list, piped");
    assert_eq!(
        ok(k(&h, &cfg).args(["list", "--color", "always"])),
        "a\n\x1b[1;32mb\x1b[0m\n"
    );
    let (out, _) = in_pty(&h, &cfg, &["list"], &[], b"");
    assert!(out.contains("\x1b[1;32mb\x1b[0m"), "{out:?}");
    for env in [("NO_COLOR", "1"), ("TERM", "dumb")] {
        let (out, _) = in_pty(&h, &cfg, &["list"], &[env], b"");
        assert!(
            out.contains("* b") && !out.contains("\x1b[1;32m"),
            "{env:?}: {out:?}"
        );
    }
    let (out, _) = in_pty(&h, &cfg, &["list", "--color", "never"], &[], b"");
    assert!(out.contains("* b") && out.contains("  a"), "{out:?}");
}

#[test]
fn kubectx_shortcuts() {
    let h = Home::new();
    let cfg = kubeconfig(&h, &["a", "b", "list"], "a");
    ok(k(&h, &cfg).arg("b"));
    assert_eq!(current(&cfg).as_deref(), Some("b"));
    ok(k(&h, &cfg).arg("-"));
    assert_eq!(current(&cfg).as_deref(), Some("a"));
    assert_eq!(ok(k(&h, &cfg).arg("-c")), "a\n");
    assert_eq!(ok(k(&h, &cfg).arg("--current")), "a\n");
    // a context named like a command: `kctx use NAME`, and --help says so
    assert_eq!(
        ok(k(&h, &cfg).arg("list")),
        "a\nb\nlist\n",
        "`kctx list` is the command"
    );
    ok(k(&h, &cfg).args(["use", "list"]));
    assert_eq!(current(&cfg).as_deref(), Some("list"));
    assert!(ok(k(&h, &cfg).arg("--help")).contains("kctx use NAME"));
    // rename as kubectx spells it: NEW=OLD, NEW=. (the current one)
    ok(k(&h, &cfg).args(["rename", "lst=list"]));
    assert_eq!(current(&cfg).as_deref(), Some("lst"));
    ok(k(&h, &cfg).args(["rename", "current-one=."]));
    assert_eq!(current(&cfg).as_deref(), Some("current-one"));
    // `.` itself is never a new name (it would shadow the current-context spelling)
    let o = run(k(&h, &cfg).args(["rename", ".=current-one"]));
    assert!(
        !o.status.success() && stderr(&o).contains("`.` cannot be a context name"),
        "{}",
        stderr(&o)
    );
    assert_eq!(current(&cfg).as_deref(), Some("current-one"));
    ok(k(&h, &cfg).arg("b2=b"));
    let m = merged(std::slice::from_ref(&cfg));
    assert!(m.has(Kind::Contexts, "b2") && !m.has(Kind::Contexts, "b"));
    // rm . removes the current one
    let e = stderr(&run(k(&h, &cfg).args(["rm", "."])));
    assert!(e.contains("Deleted context \"current-one\""), "{e}");
    assert_eq!(current(&cfg), None);
    // -u unsets; `kctx -` goes back
    ok(k(&h, &cfg).arg("a"));
    ok(k(&h, &cfg).arg("-u"));
    assert_eq!(current(&cfg), None);
    assert!(std::fs::read_to_string(&cfg)
        .unwrap()
        .contains("current-context: \"\""));
    ok(k(&h, &cfg).arg("-"));
    assert_eq!(current(&cfg).as_deref(), Some("a"));
    // a name given twice is removed and reported once
    let e = stderr(&run(k(&h, &cfg).args(["rm", "b2", "b2"])));
    assert_eq!(e.matches("Deleted context").count(), 1, "{e}");
}

#[test]
fn empty_states_say_how_to_add_a_context() {
    let h = Home::new();
    let cfg = h.write(".kube/config", "apiVersion: v1\nkind: Config\n");
    for args in [vec![], vec!["list"]] {
        let o = run(k(&h, &cfg).args(&args));
        assert!(o.status.success());
        assert_eq!(stdout(&o), "");
        assert!(
            stderr(&o).contains("kctx add CLUSTER"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    for args in [vec!["current"], vec!["-c"]] {
        let o = run(k(&h, &cfg).args(&args));
        assert!(!o.status.success());
        let e = stderr(&o);
        assert!(
            e.contains("kctx add CLUSTER") && !e.contains("use 'kctx use"),
            "{e}"
        );
    }
    let o = run(k(&h, &cfg).arg("sandbox"));
    assert!(stderr(&o).contains("kctx add CLUSTER"), "{}", stderr(&o));
}

#[test]
fn parse_errors_suggest_what_was_meant() {
    let h = Home::new();
    let cfg = kubeconfig(&h, &["a", "b"], "a");
    // a typo of a command is taken for a context; the error names the command
    let e = stderr(&run(k(&h, &cfg).arg("lst")));
    assert!(
        e.contains("no context named \"lst\"") && e.contains("`kctx list`"),
        "{e}"
    );
    // an unknown flag: no `-- --flag` advice, but where the options are
    let e = stderr(&run(k(&h, &cfg).args(["rm", "-d", "a"])));
    assert!(
        !e.contains("'-- -d'") && e.contains("`kctx rm --help`"),
        "{e}"
    );
    // a close option is still suggested
    let e = stderr(&run(k(&h, &cfg).args(["add", "--nmae", "x"])));
    assert!(e.contains("--name"), "{e}");
}

#[test]
fn add_accepts_the_aws_cli_name_flag_and_says_added_or_updated() {
    let name = unique("ux");
    let arn = create_cluster(&name, "us-west-2");
    let h = Home::new();
    let path = path_with_kctx(&h);
    let kctx = || {
        let mut c = h.kctx_moto();
        c.env("PATH", &path);
        c
    };
    let out = ok(kctx().args(["add", "--name", &name]));
    assert!(
        out.starts_with(&format!("Added new context {arn} to ")),
        "{out}"
    );
    let out = ok(kctx().args(["add", &name, "--alias", "sandbox"]));
    assert!(
        out.starts_with("Added new context sandbox to "),
        "a new alias is added, not updated: {out}"
    );
    let o = run(kctx().args(["add", &name, "--alias", "sandbox"]));
    assert!(
        stdout(&o).starts_with("Updated context sandbox in "),
        "{}",
        stdout(&o)
    );
    assert!(
        !stderr(&o).contains("note"),
        "nothing shared changed: {}",
        stderr(&o)
    );
    // a new role on the ARN-named user, which two contexts use
    let o = run(kctx().args([
        "add",
        &name,
        "--alias",
        "admin",
        "--role-arn",
        "arn:aws:iam::123456789012:role/admin",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("arn:aws:iam::123456789012:role/admin")
            && e.contains(&format!("{arn:?}"))
            && e.contains("\"sandbox\""),
        "the note names the contexts that now sign differently: {e}"
    );
}

#[test]
fn cache_messages_fit_and_help() {
    let h = Home::new();
    let cache = h.path().join("cache");
    let o = run(h
        .kctx_env_keys()
        .env("KCTX_CACHE_DIR", &cache)
        .env("AWS_PROFILE", "dev")
        .args([
            "token",
            "--cluster-name",
            "a-cluster-with-a-really-quite-long-name-indeed",
        ]));
    assert!(
        o.status.success() || stderr(&o).contains("profile"),
        "{}",
        stderr(&o)
    );
    ok(h.kctx_env_keys()
        .env("KCTX_CACHE_DIR", &cache)
        .args(["token", "-i", "short"]));
    let list = ok(h
        .kctx()
        .env("KCTX_CACHE_DIR", &cache)
        .args(["cache", "list"]));
    let widths: Vec<usize> = list
        .lines()
        .map(|l| l.find("KIND").or_else(|| l.find("token")).unwrap_or(0))
        .collect();
    assert!(
        widths.windows(2).all(|w| w[0] == w[1]),
        "columns line up: {list}"
    );
    assert!(!list.contains("profile dev"), "{list}");
    let o =
        run(h
            .kctx()
            .env("KCTX_CACHE_DIR", &cache)
            .args(["cache", "clear", "--cluster", "nope"]));
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("no token is cached for cluster \"nope\"")
            && stderr(&o).contains("short"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_no_credentials_error_under_kubectl_says_how_to_fix_the_kubeconfig() {
    let h = Home::new();
    let o = run(h
        .kctx()
        .env("AWS_REGION", "us-west-2")
        .env(
            "KUBERNETES_EXEC_INFO",
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
        )
        .args(["token", "-i", "c"]));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("name: AWS_PROFILE") && e.contains("kctx add CLUSTER --profile"),
        "{e}"
    );
    assert!(!e.contains("pass --profile"), "{e}");
    // outside kubectl the advice is about the shell
    let e = stderr(&run(h
        .kctx()
        .env("AWS_REGION", "us-west-2")
        .args(["token", "-i", "c"])));
    assert!(e.contains("pass --profile"), "{e}");
}

#[test]
fn a_legacy_sso_profile_without_a_token_says_to_log_in() {
    let h = Home::new();
    h.write(
        ".aws/config",
        "[profile legacy]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = us-west-2\n",
    );
    let o = run(h.kctx().args(["token", "-i", "c", "--profile", "legacy"]));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("run `kctx login --profile legacy`"), "{e}");
    assert_eq!(e.lines().count(), 1);
}

#[test]
fn version_names_the_build() {
    let h = Home::new();
    let out = ok(h.kctx().arg("version"));
    assert!(
        out.starts_with(&format!("kctx {}", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert_eq!(out, ok(h.kctx().arg("--version")));
}

#[test]
fn access_errors_show_the_endpoint_and_status_and_named_clusters_take_the_context_region() {
    let h = Home::new();
    // an endpoint that answers like a proxy's error page
    let mut server = Command::new("python3");
    server.args([
        "-c",
        "import http.server,sys\nclass H(http.server.BaseHTTPRequestHandler):\n  def do_GET(s):\n    s.send_response(502); s.send_header('content-type','text/html'); s.end_headers(); s.wfile.write(b'<html>bad gateway</html>')\n  do_POST=do_GET\n  def log_message(s,*a): pass\nsrv=http.server.HTTPServer(('127.0.0.1',0),H)\nprint(srv.server_address[1],flush=True)\nimport threading;threading.Thread(target=srv.serve_forever,daemon=True).start()\nsys.stdin.read()",
    ]);
    let (_guard, port) = spawn_server(&mut server);
    // a context for cluster `dev` in eu-west-1; no AWS region anywhere else
    let cfg = h.write(
        ".kube/config",
        &format!("contexts:\n- name: dev\n  context: {{cluster: '{DEV}', user: u}}\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kctx\n      args: [token, --cluster-name, dev, --region, eu-west-1]\ncurrent-context: dev\n"),
    );
    let o = run(h
        .kctx()
        .env("KUBECONFIG", &cfg)
        .env("AWS_ACCESS_KEY_ID", AK)
        .env("AWS_SECRET_ACCESS_KEY", SK)
        .env("AWS_ENDPOINT_URL_EKS", format!("http://127.0.0.1:{port}"))
        .args(["access", "list", "dev"]));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        !e.contains("no AWS region"),
        "the context's region is used: {e}"
    );
    assert!(
        e.contains("HTTP 502") && e.contains("AWS_ENDPOINT_URL_EKS") && e.contains("text/html"),
        "{e}"
    );
    assert!(!e.contains("unexpected token"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn env_typed_without_eval_says_how_to_use_it() {
    let h = Home::new();
    let cfg = kubeconfig(&h, &["a", "b"], "a");
    let (out, code) = in_pty(&h, &cfg, &["env", "b", "--shell", "bash"], &[], b"");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("change nothing until the shell evaluates them")
            && out.contains("eval \"$(kctx env"),
        "{out}"
    );
    // piped into eval: no note
    let o = run(k(&h, &cfg).args(["env", "b", "--shell", "bash"]));
    assert!(!stderr(&o).contains("evaluates"), "{}", stderr(&o));
}
