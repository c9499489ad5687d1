//! Talking to a cluster with the ecosystem's client, kube-rs, configured from a kubeconfig
//! context the way kubectl reads it: `server`, `certificate-authority` / `-data`,
//! `insecure-skip-tls-verify`, `tls-server-name`, `proxy-url` (and `HTTPS_PROXY`), client
//! certificates, bearer tokens and token files, and exec plugins. A kctx exec entry is not run
//! as a subprocess: its token is minted in-process by the same code and cache as `kctx token`.
//!
//! Every call is bounded by one timeout (connect, TLS, request), and so is getting the
//! credential (a kctx token minted in-process, another exec plugin run by [`exec`]); an
//! unreachable cluster is one line naming the server and the context. The proxy is chosen as
//! kubectl chooses it ([`proxy`]).

mod connector;
pub(crate) mod exec;
pub(crate) mod proxy;

use std::path::Path;
use std::time::Duration;

use ::kube::api::{Api, ListParams, PostParams};
use ::kube::config::{KubeConfigOptions, Kubeconfig as KubeKubeconfig};
use anyhow::{anyhow, bail, Context as _, Result};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SelfSubjectAccessReview,
    SelfSubjectAccessReviewSpec, SelfSubjectRulesReview, SelfSubjectRulesReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use serde_json::{json, Map, Value};

use crate::kubeconfig::{EksExec, Kind, KubeFile, Merged};
use crate::rbac;

/// A connected cluster (nothing has been sent yet).
pub(crate) struct Cluster {
    pub(crate) context: String,
    pub(crate) server: String,
    client: ::kube::Client,
    rt: tokio::runtime::Runtime,
    timeout: Duration,
    /// The context's user gets EKS credentials (kctx or `aws eks get-token`).
    eks: bool,
}

/// How a call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The API server answered with an error status.
    Status {
        code: u16,
        reason: String,
        message: String,
    },
    /// No answer: connect, TLS or the timeout.
    Unreachable(String),
    Other(String),
}

impl CallError {}

/// Parses kubectl's `--request-timeout`: `5`, `5s`, `500ms`, `2m`, `1h` (0 = no limit,
/// which kctx still caps at an hour).
pub(crate) fn parse_timeout(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 5s, 500ms, 1m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    Ok(if secs <= 0.0 {
        Duration::from_secs(3600)
    } else {
        Duration::from_secs_f64(secs)
    })
}

/// A relative file path in a kubeconfig is relative to that file's directory (client-go).
fn absolutize(v: &mut Map<String, Value>, key: &str, base: &Path) {
    if let Some(Value::String(p)) = v.get_mut(key) {
        if !p.is_empty() && !Path::new(p.as_str()).is_absolute() {
            *p = base.join(&*p).display().to_string();
        }
    }
}

fn entry(m: &Merged, kind: Kind, name: &str) -> Option<(Map<String, Value>, std::path::PathBuf)> {
    let f: &KubeFile = m.owner_file(kind, name)?;
    let dir = f.path.parent().map(Path::to_path_buf).unwrap_or_default();
    Some((f.entry_json(kind, name)?, dir))
}

/// A context's entries as kube-rs is to read them: paths made absolute (relative to the file
/// that holds each entry), a CA file read into `-data`, the server given a scheme.
struct Entries {
    context: Map<String, Value>,
    cluster: Map<String, Value>,
    user: Option<(String, Map<String, Value>)>,
    server: String,
}

impl Entries {
    /// The cluster entry's body (`cluster:`).
    fn cluster_body(&self) -> Map<String, Value> {
        self.cluster
            .get("cluster")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }
}

