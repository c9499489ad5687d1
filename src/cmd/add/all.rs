//! `kctx add --all`: every cluster the profiles can see, in one locked, atomic write per file.
//!
//! - Each cluster (by ARN; the first profile that sees it wins) gets update-kubeconfig's three
//!   entries, its user carrying the profile as AWS_PROFILE, and its context a marker in
//!   `extensions` (which client-go keeps) saying kctx made it.
//! - Names: the template, or `{cluster}`, then `{cluster}.{region}`, then
//!   `{cluster}.{region}.{account}` for clusters whose names would collide. Names are decided
//!   once: an existing context keeps its name.
//! - A cluster that already has a context made by hand is left alone; one made by `add --all`
//!   is updated in place (its namespace and other keys kept).
//! - `--prune` removes marked contexts whose cluster is gone — only where this run searched
//!   the profile and region successfully, in the same account.
//! - With `--sso-session S --sso-role-name R`: every account the session sees, the users'
//!   exec being `kctx token … --sso-session S --sso-account-id A --sso-role-name R` (no
//!   AWS_PROFILE), the mark naming the session and role (the first role given that sees a
//!   cluster wins).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use super::{choose_file, Entries, EntryOptions};
use crate::aws::discover::{Found, Scan, Scope};
use crate::cli::{AddArgs, ExecCommand};
use crate::cmd::discover::{effective_profile, scope_of, search};
use crate::kubeconfig::{Kind, Merged, Op, Plan, Transaction};

/// The `extensions` entry that marks a context as made by `add --all`.
pub(crate) const MARK: &str = "kctx/discovered";

const PLACEHOLDERS: [&str; 7] = [
    "cluster",
    "region",
    "account",
    "profile",
    "partition",
    "role",
    "account_name",
];

/// A parsed `--alias-template`.
#[derive(Debug, Clone)]
pub(crate) struct Template(String);

impl Template {
    pub(crate) fn parse(t: &str) -> Result<Self> {
        let mut rest = t;
        while let Some(i) = rest.find('{') {
            let Some(j) = rest[i..].find('}') else {
                bail!("--alias-template {t:?}: a '{{' without '}}'");
            };
            let name = &rest[i + 1..i + j];
            if !PLACEHOLDERS.contains(&name) {
                bail!(
                    "--alias-template {t:?}: unknown placeholder {{{name}}} (known: {})",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(" ")
                );
            }
            rest = &rest[i + j + 1..];
        }
        if rest.contains('}') || t.trim().is_empty() {
            bail!("--alias-template {t:?} is not a usable template");
        }
        Ok(Self(t.to_owned()))
    }

    pub(crate) fn render(&self, c: &Candidate) -> String {
        let mut s = self.0.clone();
        for (k, v) in [
            ("cluster", c.name.as_str()),
            ("region", c.region.as_str()),
            ("account", c.account.as_str()),
            ("profile", c.profile.as_deref().unwrap_or("default")),
            ("partition", c.partition.as_str()),
            ("role", c.sso.as_ref().map_or("", |m| m.role.as_str())),
            (
                "account_name",
                c.found.sso.as_ref().map_or("", |r| r.account_name.as_str()),
            ),
        ] {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }
}

/// A cluster to be written.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) name: String,
    pub(crate) region: String,
    pub(crate) account: String,
    pub(crate) partition: String,
    /// As written into AWS_PROFILE and the marker.
    pub(crate) profile: Option<String>,
    /// With `--sso-session`: the session and role written into the exec and the marker.
    pub(crate) sso: Option<SsoMark>,
    pub(crate) arn: String,
    found: Found,
}

/// The default names, escalating only for the clusters whose name collides (with each other
/// or with a context of another cluster).
pub(crate) fn default_names(new: &[Candidate], taken: &HashSet<String>) -> Result<Vec<String>> {
    const LEVELS: [&str; 3] = [
        "{cluster}",
        "{cluster}.{region}",
        "{cluster}.{region}.{account}",
    ];
    let templates: Vec<Template> = LEVELS.iter().map(|t| Template(t.to_string())).collect();
    let mut level = vec![0usize; new.len()];
    loop {
        let names: Vec<String> = new
            .iter()
            .zip(&level)
            .map(|(c, l)| templates[*l].render(c))
            .collect();
        let mut count: HashMap<&str, usize> = HashMap::new();
        for n in &names {
            *count.entry(n.as_str()).or_default() += 1;
        }
        let clash: Vec<usize> = (0..new.len())
            .filter(|&i| taken.contains(&names[i]) || count[names[i].as_str()] > 1)
            .collect();
        if clash.is_empty() {
            return Ok(names);
        }
        for i in clash {
            if level[i] + 1 == LEVELS.len() {
                bail!(
                    "no free context name for {}: {:?} is taken (choose names with --alias-template)",
                    new[i].arn,
                    names[i]
                );
            }
            level[i] += 1;
        }
    }
}

