//! The check catalogue: a pure function from what [`super::gather`] read (the kubeconfig files,
//! their modes, where commands are on PATH, the AWS config and SSO cache, the kuberc, and with
//! `--online` what EKS says) to findings, each with the change `--fix` makes when it can mend
//! it. The rules are the peers': client-go's merge (the first file that defines a name wins,
//! current-context from the first file that sets one, exec commands looked up on PATH or,
//! with a `/`, relative to the kubeconfig), kubectl's refusal of exec `v1alpha1` (1.24+) and
//! its kuberc plugin policy (1.35), the AWS CLI's profile files and SSO token cache.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::aws::describe::Described;
use crate::aws::sso;
use crate::exec_credential::{V1ALPHA1, V1BETA1};
use crate::kubeconfig::kuberc::{Kuberc, Policy};
use crate::kubeconfig::{closest, EksExec, Kind, KubeFile, Merged};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Keys of a user's `exec` to set (`Some`) or remove (`None`).
pub(crate) type ExecChanges = Vec<(String, Option<Value>)>;

/// A change `--fix` makes to the file a finding names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Sets (`Some`) or removes (`None`) keys of a user's `exec`.
    EditExec {
        user: String,
        changes: ExecChanges,
    },
    Remove {
        kind: Kind,
        name: String,
    },
    UnsetCurrentContext,
    /// Sets keys of a cluster entry's body (`server`, `certificate-authority-data`).
    UpdateCluster {
        name: String,
        set: Map<String, Value>,
    },
    Chmod(u32),
}

/// What `--fix` does about a finding: said for people, and the change itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fix {
    pub(crate) says: String,
    pub(crate) action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub(crate) code: &'static str,
    pub(crate) severity: Severity,
    pub(crate) message: String,
    /// The file the finding is in (a kubeconfig file, or the kuberc).
    pub(crate) file: PathBuf,
    pub(crate) context: Option<String>,
    pub(crate) cluster: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) fix: Option<Fix>,
}

impl Finding {
    fn new(code: &'static str, severity: Severity, file: &Path, message: String) -> Self {
        Self {
            code,
            severity,
            message,
            file: file.to_path_buf(),
            context: None,
            cluster: None,
            user: None,
            fix: None,
        }
    }

    fn on(mut self, kind: Kind, name: &str) -> Self {
        let slot = match kind {
            Kind::Clusters => &mut self.cluster,
            Kind::Contexts => &mut self.context,
            Kind::Users => &mut self.user,
        };
        *slot = Some(name.to_owned());
        self
    }

    fn fix(mut self, says: impl Into<String>, action: Action) -> Self {
        self.fix = Some(Fix {
            says: says.into(),
            action,
        });
        self
    }

    /// Whether it counts against the exit status.
    pub(crate) fn fails(&self) -> bool {
        self.severity != Severity::Info
    }
}

/// The AWS side: which profiles exist, and the SSO sessions of those EKS users name.
#[derive(Debug, Clone, Default)]
pub(crate) struct AwsFacts {
    /// Every profile of the config and credentials files; `None` when they could not be read.
    pub(crate) profiles: Option<BTreeSet<String>>,
    /// The config and credentials files, as messages name them.
    pub(crate) files: String,
    /// For each profile an EKS exec names that logs in with SSO: how, and the token's state.
    pub(crate) sso: BTreeMap<String, (sso::config::Session, sso::cache::Status)>,
}

/// What EKS said about the cluster of one context (`--online`).
#[derive(Debug, Clone)]
pub(crate) struct OnlineResult {
    pub(crate) context: String,
    /// The cluster entry the context names.
    pub(crate) cluster: String,
    /// The EKS cluster name and region asked about.
    pub(crate) name: String,
    pub(crate) region: String,
    pub(crate) described: Described,
}

/// Everything the checks look at.
pub(crate) struct Facts<'a> {
    pub(crate) merged: &'a Merged,
    /// Each readable file's permission bits.
    pub(crate) modes: HashMap<PathBuf, u32>,
    /// Where each command is found (`exec.LookPath`), keyed by [`command_key`]; also the
    /// kuberc allowlist names and `kctx_command`. A command missing here was not looked up.
    pub(crate) which: HashMap<String, Option<PathBuf>>,
    /// The `command` a converted exec entry gets (what `kctx add` writes).
    pub(crate) kctx_command: String,
    pub(crate) kuberc: Option<Kuberc>,
    pub(crate) aws: AwsFacts,
    pub(crate) online: &'a [OnlineResult],
}

