//! Credential exec plugins (client-go's `exec` user entries), run by kctx itself rather than
//! by kube-rs: once per command (kube-rs runs one up to three times while building a client),
//! bounded by the request timeout (a plugin that stalls, or waits for a terminal that
//! completion hides, cannot hang kctx), and with errors in one line.
//!
//! The protocol, as client-go implements it: `KUBERNETES_EXEC_INFO` holds an ExecCredential
//! (`spec.interactive`, and `spec.cluster` when `provideClusterInfo` is set); the plugin's
//! stderr is the user's; stdin is the terminal only when interactive; stdout is an
//! ExecCredential whose `status` has a `token`, or `clientCertificateData` and
//! `clientKeyData` (PEM).

use std::io::{IsTerminal, Read};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use base64::Engine as _;
use serde_json::{json, Map, Value};

static NEVER_INTERACTIVE: AtomicBool = AtomicBool::new(false);

/// For shell completion: plugins get no terminal (a prompt would freeze the shell's line).
pub fn never_interactive() {
    NEVER_INTERACTIVE.store(true, Ordering::SeqCst);
}

/// What a plugin gave: the user fields to use instead of `exec`.
pub type Credential = Map<String, Value>;

/// Runs the plugin of `exec` (a kubeconfig `user.exec`) for a context whose cluster entry is
/// `cluster`; `who` names it in errors ("user U of context C").
pub fn run(
    exec: &Map<String, Value>,
    cluster: &Map<String, Value>,
    who: &str,
    limit: Duration,
) -> Result<Credential> {
    let command = exec
        .get("command")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| anyhow!("{who}: its exec entry has no command"))?;
    let api_version = exec
        .get("apiVersion")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| anyhow!("{who}: its exec entry has no apiVersion (client.authentication.k8s.io/v1 or v1beta1)"))?;
    let mode = exec
        .get("interactiveMode")
        .and_then(Value::as_str)
        .unwrap_or("IfAvailable");
    let terminal = std::io::stdin().is_terminal() && !NEVER_INTERACTIVE.load(Ordering::SeqCst);
    let interactive = match mode {
        "Never" => false,
        "Always" if !terminal => {
            bail!("{who}: its exec plugin `{command}` needs a terminal (interactiveMode: Always)")
        }
        _ => terminal,
    };
    let mut spec = json!({ "interactive": interactive });
    if exec.get("provideClusterInfo").and_then(Value::as_bool) == Some(true) {
        let mut c = Map::new();
        for (from, to) in [
            ("server", "server"),
            ("tls-server-name", "tls-server-name"),
            ("insecure-skip-tls-verify", "insecure-skip-tls-verify"),
            ("certificate-authority-data", "certificate-authority-data"),
            ("proxy-url", "proxy-url"),
        ] {
            if let Some(v) = cluster.get(from) {
                c.insert(to.into(), v.clone());
            }
        }
        // `extensions[client.authentication.k8s.io/exec]` becomes `config`
        if let Some(cfg) = cluster
            .get("extensions")
            .and_then(Value::as_array)
            .and_then(|l| {
                l.iter().find(|e| {
                    e.get("name").and_then(Value::as_str)
                        == Some("client.authentication.k8s.io/exec")
                })
            })
            .and_then(|e| e.get("extension"))
        {
            c.insert("config".into(), cfg.clone());
        }
        spec["cluster"] = Value::Object(c);
    }
    let info = json!({"apiVersion": api_version, "kind": "ExecCredential", "spec": spec});
    let mut cmd = Command::new(command);
    cmd.args(
        exec.get("args")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str),
    );
    for e in exec
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(k), Some(v)) = (
            e.get("name").and_then(Value::as_str),
            e.get("value").and_then(Value::as_str),
        ) {
            cmd.env(k, v);
        }
    }
    cmd.env("KUBERNETES_EXEC_INFO", info.to_string())
        .stdin(if interactive {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if !interactive {
        // its own process group, so that a stalled plugin goes with everything it started
        // (an interactive one stays in the terminal's foreground group, to read from it)
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let hint = exec
                .get("installHint")
                .and_then(Value::as_str)
                .map(|h| format!(" ({})", crate::report::one_line(h)))
                .unwrap_or_default();
            bail!("{who}: its exec plugin `{command}` is not installed (not found){hint}")
        }
        Err(e) => bail!("{who}: cannot run its exec plugin `{command}`: {e}"),
    };
    // stdout read on a thread (a plugin may write more than a pipe holds before exiting)
    let mut out = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    // an interactive plugin may wait for a person (an MFA code): two minutes at least then
    let limit = if interactive {
        limit.max(Duration::from_secs(120))
    } else {
        limit
    };
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() >= deadline {
            if !interactive {
                // SAFETY: signalling the process group this function created.
                unsafe {
                    libc::kill(-(child.id() as i32), libc::SIGKILL);
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{who}: its exec plugin `{command}` gave no credential within {} (--request-timeout changes the limit)",
                super::humantime(limit)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = reader.join().unwrap_or_default();
    if !status.success() {
        bail!("{who}: its exec plugin `{command}` failed ({status}); its own messages, if any, are above");
    }
    let v: Value = serde_json::from_slice(&stdout).map_err(|e| {
        anyhow!("{who}: its exec plugin `{command}` did not print an ExecCredential: {e}")
    })?;
    let st = v
        .get("status")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let s = |k: &str| st.get(k).and_then(Value::as_str).filter(|x| !x.is_empty());
    let mut cred = Map::new();
    if let Some(t) = s("token") {
        cred.insert("token".into(), t.into());
    }
    if let (Some(c), Some(k)) = (s("clientCertificateData"), s("clientKeyData")) {
        // PEM in the plugin's answer; base64 of the PEM in a kubeconfig
        let b64 = base64::engine::general_purpose::STANDARD;
        cred.insert("client-certificate-data".into(), b64.encode(c).into());
        cred.insert("client-key-data".into(), b64.encode(k).into());
    }
    if cred.is_empty() {
        bail!("{who}: its exec plugin `{command}` printed an ExecCredential with neither a token nor a client certificate and key");
    }
    Ok(cred)
}
