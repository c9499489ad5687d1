//! `kctx add NAME`: `aws eks update-kubeconfig` parity, with a locked, atomic write;
//! `kctx add --all` (in `all.rs`): every cluster discovered, in one write.

mod all;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use super::Run;
use crate::aws::{self, AwsArgs, ClusterInfo, RoleRequest};
use crate::cli::{AddArgs, ExecCommand};
use crate::exec_credential::V1BETA1;
use crate::kubeconfig::{self, ops, Kind, KubeFile, Merged, Op, Plan, Transaction};
use crate::yaml::emit::{self, Style};

impl Run for AddArgs {
    fn run(&self) -> Result<ExitCode> {
        if let Some(c) = &self.exec_command {
            if c.trim().is_empty() {
                bail!("--exec-command: empty command");
            }
            let _ = EXEC_COMMAND.set(c.clone());
        }
        let code = if self.all {
            all::run(self)?
        } else {
            self.add_one()?
        };
        if self.exec == ExecCommand::Kctx && !self.dry_run && self.exec_command.is_none() {
            let c = kctx_command();
            if c.starts_with('/') {
                eprintln!("note: the user entries run kctx by its path, {c}, as no `kctx` on PATH is this binary: kubectl stops working if it moves. Put kctx on PATH and add again, or pass --exec-command kctx");
            }
        }
        Ok(code)
    }
}

/// `--exec-command`: the command exec entries run instead of [`kctx_command`]'s choice.
static EXEC_COMMAND: std::sync::OnceLock<String> = std::sync::OnceLock::new();

