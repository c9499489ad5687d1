//! `kctx logout`: as `aws sso logout` does, the portal's Logout (the service forgets the
//! token and its refresh token), then the session's cached token removed, and every
//! credential kctx cached through it (role credentials and EKS tokens, of the session and of
//! the profiles that sign in with it): nothing signs with the session until the next login.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use super::Run;
use crate::aws::sso::{cache, config, login, portal};
use crate::aws::{self, Profiles};
use crate::cli::LogoutArgs;
use crate::store::cache::{self as kcache, Cache, Payload};

impl Run for LogoutArgs {
    fn run(&self) -> Result<ExitCode> {
        let c = &self.session;
        let profiles = Profiles::load(aws::profile_name(c.profile.as_deref()).as_deref())?;
        let session = config::for_login(&profiles, c.sso_session.as_deref(), c.profile.as_deref())?;
        let cached = cache::read(session.id());
        let rt = aws::runtime()?;
        let now = SystemTime::now();
        // an expired token is renewed first, so that the portal forgets its refresh token too
        let live = match &cached {
            Some(t) if t.valid(now, Duration::ZERO) => Some(t.access_token.clone()),
            Some(t) if t.refreshable(now) => login::refresh(&session, t, &rt)
                .ok()
                .map(|n| n.access_token),
            _ => None,
        };
        if let Some(token) = live {
            let client = portal::client(&session.region);
            let call = portal::logout(&client, &token);
            match rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), call).await }) {
                Ok(Ok(())) => {}
                // already signed out elsewhere
                Ok(Err(e)) if portal::unauthorized(&e) => {}
                Ok(Err(e)) => eprintln!("kctx: warning: {e:#}; the cached token is removed anyway"),
                Err(_) => eprintln!(
                    "kctx: warning: sso:Logout did not answer in time; the cached token is removed anyway"
                ),
            }
        }
        let had_token = cache::remove(session.id())?;
        let removed = forget_credentials(&profiles, &session)?;
        println!(
            "Signed out of {} ({}): {}; {removed} credential{} kctx cached through it removed",
            session.shown(),
            session.start_url,
            if had_token {
                "its token removed"
            } else {
                "no token was cached"
            },
            if removed == 1 { "" } else { "s" }
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// Removes the role credentials and EKS tokens kctx cached through `session` (directly, or
/// through a profile that signs in with it); returns how many.
fn forget_credentials(profiles: &Profiles, session: &config::Session) -> Result<usize> {
    let cache = Cache::new(kcache::dir());
    let users = config::profiles_of(profiles, session);
    let mut removed = 0;
    for (key, entry) in cache.entries() {
        let Some(e) = entry else { continue };
        if matches!(e.payload, Payload::SsoClient { .. }) {
            continue;
        }
        let s = &e.summary;
        let mine = s.sso_session.as_deref() == Some(session.id())
            || s.profile.as_ref().is_some_and(|p| users.contains(p));
        if mine {
            cache.remove(&key).with_context(|| {
                format!("cannot remove a cache entry in {}", cache.dir().display())
            })?;
            removed += 1;
        }
    }
    Ok(removed)
}
