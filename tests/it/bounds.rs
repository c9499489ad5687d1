//! Hardening II (issue 19): nothing outside kctx can hang it or fill its memory (exec plugins,
//! credential_process, endless pagination), locks follow the real file and go with Ctrl-C,
//! sessions live as long as something uses them, and what kctx prints or writes into
//! comments is escaped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Runs `c`, killed after `limit` (the test then fails: the command hung). Its output is
/// read while it runs.
fn bounded(c: &mut Command, limit: Duration) -> std::process::Output {
    use std::io::Read;
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{c:?} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn plugin_kubeconfig(h: &Home, script: &str) -> PathBuf {
    let plugin = h.write("plugin.sh", script);
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    h.write(
        ".kube/config",
        &format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:9'}}\ncontexts:\n- name: p\n  context: {{cluster: c, user: u}}\ncurrent-context: p\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n", plugin.display()),
    )
}

#[test]
fn exec_plugins_cannot_hang_kctx_or_fill_its_memory() {
    let h = Home::new();
    // exits without answering, while a child it started keeps its stdout open
    plugin_kubeconfig(&h, "#!/bin/sh\nsleep 60 &\nexit 0\n");
    let o = bounded(
        h.kctx().args(["ns", "--request-timeout", "2s", "x"]),
        Duration::from_secs(20),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("gave no credential within 2s (it exited, but a process it started keeps its output open)"),
        "{}",
        stderr(&o)
    );
    // prints without end: refused at the cap, never read whole
    plugin_kubeconfig(&h, "#!/bin/sh\nexec yes\n");
    let o = bounded(
        h.kctx().args(["whoami", "--request-timeout", "30s"]),
        Duration::from_secs(20),
    );
    assert!(
        stderr(&o).contains("printed more than 1024 KiB, which is not an ExecCredential"),
        "{}",
        stderr(&o)
    );
    // floods stderr: passed on up to a cap, the rest dropped, and the plugin not blocked
    plugin_kubeconfig(
        &h,
        "#!/bin/sh\nhead -c 10000000 /dev/zero | tr '\\0' x >&2\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}'\n",
    );
    let o = bounded(
        h.kctx().args(["whoami", "--request-timeout", "5s"]),
        Duration::from_secs(30),
    );
    assert!(
        o.stderr.len() < 200_000,
        "{} bytes of stderr",
        o.stderr.len()
    );
    assert!(stderr(&o).contains("further messages are dropped after 64 KiB"));
}

#[test]
fn credential_process_is_bounded_and_a_stuck_profile_does_not_stop_discovery() {
    let h = Home::new();
    h.write(
        ".aws/config",
        "[profile stuck]\nregion = us-west-2\ncredential_process = sleep 300\n[profile flood]\nregion = us-west-2\ncredential_process = yes\n[profile good]\nregion = us-west-2\ncredential_process = printf '{\"Version\":1,\"AccessKeyId\":\"AKIDGOOD\",\"SecretAccessKey\":\"s\"}'\n[profile chained]\nregion = us-west-2\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = stuck\n",
    );
    let kctx = || {
        let mut c = h.kctx();
        c.env("KCTX_CREDENTIAL_PROCESS_TIMEOUT", "1");
        c
    };
    for profile in ["stuck", "chained"] {
        let o = bounded(
            kctx().args([
                "token",
                "--cluster-name",
                "c",
                "--no-cache",
                "--profile",
                profile,
            ]),
            Duration::from_secs(20),
        );
        assert!(!o.status.success());
        assert_eq!(stdout(&o), "", "nothing on stdout");
        assert!(
            stderr(&o).contains(
                "profile \"stuck\": its credential_process gave no credentials within 1 s"
            ),
            "{}",
            stderr(&o)
        );
    }
    let o = bounded(
        kctx().args([
            "token",
            "--cluster-name",
            "c",
            "--no-cache",
            "--profile",
            "flood",
        ]),
        Duration::from_secs(20),
    );
    assert!(
        stderr(&o).contains("printed more than 64 KiB"),
        "{}",
        stderr(&o)
    );
    let o = bounded(
        kctx().args([
            "token",
            "--cluster-name",
            "c",
            "--no-cache",
            "--profile",
            "good",
        ]),
        Duration::from_secs(20),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(token_url(&exec_credential(&stdout(&o)).2).contains("AKIDGOOD"));

    // discovery over all profiles: the stuck one is one line, the good one is searched
    let eks = FakeEks::start(
        h.path(),
        &serde_json::json!({"regions": {"us-west-2": ["api"]}}),
    );
    let o = bounded(
        kctx().env("AWS_ENDPOINT_URL_EKS", &eks.url).args([
            "discover",
            "--all-profiles",
            "-o",
            "name",
        ]),
        Duration::from_secs(30),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "api\n", "{}", stderr(&o));
    assert!(stderr(&o).contains("stuck"), "{}", stderr(&o));
}

#[test]
fn a_list_that_never_ends_is_stopped_with_an_error() {
    let h = Home::new();
    h.write(
        ".aws/credentials",
        "[p]\naws_access_key_id = AKIDP\naws_secret_access_key = x\n",
    );
    let eks = FakeEks::start(
        h.path(),
        &serde_json::json!({"regions": {"us-west-2": ["api"]}, "clusters_token_loops": true}),
    );
    let o = bounded(
        h.kctx().env("AWS_ENDPOINT_URL_EKS", &eks.url).args([
            "discover",
            "--profile",
            "p",
            "--region",
            "us-west-2",
            "-o",
            "name",
        ]),
        Duration::from_secs(30),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("eks:ListClusters returned a nextToken it had returned before"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn one_file_through_a_symlink_and_its_real_path_loses_no_update() {
    let h = Home::new();
    let mut text = String::from("apiVersion: v1\nkind: Config\ncurrent-context: c0\ncontexts:\n");
    for i in 0..40 {
        text.push_str(&format!(
            "- name: c{i}\n  context: {{cluster: x, user: y}}\n"
        ));
    }
    let real = h.write("real/config", &text);
    let link = h.path().join("link-config");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let children: Vec<_> = (0..40)
        .map(|i| {
            let via: &Path = if i % 2 == 0 { &real } else { &link };
            h.kctx()
                .env("KUBECONFIG", via)
                .args(["rename", &format!("c{i}"), &format!("renamed-{i}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let names = ok(h
        .kctx()
        .env("KUBECONFIG", &real)
        .args(["list", "-o", "name"]));
    let renamed = names.lines().filter(|l| l.starts_with("renamed-")).count();
    assert_eq!(renamed, 40, "{names}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn ctrl_c_while_kctx_holds_a_lock_releases_it() {
    let h = Home::new();
    let a = h.write(
        "a",
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n",
    );
    let b = h.write("b", "apiVersion: v1\nkind: Config\ncurrent-context: x\n");
    // another program holds b's lock: kctx takes a's, then waits for b's
    let b_lock = h.write("b.lock", "");
    let kubeconfig = format!("{}:{}", a.display(), b.display());
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let mut child = h
            .kctx()
            .env("KUBECONFIG", &kubeconfig)
            .args(["use", "x"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let a_lock = h.path().join("a.lock");
        let start = Instant::now();
        while !a_lock.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "kctx never locked a"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: signalling the child this test started.
        unsafe {
            libc::kill(child.id() as i32, sig);
        }
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert!(!a_lock.exists(), "signal {sig}: the lock kctx held is gone");
        assert!(b_lock.exists(), "the other program's lock is left alone");
    }
}

#[test]
fn the_session_header_escapes_names_that_would_break_the_file() {
    let h = Home::new();
    h.write(
        ".kube/config",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:9'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: \"evil\\Nname\\L\\P\\x7F\"\n  context: {cluster: c, user: u}\n",
    );
    let name = "evil\u{85}name\u{2028}\u{2029}\u{7f}";
    let out = ok(h.kctx().args(["env", "--shell", "bash", name]));
    let file = out
        .lines()
        .find_map(|l| l.strip_prefix("export KCTX_SHELL_FILE='"))
        .and_then(|l| l.strip_suffix("';"))
        .unwrap()
        .to_owned();
    let view = kubectl_view(&h, &file);
    assert_eq!(
        view["current-context"], name,
        "kubectl loads the session file"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.lines().next().unwrap().contains("\\N"), "{text}");
    assert!(!text.contains('\u{85}') && !text.contains('\u{2028}'));
}

/// A kubeconfig with contexts `a` and `b` (their user has no AWS profile).
fn two_contexts(h: &Home) -> PathBuf {
    h.write(
        ".kube/config",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:9'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n- name: b\n  context: {cluster: c, user: u}\ncurrent-context: a\n",
    )
}

fn session_files(h: &Home) -> Vec<PathBuf> {
    let dir = h.path().join(".kube/cache/kctx/shells");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Puts a file's times `days` into the past.
fn age(p: &Path, days: u64) {
    let t = std::time::SystemTime::now() - Duration::from_secs(days * 24 * 3600);
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_times(std::fs::FileTimes::new().set_accessed(t).set_modified(t))
        .unwrap();
}

#[test]
fn a_session_file_lives_as_long_as_something_uses_it() {
    let h = Home::new();
    two_contexts(&h);
    let fresh_session = |h: &Home| {
        ok(h.kctx()
            .env("XDG_RUNTIME_DIR", "")
            .args(["env", "--shell", "bash", "a"]));
    };
    // direnv style: a short-lived shell evaluates the exports and hands them on
    let o = ok(h
        .cmd("bash")
        .env("PATH", path_with_kctx(&h))
        .env("XDG_RUNTIME_DIR", "")
        .args([
            "-c",
            "eval \"$(kctx env --shell bash b)\"; echo \"$KUBECONFIG\"",
        ]));
    let handed_on = PathBuf::from(o.trim());
    assert!(handed_on.exists());
    fresh_session(&h); // cleans stale files
    assert!(handed_on.exists(), "a file made a moment ago is not stale");

    // kill -9 of `kctx exec` while its child runs: the child keeps the file
    let mut exec = h
        .kctx()
        .env("XDG_RUNTIME_DIR", "")
        .args(["exec", "b", "--", "sleep", "30"])
        .spawn()
        .unwrap();
    let start = Instant::now();
    let file = loop {
        let now: Vec<PathBuf> = session_files(&h);
        if let Some(f) = now
            .into_iter()
            .find(|f| *f != handed_on && f.to_string_lossy().contains(&exec.id().to_string()))
        {
            break f;
        }
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(10));
    };
    std::thread::sleep(Duration::from_millis(200));
    exec.kill().unwrap(); // SIGKILL
    exec.wait().unwrap();
    for f in session_files(&h) {
        age(&f, 8); // only what holds a file can keep it now
    }
    fresh_session(&h);
    assert!(
        file.exists(),
        "the orphaned child still holds its session file"
    );
    assert!(
        !handed_on.exists(),
        "unused, ownerless, unheld and old: stale"
    );
    // once the child is gone too, the file goes with the next cleanup
    let _ = Command::new("pkill").args(["-f", "sleep 30"]).status();
    std::thread::sleep(Duration::from_millis(200));
    age(&file, 8);
    fresh_session(&h);
    assert!(!file.exists(), "stale once nothing holds it");
}

#[test]
fn env_off_removes_only_kctx_session_files_and_their_state() {
    let h = Home::new();
    let cfg = two_contexts(&h);
    // KCTX_SHELL_FILE pointing at the user's own kubeconfig: never deleted
    let o = run(h
        .kctx()
        .env("KUBECONFIG", &cfg)
        .env("KCTX_SHELL_FILE", &cfg)
        .args(["env", "--off", "--shell", "bash"]));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not isolated"), "{}", stderr(&o));
    assert!(cfg.exists(), "the user's kubeconfig is still there");

    // a real session: `use` inside it leaves state, and --off removes both
    let out = ok(h
        .kctx()
        .env("XDG_RUNTIME_DIR", "")
        .args(["env", "--shell", "bash", "a"]));
    let var = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("export {k}='")))
            .and_then(|l| l.strip_suffix("';"))
            .unwrap()
            .replace("'\\''", "'")
    };
    let (file, saved) = (var("KCTX_SHELL_FILE"), var("KCTX_SAVED"));
    let in_session = || {
        let mut c = h.kctx();
        c.env("XDG_RUNTIME_DIR", "")
            .env("KUBECONFIG", &file)
            .env("KCTX_SHELL_FILE", &file)
            .env("KCTX_SAVED", &saved);
        c
    };
    ok(in_session().args(["use", "b"]));
    let state_dir = h.path().join(".kube/cache/kctx/state");
    let states = || std::fs::read_dir(&state_dir).map_or(0, |d| d.count());
    assert_eq!(states(), 1, "the session's `use -` state");
    ok(in_session().args(["env", "--off", "--shell", "bash"]));
    assert!(!Path::new(&file).exists());
    assert_eq!(states(), 0, "its state went with it");
}

#[test]
fn prune_keeps_entries_another_kubeconfig_file_still_uses() {
    let h = Home::new();
    h.write(
        ".aws/credentials",
        "[p]\naws_access_key_id = AKIDP\naws_secret_access_key = x\n",
    );
    h.write(".aws/config", "[profile p]\nregion = us-west-2\n");
    let before = FakeEks::start(
        h.path(),
        &serde_json::json!({"account": "123456789012", "regions": {"us-west-2": ["api", "old"]}}),
    );
    let after = FakeEks::start(
        h.path(),
        &serde_json::json!({"account": "123456789012", "regions": {"us-west-2": ["api"]}}),
    );
    let bulk = h.path().join("bulk.yaml");
    let mine = h.path().join("mine.yaml");
    let kubeconfig = format!("{}:{}", mine.display(), bulk.display());
    let add = |eks: &FakeEks| {
        run(h
            .kctx()
            .env("KUBECONFIG", &kubeconfig)
            .env("AWS_ENDPOINT_URL_EKS", &eks.url)
            .env("AWS_ENDPOINT_URL_STS", moto())
            .args(["add", "--all", "--profile", "p", "--prune", "--kubeconfig"])
            .arg(&bulk))
    };
    let o = add(&before);
    assert!(o.status.success(), "{}", stderr(&o));
    // a hand-made context in the other file uses the `old` cluster and its user
    let old = "arn:aws:eks:us-west-2:123456789012:cluster/old";
    std::fs::write(
        &mine,
        format!("apiVersion: v1\nkind: Config\ncontexts:\n- name: mine\n  context: {{cluster: {old}, user: {old}}}\n"),
    )
    .unwrap();
    // `old` disappears from EKS: its marked context goes, its entries stay for `mine`
    let o = add(&after);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("pruned"), "{}", stdout(&o));
    let text = std::fs::read_to_string(&bulk).unwrap();
    assert_eq!(
        text.matches(&format!("name: {old}")).count(),
        2,
        "cluster and user kept:\n{text}"
    );
}

#[test]
fn a_repeated_flag_in_an_exec_entry_counts_as_the_plugin_counts_it() {
    let h = Home::new();
    h.write(
        ".kube/config",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:9'}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [--region, us-west-2, --profile, dev, eks, get-token, --cluster-name, c, --profile, prod]\n      env: [{name: AWS_REGION, value: eu-west-1}, {name: AWS_REGION, value: eu-central-1}]\n",
    );
    let out = ok(h.kctx().args(["env", "--shell", "bash", "x"]));
    assert!(out.contains("export AWS_PROFILE='prod';"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(h.kctx().args(["list", "-o", "json"]))).unwrap();
    assert_eq!(json[0]["eks"]["profile"], "prod");
    // kctx's own plugin takes the last one too, as kubectl would run it
    let o = run(h.kctx_env_keys().args([
        "token",
        "--cluster-name",
        "a",
        "--cluster-name",
        "b",
        "--no-cache",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn env_namespace_must_be_a_namespace() {
    let h = Home::new();
    two_contexts(&h);
    for bad in ["", "Bad_NS", "-x", "a b"] {
        let o = run(h
            .kctx()
            .args(["env", "--shell", "bash", "a"])
            .arg(format!("--namespace={bad}")));
        assert!(!o.status.success(), "{bad:?}");
        assert!(
            stderr(&o).contains("a namespace is a DNS label"),
            "{}",
            stderr(&o)
        );
    }
    ok(h.kctx().env("XDG_RUNTIME_DIR", "").args([
        "env",
        "--shell",
        "bash",
        "a",
        "--namespace",
        "web-1",
    ]));
}

#[test]
fn names_with_escape_sequences_are_shown_escaped_on_a_terminal() {
    let h = Home::new();
    h.write(
        ".kube/config",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:9'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: \"evil\\e]0;pwned\\x07\"\n  context: {cluster: c, user: u, namespace: \"n\\e[31m\"}\ncurrent-context: \"evil\\e]0;pwned\\x07\"\n",
    );
    let prompt = ok(h.kctx().arg("prompt"));
    assert_eq!(prompt, "evil\\x1b]0;pwned\\x07/n\\x1b[31m\n");
    let mut c = h.cmd("python3");
    let o = run(in_terminal(&mut c, b"", 0.5, 0.0, &[kctx_bin(), "list"]));
    let screen = stdout(&o);
    assert!(screen.contains("evil\\x1b]0;pwned\\x07"), "{screen:?}");
    assert!(!screen.contains("\u{1b}]0;"), "{screen:?}");
    // piped, for scripts: the name itself
    assert_eq!(ok(h.kctx().arg("list")), "evil\u{1b}]0;pwned\u{7}\n");
    // every column of the wide table, on a terminal or not
    let wide = ok(h.kctx().args(["list", "-o", "wide"]));
    assert!(
        wide.contains("evil\\x1b]0;pwned\\x07") && wide.contains("n\\x1b[31m"),
        "{wide:?}"
    );
    assert!(!wide.contains('\u{1b}'), "{wide:?}");
}
