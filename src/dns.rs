//! Host names resolved without getaddrinfo, for both HTTP clients kctx uses (the AWS SDK's
//! and kube-rs's): kctx is linked statically, and glibc's static getaddrinfo loads NSS
//! modules at run time — absent in an empty root or a distroless image, and able to crash
//! against another glibc. A small stub resolver, as glibc's own `files dns` order does it:
//! IP literals, /etc/hosts, `localhost` and `*.localhost` (RFC 6761), then A and AAAA over UDP
//! (TCP when the answer is truncated) to the nameservers of /etc/resolv.conf, with its
//! `search`, `ndots`, `timeout` and `attempts`.
use std::future::Future;
use std::io::{self, ErrorKind};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

#[derive(Clone, Debug, Default)]
pub(crate) struct Dns;

struct Conf {
    servers: Vec<IpAddr>,
    search: Vec<String>,
    ndots: usize,
    timeout: Duration,
    attempts: usize,
}

fn read_conf(text: &str) -> Conf {
    let mut c = Conf {
        servers: vec![],
        search: vec![],
        ndots: 1,
        timeout: Duration::from_secs(5),
        attempts: 2,
    };
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut w = line.split_whitespace();
        match w.next() {
            Some("nameserver") => {
                // `fe80::1%eth0` scoped addresses are skipped (the zone needs an interface index)
                if let Some(ip) = w.next().and_then(|s| s.parse().ok()) {
                    if c.servers.len() < 3 {
                        c.servers.push(ip);
                    }
                }
            }
            Some("search") | Some("domain") => {
                c.search = w.map(|s| s.trim_end_matches('.').to_owned()).collect()
            }
            Some("options") => {
                for o in w {
                    let (k, v) = o.split_once(':').unwrap_or((o, ""));
                    let n = v.parse::<usize>().ok();
                    match (k, n) {
                        ("ndots", Some(n)) => c.ndots = n.min(15),
                        ("timeout", Some(n)) => {
                            c.timeout = Duration::from_secs(n.clamp(1, 30) as u64)
                        }
                        ("attempts", Some(n)) => c.attempts = n.clamp(1, 5),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if c.servers.is_empty() {
        // glibc's default without resolv.conf
        c.servers = vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
    }
    c
}

fn hosts_lookup(text: &str, name: &str) -> Vec<IpAddr> {
    let mut out = vec![];
    for line in text.lines() {
        let mut w = line.split('#').next().unwrap_or("").split_whitespace();
        let Some(ip) = w
            .next()
            .and_then(|s| s.split('%').next()?.parse::<IpAddr>().ok())
        else {
            continue;
        };
        if w.any(|h| h.trim_end_matches('.').eq_ignore_ascii_case(name)) && !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

impl Dns {
    pub(crate) async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let absolute = host.ends_with('.');
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() || name.len() > 253 {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!("bad host name {host:?}"),
            ));
        }
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let found = hosts_lookup(&hosts, &name);
        if !found.is_empty() {
            return Ok(found);
        }
        // RFC 6761: localhost and *.localhost are loopback, never sent to DNS
        if name == "localhost" || name.ends_with(".localhost") {
            return Ok(vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]);
        }
        let conf = read_conf(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default());
        let mut candidates = vec![];
        if !absolute {
            let with_search: Vec<String> =
                conf.search.iter().map(|d| format!("{name}.{d}")).collect();
            if name.matches('.').count() >= conf.ndots {
                candidates.push(name.clone());
                candidates.extend(with_search);
            } else {
                candidates.extend(with_search);
                candidates.push(name.clone());
            }
        } else {
            candidates.push(name.clone());
        }
        let mut last = io::Error::new(ErrorKind::NotFound, format!("{host}: no address"));
        for cand in candidates {
            let (a, aaaa) = join2(query(&conf, &cand, 1), query(&conf, &cand, 28)).await;
            match (a, aaaa) {
                (Ok(mut v4), Ok(v6)) if !(v4.is_empty() && v6.is_empty()) => {
                    v4.extend(v6);
                    return Ok(v4);
                }
                (Ok(v), Err(_)) | (Err(_), Ok(v)) if !v.is_empty() => return Ok(v),
                (Err(e), _) | (_, Err(e)) if e.kind() != ErrorKind::NotFound => last = e,
                _ => {}
            }
        }
        Err(last)
    }
}

/// `tokio::join!` without tokio's `macros` feature.
async fn join2<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (ra, rb) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

fn random_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u16
}

fn encode(id: u16, name: &str, qtype: u16) -> io::Result<Vec<u8>> {
    let mut m = Vec::with_capacity(name.len() + 18);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD, QDCOUNT=1
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!("bad host name {name:?}"),
            ));
        }
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]); // class IN
    Ok(m)
}

enum Answer {
    Addrs(Vec<IpAddr>),
    Truncated,
}

fn skip_name(m: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let len = *m.get(i)? as usize;
        match len {
            0 => return Some(i + 1),
            l if l & 0xC0 == 0xC0 => return Some(i + 2),
            l => i += 1 + l,
        }
    }
}

