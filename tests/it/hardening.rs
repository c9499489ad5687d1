//! What a hostile tester found (issue 9): races between writers, kill -9 between writes,
//! files owned by others, huge files, and cache or state directories that others control.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use crate::common::*;
use kctx::Kind;

fn k(h: &Home, kc: &str) -> Command {
    let mut c = h.kctx();
    c.env("KUBECONFIG", kc);
    c
}

fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// current-context is empty or names a context that exists (what kubectl needs to work).
fn current_context_valid(paths: &[PathBuf]) -> Result<(), String> {
    let m = merged(paths);
    if let Some(e) = m.errors().next() {
        return Err(format!("unreadable: {e}"));
    }
    match m.current_context() {
        Some(c) if !m.has(Kind::Contexts, c) => {
            Err(format!("current-context {c:?} names no context"))
        }
        _ => Ok(()),
    }
}

#[test]
fn rm_racing_add_never_deletes_what_the_add_uses() {
    let name = unique("race");
    let arn = create_cluster(&name, "us-west-2");
    let h = Home::new();
    // `mine` uses the cluster and user entries that `add NAME --alias second` writes too
    let extra_clusters = format!("- cluster:\n    server: https://old\n  name: {arn}\n");
    let extra_contexts = format!("- context:\n    cluster: {arn}\n    user: {arn}\n  name: mine\n");
    let extra_users = format!("- name: {arn}\n  user:\n    token: old\n");
    let base = eks_kubeconfig(
        2000,
        &extra_clusters,
        &extra_contexts,
        &extra_users,
        Some("mine"),
    );
    let cfg = h.path().join("config");
    let kc = cfg.display().to_string();
    for round in 0..15u64 {
        std::fs::write(&cfg, &base).unwrap();
        let _ = std::fs::remove_file(h.path().join("config.lock"));
        let add = h
            .kctx_moto()
            .env("KUBECONFIG", &kc)
            .args(["add", &name, "--alias", "second"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // sweep rm's start across add's run (its DescribeCluster, read and write)
        std::thread::sleep(Duration::from_millis(round * 25));
        let rm = k(&h, &kc)
            .args(["rm", "mine"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        for (what, c) in [("add", add), ("rm", rm)] {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "round {round}: {what}: {}", stderr(&o));
        }
        let m = merged(std::slice::from_ref(&cfg));
        let f = m
            .readable()
            .next()
            .unwrap_or_else(|| panic!("round {round}: unreadable"));
        assert!(
            !f.has(Kind::Contexts, "mine"),
            "round {round}: mine survived"
        );
        assert!(
            f.has(Kind::Contexts, "second"),
            "round {round}: second lost"
        );
        assert!(
            f.has(Kind::Clusters, &arn),
            "round {round}: rm deleted the cluster `second` uses"
        );
        assert!(
            f.has(Kind::Users, &arn),
            "round {round}: rm deleted the user `second` uses"
        );
        assert_eq!(
            f.current_context(),
            Some("second"),
            "round {round}: current-context as add set it"
        );
        assert_eq!(f.names(Kind::Contexts).count(), 2001, "round {round}");
    }
    // kubectl agrees with the last round's file
    let out = ok(h
        .cmd("kubectl")
        .env("KUBECONFIG", &kc)
        .args(["config", "current-context"]));
    assert_eq!(out.trim(), "second");
}

/// Kills `cmd` at spread-out moments ≥ `kills` times; after each kill the files must satisfy
/// `check`. Returns how many runs were killed before they finished.
fn kill_rounds(
    kills: usize,
    reset: &dyn Fn(),
    cmd: &dyn Fn() -> Command,
    check: &dyn Fn(usize) -> Result<(), String>,
    locks: &[PathBuf],
) -> usize {
    // how long one undisturbed run takes
    reset();
    let t = std::time::Instant::now();
    let o = cmd().output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let full = t.elapsed();
    let mut killed = 0;
    for round in 0..kills {
        reset();
        let mut child = cmd()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(round as f64 / kills as f64));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if !status.success() {
            killed += 1;
        }
        check(round).unwrap_or_else(|e| panic!("round {round}: {e}"));
        // a killed writer leaves client-go's lock file behind, as kubectl's would
        for l in locks {
            let _ = std::fs::remove_file(l);
        }
    }
    killed
}

#[test]
fn kill_9_during_rename_or_rm_of_the_current_context_leaves_before_or_after() {
    let h = Home::new();
    let cfg = h.path().join("config");
    let kc = cfg.display().to_string();
    let extra = "- context:\n    cluster: arn:aws:eks:us-west-2:123456789012:cluster/filler-00001\n    user: arn:aws:eks:us-west-2:123456789012:cluster/filler-00001\n  name: cur\n";
    let base = eks_kubeconfig(1500, "", extra, "", Some("cur"));
    let view = |p: &Path| kubectl_view(&h, &p.display().to_string());
    std::fs::write(&cfg, &base).unwrap();
    let before = view(&cfg);
    for (args, name) in [
        (vec!["rename", "cur", "renamed"], "rename"),
        (vec!["rm", "cur"], "rm"),
    ] {
        let reset = || std::fs::write(&cfg, &base).unwrap();
        reset();
        ok(k(&h, &kc).args(&args));
        let after = view(&cfg);
        let killed = kill_rounds(
            25,
            &reset,
            &|| {
                let mut c = k(&h, &kc);
                c.args(&args);
                c
            },
            &|_| {
                let now = view(&cfg);
                if now == before || now == after {
                    Ok(())
                } else {
                    Err(format!(
                        "{name}: the file is neither the before nor the after state"
                    ))
                }
            },
            &[h.path().join("config.lock")],
        );
        assert!(
            killed > 0,
            "{name}: no run was killed mid-way; the test proves nothing"
        );
    }
}

#[test]
fn kill_9_across_two_files_never_leaves_current_context_dangling() {
    // current-context lives in the first file, the context in the second
    let h = Home::new();
    let a = h.path().join("a.yaml");
    let b = h.path().join("b.yaml");
    let kc = format!("{}:{}", a.display(), b.display());
    let a_text = "apiVersion: v1\nkind: Config\ncurrent-context: cur\n";
    let extra = "- context:\n    cluster: arn:aws:eks:us-west-2:123456789012:cluster/filler-00001\n    user: arn:aws:eks:us-west-2:123456789012:cluster/filler-00001\n  name: cur\n";
    let b_text = eks_kubeconfig(1500, "", extra, "", Some("\"\""));
    let paths = vec![a.clone(), b.clone()];
    let reset = || {
        std::fs::write(&a, a_text).unwrap();
        std::fs::write(&b, &b_text).unwrap();
    };
    for args in [vec!["rename", "cur", "renamed"], vec!["rm", "cur"]] {
        let killed = kill_rounds(
            25,
            &reset,
            &|| {
                let mut c = k(&h, &kc);
                c.args(&args);
                c
            },
            &|_| {
                current_context_valid(&paths)?;
                // and kubectl reads both files
                kubectl_view(&h, &kc);
                Ok(())
            },
            &[h.path().join("a.yaml.lock"), h.path().join("b.yaml.lock")],
        );
        assert!(killed > 0, "{args:?}: no run was killed mid-way");
    }
    // the finished rename: renamed is current, and defined once
    reset();
    ok(k(&h, &kc).args(["rename", "cur", "renamed"]));
    let m = merged(&paths);
    assert_eq!(m.current_context(), Some("renamed"));
    assert!(m.has(Kind::Contexts, "renamed") && !m.has(Kind::Contexts, "cur"));
}

#[test]
fn a_use_in_the_gap_is_not_overwritten() {
    // rename of the current context and use of another, racing: the end state is one of
    // the two orders, never a mix (current-context naming the old, now missing name).
    let h = Home::new();
    let cfg = h.path().join("config");
    let kc = cfg.display().to_string();
    let extra = "- context:\n    cluster: c\n    user: u\n  name: cur\n- context:\n    cluster: c\n    user: u\n  name: other\n";
    let base = eks_kubeconfig(1500, "", extra, "", Some("cur"));
    for round in 0..8u64 {
        std::fs::write(&cfg, &base).unwrap();
        let rename = k(&h, &kc)
            .args(["rename", "cur", "renamed"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(round * 10));
        let usec = k(&h, &kc)
            .args(["use", "other"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for mut c in [rename, usec] {
            assert!(c.wait().unwrap().success());
        }
        let m = merged(std::slice::from_ref(&cfg));
        let cc = m.current_context().unwrap();
        assert!(cc == "other" || cc == "renamed", "round {round}: {cc}");
        assert!(m.has(Kind::Contexts, "renamed") && !m.has(Kind::Contexts, "cur"));
    }
}

#[test]
fn the_owner_and_mode_are_kept_or_nothing_is_written() {
    if !is_root() {
        eprintln!("skipped: needs root to own files as another user");
        return;
    }
    let h = Home::new();
    std::fs::set_permissions(h.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = "apiVersion: v1\nkind: Config\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n- name: b\n  context: {cluster: c, user: u}\ncurrent-context: a\n";
    let cfg = h.write("config", text);
    std::os::unix::fs::chown(&cfg, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    // `sudo -E kctx use b` on nobody's kubeconfig
    ok(k(&h, &cfg.display().to_string()).args(["use", "b"]));
    let m = std::fs::metadata(&cfg).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (65534, 65534, 0o600));
    assert!(std::fs::read_to_string(&cfg)
        .unwrap()
        .contains("current-context: b"));
    // the owner's kubectl still reads it
    let o = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "kubectl",
            "config",
            "current-context",
        ])
        .env("KUBECONFIG", &cfg)
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "b",
        "{}",
        stderr(&o)
    );

    // nobody, in a directory it may write, cannot give root's file away: kctx refuses first
    let dir = h.path().join("shared");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    let rootfile = dir.join("config");
    std::fs::write(&rootfile, text).unwrap();
    std::fs::set_permissions(&rootfile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(kctx_bin())
        .args(["use", "b"])
        .env_clear()
        .env("HOME", &dir)
        .env("KUBECONFIG", &rootfile)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("cannot keep the owner") && e.contains("uid 0"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    assert_eq!(std::fs::read_to_string(&rootfile).unwrap(), text);
    assert_eq!(std::fs::metadata(&rootfile).unwrap().uid(), 0);
}

#[test]
fn twenty_thousand_contexts_list_use_and_add() {
    let name = unique("big");
    let arn = create_cluster(&name, "us-west-2");
    let h = Home::new();
    let text = eks_kubeconfig(20_000, "", "", "", None);
    let cfg = h.write("config", &text);
    let kc = cfg.display().to_string();
    let names = ok(k(&h, &kc).args(["list", "-o", "name"]));
    assert_eq!(names.lines().count(), 20_000);
    let target = "arn:aws:eks:us-west-2:123456789012:cluster/filler-19999";
    ok(k(&h, &kc).args(["use", target]));
    let after = std::fs::read_to_string(&cfg).unwrap();
    assert_eq!(
        after,
        text.replace(
            "current-context: arn:aws:eks:us-west-2:123456789012:cluster/filler-00000",
            &format!("current-context: {target}")
        ),
        "only the current-context line changes"
    );
    let out = ok(h.kctx_moto().env("KUBECONFIG", &kc).args(["add", &name]));
    assert!(out.starts_with("Added new context"), "{out}");
    let m = merged(std::slice::from_ref(&cfg));
    let f = m.readable().next().unwrap();
    assert_eq!(f.names(Kind::Contexts).count(), 20_001);
    assert_eq!(f.current_context(), Some(arn.as_str()));
    assert!(std::fs::read_to_string(&cfg)
        .unwrap()
        .starts_with(&text[..text.find("contexts:").unwrap()]));
}

#[test]
fn an_unreadable_only_kubeconfig_is_an_error_not_an_empty_list() {
    let h = Home::new();
    let broken = h.write("broken", "clusters: [\n");
    let dir = h.path().join("adir");
    std::fs::create_dir(&dir).unwrap();
    for (path, want) in [(&broken, "invalid YAML"), (&dir, "is a directory")] {
        let kc = path.display().to_string();
        for args in [
            vec!["list"],
            vec!["current"],
            vec!["ns"],
            vec!["ns", "x"],
            vec!["use", "a"],
        ] {
            let o = run(k(&h, &kc).args(&args));
            assert!(!o.status.success(), "{args:?} on {kc}");
            let e = stderr(&o);
            assert!(e.contains(&kc) && e.contains(want), "{args:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }
    if is_root() {
        return; // root reads a 0000 file anyway
    }
    let locked = h.write("locked", "apiVersion: v1\n");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let o = run(k(&h, &locked.display().to_string()).args(["ns"]));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
}

/// The cache entry files in a directory.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|x| x == "json"));
    v
}

#[test]
fn cache_directories_others_control_are_not_used() {
    let h = Home::new();
    // world-writable (e.g. KUBECACHEDIR under /tmp)
    let open = h.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = run(h
        .kctx_env_keys()
        .env("KCTX_CACHE_DIR", &open)
        .args(["token", "-i", "c"]));
    assert!(o.status.success());
    let e = stderr(&o);
    assert!(
        e.starts_with("kctx: warning: not using the token cache")
            && e.contains("writable by group or others"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
    assert!(
        std::fs::read_dir(&open).unwrap().next().is_none(),
        "nothing is written there"
    );
    // a symlink to a directory
    let real = h.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = h.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = run(h
        .kctx_env_keys()
        .env("KCTX_CACHE_DIR", &link)
        .args(["token", "-i", "c"]));
    assert!(
        o.status.success() && stderr(&o).contains("symbolic link"),
        "{}",
        stderr(&o)
    );
    assert!(std::fs::read_dir(&real).unwrap().next().is_none());
    if is_root() {
        // owned by another user
        let theirs = h.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
        let o = run(h
            .kctx_env_keys()
            .env("KCTX_CACHE_DIR", &theirs)
            .args(["token", "-i", "c"]));
        assert!(
            o.status.success() && stderr(&o).contains("owned by uid 65534"),
            "{}",
            stderr(&o)
        );
        assert!(std::fs::read_dir(&theirs).unwrap().next().is_none());
    }
}

#[test]
fn planted_symlinks_in_the_cache_change_nothing_outside_it() {
    let h = Home::new();
    let cache = h.path().join("cache");
    let token = |cluster: &str| {
        let o = run(h
            .kctx_env_keys()
            .env("KCTX_CACHE_DIR", &cache)
            .args(["token", "-i", cluster]));
        assert!(o.status.success(), "{}", stderr(&o));
        exec_credential(&stdout(&o)).2
    };
    token("c");
    let entry = entries(&cache).pop().unwrap();
    let lock = entry.with_extension("lock");
    // an attacker's entry (a token signed with their key) behind a symlink
    let forged_src = std::fs::read_to_string(&entry).unwrap();
    let attacker = h.write(
        "attacker.json",
        &forged_src.replace("k8s-aws-v1.", "k8s-aws-v1.FORGED"),
    );
    std::fs::set_permissions(&attacker, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(&attacker, &entry).unwrap();
    // and the lock pointing at a file to be created elsewhere
    let elsewhere = h.path().join("created-elsewhere");
    std::fs::remove_file(&lock).ok();
    std::os::unix::fs::symlink(&elsewhere, &lock).unwrap();
    let attacker_before = std::fs::read_to_string(&attacker).unwrap();
    let t = token("c");
    assert!(!t.contains("FORGED"), "a symlinked entry is never served");
    assert!(
        !elsewhere.exists(),
        "no file is created through a planted lock symlink"
    );
    assert_eq!(std::fs::read_to_string(&attacker).unwrap(), attacker_before);
    assert!(
        !std::fs::symlink_metadata(&entry)
            .unwrap()
            .file_type()
            .is_symlink(),
        "replaced, not followed"
    );
    // an entry readable by others is not served either
    token("d");
    let d = entries(&cache).into_iter().find(|p| *p != entry).unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&d).unwrap()).unwrap();
    v["status"]["token"] = "k8s-aws-v1.PLANTED".into();
    std::fs::write(&d, v.to_string()).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(!token("d").contains("PLANTED"));
}

#[test]
fn a_planted_state_file_symlink_is_not_written_through() {
    let h = Home::new();
    let text = "contexts:\n- name: a\n  context: {cluster: c, user: u}\n- name: b\n  context: {cluster: c, user: u}\ncurrent-context: a\n";
    let cfg = h.write(".kube/config", text);
    let kc = cfg.display().to_string();
    ok(k(&h, &kc).args(["use", "b"]));
    let state_dir = h.path().join(".kube/cache/kctx/state");
    let state = std::fs::read_dir(&state_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bashrc = h.write(".bashrc", "export PS1='$ '\n");
    std::fs::remove_file(&state).unwrap();
    std::os::unix::fs::symlink(&bashrc, &state).unwrap();
    ok(k(&h, &kc).args(["use", "a"]));
    assert_eq!(
        std::fs::read_to_string(&bashrc).unwrap(),
        "export PS1='$ '\n"
    );
    // `use -` still works from the state kctx wrote anew
    ok(k(&h, &kc).args(["use", "-"]));
    assert!(std::fs::read_to_string(&cfg)
        .unwrap()
        .contains("current-context: b"));
    // a state directory others may write is not used at all
    std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = run(k(&h, &kc).args(["use", "a"]));
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("writable by group or others"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_cached_expiry_beyond_the_token_lifetime_is_not_believed() {
    let h = Home::new();
    let cache = h.path().join("cache");
    let tok = || {
        let o = run(h
            .kctx_env_keys()
            .env("KCTX_CACHE_DIR", &cache)
            .args(["token", "-i", "c"]));
        assert!(o.status.success(), "{}", stderr(&o));
        exec_credential(&stdout(&o))
    };
    let first = tok();
    let entry = entries(&cache).pop().unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    let ten_hours = kctx::rfc3339(SystemTime::now() + Duration::from_secs(36_000));
    v["status"]["expirationTimestamp"] = ten_hours.clone().into();
    std::fs::write(&entry, v.to_string()).unwrap();
    let second = tok();
    assert_ne!(second.1, ten_hours, "the edited expiry is not served");
    let exp = kctx::parse_rfc3339(&second.1).unwrap();
    let signed = kctx::token_signed_at(&second.2).unwrap();
    assert!(exp <= signed + Duration::from_secs(15 * 60));
    assert!(first.2 != second.2 || second.1 == first.1);
}

#[test]
fn temp_files_left_by_killed_writers_are_listed_and_cleaned() {
    let h = Home::new();
    let cache = h.path().join("cache");
    let kctx = || {
        let mut c = h.kctx_env_keys();
        c.env("KCTX_CACHE_DIR", &cache);
        c
    };
    ok(kctx().args(["token", "-i", "c"]));
    // what a writer killed between creating its temp file and renaming it leaves behind
    let entry = entries(&cache).pop().unwrap();
    let name = entry.file_name().unwrap().to_string_lossy().into_owned();
    let stale = cache.join(format!(".{name}.1234deadbeef0.tmp"));
    let fresh = cache.join(format!(".{name}.5678deadbeef0.tmp"));
    for p in [&stale, &fresh] {
        std::fs::copy(&entry, p).unwrap();
    }
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
    let list = ok(kctx().args(["cache", "list"]));
    assert!(
        list.contains("2 temporary files left by interrupted writes"),
        "{list}"
    );
    // the next write removes the stale one, not one that may be in use
    ok(kctx().args(["token", "-i", "other"]));
    assert!(!stale.exists() && fresh.exists());
    let out = ok(kctx().args(["cache", "clear", "--all"]));
    assert!(out.contains("and 1 temporary file"), "{out}");
    assert!(!fresh.exists());
    assert!(
        std::fs::read_dir(&cache).unwrap().next().is_none(),
        "clear --all empties the cache"
    );
}