/// A context of the kubeconfig as read.
struct Existing {
    name: String,
    cluster: String,
    user: String,
    /// `Some(…)` when `add --all` made it.
    mark: Option<Mark>,
}

/// An IAM Identity Center session and role, as the marker names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SsoMark {
    pub(crate) session: String,
    pub(crate) role: String,
}

/// Who `add --all` made a context with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mark {
    Profile(Option<String>),
    Sso(SsoMark),
}

impl Mark {
    fn shown(&self) -> String {
        match self {
            Mark::Profile(p) => p.clone().unwrap_or_else(|| "-".into()),
            Mark::Sso(m) => format!("sso:{}/{}", m.session, m.role),
        }
    }
}

impl Candidate {
    fn mark(&self) -> Mark {
        match &self.sso {
            Some(m) => Mark::Sso(m.clone()),
            None => Mark::Profile(self.profile.clone()),
        }
    }
}

/// What happened to a cluster's context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Added,
    Updated,
    Unchanged,
    /// A context made by hand: left as it is.
    Kept,
    Pruned,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Updated => "updated",
            Change::Unchanged => "unchanged",
            Change::Kept => "kept",
            Change::Pruned => "pruned",
        }
    }
}

/// One line of the report.
struct Row {
    change: Change,
    context: String,
    cluster: String,
    profile: String,
}

/// The marker when `body` (a context's body) carries it.
fn marker(body: &Map<String, Value>) -> Option<Mark> {
    body.get("extensions")?
        .as_array()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(MARK))
        .map(|e| {
            let get = |k: &str| {
                e.get("extension")
                    .and_then(|x| x.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            match (get("sso_session"), get("sso_role_name")) {
                (Some(session), Some(role)) => Mark::Sso(SsoMark { session, role }),
                _ => Mark::Profile(get("profile")),
            }
        })
}

/// `extensions` with `mark` (other extensions kept, in place).
fn marked_extensions(old: Option<&Value>, mark: &Mark) -> Value {
    let mark = match mark {
        Mark::Profile(Some(p)) => json!({"name": MARK, "extension": {"profile": p}}),
        Mark::Profile(None) => json!({"name": MARK, "extension": {}}),
        Mark::Sso(m) => {
            json!({"name": MARK, "extension": {"sso_session": m.session, "sso_role_name": m.role}})
        }
    };
    let mut list: Vec<Value> = old.and_then(Value::as_array).cloned().unwrap_or_default();
    match list
        .iter_mut()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(MARK))
    {
        Some(e) => *e = mark,
        None => list.push(mark),
    }
    Value::Array(list)
}

/// Whether a user body already says what `new` says: the same exec, give or take the
/// defaults kubectl writes when it saves the file (`interactiveMode: IfAvailable`,
/// `provideClusterInfo: false`, an empty `installHint`, `env: null`).
fn same_user(old: Option<&Map<String, Value>>, new: Option<&Map<String, Value>>) -> bool {
    let (Some(old), Some(new)) = (old, new) else {
        return false;
    };
    let exec = |m: &Map<String, Value>| m.get("exec").and_then(Value::as_object).cloned();
    let (Some(mut o), Some(n)) = (exec(old), exec(new)) else {
        return old == new;
    };
    for (k, default) in [
        ("interactiveMode", json!("IfAvailable")),
        ("provideClusterInfo", json!(false)),
        ("installHint", json!("")),
    ] {
        if !n.contains_key(k) && o.get(k) == Some(&default) {
            o.remove(k);
        }
    }
    // kubectl writes the lists it read as absent as `null` (`env: null`)
    o.retain(|k, v| !v.is_null() || n.contains_key(k));
    old.len() == new.len() && o == n
}

