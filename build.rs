//! Link the kctx binary as a non-PIE executable: the token path runs before every kubectl
//! command, and a position-independent 10 MB binary spends a third of its ~1.5 ms start-up
//! applying ~27,000 load-time relocations. (The code itself stays PIC; only the final link
//! changes, so proc-macros and dependencies build as usual.)
//!
//! The functions the hot paths run (`kctx token`, `prompt`, `list`, `use`, `ns`, completion:
//! `link/hot-functions.txt`, written by `scripts/hot_functions.sh`) are laid out together at
//! the start of the code: a warm token then touches about sixty pages of the binary instead of
//! a hundred scattered over 16 MB, and each kubeconfig command maps 3 MB less of it (the
//! kernel maps the 64 KiB around each page touched). A name the build no longer has is
//! skipped, so a stale list costs speed, never a failed build; set `KCTX_NO_HOT_ORDER=1` to
//! link without it. Only with LLD (Rust's default linker for x86-64 Linux since 1.90), when
//! RUSTFLAGS do not choose another linker.
//!
//! Also records the git revision being built (for `kctx version`), when git knows one.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.contains("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    hot_order(&target);
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    if let Some(rev) = git(&["rev-parse", "--short=12", "HEAD"]).filter(|r| !r.is_empty()) {
        let dirty =
            git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        println!(
            "cargo:rustc-env=KCTX_GIT_REV={rev}{}",
            if dirty { "-dirty" } else { "" }
        );
        if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
            println!("cargo:rerun-if-changed={head}");
        }
        if let Some(refs) = git(&["rev-parse", "--git-path", "refs/heads"]) {
            println!("cargo:rerun-if-changed={refs}");
        }
        if let Some(index) = git(&["rev-parse", "--git-path", "index"]) {
            println!("cargo:rerun-if-changed={index}");
        }
    }
}

/// Links the hot paths' functions first (see the module docs), when the linker is LLD.
fn hot_order(target: &str) {
    println!("cargo:rerun-if-changed=link/hot-functions.txt");
    println!("cargo:rerun-if-env-changed=KCTX_NO_HOT_ORDER");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let list = std::path::Path::new(&dir).join("link/hot-functions.txt");
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let other_linker = ["linker", "link-self-contained", "fuse-ld"]
        .iter()
        .any(|f| flags.contains(f));
    if target != "x86_64-unknown-linux-gnu"
        || other_linker
        || std::env::var_os("KCTX_NO_HOT_ORDER").is_some()
        || !list.is_file()
    {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        list.display()
    );
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}
