//! Credential exec plugins (client-go's `exec` user entries), run by kctx itself rather than
//! by kube-rs: once per command (kube-rs runs one up to three times while building a client),
//! bounded in time and output (a plugin that stalls, waits for a terminal that completion
//! hides, leaves a child holding its stdout, or prints without end cannot hang kctx or fill
//! its memory), and with errors in one line.
//!
//! The protocol, as client-go implements it (`plugin/pkg/client/auth/exec`):
//! `KUBERNETES_EXEC_INFO` holds an ExecCredential (`spec.interactive`, and `spec.cluster`
//! when `provideClusterInfo` is set); the plugin's stderr is the user's; stdin is the terminal
//! only when interactive; stdout is an ExecCredential whose `status` has a `token`, or
//! `clientCertificateData` and `clientKeyData` (PEM).
//!
//! The steps: [`Request::from_entry`] (what to run, decided from the kubeconfig entry alone),
//! [`Request::run`] (the process, bounded), [`credential`] (what it printed).

use std::io::IsTerminal;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use base64::Engine as _;
use serde_json::{json, Map, Value};

static NEVER_INTERACTIVE: AtomicBool = AtomicBool::new(false);

/// For shell completion: plugins get no terminal (a prompt would freeze the shell's line).
pub(crate) fn never_interactive() {
    NEVER_INTERACTIVE.store(true, Ordering::SeqCst);
    // nor does an IAM Identity Center sign-in start
    crate::aws::sso::set_login_mode(crate::aws::sso::LoginMode::Never);
}

/// What a plugin gave: the user fields to use instead of `exec`.
pub(crate) type Credential = Map<String, Value>;

/// An ExecCredential is a few KiB (a client certificate and key at most); more is not one.
pub(crate) const MAX_STDOUT: usize = 1 << 20;
/// What a non-interactive plugin may print on stderr before the rest is dropped.
pub(crate) const MAX_STDERR: usize = 64 << 10;

/// One plugin run, decided from the exec entry and the cluster entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    pub(crate) command: String,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    /// `KUBERNETES_EXEC_INFO`.
    pub(crate) exec_info: Value,
    pub(crate) interactive: bool,
    install_hint: Option<String>,
}

impl Request {
    /// What client-go would run for `exec` (a kubeconfig `user.exec`) of a context whose
    /// cluster entry is `cluster`; `terminal` says whether stdin is a terminal kctx may hand
    /// over. `who` names the user in errors.
    pub(crate) fn from_entry(
        exec: &Map<String, Value>,
        cluster: &Map<String, Value>,
        terminal: bool,
        who: &str,
    ) -> Result<Self> {
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
        let interactive = match mode {
            "Never" => false,
            "Always" if !terminal => {
                bail!(
                    "{who}: its exec plugin `{command}` needs a terminal (interactiveMode: Always)"
                )
            }
            _ => terminal,
        };
        let mut spec = json!({ "interactive": interactive });
        if exec.get("provideClusterInfo").and_then(Value::as_bool) == Some(true) {
            spec["cluster"] = Value::Object(cluster_info(cluster));
        }
        let strings = |key: &str| -> Vec<&Value> {
            exec.get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default()
        };
        Ok(Self {
            command: command.to_owned(),
            args: strings("args")
                .into_iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            env: strings("env")
                .into_iter()
                .filter_map(|e| {
                    Some((
                        e.get("name")?.as_str()?.to_owned(),
                        e.get("value")?.as_str()?.to_owned(),
                    ))
                })
                .collect(),
            exec_info: json!({"apiVersion": api_version, "kind": "ExecCredential", "spec": spec}),
            interactive,
            install_hint: exec
                .get("installHint")
                .and_then(Value::as_str)
                .map(crate::report::one_line)
                .filter(|h| !h.is_empty()),
        })
    }

    /// Runs the plugin and returns its stdout. Bounded ([`crate::process`]): after `limit`
    /// (two minutes at least for an interactive plugin, which may wait for a person) its
    /// whole process group is killed — also children that keep its stdout open after it
    /// exited; stdout beyond [`MAX_STDOUT`] is refused, stderr beyond [`MAX_STDERR`] dropped.
    pub(crate) fn run(&self, who: &str, limit: Duration) -> Result<Vec<u8>> {
        use crate::process::{self, Failure, Limits, Stderr};
        let command = &self.command;
        let mut cmd = Command::new(command);
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("KUBERNETES_EXEC_INFO", self.exec_info.to_string());
        let limits = if self.interactive {
            Limits {
                time: limit.max(Duration::from_secs(120)),
                stdout: MAX_STDOUT,
                stderr: Stderr::Terminal,
            }
        } else {
            Limits {
                time: limit,
                stdout: MAX_STDOUT,
                stderr: Stderr::Forward(MAX_STDERR),
            }
        };
        let done = match process::run(cmd, limits) {
            Ok(d) => d,
            Err(Failure::NotFound) => {
                let hint = self
                    .install_hint
                    .as_ref()
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                bail!("{who}: its exec plugin `{command}` is not installed (not found){hint}")
            }
            Err(Failure::Spawn(e)) => bail!("{who}: cannot run its exec plugin `{command}`: {e}"),
            Err(Failure::TimedOut { exited }) => bail!(
                "{who}: its exec plugin `{command}` gave no credential within {}{} (--request-timeout changes the limit)",
                super::humantime(limits.time),
                if exited { " (it exited, but a process it started keeps its output open)" } else { "" }
            ),
            Err(Failure::TooMuchOutput) => bail!(
                "{who}: its exec plugin `{command}` printed more than {} KiB, which is not an ExecCredential",
                MAX_STDOUT >> 10
            ),
            Err(Failure::Wait(e)) => bail!("{who}: waiting for its exec plugin `{command}`: {e}"),
        };
        if !done.status.success() {
            bail!(
                "{who}: its exec plugin `{command}` failed ({}); its own messages, if any, are above",
                done.status
            );
        }
        Ok(done.stdout)
    }
}