pub(crate) fn run(a: &AddArgs) -> Result<ExitCode> {
    let template = a
        .alias_template
        .as_deref()
        .map(Template::parse)
        .transpose()?;
    let mut scope = scope_of(&a.scope, true)?;
    if let Some(sso) = &mut scope.sso {
        if a.exec == ExecCommand::Aws {
            bail!("--exec aws cannot sign in with an IAM Identity Center session (`aws eks get-token` has no such flags): leave --exec at kctx, or use profiles");
        }
        // without a role only the roles are listed, to say which exist
        sso.filter.credentials = !sso.filter.roles.is_empty();
    }
    let scan = search(&scope, a.prune)?;
    need_roles(&scope, &scan)?;
    let candidates = candidates(&scope, &scan);

    super::super::contexts::note_if_isolated("add");
    let files: Vec<PathBuf> = match &a.kubeconfig {
        Some(k) => vec![crate::paths::expand_tilde(k)],
        None => crate::session::library_paths(),
    };
    // decided from what is read under the locks (nothing is locked for a dry run)
    let tx = if a.dry_run {
        None
    } else {
        Some(Transaction::begin(&files, &[])?)
    };
    let loaded;
    let m: &Merged = match &tx {
        Some(t) => &t.merged,
        None => {
            loaded = Merged::load_paths(&files);
            &loaded
        }
    };
    m.require_readable()?;
    // with --kubeconfig F, contexts in the other KUBECONFIG files may use F's entries too
    let mut others = Vec::new();
    if let (Some(f), true) = (&a.kubeconfig, a.prune) {
        let target = crate::paths::absolute(&crate::paths::expand_tilde(f));
        let library = Merged::load_paths(&crate::session::library_paths());
        for file in library
            .readable()
            .filter(|k| crate::paths::absolute(&k.path) != target)
        {
            for name in file.names(Kind::Contexts) {
                let field = |k: &str| file.field(Kind::Contexts, name, k).unwrap_or("").to_owned();
                others.push(Existing {
                    name: name.to_owned(),
                    cluster: field("cluster"),
                    user: field("user"),
                    mark: None,
                });
            }
        }
    }
    let settings = Settings {
        template: template.as_ref(),
        role_arn: a.role_arn.as_deref(),
        exec: a.exec,
        proxy_url: a.proxy_url.as_deref(),
        prune: a.prune.then(|| Pruning::of(&scan)),
        used_elsewhere: others,
    };
    let bulk = decide(m, &candidates, &settings)?;
    let (table, summary) = report(&bulk.rows);
    match &tx {
        Some(tx) => {
            // the table says what happened: printed once the write has
            let written = if bulk.plan.is_empty() {
                Vec::new()
            } else {
                tx.commit(bulk.plan)?
            };
            print!("{table}");
            let shown: Vec<String> = written
                .iter()
                .map(|p| crate::paths::absolute(p).display().to_string())
                .collect();
            if shown.is_empty() {
                println!("{summary}; nothing to write");
            } else {
                println!("{summary} in {}", shown.join(", "));
            }
        }
        None => {
            print!("{table}");
            println!("dry run: {summary}; nothing written");
        }
    }
    Ok(if scan.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// With `--sso-session` and no `--sso-role-name`: the roles there are, as the error.
fn need_roles(scope: &Scope, scan: &Scan) -> Result<()> {
    let (Some(sso), Some(seen)) = (&scope.sso, &scan.sso) else {
        return Ok(());
    };
    if !sso.filter.roles.is_empty() {
        return Ok(());
    }
    let counts = crate::aws::sso::accounts::role_counts(&seen.roles);
    bail!(
        "add --all --sso-session {} needs --sso-role-name ROLE, the role each context signs with; the session's roles: {}",
        sso.session,
        crate::cmd::discover::role_list(&counts)
    )
}

/// One candidate per cluster ARN — the first profile (or SSO role) in the order given that
/// sees it — among the clusters whose endpoint is usable.
fn candidates(scope: &Scope, scan: &Scan) -> Vec<Candidate> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    // SSO roles in the order given
    let mut clusters: Vec<&Found> = scan.clusters.iter().collect();
    if let Some(sso) = &scope.sso {
        let rank = |f: &Found| {
            f.sso
                .as_ref()
                .and_then(|r| sso.filter.roles.iter().position(|x| *x == r.role))
                .unwrap_or(usize::MAX)
        };
        clusters.sort_by_key(|f| rank(f));
    }
    for f in clusters {
        let Some(info) = &f.info else { continue };
        if info.arn.is_empty() || !seen.insert(info.arn.clone()) {
            continue;
        }
        if info.status != "ACTIVE" && info.status != "UPDATING" {
            eprintln!(
                "kctx: note: skipping cluster {} ({}): it is {}, its endpoint is not usable yet",
                f.name,
                info.arn,
                if info.status.is_empty() {
                    "in an unknown state"
                } else {
                    &info.status
                }
            );
            continue;
        }
        let parts: Vec<&str> = info.arn.split(':').collect();
        out.push(Candidate {
            name: f.name.clone(),
            region: f.region.clone(),
            account: parts.get(4).copied().unwrap_or("").to_owned(),
            partition: parts.get(1).copied().unwrap_or("aws").to_owned(),
            profile: if f.sso.is_some() {
                None
            } else {
                effective_profile(&f.profile)
            },
            sso: scope
                .sso
                .as_ref()
                .zip(f.sso.as_ref())
                .map(|(s, r)| SsoMark {
                    session: s.session.clone(),
                    role: r.role.clone(),
                }),
            arn: info.arn.clone(),
            found: f.clone(),
        });
    }
    out
}

/// How entries are written, and what may be pruned.
struct Settings<'a> {
    template: Option<&'a Template>,
    role_arn: Option<&'a str>,
    exec: ExecCommand,
    proxy_url: Option<&'a str>,
    prune: Option<Pruning>,
    /// Contexts of kubeconfig files outside this write (`--kubeconfig F` while KUBECONFIG
    /// names others): what they use is never pruned.
    used_elsewhere: Vec<Existing>,
}

