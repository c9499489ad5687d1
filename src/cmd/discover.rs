//! `kctx discover`: the EKS clusters a set of profiles can see, across regions.

use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::json;

use super::Run;
use crate::aws::discover::{self, Found, Scan, Scope, SsoScope};
use crate::aws::sso::accounts::Filter;
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
    let mut regions: Vec<String> = Vec::new();
    for r in &s.regions {
        if !regions.contains(r) {
            regions.push(r.clone());
        }
    }
    if let Some(session) = &s.sso_session {
        return Ok(Scope {
            profiles: Vec::new(),
            regions,
            all_regions: s.all_regions,
            describe,
            sso: Some(SsoScope {
                session: session.clone(),
                filter: Filter {
                    roles: dedup(&s.sso_roles),
                    accounts: dedup(&s.sso_accounts),
                    credentials: true,
                },
            }),
        });
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
    Ok(Scope {
        profiles,
        regions,
        all_regions: s.all_regions,
        describe,
        sso: None,
    })
}

fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for x in v {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

/// How a failure's identity is named: its profile, or its account and role.
fn failure_who(f: &discover::Failure) -> String {
    match &f.sso {
        Some(w) => match &w.role {
            Some(r) => format!("account {} ({}), role {r}", w.account_id, w.account_name),
            None => format!("account {} ({})", w.account_id, w.account_name),
        },
        None => format!("profile {}", shown_profile(&f.profile)),
    }
}

/// Runs the search with a progress bar on a terminal, and reports what failed on stderr, one
/// line each.
pub(crate) fn search(scope: &Scope, accounts: bool) -> Result<Scan> {
    let pb = super::ui::progress("discover");
    let scan = discover::scan(scope, accounts, &pb);
    pb.finish_and_clear();
    let scan = scan?;
    for f in &scan.failures {
        let who = failure_who(f);
        match &f.region {
            Some(r) => eprintln!("kctx: error: {who}, region {r}: {}", f.error),
            None => eprintln!("kctx: error: {who}: {}", f.error),
        }
    }
    sso_notes(scope, &scan);
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

/// For an IAM Identity Center search: roles asked for that no account has, and the regions
/// not enabled (one line per account and role).
fn sso_notes(scope: &Scope, scan: &Scan) {
    let (Some(sso), Some(seen)) = (&scope.sso, &scan.sso) else {
        return;
    };
    let counts = crate::aws::sso::accounts::role_counts(&seen.roles);
    for r in &sso.filter.roles {
        if !counts.iter().any(|(x, _)| x == r) {
            eprintln!(
                "kctx: note: no account of session {} has role {r:?} (its roles: {})",
                seen.session,
                role_list(&counts)
            );
        }
    }
    let mut by: Vec<(String, Vec<&str>)> = Vec::new();
    for (role, region) in &scan.sso_not_enabled {
        let who = format!("account {} role {}", role.account_id, role.role);
        match by.iter_mut().find(|(x, _)| *x == who) {
            Some((_, v)) => v.push(region),
            None => by.push((who, vec![region])),
        }
    }
    for (who, mut regions) in by {
        regions.sort();
        eprintln!(
            "kctx: note: {who}: {} region(s) not enabled for the account, skipped: {}",
            regions.len(),
            regions.join(" ")
        );
    }
}

/// `Admin (2 accounts), ReadOnly (3 accounts)`.
pub(crate) fn role_list(counts: &[(String, usize)]) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(r, n)| format!("{r} ({n} account{})", if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The clusters of an IAM Identity Center search, once each (by ARN, or by account, region
/// and name when not described), with every role that sees it.
pub(crate) fn by_cluster(scan: &Scan) -> Vec<(&Found, Vec<&str>)> {
    let mut out: Vec<(&Found, Vec<&str>)> = Vec::new();
    let key = |f: &Found| {
        f.arn()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}/{}/{}", f.account().unwrap_or("-"), f.region, f.name))
    };
    for f in &scan.clusters {
        let role = f.sso.as_ref().map_or("-", |s| s.role.as_str());
        match out.iter_mut().find(|(x, _)| key(x) == key(f)) {
            Some((_, roles)) => {
                if !roles.contains(&role) {
                    roles.push(role)
                }
            }
            None => out.push((f, vec![role])),
        }
    }
    out
}

/// The report of an IAM Identity Center search.
fn sso_report(scope: &Scope, scan: &Scan, m: &Merged, output: DiscoverFormat) -> Result<()> {
    let rows = by_cluster(scan);
    match output {
        DiscoverFormat::Name => {
            let mut names: Vec<&str> = rows.iter().map(|(f, _)| f.name.as_str()).collect();
            names.sort();
            names.dedup();
            for n in names {
                println!("{n}");
            }
        }
        DiscoverFormat::Json => {
            let clusters: Vec<serde_json::Value> = rows
                .iter()
                .map(|(f, roles)| {
                    let mut v = row(f, m);
                    v["account_name"] = json!(f.sso.as_ref().map(|s| s.account_name.as_str()));
                    v["roles"] = json!(roles);
                    if let Some(o) = v.as_object_mut() {
                        o.remove("profile");
                    }
                    v
                })
                .collect();
            let seen = scan.sso.as_ref();
            let v = json!({
                "sso_session": scope.sso.as_ref().map(|s| s.session.as_str()),
                "accounts": seen.map(|s| s.accounts),
                "clusters": clusters,
                "failures": scan.failures,
                "not_enabled": scan.sso_not_enabled.iter().map(|(r, region)| json!({"account": r.account_id, "role": r.role, "region": region})).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        DiscoverFormat::Table => {
            let mut table = vec![[
                "NAME",
                "REGION",
                "ACCOUNT",
                "ACCOUNT-NAME",
                "ROLES",
                "STATUS",
                "VERSION",
                "CONTEXT",
            ]
            .map(String::from)];
            for (f, roles) in &rows {
                let info = f.info.as_ref();
                let ctx = f.arn().map(|a| contexts_for(m, a)).unwrap_or_default();
                table.push([
                    f.name.clone(),
                    f.region.clone(),
                    f.account().unwrap_or("-").to_owned(),
                    f.sso
                        .as_ref()
                        .map_or("-".into(), |s| s.account_name.clone()),
                    roles.join(","),
                    info.map_or("-".into(), |i| i.status.clone()),
                    info.map_or("-".into(), |i| i.version.clone()),
                    if ctx.is_empty() {
                        "-".into()
                    } else {
                        ctx.join(",")
                    },
                ]);
            }
            if rows.is_empty() {
                let seen = scan.sso.as_ref();
                eprintln!(
                    "kctx: no EKS clusters found ({} account(s), {} role(s), {} region(s) searched)",
                    seen.map_or(0, |s| s.roles.len()),
                    scan.sso_searched
                        .iter()
                        .map(|(r, _)| r)
                        .collect::<std::collections::HashSet<_>>()
                        .len(),
                    scan.sso_searched.len()
                );
            } else {
                print!("{}", super::render_table(&table));
            }
        }
    }
    Ok(())
}

impl Run for DiscoverArgs {
    fn run(&self) -> Result<ExitCode> {
        let scope = scope_of(&self.scope, self.output != DiscoverFormat::Name)?;
        let scan = search(&scope, false)?;
        let m = Merged::load();
        if scope.sso.is_some() {
            sso_report(&scope, &scan, &m, self.output)?;
            return Ok(if scan.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
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