/// The command as client-go runs it: with a `/` and relative, relative to the kubeconfig
/// file's directory; else as written (looked up on PATH).
pub(crate) fn command_key(file: &Path, command: &str) -> String {
    if command.contains('/') && !command.starts_with('/') {
        let dir = file.parent().unwrap_or(Path::new(""));
        return dir.join(command).display().to_string();
    }
    command.to_owned()
}

/// Every check, in catalogue order.
pub(crate) fn decide(f: &Facts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    // the clusters of the contexts that use each user (for a converted entry's region)
    let mut clusters_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (file, ctx) in winning(f.merged, Kind::Contexts) {
        if let (Some(u), Some(c)) = (
            file.field(Kind::Contexts, ctx, "user"),
            file.field(Kind::Contexts, ctx, "cluster"),
        ) {
            clusters_of.entry(u).or_default().push(c);
        }
    }
    for (file, name) in winning(f.merged, Kind::Users) {
        let clusters = clusters_of.get(name).map(Vec::as_slice).unwrap_or_default();
        user_checks(f, file, name, clusters, &mut out);
    }
    reference_checks(f.merged, &mut out);
    permission_checks(f, &mut out);
    kuberc_check(f, &mut out);
    online_checks(f, &mut out);
    // in KUBECONFIG's order of files (the kuberc last), each file's in catalogue order
    let rank = |p: &Path| {
        f.merged
            .files
            .iter()
            .position(|l| l.path == p)
            .unwrap_or(usize::MAX)
    };
    out.sort_by_key(|x| rank(&x.file));
    out
}

/// The entries kubectl reads: each name's first definition, with its file.
fn winning(m: &Merged, kind: Kind) -> Vec<(&KubeFile, &str)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for file in m.readable() {
        for name in file.names(kind) {
            if seen.insert(name) {
                out.push((file, name));
            }
        }
    }
    out
}

/// The checks of one user entry's exec: its apiVersion, its command, and for EKS plugins the
/// conversion to `kctx token`, the profile and its SSO session.
fn user_checks(
    f: &Facts<'_>,
    file: &KubeFile,
    name: &str,
    clusters: &[&str],
    out: &mut Vec<Finding>,
) {
    let Some(body) = file.body(Kind::Users, name) else {
        return;
    };
    let Some(exec) = body.get("exec").and_then(Value::as_object) else {
        return;
    };
    let at =
        |code, sev, msg: String| Finding::new(code, sev, &file.path, msg).on(Kind::Users, name);
    if exec.get("apiVersion").and_then(Value::as_str) == Some(V1ALPHA1) {
        out.push(
            at(
                "exec-api-v1alpha1",
                Severity::Error,
                format!("its exec apiVersion is {V1ALPHA1}, which kubectl 1.24 and later refuse"),
            )
            .fix(
                format!("set apiVersion to {V1BETA1}"),
                Action::EditExec {
                    user: name.to_owned(),
                    changes: vec![("apiVersion".into(), Some(json!(V1BETA1)))],
                },
            ),
        );
    }
    if let Some(cmd) = exec.get("command").and_then(Value::as_str) {
        if let Some(None) = f.which.get(&command_key(&file.path, cmd)) {
            let hint = exec
                .get("installHint")
                .and_then(Value::as_str)
                .map(crate::report::one_line)
                .filter(|h| !h.is_empty())
                .map(|h| format!(" (its installHint: {h})"))
                .unwrap_or_default();
            let where_ = if cmd.contains('/') {
                "does not exist or cannot run"
            } else {
                "is not on PATH"
            };
            out.push(at(
                "exec-command-not-found",
                Severity::Error,
                format!("its exec command `{cmd}` {where_}{hint}"),
            ));
        }
    }
    let Some(e) = EksExec::from_user(&body) else {
        return;
    };
    let code = match e.command.as_str() {
        "aws" => Some(("aws-cli-exec", "`aws eks get-token` (the AWS CLI: about a second of Python start-up on every kubectl call)")),
        "aws-iam-authenticator" => Some(("authenticator-exec", "`aws-iam-authenticator token` (no token cache: a new STS signature on every kubectl call)")),
        _ => None,
    };
    if let Some((code, what)) = code {
        let region = e.region.clone().or_else(|| region_hint(f.merged, clusters));
        let finding = at(code, Severity::Warning, format!("it runs {what}"));
        out.push(
            match to_kctx(&e, exec, region.as_deref(), &f.kctx_command) {
                Ok((changes, says)) => finding.fix(
                    says,
                    Action::EditExec {
                        user: name.to_owned(),
                        changes,
                    },
                ),
                Err(why) => {
                    let mut finding = finding;
                    finding.message.push_str(&format!("; not rewritten: {why}"));
                    finding
                }
            },
        );
    }
    if let Some(p) = &e.profile {
        profile_checks(f, p, at, out);
    }
}