impl Settings<'_> {
    fn entries(&self, c: &Candidate, user: &str, context: &str) -> Entries {
        let info = c.found.info.clone().expect("candidates are described");
        let sso = c.sso.as_ref().map(|m| super::SsoExec {
            session: &m.session,
            account_id: &c.account,
            role_name: &m.role,
        });
        let opts = EntryOptions {
            profile: c.profile.as_deref(),
            role_arn: self.role_arn,
            exec: self.exec,
            proxy_url: self.proxy_url,
            sso,
        };
        Entries::new(&info, &c.name, &c.region, &opts, user, context)
    }
}

/// What `--prune` may remove: contexts of clusters this run did not find, in a profile and
/// region it searched successfully, in the same account.
struct Pruning {
    discovered: HashSet<String>,
    searched: HashSet<(Option<String>, String)>,
    accounts: HashMap<Option<String>, String>,
    /// The session searched, and its (account, role, region) searched completely.
    sso_session: Option<String>,
    sso_searched: HashSet<(String, String, String)>,
}

impl Pruning {
    fn of(scan: &Scan) -> Self {
        Self {
            discovered: scan
                .clusters
                .iter()
                .filter_map(|f| f.arn().map(str::to_owned))
                .collect(),
            searched: scan
                .searched
                .iter()
                .map(|(p, r)| (effective_profile(p), r.clone()))
                .collect(),
            accounts: scan
                .accounts
                .iter()
                .map(|(p, acct)| (effective_profile(p), acct.clone()))
                .collect(),
            sso_session: scan.sso.as_ref().map(|s| s.session.clone()),
            sso_searched: scan
                .sso_searched
                .iter()
                .map(|(r, region)| (r.account_id.clone(), r.role.clone(), region.clone()))
                .collect(),
        }
    }

    /// Whether a marked context of `cluster` made with `mark` is gone.
    fn gone(&self, cluster: &str, mark: &Mark) -> bool {
        let parts: Vec<&str> = cluster.split(':').collect();
        let (Some(region), Some(account)) = (parts.get(3), parts.get(4)) else {
            return false;
        };
        let profile = match mark {
            Mark::Profile(p) => p,
            Mark::Sso(m) => {
                return !self.discovered.contains(cluster)
                    && self.sso_session.as_deref() == Some(m.session.as_str())
                    && self.sso_searched.contains(&(
                        (*account).to_owned(),
                        m.role.clone(),
                        (*region).to_owned(),
                    ))
            }
        };
        !self.discovered.contains(cluster)
            && self
                .searched
                .contains(&(profile.clone(), (*region).to_owned()))
            && self.accounts.get(profile).map(String::as_str) == Some(*account)
    }
}