impl AddArgs {
    fn add_one(&self) -> Result<ExitCode> {
        let s = &self.scope;
        if s.profiles.len() > 1 || s.regions.len() > 1 || s.all_profiles || s.all_regions {
            bail!("several profiles or regions are searched only with --all (kctx add --all …, or kctx discover …); one cluster takes one --profile and one --region");
        }
        if s.sso_session.is_some() && (s.sso_accounts.len() != 1 || s.sso_roles.len() != 1) {
            bail!("one cluster with --sso-session takes one --sso-account-id and one --sso-role-name (kctx add --all --sso-session … adds every account's clusters)");
        }
        if s.sso_session.is_some() && self.exec == ExecCommand::Aws {
            bail!("--exec aws cannot sign in with an IAM Identity Center session (`aws eks get-token` has no such flags): leave --exec at kctx, or use a profile");
        }
        let info = self.describe()?;
        if info.status != "ACTIVE" && info.status != "UPDATING" {
            bail!(
                "EKS cluster {:?} is {}, not ACTIVE or UPDATING: its endpoint and certificate are not usable yet",
                info.name,
                if info.status.is_empty() { "in an unknown state" } else { &info.status }
            );
        }
        let entries = self.entries(&info)?;
        super::contexts::note_if_isolated("add");
        let paths = crate::session::library_paths();
        let extras: Vec<PathBuf> = self
            .kubeconfig
            .iter()
            .map(|p| crate::paths::expand_tilde(p))
            .collect();

        if self.dry_run {
            // nothing is written, so nothing is locked
            let m = Merged::load_paths(&paths);
            let path = choose_file(&m, extras.first(), &info.arn);
            let file = KubeFile::load(&path)?;
            let text = match ops::apply(&file, &entries.ops())? {
                Some(e) => e.text(&file.doc.text),
                None => file.doc.text.clone(),
            };
            print!("{text}");
            return Ok(ExitCode::SUCCESS);
        }
        // The file is chosen, and every change decided, from what is read under the locks.
        let tx = Transaction::begin(&paths, &extras)?;
        let path = choose_file(&tx.merged, extras.first(), &info.arn);
        // "Updated" only for a context that was there (update-kubeconfig says "Updated"
        // whenever the cluster was, even for a new alias)
        let file = tx.get(&path);
        let updated = file.is_some_and(|f| f.has(Kind::Contexts, entries.context_name()));
        let shared = file
            .map(|f| shared_user_note(f, &entries))
            .unwrap_or_default();
        let mut plan = Plan::default();
        for op in entries.ops() {
            plan.push(&path, op);
        }
        // update-kubeconfig sets current-context in the file it writes. When an earlier
        // KUBECONFIG file sets one, that one is what kubectl uses: set it there too, after the
        // entries are written (a crash between leaves the old, valid current context).
        if extras.is_empty() && tx.merged.files.iter().any(|f| f.path == path) {
            let cc_file = tx.merged.current_context_file();
            if cc_file != path {
                plan.push(
                    &cc_file,
                    Op::SetCurrentContext(entries.context_name().to_owned()),
                );
            }
        }
        tx.commit(plan)?;
        let shown = crate::paths::absolute(&path);
        if updated {
            println!(
                "Updated context {} in {}",
                entries.context_name(),
                shown.display()
            );
        } else {
            println!(
                "Added new context {} to {}",
                entries.context_name(),
                shown.display()
            );
        }
        if let Some(note) = shared {
            eprintln!("kctx: note: {note}");
        }
        if self.verbose {
            print!("Entries:\n\n");
            for e in [&entries.context, &entries.user, &entries.cluster] {
                println!(
                    "{}",
                    emit::document(&Value::Object(e.clone()), &Style::default())
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The three entries update-kubeconfig writes, in its key order.
struct Entries {
    cluster: Map<String, Value>,
    user: Map<String, Value>,
    context: Map<String, Value>,
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("json! of an object"),
    }
}

impl Entries {
    fn name(m: &Map<String, Value>) -> &str {
        m.get("name").and_then(Value::as_str).unwrap_or("")
    }

    fn context_name(&self) -> &str {
        Self::name(&self.context)
    }

    /// The changes to the chosen file.
    ///
    /// Same-name entries are updated in place. Unlike update-kubeconfig, which replaces them
    /// whole, keys kctx does not manage survive: a context keeps its `namespace`, a cluster
    /// its `extensions` or `tls-server-name`. The user's body is replaced whole: it is the
    /// credential, and a stale `token` beside the new `exec` would win in kubectl.
    fn ops(&self) -> Vec<Op> {
        vec![
            Op::Upsert {
                kind: Kind::Clusters,
                entry: self.cluster.clone(),
                merge: true,
            },
            Op::Upsert {
                kind: Kind::Users,
                entry: self.user.clone(),
                merge: false,
            },
            Op::Upsert {
                kind: Kind::Contexts,
                entry: self.context.clone(),
                merge: true,
            },
            Op::SetCurrentContext(self.context_name().to_owned()),
        ]
    }
}

/// When the add changes a user entry that other contexts use too, what they now sign with.
fn shared_user_note(file: &KubeFile, entries: &Entries) -> Option<String> {
    let user = Entries::name(&entries.user);
    let old = file.body(Kind::Users, user)?;
    let new = entries.user.get("user")?.as_object()?;
    if &old == new {
        return None;
    }
    let others: Vec<String> = file
        .names(Kind::Contexts)
        .filter(|c| *c != entries.context_name())
        .filter(|c| file.field(Kind::Contexts, c, "user") == Some(user))
        .map(|c| format!("{c:?}"))
        .collect();
    if others.is_empty() {
        return None;
    }
    let who = |b: &Map<String, Value>| {
        kubeconfig::EksExec::from_user(b).map_or_else(
            || "their own credentials".to_owned(),
            |e| match (e.role_arn, e.profile) {
                (Some(r), Some(p)) => format!("role {r} (profile {p})"),
                (Some(r), None) => format!("role {r}"),
                (None, Some(p)) => format!("profile {p}"),
                (None, None) => "the default credentials".to_owned(),
            },
        )
    };
    Some(format!(
        "user {user:?} changed from {} to {}; context{} {} {} it too and now {} with it",
        who(&old),
        who(new),
        if others.len() == 1 { "" } else { "s" },
        others.join(", "),
        if others.len() == 1 { "uses" } else { "use" },
        if others.len() == 1 { "signs" } else { "sign" }
    ))
}

/// `--kubeconfig`; else the first KUBECONFIG file that already has this cluster; else the
/// first KUBECONFIG file; else ~/.kube/config.
fn choose_file(m: &Merged, explicit: Option<&PathBuf>, cluster_arn: &str) -> PathBuf {
    if let Some(p) = explicit {
        return p.clone();
    }
    let chosen = m
        .files
        .iter()
        .find(|f| {
            f.file
                .as_ref()
                .is_some_and(|k| k.has(Kind::Clusters, cluster_arn))
        })
        .or(m.files.first())
        .map(|f| f.path.clone())
        .unwrap_or_else(kubeconfig::default_path);
    // A broken file we are about to write reports its own error; others are skipped.
    for f in m.files.iter().filter(|f| f.path != chosen) {
        if let Some(e) = &f.error {
            eprintln!("kctx: warning: skipping {}: {e}", f.path.display());
        }
    }
    chosen
}

impl AddArgs {
    /// The positional name or `--name` (clap requires one).
    fn cluster_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.name_flag.as_deref())
            .expect("clap requires a cluster name")
    }

    /// `--sso-session` with its one account and role.
    fn sso(&self) -> Option<SsoExec<'_>> {
        let s = &self.scope;
        Some(SsoExec {
            session: s.sso_session.as_deref()?,
            account_id: s.sso_accounts.first()?,
            role_name: s.sso_roles.first()?,
        })
    }

    fn aws_args(&self) -> AwsArgs {
        AwsArgs {
            profile: self.scope.profiles.first().cloned(),
            region: self.scope.regions.first().cloned(),
        }
    }

    fn describe(&self) -> Result<ClusterInfo> {
        let args = self.aws_args();
        let mut profiles = None;
        let mut rt = None;
        let target = aws::resolve_target(&args, &mut profiles)?;
        let mut creds = match self.sso() {
            Some(s) => {
                let t =
                    aws::sso::explicit_target(&mut profiles, s.session, s.account_id, s.role_name)?;
                aws::sso::role_credentials(&t, aws::get_runtime(&mut rt)?)?
            }
            None => aws::sso::base_credentials(&args, &target, &mut profiles, &mut rt)?,
        };
        let rt = aws::get_runtime(&mut rt)?;
        if let Some(arn) = &self.assume_role_arn {
            let req = RoleRequest {
                role_arn: arn,
                session_name: "EKSDescribeClusterSession",
                external_id: None,
            };
            creds = aws::assume_role(rt, creds, &target, &req)?;
        }
        aws::describe_cluster(rt, creds, &target, self.cluster_name())
    }

    fn entries(&self, info: &ClusterInfo) -> Result<Entries> {
        let region = match (info.arn_region(), self.scope.regions.first()) {
            (Some(r), _) => r.to_owned(),
            (None, Some(r)) => r.clone(),
            (None, None) => bail!("EKS returned no ARN for cluster {:?}", info.name),
        };
        let sso = self.sso();
        let profile = aws::profile_name(self.scope.profiles.first().map(String::as_str))
            .filter(|_| sso.is_none());
        let user_name = self.user_alias.clone().unwrap_or_else(|| info.arn.clone());
        let context_name = self.alias.clone().unwrap_or_else(|| user_name.clone());
        Ok(Entries::new(
            info,
            self.cluster_name(),
            &region,
            &EntryOptions {
                profile: profile.as_deref(),
                role_arn: self.role_arn.as_deref(),
                exec: self.exec,
                proxy_url: self.proxy_url.as_deref(),
                sso,
            },
            &user_name,
            &context_name,
        ))
    }
}

/// What shapes the entries besides the cluster.
struct EntryOptions<'a> {
    profile: Option<&'a str>,
    role_arn: Option<&'a str>,
    exec: ExecCommand,
    proxy_url: Option<&'a str>,
    /// Sign with an IAM Identity Center role instead of a profile (`kctx token` only).
    sso: Option<SsoExec<'a>>,
}

