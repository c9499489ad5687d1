//! `kctx add NAME`: `aws eks update-kubeconfig` parity, with a locked, atomic write.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use super::Run;
use crate::aws::{self, AwsArgs, ClusterInfo, RoleRequest};
use crate::cli::{AddArgs, ExecCommand};
use crate::exec_credential::V1BETA1;
use crate::fsutil;
use crate::kubeconfig::{self, Kind, Kubeconfig};

impl Run for AddArgs {
    fn run(&self) -> Result<ExitCode> {
        let info = self.describe()?;
        if info.status != "ACTIVE" && info.status != "UPDATING" {
            bail!(
                "EKS cluster {:?} is {}, not ACTIVE or UPDATING: its endpoint and certificate are not usable yet",
                info.name,
                if info.status.is_empty() { "in an unknown state" } else { &info.status }
            );
        }
        let entries = self.entries(&info)?;
        let path = self.choose_file(&info.arn);

        if self.dry_run {
            let mut kc = Kubeconfig::load(&path)?;
            entries.merge_into(&mut kc);
            print!("{}", kc.to_yaml()?);
            return Ok(ExitCode::SUCCESS);
        }
        let updated = kubeconfig::modify(&path, |kc| Ok(entries.merge_into(kc)))?;
        let shown = kubeconfig::absolute(&path);
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
        if self.verbose {
            print!("Entries:\n\n");
            for e in [&entries.context, &entries.user, &entries.cluster] {
                println!("{}", kubeconfig::to_yaml(e)?);
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

    /// Merges into `kc`; returns whether the cluster was already there ("Updated").
    ///
    /// Same-name entries are updated in place. Unlike update-kubeconfig, which replaces them
    /// whole, keys kctx does not manage survive: a context keeps its `namespace`, a cluster
    /// its `extensions` or `tls-server-name`. The user's body is replaced whole: it is the
    /// credential, and a stale `token` beside the new `exec` would win in kubectl.
    fn merge_into(&self, kc: &mut Kubeconfig) -> bool {
        let updated = kc.has(Kind::Clusters, Self::name(&self.cluster));
        merge_entry(kc, Kind::Clusters, &self.cluster, true);
        merge_entry(kc, Kind::Users, &self.user, false);
        merge_entry(kc, Kind::Contexts, &self.context, true);
        kc.set_current_context(self.context_name());
        updated
    }
}

fn merge_entry(kc: &mut Kubeconfig, kind: Kind, new: &Map<String, Value>, keep_body_keys: bool) {
    let name = Entries::name(new).to_owned();
    let Some(existing) = kc.find_mut(kind, &name) else {
        kc.upsert(kind, new.clone());
        return;
    };
    let new_body = new.get(kind.inner()).cloned().unwrap_or(Value::Null);
    match (existing.get_mut(kind.inner()), new_body) {
        (Some(Value::Object(old)), Value::Object(fresh)) if keep_body_keys => {
            for (k, v) in fresh {
                old.insert(k, v);
            }
        }
        (_, fresh) => {
            existing.insert(kind.inner().to_owned(), fresh);
        }
    }
}

impl AddArgs {
    fn aws_args(&self) -> AwsArgs {
        AwsArgs {
            profile: self.profile.clone(),
            region: self.region.clone(),
        }
    }

    fn describe(&self) -> Result<ClusterInfo> {
        let args = self.aws_args();
        let mut profiles = None;
        let mut rt = None;
        let target = aws::resolve_target(&args, &mut profiles)?;
        let mut creds = aws::base_credentials(&args, &target, &mut profiles, &mut rt)?;
        let rt = aws::get_runtime(&mut rt)?;
        if let Some(arn) = &self.assume_role_arn {
            let req = RoleRequest {
                role_arn: arn,
                session_name: "EKSDescribeClusterSession",
                external_id: None,
            };
            creds = aws::assume_role(rt, creds, &target, &req)?;
        }
        aws::describe_cluster(rt, creds, &target, &self.name)
    }

    fn entries(&self, info: &ClusterInfo) -> Result<Entries> {
        let region = match (info.arn_region(), &self.region) {
            (Some(r), _) => r.to_owned(),
            (None, Some(r)) => r.clone(),
            (None, None) => bail!("EKS returned no ARN for cluster {:?}", info.name),
        };
        let mut cluster_body = obj(json!({
            "certificate-authority-data": info.ca_data,
            "server": info.endpoint,
        }));
        if let Some(p) = &self.proxy_url {
            cluster_body.insert("proxy-url".into(), p.clone().into());
        }
        let cluster = obj(json!({"cluster": cluster_body, "name": info.arn}));

        let (id_flag, id_value) = match (&info.outpost, &info.id) {
            (true, Some(id)) => ("--cluster-id", id.clone()),
            _ => ("--cluster-name", self.name.clone()),
        };
        let profile = aws::profile_name(self.profile.as_deref());
        let mut exec = match self.exec {
            ExecCommand::Kctx => {
                let mut args = vec!["token", id_flag, &id_value, "--region", &region];
                if let Some(r) = &self.role_arn {
                    args.extend(["--role-arn", r]);
                }
                obj(json!({"apiVersion": V1BETA1, "args": args, "command": kctx_command()}))
            }
            ExecCommand::Aws => {
                let mut args = vec![
                    "--region",
                    &region,
                    "eks",
                    "get-token",
                    id_flag,
                    &id_value,
                    "--output",
                    "json",
                ];
                if let Some(r) = &self.role_arn {
                    args.extend(["--role", r]);
                }
                obj(json!({"apiVersion": V1BETA1, "args": args, "command": "aws"}))
            }
        };
        if let Some(p) = profile {
            exec.insert("env".into(), json!([{"name": "AWS_PROFILE", "value": p}]));
        }
        let user_name = self.user_alias.clone().unwrap_or_else(|| info.arn.clone());
        let user = obj(json!({"name": user_name, "user": {"exec": exec}}));
        let context = obj(json!({
            "context": {"cluster": info.arn, "user": user_name},
            "name": self.alias.clone().unwrap_or_else(|| user_name.clone()),
        }));
        Ok(Entries {
            cluster,
            user,
            context,
        })
    }

    /// `--kubeconfig`; else the first KUBECONFIG file that already has this cluster; else the
    /// first KUBECONFIG file; else ~/.kube/config.
    fn choose_file(&self, cluster_arn: &str) -> PathBuf {
        if let Some(p) = &self.kubeconfig {
            return fsutil::expand_tilde(p);
        }
        let paths = kubeconfig::paths();
        if paths.len() == 1 {
            return paths[0].clone(); // nothing to choose: do not parse it twice
        }
        let mut broken = Vec::new();
        let mut chosen = None;
        for p in &paths {
            let Ok(data) = std::fs::read(p) else { continue };
            match Kubeconfig::parse(p, &data) {
                Ok(kc) if kc.has(Kind::Clusters, cluster_arn) => {
                    chosen = Some(p.clone());
                    break;
                }
                Ok(_) => {}
                Err(e) => broken.push((p.clone(), e)),
            }
        }
        let chosen = chosen.unwrap_or_else(|| paths[0].clone());
        // A broken file we are about to write reports its own error; others are skipped.
        for (p, e) in broken.iter().filter(|(p, _)| *p != chosen) {
            eprintln!("kctx: warning: skipping {}: {e:#}", p.display());
        }
        chosen
    }
}

/// `kctx` when the `kctx` found on PATH is this very binary, else this binary's absolute path.
fn kctx_command() -> String {
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
