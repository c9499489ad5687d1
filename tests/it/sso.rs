//! IAM Identity Center (issue 21): `kctx login` (PKCE and device code), the AWS CLI v2's token
//! cache with botocore as the oracle both ways, silent refresh, the interactive and
//! non-interactive rules inside `kctx token` (also under real kubectl), one sign-in for
//! concurrent exec calls, `--sso-session` credentials, discovery and `add --all` across the
//! accounts a session sees (moto's EKS, one IAM user per account whose keys the portal hands
//! out), `kctx logout`, and no token or secret in any output.
//!
//! The IAM Identity Center services are tests/support/fake_sso.py (checked against botocore's
//! own sso-oidc and sso clients); the browser is tests/support/fake_browser.py, which follows
//! the sign-in page's redirect to kctx's loopback listener.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;

const START_URL: &str = "https://corp.awsapps.com/start";
/// hashlib.sha1(b"corp").hexdigest(): the cache file of `[sso-session corp]`.
const CORP_FILE: &str = "ee0bfd2552fbd840c02cc48b6e823320543c450f.json";
/// The cache file's keys, in the order botocore writes them.
const KEY_ORDER: [&str; 8] = [
    "startUrl",
    "region",
    "accessToken",
    "expiresAt",
    "clientId",
    "clientSecret",
    "registrationExpiresAt",
    "refreshToken",
];

fn session_config(extra: &str) -> String {
    format!(
        "[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n{extra}"
    )
}

/// One request to the double (its control endpoints), over plain HTTP/1.0.
fn http(base: &str, method: &str, path: &str, body: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n").unwrap().1.to_owned()
}

/// A user with an `[sso-session corp]` (and a profile `dev` that signs in with it), the
/// IAM Identity Center double, and the fake browser.
struct Sso {
    h: Home,
    url: String,
    _server: Guarded,
    /// Everything every command printed, scanned for secrets when the test ends.
    outputs: RefCell<Vec<String>>,
    /// Secret keys the portal hands out (never to be printed).
    secrets: Vec<String>,
}

impl Sso {
    fn start(cfg: Value, profile_account: &str) -> Self {
        let h = Home::new();
        let f = h.write("fake_sso.json", &cfg.to_string());
        let mut cmd = Command::new("python3");
        cmd.arg(repo().join("tests/support/fake_sso.py"))
            .arg("--config")
            .arg(&f);
        let (guard, port) = spawn_server(&mut cmd);
        let mut secrets = Vec::new();
        for a in cfg["accounts"].as_array().into_iter().flatten() {
            if let Some(s) = a["credentials"]["secret_access_key"].as_str() {
                secrets.push(s.to_owned());
            }
        }
        h.write(
            ".aws/config",
            &session_config(&format!(
                "[profile dev]\nsso_session = corp\nsso_account_id = {profile_account}\nsso_role_name = ReadOnly\nregion = us-west-2\n"
            )),
        );
        Self {
            h,
            url: format!("http://127.0.0.1:{port}"),
            _server: guard,
            outputs: RefCell::new(Vec::new()),
            secrets,
        }
    }

    /// The environment that points kctx (and botocore) at the double and the fake browser.
    fn env<'a>(&self, c: &'a mut Command) -> &'a mut Command {
        c.env("AWS_ENDPOINT_URL_SSO_OIDC", &self.url)
            .env("AWS_ENDPOINT_URL_SSO", &self.url)
            .env("BROWSER", repo().join("tests/support/fake_browser.py"))
            .env("FAKE_BROWSER_LOG", self.h.path().join("browser.log"))
    }

    fn kctx(&self) -> Command {
        let mut c = self.h.kctx();
        self.env(&mut c);
        c
    }

    fn run(&self, c: &mut Command) -> Output {
        let o = c.output().expect("spawn");
        self.outputs
            .borrow_mut()
            .push(format!("{}{}", stdout(&o), stderr(&o)));
        o
    }

    fn ok(&self, c: &mut Command) -> String {
        let o = self.run(c);
        assert!(
            o.status.success(),
            "{c:?} failed\nstdout: {}\nstderr: {}",
            stdout(&o),
            stderr(&o)
        );
        stdout(&o)
    }

    fn calls(&self) -> Vec<String> {
        serde_json::from_str(&http(&self.url, "GET", "/_calls", "")).unwrap()
    }

    fn control(&self, body: Value) -> Value {
        serde_json::from_str(&http(&self.url, "POST", "/_control", &body.to_string())).unwrap()
    }

    fn reset_calls(&self) {
        self.control(json!({"reset_calls": true}));
    }

    /// The URLs the fake browser visited.
    fn visits(&self) -> Vec<String> {
        std::fs::read_to_string(self.h.path().join("browser.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn token_path(&self) -> PathBuf {
        self.h.path().join(".aws/sso/cache").join(CORP_FILE)
    }

    fn token_raw(&self) -> String {
        std::fs::read_to_string(self.token_path()).unwrap()
    }

    fn token(&self) -> Value {
        serde_json::from_str(&self.token_raw()).unwrap()
    }

    /// Moves the cached token's expiry into the past (written as botocore writes) and makes the
    /// double refuse the old access token too.
    fn expire_token(&self) {
        self.python(
            "import json,sys\nf=sys.argv[1]\nd=json.load(open(f))\nd['expiresAt']='2020-01-01T00:00:00Z'\nopen(f,'w').write(json.dumps(d))",
            &[self.token_path().to_str().unwrap()],
        );
        self.control(json!({"expire_access_tokens": true}));
    }

    /// Runs Python with this user's HOME and the double's endpoints; returns stdout.
    fn python(&self, code: &str, args: &[&str]) -> String {
        let mut c = self.h.cmd("python3");
        self.env(&mut c).arg("-c").arg(code).args(args);
        let o = c.output().unwrap();
        assert!(o.status.success(), "python: {}", stderr(&o));
        stdout(&o)
    }

    /// `kctx token` for a cluster with the profile `dev`, not interactive.
    fn token_cmd(&self, cluster: &str) -> Command {
        let mut c = self.kctx();
        c.args(["token", "--cluster-name", cluster, "--profile", "dev"]);
        c
    }
}

impl Drop for Sso {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // no access token, refresh token, client secret, device code or role secret key in
        // anything any command printed
        for out in self.outputs.borrow().iter() {
            for needle in ["fakeat-", "fakert-", "fakecsecret-", "fakedc-"]
                .iter()
                .map(|s| s.to_string())
                .chain(self.secrets.iter().cloned())
            {
                assert!(
                    !out.contains(&needle),
                    "a secret ({needle}…) was printed:\n{out}"
                );
            }
        }
    }
}

