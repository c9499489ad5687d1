//! SSO OIDC (`oidc.{region}.amazonaws.com`), through the AWS SDK's `ssooidc` client, as the
//! AWS CLI v2 uses it: RegisterClient (a public client), the OAuth 2.0 authorization code grant
//! with PKCE (RFC 7636, S256; the default since AWS CLI 2.22), the device authorization grant
//! (RFC 8628: poll at the given interval, five seconds more after each `slow_down`, until the
//! code expires), and the refresh_token grant. The endpoint follows
//! `AWS_ENDPOINT_URL_SSO_OIDC`, then `AWS_ENDPOINT_URL`.
//!
//! Nothing here prints or returns a secret in an error: errors carry the service's error code
//! and message only.

use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use aws_config::BehaviorVersion;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::region::Region;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::config::Session;

/// The device code grant's type name.
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The redirect URI registered for the authorization code grant; the listener's port is
/// added when signing in (RFC 8252 7.3: loopback redirects may use any port).
pub(crate) const REGISTERED_REDIRECT: &str = "http://127.0.0.1/oauth/callback";

/// The SSO OIDC client for `region`.
pub(crate) fn client(region: &str) -> aws_sdk_ssooidc::Client {
    let mut b = aws_sdk_ssooidc::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(crate::aws::http_client())
        .region(Region::new(region.to_owned()))
        .timeout_config(crate::aws::bounded_timeouts());
    if let Some(url) = crate::aws::endpoint_override("SSO_OIDC") {
        b = b.endpoint_url(url);
    }
    aws_sdk_ssooidc::Client::from_conf(b.build())
}

/// The OIDC service's base URL, where the browser is sent (`…/authorize`).
pub(crate) fn endpoint(region: &str) -> String {
    match crate::aws::endpoint_override("SSO_OIDC") {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!(
            "https://oidc.{region}.{}",
            crate::aws::sts::partition(region).dns_suffix
        ),
    }
}

/// The two sign-in flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Authorization code with PKCE, through a browser and a loopback listener.
    AuthCode,
    /// Device authorization: a code the user confirms in any browser.
    Device,
}

impl Flow {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Flow::AuthCode => "authorization_code",
            Flow::Device => "device_code",
        }
    }
}

/// A registered client. `Debug` shows no secret.
#[derive(Clone)]
pub(crate) struct Registration {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) expires_at: SystemTime,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The grant types a registration asks for: a session gets refresh tokens (it has scopes, as
/// `aws sso login` registers it); a legacy profile's sign-in does not.
pub(crate) fn grant_types(session: &Session, flow: Flow) -> Vec<String> {
    let mut g = Vec::new();
    match flow {
        Flow::AuthCode => g.push("authorization_code".to_owned()),
        Flow::Device if session.name.is_some() => g.push(DEVICE_GRANT.to_owned()),
        Flow::Device => {}
    }
    if session.name.is_some() {
        g.push("refresh_token".to_owned());
    }
    g
}

/// RegisterClient: a public client named after kctx and the session.
pub(crate) async fn register(
    client: &aws_sdk_ssooidc::Client,
    session: &Session,
    flow: Flow,
) -> Result<Registration> {
    let mut req = client
        .register_client()
        .client_name(format!(
            "kctx-{}",
            session.name.as_deref().unwrap_or("legacy")
        ))
        .client_type("public")
        .set_grant_types(Some(grant_types(session, flow)).filter(|g| !g.is_empty()))
        .set_scopes(Some(session.scopes.clone()).filter(|s| !s.is_empty()));
    if flow == Flow::AuthCode {
        req = req
            .redirect_uris(REGISTERED_REDIRECT)
            .issuer_url(&session.start_url);
    }
    let out = req
        .send()
        .await
        .map_err(|e| call_error("RegisterClient", &e))?;
    let (Some(id), Some(secret)) = (out.client_id, out.client_secret) else {
        bail!("sso-oidc:RegisterClient answered without a client id and secret");
    };
    Ok(Registration {
        client_id: id,
        client_secret: secret,
        expires_at: epoch(out.client_secret_expires_at),
    })
}

fn epoch(secs: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)
}