/// `--sso-session S --sso-account-id A --sso-role-name R` of a `kctx token` exec.
struct SsoExec<'a> {
    session: &'a str,
    account_id: &'a str,
    role_name: &'a str,
}

impl Entries {
    /// update-kubeconfig's three entries for `info`.
    fn new(
        info: &ClusterInfo,
        cluster_name: &str,
        region: &str,
        o: &EntryOptions<'_>,
        user_name: &str,
        context_name: &str,
    ) -> Entries {
        let mut cluster_body = obj(json!({
            "certificate-authority-data": info.ca_data,
            "server": info.endpoint,
        }));
        if let Some(p) = o.proxy_url {
            cluster_body.insert("proxy-url".into(), p.into());
        }
        let cluster = obj(json!({"cluster": cluster_body, "name": info.arn}));

        let (id_flag, id_value) = match (&info.outpost, &info.id) {
            (true, Some(id)) => ("--cluster-id", id.clone()),
            _ => ("--cluster-name", cluster_name.to_owned()),
        };
        let mut exec = match o.exec {
            ExecCommand::Kctx => {
                let sso: Vec<&str> = match &o.sso {
                    Some(s) => vec![
                        "--sso-session",
                        s.session,
                        "--sso-account-id",
                        s.account_id,
                        "--sso-role-name",
                        s.role_name,
                    ],
                    None => Vec::new(),
                };
                kctx_exec(
                    &kctx_command(),
                    id_flag,
                    &id_value,
                    Some(region),
                    &sso,
                    o.role_arn,
                )
            }
            ExecCommand::Aws => {
                let mut args = vec![
                    "--region",
                    region,
                    "eks",
                    "get-token",
                    id_flag,
                    &id_value,
                    "--output",
                    "json",
                ];
                if let Some(r) = o.role_arn {
                    args.extend(["--role", r]);
                }
                obj(json!({"apiVersion": V1BETA1, "args": args, "command": "aws"}))
            }
        };
        if let Some(p) = o.profile {
            exec.insert("env".into(), json!([{"name": "AWS_PROFILE", "value": p}]));
        }
        let user = obj(json!({"name": user_name, "user": {"exec": exec}}));
        let context = obj(json!({
            "context": {"cluster": info.arn, "user": user_name},
            "name": context_name,
        }));
        Entries {
            cluster,
            user,
            context,
        }
    }
}

