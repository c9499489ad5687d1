//! kctx reads YAML as kubectl's reader (go-yaml v2, YAML 1.1) does, or refuses the file:
//! a differential test against PyYAML (another YAML 1.1 reader, over libyaml) on generated
//! documents full of the characters where readers differ (NEL, LS, PS, U+FEFF, tabs, flow
//! indicators), and the attacks that motivated it, end to end.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::*;

/// A small deterministic generator (xorshift), so that every run checks the same documents.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

const PREFIXES: &[&str] = &[
    "k: [",
    "k: {",
    "k:\n  [",
    "k: [a, ",
    "k: {a: ",
    "",
    "k: ",
    "k:\n  ",
    "k:\n- ",
    "k:\n  a: ",
    "k: |\n  ",
    "k: >\n  ",
    "k: \"",
    "k: '",
    "- ",
    "a: 1 # c",
    "users:\n- name: dev # x",
];
const ALPHABET: &[&str] = &[
    " ", " ", " ", "\t", "\n", "\n", "\r", "-", "?", ":", ":", "#", "a", "b", "a", "b", "\"", "'",
    "[", "]", "{", "}", ",", "|", ">", "\\", "\u{85}", "\u{2028}", "\u{2029}", "\u{feff}",
];

fn generate(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let mut s = rng.pick(PREFIXES).to_owned();
            for _ in 0..1 + rng.next() % 14 {
                s.push_str(rng.pick(ALPHABET));
            }
            s
        })
        .collect()
}

/// PyYAML's reading of each text: Some(data), or None when it refuses it.
fn pyyaml(texts: &[String]) -> Vec<Option<Value>> {
    let mut child = Command::new("python3")
        .arg(repo().join("tests/support/pyyaml_load.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with PyYAML");
    let input = serde_json::to_vec(texts).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "pyyaml_load.py failed");
    let v: Vec<(bool, Value)> = serde_json::from_slice(&out.stdout).unwrap();
    v.into_iter().map(|(ok, d)| ok.then_some(d)).collect()
}

