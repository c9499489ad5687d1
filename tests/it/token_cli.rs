//! `kctx token` run as a user would, in an isolated HOME, against real peers where one exists.

use std::time::{Duration, Instant, SystemTime};

use crate::common::*;

fn query_of(url: &str) -> std::collections::BTreeMap<String, String> {
    crate::verify::verify(
        &format!("k8s-aws-v1.{}", {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
        }),
        SystemTime::now(),
    )
    .unwrap()
    .query
}

#[test]
fn env_keys_print_one_exec_credential() {
    let h = Home::new();
    let o = run(h
        .kctx_env_keys()
        .args(["token", "--cluster-name", "my-cluster", "--no-cache"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "no diagnostics on success");
    let out = stdout(&o);
    assert!(
        out.ends_with("}\n") && out.matches('\n').count() == 1,
        "exactly one JSON line: {out}"
    );
    assert!(out.starts_with("{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"spec\":{},\"status\":{\"expirationTimestamp\":\""));
    let (_, exp, token) = exec_credential(&out);
    let p = crate::verify::verify(&token, SystemTime::now()).unwrap();
    assert_eq!(p.host, "sts.us-west-2.amazonaws.com");
    assert!(p.query["x-amz-credential"].starts_with("AKIDEXAMPLE/"));
    assert!(!p.query.contains_key("x-amz-security-token"));
    // expiration = X-Amz-Date + 14 minutes
    let signed = kctx::token_signed_at(&token).unwrap();
    let exp = kctx::parse_rfc3339(&exp).unwrap();
    assert_eq!(
        exp.duration_since(signed).unwrap(),
        Duration::from_secs(14 * 60)
    );
    assert!(!out.contains(SK), "secret never printed");
}

#[test]
fn session_keys_add_the_security_token() {
    let h = Home::new();
    let tok = "FwoGZXIvYXdzEBYaDH+ab/cd=ef~g_h.i-j==";
    let out = ok(h.kctx_env_keys().env("AWS_SESSION_TOKEN", tok).args([
        "token",
        "-i",
        "c",
        "--no-cache",
    ]));
    let (_, _, token) = exec_credential(&out);
    let url = token_url(&token);
    assert!(url.contains("&X-Amz-Security-Token=FwoGZXIvYXdzEBYaDH%2Bab%2Fcd%3Def~g_h.i-j%3D%3D&X-Amz-Signature="), "{url}");
    assert_eq!(query_of(&url)["x-amz-security-token"], tok);
}

#[test]
fn profile_from_credentials_file_and_region_from_config() {
    let h = Home::new();
    h.write(".aws/credentials", "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = x\n\n[team]\naws_access_key_id = AKIDTEAM\naws_secret_access_key = y\naws_session_token = tok\n");
    h.write(
        ".aws/config",
        "[default]\nregion = eu-west-1\n[profile team]\nregion = ap-southeast-2\n",
    );
    let out = ok(h.kctx().args([
        "token",
        "--cluster-name",
        "c",
        "--profile",
        "team",
        "--no-cache",
    ]));
    let url = token_url(&exec_credential(&out).2);
    assert!(
        url.starts_with("https://sts.ap-southeast-2.amazonaws.com/?"),
        "{url}"
    );
    assert!(url.contains("X-Amz-Credential=AKIDTEAM%2F"), "{url}");
    assert!(url.contains("X-Amz-Security-Token=tok&"), "{url}");
    // AWS_PROFILE works too; --region beats the profile's region
    let out = ok(h.kctx().env("AWS_PROFILE", "team").args([
        "token",
        "-i",
        "c",
        "--region",
        "us-east-2",
        "--no-cache",
    ]));
    let url = token_url(&exec_credential(&out).2);
    assert!(
        url.starts_with("https://sts.us-east-2.amazonaws.com/?") && url.contains("AKIDTEAM"),
        "{url}"
    );
    // default profile
    let out = ok(h.kctx().args(["token", "-i", "c", "--no-cache"]));
    let url = token_url(&exec_credential(&out).2);
    assert!(
        url.starts_with("https://sts.eu-west-1.amazonaws.com/?") && url.contains("AKIDDEFAULT"),
        "{url}"
    );
    // --profile beats environment keys, as in the AWS CLI
    let out = ok(h
        .kctx_env_keys()
        .args(["token", "-i", "c", "--profile", "team", "--no-cache"]));
    assert!(token_url(&exec_credential(&out).2).contains("AKIDTEAM"));
}

#[test]
fn china_region_and_endpoint_variants() {
    let h = Home::new();
    let out = ok(h.kctx_env_keys().args([
        "token",
        "-i",
        "c",
        "--region",
        "cn-northwest-1",
        "--no-cache",
    ]));
    let url = token_url(&exec_credential(&out).2);
    assert!(
        url.starts_with("https://sts.cn-northwest-1.amazonaws.com.cn/?"),
        "{url}"
    );
    assert!(url.contains("%2Fcn-northwest-1%2Fsts%2Faws4_request"));
    let out = ok(h
        .kctx_env_keys()
        .env("AWS_USE_FIPS_ENDPOINT", "true")
        .args(["token", "-i", "c", "--no-cache"]));
    assert!(token_url(&exec_credential(&out).2)
        .starts_with("https://sts-fips.us-west-2.amazonaws.com/?"));
    let out = ok(h
        .kctx_env_keys()
        .env("AWS_USE_DUALSTACK_ENDPOINT", "true")
        .args(["token", "-i", "c", "--no-cache"]));
    assert!(token_url(&exec_credential(&out).2).starts_with("https://sts.us-west-2.api.aws/?"));
    h.write(".aws/config", "[default]\nuse_fips_endpoint = true\n");
    let out = ok(h.kctx_env_keys().args(["token", "-i", "c", "--no-cache"]));
    assert!(token_url(&exec_credential(&out).2)
        .starts_with("https://sts-fips.us-west-2.amazonaws.com/?"));
    // an endpoint override never changes the presigned host
    let out = ok(h
        .kctx_env_keys()
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_USE_FIPS_ENDPOINT", "false")
        .args(["token", "-i", "c", "--no-cache"]));
    assert!(
        token_url(&exec_credential(&out).2).starts_with("https://sts.us-west-2.amazonaws.com/?")
    );
}

#[test]
fn cluster_id_is_signed_as_x_k8s_aws_id() {
    // Same inputs as the "outpost-id" botocore vector, except time; compare via the pure fn.
    let h = Home::new();
    let id = "2f0ac4b2-7d3e-4b8a-9f1e-0123456789ab";
    let out = ok(h.kctx_env_keys().args([
        "token",
        "--cluster-id",
        id,
        "--region",
        "us-east-1",
        "--no-cache",
    ]));
    let token = exec_credential(&out).2;
    let signed = kctx::token_signed_at(&token).unwrap();
    let creds = aws_credential_types::Credentials::new(AK, SK, None, None, "t");
    let expect = kctx::sts::token(
        &creds,
        "us-east-1",
        "sts.us-east-1.amazonaws.com",
        id,
        signed,
    )
    .unwrap();
    assert_eq!(token, expect);
    let other = kctx::sts::token(
        &creds,
        "us-east-1",
        "sts.us-east-1.amazonaws.com",
        "other",
        signed,
    )
    .unwrap();
    assert_ne!(token, other);
    // exactly one of --cluster-name / --cluster-id
    let o = run(h
        .kctx_env_keys()
        .args(["token", "--cluster-id", id, "--cluster-name", "x"]));
    assert!(!o.status.success() && stdout(&o).is_empty());
    let o = run(h.kctx_env_keys().args(["token"]));
    assert!(!o.status.success() && stdout(&o).is_empty());
}

#[test]
fn kubernetes_exec_info_cases() {
    let h = Home::new();
    let cases: &[(Option<&str>, &str, bool)] = &[
        (None, "client.authentication.k8s.io/v1beta1", false),
        (
            Some(
                r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
            ),
            "client.authentication.k8s.io/v1",
            false,
        ),
        (
            Some(
                r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}"#,
            ),
            "client.authentication.k8s.io/v1beta1",
            false,
        ),
        (
            Some(
                r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}"#,
            ),
            "client.authentication.k8s.io/v1alpha1",
            true,
        ),
        (
            Some("{malformed"),
            "client.authentication.k8s.io/v1beta1",
            true,
        ),
        (
            Some(r#"{"apiVersion":"client.authentication.k8s.io/v9"}"#),
            "client.authentication.k8s.io/v1beta1",
            true,
        ),
    ];
    for (info, want, warns) in cases {
        let mut c = h.kctx_env_keys();
        c.args(["token", "-i", "c"]);
        if let Some(i) = info {
            c.env("KUBERNETES_EXEC_INFO", i);
        }
        let o = run(&mut c);
        assert!(o.status.success());
        assert_eq!(exec_credential(&stdout(&o)).0, *want, "{info:?}");
        assert_eq!(
            !stderr(&o).is_empty(),
            *warns,
            "{info:?}: stderr {:?}",
            stderr(&o)
        );
        if *warns {
            assert!(stderr(&o).starts_with("kctx: warning: "));
        }
    }
}

#[test]
fn no_credentials_fails_fast_with_one_line() {
    let h = Home::new();
    let o = run(h
        .kctx()
        .env("AWS_REGION", "us-west-2")
        .args(["token", "-i", "c"]));
    assert!(!o.status.success());
    assert!(stdout(&o).is_empty());
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with("kctx: error: no AWS credentials found"),
        "{e}"
    );
    assert!(
        e.contains("AWS_ACCESS_KEY_ID") && e.contains("--profile"),
        "{e}"
    );
}

