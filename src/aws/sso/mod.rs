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

/// The session's access token (see the module docs for when it is renewed or signed in
/// anew). `profile` names the profile that led here, for messages.
pub(crate) fn access_token(
    session: &Session,
    profile: Option<&str>,
    rt: &tokio::runtime::Runtime,
) -> Result<String> {
    let now = SystemTime::now();
    let cached = cache::read(session.id());
    if let Some(t) = cached.as_ref().filter(|t| t.valid(now, REFRESH_WINDOW)) {
        return Ok(t.access_token.clone());
    }
    let may = may_sign_in();
    let refreshable = cached.as_ref().is_some_and(|t| t.refreshable(now));
    if !may && !refreshable {
        return match cached.filter(|t| t.valid(now, VALID_MARGIN)) {
            Some(t) => Ok(t.access_token),
            None => Err(sign_in_needed(
                session,
                profile,
                cached_exists(session),
                None,
            )),
        };
    }
    // one at a time: the others wait here, then find the token renewed or signed in
    let wait = if may {
        login::LOGIN_TIMEOUT + Duration::from_secs(30)
    } else {
        Duration::from_secs(2)
    };
    let _lock = login::lock(session, wait);
    let now = SystemTime::now();
    let cached = cache::read(session.id());
    if let Some(t) = cached.as_ref().filter(|t| t.valid(now, REFRESH_WINDOW)) {
        return Ok(t.access_token.clone());
    }
    let mut why = None;
    if let Some(old) = cached.as_ref().filter(|t| t.refreshable(now)) {
        match login::refresh(session, old, rt) {
            Ok(t) => return Ok(t.access_token),
            Err(RefreshError::Refused(code)) => {
                why = Some(format!("its refresh was refused: {code}"))
            }
            Err(RefreshError::Other(e)) => why = Some(format!("its refresh failed: {e:#}")),
        }
    }
    // a token that still works is used, as botocore does when a refresh fails
    if let Some(t) = cached.as_ref().filter(|t| t.valid(now, VALID_MARGIN)) {
        return Ok(t.access_token.clone());
    }
    if !may {
        return Err(sign_in_needed(
            session,
            profile,
            cached.is_some(),
            why.as_deref(),
        ));
    }
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
    Ok(login::sign_in(session, opts, rt)?.access_token)
}

fn cached_exists(session: &Session) -> bool {
    cache::path(session.id()).exists()
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
