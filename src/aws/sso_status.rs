//! Whether the IAM Identity Center (SSO) session a profile signs in with has a usable token,
//! read from the AWS CLI v2 / botocore token cache: `~/.aws/sso/cache/<sha1>.json`, keyed by
//! the sha1 of the `[sso-session NAME]` name (or, for a legacy profile that carries
//! `sso_start_url` itself, of the start URL). botocore needs `accessToken` and `expiresAt`
//! (`%Y-%m-%dT%H:%M:%SZ`, UTC); with a `refreshToken` (and the client registration that
//! goes with it, not expired) it refreshes an expired token by itself.
//!
//! Self-contained on purpose: one pure function ([`status_of`]) and one file read, so that
//! the SSO login module can take its place.

use std::path::PathBuf;
use std::time::SystemTime;

use sha1::{Digest, Sha1};

use super::Profiles;

/// How an SSO session stands in the token cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SsoStatus {
    /// A token that has not expired.
    Valid,
    /// Expired, but with a refresh token and a live client registration: the SDK refreshes it.
    Refreshable,
    /// Expired (at this time, as the cache writes it) and nothing to refresh it with.
    Expired(String),
    /// No cached token (never logged in, logged out, or an unreadable cache file).
    Missing,
}

/// What a profile logs in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SsoLogin {
    /// `sso_session = NAME` and its `[sso-session NAME]` section.
    Session(String),
    /// A legacy profile with `sso_start_url` of its own.
    Legacy { profile: String, start_url: String },
}

impl SsoLogin {
    /// The string whose sha1 names the cache file.
    pub(crate) fn cache_key(&self) -> &str {
        match self {
            SsoLogin::Session(s) => s,
            SsoLogin::Legacy { start_url, .. } => start_url,
        }
    }
}

/// The SSO login `profile` depends on: its own, or that of its `source_profile` chain.
pub(crate) fn login_of(profiles: &Profiles, profile: &str) -> Option<SsoLogin> {
    let mut name = profile.to_owned();
    // a chain longer than this is a loop (the SDK refuses those too)
    for _ in 0..8 {
        if let Some(s) = profiles.get_of(&name, "sso_session") {
            return Some(SsoLogin::Session(s.to_owned()));
        }
        if let Some(url) = profiles.get_of(&name, "sso_start_url") {
            return Some(SsoLogin::Legacy {
                profile: name,
                start_url: url.to_owned(),
            });
        }
        match profiles.get_of(&name, "source_profile") {
            Some(next) if next != name => name = next.to_owned(),
            _ => return None,
        }
    }
    None
}

/// `~/.aws/sso/cache/<sha1(key)>.json`.
pub(crate) fn cache_path(key: &str) -> PathBuf {
    let digest = Sha1::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    crate::paths::home()
        .join(".aws")
        .join("sso")
        .join("cache")
        .join(format!("{hex}.json"))
}

/// The status of the session whose cache file is keyed by `key`.
pub(crate) fn status(key: &str) -> SsoStatus {
    let text = std::fs::read_to_string(cache_path(key)).ok();
    status_of(text.as_deref(), SystemTime::now())
}

fn parse_time(s: &str) -> Option<SystemTime> {
    // botocore writes `%Y-%m-%dT%H:%M:%SZ`; the CLI has written fractions and offsets too
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// The status of a cache file's content (`None`: no file) at `now`.
pub(crate) fn status_of(cache: Option<&str>, now: SystemTime) -> SsoStatus {
    let Some(v) = cache.and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok()) else {
        return SsoStatus::Missing;
    };
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).filter(|x| !x.is_empty());
    let (Some(_), Some(expires)) = (s("accessToken"), s("expiresAt")) else {
        return SsoStatus::Missing;
    };
    let Some(at) = parse_time(expires) else {
        return SsoStatus::Missing;
    };
    if at > now {
        return SsoStatus::Valid;
    }
    let registered = match s("registrationExpiresAt") {
        Some(r) => parse_time(r).is_some_and(|r| r > now),
        None => true,
    };
    if s("refreshToken").is_some()
        && s("clientId").is_some()
        && s("clientSecret").is_some()
        && registered
    {
        SsoStatus::Refreshable
    } else {
        SsoStatus::Expired(expires.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(s: &str) -> SystemTime {
        parse_time(s).unwrap()
    }

    #[test]
    fn the_four_states() {
        let now = at("2025-06-01T12:00:00Z");
        let valid = r#"{"startUrl":"https://x/start","region":"us-east-1","accessToken":"t","expiresAt":"2025-06-01T13:00:00Z"}"#;
        assert_eq!(status_of(Some(valid), now), SsoStatus::Valid);
        let expired = r#"{"accessToken":"t","expiresAt":"2025-06-01T11:00:00Z"}"#;
        assert_eq!(
            status_of(Some(expired), now),
            SsoStatus::Expired("2025-06-01T11:00:00Z".into())
        );
        let refreshable = r#"{"accessToken":"t","expiresAt":"2025-06-01T11:00:00Z","refreshToken":"r","clientId":"c","clientSecret":"s","registrationExpiresAt":"2025-09-01T00:00:00Z"}"#;
        assert_eq!(status_of(Some(refreshable), now), SsoStatus::Refreshable);
        // a registration that expired cannot refresh
        let stale = refreshable.replace("2025-09-01", "2025-05-01");
        assert!(matches!(
            status_of(Some(&stale), now),
            SsoStatus::Expired(_)
        ));
        assert_eq!(status_of(None, now), SsoStatus::Missing);
        assert_eq!(status_of(Some("not json"), now), SsoStatus::Missing);
        assert_eq!(
            status_of(Some(r#"{"expiresAt":"2025-06-01T13:00:00Z"}"#), now),
            SsoStatus::Missing
        );
        // exactly at expiry it is expired
        assert!(matches!(
            status_of(Some(expired), at("2025-06-01T11:00:00Z")),
            SsoStatus::Expired(_)
        ));
        assert_eq!(
            status_of(
                Some(expired),
                at("2025-06-01T11:00:00Z") - Duration::from_secs(1)
            ),
            SsoStatus::Valid
        );
    }

    #[test]
    fn cache_file_names_are_botocores() {
        // botocore: hashlib.sha1(name.encode()).hexdigest() + ".json"
        let name = |k: &str| {
            cache_path(k)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        assert_eq!(
            name("my-sso"),
            "0ad374308c5a4e22f723adf10145eafad7c4031c.json"
        );
        assert_eq!(
            name("https://my-sso-portal.awsapps.com/start"),
            "c7aaaf71fcc8777ae2475525ed049d39fe16c484.json"
        );
        assert!(cache_path("x").ends_with(std::path::Path::new(".aws/sso/cache").join(name("x"))));
    }
}
