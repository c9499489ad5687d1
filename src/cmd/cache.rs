//! `kctx cache list|clear`.

use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{Context, Result};

use super::Run;
use crate::cli::CacheCommand;
use crate::store::cache::{self, Cache, Payload};

impl Run for CacheCommand {
    fn run(&self) -> Result<ExitCode> {
        let cache = Cache::new(cache::dir());
        let now = SystemTime::now();
        match self {
            CacheCommand::List => {
                println!(
                    "{:<12}  {:<5}  {:<24}  {:<14}  {:<40}  EXPIRES",
                    "KEY", "KIND", "CLUSTER", "REGION", "ROLE/PROFILE"
                );
                for (key, entry) in cache.entries() {
                    let short = &key[..key.len().min(12)];
                    let Some(e) = entry else {
                        println!("{short:<12}  (unreadable entry; will be rewritten on next use)");
                        continue;
                    };
                    let kind = match e.payload {
                        Payload::Token { .. } => "token",
                        Payload::Role { .. } => "role",
                    };
                    let s = &e.summary;
                    let who = s
                        .role_arn
                        .clone()
                        .or_else(|| s.profile.as_ref().map(|p| format!("profile {p}")))
                        .unwrap_or_else(|| "-".into());
                    let expires = match e.expires() {
                        Some(t) if t > now => crate::exec_credential::rfc3339(t),
                        Some(t) => format!("{} (expired)", crate::exec_credential::rfc3339(t)),
                        None => "?".into(),
                    };
                    println!(
                        "{short:<12}  {kind:<5}  {:<24}  {:<14}  {who:<40}  {expires}",
                        s.cluster.as_deref().unwrap_or("-"),
                        s.region.as_deref().unwrap_or("-"),
                    );
                }
            }
            CacheCommand::Clear { all, cluster } => {
                let mut removed = 0;
                for (key, entry) in cache.entries() {
                    let remove = if *all {
                        true
                    } else if let Some(c) = cluster {
                        entry.as_ref().and_then(|e| e.summary.cluster.as_deref()) == Some(c)
                    } else {
                        entry
                            .as_ref()
                            .and_then(|e| e.expires())
                            .is_none_or(|t| t <= now)
                    };
                    if remove {
                        cache.remove(&key).with_context(|| {
                            format!("cannot remove cache entry in {}", cache.dir().display())
                        })?;
                        removed += 1;
                    }
                }
                if *all {
                    cache.remove_orphan_locks();
                }
                println!(
                    "removed {removed} cache entr{} from {}",
                    if removed == 1 { "y" } else { "ies" },
                    cache.dir().display()
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
