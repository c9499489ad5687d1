//! Per-shell contexts (issue 14): two real shells on two contexts at once, `use`/`ns` inside
//! one touching nothing else, `env`/`env --off` in bash and fish, `exec` exit codes and
//! signals, hostile context names, stale files, and AWS_PROFILE carried along.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

const CLUSTER: &str = "sess-cluster";
const AK_A: &str = "AKIDSHELLAAAA";
const SK_A: &str = "secret-a";
const AK_B: &str = "AKIDSHELLBBBB";
const SK_B: &str = "secret-b";

/// ~/.aws with profiles `pa` and `pb` (static keys), and a kubeconfig whose contexts `alpha`
/// and `beta` reach the test API server as those profiles.
fn setup(h: &Home, s: &ApiServer) -> PathBuf {
    h.write(
        ".aws/credentials",
        &format!("[pa]\naws_access_key_id = {AK_A}\naws_secret_access_key = {SK_A}\n[pb]\naws_access_key_id = {AK_B}\naws_secret_access_key = {SK_B}\n"),
    );
    let user = |name: &str, profile: &str| {
        format!("- name: {name}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kctx\n      args: [token, --cluster-name, {CLUSTER}, --region, eu-west-1]\n      env: [{{name: AWS_PROFILE, value: {profile}}}]\n")
    };
    h.write(
        ".kube/config",
        &format!(
            "# my clusters\napiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: alpha\n  context: {{cluster: c, user: ua, namespace: web}}\n- name: beta\n  context: {{cluster: c, user: ub}}\n- name: \"a'b; rm -rf x\"\n  context: {{cluster: c, user: ua}}\ncurrent-context: alpha\nusers:\n{}{}",
            s.url,
            s.ca_data(),
            user("ua", "pa"),
            user("ub", "pb")
        ),
    )
}

fn server(h: &Home) -> ApiServer {
    ApiServer::start(h.path(), CLUSTER, &[(AK_A, SK_A), (AK_B, SK_B)])
}