/// One account, one role, fixed keys: for the tests that need no EKS.
fn one_account(account: &str) -> Value {
    json!({"accounts": [{"id": account, "name": "dev",
        "credentials": {"access_key_id": "AKIAKCTXSSOTEST00001",
                        "secret_access_key": "kctxSsoTestSecretKey/000000000000000001",
                        "session_token": "kctx-sso-test-session-token"},
        "roles": ["ReadOnly"]}]})
}

fn is_one_line(s: &str) -> bool {
    s.lines().count() == 1
}

#[test]
fn login_with_pkce_writes_the_aws_cli_cache_that_boto3_signs_with() {
    let w = Sso::start(one_account("111111111111"), "111111111111");
    let out = w.ok(w.kctx().args(["login", "--sso-session", "corp"]));
    assert!(
        is_one_line(&out) && out.contains("session \"corp\"") && out.contains("expires at 20"),
        "{out}"
    );
    assert_eq!(w.calls(), ["RegisterClient", "Authorize", "CreateToken"]);
    // the browser went to the sign-in page with PKCE, then back to kctx's loopback listener
    let visits = w.visits();
    assert_eq!(visits.len(), 2, "{visits:?}");
    let auth = &visits[0];
    assert!(auth.starts_with(&format!(
        "{}/authorize?response_type=code&client_id=",
        w.url
    )));
    for part in [
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A",
        "%2Foauth%2Fcallback&state=",
        "&code_challenge_method=S256&code_challenge=",
        "&scopes=sso%3Aaccount%3Aaccess",
    ] {
        assert!(auth.contains(part), "{part} in {auth}");
    }
    assert!(
        visits[1].starts_with("http://127.0.0.1:") && visits[1].contains("/oauth/callback?code=")
    );
    // the cache file: 0600, botocore's key order and json.dumps bytes
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(w.token_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let check = w.python(
        "import json,sys\nraw=open(sys.argv[1]).read()\nd=json.loads(raw)\nprint(json.dumps(list(d)))\nprint(raw==json.dumps(d))",
        &[w.token_path().to_str().unwrap()],
    );
    let mut lines = check.lines();
    let keys: Vec<String> = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(keys, KEY_ORDER);
    assert_eq!(lines.next(), Some("True"), "exactly json.dumps's bytes");
    let t = w.token();
    assert_eq!(t["startUrl"], START_URL);
    assert_eq!(t["region"], "us-east-1");
    // boto3's SSO credential provider signs with what kctx signed in: no OIDC call
    w.reset_calls();
    let ak = w.python(
        "import boto3\nprint(boto3.Session(profile_name='dev').get_credentials().get_frozen_credentials().access_key)",
        &[],
    );
    assert_eq!(ak.trim(), "AKIAKCTXSSOTEST00001");
    assert_eq!(w.calls(), ["GetRoleCredentials"]);
    // kctx signs with it too; a second login reuses the client registration
    let cred = w.ok(&mut w.token_cmd("alpha"));
    let (_, _, tok) = exec_credential(&cred);
    assert!(token_url(&tok).contains("X-Amz-Credential=AKIAKCTXSSOTEST00001%2F"));
    w.reset_calls();
    w.ok(w.kctx().args(["login", "--profile", "dev"]));
    assert_eq!(
        w.calls(),
        ["Authorize", "CreateToken"],
        "registration reused"
    );
}

#[test]
fn device_login_polls_until_the_code_is_confirmed_and_slows_down_when_told() {
    let mut cfg = one_account("111111111111");
    cfg["slow_down"] = json!(1);
    let w = Sso::start(cfg, "111111111111");
    // --no-browser: the page and the code on stderr; the user confirms elsewhere
    let mut child = w
        .kctx()
        .args(["login", "--use-device-code", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let code = loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "no code shown: {seen}"
        );
        seen.push_str(&line);
        if let Some(i) = line.find("user_code=") {
            break line[i + "user_code=".len()..].trim().to_owned();
        }
    };
    assert!(seen.contains(&format!("confirm the code {code}")), "{seen}");
    w.control(json!({"approve": code, "set": {"slow_down": 0}}));
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let st = child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    w.outputs.borrow_mut().push(format!("{out}{seen}{rest}"));
    assert!(st.success(), "{seen}{rest}");
    assert!(w.visits().is_empty(), "--no-browser opened nothing");
    let calls = w.calls();
    assert_eq!(calls[..2], ["RegisterClient", "StartDeviceAuthorization"]);
    assert!(calls[2..].iter().all(|c| c == "CreateToken"), "{calls:?}");
    let detail: Value = serde_json::from_str(&http(&w.url, "GET", "/_calls?detail=1", "")).unwrap();
    let errors: Vec<&str> = detail
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["error"].as_str())
        .collect();
    assert_eq!(errors.first(), Some(&"SlowDownException"), "{errors:?}");
    assert_eq!(
        w.token()["refreshToken"]
            .as_str()
            .map(|t| t.starts_with("fakert-")),
        Some(true)
    );
    // with the browser: it opens the verification page, which confirms the code
    w.reset_calls();
    w.ok(w.kctx().args(["login", "--use-device-code"]));
    assert!(w.visits().iter().any(|v| v.contains("/device?user_code=")));
    assert_eq!(
        w.calls()[0],
        "StartDeviceAuthorization",
        "registration reused"
    );
}