/// `spec.cluster` of the exec info (`provideClusterInfo`): the cluster entry's connection
/// fields, and its `client.authentication.k8s.io/exec` extension as `config`.
fn cluster_info(cluster: &Map<String, Value>) -> Map<String, Value> {
    let mut c = Map::new();
    for key in [
        "server",
        "tls-server-name",
        "insecure-skip-tls-verify",
        "certificate-authority-data",
        "proxy-url",
    ] {
        if let Some(v) = cluster.get(key) {
            c.insert(key.into(), v.clone());
        }
    }
    if let Some(cfg) = cluster
        .get("extensions")
        .and_then(Value::as_array)
        .and_then(|l| {
            l.iter().find(|e| {
                e.get("name").and_then(Value::as_str) == Some("client.authentication.k8s.io/exec")
            })
        })
        .and_then(|e| e.get("extension"))
    {
        c.insert("config".into(), cfg.clone());
    }
    c
}

/// The user fields an ExecCredential printed by a plugin gives: a token, or a client
/// certificate and key (PEM in the answer, base64 of the PEM in a kubeconfig).
pub(crate) fn credential(stdout: &[u8], who: &str, command: &str) -> Result<Credential> {
    let v: Value = serde_json::from_slice(stdout).map_err(|e| {
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
        let b64 = base64::engine::general_purpose::STANDARD;
        cred.insert("client-certificate-data".into(), b64.encode(c).into());
        cred.insert("client-key-data".into(), b64.encode(k).into());
    }
    if cred.is_empty() {
        bail!("{who}: its exec plugin `{command}` printed an ExecCredential with neither a token nor a client certificate and key");
    }
    Ok(cred)
}

/// Runs the plugin of `exec` for a context whose cluster entry is `cluster`; `who` names it
/// in errors ("user U of context C").
pub(crate) fn run(
    exec: &Map<String, Value>,
    cluster: &Map<String, Value>,
    who: &str,
    limit: Duration,
) -> Result<Credential> {
    let terminal = std::io::stdin().is_terminal() && !NEVER_INTERACTIVE.load(Ordering::SeqCst);
    let req = Request::from_entry(exec, cluster, terminal, who)?;
    let stdout = req.run(who, limit)?;
    credential(&stdout, who, &req.command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_request_is_what_client_go_would_run() {
        let exec = obj(json!({
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "plugin", "args": ["a", "b"],
            "env": [{"name": "K", "value": "V"}, {"name": "bad"}],
            "provideClusterInfo": true, "interactiveMode": "IfAvailable",
            "installHint": "brew\n install plugin",
        }));
        let cluster = obj(json!({
            "server": "https://s", "certificate-authority-data": "QUJD", "x-other": 1,
            "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"k": "v"}}],
        }));
        let r = Request::from_entry(&exec, &cluster, false, "u").unwrap();
        assert_eq!(r.args, ["a", "b"]);
        assert_eq!(r.env, [("K".to_owned(), "V".to_owned())]);
        assert!(!r.interactive);
        assert_eq!(
            r.exec_info,
            json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                   "spec": {"interactive": false, "cluster": {"server": "https://s",
                   "certificate-authority-data": "QUJD", "config": {"k": "v"}}}})
        );
        assert_eq!(r.install_hint.as_deref(), Some("brew install plugin"));
        // a terminal makes IfAvailable interactive; Never never is; Always needs one
        assert!(
            Request::from_entry(&exec, &cluster, true, "u")
                .unwrap()
                .interactive
        );
        let mut never = exec.clone();
        never.insert("interactiveMode".into(), "Never".into());
        assert!(
            !Request::from_entry(&never, &cluster, true, "u")
                .unwrap()
                .interactive
        );
        let mut always = exec.clone();
        always.insert("interactiveMode".into(), "Always".into());
        assert!(Request::from_entry(&always, &cluster, false, "u").is_err());
        let mut no_version = exec;
        no_version.remove("apiVersion");
        assert!(Request::from_entry(&no_version, &cluster, false, "u").is_err());
    }

    #[test]
    fn credentials_are_a_token_or_a_key_pair() {
        let t = credential(br#"{"status":{"token":"abc"}}"#, "u", "p").unwrap();
        assert_eq!(t["token"], "abc");
        let c = credential(
            br#"{"status":{"clientCertificateData":"C","clientKeyData":"K"}}"#,
            "u",
            "p",
        )
        .unwrap();
        assert_eq!(c["client-certificate-data"], "Qw==");
        assert!(credential(br#"{"status":{}}"#, "u", "p").is_err());
        assert!(credential(b"not json", "u", "p").is_err());
    }
}
