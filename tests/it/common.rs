//! Shared helpers for the end-to-end tests: an isolated user, the kctx binary, a local
//! `moto_server`, and a TLS API server that authenticates EKS tokens.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const AK: &str = "AKIDEXAMPLE";
pub const SK: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// The binary under test; `KCTX_TEST_BIN` points the tests at another build (e.g. an older
/// release, to show that a test catches the defect it is about).
pub fn kctx_bin() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("KCTX_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_kctx").to_owned())
    })
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh HOME with nothing in it: no AWS files, no kubeconfig, no cache.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    /// A command with a clean environment: only PATH, HOME, and metadata turned off so that
    /// a test never waits on instance metadata unless it sets it up itself.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("LANG", "C.UTF-8")
            .current_dir(self.path())
            .stdin(Stdio::null());
        c
    }

    pub fn kctx(&self) -> Command {
        self.cmd(kctx_bin())
    }

    /// kctx with static environment keys and a region.
    pub fn kctx_env_keys(&self) -> Command {
        let mut c = self.kctx();
        c.env("AWS_ACCESS_KEY_ID", AK)
            .env("AWS_SECRET_ACCESS_KEY", SK)
            .env("AWS_REGION", "us-west-2");
        c
    }
}

pub fn run(c: &mut Command) -> Output {
    c.output().expect("spawn")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and expects success; returns stdout.
pub fn ok(c: &mut Command) -> String {
    let o = run(c);
    assert!(
        o.status.success(),
        "command failed: {:?}\nstdout: {}\nstderr: {}",
        c,
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child that is killed when the test process goes away: it reads its stdin, which is a
/// pipe held by this process, and exits when that closes.
pub struct Guarded {
    pub child: Child,
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a test server that prints its port on its first line and lives until its stdin
/// (held by the returned guard) closes.
pub fn spawn_server(cmd: &mut Command) -> (Guarded, u16) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn test server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the server prints its port");
    (Guarded { child }, port)
}

fn wait_http(url: &str) {
    let start = Instant::now();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    while start.elapsed() < Duration::from_secs(30) {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{url} did not come up");
}

/// The URL of a local moto_server: `KCTX_TEST_MOTO_URL` when the test script started one,
/// else one started here for this test binary (stopped when the binary exits).
pub fn moto() -> &'static str {
    static MOTO: OnceLock<(String, Option<Guarded>)> = OnceLock::new();
    &MOTO
        .get_or_init(|| {
            if let Ok(u) = std::env::var("KCTX_TEST_MOTO_URL") {
                wait_http(&u);
                return (u, None);
            }
            let port = free_port();
            let child = Command::new("python3")
                .args([
                    "-c",
                    "import subprocess,sys\n\
                     p=subprocess.Popen(['moto_server','-H','127.0.0.1','-p',sys.argv[1]],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\n\
                     sys.stdin.read()\np.terminate()",
                    &port.to_string(),
                ])
                .stdin(Stdio::piped())
                .spawn()
                .expect("moto_server (pip install 'moto[server]')");
            let url = format!("http://127.0.0.1:{port}");
            wait_http(&url);
            // keep the guard alive for the whole process: never dropped from a static
            let g = Guarded { child };
            (url, Some(g))
        })
        .0
}

/// moto's recorded state (`/moto-api/data.json`).
pub fn moto_data() -> serde_json::Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys,urllib.request;sys.stdout.write(urllib.request.urlopen(sys.argv[1]+'/moto-api/data.json').read().decode())",
            moto(),
        ])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).expect("moto data.json")
}

/// The assumed-role sessions moto has recorded for one role ARN.
pub fn moto_assumed(role_arn: &str) -> Vec<serde_json::Value> {
    moto_data()["sts"]["AssumedRole"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["role_arn"] == role_arn)
        .collect()
}

/// Decodes a token to its presigned URL.
pub fn token_url(token: &str) -> String {
    use base64::Engine;
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.strip_prefix("k8s-aws-v1.").expect("prefix"))
        .unwrap();
    String::from_utf8(b).unwrap()
}

/// Parses an ExecCredential document and returns (apiVersion, expirationTimestamp, token).
pub fn exec_credential(out: &str) -> (String, String, String) {
    let v: serde_json::Value = serde_json::from_str(out).expect("one JSON document");
    assert_eq!(v["kind"], "ExecCredential");
    assert_eq!(v["spec"], serde_json::json!({}));
    (
        v["apiVersion"].as_str().unwrap().into(),
        v["status"]["expirationTimestamp"].as_str().unwrap().into(),
        v["status"]["token"].as_str().unwrap().into(),
    )
}

