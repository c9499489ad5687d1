//! The IAM Identity Center token cache of the AWS CLI v2 and botocore: `~/.aws/sso/cache/
//! <sha1(id)>.json`, where the id is the `[sso-session]` name (a legacy profile: its
//! `sso_start_url`). Read as botocore reads it (only `accessToken` and `expiresAt` are needed)
//! and written byte for byte as botocore writes it back after a refresh
//! (`botocore.tokens._sso_json_dumps`: `json.dumps` defaults — `", "` and `": "` separators,
//! no indent, ASCII only, no newline — keys in the order `startUrl`, `region`, `accessToken`,
//! `expiresAt`, `clientId`, `clientSecret`, `registrationExpiresAt`, `refreshToken`, times as
//! `%Y-%m-%dT%H:%M:%SZ`), atomically (a temp file in the same directory, then a rename), mode
//! 0600. The AWS CLI, boto3, Terraform and the AWS SDKs then use what kctx signed in, and kctx
//! uses what they did.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use sha1::{Digest, Sha1};

use crate::exec_credential::rfc3339;

/// A token is used only while more than this is left of it.
pub(crate) const VALID_MARGIN: Duration = Duration::from_secs(60);
/// A cache file larger than this is not one.
const MAX_FILE: u64 = 1 << 20;

/// One cached sign-in. `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CachedToken {
    pub(crate) start_url: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) access_token: String,
    pub(crate) expires_at: SystemTime,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    /// As the file spells it: botocore copies it verbatim when it refreshes.
    pub(crate) registration_expires_at: Option<String>,
    pub(crate) refresh_token: Option<String>,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("start_url", &self.start_url)
            .field("region", &self.region)
            .field("expires_at", &rfc3339(self.expires_at))
            .field("client_id", &self.client_id)
            .field("registration_expires_at", &self.registration_expires_at)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

impl CachedToken {
    /// Whether botocore (and kctx) can refresh it at `now`: a refresh token and a client
    /// registration that has not expired.
    pub(crate) fn refreshable(&self, now: SystemTime) -> bool {
        self.refresh_token.is_some()
            && self.client_id.is_some()
            && self.client_secret.is_some()
            && self
                .registration_expires_at
                .as_deref()
                .and_then(parse_time)
                .is_some_and(|t| t > now)
    }

    /// Whether it may be used at `now` with `margin` to spare.
    pub(crate) fn valid(&self, now: SystemTime, margin: Duration) -> bool {
        self.expires_at > now + margin
    }
}

/// What the cache holds for a session: the question `kctx doctor` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// A token with more than [`VALID_MARGIN`] left.
    Valid { expires_at: SystemTime },
    /// Expired (or about to), but its refresh token and client registration can renew it
    /// without a sign-in.
    Refreshable { expires_at: SystemTime },
    /// Expired, and nothing can renew it: a sign-in is needed.
    Expired { expires_at: SystemTime },
    /// No cache file, or one that is not a token.
    Missing,
}

/// The status of a token read from the cache (pure: `now` is given).
pub(crate) fn classify(token: Option<&CachedToken>, now: SystemTime) -> Status {
    match token {
        None => Status::Missing,
        Some(t) if t.valid(now, VALID_MARGIN) => Status::Valid {
            expires_at: t.expires_at,
        },
        Some(t) if t.refreshable(now) => Status::Refreshable {
            expires_at: t.expires_at,
        },
        Some(t) => Status::Expired {
            expires_at: t.expires_at,
        },
    }
}

/// Whether the session (an `[sso-session]` name, or a legacy profile's start URL) has a valid
/// or refreshable token at `now`. Reads only its cache file; no call is made.
pub(crate) fn status(session_or_start_url: &str, now: SystemTime) -> Status {
    classify(read(session_or_start_url).as_ref(), now)
}

/// `~/.aws/sso/cache`.
pub(crate) fn dir() -> PathBuf {
    crate::paths::home().join(".aws").join("sso").join("cache")
}

