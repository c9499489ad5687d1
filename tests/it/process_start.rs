//! What kctx keeps of Rust's start-up now that the binary starts at C's `main` (issue 25):
//! standard descriptors the parent closed are opened on /dev/null before any file is opened,
//! a closed pipe ends the process quietly, and output written at the end is flushed.

use std::os::unix::process::CommandExt;
use std::process::Stdio;

use crate::common::*;

/// A kubeconfig of `n` contexts named `context-00000`… (long enough names to fill a pipe).
fn contexts(h: &Home, n: usize) -> std::path::PathBuf {
    let mut s = String::from("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: https://c.example}\nusers:\n- name: u\n  user: {}\ncontexts:\n");
    for i in 0..n {
        s.push_str(&format!(
            "- name: context-{i:05}-with-a-name-as-long-as-an-eks-arn\n  context: {{cluster: c, user: u}}\n"
        ));
    }
    s.push_str("current-context: context-00000-with-a-name-as-long-as-an-eks-arn\n");
    h.write(".kube/config", &s)
}

#[test]
fn closed_standard_descriptors_are_dev_null_for_kctx_and_its_children() {
    // `kctx exec CONTEXT -- COMMAND` holds its session kubeconfig open while COMMAND runs: with
    // standard output closed by the parent, that file would become the command's standard
    // output (and the command's output would land in the kubeconfig)
    let h = Home::new();
    contexts(&h, 3);
    let target = "context-00002-with-a-name-as-long-as-an-eks-arn";
    let mut c = h.kctx();
    c.args(["exec", target, "--", "sh", "-c"])
        .arg(concat!(
            "echo from-the-command; r=; for fd in 0 1 2; do ",
            "r=\"$r$(readlink /proc/$$/fd/$fd || echo closed) \"; done; ",
            "echo \"$r\" > \"$HOME/fds\"; cat \"$KUBECONFIG\" > \"$HOME/session\""
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: close(2) only, between fork and exec
    unsafe {
        c.pre_exec(|| {
            libc::close(0);
            libc::close(1);
            libc::close(2);
            Ok(())
        });
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{:?}", o.status);
    let fds = std::fs::read_to_string(h.path().join("fds")).unwrap();
    assert_eq!(fds, "/dev/null /dev/null /dev/null \n");
    let session = std::fs::read_to_string(h.path().join("session")).unwrap();
    assert!(session.contains(target), "{session}");
    for f in walk(h.path()) {
        let body = String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default()).into_owned();
        assert!(
            !body.contains("from-the-command"),
            "the command's output landed in {}",
            f.display()
        );
    }
    // a token with its standard output closed is written to /dev/null, not into the cache
    let cache = h.path().join("cache");
    let mut t = h.kctx_env_keys();
    t.env("KCTX_CACHE_DIR", &cache)
        .args(["token", "--cluster-name", "demo"]);
    // SAFETY: as above
    unsafe {
        t.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    let o = t.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let again = ok(h.kctx_env_keys().env("KCTX_CACHE_DIR", &cache).args([
        "token",
        "--cluster-name",
        "demo",
    ]));
    assert!(again.starts_with("{\"kind\":\"ExecCredential\""), "{again}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_closed_pipe_ends_kctx_quietly_and_whole_output_is_flushed() {
    let h = Home::new();
    contexts(&h, 5000);
    // `kctx list -o name | head -1`: kctx is ended by SIGPIPE (141 in the shell), no message,
    // even when its parent ignores SIGPIPE (kctx takes the default back)
    let o = run(h.cmd("bash").arg("-c").arg(format!(
        "trap '' PIPE; {} list -o name | head -1; echo \"status ${{PIPESTATUS[0]}}\" >&2",
        kctx_bin()
    )));
    assert_eq!(
        stdout(&o),
        "context-00000-with-a-name-as-long-as-an-eks-arn\n"
    );
    assert_eq!(stderr(&o).trim(), "status 141", "{}", stderr(&o));
    // the whole list arrives when it is read to the end (the last line too: flushed at exit)
    let all = ok(h.kctx().args(["list", "-o", "name"]));
    assert_eq!(all.lines().count(), 5000);
    assert!(all.ends_with("context-04999-with-a-name-as-long-as-an-eks-arn\n"));
    // and exit codes pass through: an unknown context is exit 1 with one line
    let o = run(h.kctx().args(["use", "nope"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("kctx: error:"), "{}", stderr(&o));
}
