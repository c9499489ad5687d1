//! The `client.authentication.k8s.io` ExecCredential that kubectl reads from an exec plugin.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

pub(crate) const V1: &str = "client.authentication.k8s.io/v1";
pub(crate) const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
pub(crate) const V1ALPHA1: &str = "client.authentication.k8s.io/v1alpha1";

/// The apiVersion to answer with, from the `KUBERNETES_EXEC_INFO` kubectl passes, and an
/// optional warning for stderr. Mirrors `aws eks get-token`: v1 and v1beta1 are echoed,
/// v1alpha1 is echoed with a deprecation warning, anything else falls back to v1beta1.
pub(crate) fn api_version(exec_info: Option<&str>) -> (&'static str, Option<String>) {
    let raw = match exec_info {
        None => return (V1BETA1, None),
        Some(s) if s.trim().is_empty() => return (V1BETA1, None),
        Some(s) => s,
    };
    #[derive(Deserialize)]
    struct Info {
        #[serde(rename = "apiVersion")]
        api_version: Option<String>,
    }
    match serde_json::from_str::<Info>(raw) {
        Err(_) => (
            V1BETA1,
            Some(format!(
                "KUBERNETES_EXEC_INFO is not valid JSON; answering with {V1BETA1}"
            )),
        ),
        Ok(info) => match info.api_version.as_deref() {
            Some(V1) => (V1, None),
            Some(V1BETA1) => (V1BETA1, None),
            Some(V1ALPHA1) => (
                V1ALPHA1,
                Some(format!(
                    "{V1ALPHA1} is deprecated and no longer served by current Kubernetes: \
                     change the kubeconfig user's exec apiVersion to {V1BETA1} or {V1}"
                )),
            ),
            other => (
                V1BETA1,
                Some(format!(
                    "unrecognised apiVersion {} in KUBERNETES_EXEC_INFO; answering with {V1BETA1}",
                    other.map_or("(none)".to_string(), |v| format!("{v:?}"))
                )),
            ),
        },
    }
}

/// Whether kubectl says the plugin may interact with the user: `spec.interactive` of the
/// `KUBERNETES_EXEC_INFO` it passes (client-go sets it when the exec entry's
/// `interactiveMode` allows it and its own stdin is a terminal). Anything unreadable: no.
pub(crate) fn interactive(exec_info: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(exec_info)
        .ok()
        .and_then(|v| v.get("spec")?.get("interactive")?.as_bool())
        .unwrap_or(false)
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    #[serde(rename = "expirationTimestamp")]
    pub(crate) expiration_timestamp: String,
    pub(crate) token: String,
}

#[derive(Serialize)]
struct ExecCredential<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    spec: Spec,
    status: &'a Status,
}

#[derive(Serialize)]
struct Spec {}

/// RFC 3339 UTC to the second, e.g. `2026-11-28T11:00:36Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f).expect("formatting a UTC time")
}

/// Parses what [`rfc3339`] writes.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// The single JSON document `kctx token` prints (with a trailing newline).
pub(crate) fn render(api_version: &str, status: &Status) -> String {
    let mut s = serde_json::to_string(&ExecCredential {
        kind: "ExecCredential",
        api_version,
        spec: Spec {},
        status,
    })
    .expect("serialising an ExecCredential");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn api_version_cases() {
        assert_eq!(api_version(None), (V1BETA1, None));
        let v1 = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#;
        assert_eq!(api_version(Some(v1)), (V1, None));
        let b = r#"{"apiVersion":"client.authentication.k8s.io/v1beta1"}"#;
        assert_eq!(api_version(Some(b)), (V1BETA1, None));
        let a = r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1"}"#;
        let (v, w) = api_version(Some(a));
        assert_eq!(v, V1ALPHA1);
        assert!(w.unwrap().contains("deprecated"));
        let (v, w) = api_version(Some("{not json"));
        assert_eq!(v, V1BETA1);
        assert!(w.is_some());
        let (v, w) = api_version(Some(r#"{"apiVersion":"client.authentication.k8s.io/v2"}"#));
        assert_eq!(v, V1BETA1);
        assert!(w.unwrap().contains("v2"));
    }

    #[test]
    fn interactive_is_what_kubectl_says() {
        assert!(interactive(
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}"#
        ));
        assert!(!interactive(r#"{"spec":{"interactive":false}}"#));
        assert!(!interactive(r#"{"spec":{}}"#));
        assert!(!interactive("{not json"));
    }

    #[test]
    fn renders_exact_document() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_864_836);
        let st = Status {
            expiration_timestamp: rfc3339(at),
            token: "k8s-aws-v1.abc".into(),
        };
        assert_eq!(
            render(V1, &st),
            "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{},\"status\":{\"expirationTimestamp\":\"2026-11-28T11:20:36Z\",\"token\":\"k8s-aws-v1.abc\"}}\n"
        );
        assert_eq!(parse_rfc3339(&st.expiration_timestamp), Some(at));
    }
}
