//! IAM Identity Center (SSO), natively: the sign-in (`kctx login`), the AWS CLI v2's token
//! cache, the portal, and the rules for when a command may sign in by itself.
//!
//! - [`config`]: which session a command means (`[sso-session]`, profiles, legacy profiles);
//! - [`cache`]: `~/.aws/sso/cache`, byte-compatible with the AWS CLI v2 and botocore;
//! - [`oidc`] and [`portal`]: the two services, through the AWS SDK;
//! - [`browser`]: opening the browser, and the loopback listener of the PKCE flow;
//! - [`login`]: the flows, the client registration, the refresh, the one-at-a-time lock.
//!
//! Every command that needs a session's token goes through [`access_token`]: a cached token
//! with more than 15 minutes left is used as it is (botocore's refresh window); one closer to
//! its end is renewed with its refresh token (and written back); with neither, kctx signs in —
//! only when the run is interactive (kubectl's `KUBERNETES_EXEC_INFO` says
//! `"interactive": true`, or kctx runs with a terminal on stdin and stderr) or the user opted in
//! for a GUI client (`KCTX_LOGIN=browser`, `kctx token --login browser`). Otherwise the command
//! fails at once with one line that names the exact `kctx login` command.

pub(crate) mod accounts;
pub(crate) mod browser;
pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod login;
pub(crate) mod oidc;
pub(crate) mod portal;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Result};
use aws_credential_types::Credentials;

use self::cache::VALID_MARGIN;
use self::config::{RoleTarget, Session};
use self::oidc::{Flow, RefreshError};
use crate::aws::{AwsArgs, Profiles, Target};

/// A token with less than this left is renewed first (botocore's `_REFRESH_WINDOW`).
pub(crate) const REFRESH_WINDOW: Duration = Duration::from_secs(15 * 60);

/// When a command may sign in by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginMode {
    /// When the run is interactive.
    Auto,
    /// Always, opening the browser even without a terminal (for GUI clients: Lens, Headlamp).
    Browser,
    /// Never: the command fails and names `kctx login`.
    Never,
}

impl LoginMode {
    /// `auto`, `browser` or `never` (the `--login` values and `KCTX_LOGIN`).
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Some(Self::Auto),
            "browser" => Some(Self::Browser),
            "never" => Some(Self::Never),
            _ => None,
        }
    }
}

/// 0: not set (KCTX_LOGIN decides), else 1 + the mode.
static MODE: AtomicU8 = AtomicU8::new(0);

/// Sets the mode for this process (`kctx token --login`, shell completion).
pub(crate) fn set_login_mode(m: LoginMode) {
    let v = match m {
        LoginMode::Auto => 1,
        LoginMode::Browser => 2,
        LoginMode::Never => 3,
    };
    MODE.store(v, Ordering::SeqCst);
}

/// The mode: set for this process, else `KCTX_LOGIN`, else auto.
pub(crate) fn login_mode() -> LoginMode {
    match MODE.load(Ordering::SeqCst) {
        1 => LoginMode::Auto,
        2 => LoginMode::Browser,
        3 => LoginMode::Never,
        _ => match std::env::var("KCTX_LOGIN") {
            Ok(v) => LoginMode::parse(&v).unwrap_or_else(|| {
                eprintln!(
                    "kctx: warning: KCTX_LOGIN={v:?} is not auto, browser or never; using auto"
                );
                LoginMode::Auto
            }),
            Err(_) => LoginMode::Auto,
        },
    }
}

/// Whether this run is interactive: kubectl's exec info says so, or (run directly) stdin and
/// stderr are terminals.
pub(crate) fn interactive() -> bool {
    match std::env::var("KUBERNETES_EXEC_INFO") {
        Ok(info) if !info.trim().is_empty() => crate::exec_credential::interactive(&info),
        _ => std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
    }
}

/// Whether a command may sign in now.
fn may_sign_in() -> bool {
    match login_mode() {
        LoginMode::Never => false,
        LoginMode::Browser => true,
        LoginMode::Auto => interactive(),
    }
}

