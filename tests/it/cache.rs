//! The token cache, run through the binary: keying, expiry, corruption, permissions,
//! single flight against moto, list and clear.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::common::*;

fn token_of(c: &mut std::process::Command) -> String {
    exec_credential(&ok(c)).2
}

fn access_key_of(token: &str) -> String {
    let url = token_url(token);
    let cred = url.split("X-Amz-Credential=").nth(1).unwrap();
    cred.split("%2F").next().unwrap().to_owned()
}

fn cache_dir(h: &Home) -> PathBuf {
    h.path().join(".kube/cache/kctx")
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn warm_calls_serve_the_same_token_from_a_private_cache() {
    let h = Home::new();
    let t1 = token_of(h.kctx_env_keys().args(["token", "-i", "c1"]));
    std::thread::sleep(Duration::from_millis(1100)); // a new mint would carry a new X-Amz-Date
    let t2 = token_of(h.kctx_env_keys().args(["token", "-i", "c1"]));
    assert_eq!(t1, t2);
    let dir = cache_dir(&h);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(!files.is_empty());
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
        let body = std::fs::read_to_string(f).unwrap();
        assert!(!body.contains(SK), "secret key on disk in {}", f.display());
        assert!(
            !body.contains(AK),
            "access key id in clear in {}",
            f.display()
        );
    }
    // --no-cache mints anew
    let t3 = token_of(h.kctx_env_keys().args(["token", "-i", "c1", "--no-cache"]));
    assert_ne!(t1, t3);
}

#[test]
fn cache_location_follows_kctx_cache_dir_then_kubecachedir() {
    let h = Home::new();
    let a = h.path().join("a");
    let b = h.path().join("b");
    ok(h.kctx_env_keys()
        .env("KCTX_CACHE_DIR", &a)
        .args(["token", "-i", "c"]));
    ok(h.kctx_env_keys()
        .env("KUBECACHEDIR", &b)
        .args(["token", "-i", "c"]));
    assert_eq!(entries(&a).len(), 1);
    assert_eq!(entries(&b.join("kctx")).len(), 1);
    assert!(!cache_dir(&h).exists());
}

#[test]
fn one_identity_never_gets_anothers_token() {
    let h = Home::new();
    // environment identity A, then B, same cluster
    let ta = token_of(h.kctx_env_keys().args(["token", "-i", "c"]));
    let tb = token_of(
        h.kctx_env_keys()
            .env("AWS_ACCESS_KEY_ID", "AKIDBBBBBBBB")
            .args(["token", "-i", "c"]),
    );
    assert_eq!(access_key_of(&ta), AK);
    assert_eq!(access_key_of(&tb), "AKIDBBBBBBBB");
    // same key id, another session token
    let ts = token_of(
        h.kctx_env_keys()
            .env("AWS_SESSION_TOKEN", "s1")
            .args(["token", "-i", "c"]),
    );
    let ts2 = token_of(
        h.kctx_env_keys()
            .env("AWS_SESSION_TOKEN", "s2")
            .args(["token", "-i", "c"]),
    );
    assert!(token_url(&ts).contains("Token=s1&") && token_url(&ts2).contains("Token=s2&"));
    // another cluster, another region: other entries
    let tc = token_of(h.kctx_env_keys().args(["token", "-i", "c2"]));
    assert_ne!(ta, tc);
    let tr = token_of(
        h.kctx_env_keys()
            .env("AWS_REGION", "eu-west-1")
            .args(["token", "-i", "c"]),
    );
    assert!(token_url(&tr).starts_with("https://sts.eu-west-1."));
    // back to A: served from its own entry
    assert_eq!(token_of(h.kctx_env_keys().args(["token", "-i", "c"])), ta);
}

#[test]
fn profiles_and_credential_file_changes_are_keyed() {
    let h = Home::new();
    h.write(
        ".aws/config",
        "[profile a]\nregion = us-east-1\n[profile b]\nregion = us-east-1\n",
    );
    let creds = h.write(".aws/credentials", "[a]\naws_access_key_id = AKIDA\naws_secret_access_key = x\n[b]\naws_access_key_id = AKIDB\naws_secret_access_key = y\n");
    let ta = token_of(h.kctx().args(["token", "-i", "c", "--profile", "a"]));
    let tb = token_of(h.kctx().args(["token", "-i", "c", "--profile", "b"]));
    assert_eq!(access_key_of(&ta), "AKIDA");
    assert_eq!(access_key_of(&tb), "AKIDB");
    assert_eq!(
        access_key_of(&token_of(
            h.kctx().env("AWS_PROFILE", "a").args(["token", "-i", "c"])
        )),
        "AKIDA"
    );
    // rotate profile a's keys: the entry is invalidated
    std::fs::write(&creds, "[a]\naws_access_key_id = AKIDA2\naws_secret_access_key = x\n[b]\naws_access_key_id = AKIDB\naws_secret_access_key = y\n").unwrap();
    let ta2 = token_of(h.kctx().args(["token", "-i", "c", "--profile", "a"]));
    assert_eq!(access_key_of(&ta2), "AKIDA2");
}