fn shell_env(h: &Home) -> Vec<(String, String)> {
    vec![
        ("PATH".into(), path_with_kctx(h)),
        ("PS1".into(), "$ ".into()),
        ("SHELL".into(), "/bin/bash".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ]
}

fn tmux(h: &Home, shell: &str, args: &[&str], extra: &[(&str, &str)]) -> Tmux {
    let mut env: Vec<(String, String)> = shell_env(h);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Tmux::start(h, shell, args, &refs)
}

/// Runs a line in a shell and waits for the marker it echoes.
fn sh(t: &Tmux, line: &str, marker: &str) -> String {
    t.reset();
    t.type_text(&format!("{line}; echo {marker}\n"));
    t.wait_for(&format!("\n{marker}"))
}

fn access_keys(s: &ApiServer) -> Vec<String> {
    s.requests()
        .iter()
        .map(|r| r["access_key"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn two_shells_on_two_contexts_do_not_touch_each_other() {
    let h = Home::new();
    let s = server(&h);
    let cfg = setup(&h, &s);
    let before = std::fs::read(&cfg).unwrap();
    let one = tmux(&h, "bash", &["--norc", "--noprofile"], &[]);
    let two = tmux(&h, "bash", &["--norc", "--noprofile"], &[]);
    one.type_text("kctx shell alpha\n");
    one.wait_for("a shell on context \"alpha\" (AWS_PROFILE=pa)");
    two.type_text("kctx shell beta\n");
    two.wait_for("a shell on context \"beta\" (AWS_PROFILE=pb)");
    // kubectl in each shell signs as that shell's profile
    sh(&one, "kubectl get --raw /version >/dev/null", "ONE-A");
    assert_eq!(access_keys(&s).last().map(String::as_str), Some(AK_A));
    sh(&two, "kubectl get --raw /version >/dev/null", "TWO-A");
    assert_eq!(access_keys(&s).last().map(String::as_str), Some(AK_B));
    // a switch and a namespace inside shell one change only shell one
    sh(
        &one,
        "kctx use beta && kctx ns kube-system --force",
        "ONE-B",
    );
    let p1 = sh(&one, "kctx prompt", "ONE-C");
    assert!(p1.contains("beta/kube-system (isolated)"), "{p1}");
    let p2 = sh(&two, "kctx prompt && echo AWS=$AWS_PROFILE", "TWO-B");
    assert!(
        p2.contains("beta/default (isolated)") && p2.contains("AWS=pb"),
        "{p2}"
    );
    sh(&one, "kctx use - && kctx use -", "ONE-D");
    assert_eq!(
        std::fs::read(&cfg).unwrap(),
        before,
        "~/.kube/config is byte-identical"
    );
    // nested shells are refused
    let out = sh(&one, "kctx shell alpha", "ONE-E");
    assert!(out.contains("already isolated"), "{out}");
    // leaving a shell removes its file
    let files = |h: &Home| {
        std::fs::read_dir(h.path().join(".kube/cache/kctx/shells"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(files(&h), 2);
    one.type_text("exit\n");
    two.type_text("exit\n");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(files(&h), 0, "session files are removed with their shells");
}

#[test]
fn env_and_env_off_round_trip_in_bash_and_fish() {
    let h = Home::new();
    let s = server(&h);
    let cfg = setup(&h, &s);
    let before = std::fs::read(&cfg).unwrap();
    // bash, with KUBECONFIG and AWS_PROFILE set beforehand
    let t = tmux(
        &h,
        "bash",
        &["--norc", "--noprofile"],
        &[
            ("KUBECONFIG", &cfg.display().to_string()),
            ("AWS_PROFILE", "orig"),
        ],
    );
    sh(&t, "eval \"$(kctx env beta)\"", "B1");
    let out = sh(
        &t,
        "echo K=$KUBECONFIG P=$AWS_PROFILE R=$AWS_REGION; kubectl config current-context",
        "B2",
    );
    assert!(
        out.contains("P=pb R=eu-west-1")
            && out.contains(".kube/cache/kctx/shells/")
            && out.contains("\nbeta\n"),
        "{out}"
    );
    sh(&t, "kubectl get --raw /version >/dev/null", "B3");
    assert_eq!(access_keys(&s).last().map(String::as_str), Some(AK_B));
    sh(&t, "eval \"$(kctx env --off)\"", "B4");
    let out = sh(
        &t,
        "echo K=$KUBECONFIG P=$AWS_PROFILE R=${AWS_REGION-unset} F=${KCTX_SHELL_FILE-unset}",
        "B5",
    );
    assert!(
        out.contains(&format!("K={} P=orig R=unset F=unset", cfg.display())),
        "{out}"
    );
    assert_eq!(std::fs::read(&cfg).unwrap(), before);
    // fish
    let t = tmux(
        &h,
        "fish",
        &["--no-config"],
        &[("KUBECONFIG", &cfg.display().to_string())],
    );
    t.type_text("kctx env --shell fish alpha | source; echo F1\n");
    t.wait_for("\nF1");
    let out = sh(&t, "echo K=$KUBECONFIG P=$AWS_PROFILE; kubectl config view --minify -o jsonpath='{..namespace}'; echo", "F2");
    assert!(
        out.contains("P=pa") && out.contains("shells/") && out.contains("\nweb"),
        "{out}"
    );
    sh(&t, "kctx env --off | source", "F3");
    let out = sh(
        &t,
        "echo K=$KUBECONFIG P=(set -q AWS_PROFILE; and echo set; or echo unset)",
        "F4",
    );
    assert!(
        out.contains(&format!("K={} P=unset", cfg.display())),
        "{out}"
    );
}

#[test]
fn exec_passes_exit_codes_signals_and_the_aws_profile() {
    let h = Home::new();
    let s = server(&h);
    let cfg = setup(&h, &s);
    let k = || {
        let mut c = h.kctx();
        c.env("PATH", path_with_kctx(&h)).env("KUBECONFIG", &cfg);
        c
    };
    let o = run(k().args([
        "exec",
        "beta",
        "--",
        "sh",
        "-c",
        "echo $AWS_PROFILE $AWS_REGION; kubectl config current-context; exit 7",
    ]));
    assert_eq!(o.status.code(), Some(7));
    assert_eq!(stdout(&o), "pb eu-west-1\nbeta\n");
    let o = run(k().args([
        "exec",
        "beta",
        "--no-aws",
        "--",
        "sh",
        "-c",
        "echo ${AWS_PROFILE-none}",
    ]));
    assert_eq!(stdout(&o), "none\n");
    let o = run(k().args([
        "exec",
        "alpha",
        "-n",
        "kube-system",
        "--",
        "kubectl",
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={..namespace}",
    ]));
    assert_eq!(stdout(&o), "kube-system");
    // kubectl really signs as the context's profile
    ok(k().args(["exec", "alpha", "--", "kubectl", "get", "--raw", "/version"]));
    assert_eq!(access_keys(&s).last().map(String::as_str), Some(AK_A));
    // SIGINT sent to kctx reaches the command, whose status kctx then takes
    let marker = h.path().join("got-int");
    let mut child = k()
        .args([
            "exec",
            "alpha",
            "--",
            "sh",
            "-c",
            &format!(
                "trap 'echo int > {}; exit 3' INT; sleep 20 & wait",
                marker.display()
            ),
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    // SAFETY: sending a signal to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert!(marker.exists(), "the command got SIGINT");
    assert_eq!(status.code(), Some(3));
    // a command killed by a signal: kctx dies of the same signal
    let status = k()
        .args(["exec", "alpha", "--", "sh", "-c", "kill -TERM $$"])
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    // a command that does not exist: one line, exit 127 as env/sudo give; no file left
    let o = run(k().args(["exec", "alpha", "--", "no-such-command-kctx"]));
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("kctx: error: cannot run no-such-command-kctx")
            && stderr(&o).lines().count() == 1,
        "{}",
        stderr(&o)
    );
    // one that cannot be executed: 126
    let not_exec = h.write("not-executable", "echo hi\n");
    let o = run(k().args(["exec", "alpha", "--"]).arg(&not_exec));
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    let left = std::fs::read_dir(h.path().join(".kube/cache/kctx/shells"))
        .unwrap()
        .count();
    assert_eq!(left, 0);
}

#[test]
fn env_output_is_safe_to_eval_for_any_context_name() {
    let h = Home::new();
    let s = server(&h);
    let cfg = setup(&h, &s);
    let victim = h.write("x/keep", "still here");
    let script = "set -e\ncd \"$HOME\"\neval \"$(kctx env \"a'b; rm -rf x\")\"\nkubectl config current-context\nkctx prompt\n";
    let out = ok(h
        .cmd("bash")
        .env("PATH", path_with_kctx(&h))
        .env("KUBECONFIG", &cfg)
        .args(["--norc", "-c", script]));
    assert_eq!(out, "a'b; rm -rf x\na'b; rm -rf x/default (isolated)\n");
    assert!(victim.exists());
    // zsh too
    if Command::new("sh")
        .args(["-c", "command -v zsh"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        let out = ok(h
            .cmd("zsh")
            .env("PATH", path_with_kctx(&h))
            .env("KUBECONFIG", &cfg)
            .args(["-f", "-c", &script.replace("set -e\n", "")]));
        assert!(out.starts_with("a'b; rm -rf x\n"), "{out}");
        assert!(victim.exists());
    }
}

#[test]
fn stale_session_files_are_removed_and_library_edits_say_so() {
    let h = Home::new();
    let s = server(&h);
    let cfg = setup(&h, &s);
    let dir = h.path().join(".kube/cache/kctx/shells");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(
        h.path().join(".kube/cache/kctx"),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // a file of a shell that was killed (its pid is gone), and one of a live process
    let dead = {
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    };
    let scope = kctx::session_scope();
    let stale = dir.join(format!("{dead}.deadbeef.{scope}.yaml"));
    let stale_old_name = dir.join(format!("{dead}.deadbee0.yaml"));
    let live = dir.join(format!("{}.cafecafe.{scope}.yaml", std::process::id()));
    // another host's or container's file (another scope): its pid means nothing here
    let other = format!("{:08x}", u32::from_str_radix(&scope, 16).unwrap() ^ 1);
    let foreign = dir.join(format!("{dead}.f0f0f0f0.{other}.yaml"));
    let young = dir.join(format!("{dead}.0badf00d.{scope}.yaml"));
    for p in [&stale, &stale_old_name, &live, &foreign, &young] {
        std::fs::write(p, "apiVersion: v1\n").unwrap();
    }
    // unused for more than a week (a shell handed the file by `eval` may still use a younger
    // one: nothing shows that it does)
    for p in [&stale, &stale_old_name, &live, &foreign] {
        age(p);
    }
    let k = || {
        let mut c = h.kctx();
        c.env("PATH", path_with_kctx(&h)).env("KUBECONFIG", &cfg);
        c
    };
    ok(k().args(["exec", "alpha", "--", "true"]));
    assert!(!stale.exists(), "a killed shell's file is removed");
    assert!(!stale_old_name.exists(), "also one named before scopes");
    assert!(live.exists(), "a live one stays");
    assert!(foreign.exists(), "another scope's file stays");
    // inside a session, rm edits the user's kubeconfig, and says so
    let out = run(k().args(["exec", "alpha", "--", "kctx", "rm", "beta"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("this shell is isolated; rm edits your kubeconfig"),
        "{}",
        stderr(&out)
    );
    assert!(!merged(std::slice::from_ref(&cfg)).has(kctx::Kind::Contexts, "beta"));
    // prompt outside a session
    assert_eq!(ok(k().arg("prompt")), "alpha/web\n");
    let _: &Path = &cfg;
}

/// A second kubeconfig file with a context whose user is a plain token (no AWS profile).
fn plain_context(h: &Home, s: &ApiServer) -> PathBuf {
    h.write(
        "plain.yaml",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: pc\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: plain\n  context: {{cluster: pc, user: tok}}\nusers:\n- name: tok\n  user: {{token: not-aws}}\n",
            s.url,
            s.ca_data()
        ),
    )
}

#[test]
fn switching_inside_a_session_carries_the_aws_side_and_keeps_namespaces() {
    let h = Home::new();
    let s = server(&h);
    let cfg = setup(&h, &s);
    let plain = plain_context(&h, &s);
    let library = format!("{}:{}", cfg.display(), plain.display());
    let before = std::fs::read(&cfg).unwrap();
    let script = r#"
eval "$(kctx env alpha)"
echo "A P=${AWS_PROFILE-unset} R=${AWS_REGION-unset}"
eval "$(kctx env plain)"
echo "B P=${AWS_PROFILE-unset} R=${AWS_REGION-unset} $(kctx prompt)"
eval "$(kctx env alpha)"
kctx ns kube-system --force >/dev/null 2>&1
kctx use plain 2>&1 | grep note
kctx use - 2>/dev/null
echo "C $(kctx prompt)"
echo "D $(kctx exec beta -- kctx list -o name | tr '\n' ' ')"
echo "E $(kctx exec beta -- sh -c 'echo "$AWS_PROFILE $(kctx prompt)"')"
kctx exec plain -- sh -c 'echo "F P=${AWS_PROFILE-unset}"'
eval "$(kctx env --off)"
echo "G K=$KUBECONFIG P=${AWS_PROFILE-unset}"
"#;
    let out = ok(h
        .cmd("bash")
        .env("PATH", path_with_kctx(&h))
        .env("KUBECONFIG", &library)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["--norc", "-c", script]));
    let line = |tag: &str| {
        out.lines()
            .find(|l| l.starts_with(tag))
            .unwrap_or_else(|| panic!("no {tag:?} in {out}"))
            .to_owned()
    };
    assert_eq!(line("A "), "A P=pa R=eu-west-1");
    // a context without an AWS profile gets back what the shell had before: nothing
    assert_eq!(line("B "), "B P=unset R=unset plain/default (isolated)");
    // `kctx use` cannot change the shell's variables, and says which no longer fit
    assert!(
        line("kctx: note:").contains("AWS_PROFILE should be unset and AWS_REGION should be unset"),
        "{out}"
    );
    // coming back finds the namespace this shell set, not the library's
    assert_eq!(line("C "), "C alpha/kube-system (isolated)", "{out}");
    // exec inside a session: the user's kubeconfig files are the library, not the session
    assert_eq!(line("D "), "D alpha beta a'b; rm -rf x plain ");
    assert_eq!(line("E "), "E pb beta/default (isolated)");
    assert_eq!(line("F "), "F P=unset");
    assert_eq!(line("G "), format!("G K={library} P=unset"));
    assert_eq!(std::fs::read(&cfg).unwrap(), before);
}

#[test]
fn a_file_made_by_env_follows_the_shell_that_evaluates_it() {
    let h = Home::new();
    let s = server(&h);
    let cfg = setup(&h, &s);
    // bash started from bash (a terminal's shell inside another), and a compound command
    // substitution (a subshell between the shell and kctx): the file belongs to the inner
    // shell, so it is removed once that shell is gone, and not while it lives
    for subst in ["kctx env alpha", "true; kctx env alpha"] {
        let inner = format!(
            "echo PID=$$; eval \"$({subst})\"; echo \"F=$KUBECONFIG\"; kctx exec beta -- true; test -f \"$KUBECONFIG\" && echo KEPT"
        );
        let outer = format!("bash --norc -c {}; true", kctx::quote_posix(&inner));
        let out = ok(h
            .cmd("bash")
            .env("PATH", path_with_kctx(&h))
            .env("KUBECONFIG", &cfg)
            .args(["--norc", "-c", &outer]));
        let pid = out.lines().find_map(|l| l.strip_prefix("PID=")).unwrap();
        let file = out.lines().find_map(|l| l.strip_prefix("F=")).unwrap();
        let name = Path::new(file).file_name().unwrap().to_string_lossy();
        assert!(name.starts_with(&format!("{pid}.")), "{subst}: {out}");
        assert!(out.contains("\nKEPT"), "{subst}: {out}");
        // the inner shell has exited, but a shell it handed the file to may still use it:
        // the next session leaves it until it has gone unused for a week
        ok(h.kctx()
            .env("KUBECONFIG", &cfg)
            .env("PATH", path_with_kctx(&h))
            .args(["exec", "beta", "--", "true"]));
        assert!(
            Path::new(file).exists(),
            "{subst}: {file} removed while young"
        );
        age(Path::new(file));
        ok(h.kctx()
            .env("KUBECONFIG", &cfg)
            .env("PATH", path_with_kctx(&h))
            .args(["exec", "beta", "--", "true"]));
        assert!(!Path::new(file).exists(), "{subst}: {file} left behind");
    }
}

/// Sets a file's access and modification times to eight days ago.
fn age(p: &Path) {
    let st = Command::new("touch")
        .args(["-d", "8 days ago"])
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}