/// The line a command fails with when the session has no usable token and may not sign in.
fn sign_in_needed(
    session: &Session,
    profile: Option<&str>,
    had_token: bool,
    why: Option<&str>,
) -> anyhow::Error {
    let who = match profile {
        Some(p) if session.profile.as_deref() != Some(p) => format!("profile {p:?}: "),
        _ => String::new(),
    };
    let state = if had_token {
        "has expired"
    } else {
        "is not signed in"
    };
    let why = why.map(|w| format!(" ({w})")).unwrap_or_default();
    anyhow!(
        "{who}{} {state}{why}: run `{}`",
        session.shown(),
        session.login_command()
    )
}

/// What to do next with a session's cached token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Use it as it is.
    Use,
    /// Renew it with its refresh token.
    Refresh,
    /// Sign in anew.
    SignIn,
    /// Fail, naming the `kctx login` to run.
    Fail,
}

/// The rule (pure): a token with more than [`REFRESH_WINDOW`] left is used; one closer to its
/// end is renewed when it can be (and a refresh has not just failed); a token that still works
/// is used when it cannot be (as botocore does); otherwise a sign-in, when one is allowed.
fn next_step(
    cached: Option<&cache::CachedToken>,
    now: SystemTime,
    may_sign_in: bool,
    refresh_failed: bool,
) -> Step {
    match cached {
        Some(t) if t.valid(now, REFRESH_WINDOW) => Step::Use,
        Some(t) if t.refreshable(now) && !refresh_failed => Step::Refresh,
        Some(t) if t.valid(now, VALID_MARGIN) => Step::Use,
        _ if may_sign_in => Step::SignIn,
        _ => Step::Fail,
    }
}

/// The session's access token, by [`next_step`]'s rule. A refresh or a sign-in happens under
/// the session's lock, after reading the cache again (another process may have done it).
/// `profile` names the profile that led here, for messages.
pub(crate) fn access_token(
    session: &Session,
    profile: Option<&str>,
    rt: &tokio::runtime::Runtime,
) -> Result<String> {
    let may = may_sign_in();
    let cached = cache::read(session.id());
    let now = SystemTime::now();
    match (next_step(cached.as_ref(), now, may, false), cached) {
        (Step::Use, Some(t)) => return Ok(t.access_token),
        (Step::Fail, cached) => {
            return Err(sign_in_needed(session, profile, cached.is_some(), None))
        }
        _ => {}
    }
    // one at a time: the others wait here, then find the token renewed or signed in
    let wait = if may {
        login::LOGIN_TIMEOUT + Duration::from_secs(30)
    } else {
        Duration::from_secs(2)
    };
    let _lock = login::lock(session, wait);
    let cached = cache::read(session.id());
    let mut why: Option<String> = None;
    // at most twice: a refresh that fails leaves Use, SignIn or Fail
    loop {
        let now = SystemTime::now();
        match (next_step(cached.as_ref(), now, may, why.is_some()), &cached) {
            (Step::Use, Some(t)) => return Ok(t.access_token.clone()),
            (Step::Refresh, Some(old)) => match login::refresh(session, old, rt) {
                Ok(t) => return Ok(t.access_token),
                Err(RefreshError::Refused(code)) => {
                    why = Some(format!("its refresh was refused: {code}"))
                }
                Err(RefreshError::Other(e)) => why = Some(format!("its refresh failed: {e:#}")),
            },
            (Step::SignIn, _) => {
                eprintln!(
                    "kctx: {} {}; signing in",
                    session.shown(),
                    if cached.is_some() {
                        "has expired"
                    } else {
                        "is not signed in"
                    }
                );
                let opts = login::Options {
                    flow: Flow::AuthCode,
                    open_browser: true,
                };
                return Ok(login::sign_in(session, opts, rt)?.access_token);
            }
            _ => {
                return Err(sign_in_needed(
                    session,
                    profile,
                    cached.is_some(),
                    why.as_deref(),
                ))
            }
        }
    }
}