/// The changes, and the report's rows.
struct Bulk {
    plan: Plan,
    rows: Vec<Row>,
}

/// Decides every change from the kubeconfig as read and the clusters found: no call, no
/// write. Each known cluster is refreshed (when `add --all` made its context) or kept (when
/// a person did); new ones get names; with pruning, vanished ones go.
fn decide(m: &Merged, candidates: &[Candidate], s: &Settings<'_>) -> Result<Bulk> {
    let target = choose_file(m, None, "");
    let contexts = existing(m);
    let taken: HashSet<String> = contexts.iter().map(|c| c.name.clone()).collect();
    let owner_or = |kind: Kind, name: &str| {
        m.owner(kind, name)
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| target.clone())
    };
    let mut bulk = Bulk {
        plan: Plan::default(),
        rows: Vec::new(),
    };
    let mut new: Vec<Candidate> = Vec::new();
    for c in candidates {
        let have: Vec<&Existing> = contexts.iter().filter(|x| x.cluster == c.arn).collect();
        if have.is_empty() {
            new.push(c.clone());
            continue;
        }
        match have.iter().find(|x| x.mark.is_some()) {
            Some(mine) => refresh(m, &contexts, c, mine, s, &owner_or, &mut bulk),
            None => bulk.rows.push(Row {
                change: Change::Kept,
                context: have
                    .iter()
                    .map(|x| x.name.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                cluster: c.arn.clone(),
                profile: "-".into(),
            }),
        }
    }
    let names = names_for(&new, &taken, s.template)?;
    for (c, name) in new.iter().zip(names) {
        let user = c.arn.clone();
        let e = s.entries(c, &user, &name);
        let mut context = e.context.clone();
        if let Some(Value::Object(body)) = context.get_mut("context") {
            body.insert("extensions".into(), marked_extensions(None, &c.mark()));
        }
        bulk.plan.push(
            &owner_or(Kind::Clusters, &c.arn),
            Op::Upsert {
                kind: Kind::Clusters,
                entry: e.cluster.clone(),
                merge: true,
            },
        );
        bulk.plan.push(
            &owner_or(Kind::Users, &user),
            Op::Upsert {
                kind: Kind::Users,
                entry: e.user.clone(),
                merge: false,
            },
        );
        bulk.plan.push(
            &target,
            Op::Upsert {
                kind: Kind::Contexts,
                entry: context,
                merge: false,
            },
        );
        bulk.rows.push(Row {
            change: Change::Added,
            context: name,
            cluster: c.arn.clone(),
            profile: c.mark().shown(),
        });
    }
    if let Some(p) = &s.prune {
        prune(m, &contexts, &s.used_elsewhere, p, &mut bulk);
    }
    Ok(bulk)
}

/// The contexts of the kubeconfig as read.
fn existing(m: &Merged) -> Vec<Existing> {
    m.names(Kind::Contexts)
        .into_iter()
        .map(|name| {
            let body = m.body(Kind::Contexts, &name).unwrap_or_default();
            let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            Existing {
                cluster: field("cluster"),
                user: field("user"),
                mark: marker(&body),
                name,
            }
        })
        .collect()
}