#[test]
fn black_holed_instance_metadata_does_not_hang() {
    // A metadata endpoint that accepts connections and never answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = Home::new();
    let start = Instant::now();
    let o = run(h
        .kctx()
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://{addr}"),
        )
        .env("AWS_REGION", "us-west-2")
        .args(["token", "-i", "c"]));
    let took = start.elapsed();
    drop(l);
    assert!(!o.status.success());
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("no AWS credentials found"),
        "{}",
        stderr(&o)
    );
    // a hang guard, not a speed target: the requirement is "within 2 seconds"
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn missing_region_never_asks_instance_metadata() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    l.set_nonblocking(true).unwrap();
    let h = Home::new();
    let o = run(h
        .kctx()
        .env("AWS_ACCESS_KEY_ID", AK)
        .env("AWS_SECRET_ACCESS_KEY", SK)
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://{addr}"),
        )
        .args(["token", "-i", "c"]));
    assert!(!o.status.success());
    assert!(
        l.accept().is_err(),
        "kctx contacted instance metadata for a region"
    );
    let e = stderr(&o);
    assert!(
        e.starts_with("kctx: error: no AWS region") && e.contains("--region"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
}

#[test]
fn bad_inputs_name_what_is_wrong() {
    let h = Home::new();
    let o = run(h
        .kctx_env_keys()
        .args(["token", "-i", "c", "--region", "not a region"]));
    assert!(!o.status.success() && stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("invalid AWS region \"not a region\""),
        "{}",
        stderr(&o)
    );
    let o = run(h.kctx().env("AWS_REGION", "us-west-2").args([
        "token",
        "-i",
        "c",
        "--profile",
        "ghost",
    ]));
    assert!(
        stderr(&o).contains("AWS profile \"ghost\" not found"),
        "{}",
        stderr(&o)
    );
    h.write(".aws/config", "[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\nregion = us-east-1\n[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n");
    let o = run(h.kctx().args(["token", "-i", "c", "--profile", "sso"]));
    assert!(!o.status.success() && stdout(&o).is_empty());
    let e = stderr(&o);
    assert!(e.contains("run `kctx login --sso-session corp`"), "{e}");
    assert!(e.contains("profile \"sso\""), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn role_arn_assumes_the_role_via_moto_and_keeps_the_real_sts_host() {
    let h = Home::new();
    let role = "arn:aws:iam::123456789012:role/kctx-token-role";
    let out = ok(h.kctx_env_keys().env("AWS_ENDPOINT_URL_STS", moto()).args([
        "token",
        "-i",
        "c",
        "--role-arn",
        role,
        "--session-name",
        "kctx-test",
        "--external-id",
        "ext-1",
        "--no-cache",
    ]));
    let token = exec_credential(&out).2;
    let p = crate::verify::verify(&token, SystemTime::now()).unwrap();
    assert_eq!(
        p.host, "sts.us-west-2.amazonaws.com",
        "endpoint overrides never reach the token"
    );
    let sessions = moto_assumed(role);
    let s = sessions
        .iter()
        .find(|s| s["session_name"] == "kctx-test")
        .expect("moto recorded the AssumeRole");
    assert_eq!(s["external_id"], "ext-1");
    let ak = s["access_key_id"].as_str().unwrap();
    assert!(
        p.query["x-amz-credential"].starts_with(&format!("{ak}/")),
        "signed with the role's key"
    );
    assert_eq!(
        p.query["x-amz-security-token"],
        s["session_token"].as_str().unwrap()
    );
    // and the signature is the role's: recompute with its secret
    let creds = aws_credential_types::Credentials::new(
        ak,
        s["secret_access_key"].as_str().unwrap(),
        Some(s["session_token"].as_str().unwrap().into()),
        None,
        "t",
    );
    let signed = kctx::token_signed_at(&token).unwrap();
    assert_eq!(
        kctx::sts::token(&creds, "us-west-2", &p.host, "c", signed).unwrap(),
        token
    );
}

#[test]
fn assume_role_failure_is_one_line_naming_the_role() {
    let h = Home::new();
    let o = run(h
        .kctx_env_keys()
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
        .args([
            "token",
            "-i",
            "c",
            "--role-arn",
            "arn:aws:iam::123456789012:role/nope",
            "--no-cache",
        ]));
    assert!(!o.status.success() && stdout(&o).is_empty());
    let e = stderr(&o);
    assert!(
        e.contains("cannot assume role arn:aws:iam::123456789012:role/nope"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(!e.contains(SK));
}

fn access_key_in(token: &str) -> String {
    let url = token_url(token);
    url.split("X-Amz-Credential=")
        .nth(1)
        .unwrap()
        .split("%2F")
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn full_chain_assume_role_profile_credential_process_and_web_identity() {
    let h = Home::new();
    let proc_script = h.write(
        "proc.sh",
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"procsecret\", \"SessionToken\": \"proctoken\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n",
    );
    std::fs::set_permissions(
        &proc_script,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let role = format!(
        "arn:aws:iam::123456789012:role/chained-{}",
        std::process::id()
    );
    h.write(
        ".aws/config",
        &format!(
            "[profile base]\nregion = us-west-2\n[profile chained]\nrole_arn = {role}\nsource_profile = base\nregion = us-west-2\n[profile proc]\ncredential_process = {}\nregion = eu-west-1\n",
            proc_script.display()
        ),
    );
    h.write(
        ".aws/credentials",
        "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = basesecret\n",
    );
    // assume-role profile (source_profile), through moto's STS
    let out = ok(h.kctx().env("AWS_ENDPOINT_URL_STS", moto()).args([
        "token",
        "-i",
        "c",
        "--profile",
        "chained",
        "--no-cache",
    ]));
    let tok = exec_credential(&out).2;
    let sessions = moto_assumed(&role);
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        access_key_in(&tok),
        sessions[0]["access_key_id"].as_str().unwrap()
    );
    crate::verify::verify(&tok, SystemTime::now()).unwrap();
    // credential_process
    let out = ok(h
        .kctx()
        .args(["token", "-i", "c", "--profile", "proc", "--no-cache"]));
    let tok = exec_credential(&out).2;
    assert_eq!(access_key_in(&tok), "AKIDPROC");
    assert!(token_url(&tok).starts_with("https://sts.eu-west-1.amazonaws.com/?"));
    // a failing credential_process: its status and stderr, in one line
    let failing = [
        (
            r#"sh -c "echo 'token for alice expired' >&2; exit 3""#,
            "its credential_process exited with status 3: token for alice expired",
        ),
        (
            r#"sh -c "exit 4""#,
            "its credential_process exited with status 4 and wrote nothing to stderr",
        ),
        (
            r#"sh -c "echo not-json""#,
            "its credential_process printed no credentials JSON",
        ),
    ];
    for (command, want) in failing {
        let config = h.write(
            "bad-config",
            &format!("[profile bad]\ncredential_process = {command}\nregion = us-west-2\n"),
        );
        let o = h
            .kctx()
            .env("AWS_CONFIG_FILE", &config)
            .args(["token", "-i", "c", "--profile", "bad", "--no-cache"])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(!o.status.success());
        assert!(o.stdout.is_empty(), "{}", stdout(&o));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("kctx: error: cannot load AWS credentials for profile \"bad\": ")
                && err.contains(want),
            "{err}"
        );
    }
    // a role profile whose source_profile does not exist: said so, not "no credentials"
    let config = h.write(
        "bad-config",
        "[profile badrole]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = missing\nregion = us-west-2\n",
    );
    let o = h
        .kctx()
        .env("AWS_CONFIG_FILE", &config)
        .args(["token", "-i", "c", "--profile", "badrole", "--no-cache"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o)
            .starts_with("kctx: error: cannot load AWS credentials for profile \"badrole\": ")
            && stderr(&o).contains("could not find source profile missing referenced from badrole"),
        "{}",
        stderr(&o)
    );
    // web identity (IRSA), through moto's AssumeRoleWithWebIdentity
    let wi_role = format!("arn:aws:iam::123456789012:role/irsa-{}", std::process::id());
    let wi = h.write("wi-token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\n");
    let out = ok(h
        .kctx()
        .env("AWS_ENDPOINT_URL_STS", moto())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &wi)
        .env("AWS_ROLE_ARN", &wi_role)
        .env("AWS_ROLE_SESSION_NAME", "irsa")
        .args(["token", "-i", "c", "--no-cache"]));
    let tok = exec_credential(&out).2;
    let s = moto_assumed(&wi_role);
    assert_eq!(s.len(), 1, "AssumeRoleWithWebIdentity recorded");
    assert_eq!(access_key_in(&tok), s[0]["access_key_id"].as_str().unwrap());
}

#[test]
fn container_credentials_from_a_local_endpoint() {
    // The ECS/EKS Pod Identity style endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI), served
    // on loopback by a few lines of Python following the published response shape.
    let server = r#"
import json, sys, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.headers.get("Authorization") != "pod-token":
            self.send_response(401); self.end_headers(); return
        body = json.dumps({"AccessKeyId": "ASIACONTAINER", "SecretAccessKey": "s", "Token": "t",
                           "Expiration": "2099-01-01T00:00:00Z", "RoleArn": "arn:aws:iam::1:role/pod"}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
s = HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
threading.Thread(target=s.serve_forever, daemon=True).start()
sys.stdin.read()
"#;
    let (server, port) = spawn_server(std::process::Command::new("python3").args(["-c", server]));
    let h = Home::new();
    let o = run(h
        .kctx()
        .env("AWS_REGION", "us-west-2")
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("http://127.0.0.1:{port}/creds"),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "pod-token")
        .args(["token", "-i", "c", "--no-cache"]));
    drop(server);
    assert!(o.status.success(), "{}", stderr(&o));
    let tok = exec_credential(&stdout(&o)).2;
    assert_eq!(access_key_in(&tok), "ASIACONTAINER");
    assert!(token_url(&tok).contains("X-Amz-Security-Token=t&"));
}