/// The role's credentials, through the session's token (GetRoleCredentials). A token the
/// portal no longer accepts (a sign-out elsewhere) is signed in anew when that is allowed.
pub(crate) fn role_credentials(
    target: &RoleTarget,
    rt: &tokio::runtime::Runtime,
) -> Result<Credentials> {
    let profile = target.profile.as_deref();
    let token = access_token(&target.session, profile, rt)?;
    let client = portal::client(&target.session.region);
    let get = |token: &str| {
        rt.block_on(portal::role_credentials(
            &client,
            token,
            &target.account_id,
            &target.role_name,
        ))
    };
    let r = match get(&token) {
        Err(e) if portal::unauthorized(&e) => {
            if !may_sign_in() {
                return Err(sign_in_needed(
                    &target.session,
                    profile,
                    true,
                    Some("the portal no longer accepts its token"),
                ));
            }
            let _lock = login::lock(&target.session, login::LOGIN_TIMEOUT);
            let opts = login::Options {
                flow: Flow::AuthCode,
                open_browser: true,
            };
            get(&login::sign_in(&target.session, opts, rt)?.access_token)
        }
        r => r,
    };
    r.map_err(|e| {
        e.context(format!(
            "role {} of account {} through {}",
            target.role_name,
            target.account_id,
            target.session.shown()
        ))
    })
}

/// `--sso-session S --sso-account-id A --sso-role-name R`.
pub(crate) fn explicit_target(
    profiles: &mut Option<Profiles>,
    session: &str,
    account: &str,
    role: &str,
) -> Result<RoleTarget> {
    if profiles.is_none() {
        *profiles = Some(Profiles::load(None)?);
    }
    let p = profiles.as_ref().expect("loaded above");
    Ok(RoleTarget {
        session: config::named(p, session)?,
        account_id: account.to_owned(),
        role_name: role.to_owned(),
        profile: None,
    })
}

/// The IAM Identity Center role the command's profile signs with: `None` when environment
/// keys take precedence, or the profile signs in another way (or assumes a role).
pub(crate) fn role_target(
    args: &AwsArgs,
    profiles: &mut Option<Profiles>,
) -> Result<Option<RoleTarget>> {
    if crate::aws::env_credentials(args.profile.is_some()).is_some() {
        return Ok(None);
    }
    if profiles.is_none() {
        *profiles = Some(Profiles::load(
            crate::aws::profile_name(args.profile.as_deref()).as_deref(),
        )?);
    }
    let p = profiles.as_ref().expect("loaded above");
    if p.get("role_arn").is_some() {
        return Ok(None);
    }
    config::profile_role(p, p.name())
}

/// Credentials as [`crate::aws::base_credentials`] resolves them, except that a profile that
/// signs in with IAM Identity Center is signed natively (its token renewed, or signed in,
/// by the rules above), and an assumed role whose source profile does has that token made
/// usable first.
pub(crate) fn base_credentials(
    args: &AwsArgs,
    target: &Target,
    profiles: &mut Option<Profiles>,
    rt: &mut Option<tokio::runtime::Runtime>,
) -> Result<Credentials> {
    if let Some(r) = role_target(args, profiles)? {
        return role_credentials(&r, crate::aws::get_runtime(rt)?);
    }
    let chained = profiles
        .as_ref()
        .filter(|_| crate::aws::env_credentials(args.profile.is_some()).is_none())
        .and_then(|p| config::chain_session(p, p.name()).map(|s| (s, p.name().to_owned())));
    if let Some((session, profile)) = chained {
        access_token(&session, Some(&profile), crate::aws::get_runtime(rt)?)?;
    }
    crate::aws::base_credentials(args, target, profiles, rt)
}

