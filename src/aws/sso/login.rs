//! Signing in to IAM Identity Center, as `aws sso login` (AWS CLI v2 ≥ 2.22) does it: a client
//! registration (reused while it is valid), then the authorization code grant with PKCE — the
//! browser opened on the sign-in page, the code back on a loopback listener — or, with
//! `--use-device-code`, the device grant; then the token written to the AWS CLI's cache. Also
//! the silent renewal botocore does (CreateToken with the refresh token, written back in the
//! same format).
//!
//! One sign-in at a time per session: a lock in kctx's cache directory, held for the whole
//! sign-in; whoever waits for it then finds the new token. The whole sign-in gives up after
//! [`LOGIN_TIMEOUT`].

use std::fs::File;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

use super::browser;
use super::cache::{self, CachedToken};
use super::config::Session;
use super::oidc::{self, Flow, RefreshError, Registration, Tokens};
use crate::exec_credential::{parse_rfc3339, rfc3339};
use crate::store::cache::{Cache, Entry, KeyBuilder, Payload, Summary};

/// How long a sign-in may take, from the first call to the token.
pub(crate) const LOGIN_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// A registration is reused only while it has more than this left.
const REGISTRATION_MARGIN: Duration = Duration::from_secs(60 * 60);
/// How long a refresh may take.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(30);

/// How to sign in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) flow: Flow,
    /// Open the browser (else only print the URL).
    pub(crate) open_browser: bool,
}

/// The session's sign-in lock (`None`: the wait ran out, or the cache directory cannot hold
/// locks; the caller then goes on alone).
pub(crate) fn lock(session: &Session, wait: Duration) -> Option<File> {
    let key = KeyBuilder::new("sso-login")
        .part("id", session.id())
        .part("start-url", &session.start_url)
        .finish();
    Cache::new(crate::store::cache::dir()).lock(&key, wait)
}

/// Signs in (under the session's lock) and writes the token to the cache.
pub(crate) fn login(
    session: &Session,
    opts: Options,
    rt: &tokio::runtime::Runtime,
) -> Result<CachedToken> {
    let _lock = lock(session, LOGIN_TIMEOUT + Duration::from_secs(30));
    sign_in(session, opts, rt)
}

/// Signs in; the caller holds the lock.
pub(crate) fn sign_in(
    session: &Session,
    opts: Options,
    rt: &tokio::runtime::Runtime,
) -> Result<CachedToken> {
    let deadline = Instant::now() + LOGIN_TIMEOUT;
    let client = oidc::client(&session.region);
    let reg = registration(session, opts.flow, &client, rt, deadline)?;
    let tokens = match opts.flow {
        Flow::AuthCode => authorization_code(session, &reg, &client, rt, opts, deadline),
        Flow::Device => device(session, &reg, &client, rt, opts, deadline),
    };
    let tokens = tokens.map_err(|e| {
        if format!("{e:#}").contains("InvalidClientException") {
            // a registration the service no longer knows: the next sign-in registers anew
            forget_registration(session, opts.flow);
        }
        e.context(format!(
            "signing in to {} (gave up after {} minutes at most)",
            session.shown(),
            LOGIN_TIMEOUT.as_secs() / 60
        ))
    })?;
    let token = to_cache(session, &reg, tokens, SystemTime::now());
    cache::write(session.id(), &token)?;
    Ok(token)
}

/// What the cache file holds after a sign-in. A session's token carries what renews it; a
/// legacy profile's only the token (as the AWS CLI writes them).
fn to_cache(session: &Session, reg: &Registration, t: Tokens, now: SystemTime) -> CachedToken {
    let renewable = session.name.is_some();
    CachedToken {
        start_url: Some(session.start_url.clone()),
        region: Some(session.region.clone()),
        access_token: t.access_token,
        expires_at: now + t.expires_in,
        client_id: renewable.then(|| reg.client_id.clone()),
        client_secret: renewable.then(|| reg.client_secret.clone()),
        registration_expires_at: renewable.then(|| rfc3339(reg.expires_at)),
        refresh_token: t.refresh_token.filter(|_| renewable),
    }
}

fn registration_key(session: &Session, flow: Flow) -> String {
    let mut k = KeyBuilder::new("sso-client");
    k.part("id", session.id())
        .part("start-url", &session.start_url)
        .part("region", &session.region)
        .part("scopes", &session.scopes.join(","))
        .part("flow", flow.as_str())
        .part("endpoint", &oidc::endpoint(&session.region));
    k.finish()
}

/// A client registration for `flow`: the one kept in kctx's cache while it has more than
/// [`REGISTRATION_MARGIN`] left, else a new one (then kept).
fn registration(
    session: &Session,
    flow: Flow,
    client: &aws_sdk_ssooidc::Client,
    rt: &tokio::runtime::Runtime,
    deadline: Instant,
) -> Result<Registration> {
    let cache = Cache::new(crate::store::cache::dir());
    let key = registration_key(session, flow);
    if let Some(Entry {
        payload:
            Payload::SsoClient {
                client_id,
                client_secret,
                expiration,
            },
        ..
    }) = cache.get(&key)
    {
        if let Some(exp) = parse_rfc3339(&expiration) {
            if exp > SystemTime::now() + REGISTRATION_MARGIN {
                return Ok(Registration {
                    client_id,
                    client_secret,
                    expires_at: exp,
                });
            }
        }
    }
    let reg = oidc::within(
        rt,
        deadline,
        "registering kctx with IAM Identity Center",
        oidc::register(client, session, flow),
    )?;
    cache.put(
        &key,
        &Entry {
            kctx_cache: 1,
            summary: Summary {
                sso_session: Some(session.id().to_owned()),
                region: Some(session.region.clone()),
                ..Summary::default()
            },
            payload: Payload::SsoClient {
                client_id: reg.client_id.clone(),
                client_secret: reg.client_secret.clone(),
                expiration: rfc3339(reg.expires_at),
            },
        },
    );
    Ok(reg)
}