/// The exec entry kctx writes for a cluster (`kctx doctor --fix` converts others to it):
/// `command token --cluster-name NAME | --cluster-id ID [--region R] [--role-arn ARN]`
/// (`id_flag` is `--cluster-name` or `--cluster-id`); the profile goes in `env`.
pub(crate) fn kctx_exec(
    command: &str,
    id_flag: &str,
    id: &str,
    region: Option<&str>,
    sso: &[&str],
    role_arn: Option<&str>,
) -> Map<String, Value> {
    let mut args = vec!["token", id_flag, id];
    if let Some(r) = region {
        args.extend(["--region", r]);
    }
    args.extend(sso);
    if let Some(r) = role_arn {
        args.extend(["--role-arn", r]);
    }
    obj(json!({"apiVersion": V1BETA1, "args": args, "command": command}))
}

/// `--exec-command` when given; else `kctx` when the `kctx` found on PATH is this very
/// binary, else this binary's absolute path.
pub(crate) fn kctx_command() -> String {
    if let Some(c) = EXEC_COMMAND.get() {
        return c.clone();
    }
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    if let (Some(me), Some(path)) = (&me, std::env::var_os("PATH")) {
        for dir in std::env::split_paths(&path) {
            let cand = dir.join("kctx");
            if is_executable(&cand) {
                if cand.canonicalize().ok().as_ref() == Some(me) {
                    return "kctx".into();
                }
                break; // the first kctx on PATH is another binary
            }
        }
    }
    me.map(|p| p.display().to_string())
        .unwrap_or_else(|| "kctx".into())
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