#[test]
fn a_token_botocore_cached_is_used_without_any_oidc_call() {
    let w = Sso::start(one_account("111111111111"), "111111111111");
    // botocore signs in (device grant) and saves the token as the AWS CLI v2 does
    w.python(
        r#"
import datetime, json, os, sys, urllib.request
import botocore.session
from botocore.utils import JSONFileCache, SSOTokenLoader
from botocore.tokens import _sso_json_dumps
url = os.environ["AWS_ENDPOINT_URL_SSO_OIDC"]
oidc = botocore.session.get_session().create_client("sso-oidc", region_name="us-east-1")
reg = oidc.register_client(clientName="botocore-client-corp", clientType="public",
    grantTypes=["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
    scopes=["sso:account:access"])
d = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
    startUrl="https://corp.awsapps.com/start")
urllib.request.urlopen(urllib.request.Request(url + "/_control", method="POST",
    data=json.dumps({"approve": d["userCode"]}).encode()))
t = oidc.create_token(grantType="urn:ietf:params:oauth:grant-type:device_code",
    deviceCode=d["deviceCode"], clientId=reg["clientId"], clientSecret=reg["clientSecret"])
utc = datetime.timezone.utc
now = datetime.datetime.now(utc)
token = {"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1",
    "accessToken": t["accessToken"], "expiresAt": now + datetime.timedelta(seconds=t["expiresIn"]),
    "clientId": reg["clientId"], "clientSecret": reg["clientSecret"],
    "registrationExpiresAt": datetime.datetime.fromtimestamp(reg["clientSecretExpiresAt"], utc),
    "refreshToken": t["refreshToken"]}
cache = JSONFileCache(os.path.expanduser("~/.aws/sso/cache"), dumps_func=_sso_json_dumps)
SSOTokenLoader(cache=cache).save_token("https://corp.awsapps.com/start", token, session_name="corp")
"#,
        &[],
    );
    let before = w.token_raw();
    w.reset_calls();
    let cred = w.ok(&mut w.token_cmd("alpha"));
    exec_credential(&cred);
    assert_eq!(w.calls(), ["GetRoleCredentials"], "no OIDC call");
    assert_eq!(w.token_raw(), before, "the file is untouched");
    // the same with the session named outright
    w.reset_calls();
    w.ok(w.kctx().args([
        "token",
        "--cluster-name",
        "alpha",
        "--region",
        "us-west-2",
        "--sso-session",
        "corp",
        "--sso-account-id",
        "111111111111",
        "--sso-role-name",
        "ReadOnly",
    ]));
    assert_eq!(w.calls(), ["GetRoleCredentials"]);
}