/// A self-signed certificate for 127.0.0.1, made with openssl: (cert, key, cert PEM).
pub fn make_cert(dir: &Path) -> (PathBuf, PathBuf, String) {
    make_cert_san(dir, "IP:127.0.0.1,DNS:localhost")
}

fn openssl(args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A CA and a server certificate it signed, with the given subjectAltName (as EKS has: a
/// cluster CA and a serving certificate): (server cert, server key, CA cert PEM).
pub fn make_cert_san(dir: &Path, san: &str) -> (PathBuf, PathBuf, String) {
    let p = |n: &str| dir.join(n).display().to_string();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=kctx-test-ca"];
    ca.extend(ec);
    let (ca_key, ca_crt) = (p("ca.key"), p("ca.crt"));
    ca.extend([
        "-keyout",
        &ca_key,
        "-out",
        &ca_crt,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
    ]);
    openssl(&ca);
    let (key, csr, crt, ext) = (
        p("server.key"),
        p("server.csr"),
        p("server.crt"),
        p("server.ext"),
    );
    let mut req = vec!["req", "-new", "-subj", "/CN=kctx-test-apiserver"];
    req.extend(ec);
    req.extend(["-keyout", &key, "-out", &csr]);
    openssl(&req);
    std::fs::write(
        &ext,
        format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca_crt,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        &crt,
        "-extfile",
        &ext,
    ]);
    let pem = std::fs::read_to_string(&ca_crt).unwrap();
    (PathBuf::from(crt), PathBuf::from(key), pem)
}

/// The EKS-like TLS API server (tests/support/fake_apiserver.py) for `cluster`, trusting
/// the given access keys.
pub struct ApiServer {
    pub url: String,
    pub ca_pem: String,
    pub log: PathBuf,
    _guard: Guarded,
}

/// Options of the test API server beyond the EKS token check.
#[derive(Default, Clone)]
pub struct ServerOpts {
    /// caller key (access key id, `token:<t>`, `cn:<name>`) → user info JSON
    pub identities: Vec<(String, serde_json::Value)>,
    /// namespaces served (default: default, kube-node-lease, kube-public, kube-system)
    pub namespaces: Option<Vec<String>>,
    /// a CA whose client certificates are accepted
    pub client_ca: Option<PathBuf>,
    /// only SelfSubjectReview v1beta1 (a cluster older than 1.28)
    pub old: bool,
    /// no SelfSubjectReview at all (a cluster older than 1.27)
    pub no_self_review: bool,
    /// the aws-auth ConfigMap (JSON) served from kube-system
    pub aws_auth: Option<serde_json::Value>,
    /// the server certificate's subjectAltName (default IP:127.0.0.1,DNS:localhost)
    pub san: Option<String>,
}

impl ApiServer {
    pub fn start(dir: &Path, cluster: &str, secrets: &[(&str, &str)]) -> Self {
        Self::start_with(dir, cluster, secrets, ServerOpts::default())
    }

    pub fn start_with(
        dir: &Path,
        cluster: &str,
        secrets: &[(&str, &str)],
        opts: ServerOpts,
    ) -> Self {
        let (cert, key, ca_pem) = match &opts.san {
            Some(san) => make_cert_san(dir, san),
            None => make_cert(dir),
        };
        let log = dir.join(format!("apiserver-{cluster}.log"));
        let sfile = dir.join(format!("secrets-{cluster}.json"));
        let map: serde_json::Map<String, serde_json::Value> = secrets
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        std::fs::write(&sfile, serde_json::to_string(&map).unwrap()).unwrap();
        let idfile = dir.join(format!("identities-{cluster}.json"));
        let ids: serde_json::Map<String, serde_json::Value> =
            opts.identities.iter().cloned().collect();
        std::fs::write(&idfile, serde_json::to_string(&ids).unwrap()).unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(repo().join("tests/support/fake_apiserver.py"))
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .args(["--cluster", cluster])
            .arg("--secrets")
            .arg(&sfile)
            .arg("--log")
            .arg(&log)
            .arg("--identities")
            .arg(&idfile);
        if let Some(ns) = &opts.namespaces {
            cmd.arg("--namespaces").arg(ns.join(","));
        }
        if let Some(ca) = &opts.client_ca {
            cmd.arg("--client-ca").arg(ca);
        }
        if opts.old {
            cmd.arg("--old");
        }
        if opts.no_self_review {
            cmd.arg("--no-self-review");
        }
        if let Some(cm) = &opts.aws_auth {
            let f = dir.join(format!("aws-auth-{cluster}.json"));
            std::fs::write(&f, cm.to_string()).unwrap();
            cmd.arg("--aws-auth").arg(&f);
        }
        let (guard, port) = spawn_server(&mut cmd);
        Self {
            url: format!("https://127.0.0.1:{port}"),
            ca_pem,
            log,
            _guard: guard,
        }
    }

    /// Every request logged: (ok, why, token).
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn ca_data(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)
    }
}