#[test]
fn entries_near_expiry_or_from_a_moved_clock_are_not_served() {
    let h = Home::new();
    let t1 = token_of(h.kctx_env_keys().args(["token", "-i", "c"]));
    let files = entries(&cache_dir(&h));
    assert_eq!(files.len(), 1);
    let creds = aws_credential_types::Credentials::new(AK, SK, None, None, "t");
    let now = SystemTime::now();
    for signed in [
        now - Duration::from_secs(13 * 60 + 30), // 30 s left of 14 min: under the 60 s margin
        now - Duration::from_secs(20 * 60),      // expired
        now + Duration::from_secs(3600),         // clock moved back after signing
    ] {
        let old = kctx::sts::token(
            &creds,
            "us-west-2",
            "sts.us-west-2.amazonaws.com",
            "c",
            signed,
        )
        .unwrap();
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
        v["status"]["token"] = old.clone().into();
        v["status"]["expirationTimestamp"] =
            kctx::rfc3339(signed + Duration::from_secs(14 * 60)).into();
        std::fs::write(&files[0], v.to_string()).unwrap();
        let t = token_of(h.kctx_env_keys().args(["token", "-i", "c"]));
        assert_ne!(t, old, "stale entry served");
        crate::verify::verify(&t, SystemTime::now()).unwrap();
    }
    assert_ne!(t1, String::new());
}

#[test]
fn corrupt_entries_are_misses_and_get_rewritten() {
    let h = Home::new();
    token_of(h.kctx_env_keys().args(["token", "-i", "c"]));
    let f = entries(&cache_dir(&h)).remove(0);
    for junk in ["", "{", "null", "{\"kctx_cache\":1}", "{\"kctx_cache\":1,\"kind\":\"token\",\"summary\":{},\"status\":{\"expirationTimestamp\":\"x\",\"token\":\"y\"}}", "\u{0}\u{1}binary"] {
        std::fs::write(&f, junk).unwrap();
        let o = run(h.kctx_env_keys().args(["token", "-i", "c"]));
        assert!(o.status.success(), "{junk:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "");
        crate::verify::verify(&exec_credential(&stdout(&o)).2, SystemTime::now()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        assert_eq!(v["kind"], "token", "entry rewritten after {junk:?}");
    }
}

#[test]
fn an_unwritable_cache_degrades_to_one_warning() {
    let h = Home::new();
    let blocker = h.write("not-a-dir", "x");
    let o = run(h
        .kctx_env_keys()
        .env("KCTX_CACHE_DIR", blocker.join("cache"))
        .args(["token", "-i", "c"]));
    assert!(o.status.success());
    crate::verify::verify(&exec_credential(&stdout(&o)).2, SystemTime::now()).unwrap();
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with("kctx: warning: not using the token cache") && e.contains("not-a-dir"),
        "{e}"
    );
}

#[test]
fn assumed_role_credentials_are_cached_and_cold_stampedes_single_flight() {
    let h = Home::new();
    let role = format!(
        "arn:aws:iam::123456789012:role/stampede-{}",
        std::process::id()
    );
    let spawn = |cluster: &str| {
        h.kctx_env_keys()
            .env("AWS_ENDPOINT_URL_STS", moto())
            .args(["token", "-i", cluster, "--role-arn", &role])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = (0..24).map(|_| spawn("stampede")).collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut tokens = Vec::new();
    for o in &outs {
        assert!(o.status.success(), "{}", stderr(o));
        let t = exec_credential(&stdout(o)).2;
        crate::verify::verify(&t, SystemTime::now()).unwrap();
        tokens.push(t);
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "all 24 share the one minted token");
    assert_eq!(
        moto_assumed(&role).len(),
        1,
        "exactly one AssumeRole for 24 cold calls"
    );
    // another cluster with the same role: a new token, but no new AssumeRole
    let t = exec_credential(&stdout(&spawn("other-cluster").wait_with_output().unwrap())).2;
    assert_ne!(t, tokens[0]);
    assert_eq!(access_key_of(&t), access_key_of(&tokens[0]));
    assert_eq!(
        moto_assumed(&role).len(),
        1,
        "role credentials came from the cache"
    );
    // --no-cache assumes again
    ok(h.kctx_env_keys().env("AWS_ENDPOINT_URL_STS", moto()).args([
        "token",
        "-i",
        "x",
        "--role-arn",
        &role,
        "--no-cache",
    ]));
    assert_eq!(moto_assumed(&role).len(), 2);
}

#[test]
fn cache_list_and_clear() {
    let h = Home::new();
    token_of(h.kctx_env_keys().args(["token", "-i", "alpha"]));
    token_of(h.kctx_env_keys().args(["token", "-i", "beta"]));
    let list = ok(h.kctx().args(["cache", "list"]));
    assert!(
        list.contains("alpha") && list.contains("beta") && list.contains("us-west-2"),
        "{list}"
    );
    assert!(!list.contains("k8s-aws-v1") && !list.contains(AK), "{list}");
    let out = ok(h.kctx().args(["cache", "clear", "--cluster", "alpha"]));
    assert!(out.starts_with("removed 1 cache entry"), "{out}");
    let list = ok(h.kctx().args(["cache", "list"]));
    assert!(!list.contains("alpha") && list.contains("beta"), "{list}");
    // bare clear removes only expired entries
    let out = ok(h.kctx().args(["cache", "clear"]));
    assert!(out.starts_with("removed 0 cache entries"), "{out}");
    ok(h.kctx().args(["cache", "clear", "--all"]));
    assert!(entries(&cache_dir(&h)).is_empty());
    let leftovers: Vec<_> = std::fs::read_dir(cache_dir(&h))
        .unwrap()
        .flatten()
        .collect();
    assert!(
        leftovers.is_empty(),
        "lock files cleared too: {leftovers:?}"
    );
}