/// The file with its changing values (tokens, times) blanked: what must match byte for byte.
fn shape(raw: &str) -> String {
    let mut v: serde_json::Map<String, Value> = serde_json::from_str(raw).unwrap();
    for k in ["accessToken", "expiresAt", "refreshToken"] {
        if v.contains_key(k) {
            v.insert(k.into(), json!("X"));
        }
    }
    let mut s = raw.to_owned();
    // rebuild as json.dumps would, in the file's own key order
    s.clear();
    s.push('{');
    let parts: Vec<String> = v
        .iter()
        .map(|(k, val)| format!("{}: {}", json!(k), val))
        .collect();
    s.push_str(&parts.join(", "));
    s.push('}');
    s
}

#[test]
fn an_expired_token_is_refreshed_silently_and_written_back_as_botocore_writes_it() {
    let w = Sso::start(one_account("111111111111"), "111111111111");
    w.ok(w.kctx().args(["login"]));
    let first = w.token();
    w.expire_token();
    w.reset_calls();
    let o = w.run(&mut w.token_cmd("alpha"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "silent: {}", stderr(&o));
    assert_eq!(
        w.calls(),
        ["CreateToken", "GetRoleCredentials"],
        "a refresh, no sign-in"
    );
    assert_eq!(w.visits().len(), 2, "no browser since the login");
    let kctx_raw = w.token_raw();
    let t = w.token();
    assert_ne!(t["accessToken"], first["accessToken"]);
    assert_eq!(
        t["registrationExpiresAt"], first["registrationExpiresAt"],
        "copied as it was"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(w.token_path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // botocore, refreshing the same way, writes the same bytes (but for tokens and times)
    w.expire_token();
    w.reset_calls();
    w.python(
        "import boto3\nboto3.Session(profile_name='dev').get_credentials().get_frozen_credentials()",
        &[],
    );
    assert_eq!(w.calls(), ["CreateToken", "GetRoleCredentials"]);
    let boto_raw = w.token_raw();
    assert_ne!(boto_raw, kctx_raw);
    assert_eq!(shape(&kctx_raw), shape(&boto_raw));
    assert!(!kctx_raw.ends_with('\n') && !boto_raw.ends_with('\n'));
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&kctx_raw)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, KEY_ORDER);
}

#[test]
fn expired_and_revoked_without_a_terminal_fails_at_once_naming_the_login_command() {
    let w = Sso::start(one_account("111111111111"), "111111111111");
    w.ok(w.kctx().args(["login"]));
    w.expire_token();
    w.control(json!({"revoke_refresh_tokens": true}));
    w.reset_calls();
    let visits = w.visits().len();
    let exec_info = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#;
    let start = Instant::now();
    let o = w.run(w.token_cmd("alpha").env("KUBERNETES_EXEC_INFO", exec_info));
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty(), "nothing on stdout: {}", stdout(&o));
    let e = stderr(&o);
    assert!(is_one_line(&e), "{e}");
    assert!(
        e.starts_with(
            "kctx: error: profile \"dev\": IAM Identity Center session \"corp\" has expired"
        ) && e.contains("refresh was refused")
            && e.trim_end()
                .ends_with("run `kctx login --sso-session corp`"),
        "{e}"
    );
    assert_eq!(w.visits().len(), visits, "no browser");
    assert_eq!(
        w.calls(),
        ["CreateToken"],
        "one refresh attempt, no sign-in"
    );
    // it does not wait for a sign-in (which would take up to 5 minutes)
    assert!(took < Duration::from_secs(5), "{took:?}");
    // the same without kubectl and without a terminal (stdin is /dev/null)
    let o = w.run(&mut w.token_cmd("alpha"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("run `kctx login --sso-session corp`"));
    // a GUI client opts in: the browser opens and the credential follows
    for (flag, env) in [(true, None), (false, Some("browser"))] {
        w.expire_token();
        w.control(json!({"revoke_refresh_tokens": true}));
        let mut c = w.token_cmd("alpha");
        c.env("KUBERNETES_EXEC_INFO", exec_info).arg("--no-cache");
        if flag {
            c.args(["--login", "browser"]);
        }
        if let Some(v) = env {
            c.env("KCTX_LOGIN", v);
        }
        let o = w.run(&mut c);
        assert!(o.status.success(), "{}", stderr(&o));
        exec_credential(&stdout(&o));
        assert!(stderr(&o).contains("/authorize?"), "{}", stderr(&o));
    }
}

/// Six `kctx token` calls at once, as kubectl (interactive) starts them while the session has
/// expired: one sign-in, and every call prints a credential.
#[test]
fn concurrent_exec_calls_share_one_sign_in() {
    let w = Sso::start(one_account("111111111111"), "111111111111");
    w.ok(w.kctx().args(["login"]));
    w.expire_token();
    w.control(json!({"revoke_refresh_tokens": true}));
    w.reset_calls();
    let exec_info = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}"#;
    let children: Vec<_> = (0..6)
        .map(|i| {
            w.token_cmd(&format!("c{i}"))
                .env("KUBERNETES_EXEC_INFO", exec_info)
                .env("FAKE_BROWSER_DELAY", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        w.outputs
            .borrow_mut()
            .push(format!("{}{}", stdout(&o), stderr(&o)));
        assert!(o.status.success(), "{}", stderr(&o));
        exec_credential(&stdout(&o));
    }
    let calls = w.calls();
    let count = |op: &str| calls.iter().filter(|c| *c == op).count();
    assert_eq!(count("Authorize"), 1, "{calls:?}");
    assert_eq!(count("RegisterClient"), 0, "{calls:?}");
    // the refresh is refused once, then the sign-in's exchange; nothing more
    assert_eq!(count("CreateToken"), 2, "{calls:?}");
}

/// kubectl with `interactiveMode: IfAvailable` on a terminal tells kctx it may interact: kctx
/// signs in, then kubectl gets its credential and the API server accepts it.
#[test]
fn expired_under_interactive_kubectl_signs_in_then_gives_the_credential() {
    let w = Sso::start(one_account("111111111111"), "111111111111");
    w.ok(w.kctx().args(["login"]));
    w.expire_token();
    w.control(json!({"revoke_refresh_tokens": true}));
    w.reset_calls();
    let srv = ApiServer::start(
        w.h.path(),
        "alpha",
        &[(
            "AKIAKCTXSSOTEST00001",
            "kctxSsoTestSecretKey/000000000000000001",
        )],
    );
    let kubeconfig = |mode: &str| {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      args: [token, --cluster-name, alpha, --region, us-west-2, --sso-session, corp, --sso-account-id, '111111111111', --sso-role-name, ReadOnly]\n      interactiveMode: {mode}\n",
            srv.url,
            srv.ca_data(),
            kctx_bin()
        )
    };
    let kubectl = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v kubectl"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    // never interactive: kubectl passes `"interactive": false`; kctx fails with the command
    let kc = w.h.write("never.yaml", &kubeconfig("Never"));
    let o = w.run(w.env(&mut w.h.cmd(&kubectl)).args([
        "--kubeconfig",
        kc.to_str().unwrap(),
        "get",
        "--raw",
        "/version",
    ]));
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("run `kctx login --sso-session corp`"),
        "{}",
        stderr(&o)
    );
    assert!(!w.calls().contains(&"Authorize".to_owned()));
    // on a terminal, IfAvailable
    let kc = w.h.write("ifavailable.yaml", &kubeconfig("IfAvailable"));
    let mut py = w.h.cmd("python3");
    w.env(&mut py);
    let o = w.run(in_terminal(
        &mut py,
        b"",
        0.5,
        10.0,
        &[
            &kubectl,
            "--kubeconfig",
            kc.to_str().unwrap(),
            "get",
            "--raw",
            "/version",
        ],
    ));
    let screen = stdout(&o);
    assert!(o.status.success(), "{screen}");
    assert!(
        screen.contains("signing in") && screen.contains("gitVersion"),
        "{screen}"
    );
    assert_eq!(w.calls().iter().filter(|c| *c == "Authorize").count(), 1);
    let reqs = srv.requests();
    assert!(reqs.iter().any(|r| r["ok"] == true), "{reqs:?}");
}

