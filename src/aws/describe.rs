//! EKS `DescribeCluster` for many clusters at once, each with its own credentials, bounded the
//! way discovery is ([`super::discover`]): at most [`PER_REGION`] requests in flight to one
//! regional endpoint (EKS throttles per account and region), [`CONCURRENCY`] in all, and
//! every attempt bounded in time ([`super::bounded_timeouts`]).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Result;
use aws_credential_types::Credentials;
use aws_types::region::Region;
use tokio::sync::Semaphore;

use super::discover::{CONCURRENCY, PER_REGION};
use super::{ClusterInfo, Target};

/// One cluster to describe, and the credentials to ask with.
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    pub(crate) creds: Credentials,
    /// The endpoint variant (FIPS, dual-stack) of the identity.
    pub(crate) target: Target,
    /// The cluster's region.
    pub(crate) region: String,
    pub(crate) name: String,
}

/// What EKS said about one cluster.
#[derive(Debug, Clone)]
pub(crate) enum Described {
    Found(ClusterInfo),
    /// ResourceNotFoundException: no cluster of that name for these credentials there.
    NotFound,
    /// Any other failure (network, permissions, throttling), as one line.
    Failed(String),
}

fn client(l: &Lookup) -> aws_sdk_eks::Client {
    let mut b = aws_sdk_eks::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .http_client(super::http_client())
        .region(Region::new(l.region.clone()))
        .credentials_provider(l.creds.clone())
        .use_fips(l.target.variant.fips)
        .use_dual_stack(l.target.variant.dual_stack)
        .timeout_config(super::bounded_timeouts());
    if let Some(url) = super::endpoint_override("EKS") {
        b = b.endpoint_url(url);
    }
    aws_sdk_eks::Client::from_conf(b.build())
}

/// Describes every lookup, side by side within the bounds; the answers in `lookups` order.
pub(crate) fn describe_all(lookups: &[Lookup]) -> Result<Vec<Described>> {
    if lookups.is_empty() {
        return Ok(Vec::new());
    }
    let rt = super::runtime()?;
    Ok(rt.block_on(async {
        let all = Arc::new(Semaphore::new(CONCURRENCY));
        let mut regional: HashMap<String, Arc<Semaphore>> = HashMap::new();
        let mut set = tokio::task::JoinSet::new();
        for (i, l) in lookups.iter().enumerate() {
            let region = regional
                .entry(l.region.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(PER_REGION)))
                .clone();
            let all = all.clone();
            let (c, region_name, name) = (client(l), l.region.clone(), l.name.clone());
            set.spawn(async move {
                // the regional bound first, so a busy region holds no global permits
                let _r = region.acquire().await.ok();
                let _a = all.acquire().await.ok();
                let r = match super::describe_cluster_opt(&c, &region_name, &name).await {
                    Ok(Some(info)) => Described::Found(info),
                    Ok(None) => Described::NotFound,
                    Err(e) => Described::Failed(crate::report::one_line(&format!("{e:#}"))),
                };
                (i, r)
            });
        }
        let mut out = vec![Described::Failed("not run".into()); lookups.len()];
        while let Some(joined) = set.join_next().await {
            if let Ok((i, r)) = joined {
                out[i] = r;
            }
        }
        out
    }))
}
