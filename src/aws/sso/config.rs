//! Which IAM Identity Center sign-in a command means, read from the shared config file as the
//! AWS CLI v2 reads it: `[sso-session NAME]` sections (`sso_start_url`, `sso_region`,
//! `sso_registration_scopes`), profiles that name one with `sso_session`, and legacy profiles
//! that carry `sso_start_url` and `sso_region` themselves (their token is cached under the
//! start URL, and has no refresh token).

use anyhow::{anyhow, bail, Result};

use crate::aws::{config_file, Profiles};

/// One IAM Identity Center sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The `[sso-session NAME]`; `None` for a legacy profile's own settings.
    pub(crate) name: Option<String>,
    /// The legacy profile that carries the settings.
    pub(crate) profile: Option<String>,
    pub(crate) start_url: String,
    pub(crate) region: String,
    /// `sso_registration_scopes` (none for legacy profiles).
    pub(crate) scopes: Vec<String>,
}

impl Session {
    /// What the token cache is keyed by: the session name, else the start URL.
    pub(crate) fn id(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.start_url)
    }

    /// The command that signs this session in.
    pub(crate) fn login_command(&self) -> String {
        match (&self.name, &self.profile) {
            (Some(n), _) => format!("kctx login --sso-session {n}"),
            (None, Some(p)) => format!("kctx login --profile {p}"),
            (None, None) => "kctx login".to_owned(),
        }
    }

    /// How messages name it.
    pub(crate) fn shown(&self) -> String {
        match (&self.name, &self.profile) {
            (Some(n), _) => format!("IAM Identity Center session {n:?}"),
            (None, Some(p)) => format!("IAM Identity Center (profile {p:?})"),
            (None, None) => format!("IAM Identity Center at {}", self.start_url),
        }
    }
}

/// A role of an account, signed in through a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleTarget {
    pub(crate) session: Session,
    pub(crate) account_id: String,
    pub(crate) role_name: String,
    /// The profile that names it, if one does.
    pub(crate) profile: Option<String>,
}

fn sso_key<'a>(p: &'a Profiles, session: &str, key: &str) -> Option<&'a str> {
    p.set
        .as_ref()?
        .sso_session(session)?
        .get(key)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The `[sso-session]` names in the config file, sorted.