/// A kubeconfig whose user execs kctx for `cluster` with `args`.
pub fn exec_kubeconfig(
    server: &ApiServer,
    api_version: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> String {
    let args_yaml: String = args
        .iter()
        .map(|a| format!("      - {}\n", serde_json::to_string(a).unwrap()))
        .collect();
    let env_yaml: String = if env.is_empty() {
        String::new()
    } else {
        let mut s = "      env:\n".to_string();
        for (k, v) in env {
            s.push_str(&format!(
                "      - name: {k}\n        value: {}\n",
                serde_json::to_string(v).unwrap()
            ));
        }
        s
    };
    let interactive = if api_version.ends_with("/v1") {
        "      interactiveMode: Never\n"
    } else {
        ""
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\ncurrent-context: test\nusers:\n- name: test\n  user:\n    exec:\n      apiVersion: {api_version}\n      command: {}\n      args:\n{args_yaml}{env_yaml}{interactive}",
        server.url,
        server.ca_data(),
        kctx_bin(),
    )
}

/// Creates an EKS cluster in moto (through the AWS CLI) and returns its ARN.
pub fn create_cluster(name: &str, region: &str) -> String {
    let h = Home::new();
    let out = ok(h
        .cmd("aws")
        .env("AWS_ACCESS_KEY_ID", AK)
        .env("AWS_SECRET_ACCESS_KEY", SK)
        .env("AWS_DEFAULT_REGION", region)
        .env("AWS_ENDPOINT_URL_EKS", moto())
        .args(["eks", "create-cluster", "--name", name])
        .args(["--role-arn", "arn:aws:iam::123456789012:role/eks-service"])
        .args(["--resources-vpc-config", "subnetIds=subnet-0a1b2c3d"])
        .args(["--query", "cluster.arn", "--output", "text"]));
    out.trim().to_owned()
}

/// A unique cluster name for this test process.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

impl Home {
    /// The environment both kctx and the AWS CLI get to talk to moto's EKS.
    pub fn with_moto(&self, c: &mut Command) {
        c.env("AWS_ACCESS_KEY_ID", AK)
            .env("AWS_SECRET_ACCESS_KEY", SK)
            .env("AWS_DEFAULT_REGION", "us-west-2")
            .env("AWS_ENDPOINT_URL_EKS", moto())
            .env("AWS_ENDPOINT_URL_STS", moto());
    }

    pub fn kctx_moto(&self) -> Command {
        let mut c = self.kctx();
        self.with_moto(&mut c);
        c
    }

    pub fn aws_moto(&self) -> Command {
        let mut c = self.cmd("aws");
        self.with_moto(&mut c);
        c
    }
}

/// Parses YAML the way kctx does (ordered generic tree).
pub fn yaml(path: &Path) -> serde_json::Value {
    kctx::KubeFile::load(path).unwrap().to_json().unwrap()
}

/// What kubectl itself reads from a kubeconfig: `kubectl config view --raw -o json`.
pub fn kubectl_view(h: &Home, kubeconfig: &str) -> serde_json::Value {
    let out = ok(h
        .cmd("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(["config", "view", "--raw", "-o", "json"]));
    serde_json::from_str(&out).unwrap()
}

/// The EKS access-entry test double (tests/support/fake_eks.py) with the given state.
pub struct FakeEks {
    pub url: String,
    _guard: Guarded,
}

impl FakeEks {
    pub fn start(dir: &Path, state: &serde_json::Value) -> Self {
        let f = dir.join(format!("eks-state-{}.json", free_port()));
        std::fs::write(&f, state.to_string()).unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(repo().join("tests/support/fake_eks.py"))
            .arg("--state")
            .arg(&f);
        let (guard, port) = spawn_server(&mut cmd);
        Self {
            url: format!("http://127.0.0.1:{port}"),
            _guard: guard,
        }
    }

    pub fn state(&self) -> serde_json::Value {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sys,urllib.request;sys.stdout.write(urllib.request.urlopen(sys.argv[1]+'/_state').read().decode())",
                &self.url,
            ])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn calls(&self) -> Vec<String> {
        self.state()["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    }
}

/// A PATH whose first directory holds a `kctx` symlink to the binary under test.
pub fn path_with_kctx(h: &Home) -> String {
    let bin = h.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let _ = std::os::unix::fs::symlink(kctx_bin(), bin.join("kctx"));
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

/// A kubeconfig with `n` EKS contexts in `aws eks update-kubeconfig`'s own layout (the same
/// shape as scripts/gen_kubeconfig.py), current-context on the first. `extra_*` are YAML list
/// items (already indented as `- …`) appended to each list.
pub fn eks_kubeconfig(
    n: usize,
    extra_clusters: &str,
    extra_contexts: &str,
    extra_users: &str,
    current: Option<&str>,
) -> String {
    let ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM".repeat(8);
    let arn = |i: usize| format!("arn:aws:eks:us-west-2:123456789012:cluster/filler-{i:05}");
    let mut s = String::with_capacity(n * 1100);
    s.push_str("apiVersion: v1\nclusters:\n");
    for i in 0..n {
        s.push_str(&format!("- cluster:\n    certificate-authority-data: {ca}\n    server: https://{i:05X}A1B2C3D4E5F6.gr7.us-west-2.eks.amazonaws.com\n  name: {}\n", arn(i)));
    }
    s.push_str(extra_clusters);
    s.push_str("contexts:\n");
    for i in 0..n {
        s.push_str(&format!(
            "- context:\n    cluster: {0}\n    user: {0}\n  name: {0}\n",
            arn(i)
        ));
    }
    s.push_str(extra_contexts);
    let cc = current
        .map(str::to_owned)
        .unwrap_or_else(|| if n > 0 { arn(0) } else { String::new() });
    s.push_str(&format!(
        "current-context: {cc}\nkind: Config\npreferences: {{}}\nusers:\n"
    ));
    for i in 0..n {
        s.push_str(&format!("- name: {}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      args:\n      - --region\n      - us-west-2\n      - eks\n      - get-token\n      - --cluster-name\n      - filler-{i:05}\n      - --output\n      - json\n      command: aws\n", arn(i)));
    }
    s.push_str(extra_users);
    s
}

/// The merged view of kubeconfig files as kctx's model reads them.
pub fn merged(paths: &[PathBuf]) -> kctx::Merged {
    kctx::Merged::load_paths(paths)
}

/// An interactive shell in a detached tmux session of its own (a private server socket), for
/// typing as a user would and reading the screen.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `shell` (with `args`) in an 200x50 window, with the given environment.
    pub fn start(h: &Home, shell: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let socket = format!("kctx-test-{}", unique("tmux"));
        let mut c = Command::new("tmux");
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", h.path())
            .env("TERM", "xterm-256color")
            .env("LANG", "C.UTF-8")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
            ]);
        // the variables go through env(1): tmux does not pass PATH with `-e`
        c.args(["--", "env"]);
        for (k, v) in env {
            c.arg(format!("{k}={v}"));
        }
        c.arg(shell).args(args);
        let o = c.output().expect("tmux (apt-get install tmux)");
        assert!(
            o.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let t = Self { socket };
        std::thread::sleep(Duration::from_millis(300));
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }

    /// Types text literally (no key names).
    pub fn type_text(&self, s: &str) {
        self.tmux(&["send-keys", "-l", s]);
    }

    /// Sends tmux key names (`Tab`, `Enter`, `C-c`, `Escape`).
    pub fn keys(&self, keys: &[&str]) {
        let mut a = vec!["send-keys"];
        a.extend_from_slice(keys);
        self.tmux(&a);
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-J"]).stdout).into_owned()
    }

    /// Waits until the screen contains `want` (up to 10 s); returns the screen.
    pub fn wait_for(&self, want: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(want) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!("timed out waiting for {want:?}; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clears the command line and the screen.
    pub fn reset(&self) {
        self.keys(&["C-u"]);
        self.keys(&["C-l"]);
        std::thread::sleep(Duration::from_millis(150));
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Makes `python3` run `argv` in a pseudo-terminal (`tests/support/pty_drive.py`): it waits
/// `first_wait` seconds, types `keys` one byte at a time, waits `last_wait` seconds, then prints
/// what the terminal showed and exits with the program's code. Set the environment on `python3`.
pub fn in_terminal<'a>(
    python3: &'a mut Command,
    keys: &[u8],
    first_wait: f64,
    last_wait: f64,
    argv: &[&str],
) -> &'a mut Command {
    let hex: String = keys.iter().map(|b| format!("{b:02x}")).collect();
    python3
        .arg(repo().join("tests/support/pty_drive.py"))
        .arg(hex)
        .arg(first_wait.to_string())
        .arg(last_wait.to_string())
        .args(argv)
}