/// Reads `context`, its cluster and user as client-go would: relative paths against the
/// directory of the file that defines each entry, a server without a scheme given one
/// (client-go's `DefaultServerURL`: https when TLS is configured), and a CA that is not a
/// PEM certificate said here, as kubectl says it ("unable to load root certificates"), not
/// later as an unknown issuer.
fn entries(m: &Merged, context: &str) -> Result<Entries> {
    if !m.has(Kind::Contexts, context) {
        return Err(m.unknown(Kind::Contexts, context));
    }
    let (ctx, _) = entry(m, Kind::Contexts, context)
        .ok_or_else(|| anyhow!("cannot read context {context:?}"))?;
    let body = ctx
        .get("context")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let cluster_name = body
        .get("cluster")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("context {context:?} names no cluster"))?
        .to_owned();
    let (mut cluster, cdir) = entry(m, Kind::Clusters, &cluster_name).ok_or_else(|| {
        anyhow!("context {context:?} names cluster {cluster_name:?}, which the kubeconfig does not define")
    })?;
    let at = format!("cluster {cluster_name:?} of context {context:?}");
    let server = match cluster.get_mut("cluster") {
        Some(Value::Object(c)) => {
            absolutize(c, "certificate-authority", &cdir);
            ca_as_data(c, &at)?;
            server_url(c)
        }
        _ => String::new(),
    };
    if server.is_empty() {
        bail!("{at} has no server");
    }
    let user = match body.get("user").and_then(Value::as_str) {
        None => None,
        Some(user_name) => {
            let (mut user, udir) = entry(m, Kind::Users, user_name).ok_or_else(|| {
                anyhow!("context {context:?} names user {user_name:?}, which the kubeconfig does not define")
            })?;
            if let Some(Value::Object(u)) = user.get_mut("user") {
                for k in ["client-certificate", "client-key", "tokenFile"] {
                    absolutize(u, k, &udir);
                }
                if let Some(Value::Object(e)) = u.get_mut("exec") {
                    if e.get("command")
                        .and_then(Value::as_str)
                        .is_some_and(|c| c.contains('/'))
                    {
                        absolutize(e, "command", &udir);
                    }
                }
            }
            Some((user_name.to_owned(), user))
        }
    };
    Ok(Entries {
        context: ctx,
        cluster,
        user,
        server,
    })
}

/// Reads a CA file into `certificate-authority-data` (read once, handed to kube-rs as data),
/// refusing one that is not a PEM certificate.
fn ca_as_data(c: &mut Map<String, Value>, at: &str) -> Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let data = c
        .get("certificate-authority-data")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty());
    let file = c
        .get("certificate-authority")
        .and_then(Value::as_str)
        .filter(|f| !f.is_empty());
    let pem = match (data, file) {
        (Some(d), _) => Some((
            "certificate-authority-data".to_owned(),
            base64::Engine::decode(&b64, d.trim()).unwrap_or_default(),
        )),
        (None, Some(f)) => {
            let bytes = std::fs::read(f)
                .map_err(|e| anyhow!("{at}: cannot read its certificate-authority {f}: {e}"))?;
            let what = format!("certificate-authority ({f})");
            c.insert(
                "certificate-authority-data".into(),
                base64::Engine::encode(&b64, &bytes).into(),
            );
            c.remove("certificate-authority");
            Some((what, bytes))
        }
        _ => None,
    };
    if let Some((what, bytes)) = pem {
        if !String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") {
            bail!("{at}: its {what} is not a PEM certificate");
        }
    }
    Ok(())
}

/// The cluster's server, with the scheme client-go's `DefaultServerURL` gives one written
/// without: https when TLS is configured, else http. Written back into the entry.
fn server_url(c: &mut Map<String, Value>) -> String {
    let mut server = c
        .get("server")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !server.is_empty() && !server.contains("://") {
        let tls = [
            "certificate-authority",
            "certificate-authority-data",
            "tls-server-name",
        ]
        .iter()
        .any(|k| {
            c.get(*k)
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
        }) || c.get("insecure-skip-tls-verify").and_then(Value::as_bool) == Some(true);
        server = format!("{}://{server}", if tls { "https" } else { "http" });
        c.insert("server".into(), server.clone().into());
    }
    server
}

