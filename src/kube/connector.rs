//! kube-rs's client stack — proxy (HTTP, HTTPS, SOCKS5), rustls with the context's TLS
//! settings, connect/read/write timeouts, base URI, authentication, extra headers — built as
//! `kube::Client::try_from(Config)` builds it, over a connector that resolves host names with
//! [`crate::dns`] instead of getaddrinfo (kctx is a static binary; see `dns.rs`). Left out:
//! kube's tracing layer, its retry layer (kctx turns retries off) and the expiry of exec-plugin
//! client certificates (kctx runs plugins itself, once per command).

use anyhow::{anyhow, Result};
use hyper_util::client::legacy::connect::{proxy, HttpConnector};
use kube::client::ConfigExt;

use crate::dns::Dns;

/// A client for `cfg` that resolves names with kctx's resolver.
pub(crate) fn client(cfg: kube::Config) -> Result<kube::Client> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut http = HttpConnector::new_with_resolver(Dns);
    http.enforce_http(false);
    match cfg.proxy_url.clone() {
        None => finish(cfg, http),
        Some(p) if p.scheme_str() == Some("socks5") => finish(cfg, proxy::SocksV5::new(p, http)),
        Some(p) if p.scheme_str() == Some("http") => {
            let t = with_basic_auth(&p, proxy::Tunnel::new(p.clone(), http));
            finish(cfg, t)
        }
        Some(p) if p.scheme_str() == Some("https") => {
            let tls = cfg.rustls_https_connector_with_connector(http)?;
            let t = with_basic_auth(&p, proxy::Tunnel::new(p.clone(), tls));
            finish(cfg, t)
        }
        Some(p) => Err(anyhow!(
            "proxy {p}: only http://, https:// and socks5:// proxies are supported"
        )),
    }
}

/// Basic authentication for a proxy URL that carries `user:password@`.
fn with_basic_auth<C>(p: &http::Uri, t: proxy::Tunnel<C>) -> proxy::Tunnel<C> {
    use base64::Engine;
    let Some((userinfo, _)) = p.authority().and_then(|a| a.as_str().split_once('@')) else {
        return t;
    };
    let v = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(userinfo)
    );
    match http::HeaderValue::from_str(&v) {
        Ok(h) => t.with_auth(h),
        Err(_) => t,
    }
}

fn finish<H>(cfg: kube::Config, conn: H) -> Result<kube::Client>
where
    H: tower::Service<http::Uri> + Clone + Send + Sync + 'static,
    H::Response: hyper_util::client::legacy::connect::Connection
        + hyper::rt::Read
        + hyper::rt::Write
        + Send
        + Unpin
        + 'static,
    H::Future: Send + 'static,
    H::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use tower::ServiceBuilder;
    let https = cfg.rustls_https_connector_with_connector(conn)?;
    let mut t = hyper_timeout::TimeoutConnector::new(https);
    t.set_connect_timeout(cfg.connect_timeout);
    t.set_read_timeout(cfg.read_timeout);
    t.set_write_timeout(cfg.write_timeout);
    t.set_reset_reader_on_write(cfg.reset_reader_on_write);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, kube::client::Body>(t);
    let svc = ServiceBuilder::new()
        .layer(cfg.base_uri_layer())
        .option_layer(cfg.auth_layer()?)
        .layer(cfg.extra_headers_layer()?)
        .map_err(tower::BoxError::from)
        .service(client);
    Ok(kube::Client::new(svc, cfg.default_namespace))
}