#[test]
fn whatever_kctx_reads_another_yaml_1_1_reader_reads_alike() {
    let texts = generate(6000, 0x9e37_79b9_7f4a_7c15);
    let theirs = pyyaml(&texts);
    let mut refused = 0;
    let mut disagreements = Vec::new();
    for (text, theirs) in texts.iter().zip(theirs) {
        match kctx::yaml_to_json(text) {
            Err(_) => refused += 1,
            Ok(ours) => {
                if theirs.as_ref() != Some(&ours) {
                    disagreements.push(format!("{text:?}: kctx {ours} / PyYAML {theirs:?}"));
                }
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} documents read otherwise (first 10):\n{}",
        disagreements.len(),
        texts.len(),
        disagreements[..disagreements.len().min(10)].join("\n")
    );
    // the generator does reach the differences: many documents are refused, not all
    assert!(refused > 500 && refused < texts.len() - 500, "{refused}");
}

#[test]
fn a_nel_in_a_kubeconfig_comment_is_refused_not_read_otherwise_than_kubectl() {
    let h = Home::new();
    // kubectl sees two contexts here (the NEL ends the comment); a reader that does not see
    // the break would take `dev` to point at prod-cluster
    let text = "apiVersion: v1\nkind: Config\ncurrent-context: dev\nclusters:\n- name: dev-cluster\n  cluster: {server: https://dev}\n- name: prod-cluster\n  cluster: {server: https://prod}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: dev\n  context: {cluster: dev-cluster, user: u} # note\u{85}- name: prod\n  context: {cluster: prod-cluster, user: u}\n";
    let cfg = h.write(".kube/config", text);
    // kubectl's view, for the record: it reads both contexts
    let view = kubectl_view(&h, cfg.to_str().unwrap());
    let names: Vec<&str> = view["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dev", "prod"]);
    let o = run(h.kctx().args(["list", "-o", "wide"]));
    assert!(!o.status.success(), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("config: invalid YAML at line 14") && err.contains("NEL (U+0085)"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let o = run(h.kctx().args(["rm", "prod"]));
    assert!(!o.status.success());
    assert_eq!(
        std::fs::read_to_string(&cfg).unwrap(),
        text,
        "nothing written"
    );
}

#[test]
fn names_with_control_characters_are_escaped_so_kubectl_and_kctx_read_them_back() {
    let h = Home::new();
    h.write(
        ".kube/config",
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\ncurrent-context: a\n",
    );
    for name in [
        "x\u{9f}y",
        "x\u{fffe}y",
        "x\u{2028}y",
        "x\u{85}y",
        "x\u{7f}y",
    ] {
        ok(h.kctx().args(["rename", "a", name]));
        let view = kubectl_view(&h, h.path().join(".kube/config").to_str().unwrap());
        assert_eq!(view["contexts"][0]["name"], name, "kubectl reads it back");
        let listed = ok(h.kctx().args(["list", "-o", "json"]));
        assert!(
            listed.contains(&serde_json::to_string(name).unwrap()),
            "{listed}"
        );
        ok(h.kctx().args(["rename", name, "a"]));
    }
}

#[test]
fn files_kubectl_reads_kctx_reads_too() {
    let h = Home::new();
    // UTF-16 with a byte order mark, as Windows PowerShell's `>` writes it
    let text = "apiVersion: v1\nkind: Config\ncurrent-context: win\ncontexts:\n- name: win\n  context: {cluster: c, user: u}\n- name: other\n  context: {cluster: c, user: u}\n";
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let cfg = h.path().join(".kube/config");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(&cfg, &utf16).unwrap();
    assert_eq!(
        kubectl_view(&h, cfg.to_str().unwrap())["current-context"],
        "win"
    );
    assert_eq!(ok(h.kctx().args(["list"])), "win\nother\n");
    assert_eq!(ok(h.kctx().args(["current"])), "win\n");
    // an edit keeps the encoding and everything else
    ok(h.kctx().args(["use", "other"]));
    let bytes = std::fs::read(&cfg).unwrap();
    assert_eq!(&bytes[..2], &[0xff, 0xfe]);
    assert_eq!(
        kubectl_view(&h, cfg.to_str().unwrap())["current-context"],
        "other"
    );

    // a context without a name, and names that are only a comment (null): kubectl reads ""
    let h = Home::new();
    let cfg = h.write(
        ".kube/config",
        "apiVersion: v1\nkind: Config\ncurrent-context: dev\nclusters:\n- name: # none\n  cluster: {server: https://x}\ncontexts:\n- context: {cluster: c, user: u}\n- name: dev\n  context: {cluster: c, user: u}\n",
    );
    let view = kubectl_view(&h, cfg.to_str().unwrap());
    assert_eq!(view["contexts"][0]["name"], "");
    let o = run(h.kctx().args(["list", "-o", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let warning = stderr(&o);
    assert!(
        warning.contains("clusters[0], contexts[0] have no name (kubectl reads it as \"\")"),
        "{warning}"
    );
    assert!(stdout(&o).contains("\"dev\""));
    assert_eq!(ok(h.kctx().arg("current")), "dev\n");
    // an edit elsewhere works; one that would have to name the unnamed entry is refused
    ok(h.kctx().args(["rename", "dev", "prod"]));
    let before = std::fs::read_to_string(&cfg).unwrap();
    let o = run(h.kctx().args(["rm", ""]));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("has no name"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), before);
}

#[test]
fn a_fifo_dev_zero_or_a_huge_file_as_kubeconfig_is_refused_in_one_line() {
    let h = Home::new();
    let fifo = h.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let huge = h.path().join("huge");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    for (path, want) in [
        (fifo.to_str().unwrap(), "not a regular file"),
        ("/dev/zero", "not a regular file"),
        (huge.to_str().unwrap(), "larger than 64 MiB"),
    ] {
        for args in [&["list"][..], &["prompt"], &["use", "x"]] {
            let o = run(h.kctx().env("KUBECONFIG", path).args(args));
            // a prompt never fails the shell's prompt; it says why it shows nothing
            assert_eq!(o.status.success(), args == ["prompt"], "{args:?} on {path}");
            assert!(
                stderr(&o).contains(want),
                "{args:?} on {path}: {}",
                stderr(&o)
            );
            assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        }
    }
}

#[test]
fn alias_bombs_are_refused_as_kubectl_refuses_them() {
    let h = Home::new();
    let mut text = String::from("apiVersion: v1\nkind: Config\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("x{i}: &a{i} [{refs}]\n"));
    }
    text.push_str(
        "contexts:\n- name: dev\n  context: {cluster: c, user: u}\ncurrent-context: dev\n",
    );
    let cfg = h.write(".kube/config", &text);
    let o = run(h
        .cmd("kubectl")
        .args(["config", "view", "--kubeconfig"])
        .arg(&cfg));
    assert!(!o.status.success(), "kubectl refuses it too");
    for args in [&["list", "-o", "wide"][..], &["env", "dev"], &["rm", "dev"]] {
        let o = run(h.kctx().args(args));
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr(&o).contains("excessive aliasing"), "{}", stderr(&o));
    }
}