/// Refreshes a context `add --all` made, under its own name and user; a user entry that
/// hand-made contexts share is theirs too, and is left as it is.
fn refresh(
    m: &Merged,
    contexts: &[Existing],
    c: &Candidate,
    mine: &Existing,
    s: &Settings<'_>,
    owner_or: &dyn Fn(Kind, &str) -> PathBuf,
    bulk: &mut Bulk,
) {
    let (ctx, user) = (&mine.name, &mine.user);
    let e = s.entries(c, user, ctx);
    let old_ctx = m.body(Kind::Contexts, ctx).unwrap_or_default();
    let mut ctx_body = old_ctx.clone();
    ctx_body.insert("cluster".into(), c.arn.clone().into());
    ctx_body.insert("user".into(), user.clone().into());
    ctx_body.insert(
        "extensions".into(),
        marked_extensions(old_ctx.get("extensions"), &c.mark()),
    );
    let cluster_changed = match (m.body(Kind::Clusters, &c.arn), e.cluster.get("cluster")) {
        (Some(old), Some(Value::Object(new_body))) => {
            new_body.iter().any(|(k, v)| old.get(k) != Some(v))
        }
        _ => true,
    };
    let mut user_changed = !same_user(
        m.body(Kind::Users, user).as_ref(),
        e.user.get("user").and_then(Value::as_object),
    );
    // a user entry that hand-made contexts share (e.g. one `kctx add --alias … --role-arn`
    // changed) is theirs too: a bulk refresh does not change how they sign
    let sharing: Vec<&str> = if user_changed {
        contexts
            .iter()
            .filter(|x| x.user == *user && x.name != *ctx && x.mark.is_none())
            .map(|x| x.name.as_str())
            .collect()
    } else {
        Vec::new()
    };
    if !sharing.is_empty() {
        eprintln!(
            "kctx: note: user {user:?} of context {ctx:?} is kept as it is: hand-made context(s) {} use it too (`kctx add {} --alias {ctx}` changes it for all of them)",
            sharing
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            c.name
        );
        user_changed = false;
    }
    let ctx_changed = ctx_body != old_ctx;
    if cluster_changed {
        bulk.plan.push(
            &owner_or(Kind::Clusters, &c.arn),
            Op::Upsert {
                kind: Kind::Clusters,
                entry: e.cluster.clone(),
                merge: true,
            },
        );
    }
    if user_changed {
        bulk.plan.push(
            &owner_or(Kind::Users, user),
            Op::Upsert {
                kind: Kind::Users,
                entry: e.user.clone(),
                merge: false,
            },
        );
    }
    if ctx_changed {
        let entry = super::obj(json!({"context": Value::Object(ctx_body), "name": ctx}));
        bulk.plan.push(
            &owner_or(Kind::Contexts, ctx),
            Op::Upsert {
                kind: Kind::Contexts,
                entry,
                merge: false,
            },
        );
    }
    bulk.rows.push(Row {
        change: if cluster_changed || user_changed || ctx_changed {
            Change::Updated
        } else {
            Change::Unchanged
        },
        context: ctx.clone(),
        cluster: c.arn.clone(),
        profile: c.mark().shown(),
    });
}

/// Names for the new contexts: the template's (refused when two clusters would share one or
/// a name is taken), else the default names.
fn names_for(
    new: &[Candidate],
    taken: &HashSet<String>,
    template: Option<&Template>,
) -> Result<Vec<String>> {
    let Some(t) = template else {
        return default_names(new, taken);
    };
    let names: Vec<String> = new.iter().map(|c| t.render(c)).collect();
    let mut problems = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            continue;
        }
        let same: Vec<&str> = new
            .iter()
            .zip(&names)
            .filter(|(_, x)| *x == n)
            .map(|(c, _)| c.arn.as_str())
            .collect();
        if same.len() > 1 {
            problems.push(format!(
                "{n:?} to {} clusters ({})",
                same.len(),
                same.join(", ")
            ));
        } else if taken.contains(n) {
            problems.push(format!(
                "{n:?}, which already names a context of another cluster"
            ));
        }
    }
    if !problems.is_empty() {
        bail!(
            "--alias-template {:?} gives {}; add {{region}}, {{account}} or {{profile}} to it",
            t.0,
            problems.join("; ")
        );
    }
    Ok(names)
}

