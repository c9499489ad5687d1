//! A test verifier of the format rules EKS's authenticator (aws-iam-authenticator `Verify`)
//! applies to a token before it replays it against STS.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::Engine;

pub struct Parsed {
    pub host: String,
    /// lower-cased key -> decoded value
    pub query: BTreeMap<String, String>,
}

const ALLOWED: &[&str] = &[
    "action",
    "version",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-signedheaders",
];

fn pct_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s.get(i + 1..i + 3).ok_or("truncated %-escape")?;
            out.push(u8::from_str_radix(h, 16).map_err(|_| "bad %-escape")?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "query is not UTF-8".to_string())
}

fn host_ok(host: &str) -> bool {
    if host == "sts.amazonaws.com" {
        return true; // global endpoint, aws partition only
    }
    let suffixes = [
        ".amazonaws.com.cn",
        ".api.amazonwebservices.com.cn",
        ".amazonaws.com",
        ".api.aws",
        ".c2s.ic.gov",
        ".sc2s.sgov.gov",
        ".cloud.adc-e.uk",
        ".csp.hci.ic.gov",
        ".amazonaws.eu",
    ];
    for suf in suffixes {
        if let Some(rest) = host.strip_suffix(suf) {
            let region = rest
                .strip_prefix("sts.")
                .or_else(|| rest.strip_prefix("sts-fips."));
            return region.is_some_and(|r| {
                !r.is_empty()
                    && r.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            });
        }
    }
    false
}

/// Applies the rules; `now` is the verifier's clock for the 15-minute age check.
pub fn verify(token: &str, now: SystemTime) -> Result<Parsed, String> {
    if token.len() > 4096 {
        return Err("token longer than 4096 bytes".into());
    }
    let b64 = token
        .strip_prefix("k8s-aws-v1.")
        .ok_or("missing k8s-aws-v1. prefix")?;
    if b64.contains('=') {
        return Err("padded base64".into());
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|e| format!("base64url: {e}"))?;
    let url = String::from_utf8(raw).map_err(|_| "URL not UTF-8")?;
    let rest = url.strip_prefix("https://").ok_or("scheme is not https")?;
    let (host, rest) = rest.split_once('/').ok_or("no path")?;
    if !host_ok(host) {
        return Err(format!("host {host:?} is not an STS endpoint"));
    }
    let (path, q) = rest.split_once('?').unwrap_or((rest, ""));
    if !path.is_empty() {
        return Err(format!("path is not exactly '/': /{path}"));
    }
    let mut query = BTreeMap::new();
    for kv in q.split('&') {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("query part {kv:?} has no value"))?;
        let k = pct_decode(k)?.to_ascii_lowercase();
        if !ALLOWED.contains(&k.as_str()) {
            return Err(format!("query key {k:?} not allowed"));
        }
        if query.insert(k.clone(), pct_decode(v)?).is_some() {
            return Err(format!("duplicate query key {k:?}"));
        }
    }
    if query.get("action").map(String::as_str) != Some("GetCallerIdentity") {
        return Err("Action is not GetCallerIdentity".into());
    }
    let signed = query
        .get("x-amz-signedheaders")
        .ok_or("no X-Amz-SignedHeaders")?;
    if !signed.split(';').any(|h| h == "x-k8s-aws-id") {
        return Err("x-k8s-aws-id is not signed".into());
    }
    let exp: i64 = query
        .get("x-amz-expires")
        .ok_or("no X-Amz-Expires")?
        .parse()
        .map_err(|_| "X-Amz-Expires not a number")?;
    if !(0..=900).contains(&exp) {
        return Err(format!("X-Amz-Expires {exp} out of range"));
    }
    let date = query.get("x-amz-date").ok_or("no X-Amz-Date")?;
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let signed_at: SystemTime = time::PrimitiveDateTime::parse(date, &fmt)
        .map_err(|_| "bad X-Amz-Date")?
        .assume_utc()
        .into();
    if now.duration_since(signed_at).unwrap_or_default() > Duration::from_secs(15 * 60) {
        return Err("token older than 15 minutes".into());
    }
    for k in ["x-amz-algorithm", "x-amz-credential", "x-amz-signature"] {
        if !query.contains_key(k) {
            return Err(format!("missing {k}"));
        }
    }
    Ok(Parsed {
        host: host.to_owned(),
        query,
    })
}

#[test]
fn verifier_rejects_bad_tokens() {
    let enc = |u: &str| {
        format!(
            "k8s-aws-v1.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(u)
        )
    };
    let now = SystemTime::now();
    let d = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        d.year(),
        d.month() as u8,
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    );
    let good = format!("https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20240101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date={date}&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=ab");
    verify(&enc(&good), now).unwrap();
    for (what, bad) in [
        ("http", good.replace("https://", "http://")),
        (
            "host",
            good.replace("sts.us-east-1.amazonaws.com", "evil.example.com"),
        ),
        ("path", good.replace(".com/?", ".com/x?")),
        ("key", format!("{good}&Foo=1")),
        ("dup", format!("{good}&Action=GetCallerIdentity")),
        ("action", good.replace("GetCallerIdentity", "AssumeRole")),
        ("unsigned", good.replace("host%3Bx-k8s-aws-id", "host")),
        ("expires", good.replace("Expires=60", "Expires=901")),
    ] {
        assert!(verify(&enc(&bad), now).is_err(), "{what} accepted");
    }
    assert!(verify(&format!("{}=", enc(&good)), now).is_err());
    assert!(verify(&"k8s-aws-v1.".repeat(400), now).is_err());
    assert!(verify(&enc(&good), now + Duration::from_secs(16 * 60)).is_err());
}
