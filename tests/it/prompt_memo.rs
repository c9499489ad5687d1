//! `kctx prompt`'s memo (issue 25): a shared kubeconfig is read when it changes, not before
//! every prompt, and the answer is never stale — after kubectl switches context or sets a
//! namespace, after an editor's rewrite (a new inode), and after a same-size rewrite whose
//! mtime was put back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::*;

const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: aa\n  context: {cluster: c, user: u}\n- name: bb\n  context: {cluster: c, user: u, namespace: web}\ncurrent-context: aa\n";

/// Waits until the files' last change is old enough for the memo to be used or kept.
fn settle() {
    std::thread::sleep(Duration::from_millis(250));
}

fn prompt(h: &Home, files: &str) -> String {
    ok(h.kctx()
        .env("KUBECONFIG", files)
        .env_remove("KCTX_SHELL_FILE")
        .arg("prompt"))
}

/// Whether `kctx prompt` opened `file` (strace sees every open).
fn prompt_reads(h: &Home, files: &str, file: &Path) -> bool {
    let log = h.path().join("strace.log");
    let st = Command::new("strace")
        .args(["-f", "-e", "trace=open,openat", "-o"])
        .arg(&log)
        .arg(kctx_bin())
        .arg("prompt")
        .env("HOME", h.path())
        .env("KUBECONFIG", files)
        .env_remove("KCTX_SHELL_FILE")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("strace (scripts/test.sh installs it)");
    assert!(st.success());
    let trace = std::fs::read_to_string(&log).unwrap();
    trace.contains(&format!("\"{}\"", file.display()))
}

fn kubectl(h: &Home, files: &str, args: &[&str]) {
    ok(h.cmd("kubectl").env("KUBECONFIG", files).args(args));
}

#[test]
fn the_prompt_memo_is_used_and_never_stale() {
    let h = Home::new();
    let cfg: PathBuf = h.write(".kube/config", KUBECONFIG);
    let extra = h.write(".kube/extra", "apiVersion: v1\nkind: Config\n");
    let files = format!("{}:{}", cfg.display(), extra.display());
    settle();
    assert_eq!(prompt(&h, &files), "aa/default\n");
    // settled and unchanged: answered without reading the kubeconfig
    assert!(!prompt_reads(&h, &files, &cfg), "the memo was not used");
    assert_eq!(prompt(&h, &files), "aa/default\n");

    // kubectl switches context (an in-place write)
    kubectl(&h, &files, &["config", "use-context", "bb"]);
    settle();
    assert_eq!(prompt(&h, &files), "bb/web\n");
    // and sets a namespace
    kubectl(
        &h,
        &files,
        &["config", "set-context", "--current", "--namespace=api"],
    );
    settle();
    assert_eq!(prompt(&h, &files), "bb/api\n");
    assert!(!prompt_reads(&h, &files, &cfg));

    // an editor's rewrite: a new file renamed over the old one, same size
    let text = std::fs::read_to_string(&cfg).unwrap();
    let swapped = text.replace("current-context: bb", "current-context: aa");
    assert_eq!(swapped.len(), text.len());
    let tmp = h.path().join(".kube/config.swp");
    std::fs::write(&tmp, &swapped).unwrap();
    std::fs::rename(&tmp, &cfg).unwrap();
    settle();
    assert_eq!(prompt(&h, &files), "aa/default\n");

    // a same-size rewrite in place whose mtime is put back: only the ctime moves
    let before = std::fs::metadata(&cfg).unwrap().modified().unwrap();
    std::fs::write(&cfg, &text).unwrap();
    let f = std::fs::File::options().write(true).open(&cfg).unwrap();
    f.set_modified(before).unwrap();
    drop(f);
    assert_eq!(std::fs::metadata(&cfg).unwrap().modified().unwrap(), before);
    settle();
    assert_eq!(prompt(&h, &files), "bb/api\n");

    // another file of KUBECONFIG changes: a context set there wins when it comes first
    let files2 = format!("{}:{}", extra.display(), cfg.display());
    std::fs::write(
        &extra,
        "apiVersion: v1\nkind: Config\ncurrent-context: aa\n",
    )
    .unwrap();
    settle();
    assert_eq!(prompt(&h, &files2), "aa/default\n");
    std::fs::remove_file(&extra).unwrap();
    settle();
    assert_eq!(prompt(&h, &files2), "bb/api\n", "a file that went away");
}
