//! `kctx cache list|clear`.

use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{Context, Result};

use super::{render_table, Run};
use crate::cli::CacheCommand;
use crate::store::cache::{self, Cache, Payload};

impl Run for CacheCommand {
    fn run(&self) -> Result<ExitCode> {
        let cache = Cache::new(cache::dir());
        let now = SystemTime::now();
        match self {
            CacheCommand::List => list(&cache, now),
            CacheCommand::Clear(a) => clear(&cache, now, a.all, a.cluster.as_deref())?,
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// `kctx cache list`: what is cached, never a secret.
fn list(cache: &Cache, now: SystemTime) {
    let mut rows: Vec<[String; 6]> = vec![[
        "KEY",
        "KIND",
        "CLUSTER",
        "REGION",
        "ROLE/PROFILE",
        "EXPIRES",
    ]
    .map(String::from)];
    // an entry minted without --region or AWS_REGION took its profile's region
    let profiles = crate::aws::Profiles::load(None).ok();
    for (key, entry) in cache.entries() {
        let short = key[..key.len().min(12)].to_owned();
        let Some(e) = entry else {
            rows.push([
                short,
                "?".into(),
                "(unreadable entry; rewritten on next use)".into(),
                String::new(),
                String::new(),
                String::new(),
            ]);
            continue;
        };
        let kind = match e.payload {
            Payload::Token { .. } => "token",
            Payload::Role { .. } => "role",
            Payload::SsoClient { .. } => "sso-client",
        };
        let s = &e.summary;
        let sso = s
            .sso_session
            .as_ref()
            .map(|n| match (&s.sso_account_id, &s.sso_role_name) {
                (Some(a), Some(r)) => format!("sso:{n}/{a}/{r}"),
                _ => format!("sso:{n}"),
            });
        let who = s
            .role_arn
            .clone()
            .or(sso)
            .or_else(|| s.profile.as_ref().map(|p| format!("profile:{p}")))
            .unwrap_or_else(|| "-".into());
        let expires = match e.expires() {
            Some(t) if t > now => crate::exec_credential::rfc3339(t),
            Some(t) => format!("{} (expired)", crate::exec_credential::rfc3339(t)),
            None => "?".into(),
        };
        rows.push([
            short,
            kind.into(),
            s.cluster.clone().unwrap_or_else(|| "-".into()),
            s.region
                .clone()
                .or_else(|| profile_region(profiles.as_ref(), s.profile.as_deref()))
                .unwrap_or_else(|| "-".into()),
            who,
            expires,
        ]);
    }
    print!("{}", render_table(&rows));
    let temps = cache.temps();
    if !temps.is_empty() {
        println!(
                        "{} temporary file{} left by interrupted writes (may hold tokens; `kctx cache clear --all` removes them): {}",
                        temps.len(),
                        if temps.len() == 1 { "" } else { "s" },
                        temps.join(", ")
                    );
    }
}

/// `kctx cache clear`: expired entries, every one (`--all`, with temp files and orphan
/// locks), or one cluster's.
fn clear(cache: &Cache, now: SystemTime, all: bool, cluster: Option<&str>) -> Result<()> {
    let mut removed = 0;
    let mut clusters = Vec::new();
    for (key, entry) in cache.entries() {
        let this = entry.as_ref().and_then(|e| e.summary.cluster.clone());
        let remove = if all {
            true
        } else if let Some(c) = cluster {
            this.as_deref() == Some(c)
        } else {
            entry
                .as_ref()
                .and_then(|e| e.expires())
                .is_none_or(|t| t <= now)
        };
        if let Some(c) = this {
            if !clusters.contains(&c) {
                clusters.push(c);
            }
        }
        if remove {
            cache.remove(&key).with_context(|| {
                format!("cannot remove cache entry in {}", cache.dir().display())
            })?;
            removed += 1;
        }
    }
    let mut temps = 0;
    if all {
        cache.remove_orphan_locks();
        temps = cache.remove_temps();
    }
    println!(
        "removed {removed} cache entr{} from {}{}",
        if removed == 1 { "y" } else { "ies" },
        cache.dir().display(),
        if temps > 0 {
            format!(
                " (and {temps} temporary file{} of interrupted writes)",
                if temps == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    );
    if let (Some(c), 0) = (cluster, removed) {
        clusters.sort();
        if clusters.is_empty() {
            eprintln!("kctx: no token is cached for cluster {c:?} (the cache holds no tokens)");
        } else {
            eprintln!(
                "kctx: no token is cached for cluster {c:?}; cached clusters: {}",
                clusters.join(", ")
            );
        }
    }
    Ok(())
}

/// The region the config file gives `profile` (`default` when none is named).
fn profile_region(p: Option<&crate::aws::Profiles>, profile: Option<&str>) -> Option<String> {
    p?.get_of(profile.unwrap_or("default"), "region")
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
}
