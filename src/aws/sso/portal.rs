//! The IAM Identity Center portal (`portal.sso.{region}.amazonaws.com`), through the AWS SDK's
//! `sso` client: ListAccounts and ListAccountRoles (paginated with `nextToken`, as the
//! service's paginators define them), GetRoleCredentials (the role's keys; `expiration` in
//! epoch milliseconds) and Logout. The bearer token travels in `x-amz-sso_bearer_token`. The
//! endpoint follows `AWS_ENDPOINT_URL_SSO`, then `AWS_ENDPOINT_URL`.
//!
//! Lists are bounded: a `nextToken` seen before, more than [`MAX_PAGES`] pages, or a list that
//! outlives its deadline ends with an error rather than a loop.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Result};
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::region::Region;

/// Pages of one list, at most (100 items each: 100,000 accounts).
pub(crate) const MAX_PAGES: usize = 1000;
/// Items asked for per page (the service's maximum).
const PAGE_SIZE: i32 = 100;

/// The portal client for `region`.
pub(crate) fn client(region: &str) -> aws_sdk_sso::Client {
    let mut b = aws_sdk_sso::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(crate::aws::http_client())
        .region(Region::new(region.to_owned()))
        .timeout_config(crate::aws::bounded_timeouts());
    if let Some(url) = crate::aws::endpoint_override("SSO") {
        b = b.endpoint_url(url);
    }
    aws_sdk_sso::Client::from_conf(b.build())
}

/// An account the session may sign in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) name: String,
}

/// The page bookkeeping of one list: refuses a repeated token and more than `max` pages.
#[derive(Debug)]
pub(crate) struct Pages {
    what: String,
    seen: HashSet<String>,
    count: usize,
    max: usize,
    deadline: Instant,
}

impl Pages {
    pub(crate) fn new(what: impl Into<String>, max: usize, deadline: Instant) -> Self {
        Self {
            what: what.into(),
            seen: HashSet::new(),
            count: 0,
            max,
            deadline,
        }
    }

    /// The token for the next page (`None`: the list is complete), given the one a page ended
    /// with.
    pub(crate) fn advance(
        &mut self,
        token: Option<String>,
        now: Instant,
    ) -> Result<Option<String>> {
        self.count += 1;
        let Some(t) = token.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if !self.seen.insert(t.clone()) {
            bail!(
                "{} repeated a nextToken after {} page(s): the list does not end",
                self.what,
                self.count
            );
        }
        if self.count >= self.max {
            bail!("{} did not end after {} pages", self.what, self.count);
        }
        if now >= self.deadline {
            bail!(
                "{} was still listing after {} page(s) when its time ran out",
                self.what,
                self.count
            );
        }
        Ok(Some(t))
    }
}

/// ListAccounts, every page.
pub(crate) async fn list_accounts(
    client: &aws_sdk_sso::Client,
    token: &str,
    deadline: Instant,
) -> Result<Vec<Account>> {
    let mut pages = Pages::new("sso:ListAccounts", MAX_PAGES, deadline);
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let page = client
            .list_accounts()
            .access_token(token)
            .max_results(PAGE_SIZE)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| call_error("ListAccounts", &e))?;
        for a in page.account_list.unwrap_or_default() {
            if let Some(id) = a.account_id {
                out.push(Account {
                    name: a.account_name.unwrap_or_else(|| id.clone()),
                    id,
                });
            }
        }
        match pages.advance(page.next_token, Instant::now())? {
            Some(t) => next = Some(t),
            None => return Ok(out),
        }
    }
}

/// ListAccountRoles of one account, every page.
pub(crate) async fn list_roles(
    client: &aws_sdk_sso::Client,
    token: &str,
    account: &str,
    deadline: Instant,
) -> Result<Vec<String>> {
    let mut pages = Pages::new(
        format!("sso:ListAccountRoles of account {account}"),
        MAX_PAGES,
        deadline,
    );
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let page = client
            .list_account_roles()
            .access_token(token)
            .account_id(account)
            .max_results(PAGE_SIZE)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| call_error("ListAccountRoles", &e))?;
        out.extend(
            page.role_list
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| r.role_name),
        );
        match pages.advance(page.next_token, Instant::now())? {
            Some(t) => next = Some(t),
            None => return Ok(out),
        }
    }
}

/// GetRoleCredentials: the role's temporary keys.
pub(crate) async fn role_credentials(
    client: &aws_sdk_sso::Client,
    token: &str,
    account: &str,
    role: &str,
) -> Result<Credentials> {
    let out = client
        .get_role_credentials()
        .access_token(token)
        .account_id(account)
        .role_name(role)
        .send()
        .await
        .map_err(|e| call_error("GetRoleCredentials", &e))?;
    let c = out
        .role_credentials
        .ok_or_else(|| anyhow!("sso:GetRoleCredentials answered without credentials"))?;
    let (Some(ak), Some(sk)) = (c.access_key_id, c.secret_access_key) else {
        bail!("sso:GetRoleCredentials answered without an access key");
    };
    let expiry = SystemTime::UNIX_EPOCH + Duration::from_millis(c.expiration.max(0) as u64);
    Ok(Credentials::new(
        ak,
        sk,
        c.session_token,
        Some(expiry),
        "SSO",
    ))
}

/// Logout: the portal forgets the token (and the refresh token issued with it).
pub(crate) async fn logout(client: &aws_sdk_sso::Client, token: &str) -> Result<()> {
    client
        .logout()
        .access_token(token)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| call_error("Logout", &e))
}

/// Whether a portal error says the token is not (or no longer) accepted.
pub(crate) fn unauthorized(e: &anyhow::Error) -> bool {
    format!("{e:#}").contains("UnauthorizedException")
}

/// One line for a failed call ([`crate::aws::sdk_error_line`]; the portal's 403 "No access"
/// is not in its model, but the SDK still reads its code).
fn call_error<E>(
    op: &str,
    e: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    anyhow!("sso:{op}: {}", crate::aws::sdk_error_line(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_end_on_no_token_and_stop_on_a_repeated_one_a_cap_or_the_deadline() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        let mut p = Pages::new("sso:ListAccounts", 5, later);
        assert_eq!(
            p.advance(Some("a".into()), now).unwrap().as_deref(),
            Some("a")
        );
        assert_eq!(
            p.advance(Some("b".into()), now).unwrap().as_deref(),
            Some("b")
        );
        let e = p.advance(Some("a".into()), now).unwrap_err().to_string();
        assert!(e.contains("repeated a nextToken after 3 page(s)"), "{e}");
        let mut p = Pages::new("x", 3, later);
        assert!(p.advance(Some("1".into()), now).is_ok());
        assert!(p.advance(Some("2".into()), now).is_ok());
        assert!(p
            .advance(Some("3".into()), now)
            .unwrap_err()
            .to_string()
            .contains("did not end after 3 pages"));
        let mut p = Pages::new("x", 10, now);
        assert!(
            p.advance(Some("1".into()), now).is_err(),
            "past the deadline"
        );
        let mut p = Pages::new("x", 10, later);
        assert_eq!(p.advance(Some(String::new()), now).unwrap(), None);
        assert_eq!(Pages::new("x", 10, later).advance(None, now).unwrap(), None);
    }
}
