//! The shape of src/: no import circles, no import that runs up the layers, no function over
//! ~120 lines without a stated reason (scripts/arch_report.py, which README's Development
//! section describes).

use std::process::Command;

use crate::common::*;

fn report(src: &std::path::Path) -> std::process::Output {
    Command::new("python3")
        .arg(repo().join("scripts/arch_report.py"))
        .arg("--check")
        .arg(src)
        .output()
        .expect("python3")
}

#[test]
fn src_has_no_circles_no_upward_imports_and_no_overlong_functions() {
    let o = report(&repo().join("src"));
    assert!(o.status.success(), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("import circles: 0"), "{out}");
    assert!(out.contains("upward imports: 0"), "{out}");
}

#[test]
fn the_check_catches_a_circle_an_upward_import_and_a_long_function() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    std::fs::create_dir_all(src.join("store")).unwrap();
    std::fs::create_dir_all(src.join("kube")).unwrap();
    let w = |p: &str, s: &str| std::fs::write(src.join(p), s).unwrap();
    w("lib.rs", "mod store;\nmod kube;\nmod cmd;\n");
    // store (layer 1) reaching up into kube (layer 4), and kube <-> cmd
    w("store/mod.rs", "pub(crate) fn f() { crate::kube::g(); }\n");
    w(
        "kube/mod.rs",
        "use crate::cmd::h;\npub(crate) fn g() { h(); }\n",
    );
    let long: String = (0..130)
        .map(|i| format!("    let _x{i} = {i};\n"))
        .collect();
    w(
        "cmd.rs",
        &format!("pub(crate) fn h() {{ crate::kube::g(); }}\nfn long() {{\n{long}}}\n"),
    );
    let o = report(&src);
    let out = stdout(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("import circles: 1"), "{out}");
    assert!(out.contains("store (layer 1) -> kube (layer 4)"), "{out}");
    assert!(
        out.contains("functions over 120 lines: 1 (1 without a stated reason)"),
        "{out}"
    );
}
