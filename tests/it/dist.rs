//! What is shipped (issue 24): man pages generated from the command line and kept fresh,
//! `cargo package`'s file list, and the release tarball of scripts/dist.sh.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use clap::CommandFactory;

use crate::common::*;

/// Every page clap_mangen makes of kctx's command line: file name → roff.
fn generated() -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    // the package's version, not the git revision a build carries: the pages change with
    // the command line, not with each commit
    let cmd = kctx::Cli::command().version(env!("CARGO_PKG_VERSION"));
    clap_mangen::generate_to(cmd, dir.path()).unwrap();
    read_pages(dir.path())
}

fn read_pages(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".1"))
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn man_pages_are_generated_from_the_command_line_and_fresh() {
    let want = generated();
    let man = repo().join("man");
    if std::env::var_os("KCTX_UPDATE_MAN").is_some() {
        let _ = std::fs::remove_dir_all(&man);
        std::fs::create_dir_all(&man).unwrap();
        for (name, page) in &want {
            std::fs::write(man.join(name), page).unwrap();
        }
    }
    assert!(want.contains_key("kctx.1") && want.contains_key("kctx-add.1"));
    let have = read_pages(&man);
    assert_eq!(
        have.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "man/ is stale: run `KCTX_UPDATE_MAN=1 cargo test --release man_pages`"
    );
    for (name, page) in &want {
        assert!(
            have[name] == *page,
            "man/{name} is stale: run `KCTX_UPDATE_MAN=1 cargo test --release man_pages`"
        );
    }
    // man renders them
    let o = Command::new("man")
        .arg("-l")
        .arg(man.join("kctx.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .expect("man (scripts/test.sh installs man-db)");
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("SYNOPSIS") && text.contains("kctx-add(1)") && text.contains("--kubeconfig"),
        "{text}"
    );
}

#[test]
fn cargo_package_lists_sources_completions_man_pages_and_licences_without_warnings() {
    let o = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["package", "--list", "--allow-dirty"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let files: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    for want in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "src/main.rs",
        "link/hot-functions.txt",
        "src/lib.rs",
        "completions/kctx.bash",
        "completions/kctx.zsh",
        "completions/kctx.fish",
        "man/kctx.1",
        "man/kctx-add.1",
    ] {
        assert!(
            files.iter().any(|f| f == want),
            "{want} not packaged: {files:?}"
        );
    }
    assert!(!files
        .iter()
        .any(|f| f.starts_with("target/") || f.starts_with("dist/")));
    let e = stderr(&o).to_lowercase();
    assert!(!e.contains("license") && !e.contains("readme"), "{e}");
}

#[test]
fn dist_makes_a_tarball_with_the_static_binary_completions_man_pages_and_its_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(repo().join("scripts/dist.sh"))
        .env("KCTX_BIN", kctx_bin())
        .env("DIST_DIR", dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let version = env!("CARGO_PKG_VERSION");
    let name = format!("kctx-{version}-x86_64-linux");
    let tarball = dir.path().join(format!("{name}.tar.gz"));
    assert_eq!(stdout(&o).trim(), tarball.display().to_string());
    let sum = Command::new("sha256sum")
        .args(["-c", &format!("{name}.tar.gz.sha256")])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(sum.status.success(), "{}", stdout(&sum));
    let list = Command::new("tar")
        .arg("-tzf")
        .arg(&tarball)
        .output()
        .unwrap();
    let list = stdout(&list);
    for want in [
        "kctx",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "completions/kctx.bash",
        "man/kctx.1",
    ] {
        assert!(
            list.lines().any(|l| l == format!("{name}/{want}")),
            "{want}: {list}"
        );
    }
    // the binary in it runs
    let x = tempfile::tempdir().unwrap();
    let st = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(x.path())
        .status()
        .unwrap();
    assert!(st.success());
    let v = Command::new(x.path().join(&name).join("kctx"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(stdout(&v).starts_with("kctx "), "{}", stdout(&v));
    // the same inputs make the same tarball
    let again = tempfile::tempdir().unwrap();
    let o = Command::new(repo().join("scripts/dist.sh"))
        .env("KCTX_BIN", kctx_bin())
        .env("DIST_DIR", again.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(
        std::fs::read(&tarball).unwrap(),
        std::fs::read(again.path().join(format!("{name}.tar.gz"))).unwrap(),
        "reproducible"
    );
}