pub(crate) fn session_names(p: &Profiles) -> Vec<String> {
    let mut v: Vec<String> = p
        .set
        .as_ref()
        .map(|s| s.sso_sessions().map(str::to_owned).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn scopes(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `[sso-session name]`.
pub(crate) fn named(p: &Profiles, name: &str) -> Result<Session> {
    let file = config_file();
    if p.set.as_ref().and_then(|s| s.sso_session(name)).is_none() {
        let known = session_names(p);
        bail!(
            "there is no [sso-session {name}] in {}{}",
            file.display(),
            if known.is_empty() {
                " (it has no sso-session sections)".to_owned()
            } else {
                format!(" (sessions there: {})", known.join(", "))
            }
        );
    }
    let need = |key: &str| {
        sso_key(p, name, key)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("[sso-session {name}] in {} has no {key}", file.display()))
    };
    let region = need("sso_region")?;
    crate::aws::sts::validate_region(&region)
        .map_err(|e| anyhow!("[sso-session {name}] in {}: {e}", file.display()))?;
    Ok(Session {
        name: Some(name.to_owned()),
        profile: None,
        start_url: need("sso_start_url")?,
        region,
        scopes: scopes(sso_key(p, name, "sso_registration_scopes")),
    })
}

/// The sign-in a profile uses: its `sso_session`, or its own legacy settings; `None` when it
/// signs in some other way.
pub(crate) fn of_profile(p: &Profiles, profile: &str) -> Result<Option<Session>> {
    if let Some(name) = p.get_of(profile, "sso_session") {
        return named(p, name.trim())
            .map(Some)
            .map_err(|e| anyhow!("profile {profile:?} names sso_session {name:?}: {e:#}"));
    }
    let Some(url) = p.get_of(profile, "sso_start_url") else {
        return Ok(None);
    };
    let region = p.get_of(profile, "sso_region").ok_or_else(|| {
        anyhow!(
            "profile {profile:?} in {} has sso_start_url but no sso_region",
            config_file().display()
        )
    })?;
    crate::aws::sts::validate_region(region.trim())?;
    Ok(Some(Session {
        name: None,
        profile: Some(profile.to_owned()),
        start_url: url.trim().to_owned(),
        region: region.trim().to_owned(),
        scopes: Vec::new(),
    }))
}

/// The session `kctx login` / `kctx logout` mean: `--sso-session`, else `--profile` (its own
/// session, or its `source_profile`'s), else `AWS_PROFILE`, else the only `[sso-session]` of
/// the config file.
pub(crate) fn for_login(
    p: &Profiles,
    session: Option<&str>,
    profile: Option<&str>,
) -> Result<Session> {
    if let Some(s) = session {
        return named(p, s);
    }
    if let Some(profile) = profile
        .map(str::to_owned)
        .or_else(|| crate::aws::profile_name(None))
    {
        if !p.all().contains(&profile) {
            bail!(
                "AWS profile {profile:?} not found in {}",
                config_file().display()
            );
        }
        // an assumed role whose source profile signs in with IAM Identity Center: that session
        return of_profile(p, &profile)?
            .or_else(|| chain_session(p, &profile))
            .ok_or_else(|| {
            anyhow!(
                "profile {profile:?} in {} signs in without IAM Identity Center (it has no sso_session or sso_start_url, nor a source_profile that has)",
                config_file().display()
            )
        });
    }
    match session_names(p).as_slice() {
        [only] => named(p, only),
        [] => bail!(
            "no IAM Identity Center session is configured: add an [sso-session NAME] section (sso_start_url, sso_region) to {}, or pass --profile",
            config_file().display()
        ),
        many => bail!(
            "which IAM Identity Center session? pass --sso-session NAME ({} has {}) or --profile NAME",
            config_file().display(),
            many.join(", ")
        ),
    }
}

/// The role a profile signs with through IAM Identity Center (`sso_account_id` and
/// `sso_role_name` with a session); `None` for other profiles.
pub(crate) fn profile_role(p: &Profiles, profile: &str) -> Result<Option<RoleTarget>> {
    let (Some(account), Some(role)) = (
        p.get_of(profile, "sso_account_id"),
        p.get_of(profile, "sso_role_name"),
    ) else {
        return Ok(None);
    };
    let Some(session) = of_profile(p, profile)? else {
        return Ok(None);
    };
    Ok(Some(RoleTarget {
        session,
        account_id: account.trim().to_owned(),
        role_name: role.trim().to_owned(),
        profile: Some(profile.to_owned()),
    }))
}

/// The session at the root of a profile's `source_profile` chain (an assumed role whose
/// source signs in with IAM Identity Center), if there is one.
pub(crate) fn chain_session(p: &Profiles, profile: &str) -> Option<Session> {
    let mut cur = profile.to_owned();
    for _ in 0..8 {
        let next = p.get_of(&cur, "source_profile")?.trim().to_owned();
        if next == cur {
            return None;
        }
        if let Ok(Some(s)) = of_profile(p, &next) {
            return Some(s);
        }
        cur = next;
    }
    None
}

/// The profiles that sign in with the session `s`, themselves or through their
/// `source_profile` (for `kctx logout`).
pub(crate) fn profiles_of(p: &Profiles, s: &Session) -> Vec<String> {
    p.all()
        .into_iter()
        .filter(|name| {
            matches!(of_profile(p, name), Ok(Some(x)) if x.id() == s.id())
                || chain_session(p, name).is_some_and(|x| x.id() == s.id())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_commands_name_the_session_or_the_legacy_profile() {
        let s = Session {
            name: Some("corp".into()),
            profile: None,
            start_url: "https://corp.awsapps.com/start".into(),
            region: "us-east-1".into(),
            scopes: vec![],
        };
        assert_eq!(s.id(), "corp");
        assert_eq!(s.login_command(), "kctx login --sso-session corp");
        let legacy = Session {
            name: None,
            profile: Some("old".into()),
            ..s
        };
        assert_eq!(legacy.id(), "https://corp.awsapps.com/start");
        assert_eq!(legacy.login_command(), "kctx login --profile old");
        assert_eq!(
            scopes(Some(" sso:account:access, ,codewhisperer:completions ")),
            ["sso:account:access", "codewhisperer:completions"]
        );
    }
}