/// The cache file of a session name or start URL (sha1 of it, in hex).
pub(crate) fn path(id: &str) -> PathBuf {
    let digest = Sha1::digest(id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    dir().join(format!("{hex}.json"))
}

/// The cached token; `None` when there is none or the file is not a token.
pub(crate) fn read(id: &str) -> Option<CachedToken> {
    let p = path(id);
    let meta = std::fs::metadata(&p).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    parse(&std::fs::read(&p).ok()?)
}

/// Parses a cache file as botocore does: `accessToken` and `expiresAt` are required.
pub(crate) fn parse(data: &[u8]) -> Option<CachedToken> {
    let v: serde_json::Value = serde_json::from_slice(data).ok()?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    Some(CachedToken {
        start_url: s("startUrl"),
        region: s("region"),
        access_token: s("accessToken").filter(|t| !t.is_empty())?,
        expires_at: parse_time(&s("expiresAt")?)?,
        client_id: s("clientId"),
        client_secret: s("clientSecret"),
        registration_expires_at: s("registrationExpiresAt"),
        refresh_token: s("refreshToken"),
    })
}

/// The times botocore writes (`2026-01-02T03:04:05Z`) and those older AWS CLIs wrote
/// (`…UTC`, fractional seconds, `+00:00`).
pub(crate) fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let normal = match s.strip_suffix("UTC") {
        Some(rest) => format!("{rest}Z"),
        None => s.to_owned(),
    };
    time::OffsetDateTime::parse(&normal, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// The bytes botocore writes for `t` (see the module docs).
pub(crate) fn render(t: &CachedToken) -> String {
    let mut fields: Vec<(&str, String)> = Vec::new();
    let mut opt = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            fields.push((k, v.clone()));
        }
    };
    opt("startUrl", &t.start_url);
    opt("region", &t.region);
    fields.push(("accessToken", t.access_token.clone()));
    fields.push(("expiresAt", rfc3339(t.expires_at)));
    let mut opt = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            fields.push((k, v.clone()));
        }
    };
    opt("clientId", &t.client_id);
    opt("clientSecret", &t.client_secret);
    opt("registrationExpiresAt", &t.registration_expires_at);
    opt("refreshToken", &t.refresh_token);
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}: {}", py_json_string(k), py_json_string(v)))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// A JSON string as Python's `json.dumps` writes it with `ensure_ascii=True`: everything
/// outside printable ASCII escaped (`\n`-style where JSON has a short form, else `\uXXXX`,
/// astral characters as surrogate pairs).
fn py_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Writes the token for `id` as botocore does: a 0600 temp file in the cache directory
/// (created 0700 when missing), synced, then renamed over the old file. An interrupted
/// write leaves the old file whole.
pub(crate) fn write(id: &str, t: &CachedToken) -> Result<PathBuf> {
    let target = path(id);
    let dir = dir();
    crate::store::fsutil::create_dir_all_mode(&dir, 0o700)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    // tempfile creates its files 0600
    let mut tmp = tempfile::Builder::new()
        .prefix(".kctx-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(render(t).as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write a temp file in {}", dir.display()))?;
    tmp.persist(&target)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", target.display()))?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(target)
}

/// Removes the token of `id`; whether there was one.
pub(crate) fn remove(id: &str) -> Result<bool> {
    let p = path(id);
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", p.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file botocore 1.43 wrote back after a refresh (tokens shortened).
    const BOTOCORE: &str = r#"{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": "fakeat-OGdI", "expiresAt": "2026-12-06T23:16:06Z", "clientId": "fakecid-MU43", "clientSecret": "fakecsecret-P96q", "registrationExpiresAt": "2027-03-06T22:16:06Z", "refreshToken": "fakert-nbS4"}"#;

    #[test]
    fn reads_and_writes_botocores_bytes() {
        let t = parse(BOTOCORE.as_bytes()).unwrap();
        assert_eq!(t.access_token, "fakeat-OGdI");
        assert_eq!(t.refresh_token.as_deref(), Some("fakert-nbS4"));
        assert_eq!(render(&t), BOTOCORE);
        assert!(!format!("{t:?}").contains("fakeat") && !format!("{t:?}").contains("fakecsecret"));
        // legacy files: only the token and its expiry, in the old time format
        let legacy = parse(br#"{"accessToken": "x", "expiresAt": "2019-11-14T04:05:45UTC", "region": "us-east-1", "startUrl": "https://a/start"}"#).unwrap();
        assert_eq!(rfc3339(legacy.expires_at), "2019-11-14T04:05:45Z");
        assert_eq!(
            render(&legacy),
            r#"{"startUrl": "https://a/start", "region": "us-east-1", "accessToken": "x", "expiresAt": "2019-11-14T04:05:45Z"}"#
        );
        assert!(parse(br#"{"expiresAt": "2019-11-14T04:05:45Z"}"#).is_none());
        assert!(parse(b"not json").is_none());
        assert_eq!(py_json_string("é\"\\\n😀"), r#""\u00e9\"\\\n\ud83d\ude00""#);
    }

    #[test]
    fn status_says_valid_refreshable_expired_or_missing() {
        let now = parse_time("2026-12-06T23:00:00Z").unwrap();
        let t = parse(BOTOCORE.as_bytes()).unwrap();
        assert!(matches!(classify(Some(&t), now), Status::Valid { .. }));
        // less than a minute left: no longer valid, but refreshable
        let late = now + Duration::from_secs(16 * 60 - 30);
        assert!(matches!(
            classify(Some(&t), late),
            Status::Refreshable { .. }
        ));
        let mut no_refresh = t.clone();
        no_refresh.refresh_token = None;
        assert!(matches!(
            classify(Some(&no_refresh), late),
            Status::Expired { .. }
        ));
        // a registration that has expired cannot refresh
        let after_registration = parse_time("2027-03-07T00:00:00Z").unwrap();
        assert!(matches!(
            classify(Some(&t), after_registration),
            Status::Expired { .. }
        ));
        assert_eq!(classify(None, now), Status::Missing);
    }

    #[test]
    fn file_names_are_the_sha1_of_the_id() {
        // hashlib.sha1(b"corp").hexdigest()
        assert!(path("corp")
            .to_string_lossy()
            .ends_with(".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json"));
    }
}