fn decode(m: &[u8], id: u16, qtype: u16) -> io::Result<Option<Answer>> {
    let bad = || io::Error::new(ErrorKind::InvalidData, "malformed DNS answer");
    if m.len() < 12 || u16::from_be_bytes([m[0], m[1]]) != id || m[2] & 0x80 == 0 {
        return Ok(None); // not our answer: keep waiting
    }
    if m[2] & 0x02 != 0 {
        return Ok(Some(Answer::Truncated));
    }
    match m[3] & 0x0F {
        0 => {}
        3 => return Err(io::Error::new(ErrorKind::NotFound, "NXDOMAIN")),
        rc => return Err(io::Error::other(format!("DNS server answered rcode {rc}"))),
    }
    let (qd, an) = (
        u16::from_be_bytes([m[4], m[5]]),
        u16::from_be_bytes([m[6], m[7]]),
    );
    let mut i = 12;
    for _ in 0..qd {
        i = skip_name(m, i).ok_or_else(bad)? + 4;
    }
    let mut out = vec![];
    for _ in 0..an {
        i = skip_name(m, i).ok_or_else(bad)?;
        let h = m.get(i..i + 10).ok_or_else(bad)?;
        let (t, len) = (
            u16::from_be_bytes([h[0], h[1]]),
            u16::from_be_bytes([h[8], h[9]]) as usize,
        );
        let d = m.get(i + 10..i + 10 + len).ok_or_else(bad)?;
        match (t, len) {
            (1, 4) if qtype == 1 => out.extend(<[u8; 4]>::try_from(d).ok().map(IpAddr::from)),
            (28, 16) if qtype == 28 => out.extend(<[u8; 16]>::try_from(d).ok().map(IpAddr::from)),
            _ => {} // CNAMEs: the recursive server also sends the records they lead to
        }
        i += 10 + len;
    }
    Ok(Some(Answer::Addrs(out)))
}

async fn query(conf: &Conf, name: &str, qtype: u16) -> io::Result<Vec<IpAddr>> {
    let mut last = io::Error::new(ErrorKind::TimedOut, format!("no DNS answer for {name}"));
    for _ in 0..conf.attempts {
        for &server in &conf.servers {
            let id = random_id();
            let msg = encode(id, name, qtype)?;
            let addr = SocketAddr::new(server, 53);
            match tokio::time::timeout(conf.timeout, udp(addr, &msg, id, qtype)).await {
                Ok(Ok(Answer::Addrs(v))) => return Ok(v),
                Ok(Ok(Answer::Truncated)) => {
                    return match tokio::time::timeout(conf.timeout, tcp(addr, &msg, id, qtype))
                        .await
                    {
                        Ok(r) => r,
                        Err(_) => Err(io::Error::new(
                            ErrorKind::TimedOut,
                            "DNS over TCP timed out",
                        )),
                    };
                }
                Ok(Err(e)) if e.kind() == ErrorKind::NotFound => return Err(e),
                Ok(Err(e)) => last = e,
                Err(_) => {}
            }
        }
    }
    Err(last)
}

async fn udp(addr: SocketAddr, msg: &[u8], id: u16, qtype: u16) -> io::Result<Answer> {
    let bind: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind).await?;
    sock.connect(addr).await?;
    sock.send(msg).await?;
    let mut buf = [0u8; 1232];
    loop {
        let n = sock.recv(&mut buf).await?;
        if let Some(a) = decode(&buf[..n], id, qtype)? {
            return Ok(a);
        }
    }
}

async fn tcp(addr: SocketAddr, msg: &[u8], id: u16, qtype: u16) -> io::Result<Vec<IpAddr>> {
    let mut s = TcpStream::connect(addr).await?;
    let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(msg);
    s.write_all(&framed).await?;
    let len = s.read_u16().await? as usize;
    let mut buf = vec![0; len];
    s.read_exact(&mut buf).await?;
    match decode(&buf, id, qtype)? {
        Some(Answer::Addrs(v)) => Ok(v),
        _ => Err(io::Error::new(
            ErrorKind::InvalidData,
            "bad DNS answer over TCP",
        )),
    }
}

// --- adapters -------------------------------------------------------------------------------

/// For the AWS SDK (`aws_smithy_http_client::Builder::build_with_resolver`).
impl aws_smithy_runtime_api::client::dns::ResolveDns for Dns {
    fn resolve_dns<'a>(
        &'a self,
        name: &'a str,
    ) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        aws_smithy_runtime_api::client::dns::DnsFuture::new(async move {
            self.lookup(name)
                .await
                .map_err(aws_smithy_runtime_api::client::dns::ResolveDnsError::new)
        })
    }
}

/// For hyper-util's `HttpConnector::new_with_resolver` (kube).
impl tower::Service<hyper_util::client::legacy::connect::dns::Name> for Dns {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        let dns = self.clone();
        Box::pin(async move {
            let ips = dns.lookup(name.as_str()).await?;
            // port 0: HttpConnector puts the URI's port in
            Ok(ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip, 0))
                .collect::<Vec<_>>()
                .into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn roundtrip_encode_decode() {
        let q = encode(7, "example.com", 1).unwrap();
        let mut r = q.clone();
        r[2] |= 0x80;
        r[7] = 1; // ANCOUNT
        r.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]);
        match decode(&r, 7, 1).unwrap() {
            Some(Answer::Addrs(v)) => assert_eq!(v, vec![IpAddr::from([10, 1, 2, 3])]),
            _ => panic!(),
        }
    }
    #[test]
    fn hosts_file() {
        let h = "127.0.0.1 localhost\n::1 localhost ip6-localhost # c\n10.0.0.5 Foo.example foo\n";
        assert_eq!(hosts_lookup(h, "foo"), vec![IpAddr::from([10, 0, 0, 5])]);
        assert_eq!(hosts_lookup(h, "localhost").len(), 2);
    }
}