/// The user's credential, got once and bounded by `timeout`: a `kctx token` exec entry's
/// token minted in-process (same code and cache as the plugin), any other plugin run by
/// [`exec`]. The user entry then carries the credential instead of its `exec`. Returns the
/// minted token (set on the client directly) and whether the user is an EKS one.
fn credential(e: &mut Entries, context: &str, timeout: Duration) -> Result<(Option<String>, bool)> {
    let cluster = e.cluster_body();
    let server = e.server.clone();
    let Some((user_name, user)) = &mut e.user else {
        return Ok((None, false));
    };
    let Some(Value::Object(u)) = user.get_mut("user") else {
        return Ok((None, false));
    };
    let who = format!("user {user_name:?} of context {context:?}");
    let eks_exec = EksExec::from_user(u);
    let eks = eks_exec.is_some();
    if let Some(exec) = eks_exec.filter(|e| e.command == "kctx") {
        for (k, v) in &exec.env {
            // SAFETY (std::env::set_var): no other thread exists yet in this process.
            std::env::set_var(k, v);
        }
        let targs = crate::token::parse_args(&exec.args[1..])
            .with_context(|| format!("{who}: its `kctx token` arguments"))?;
        // an IAM Identity Center sign-in, when one is needed and allowed, is not bounded
        targs
            .sign_in_if_needed()
            .with_context(|| format!("{who}: its IAM Identity Center session"))?;
        // bounded like a call: credentials (SSO, a role) must not stall the command
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(targs.status().map(|s| s.token));
        });
        let token = match rx.recv_timeout(timeout) {
            Ok(r) => r.with_context(|| format!("{who}: minting its token"))?,
            Err(_) => bail!(
                "{who}: minting its token took longer than {} (AWS credentials or STS do not answer; --request-timeout changes the limit)",
                humantime(timeout)
            ),
        };
        u.remove("exec");
        return Ok((Some(token), eks));
    }
    if let Some(Value::Object(x)) = u.get("exec").cloned() {
        // any other plugin: run once, here, bounded (see `exec`)
        let cred = exec::run(&x, &cluster, &format!("{who} ({server})"), timeout)?;
        u.remove("exec");
        for (k, v) in cred {
            u.insert(k, v);
        }
    }
    Ok((None, eks))
}

