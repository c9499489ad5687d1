//! Which proxy a request to the API server goes through, as kubectl (Go's
//! `http.ProxyFromEnvironment`) decides: a cluster's `proxy-url` always; else `HTTPS_PROXY`
//! (`HTTP_PROXY` for an http server), unless the server is `localhost` or a loopback address,
//! or `NO_PROXY` names it. kube-rs matches `NO_PROXY` against the proxy's own address instead,
//! and fails on an empty entry, so kctx decides and hands kube-rs the answer.

use std::net::IpAddr;

fn env_any(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

/// The proxy for `server` (`scheme://host[:port]…`), given the cluster's `proxy-url`.
pub(crate) fn for_server(server: &str, proxy_url: Option<&str>) -> Option<String> {
    if let Some(p) = proxy_url.filter(|p| !p.is_empty()) {
        return Some(p.to_owned());
    }
    let (scheme, rest) = server.split_once("://")?;
    let proxy = if scheme.eq_ignore_ascii_case("https") {
        env_any(&["HTTPS_PROXY", "https_proxy"])
    } else {
        env_any(&["HTTP_PROXY", "http_proxy"])
    }?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = split_host_port(authority, scheme);
    if !uses_proxy(&host, &port, env_any(&["NO_PROXY", "no_proxy"]).as_deref()) {
        return None;
    }
    Some(proxy)
}

fn split_host_port(authority: &str, scheme: &str) -> (String, String) {
    let default = if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else {
        "80"
    };
    if let Some(rest) = authority.strip_prefix('[') {
        // [v6]:port
        let (h, after) = rest.split_once(']').unwrap_or((rest, ""));
        let port = after.strip_prefix(':').unwrap_or(default);
        return (h.to_ascii_lowercase(), port.to_owned());
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h.to_ascii_lowercase(), p.to_owned()),
        _ => (authority.to_ascii_lowercase(), default.to_owned()),
    }
}

/// Go's `httpproxy.(*config).useProxy`.
fn uses_proxy(host: &str, port: &str, no_proxy: Option<&str>) -> bool {
    if host.is_empty() || host == "localhost" {
        return false;
    }
    let ip: Option<IpAddr> = host.parse().ok();
    if ip.is_some_and(|i| i.is_loopback()) {
        return false;
    }
    for entry in no_proxy.unwrap_or("").split(',') {
        let entry = entry.trim().to_ascii_lowercase();
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            return false;
        }
        if let Some((net, bits)) = entry.split_once('/') {
            if let (Ok(net), Ok(bits), Some(ip)) = (net.parse::<IpAddr>(), bits.parse::<u32>(), ip)
            {
                if in_cidr(ip, net, bits) {
                    return false;
                }
            }
            continue;
        }
        if let Ok(e) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
            if ip == Some(e) {
                return false;
            }
            continue;
        }
        // a host name, maybe with a port; `*.x` and `.x` match subdomains only, `x` also x
        let (mut name, want_port) = match entry.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => {
                (h.to_owned(), Some(p.to_owned()))
            }
            _ => (entry.clone(), None),
        };
        if let Some(rest) = name.strip_prefix("*.") {
            name = format!(".{rest}");
        }
        let matched = match name.strip_prefix('.') {
            Some(_) => host.ends_with(&name),
            None => host == name || host.ends_with(&format!(".{name}")),
        };
        if matched && want_port.as_deref().is_none_or(|p| p == port) {
            return false;
        }
    }
    true
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matches_the_server_as_go_does() {
        let np = Some("10.0.0.0/8, .internal,example.com:8443,,192.168.1.5, *.corp");
        assert!(!uses_proxy("10.1.2.3", "443", np));
        assert!(uses_proxy("11.1.2.3", "443", np));
        assert!(!uses_proxy("a.internal", "443", np));
        assert!(
            uses_proxy("internal", "443", np),
            ".x matches subdomains only"
        );
        assert!(!uses_proxy("example.com", "8443", np));
        assert!(uses_proxy("example.com", "443", np), "the port must match");
        assert!(!uses_proxy("api.example.com", "8443", np));
        assert!(!uses_proxy("192.168.1.5", "443", np));
        assert!(!uses_proxy("x.corp", "443", np));
        assert!(!uses_proxy("localhost", "443", None));
        assert!(!uses_proxy("127.0.0.1", "6443", None));
        assert!(!uses_proxy("::1", "6443", None));
        assert!(uses_proxy(
            "abc.gr7.us-west-2.eks.amazonaws.com",
            "443",
            Some("")
        ));
        assert!(!uses_proxy("anything", "1", Some("*")));
        assert_eq!(
            split_host_port("[fd00::1]:6443", "https"),
            ("fd00::1".into(), "6443".into())
        );
        assert_eq!(
            split_host_port("Kube.Test", "https"),
            ("kube.test".into(), "443".into())
        );
    }
}