#[test]
fn a_legacy_profile_signs_in_under_its_start_url_without_a_refresh_token() {
    let w = Sso::start(one_account("111111111111"), "111111111111");
    w.h.write(
        ".aws/config",
        &format!("[profile old]\nsso_start_url = {START_URL}\nsso_region = us-east-1\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\nregion = us-west-2\n"),
    );
    w.ok(w.kctx().args(["login", "--profile", "old"]));
    // sha1 of the start URL
    let name = w.python(
        "import hashlib,sys\nprint(hashlib.sha1(sys.argv[1].encode()).hexdigest())",
        &[START_URL],
    );
    let raw = std::fs::read_to_string(
        w.h.path()
            .join(".aws/sso/cache")
            .join(format!("{}.json", name.trim())),
    )
    .unwrap();
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&raw)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["startUrl", "region", "accessToken", "expiresAt"]);
    // botocore's legacy provider reads it
    w.reset_calls();
    let ak = w.python(
        "import boto3\nprint(boto3.Session(profile_name='old').get_credentials().get_frozen_credentials().access_key)",
        &[],
    );
    assert_eq!(ak.trim(), "AKIAKCTXSSOTEST00001");
    assert_eq!(w.calls(), ["GetRoleCredentials"]);
    let out = w.ok(w
        .kctx()
        .args(["token", "--cluster-name", "a", "--profile", "old"]));
    exec_credential(&out);
}

