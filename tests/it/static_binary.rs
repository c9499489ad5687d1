//! A binary that runs anywhere (issue 24): `cargo build --release` links kctx statically (no
//! dynamic loader, no libc.so, no NSS modules for host names), so it runs in an empty root:
//! only the binary, with /etc/hosts and nothing else.

use std::process::Command;

use crate::common::*;

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn the_release_binary_is_static() {
    let o = Command::new("readelf")
        .args(["-l", kctx_bin()])
        .output()
        .expect("readelf (binutils)");
    let headers = stdout(&o);
    assert!(headers.contains("LOAD"), "{headers}");
    assert!(
        !headers.contains("INTERP") && !headers.contains("DYNAMIC"),
        "kctx asks for a dynamic loader:\n{headers}"
    );
    let o = Command::new("ldd").arg(kctx_bin()).output().unwrap();
    assert!(
        format!("{}{}", stdout(&o), stderr(&o)).contains("not a dynamic executable"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn in_an_empty_root_it_mints_tokens_and_adds_clusters_from_moto_by_host_name() {
    if !is_root() {
        eprintln!("skipped: chroot needs root (CI runs as root)");
        return;
    }
    let h = Home::new();
    let root = h.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::copy(kctx_bin(), root.join("kctx")).unwrap();
    // the only name the root knows; resolving it proves kctx's own resolver (getaddrinfo
    // would need NSS modules that are not there)
    std::fs::write(root.join("etc/hosts"), "127.0.0.1 moto.test\n").unwrap();
    let port = moto().rsplit(':').next().unwrap();
    let name = unique("chroot");
    create_cluster(&name, "us-west-2");
    let chroot = |args: &[&str]| {
        // env_clear() empties the PATH the program is looked up in: name it whole
        let mut c = Command::new(chroot_bin());
        c.arg(&root)
            .arg("/kctx")
            .args(args)
            .env_clear()
            .env("HOME", "/")
            .env("AWS_ACCESS_KEY_ID", AK)
            .env("AWS_SECRET_ACCESS_KEY", SK)
            .env("AWS_REGION", "us-west-2")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL_EKS", format!("http://moto.test:{port}"));
        run(&mut c)
    };
    let o = chroot(&["token", "--cluster-name", &name]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, _, token) = exec_credential(&stdout(&o));
    crate::verify::verify(&token, std::time::SystemTime::now()).unwrap();
    let o = chroot(&["add", &name]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = std::fs::read_to_string(root.join(".kube/config")).unwrap();
    assert!(cfg.contains(&format!("cluster/{name}")), "{cfg}");
    assert!(
        cfg.contains("command: kctx") || cfg.contains("command: /kctx"),
        "{cfg}"
    );
}

/// Where `chroot` is (coreutils puts it in /usr/sbin, which a test's PATH may lack).
fn chroot_bin() -> std::path::PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into(), "/sbin".into()])
        .map(|d| d.join("chroot"))
        .find(|p| p.is_file())
        .expect("chroot (coreutils)")
}