/// Removes marked contexts whose cluster is gone (hand-made ones never), with their cluster
/// and user entries when no context that stays uses them. A pruned current context is
/// unset first, as `kctx rm` does it.
fn prune(m: &Merged, contexts: &[Existing], elsewhere: &[Existing], p: &Pruning, bulk: &mut Bulk) {
    let gone: Vec<&Existing> = contexts
        .iter()
        .filter(|x| x.mark.as_ref().is_some_and(|mark| p.gone(&x.cluster, mark)))
        .collect();
    let pruned: HashSet<&str> = gone.iter().map(|x| x.name.as_str()).collect();
    // what the contexts that stay still use
    let kept = || {
        contexts
            .iter()
            .filter(|x| !pruned.contains(x.name.as_str()))
            .chain(elsewhere)
    };
    let used_clusters: HashSet<&str> = kept().map(|x| x.cluster.as_str()).collect();
    let used_users: HashSet<&str> = kept().map(|x| x.user.as_str()).collect();
    if let Some(cc) = m.current_context().filter(|c| pruned.contains(c)) {
        eprintln!("kctx: note: the current context {cc:?} is pruned: current-context is unset");
        let mut first = Plan::default();
        first.push(
            &m.current_context_file(),
            Op::SetCurrentContext(String::new()),
        );
        first.extend(std::mem::take(&mut bulk.plan));
        bulk.plan = first;
    }
    let mut removed: HashSet<(Kind, String)> = HashSet::new();
    for x in gone {
        let mut remove = |kind: Kind, name: &str| {
            if !removed.insert((kind, name.to_owned())) {
                return;
            }
            if let Some(path) = m.owner(kind, name) {
                bulk.plan.push(
                    path,
                    Op::Remove {
                        kind,
                        name: name.to_owned(),
                    },
                );
            }
        };
        remove(Kind::Contexts, &x.name);
        if !used_clusters.contains(x.cluster.as_str()) {
            remove(Kind::Clusters, &x.cluster);
        }
        if !used_users.contains(x.user.as_str()) {
            remove(Kind::Users, &x.user);
        }
        bulk.rows.push(Row {
            change: Change::Pruned,
            context: x.name.clone(),
            cluster: x.cluster.clone(),
            profile: x.mark.as_ref().map_or("-".into(), Mark::shown),
        });
    }
}

