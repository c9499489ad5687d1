//! `kctx discover`: the EKS clusters a set of profiles can see, across regions.

use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::json;

use super::Run;
use crate::aws::discover::{self, Found, Scan, Scope};
use crate::cli::{DiscoverArgs, DiscoverFormat, SearchScope};
use crate::kubeconfig::{Kind, Merged};

/// The profile a search entry stands for, as shown and as written into AWS_PROFILE: the
/// named one, else AWS_PROFILE / AWS_DEFAULT_PROFILE for the current credentials.
pub(crate) fn effective_profile(p: &Option<String>) -> Option<String> {
    p.clone().or_else(|| crate::aws::profile_name(None))
}

pub(crate) fn shown_profile(p: &Option<String>) -> String {
    effective_profile(p).unwrap_or_else(|| "-".into())
}

/// The search `s` asks for; `--all-profiles` notes the profiles it leaves out.
pub(crate) fn scope_of(s: &SearchScope, describe: bool) -> Result<Scope> {
    for r in &s.regions {
        crate::aws::sts::validate_region(r)?;
    }
    let profiles: Vec<Option<String>> = if s.all_profiles {
        let (usable, skipped) = discover::all_profiles()?;
        for (name, why) in &skipped {
            eprintln!("kctx: note: skipping profile {name:?}: {why}");
        }
        if usable.is_empty() {
            bail!(
                "no profile in {} or {} has credentials",
                crate::aws::config_file().display(),
                crate::aws::credentials_file().display()
            );
        }
        usable.into_iter().map(Some).collect()
    } else if s.profiles.is_empty() {
        vec![None]
    } else {
        let mut v: Vec<Option<String>> = Vec::new();
        for p in &s.profiles {
            if !v.contains(&Some(p.clone())) {
                v.push(Some(p.clone()));
            }
        }
        v
    };
    let mut regions: Vec<String> = Vec::new();
    for r in &s.regions {
        if !regions.contains(r) {
            regions.push(r.clone());
        }
    }
    Ok(Scope {
        profiles,
        regions,
        all_regions: s.all_regions,
        describe,
    })
}

/// Runs the search with a progress bar on a terminal, and reports what failed on stderr, one
/// line each.
pub(crate) fn search(scope: &Scope, accounts: bool) -> Result<Scan> {
    let pb = super::ui::progress("discover");
    let scan = discover::scan(scope, accounts, &pb);
    pb.finish_and_clear();
    let scan = scan?;
    for f in &scan.failures {
        let who = format!("profile {}", shown_profile(&f.profile));
        match &f.region {
            Some(r) => eprintln!("kctx: error: {who}, region {r}: {}", f.error),
            None => eprintln!("kctx: error: {who}: {}", f.error),
        }
    }
    if !scan.not_enabled.is_empty() {
        let mut by_profile: Vec<(String, Vec<&str>)> = Vec::new();
        for (p, r) in &scan.not_enabled {
            let p = shown_profile(p);
            match by_profile.iter_mut().find(|(x, _)| *x == p) {
                Some((_, v)) => v.push(r),
                None => by_profile.push((p, vec![r])),
            }
        }
        for (p, mut regions) in by_profile {
            regions.sort();
            eprintln!(
                "kctx: note: profile {p}: {} region(s) not enabled for its account, skipped: {}",
                regions.len(),
                regions.join(" ")
            );
        }
    }
    Ok(scan)
}

/// The contexts of the kubeconfig whose cluster is `arn`.
pub(crate) fn contexts_for(m: &Merged, arn: &str) -> Vec<String> {
    m.names(Kind::Contexts)
        .into_iter()
        .filter(|c| m.field(Kind::Contexts, c, "cluster") == Some(arn))
        .collect()
}

fn row(f: &Found, m: &Merged) -> serde_json::Value {
    let info = f.info.as_ref();
    json!({
        "name": f.name,
        "region": f.region,
        "account": f.account(),
        "profile": effective_profile(&f.profile),
        "arn": f.arn(),
        "status": info.map(|i| i.status.as_str()),
        "version": info.map(|i| i.version.as_str()),
        "endpoint": info.map(|i| i.endpoint.as_str()),
        "contexts": f.arn().map(|a| contexts_for(m, a)).unwrap_or_default(),
    })
}

impl Run for DiscoverArgs {
    fn run(&self) -> Result<ExitCode> {
        let scope = scope_of(&self.scope, self.output != DiscoverFormat::Name)?;
        let scan = search(&scope, false)?;
        let m = Merged::load();
        match self.output {
            DiscoverFormat::Name => {
                let mut names: Vec<&str> = scan.clusters.iter().map(|f| f.name.as_str()).collect();
                names.sort();
                names.dedup();
                for n in names {
                    println!("{n}");
                }
            }
            DiscoverFormat::Json => {
                let v = json!({
                    "clusters": scan.clusters.iter().map(|f| row(f, &m)).collect::<Vec<_>>(),
                    "failures": scan.failures,
                    "not_enabled": scan.not_enabled.iter().map(|(p, r)| json!({"profile": effective_profile(p), "region": r})).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            DiscoverFormat::Table => {
                let mut rows = vec![[
                    "NAME", "REGION", "ACCOUNT", "PROFILE", "STATUS", "VERSION", "CONTEXT",
                ]
                .map(String::from)];
                for f in &scan.clusters {
                    let info = f.info.as_ref();
                    let ctx = f.arn().map(|a| contexts_for(&m, a)).unwrap_or_default();
                    rows.push([
                        f.name.clone(),
                        f.region.clone(),
                        f.account().unwrap_or("-").to_owned(),
                        shown_profile(&f.profile),
                        info.map_or("-".into(), |i| i.status.clone()),
                        info.map_or("-".into(), |i| i.version.clone()),
                        if ctx.is_empty() {
                            "-".into()
                        } else {
                            ctx.join(",")
                        },
                    ]);
                }
                if scan.clusters.is_empty() {
                    eprintln!(
                        "kctx: no EKS clusters found ({} profile(s), {} region(s) searched)",
                        scope.profiles.len(),
                        scan.searched.len()
                    );
                } else {
                    print!("{}", super::render_table(&rows));
                }
            }
        }
        Ok(if scan.failures.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}
