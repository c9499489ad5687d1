//! What the checks look at, read from the machine: file modes, where exec commands are on
//! PATH (`exec.LookPath`'s rule), the AWS config files and SSO token cache, the kuberc, and
//! with `--online` each EKS context's cluster as EKS describes it to that context's
//! credentials (resolved as its exec plugin resolves them, see [`crate::eks`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::checks::{command_key, AwsFacts, Facts, OnlineResult};
use crate::aws::describe::{self, Described, Lookup};
use crate::aws::{self, sso, Profiles};
use crate::kubeconfig::{kuberc, EksExec, Kind, Merged};

/// The facts besides the kubeconfig files and the online answers.
pub(crate) struct Offline {
    modes: HashMap<PathBuf, u32>,
    which: HashMap<String, Option<PathBuf>>,
    kctx_command: String,
    kuberc: Option<kuberc::Kuberc>,
    aws: AwsFacts,
}

impl Offline {
    pub(crate) fn into_facts<'a>(
        self,
        merged: &'a Merged,
        online: &'a [OnlineResult],
    ) -> Facts<'a> {
        Facts {
            merged,
            modes: self.modes,
            which: self.which,
            kctx_command: self.kctx_command,
            kuberc: self.kuberc,
            aws: self.aws,
            online,
        }
    }
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Go's `exec.LookPath`: a name with a `/` is taken as it is; another is searched on PATH.
pub(crate) fn look_path(cmd: &str) -> Option<PathBuf> {
    if cmd.is_empty() {
        return None;
    }
    if cmd.contains('/') {
        let p = PathBuf::from(cmd);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| {
            if d.as_os_str().is_empty() {
                PathBuf::from(".").join(cmd)
            } else {
                d.join(cmd)
            }
        })
        .find(|c| is_executable(c))
}

/// Reads the offline facts for `merged`; what could not be read is said in `notes`.
pub(crate) fn offline(merged: &Merged, notes: &mut Vec<String>) -> Offline {
    let mut modes = HashMap::new();
    let mut commands: Vec<String> = Vec::new();
    let mut profiles_used: BTreeSet<String> = BTreeSet::new();
    for file in merged.readable() {
        if let Ok(m) = std::fs::metadata(&file.path) {
            modes.insert(file.path.clone(), m.permissions().mode() & 0o7777);
        }
        for user in file.names(Kind::Users) {
            let Some(body) = file.body(Kind::Users, user) else {
                continue;
            };
            if let Some(cmd) = body
                .get("exec")
                .and_then(|e| e.get("command"))
                .and_then(Value::as_str)
            {
                commands.push(command_key(&file.path, cmd));
            }
            if let Some(p) = EksExec::from_user(&body).and_then(|e| e.profile) {
                profiles_used.insert(p);
            }
        }
    }
    let kctx_command = super::super::add::kctx_command();
    let kuberc = kuberc::load().unwrap_or_else(|e| {
        notes.push(format!("{e:#}; its plugin policy is not checked"));
        None
    });
    commands.push(kctx_command.clone());
    if let Some(k) = &kuberc {
        if let kuberc::Policy::Allowlist(names) = &k.policy {
            commands.extend(names.iter().cloned());
        }
    }
    let which = commands
        .into_iter()
        .map(|c| {
            let found = look_path(&c);
            (c, found)
        })
        .collect();
    Offline {
        modes,
        which,
        kctx_command,
        kuberc,
        aws: aws_facts(&profiles_used, notes),
    }
}