/// The change table and its one-line summary.
fn report(rows: &[Row]) -> (String, String) {
    let count = |what: Change| rows.iter().filter(|r| r.change == what).count();
    let summary = format!(
        "{} added, {} updated, {} unchanged, {} pruned{}",
        count(Change::Added),
        count(Change::Updated),
        count(Change::Unchanged),
        count(Change::Pruned),
        match count(Change::Kept) {
            0 => String::new(),
            n => format!(", {n} kept (contexts not made by add --all)"),
        }
    );
    if rows.is_empty() {
        return (String::new(), summary);
    }
    let mut table = vec![["CHANGE", "CONTEXT", "CLUSTER", "PROFILE"].map(String::from)];
    for r in rows {
        table.push([
            r.change.as_str().into(),
            r.context.clone(),
            r.cluster.clone(),
            r.profile.clone(),
        ]);
    }
    (crate::cmd::render_table(&table), summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(name: &str, region: &str, account: &str) -> Candidate {
        Candidate {
            name: name.into(),
            region: region.into(),
            account: account.into(),
            partition: "aws".into(),
            profile: None,
            sso: None,
            arn: format!("arn:aws:eks:{region}:{account}:cluster/{name}"),
            found: Found {
                name: name.into(),
                region: region.into(),
                profile: None,
                info: None,
                sso: None,
            },
        }
    }

    #[test]
    fn default_names_escalate_only_where_they_collide() {
        let new = [
            cand("api", "us-west-2", "111111111111"),
            cand("api", "eu-west-1", "111111111111"),
            cand("web", "us-west-2", "111111111111"),
            cand("db", "us-west-2", "111111111111"),
            cand("db", "us-west-2", "222222222222"),
            cand("old", "us-west-2", "111111111111"),
        ];
        let taken: HashSet<String> = ["old".to_owned()].into();
        assert_eq!(
            default_names(&new, &taken).unwrap(),
            [
                "api.us-west-2",
                "api.eu-west-1",
                "web",
                "db.us-west-2.111111111111",
                "db.us-west-2.222222222222",
                "old.us-west-2"
            ]
        );
        let taken: HashSet<String> =
            ["x.us-west-2.1".to_owned(), "x".into(), "x.us-west-2".into()].into();
        assert!(default_names(&[cand("x", "us-west-2", "1")], &taken).is_err());
    }

    #[test]
    fn templates_check_their_placeholders() {
        let t = Template::parse("{profile}/{cluster}@{region}").unwrap();
        assert_eq!(
            t.render(&cand("api", "us-west-2", "1")),
            "default/api@us-west-2"
        );
        assert!(Template::parse("{cluster}-{acount}")
            .unwrap_err()
            .to_string()
            .contains("unknown placeholder {acount}"));
        assert!(Template::parse("{cluster").is_err());
        assert!(Template::parse("a}").is_err());
    }

    fn described(name: &str, region: &str, account: &str) -> Candidate {
        let mut c = cand(name, region, account);
        c.profile = Some("dev".into());
        c.found.info = Some(crate::aws::ClusterInfo {
            name: name.into(),
            arn: c.arn.clone(),
            endpoint: format!("https://{name}.example"),
            ca_data: "QUJD".into(),
            status: "ACTIVE".into(),
            version: "1.33".into(),
            id: None,
            outpost: false,
        });
        c
    }

    #[test]
    fn decide_refreshes_its_own_keeps_hand_made_names_new_and_prunes_the_vanished() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("config");
        let arn = |n: &str| format!("arn:aws:eks:us-west-2:111111111111:cluster/{n}");
        let mark = r#"extensions: [{name: kctx/discovered, extension: {profile: dev}}]"#;
        std::fs::write(
            &f,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: {a}\n  cluster: {{server: https://old.example}}\n- name: {g}\n  cluster: {{server: https://gone.example}}\ncontexts:\n- name: api\n  context: {{cluster: {a}, user: {a}, namespace: web, {mark}}}\n- name: mine\n  context: {{cluster: {h}, user: me}}\n- name: gone\n  context: {{cluster: {g}, user: {g}, {mark}}}\n- name: web\n  context: {{cluster: elsewhere, user: me}}\nusers:\n- name: me\n  user: {{token: t}}\n",
                a = arn("api"),
                g = arn("gone"),
                h = arn("hand"),
            ),
        )
        .unwrap();
        let m = Merged::load_paths(std::slice::from_ref(&f));
        let found = [
            described("api", "us-west-2", "111111111111"),
            described("hand", "us-west-2", "111111111111"),
            described("web", "us-west-2", "111111111111"),
        ];
        let scan = Scan {
            clusters: found.iter().map(|c| c.found.clone()).collect(),
            failures: vec![],
            searched: vec![(Some("dev".into()), "us-west-2".into())],
            not_enabled: vec![],
            accounts: vec![(Some("dev".into()), "111111111111".into())],
            ..Scan::default()
        };
        let settings = Settings {
            template: None,
            role_arn: None,
            exec: ExecCommand::Kctx,
            proxy_url: None,
            prune: Some(Pruning::of(&scan)),
            used_elsewhere: vec![],
        };
        let bulk = decide(&m, &found, &settings).unwrap();
        let rows: Vec<(Change, &str)> = bulk
            .rows
            .iter()
            .map(|r| (r.change, r.context.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                (Change::Updated, "api"),
                (Change::Kept, "mine"),
                // "web" names a context of another cluster: the name escalates
                (Change::Added, "web.us-west-2"),
                (Change::Pruned, "gone"),
            ]
        );
        let (table, summary) = report(&bulk.rows);
        assert!(table.starts_with("CHANGE"), "{table}");
        assert_eq!(
            summary,
            "1 added, 1 updated, 0 unchanged, 1 pruned, 1 kept (contexts not made by add --all)"
        );
        // nothing was written: deciding is pure
        let before = std::fs::read_to_string(&f).unwrap();
        let tx = Transaction::begin(std::slice::from_ref(&f), &[]).unwrap();
        tx.commit(bulk.plan).unwrap();
        drop(tx);
        let after = KubeFileView::read(&f);
        assert_ne!(before, after.text);
        assert_eq!(after.current, None, "a pruned current context is unset");
        assert_eq!(
            after.namespace("api").as_deref(),
            Some("web"),
            "its namespace kept"
        );
        assert!(!after.text.contains("gone.example"));
    }

    /// The parts of a written file the test looks at.
    struct KubeFileView {
        text: String,
        current: Option<String>,
        m: Merged,
    }

    impl KubeFileView {
        fn read(f: &std::path::Path) -> Self {
            let m = Merged::load_paths(&[f.to_path_buf()]);
            Self {
                text: std::fs::read_to_string(f).unwrap(),
                current: m.current_context().map(str::to_owned),
                m,
            }
        }

        fn namespace(&self, ctx: &str) -> Option<String> {
            self.m
                .field(Kind::Contexts, ctx, "namespace")
                .map(str::to_owned)
        }
    }
}
