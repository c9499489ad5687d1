//! Every account a session can see, with its roles and their credentials — what discovery
//! searches with `--sso-session`. ListAccounts (every page), then for each account, side by
//! side, ListAccountRoles and GetRoleCredentials of the roles asked for: at most
//! [`PORTAL_CONCURRENCY`] portal calls in flight, and the whole enumeration bounded by
//! [`DEADLINE`] (each list by [`super::portal::Pages`]). An account or role that fails is
//! reported and the rest go on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use aws_credential_types::Credentials;
use indicatif::ProgressBar;
use tokio::sync::Semaphore;

use super::portal::{self, Account};

/// Portal calls in flight at once.
pub(crate) const PORTAL_CONCURRENCY: usize = 16;
/// How long listing every account and role may take.
pub(crate) const DEADLINE: Duration = Duration::from_secs(120);

/// Which accounts and roles to take.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// Roles (empty: every role).
    pub(crate) roles: Vec<String>,
    /// Accounts (empty: every account).
    pub(crate) accounts: Vec<String>,
    /// Fetch the roles' credentials (off: only list them).
    pub(crate) credentials: bool,
}

/// A role of an account, and its credentials (or why there are none).
#[derive(Debug)]
pub(crate) struct RoleCreds {
    pub(crate) account: Account,
    pub(crate) role: String,
    pub(crate) creds: Result<Credentials, String>,
}

/// What the session can see.
#[derive(Debug, Default)]
pub(crate) struct Enumeration {
    /// Every account listed (before the filter), in the portal's order.
    pub(crate) accounts: Vec<Account>,
    /// Each account's roles (those whose roles could be listed), filter applied to accounts.
    pub(crate) roles: Vec<(Account, Vec<String>)>,
    /// The roles asked for (with credentials when asked).
    pub(crate) picked: Vec<RoleCreds>,
    /// Accounts whose roles could not be listed, with why.
    pub(crate) failed: Vec<(Account, String)>,
}

/// Lists what the session sees; `progress` counts accounts.
pub(crate) async fn enumerate(
    client: &aws_sdk_sso::Client,
    token: &str,
    filter: &Filter,
    progress: &ProgressBar,
) -> Result<Enumeration> {
    let deadline = Instant::now() + DEADLINE;
    progress.set_message("accounts");
    let all = match tokio::time::timeout_at(
        deadline.into(),
        portal::list_accounts(client, token, deadline),
    )
    .await
    {
        Ok(r) => r?,
        Err(_) => bail!(
            "sso:ListAccounts did not finish in {} s",
            DEADLINE.as_secs()
        ),
    };
    let wanted: Vec<Account> = all
        .iter()
        .filter(|a| filter.accounts.is_empty() || filter.accounts.contains(&a.id))
        .cloned()
        .collect();
    progress.set_length(wanted.len() as u64);
    progress.set_position(0);
    progress.set_message("accounts' roles");
    let sem = Arc::new(Semaphore::new(PORTAL_CONCURRENCY));
    let mut set = tokio::task::JoinSet::new();
    for (i, account) in wanted.iter().cloned().enumerate() {
        let (client, token, sem, filter) = (
            client.clone(),
            token.to_owned(),
            sem.clone(),
            filter.clone(),
        );
        let pb = progress.clone();
        set.spawn(async move {
            let r = one_account(&client, &token, &account, &filter, &sem, deadline).await;
            pb.inc(1);
            (i, account, r)
        });
    }
    let mut done = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline.into(), set.join_next()).await {
            Ok(Some(Ok(x))) => done.push(x),
            Ok(Some(Err(e))) => bail!("a portal task failed: {e}"),
            Ok(None) => break,
            Err(_) => bail!(
                "listing the roles of {} accounts did not finish in {} s",
                wanted.len(),
                DEADLINE.as_secs()
            ),
        }
    }
    done.sort_by_key(|(i, _, _)| *i);
    let mut out = Enumeration {
        accounts: all,
        ..Enumeration::default()
    };
    for (_, account, r) in done {
        match r {
            Ok((roles, picked)) => {
                out.roles.push((account, roles));
                out.picked.extend(picked);
            }
            Err(e) => out.failed.push((account, e)),
        }
    }
    Ok(out)
}

/// One account: its roles, then the credentials of those asked for.
async fn one_account(
    client: &aws_sdk_sso::Client,
    token: &str,
    account: &Account,
    filter: &Filter,
    sem: &Semaphore,
    deadline: Instant,
) -> Result<(Vec<String>, Vec<RoleCreds>), String> {
    let roles = {
        let _permit = sem.acquire().await.map_err(|e| e.to_string())?;
        portal::list_roles(client, token, &account.id, deadline)
            .await
            .map_err(|e| format!("{e:#}"))?
    };
    let mut picked = Vec::new();
    for role in roles
        .iter()
        .filter(|r| filter.roles.is_empty() || filter.roles.contains(r))
    {
        let creds = if filter.credentials {
            let _permit = sem.acquire().await.map_err(|e| e.to_string())?;
            portal::role_credentials(client, token, &account.id, role)
                .await
                .map_err(|e| format!("{e:#}"))
        } else {
            Err("not fetched".to_owned())
        };
        picked.push(RoleCreds {
            account: account.clone(),
            role: role.clone(),
            creds,
        });
    }
    Ok((roles, picked))
}

/// Each role name with the number of accounts that have it, sorted by name.
pub(crate) fn role_counts(roles: &[(Account, Vec<String>)]) -> Vec<(String, usize)> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, rs) in roles {
        for r in rs {
            *counts.entry(r.as_str()).or_default() += 1;
        }
    }
    counts.into_iter().map(|(r, n)| (r.to_owned(), n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_counts_count_accounts_per_role() {
        let a = |id: &str| Account {
            id: id.into(),
            name: id.into(),
        };
        let roles = vec![
            (a("1"), vec!["ReadOnly".to_owned(), "Admin".to_owned()]),
            (a("2"), vec!["ReadOnly".to_owned()]),
        ];
        assert_eq!(
            role_counts(&roles),
            [("Admin".to_owned(), 1), ("ReadOnly".to_owned(), 2)]
        );
    }
}