#[test]
fn logout_signs_out_and_forgets_every_credential_of_the_session() {
    let w = Sso::start(one_account("111111111111"), "111111111111");
    w.ok(w.kctx().args(["login"]));
    w.ok(&mut w.token_cmd("alpha"));
    w.ok(w.kctx().args([
        "token",
        "--cluster-name",
        "beta",
        "--region",
        "us-west-2",
        "--sso-session",
        "corp",
        "--sso-account-id",
        "111111111111",
        "--sso-role-name",
        "ReadOnly",
    ]));
    let listed = w.ok(w.kctx().args(["cache", "list"]));
    assert!(
        listed.contains("sso:corp/111111111111/ReadOnly") && listed.contains("profile:dev"),
        "{listed}"
    );
    // an expired token is renewed first, so that the portal forgets the refresh token too
    w.expire_token();
    w.reset_calls();
    let out = w.ok(w.kctx().args(["logout", "--sso-session", "corp"]));
    assert!(
        out.contains("Signed out of IAM Identity Center session \"corp\""),
        "{out}"
    );
    assert_eq!(w.calls(), ["CreateToken", "Logout"]);
    assert_eq!(
        w.control(json!({}))["errors"],
        json!({}),
        "the portal accepted the Logout"
    );
    assert!(!w.token_path().exists());
    let listed = w.ok(w.kctx().args(["cache", "list"]));
    assert!(
        !listed.contains("ReadOnly")
            && !listed.contains("profile:dev")
            && !listed.contains(" token "),
        "{listed}"
    );
    // nothing signs with the session until the next login
    w.reset_calls();
    for mut c in [w.token_cmd("alpha"), {
        let mut c = w.kctx();
        c.args([
            "token",
            "--cluster-name",
            "beta",
            "--region",
            "us-west-2",
            "--sso-session",
            "corp",
            "--sso-account-id",
            "111111111111",
            "--sso-role-name",
            "ReadOnly",
        ]);
        c
    }] {
        let o = w.run(&mut c);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("is not signed in"), "{}", stderr(&o));
    }
    assert!(w.calls().is_empty());
}

// ---- accounts in moto -------------------------------------------------------------------

/// A moto account of this test alone.
fn account() -> String {
    let n: u64 = unique("a").rsplit('-').next().unwrap().parse().unwrap();
    format!(
        "{:012}",
        600_000_000_000u64 + u64::from(std::process::id()) * 100 + n
    )
}

