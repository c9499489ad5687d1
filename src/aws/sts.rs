//! Presigning of the STS `GetCallerIdentity` request that EKS accepts as a bearer token.
//!
//! Everything here is pure: the caller passes the credentials, the host and the signing time,
//! so tests can pin the exact bytes against botocore's output (`tests/vectors/`).

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use base64::Engine;

/// Prefix of every EKS bearer token.
pub(crate) const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header that binds a token to one cluster.
pub(crate) const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// X-Amz-Expires the AWS CLI and aws-iam-authenticator use (STS ignores it for this call).
pub(crate) const URL_EXPIRES_SECS: u64 = 60;
/// EKS accepts a token for 15 minutes after X-Amz-Date; clients report 14 so they refresh early.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);
/// How long EKS itself accepts a token after X-Amz-Date.
pub(crate) const EKS_ACCEPT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Endpoint variant flags, from `AWS_USE_FIPS_ENDPOINT` / `use_fips_endpoint` and the
/// dual-stack equivalents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variant {
    pub(crate) fips: bool,
    pub(crate) dual_stack: bool,
}

/// One AWS partition: its name and DNS suffixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Partition {
    pub(crate) name: &'static str,
    pub(crate) dns_suffix: &'static str,
    /// Dual-stack suffix, where the partition has one.
    pub(crate) dual_stack_suffix: Option<&'static str>,
}

/// Region-name prefixes of the partitions other than `aws`, most specific first.
const PARTITIONS: &[(&str, Partition)] = &[
    (
        "cn-",
        Partition {
            name: "aws-cn",
            dns_suffix: "amazonaws.com.cn",
            dual_stack_suffix: Some("api.amazonwebservices.com.cn"),
        },
    ),
    (
        "us-gov-",
        Partition {
            name: "aws-us-gov",
            dns_suffix: "amazonaws.com",
            dual_stack_suffix: Some("api.aws"),
        },
    ),
    (
        "us-isob-",
        Partition {
            name: "aws-iso-b",
            dns_suffix: "sc2s.sgov.gov",
            dual_stack_suffix: None,
        },
    ),
    (
        "us-isof-",
        Partition {
            name: "aws-iso-f",
            dns_suffix: "csp.hci.ic.gov",
            dual_stack_suffix: None,
        },
    ),
    (
        "us-iso-",
        Partition {
            name: "aws-iso",
            dns_suffix: "c2s.ic.gov",
            dual_stack_suffix: None,
        },
    ),
    (
        "eu-isoe-",
        Partition {
            name: "aws-iso-e",
            dns_suffix: "cloud.adc-e.uk",
            dual_stack_suffix: None,
        },
    ),
    (
        "eusc-",
        Partition {
            name: "aws-eusc",
            dns_suffix: "amazonaws.eu",
            dual_stack_suffix: None,
        },
    ),
];

const AWS: Partition = Partition {
    name: "aws",
    dns_suffix: "amazonaws.com",
    dual_stack_suffix: Some("api.aws"),
};

/// The partition a region belongs to.
pub(crate) fn partition(region: &str) -> Partition {
    PARTITIONS
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or(AWS, |(_, p)| *p)
}

/// The regional STS host of `region`'s partition. This is the only host EKS accepts in a
/// token; endpoint overrides (`AWS_ENDPOINT_URL_STS`) deliberately do not apply here.
pub fn sts_host(region: &str, variant: Variant) -> String {
    let p = partition(region);
    let service = if variant.fips { "sts-fips" } else { "sts" };
    let suffix = match (variant.dual_stack, p.dual_stack_suffix) {
        (true, Some(d)) => d,
        _ => p.dns_suffix,
    };
    format!("{service}.{region}.{suffix}")
}

/// A region name is a few lowercase words and digits joined by dashes.
pub(crate) fn validate_region(region: &str) -> Result<()> {
    let ok = !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    anyhow::ensure!(ok, "invalid AWS region {region:?}");
    Ok(())
}