/// `unknown-aws-profile` and `sso-session-expired` for the profile an EKS exec names.
fn profile_checks(
    f: &Facts<'_>,
    profile: &str,
    at: impl Fn(&'static str, Severity, String) -> Finding,
    out: &mut Vec<Finding>,
) {
    if let Some(known) = &f.aws.profiles {
        if !known.contains(profile) {
            let names: Vec<String> = known.iter().cloned().collect();
            let near = closest(&names, profile);
            let mean = if near.is_empty() {
                String::new()
            } else {
                let n: Vec<String> = near.iter().map(|n| format!("{n:?}")).collect();
                format!("; did you mean {}?", n.join(" or "))
            };
            out.push(at(
                "unknown-aws-profile",
                Severity::Error,
                format!(
                    "its exec uses AWS profile {profile:?}, which {} do not define{mean}",
                    f.aws.files
                ),
            ));
            return;
        }
    }
    let Some((login, status)) = f.aws.sso.get(profile) else {
        return;
    };
    let state = match status {
        sso::cache::Status::Valid { .. } | sso::cache::Status::Refreshable { .. } => return,
        sso::cache::Status::Expired { expires_at } => format!(
            "its token expired at {}",
            crate::exec_credential::rfc3339(*expires_at)
        ),
        sso::cache::Status::Missing => {
            "no token is cached (never logged in, or logged out)".to_owned()
        }
    };
    let session = match (&login.name, &login.profile) {
        (Some(s), _) => format!("SSO session {s:?}"),
        (None, p) => format!(
            "the SSO login of profile {:?}",
            p.as_deref().unwrap_or(profile)
        ),
    };
    let login_cmd = login.login_command();
    out.push(at(
        "sso-session-expired",
        Severity::Warning,
        format!("its AWS profile {profile:?} signs in through {session}, and {state}: run `{login_cmd}`"),
    ));
}

/// The region of `clusters` (those of the contexts using a user), when they agree: from the
/// cluster entry's name when it is an EKS ARN, else from its EKS endpoint's host name.
fn region_hint(m: &Merged, clusters: &[&str]) -> Option<String> {
    let mut regions = BTreeSet::new();
    for cluster in clusters.iter().copied() {
        let from_arn = cluster
            .starts_with("arn:")
            .then(|| cluster.split(':').nth(3))
            .flatten()
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        let from_server = || {
            let server = m.field(Kind::Clusters, cluster, "server")?;
            let host = server.split("://").nth(1)?.split(['/', ':']).next()?;
            let labels: Vec<&str> = host.split('.').collect();
            let i = labels.iter().position(|l| *l == "eks")?;
            (i > 0).then(|| labels[i - 1].to_owned())
        };
        if let Some(r) = from_arn.or_else(from_server) {
            regions.insert(r);
        }
    }
    (regions.len() == 1)
        .then(|| regions.into_iter().next())
        .flatten()
}

/// The first argument of an `aws eks get-token` or `aws-iam-authenticator token` exec that
/// `kctx token` has no equivalent for.
fn unconvertible_arg(e: &EksExec) -> Option<String> {
    let (valued, words): (&[&str], &[&str]) = match e.command.as_str() {
        "aws" => (
            &[
                "--region",
                "--profile",
                "--output",
                "--cluster-name",
                "--cluster-id",
                "--role-arn",
                "--role",
            ],
            &["eks", "get-token"],
        ),
        _ => (
            &["-i", "--cluster-id", "-r", "--role", "--region"],
            &["token"],
        ),
    };
    let mut it = e.args.iter();
    while let Some(a) = it.next() {
        if words.contains(&a.as_str()) {
            continue;
        }
        let key = a.split_once('=').map_or(a.as_str(), |(k, _)| k);
        if !valued.contains(&key) {
            return Some(a.clone());
        }
        if key == a {
            it.next();
        }
    }
    None
}

/// The changes that make an `aws eks get-token` / aws-iam-authenticator exec the one `kctx
/// add` writes for the same cluster, region, role and profile: apiVersion, command and args
/// as kctx writes them; `env` kept (with `AWS_PROFILE` set when the profile was an argument);
/// the old command's `installHint` dropped. Returns them and what they say, or why not.
fn to_kctx(
    e: &EksExec,
    exec: &Map<String, Value>,
    region: Option<&str>,
    kctx: &str,
) -> Result<(ExecChanges, String), String> {
    if let Some(a) = unconvertible_arg(e) {
        return Err(format!(
            "`kctx token` has no equivalent of its argument `{a}`"
        ));
    }
    let Some(cluster) = &e.cluster else {
        return Err("it names no cluster".into());
    };
    // aws-iam-authenticator's cluster id is the cluster name; the AWS CLI's is an Outposts id
    let id_flag = if e.by_id && e.command == "aws" {
        "--cluster-id"
    } else {
        "--cluster-name"
    };
    let wanted =
        super::super::add::kctx_exec(kctx, id_flag, cluster, region, &[], e.role_arn.as_deref());
    let mut changes: ExecChanges = wanted.into_iter().map(|(k, v)| (k, Some(v))).collect();
    let args: Vec<String> = wanted_args(&changes);
    let mut says = format!("rewrite as `{kctx} {}`", args.join(" "));
    let env_profile = e
        .env
        .iter()
        .find(|(k, _)| k == "AWS_PROFILE")
        .map(|(_, v)| v.as_str());
    match (&e.profile, env_profile) {
        (Some(p), Some(ep)) if p == ep => says.push_str(&format!(" with AWS_PROFILE={p}")),
        (Some(p), _) => {
            // `--profile P` was an argument: kctx takes the profile from env, as `kctx add` writes it
            let mut env: Vec<Value> = exec
                .get("env")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            env.retain(|v| v.get("name").and_then(Value::as_str) != Some("AWS_PROFILE"));
            env.push(json!({"name": "AWS_PROFILE", "value": p}));
            changes.push(("env".into(), Some(Value::Array(env))));
            says.push_str(&format!(" with AWS_PROFILE={p}"));
        }
        (None, _) => {}
    }
    if exec.contains_key("installHint") {
        changes.push(("installHint".into(), None));
    }
    says.push_str(" (its env kept)");
    Ok((changes, says))
}

fn wanted_args(changes: &ExecChanges) -> Vec<String> {
    changes
        .iter()
        .find(|(k, _)| k == "args")
        .and_then(|(_, v)| v.as_ref()?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect()
}

/// Names that point nowhere, a dangling current-context, entries no context uses, and names
/// defined in more than one file.
fn reference_checks(m: &Merged, out: &mut Vec<Finding>) {
    for (file, ctx) in winning(m, Kind::Contexts) {
        for (key, kind, code) in [
            ("cluster", Kind::Clusters, "missing-cluster"),
            ("user", Kind::Users, "missing-user"),
        ] {
            let Some(target) = file
                .field(Kind::Contexts, ctx, key)
                .filter(|t| !t.is_empty())
            else {
                continue;
            };
            if !m.has(kind, target) {
                out.push(
                    Finding::new(
                        code,
                        Severity::Error,
                        &file.path,
                        format!("it names {key} {target:?}, which no kubeconfig file defines"),
                    )
                    .on(Kind::Contexts, ctx)
                    .on(kind, target),
                );
            }
        }
    }
    // client-go takes current-context from the first file that sets one; once unset, the
    // next file's is the one read, so each dangling one up to the first that names a context
    for file in m.readable() {
        let Some(cc) = file.current_context() else {
            continue;
        };
        if m.has(Kind::Contexts, cc) {
            break;
        }
        out.push(
            Finding::new(
                "dangling-current-context",
                Severity::Error,
                &file.path,
                format!("current-context is {cc:?}, which names no context"),
            )
            .on(Kind::Contexts, cc)
            .fix(
                "unset current-context in this file",
                Action::UnsetCurrentContext,
            ),
        );
    }
    orphans(m, out);
    shadowed(m, out);
}

/// Cluster and user entries that no context, in any of the files, names. Not looked for when
/// a file could not be read: its contexts may name them.
fn orphans(m: &Merged, out: &mut Vec<Finding>) {
    if m.errors().next().is_some() {
        return;
    }
    let mut named: [HashSet<&str>; 3] = Default::default();
    for file in m.readable() {
        for ctx in file.names(Kind::Contexts) {
            for (key, kind) in [("cluster", Kind::Clusters), ("user", Kind::Users)] {
                if let Some(t) = file.field(Kind::Contexts, ctx, key) {
                    named[kind as usize].insert(t);
                }
            }
        }
    }
    for file in m.readable() {
        for (kind, code) in [
            (Kind::Clusters, "orphan-cluster"),
            (Kind::Users, "orphan-user"),
        ] {
            for name in file.names(kind) {
                if named[kind as usize].contains(name) {
                    continue;
                }
                out.push(
                    Finding::new(
                        code,
                        Severity::Info,
                        &file.path,
                        "no context in any kubeconfig file uses it".into(),
                    )
                    .on(kind, name)
                    .fix(
                        "remove it",
                        Action::Remove {
                            kind,
                            name: name.to_owned(),
                        },
                    ),
                );
            }
        }
    }
}

/// Names defined in more than one file: kubectl reads the first definition only.
fn shadowed(m: &Merged, out: &mut Vec<Finding>) {
    for kind in Kind::ALL {
        let mut first: HashMap<&str, &Path> = HashMap::new();
        for file in m.readable() {
            for name in file.names(kind) {
                match first.get(name) {
                    None => {
                        first.insert(name, &file.path);
                    }
                    Some(winner) => out.push(
                        Finding::new(
                            "shadowed-entry",
                            Severity::Info,
                            &file.path,
                            format!(
                                "also defined in {}, which comes first: kubectl reads that one, never this",
                                winner.display()
                            ),
                        )
                        .on(kind, name),
                    ),
                }
            }
        }
    }
}

/// What in a user body is a credential (for the permission check), if anything.
fn credential_in(body: &Map<String, Value>) -> Option<String> {
    for key in ["token", "password", "client-key-data", "auth-provider"] {
        if body.get(key).is_some_and(|v| !v.is_null() && v != "") {
            return Some(format!("`{key}`"));
        }
    }
    let env = body.get("exec")?.get("env")?.as_array()?;
    env.iter().find_map(|e| {
        let n = e.get("name")?.as_str()?;
        let secret = ["SECRET", "TOKEN", "PASSWORD"]
            .iter()
            .any(|w| n.to_ascii_uppercase().contains(w));
        (secret && e.get("value").is_some_and(|v| v != "")).then(|| format!("exec env {n}"))
    })
}

/// Files holding credentials that group or others may read.
fn permission_checks(f: &Facts<'_>, out: &mut Vec<Finding>) {
    for file in f.merged.readable() {
        let Some(mode) = f.modes.get(&file.path).copied() else {
            continue;
        };
        if mode & 0o044 == 0 {
            continue;
        }
        let held = file.names(Kind::Users).find_map(|u| {
            let what = credential_in(&file.body(Kind::Users, u)?)?;
            Some(format!("user {u:?}: {what}"))
        });
        let Some(held) = held else {
            continue;
        };
        let who = match (mode & 0o040 != 0, mode & 0o004 != 0) {
            (true, true) => "group and others",
            (true, false) => "its group",
            _ => "others",
        };
        out.push(
            Finding::new(
                "kubeconfig-permissions",
                Severity::Warning,
                &file.path,
                format!("mode {mode:04o}: {who} can read it, and it holds credentials ({held})"),
            )
            .fix("chmod 0600", Action::Chmod(0o600)),
        );
    }
}

/// A kuberc plugin policy that keeps kubectl from running kctx: for the kctx exec entries
/// there are, and those `--fix` writes.
fn kuberc_check(f: &Facts<'_>, out: &mut Vec<Finding>) {
    let Some(k) = &f.kuberc else {
        return;
    };
    if k.policy == Policy::AllowAll {
        return;
    }
    // command (as looked up) -> the users that run it
    let mut runs: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for (file, name) in winning(f.merged, Kind::Users) {
        let Some(e) = file
            .body(Kind::Users, name)
            .and_then(|b| EksExec::from_user(&b))
        else {
            continue;
        };
        if e.command != "kctx" {
            continue;
        }
        let written = file
            .body(Kind::Users, name)
            .and_then(|b| b.get("exec")?.get("command")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        let entry = runs
            .entry(command_key(&file.path, &written))
            .or_insert_with(|| (written.clone(), BTreeSet::new()));
        entry.1.insert(format!("{name:?}"));
    }
    for finding in out.iter() {
        if let Some(Fix {
            action: Action::EditExec { user, changes },
            ..
        }) = &finding.fix
        {
            if changes.iter().any(|(k, _)| k == "command") {
                let entry = runs
                    .entry(f.kctx_command.clone())
                    .or_insert_with(|| (f.kctx_command.clone(), BTreeSet::new()));
                entry.1.insert(format!("{user:?} (once --fix rewrites it)"));
            }
        }
    }
    let look = |c: &str| f.which.get(c).cloned().flatten();
    for (key, (written, users)) in runs {
        if k.policy.allows(&key, &look) {
            continue;
        }
        let users: Vec<String> = users.into_iter().collect();
        let (policy, lines) = match &k.policy {
            Policy::DenyAll => (
                "DenyAll",
                format!("credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: {written}"),
            ),
            _ if k.has_allowlist => (
                "Allowlist",
                format!("- name: {written}      # under credentialPluginAllowlist"),
            ),
            _ => ("Allowlist", format!("credentialPluginAllowlist:\n- name: {written}")),
        };
        out.push(Finding::new(
            "kuberc-blocks-kctx",
            Severity::Error,
            &k.path,
            format!(
                "its credentialPluginPolicy ({policy}) keeps kubectl from running `{written}` for user{} {}; add:\n{lines}",
                if users.len() == 1 { "" } else { "s" },
                users.join(", ")
            ),
        ));
    }
}

fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn same_ca(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    strip(a) == strip(b)
}

/// What EKS says against what the cluster entries say.
fn online_checks(f: &Facts<'_>, out: &mut Vec<Finding>) {
    let m = f.merged;
    let mut seen = HashSet::new();
    for r in f.online {
        match &r.described {
            Described::Failed(_) => {}
            Described::NotFound => {
                let Some(file) = m.owner_file(Kind::Contexts, &r.context) else {
                    continue;
                };
                out.push(
                    Finding::new(
                        "cluster-not-found",
                        Severity::Error,
                        &file.path,
                        format!(
                            "EKS has no cluster {:?} in {} for the context's credentials (deleted, renamed, or in another account)",
                            r.name, r.region
                        ),
                    )
                    .on(Kind::Contexts, &r.context)
                    .on(Kind::Clusters, &r.cluster),
                );
            }
            Described::Found(info) => {
                let Some(file) = m.owner_file(Kind::Clusters, &r.cluster) else {
                    continue;
                };
                if !seen.insert((file.path.clone(), r.cluster.clone())) {
                    continue;
                }
                let Some(body) = file.body(Kind::Clusters, &r.cluster) else {
                    continue;
                };
                let at = |code, msg| {
                    Finding::new(code, Severity::Error, &file.path, msg)
                        .on(Kind::Contexts, &r.context)
                        .on(Kind::Clusters, &r.cluster)
                };
                let update = |key: &str, value: &str| Action::UpdateCluster {
                    name: r.cluster.clone(),
                    set: Map::from_iter([(key.to_owned(), json!(value))]),
                };
                let server = body.get("server").and_then(Value::as_str).unwrap_or("");
                if !info.endpoint.is_empty() && !same_server(server, &info.endpoint) {
                    out.push(
                        at(
                            "endpoint-changed",
                            format!(
                                "its server is {server:?}, but EKS cluster {:?} answers at {} (the cluster was recreated)",
                                r.name, info.endpoint
                            ),
                        )
                        .fix(format!("set server to {}", info.endpoint), update("server", &info.endpoint)),
                    );
                }
                // a CA given as a file is left alone: data beside it would make kubectl refuse the entry
                let ca = body
                    .get("certificate-authority-data")
                    .and_then(Value::as_str);
                let ca_file = body
                    .get("certificate-authority")
                    .is_some_and(|v| !v.is_null());
                if !info.ca_data.is_empty()
                    && !ca_file
                    && !ca.is_some_and(|c| same_ca(c, &info.ca_data))
                {
                    out.push(
                        at(
                            "ca-changed",
                            format!(
                                "its certificate-authority-data is not EKS cluster {:?}'s certificate (the cluster was recreated)",
                                r.name
                            ),
                        )
                        .fix(
                            "set certificate-authority-data to the cluster's",
                            update("certificate-authority-data", &info.ca_data),
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