fn forget_registration(session: &Session, flow: Flow) {
    let _ = Cache::new(crate::store::cache::dir()).remove(&registration_key(session, flow));
}

/// Says where to sign in (stderr), and opens the browser when asked.
fn announce(session: &Session, url: &str, code: Option<&str>, open_browser: bool) {
    let what = session.shown();
    match code {
        Some(code) => eprintln!(
            "kctx: to sign in to {what}, open this page and confirm the code {code}:\n  {url}"
        ),
        None => eprintln!("kctx: to sign in to {what}, open this page:\n  {url}"),
    }
    if open_browser {
        match browser::open(url) {
            Ok(_) => eprintln!("kctx: a browser was opened on it; waiting for the sign-in…"),
            Err(e) => eprintln!("kctx: {e:#}; open the page yourself. Waiting for the sign-in…"),
        }
    } else {
        eprintln!("kctx: waiting for the sign-in…");
    }
}

/// The authorization code grant with PKCE (S256): the code comes back to a loopback listener
/// with the state kctx sent.
fn authorization_code(
    session: &Session,
    reg: &Registration,
    client: &aws_sdk_ssooidc::Client,
    rt: &tokio::runtime::Runtime,
    opts: Options,
    deadline: Instant,
) -> Result<Tokens> {
    let listener = browser::Listener::bind()?;
    let redirect = listener.redirect_uri();
    let verifier = oidc::random_urlsafe(64)?;
    let state = oidc::random_urlsafe(32)?;
    let url = oidc::authorize_url(
        &oidc::endpoint(&session.region),
        &reg.client_id,
        &redirect,
        &state,
        &oidc::challenge(&verifier),
        &session.scopes,
    );
    announce(session, &url, None, opts.open_browser);
    let code = listener.wait(&state, deadline)?;
    oidc::within(
        rt,
        deadline,
        "exchanging the authorization code",
        oidc::exchange_code(client, reg, &code, &verifier, &redirect),
    )
}

/// The device grant: a code the user confirms on the verification page.
fn device(
    session: &Session,
    reg: &Registration,
    client: &aws_sdk_ssooidc::Client,
    rt: &tokio::runtime::Runtime,
    opts: Options,
    deadline: Instant,
) -> Result<Tokens> {
    let dev = oidc::within(
        rt,
        deadline,
        "starting the device authorization",
        oidc::start_device(client, reg, &session.start_url),
    )?;
    announce(session, &dev.url, Some(&dev.user_code), opts.open_browser);
    oidc::within(
        rt,
        deadline,
        "waiting for the code to be confirmed",
        oidc::poll_device(client, reg, &dev, deadline),
    )
}

/// Renews `old` with its refresh token and writes the result back as botocore does: start
/// URL and region from the config, `registrationExpiresAt` copied as it was, the refresh
/// token only when the answer has one.
pub(crate) fn refresh(
    session: &Session,
    old: &CachedToken,
    rt: &tokio::runtime::Runtime,
) -> std::result::Result<CachedToken, RefreshError> {
    let (Some(id), Some(secret), Some(rt_token)) =
        (&old.client_id, &old.client_secret, &old.refresh_token)
    else {
        return Err(RefreshError::Refused("nothing to refresh with".into()));
    };
    let client = oidc::client(&session.region);
    let call = oidc::refresh(&client, id, secret, rt_token);
    let tokens = rt
        .block_on(async { tokio::time::timeout(REFRESH_TIMEOUT, call).await })
        .map_err(|_| {
            RefreshError::Other(anyhow::anyhow!(
                "sso-oidc:CreateToken did not answer in time"
            ))
        })??;
    let new = CachedToken {
        start_url: Some(session.start_url.clone()),
        region: Some(session.region.clone()),
        access_token: tokens.access_token,
        expires_at: SystemTime::now() + tokens.expires_in,
        client_id: old.client_id.clone(),
        client_secret: old.client_secret.clone(),
        registration_expires_at: old.registration_expires_at.clone(),
        refresh_token: tokens.refresh_token,
    };
    if let Err(e) = cache::write(session.id(), &new).context("the renewed token was not saved") {
        eprintln!("kctx: warning: {e:#}");
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_sign_ins_cache_only_the_token() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let reg = Registration {
            client_id: "cid".into(),
            client_secret: "sec".into(),
            expires_at: now + Duration::from_secs(86400),
        };
        let tokens = || Tokens {
            access_token: "at".into(),
            expires_in: Duration::from_secs(3600),
            refresh_token: Some("rt".into()),
        };
        let s = Session {
            name: Some("corp".into()),
            profile: None,
            start_url: "https://corp/start".into(),
            region: "us-east-1".into(),
            scopes: vec!["sso:account:access".into()],
        };
        let t = to_cache(&s, &reg, tokens(), now);
        assert_eq!(
            cache::render(&t),
            r#"{"startUrl": "https://corp/start", "region": "us-east-1", "accessToken": "at", "expiresAt": "2027-01-15T09:00:00Z", "clientId": "cid", "clientSecret": "sec", "registrationExpiresAt": "2027-01-16T08:00:00Z", "refreshToken": "rt"}"#
        );
        let legacy = Session {
            name: None,
            profile: Some("old".into()),
            ..s
        };
        assert_eq!(
            cache::render(&to_cache(&legacy, &reg, tokens(), now)),
            r#"{"startUrl": "https://corp/start", "region": "us-east-1", "accessToken": "at", "expiresAt": "2027-01-15T09:00:00Z"}"#
        );
    }
}