/// What CreateToken gives. `Debug` shows no secret.
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    pub(crate) expires_in: Duration,
    pub(crate) refresh_token: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

fn tokens(out: aws_sdk_ssooidc::operation::create_token::CreateTokenOutput) -> Result<Tokens> {
    let access_token = out
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow!("sso-oidc:CreateToken answered without an access token"))?;
    Ok(Tokens {
        access_token,
        expires_in: Duration::from_secs(out.expires_in.max(0) as u64),
        refresh_token: out.refresh_token.filter(|t| !t.is_empty()),
    })
}

/// `n` random bytes from the operating system, base64url without padding.
pub(crate) fn random_urlsafe(n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| anyhow!("no random numbers from the system: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// The S256 code challenge of a PKCE verifier: base64url(sha256(verifier)), unpadded.
pub(crate) fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The browser's sign-in page for the authorization code grant.
pub(crate) fn authorize_url(
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    code_challenge: &str,
    scopes: &[String],
) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("code_challenge_method", "S256")
        .append_pair("code_challenge", code_challenge);
    if !scopes.is_empty() {
        q.append_pair("scopes", &scopes.join(","));
    }
    format!("{endpoint}/authorize?{}", q.finish())
}

/// CreateToken with an authorization code and its PKCE verifier.
pub(crate) async fn exchange_code(
    client: &aws_sdk_ssooidc::Client,
    reg: &Registration,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<Tokens> {
    let out = client
        .create_token()
        .client_id(&reg.client_id)
        .client_secret(&reg.client_secret)
        .grant_type("authorization_code")
        .code(code)
        .code_verifier(verifier)
        .redirect_uri(redirect_uri)
        .send()
        .await
        .map_err(|e| call_error("CreateToken", &e))?;
    tokens(out)
}

/// A started device authorization. `Debug` shows no device code.
pub(crate) struct Device {
    device_code: String,
    pub(crate) user_code: String,
    /// The verification page with the code filled in (else the plain page).
    pub(crate) url: String,
    interval: Duration,
    expires_in: Duration,
}

/// StartDeviceAuthorization.
pub(crate) async fn start_device(
    client: &aws_sdk_ssooidc::Client,
    reg: &Registration,
    start_url: &str,
) -> Result<Device> {
    let out = client
        .start_device_authorization()
        .client_id(&reg.client_id)
        .client_secret(&reg.client_secret)
        .start_url(start_url)
        .send()
        .await
        .map_err(|e| call_error("StartDeviceAuthorization", &e))?;
    let (Some(device_code), Some(user_code)) = (out.device_code, out.user_code) else {
        bail!("sso-oidc:StartDeviceAuthorization answered without a device code and user code");
    };
    let url = out
        .verification_uri_complete
        .or(out.verification_uri)
        .ok_or_else(|| anyhow!("sso-oidc:StartDeviceAuthorization gave no verification URL"))?;
    Ok(Device {
        device_code,
        user_code,
        url,
        interval: Duration::from_secs(out.interval.clamp(1, 60) as u64),
        expires_in: Duration::from_secs(out.expires_in.max(1) as u64),
    })
}

/// Polls CreateToken until the user confirms the code, the code expires or `deadline` passes:
/// `authorization_pending` waits one interval, `slow_down` adds five seconds to it (RFC 8628
/// 3.5).
pub(crate) async fn poll_device(
    client: &aws_sdk_ssooidc::Client,
    reg: &Registration,
    device: &Device,
    deadline: Instant,
) -> Result<Tokens> {
    let deadline = deadline.min(Instant::now() + device.expires_in);
    let mut interval = device.interval;
    loop {
        if Instant::now() + interval > deadline {
            bail!("the code {} was not confirmed in time", device.user_code);
        }
        tokio::time::sleep(interval).await;
        let r = client
            .create_token()
            .client_id(&reg.client_id)
            .client_secret(&reg.client_secret)
            .grant_type(DEVICE_GRANT)
            .device_code(&device.device_code)
            .send()
            .await;
        match r {
            Ok(out) => return tokens(out),
            Err(e) => match e.code() {
                Some("AuthorizationPendingException") => {}
                Some("SlowDownException") => interval += Duration::from_secs(5),
                Some("ExpiredTokenException") => {
                    bail!(
                        "the code {} expired before it was confirmed",
                        device.user_code
                    )
                }
                Some("AccessDeniedException") => bail!("the sign-in was denied"),
                _ => return Err(call_error("CreateToken", &e)),
            },
        }
    }
}

/// Why a refresh failed.
#[derive(Debug)]
pub(crate) enum RefreshError {
    /// The refresh token or the client was refused: only a new sign-in helps.
    Refused(String),
    /// Anything else (the network, the service).
    Other(anyhow::Error),
}

/// CreateToken with the refresh_token grant, as botocore sends it (no scope).
pub(crate) async fn refresh(
    client: &aws_sdk_ssooidc::Client,
    client_id: &str,
    client_secret: &str,
    refresh_token: &str,
) -> std::result::Result<Tokens, RefreshError> {
    let r = client
        .create_token()
        .client_id(client_id)
        .client_secret(client_secret)
        .grant_type("refresh_token")
        .refresh_token(refresh_token)
        .send()
        .await;
    match r {
        Ok(out) => tokens(out).map_err(RefreshError::Other),
        Err(e) => match e.code() {
            Some(
                code @ ("InvalidGrantException"
                | "InvalidClientException"
                | "UnauthorizedClientException"
                | "ExpiredTokenException"
                | "AccessDeniedException"),
            ) => Err(RefreshError::Refused(code.to_owned())),
            _ => Err(RefreshError::Other(call_error("CreateToken", &e))),
        },
    }
}

/// One line for a failed call, named `sso-oidc:OPERATION` ([`crate::aws::sdk_error_line`]).
fn call_error<E>(
    op: &str,
    e: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    anyhow!("sso-oidc:{op}: {}", crate::aws::sdk_error_line(e))
}

/// Runs `fut` on `rt`, failing with `what` when it does not finish by `deadline`.
pub(crate) fn within<T>(
    rt: &tokio::runtime::Runtime,
    deadline: Instant,
    what: &str,
    fut: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let left = deadline.saturating_duration_since(Instant::now());
    rt.block_on(async { tokio::time::timeout(left, fut).await })
        .map_err(|_| anyhow!("{what} did not finish in time"))?
        .context(what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let v = random_urlsafe(64).unwrap();
        assert_eq!(v.len(), 86, "43 to 128 characters (RFC 7636 4.1)");
        assert_ne!(v, random_urlsafe(64).unwrap());
    }

    #[test]
    fn the_authorize_url_carries_every_parameter() {
        let u = authorize_url(
            "https://oidc.us-east-1.amazonaws.com",
            "cid",
            "http://127.0.0.1:5000/oauth/callback",
            "st",
            "ch",
            &["sso:account:access".into()],
        );
        assert_eq!(
            u,
            "https://oidc.us-east-1.amazonaws.com/authorize?response_type=code&client_id=cid&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Foauth%2Fcallback&state=st&code_challenge_method=S256&code_challenge=ch&scopes=sso%3Aaccount%3Aaccess"
        );
    }

    #[test]
    fn legacy_sign_ins_get_no_refresh_grant() {
        let s = Session {
            name: Some("corp".into()),
            profile: None,
            start_url: "https://x/start".into(),
            region: "us-east-1".into(),
            scopes: vec!["sso:account:access".into()],
        };
        assert_eq!(
            grant_types(&s, Flow::AuthCode),
            ["authorization_code", "refresh_token"]
        );
        assert_eq!(
            grant_types(&s, Flow::Device),
            [DEVICE_GRANT, "refresh_token"]
        );
        let legacy = Session { name: None, ..s };
        assert_eq!(grant_types(&legacy, Flow::AuthCode), ["authorization_code"]);
        assert!(grant_types(&legacy, Flow::Device).is_empty());
    }
}