/// Presigns `GET https://{host}/?Action=GetCallerIdentity&Version=2011-06-15` for `cluster_id`
/// at `at`, byte-identical to botocore's `generate_presigned_url` as used by `aws eks get-token`:
/// operation parameters first, then the auth parameters in sorted order, the security token
/// before the signature.
pub fn presign_url(
    creds: &Credentials,
    region: &str,
    host: &str,
    cluster_id: &str,
    at: SystemTime,
) -> Result<String> {
    let base = format!("https://{host}/?Action=GetCallerIdentity&Version=2011-06-15");
    let headers = [(CLUSTER_ID_HEADER, cluster_id)];
    let request = SignableRequest::new(
        "GET",
        base.as_str(),
        headers.iter().copied(),
        SignableBody::Bytes(&[]),
    )
    .context("building the STS request to sign")?;

    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(URL_EXPIRES_SECS));
    let identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(at)
        .settings(settings)
        .build()
        .context("building SigV4 signing parameters")?
        .into();
    let (instructions, _signature) = sign(request, &params)
        .context("signing the STS request")?
        .into_parts();
    let (_, mut query) = instructions.into_parts();

    // botocore's order: sorted auth params, then X-Amz-Security-Token, then X-Amz-Signature.
    let rank = |k: &str| match k {
        "X-Amz-Signature" => 2,
        "X-Amz-Security-Token" => 1,
        _ => 0,
    };
    query.sort_by(|a, b| rank(a.0).cmp(&rank(b.0)).then(a.0.cmp(b.0)));

    let mut url = base;
    for (k, v) in &query {
        url.push('&');
        url.push_str(k);
        url.push('=');
        pct_encode_into(&mut url, v);
    }
    Ok(url)
}

/// Token = prefix + unpadded base64url of the presigned URL.
pub fn token_from_url(url: &str) -> String {
    let mut t = String::with_capacity(TOKEN_PREFIX.len() + url.len() * 4 / 3 + 4);
    t.push_str(TOKEN_PREFIX);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(url, &mut t);
    t
}

/// The pure token function: same inputs, same bytes.
pub fn token(
    creds: &Credentials,
    region: &str,
    host: &str,
    cluster_id: &str,
    at: SystemTime,
) -> Result<String> {
    Ok(token_from_url(&presign_url(
        creds, region, host, cluster_id, at,
    )?))
}

/// RFC 3986 percent-encoding: everything but unreserved characters (A-Z a-z 0-9 - _ . ~).
fn pct_encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// Decodes `%XX` sequences (used by tests and by `whoami` style inspection).
#[cfg(test)]
fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_per_partition() {
        let std = Variant::default();
        assert_eq!(sts_host("us-west-2", std), "sts.us-west-2.amazonaws.com");
        assert_eq!(
            sts_host("cn-north-1", std),
            "sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            sts_host("us-gov-west-1", std),
            "sts.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            sts_host("us-iso-east-1", std),
            "sts.us-iso-east-1.c2s.ic.gov"
        );
        assert_eq!(
            sts_host("us-isob-east-1", std),
            "sts.us-isob-east-1.sc2s.sgov.gov"
        );
        assert_eq!(
            sts_host("eu-isoe-west-1", std),
            "sts.eu-isoe-west-1.cloud.adc-e.uk"
        );
        assert_eq!(
            sts_host("us-isof-south-1", std),
            "sts.us-isof-south-1.csp.hci.ic.gov"
        );
        assert_eq!(
            sts_host("eusc-de-east-1", std),
            "sts.eusc-de-east-1.amazonaws.eu"
        );
        let fips = Variant {
            fips: true,
            dual_stack: false,
        };
        assert_eq!(
            sts_host("us-east-1", fips),
            "sts-fips.us-east-1.amazonaws.com"
        );
        let ds = Variant {
            fips: false,
            dual_stack: true,
        };
        assert_eq!(sts_host("eu-west-1", ds), "sts.eu-west-1.api.aws");
        let both = Variant {
            fips: true,
            dual_stack: true,
        };
        assert_eq!(sts_host("us-east-2", both), "sts-fips.us-east-2.api.aws");
    }

    #[test]
    fn percent_encoding_is_rfc3986() {
        let mut s = String::new();
        pct_encode_into(&mut s, "a+b/c=d e~f_g.h-i");
        assert_eq!(s, "a%2Bb%2Fc%3Dd%20e~f_g.h-i");
        assert_eq!(pct_decode(&s), "a+b/c=d e~f_g.h-i");
    }

    #[test]
    fn regions_are_validated() {
        assert!(validate_region("us-east-1").is_ok());
        assert!(validate_region("").is_err());
        assert!(validate_region("us east").is_err());
        assert!(validate_region("evil.com/").is_err());
    }
}