/// What `kctx whoami` shows of a role signed in through a session.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct View {
    /// The `[sso-session]` name (`None` for a legacy profile).
    pub(crate) session: Option<String>,
    pub(crate) start_url: String,
    pub(crate) account_id: String,
    pub(crate) role_name: String,
    /// `valid`, `refreshable`, `expired` or `missing` (see [`cache::Status`]).
    pub(crate) token: &'static str,
    /// When the session's token expires (RFC 3339), if one is cached.
    pub(crate) token_expires: Option<String>,
}

impl View {
    pub(crate) fn of(target: &RoleTarget) -> Self {
        let (token, expires) = match cache::status(target.session.id(), SystemTime::now()) {
            cache::Status::Valid { expires_at } => ("valid", Some(expires_at)),
            cache::Status::Refreshable { expires_at } => ("refreshable", Some(expires_at)),
            cache::Status::Expired { expires_at } => ("expired", Some(expires_at)),
            cache::Status::Missing => ("missing", None),
        };
        Self {
            session: target.session.name.clone(),
            start_url: target.session.start_url.clone(),
            account_id: target.account_id.clone(),
            role_name: target.role_name.clone(),
            token,
            token_expires: expires.map(crate::exec_credential::rfc3339),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_step_uses_renews_signs_in_or_fails() {
        let now = cache::parse_time("2026-12-06T23:00:00Z").unwrap();
        let token = |expires: &str, refreshable: bool| cache::CachedToken {
            start_url: None,
            region: None,
            access_token: "t".into(),
            expires_at: cache::parse_time(expires).unwrap(),
            client_id: Some("c".into()),
            client_secret: Some("s".into()),
            registration_expires_at: Some("2027-03-01T00:00:00Z".into()),
            refresh_token: refreshable.then(|| "r".into()),
        };
        let fresh = token("2026-12-06T23:30:00Z", true);
        let closing = token("2026-12-06T23:10:00Z", true);
        let closing_no_refresh = token("2026-12-06T23:10:00Z", false);
        let expired = token("2026-12-06T22:00:00Z", true);
        let dead = token("2026-12-06T22:00:00Z", false);
        for may in [false, true] {
            assert_eq!(next_step(Some(&fresh), now, may, false), Step::Use);
            assert_eq!(next_step(Some(&closing), now, may, false), Step::Refresh);
            // a failed refresh: a token that still works is used
            assert_eq!(next_step(Some(&closing), now, may, true), Step::Use);
            assert_eq!(
                next_step(Some(&closing_no_refresh), now, may, false),
                Step::Use
            );
            assert_eq!(next_step(Some(&expired), now, may, false), Step::Refresh);
        }
        assert_eq!(next_step(Some(&expired), now, false, true), Step::Fail);
        assert_eq!(next_step(Some(&expired), now, true, true), Step::SignIn);
        assert_eq!(next_step(Some(&dead), now, false, false), Step::Fail);
        assert_eq!(next_step(Some(&dead), now, true, false), Step::SignIn);
        assert_eq!(next_step(None, now, false, false), Step::Fail);
        assert_eq!(next_step(None, now, true, false), Step::SignIn);
    }

    #[test]
    fn login_modes_parse_and_messages_name_the_command() {
        assert_eq!(LoginMode::parse("Browser"), Some(LoginMode::Browser));
        assert_eq!(LoginMode::parse(""), Some(LoginMode::Auto));
        assert_eq!(LoginMode::parse("never"), Some(LoginMode::Never));
        assert_eq!(LoginMode::parse("sometimes"), None);
        let s = Session {
            name: Some("corp".into()),
            profile: None,
            start_url: "https://corp/start".into(),
            region: "us-east-1".into(),
            scopes: vec![],
        };
        assert_eq!(
            sign_in_needed(&s, Some("dev"), true, Some("its refresh was refused: InvalidGrantException")).to_string(),
            "profile \"dev\": IAM Identity Center session \"corp\" has expired (its refresh was refused: InvalidGrantException): run `kctx login --sso-session corp`"
        );
        assert_eq!(
            sign_in_needed(&s, None, false, None).to_string(),
            "IAM Identity Center session \"corp\" is not signed in: run `kctx login --sso-session corp`"
        );
    }
}