fn aws_facts(used: &BTreeSet<String>, notes: &mut Vec<String>) -> AwsFacts {
    let files = format!(
        "{} and {}",
        aws::config_file().display(),
        aws::credentials_file().display()
    );
    let p = match Profiles::load(None) {
        Ok(p) => p,
        Err(e) => {
            notes.push(format!("{e:#}; AWS profiles are not checked"));
            return AwsFacts {
                files,
                ..Default::default()
            };
        }
    };
    let mut sso = BTreeMap::new();
    for name in used {
        if let Some(s) = sso::config::of_profile(&p, name)
            .ok()
            .flatten()
            .or_else(|| sso::config::chain_session(&p, name))
        {
            let status = sso::cache::status(s.id(), std::time::SystemTime::now());
            sso.insert(name.clone(), (s, status));
        }
    }
    AwsFacts {
        profiles: Some(p.all().into_iter().collect()),
        files,
        sso,
    }
}

/// Runs `f` with `env` applied to this process, then puts the variables back as they were:
/// resolving an exec entry's credentials sets its `env` process-wide.
fn with_env_restored<T>(env: &[(String, String)], f: impl FnOnce() -> T) -> T {
    let saved: Vec<(String, Option<std::ffi::OsString>)> = env
        .iter()
        .map(|(k, _)| (k.clone(), std::env::var_os(k)))
        .collect();
    let out = f();
    for (k, v) in saved {
        match v {
            Some(v) => std::env::set_var(&k, v),
            None => std::env::remove_var(&k),
        }
    }
    out
}

/// Each EKS context's cluster as EKS describes it to the context's credentials. Credentials
/// are resolved once per distinct identity, one after the other (an exec's `env` applies to
/// the whole process while it is resolved); the DescribeCluster calls then run side by side
/// within discovery's bounds. A context that could not be checked is said in `notes`.
pub(crate) fn online(merged: &Merged, notes: &mut Vec<String>) -> Vec<OnlineResult> {
    let mut rt = None;
    let mut identities: HashMap<
        String,
        Result<(aws_credential_types::Credentials, aws::Target), String>,
    > = HashMap::new();
    let mut asked: Vec<(String, String, String, Lookup)> = Vec::new();
    for ctx in merged.names(Kind::Contexts) {
        let Ok(ec) = crate::eks::eks_context(merged, Some(&ctx)) else {
            continue; // not an EKS context (or one whose entries are missing: reported offline)
        };
        let Some(cluster) = merged
            .field(Kind::Contexts, &ctx, "cluster")
            .map(str::to_owned)
        else {
            continue;
        };
        if !merged.has(Kind::Clusters, &cluster) {
            continue;
        }
        let e = &ec.exec;
        let key = format!(
            "{:?}",
            (&e.env, &e.profile, &e.region, &e.role_arn, &e.session_name)
        );
        let resolved = identities.entry(key).or_insert_with(|| {
            with_env_restored(&e.env, || {
                crate::eks::exec_credentials(e, None, &mut rt).map_err(|e| format!("{e:#}"))
            })
        });
        let (creds, target) = match resolved {
            Ok(v) => v.clone(),
            Err(why) => {
                notes.push(format!("context {ctx:?} was not checked online: {why}"));
                continue;
            }
        };
        let region = cluster
            .starts_with("arn:")
            .then(|| cluster.split(':').nth(3))
            .flatten()
            .filter(|r| !r.is_empty())
            .map_or_else(|| target.region.clone(), str::to_owned);
        let lookup = Lookup {
            creds,
            target,
            region: region.clone(),
            name: ec.cluster_name.clone(),
        };
        asked.push((ctx, cluster, region, lookup));
    }
    let lookups: Vec<Lookup> = asked.iter().map(|a| a.3.clone()).collect();
    let answers = match describe::describe_all(&lookups) {
        Ok(a) => a,
        Err(e) => {
            notes.push(format!("no cluster was checked online: {e:#}"));
            return Vec::new();
        }
    };
    asked
        .into_iter()
        .zip(answers)
        .map(|((context, cluster, region, lookup), described)| {
            if let Described::Failed(why) = &described {
                notes.push(format!("context {context:?} was not checked online: {why}"));
            }
            OnlineResult {
                context,
                cluster,
                name: lookup.name,
                region,
                described,
            }
        })
        .collect()
}