/// Connects to `context` (nothing is sent until a call): its entries as client-go reads
/// them, the credential got once, and a kube-rs client with kctx's bounds and kubectl's
/// proxy choice.
pub(crate) fn connect(m: &Merged, context: &str, timeout: Duration) -> Result<Cluster> {
    let mut e = entries(m, context)?;
    let (minted, eks) = credential(&mut e, context, timeout)?;
    let proxy = proxy::for_server(
        &e.server,
        e.cluster_body().get("proxy-url").and_then(Value::as_str),
    );
    let kc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [e.cluster],
        "users": e.user.iter().map(|(_, u)| u).collect::<Vec<_>>(),
        "contexts": [e.context],
        "current-context": context,
    });
    let kc: KubeKubeconfig =
        serde_json::from_value(kc).map_err(|e| anyhow!("context {context:?}: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut cfg = load_config(&rt, kc, context)?;
    cfg.proxy_url = match proxy {
        Some(p) => Some(
            p.parse()
                .map_err(|e| anyhow!("context {context:?}: proxy {p:?} is not a URL: {e}"))?,
        ),
        None => None,
    };
    if let Some(t) = minted {
        cfg.auth_info.token = Some(t.into());
        cfg.auth_info.token_file = None;
        cfg.auth_info.exec = None;
    }
    cfg.connect_timeout = Some(timeout);
    cfg.read_timeout = Some(timeout);
    cfg.write_timeout = Some(timeout);
    cfg.default_retry = false;
    let server = e.server;
    let client = {
        let _guard = rt.enter();
        connector::client(cfg).map_err(|e| {
            anyhow!(
                "context {context:?} ({server}): {}",
                crate::report::one_line(&crate::report::error_chain(e.as_ref()))
            )
        })?
    };
    Ok(Cluster {
        context: context.to_owned(),
        server,
        client,
        rt,
        timeout,
        eks,
    })
}

/// kube-rs's `Config` from a one-context kubeconfig. kube-rs reads the proxy variables
/// itself (and matches NO_PROXY against the proxy's address), so they are hidden from it
/// while it loads: the proxy is chosen as kubectl chooses it ([`proxy`]).
fn load_config(
    rt: &tokio::runtime::Runtime,
    kc: KubeKubeconfig,
    context: &str,
) -> Result<::kube::Config> {
    let opts = KubeConfigOptions {
        context: Some(context.to_owned()),
        ..Default::default()
    };
    const PROXY_VARS: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"];
    let saved: Vec<(&str, Option<std::ffi::OsString>)> = PROXY_VARS
        .iter()
        .map(|k| (*k, std::env::var_os(k)))
        .collect();
    for k in PROXY_VARS {
        // SAFETY (std::env::remove_var): the token thread is done; no other thread runs.
        std::env::remove_var(k);
    }
    let loaded = rt.block_on(::kube::Config::from_custom_kubeconfig(kc, &opts));
    for (k, v) in saved {
        if let Some(v) = v {
            std::env::set_var(k, v);
        }
    }
    loaded.map_err(|e| {
        anyhow!(
            "context {context:?}: {}",
            crate::report::one_line(&crate::report::error_chain(&e))
        )
    })
}

const NO_ANSWER: &str = "no answer within";

/// Whether a call ran out of time (kctx's limit, or the client's connect/read timeouts).
fn is_timeout(why: &str) -> bool {
    why.starts_with(NO_ANSWER) || why.contains("deadline has elapsed") || why.contains("timed out")
}

/// Whether a connection error is the server's certificate failing verification.
fn is_tls(why: &str) -> bool {
    let w = why.to_ascii_lowercase();
    [
        "certificate",
        "unknownissuer",
        "notvalidforname",
        "invalidcertificate",
        "badsignature",
    ]
    .iter()
    .any(|k| w.contains(k))
}

fn call_error(e: ::kube::Error) -> CallError {
    match e {
        ::kube::Error::Api(s) => CallError::Status {
            code: s.code,
            reason: s.reason.clone(),
            message: s.message.clone(),
        },
        ::kube::Error::Service(e) => {
            CallError::Unreachable(crate::report::one_line(&crate::report::error_chain(&*e)))
        }
        ::kube::Error::HyperError(e) => {
            CallError::Unreachable(crate::report::one_line(&crate::report::error_chain(&e)))
        }
        other => CallError::Other(crate::report::one_line(&crate::report::error_chain(&other))),
    }
}

impl Cluster {
    fn call<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, ::kube::Error>>,
    ) -> Result<T, CallError> {
        let limit = self.timeout;
        match self
            .rt
            .block_on(async move { tokio::time::timeout(limit, fut).await })
        {
            Ok(r) => r.map_err(call_error),
            Err(_) => Err(CallError::Unreachable(format!(
                "{NO_ANSWER} {}",
                humantime(self.timeout)
            ))),
        }
    }

    /// A call error as one line naming the context and server, with what it means.
    pub(crate) fn explain(&self, what: &str, e: &CallError) -> anyhow::Error {
        let at = format!("context {:?} ({})", self.context, self.server);
        match e {
            CallError::Unreachable(why) if is_timeout(why) => anyhow!(
                "cannot reach the cluster of {at}: {why} (limit {}; --request-timeout changes it)",
                humantime(self.timeout)
            ),
            CallError::Unreachable(why) if is_tls(why) => anyhow!(
                "the server of {at} failed TLS verification: {why} (check the cluster's certificate-authority, tls-server-name or server)"
            ),
            CallError::Unreachable(why) => anyhow!("cannot reach the cluster of {at}: {why}"),
            CallError::Status { code: 401, .. } if self.eks => anyhow!(
                "the cluster of {at} does not accept this identity (401 Unauthorized): `kctx access` tells whether an access entry or aws-auth maps it"
            ),
            CallError::Status { code: 401, .. } => anyhow!(
                "the cluster of {at} does not accept this context's credentials (401 Unauthorized)"
            ),
            CallError::Status { code: 403, message, .. } => {
                anyhow!("{what} is forbidden for this identity on {at}: {}", crate::report::one_line(message))
            }
            CallError::Status { code, reason, message } => anyhow!(
                "{what} on {at} failed: HTTP {code} {reason}: {}",
                crate::report::one_line(message)
            ),
            CallError::Other(why) => anyhow!("{what} on {at} failed: {why}"),
        }
    }

    /// Every namespace's name (sorted).
    pub(crate) fn namespaces(&self) -> Result<Vec<String>, CallError> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let mut names = Vec::new();
        let mut lp = ListParams::default().limit(500);
        loop {
            let page = self.call(api.list(&lp))?;
            names.extend(page.items.into_iter().filter_map(|n| n.metadata.name));
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => lp = lp.continue_token(&c),
                None => break,
            }
        }
        names.sort();
        Ok(names)
    }

    /// Whether a namespace exists (a 404 is `Ok(false)`).
    pub(crate) fn namespace_exists(&self, name: &str) -> Result<bool, CallError> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        match self.call(api.get(name)) {
            Ok(_) => Ok(true),
            Err(CallError::Status { code: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Who the cluster says the caller is: SelfSubjectReview (`kubectl auth whoami`),
    /// authentication.k8s.io/v1, falling back to v1beta1 on clusters older than 1.28.
    pub(crate) fn whoami(&self) -> Result<UserInfo, CallError> {
        let api: Api<SelfSubjectReview> = Api::all(self.client.clone());
        match self.call(api.create(&PostParams::default(), &SelfSubjectReview::default())) {
            Ok(r) => {
                let ui = r.status.and_then(|s| s.user_info).unwrap_or_default();
                Ok(UserInfo {
                    username: ui.username.unwrap_or_default(),
                    uid: ui.uid.unwrap_or_default(),
                    groups: ui.groups.unwrap_or_default(),
                    extra: ui.extra.unwrap_or_default().into_iter().collect(),
                })
            }
            Err(CallError::Status { code: 404, .. }) => self.whoami_v1beta1(),
            Err(e) => Err(e),
        }
    }

    fn whoami_v1beta1(&self) -> Result<UserInfo, CallError> {
        use ::kube::core::{ApiResource, DynamicObject, GroupVersionKind, TypeMeta};
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("authentication.k8s.io", "v1beta1", "SelfSubjectReview"),
            "selfsubjectreviews",
        );
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ar);
        let obj = DynamicObject {
            types: Some(TypeMeta {
                api_version: ar.api_version.clone(),
                kind: ar.kind.clone(),
            }),
            metadata: Default::default(),
            data: json!({}),
        };
        let r = self.call(api.create(&PostParams::default(), &obj))?;
        let ui = r
            .data
            .pointer("/status/userInfo")
            .cloned()
            .unwrap_or(Value::Null);
        let strs = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(UserInfo {
            username: ui["username"].as_str().unwrap_or_default().to_owned(),
            uid: ui["uid"].as_str().unwrap_or_default().to_owned(),
            groups: strs(&ui["groups"]),
            extra: ui["extra"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), strs(v))).collect())
                .unwrap_or_default(),
        })
    }

    /// What RBAC (and any other authorizer that can list its rules) lets the caller do in
    /// `namespace`: SelfSubjectRulesReview, as `kubectl auth can-i --list` asks.
    pub(crate) fn rules_review(&self, namespace: &str) -> Result<RulesReview, CallError> {
        let api: Api<SelfSubjectRulesReview> = Api::all(self.client.clone());
        let review = SelfSubjectRulesReview {
            spec: SelfSubjectRulesReviewSpec {
                namespace: Some(namespace.to_owned()),
            },
            ..Default::default()
        };
        let r = self.call(api.create(&PostParams::default(), &review))?;
        let st = r.status.unwrap_or_default();
        Ok(RulesReview {
            namespace: namespace.to_owned(),
            resource_rules: st
                .resource_rules
                .into_iter()
                .map(|x| rbac::Rule {
                    verbs: x.verbs,
                    api_groups: x.api_groups.unwrap_or_default(),
                    resources: x.resources.unwrap_or_default(),
                    resource_names: x.resource_names.unwrap_or_default(),
                })
                .collect(),
            non_resource_rules: st
                .non_resource_rules
                .into_iter()
                .map(|x| NonResourceRule {
                    verbs: x.verbs,
                    non_resource_urls: x.non_resource_urls.unwrap_or_default(),
                })
                .collect(),
            incomplete: st.incomplete,
            evaluation_error: st.evaluation_error.unwrap_or_default(),
        })
    }

    /// May the caller do `r`? SelfSubjectAccessReview, as `kubectl auth can-i` asks: every
    /// authorizer answers, EKS's access policies included.
    pub(crate) fn can_i(&self, r: &rbac::Request) -> Result<AccessAnswer, CallError> {
        self.can_i_all(std::slice::from_ref(r))
            .pop()
            .unwrap_or_else(|| Err(CallError::Other("no answer".into())))
    }

    /// [`Cluster::can_i`] for many requests, a few at a time, all within one timeout; the
    /// answers in the order of `requests`.
    pub(crate) fn can_i_all(
        &self,
        requests: &[rbac::Request],
    ) -> Vec<Result<AccessAnswer, CallError>> {
        use std::sync::Arc;
        let api: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let reviews: Vec<SelfSubjectAccessReview> = requests.iter().map(access_review).collect();
        let limit = self.timeout;
        let all = async move {
            let gate = Arc::new(tokio::sync::Semaphore::new(REVIEWS_AT_ONCE));
            let mut set = tokio::task::JoinSet::new();
            for (i, review) in reviews.into_iter().enumerate() {
                let (api, gate) = (api.clone(), gate.clone());
                set.spawn(async move {
                    let _permit = gate.acquire_owned().await;
                    (i, api.create(&PostParams::default(), &review).await)
                });
            }
            let mut out: Vec<Option<Result<SelfSubjectAccessReview, ::kube::Error>>> =
                (0..set.len()).map(|_| None).collect();
            while let Some(done) = set.join_next().await {
                if let Ok((i, r)) = done {
                    out[i] = Some(r);
                }
            }
            out
        };
        let answers = match self
            .rt
            .block_on(async move { tokio::time::timeout(limit, all).await })
        {
            Ok(a) => a,
            Err(_) => {
                let why = format!("{NO_ANSWER} {}", humantime(self.timeout));
                return requests
                    .iter()
                    .map(|_| Err(CallError::Unreachable(why.clone())))
                    .collect();
            }
        };
        answers
            .into_iter()
            .map(|a| match a {
                Some(Ok(r)) => {
                    let st = r.status.unwrap_or_default();
                    Ok(AccessAnswer {
                        allowed: st.allowed,
                        denied: st.denied.unwrap_or(false),
                        reason: st.reason.unwrap_or_default(),
                        evaluation_error: st.evaluation_error.unwrap_or_default(),
                    })
                }
                Some(Err(e)) => Err(call_error(e)),
                None => Err(CallError::Other(
                    "the review's task ended without an answer".into(),
                )),
            })
            .collect()
    }

    /// A ConfigMap (`None` when it does not exist).
    pub(crate) fn config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ConfigMap>, CallError> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        match self.call(api.get(name)) {
            Ok(c) => Ok(Some(c)),
            Err(CallError::Status { code: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// SelfSubjectRulesReview's answer for one namespace (`kubectl auth can-i --list`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct RulesReview {
    pub(crate) namespace: String,
    pub(crate) resource_rules: Vec<rbac::Rule>,
    pub(crate) non_resource_rules: Vec<NonResourceRule>,
    /// The list leaves out what some authorizer cannot list (EKS's access policies, which a
    /// webhook checks).
    pub(crate) incomplete: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) evaluation_error: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NonResourceRule {
    pub(crate) verbs: Vec<String>,
    pub(crate) non_resource_urls: Vec<String>,
}

/// SelfSubjectAccessReview's answer (`kubectl auth can-i VERB RESOURCE`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct AccessAnswer {
    pub(crate) allowed: bool,
    /// Explicitly denied by an authorizer (no other may allow it).
    pub(crate) denied: bool,
    /// The authorizer's reason (RBAC names the binding and the role).
    pub(crate) reason: String,
    pub(crate) evaluation_error: String,
}

/// The review object of one request.
fn access_review(r: &rbac::Request) -> SelfSubjectAccessReview {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let spec = if r.path.is_empty() {
        SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: some(&r.verb),
                group: Some(r.group.clone()),
                resource: some(&r.resource),
                subresource: some(&r.subresource),
                name: some(&r.name),
                namespace: some(&r.namespace),
                ..Default::default()
            }),
            ..Default::default()
        }
    } else {
        SelfSubjectAccessReviewSpec {
            non_resource_attributes: Some(NonResourceAttributes {
                path: Some(r.path.clone()),
                verb: some(&r.verb),
            }),
            ..Default::default()
        }
    };
    SelfSubjectAccessReview {
        spec,
        ..Default::default()
    }
}

/// How many access reviews are in flight at once.
const REVIEWS_AT_ONCE: usize = 8;

/// What the cluster knows of the caller.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct UserInfo {
    pub(crate) username: String,
    pub(crate) uid: String,
    pub(crate) groups: Vec<String>,
    pub(crate) extra: std::collections::BTreeMap<String, Vec<String>>,
}

fn humantime(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_like_kubectl() {
        assert_eq!(parse_timeout("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_timeout("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_timeout("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_timeout("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_timeout("0").unwrap(), Duration::from_secs(3600));
        assert!(parse_timeout("five").is_err());
        assert!(parse_timeout("5y").is_err());
    }
}