/// In each account: an IAM user whose keys the portal hands out, and clusters made with them.
/// Returns each account's keys.
fn moto_accounts(spec: &[(&str, &[(&str, &str)])]) -> Vec<Value> {
    let spec: serde_json::Map<String, Value> = spec
        .iter()
        .map(|(a, cs)| (a.to_string(), json!(cs)))
        .collect();
    let out = Command::new("python3")
        .args([
            "-c",
            r#"
import boto3, json, sys
url, spec = sys.argv[1], json.loads(sys.argv[2])
sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
out = []
for acct, clusters in spec.items():
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/admin", RoleSessionName="setup")["Credentials"]
    kw = dict(endpoint_url=url, aws_access_key_id=c["AccessKeyId"],
              aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    iam = boto3.client("iam", region_name="us-east-1", **kw)
    iam.create_user(UserName="sso-portal")
    k = iam.create_access_key(UserName="sso-portal")["AccessKey"]
    out.append({"access_key_id": k["AccessKeyId"], "secret_access_key": k["SecretAccessKey"],
                "session_token": "kctx-sso-session-" + acct})
    for region, name in clusters:
        boto3.client("eks", region_name=region, **kw).create_cluster(
            name=name, roleArn=f"arn:aws:iam::{acct}:role/eks",
            resourcesVpcConfig={"subnetIds": ["subnet-1"]}, version="1.31")
print(json.dumps(out))
"#,
            moto(),
            &Value::Object(spec).to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Deletes a cluster in moto with an account's keys.
fn delete_cluster(keys: &Value, region: &str, name: &str) {
    let o = Command::new("python3")
        .args([
            "-c",
            "import boto3,json,sys\nk=json.loads(sys.argv[2])\nboto3.client('eks',endpoint_url=sys.argv[1],region_name=sys.argv[3],aws_access_key_id=k['access_key_id'],aws_secret_access_key=k['secret_access_key']).delete_cluster(name=sys.argv[4])",
            moto(),
            &keys.to_string(),
            region,
            name,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Three accounts (listed two per page): `dev` with two clusters and two roles, `prod` with a
/// cluster in another region, `sandbox` with none and a role the portal lists but gives no
/// credentials for.
struct Accounts {
    w: Sso,
    dev: String,
    prod: String,
    sandbox: String,
    keys: Vec<Value>,
}

impl Accounts {
    fn new() -> Self {
        let (dev, prod, sandbox) = (account(), account(), account());
        let keys = moto_accounts(&[
            (&dev, &[("us-west-2", "api"), ("us-west-2", "web")]),
            (&prod, &[("us-west-2", "api"), ("eu-west-1", "data")]),
            (&sandbox, &[]),
        ]);
        let cfg = json!({"page_size": 2, "accounts": [
            {"id": dev, "name": "dev", "credentials": keys[0], "roles": ["ReadOnly", "Admin"]},
            {"id": prod, "name": "prod", "credentials": keys[1], "roles": ["ReadOnly"]},
            {"id": sandbox, "name": "sandbox", "credentials": keys[2], "roles": [
                "ReadOnly",
                {"name": "Broken", "forbidden": true}]},
        ]});
        let w = Sso::start(cfg, &dev);
        w.ok(w.kctx().args(["login"]));
        Self {
            w,
            dev,
            prod,
            sandbox,
            keys,
        }
    }

    fn kctx(&self) -> Command {
        let mut c = self.w.kctx();
        c.env("AWS_ENDPOINT_URL_EKS", moto())
            .env("AWS_ENDPOINT_URL_STS", moto())
            .env("KUBECONFIG", self.w.h.path().join(".kube/config"));
        c
    }
}

const REGIONS: [&str; 4] = ["--region", "us-west-2", "--region", "eu-west-1"];

#[test]
fn discover_searches_every_account_and_role_the_session_sees() {
    let a = Accounts::new();
    let w = &a.w;
    w.reset_calls();
    let o = w.run(
        a.kctx()
            .args(["discover", "--sso-session", "corp"])
            .args(REGIONS),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "the forbidden role makes the exit code say so"
    );
    let rows: Vec<Vec<String>> = stdout(&o)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    let (dev, prod) = (a.dev.as_str(), a.prod.as_str());
    assert_eq!(
        rows,
        [
            vec![
                "NAME",
                "REGION",
                "ACCOUNT",
                "ACCOUNT-NAME",
                "ROLES",
                "STATUS",
                "VERSION",
                "CONTEXT"
            ],
            vec![
                "api",
                "us-west-2",
                dev,
                "dev",
                "Admin,ReadOnly",
                "ACTIVE",
                "1.31",
                "-"
            ],
            vec![
                "web",
                "us-west-2",
                dev,
                "dev",
                "Admin,ReadOnly",
                "ACTIVE",
                "1.31",
                "-"
            ],
            vec![
                "data",
                "eu-west-1",
                prod,
                "prod",
                "ReadOnly",
                "ACTIVE",
                "1.31",
                "-"
            ],
            vec![
                "api",
                "us-west-2",
                prod,
                "prod",
                "ReadOnly",
                "ACTIVE",
                "1.31",
                "-"
            ],
        ]
    );
    // the forbidden role: one line, nothing more
    let e = stderr(&o);
    assert_eq!(
        e,
        format!("kctx: error: account {} (sandbox), role Broken: sso:GetRoleCredentials: ForbiddenException: No access\n", a.sandbox)
    );
    let calls = w.calls();
    let count = |op: &str| calls.iter().filter(|c| *c == op).count();
    assert_eq!(count("ListAccounts"), 2, "three accounts, two per page");
    assert_eq!(count("ListAccountRoles"), 3);
    assert_eq!(count("GetRoleCredentials"), 5);
    // JSON: once per cluster, with its account and roles; one role only
    let o = w.run(
        a.kctx()
            .args([
                "discover",
                "--sso-session",
                "corp",
                "--sso-role-name",
                "Admin",
                "-o",
                "json",
            ])
            .args(REGIONS),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["sso_session"], "corp");
    assert_eq!(j["accounts"], 3);
    let clusters = j["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2);
    assert_eq!(clusters[0]["account"], dev);
    assert_eq!(clusters[0]["roles"], json!(["Admin"]));
    assert_eq!(
        clusters[0]["arn"],
        format!("arn:aws:eks:us-west-2:{dev}:cluster/api")
    );
    // names only, and an account filter
    let out = w.ok(a
        .kctx()
        .args([
            "discover",
            "--sso-session",
            "corp",
            "--sso-account-id",
            prod,
            "-o",
            "name",
        ])
        .args(REGIONS));
    assert_eq!(out, "api\ndata\n");
}

#[test]
fn add_all_writes_a_context_per_cluster_that_signs_through_the_session_and_prunes() {
    let a = Accounts::new();
    let w = &a.w;
    // without a role it says which roles there are
    let o = w.run(
        a.kctx()
            .args(["add", "--all", "--sso-session", "corp"])
            .args(REGIONS),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("needs --sso-role-name ROLE")
            && stderr(&o).contains("Admin (1 account), Broken (1 account), ReadOnly (3 accounts)"),
        "{}",
        stderr(&o)
    );
    let out = w.ok(a
        .kctx()
        .args([
            "add",
            "--all",
            "--sso-session",
            "corp",
            "--sso-role-name",
            "ReadOnly",
        ])
        .args(REGIONS));
    assert!(out.contains("4 added"), "{out}");
    let kc = w.h.path().join(".kube/config");
    let view = kubectl_view(&w.h, kc.to_str().unwrap());
    let contexts = view["contexts"].as_array().unwrap();
    assert_eq!(contexts.len(), 4);
    let dev_api = format!("arn:aws:eks:us-west-2:{}:cluster/api", a.dev);
    let user = view["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == dev_api)
        .unwrap();
    let exec = &user["user"]["exec"];
    assert_eq!(
        exec["args"],
        json!([
            "token",
            "--cluster-name",
            "api",
            "--region",
            "us-west-2",
            "--sso-session",
            "corp",
            "--sso-account-id",
            a.dev,
            "--sso-role-name",
            "ReadOnly"
        ])
    );
    assert!(exec["env"].is_null(), "no AWS_PROFILE: {exec}");
    let ctx = contexts
        .iter()
        .find(|c| c["context"]["cluster"] == dev_api)
        .unwrap();
    assert_eq!(ctx["name"], format!("api.us-west-2.{}", a.dev));
    assert_eq!(
        ctx["context"]["extensions"][0]["extension"],
        json!({"sso_session": "corp", "sso_role_name": "ReadOnly"})
    );
    // the exec entry works as written: the token is signed with the dev account's keys
    let args: Vec<String> = exec["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let cred = w.ok(w.kctx().args(&args));
    let (_, _, tok) = exec_credential(&cred);
    let dev_key = a.keys[0]["access_key_id"].as_str().unwrap();
    assert!(token_url(&tok).contains(&format!("X-Amz-Credential={dev_key}%2F")));
    // whoami names the session, account, role and the token's expiry
    let who = w.ok(a.kctx().args([
        "whoami",
        "--no-cluster",
        "--context",
        ctx["name"].as_str().unwrap(),
    ]));
    assert!(
        who.contains(&format!(
            "sso:        session corp ({START_URL}), account {}, role ReadOnly",
            a.dev
        )) && who.contains("sso token:  valid (expires at 20")
            && who.contains(&format!(
                "caller:     arn:aws:iam::{}:user/sso-portal",
                a.dev
            )),
        "{who}"
    );
    // a rerun changes nothing; a cluster gone is pruned (in the account and region searched)
    let out = w.ok(a
        .kctx()
        .args([
            "add",
            "--all",
            "--sso-session",
            "corp",
            "--sso-role-name",
            "ReadOnly",
        ])
        .args(REGIONS));
    assert!(out.contains("0 added, 0 updated, 4 unchanged"), "{out}");
    delete_cluster(&a.keys[1], "eu-west-1", "data");
    let out = w.ok(a
        .kctx()
        .args([
            "add",
            "--all",
            "--prune",
            "--sso-session",
            "corp",
            "--sso-role-name",
            "ReadOnly",
        ])
        .args(REGIONS));
    assert!(
        out.contains("1 pruned")
            && out
                .lines()
                .any(|l| l.starts_with("pruned ") && l.contains(" data ")),
        "{out}"
    );
    // searched in us-west-2 only, nothing in eu-west-1 is pruned (nor anything else)
    let out = w.ok(a.kctx().args([
        "add",
        "--all",
        "--prune",
        "--sso-session",
        "corp",
        "--sso-role-name",
        "ReadOnly",
        "--region",
        "us-west-2",
    ]));
    assert!(out.contains("0 pruned"), "{out}");
}

/// A profile that assumes a role with a source profile that signs in through the session: kctx
/// renews (or asks for) the session's token first; the SDK's chain then does the rest.
#[test]
fn an_assumed_role_whose_source_profile_signs_in_through_the_session() {
    let w = Sso::start(one_account("111111111111"), "111111111111");
    let role = "arn:aws:iam::123456789012:role/kctx-sso-chained";
    w.h.write(
        ".aws/config",
        &session_config(&format!(
            "[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\nregion = us-west-2\n[profile chained]\nrole_arn = {role}\nsource_profile = dev\nregion = us-west-2\n"
        )),
    );
    w.ok(w.kctx().args(["login", "--profile", "chained"]));
    w.expire_token();
    w.reset_calls();
    let mut c = w.kctx();
    c.env("AWS_ENDPOINT_URL_STS", moto()).args([
        "token",
        "--cluster-name",
        "alpha",
        "--profile",
        "chained",
    ]);
    let out = w.ok(&mut c);
    exec_credential(&out);
    assert_eq!(
        w.calls(),
        ["CreateToken", "GetRoleCredentials"],
        "kctx renewed, the SDK signed"
    );
    assert!(
        !moto_assumed(role).is_empty(),
        "the role was assumed in moto"
    );
    // revoked, not interactive: one line naming the profile and the session's login
    w.expire_token();
    w.control(json!({"revoke_refresh_tokens": true}));
    let mut c = w.kctx();
    c.env("AWS_ENDPOINT_URL_STS", moto()).args([
        "token",
        "--cluster-name",
        "beta",
        "--profile",
        "chained",
    ]);
    let o = w.run(&mut c);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        is_one_line(&e)
            && e.contains("profile \"chained\": IAM Identity Center session \"corp\" has expired")
            && e.contains("run `kctx login --sso-session corp`"),
        "{e}"
    );
}
