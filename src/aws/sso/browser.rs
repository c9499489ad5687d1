//! The browser side of a sign-in: opening a URL in the user's browser, and the one-shot
//! loopback listener the authorization code comes back to (RFC 8252: `http://127.0.0.1:PORT
//! /oauth/callback`, the `state` checked).
//!
//! The browser is `$BROWSER` first — a `:`-separated list of commands, `%s` standing for the
//! URL (else it is the last argument), as xdg-utils and Python's `webbrowser` read it — then
//! the platform's opener (`open` on macOS, `xdg-open` elsewhere). Its output goes to stderr,
//! never stdout (which may be kubectl's ExecCredential), and kctx does not wait for it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// The commands to try, in order, each an argv with `%s` for the URL.
pub(crate) fn openers(browser_env: Option<&str>, macos: bool) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = browser_env
        .unwrap_or("")
        .split(':')
        .filter_map(|cmd| {
            let mut argv: Vec<String> = cmd.split_whitespace().map(str::to_owned).collect();
            if argv.is_empty() {
                return None;
            }
            if !argv.iter().any(|a| a.contains("%s")) {
                argv.push("%s".to_owned());
            }
            Some(argv)
        })
        .collect();
    out.push(vec![
        if macos { "open" } else { "xdg-open" }.to_owned(),
        "%s".to_owned(),
    ]);
    out
}

/// Opens `url` with the first opener that starts (and does not fail at once); returns its
/// name.
pub(crate) fn open(url: &str) -> Result<String> {
    let env = std::env::var("BROWSER").ok();
    let mut tried = Vec::new();
    for argv in openers(env.as_deref(), cfg!(target_os = "macos")) {
        let args: Vec<String> = argv.iter().map(|a| a.replace("%s", url)).collect();
        tried.push(argv[0].clone());
        // the opener's stdout joins stderr: stdout may be kubectl's credential
        let out = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null());
        let Ok(mut child) = Command::new(&args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .stdout(out)
            .spawn()
        else {
            continue;
        };
        // an opener that fails does so at once; one that works may keep running
        let start = Instant::now();
        let failed = loop {
            match child.try_wait() {
                Ok(Some(st)) => break !st.success(),
                Ok(None) if start.elapsed() < Duration::from_millis(300) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break false,
            }
        };
        if failed {
            continue;
        }
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        return Ok(argv[0].clone());
    }
    bail!("no browser could be started (tried {})", tried.join(", "))
}

/// The loopback listener the sign-in page redirects to.
pub(crate) struct Listener {
    inner: TcpListener,
    port: u16,
}

/// What one request to the listener was.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Callback {
    /// The authorization code, with the expected state.
    Code(String),
    /// The sign-in page sent an error back (with the expected state).
    Denied(String),
    /// Not the callback (another path, or a state that does not match): answered and ignored.
    Ignored(u16),
}

/// Reads a request target (`/oauth/callback?code=…&state=…`).
pub(crate) fn callback(target: &str, state: &str) -> Callback {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/oauth/callback" {
        return Callback::Ignored(404);
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| params.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
    if get("state") != Some(state) {
        return Callback::Ignored(400);
    }
    if let Some(e) = get("error") {
        let desc = get("error_description").unwrap_or("");
        return Callback::Denied(crate::report::one_line(&format!("{e} {desc}")));
    }
    match get("code").filter(|c| !c.is_empty()) {
        Some(c) => Callback::Code(c.to_owned()),
        None => Callback::Ignored(400),
    }
}

impl Listener {
    /// A listener on a free port of 127.0.0.1.
    pub(crate) fn bind() -> Result<Self> {
        let inner = TcpListener::bind(("127.0.0.1", 0))
            .context("cannot listen on 127.0.0.1 for the sign-in")?;
        let port = inner.local_addr()?.port();
        inner.set_nonblocking(true)?;
        Ok(Self { inner, port })
    }

    pub(crate) fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/oauth/callback", self.port)
    }

    /// Waits for the callback with `state` until `deadline`; returns the authorization code.
    pub(crate) fn wait(&self, state: &str, deadline: Instant) -> Result<String> {
        loop {
            match self.inner.accept() {
                Ok((conn, _)) => match serve(conn, state) {
                    Some(Callback::Code(c)) => return Ok(c),
                    Some(Callback::Denied(why)) => bail!("the sign-in was refused: {why}"),
                    _ => {}
                },
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        bail!("no sign-in came back from the browser in time");
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(anyhow!("the sign-in listener failed: {e}")),
            }
        }
    }
}

/// Reads one request (bounded in size and time), answers it, and says what it was.
fn serve(mut conn: TcpStream, state: &str) -> Option<Callback> {
    conn.set_nonblocking(false).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let mut parts = text.lines().next()?.split_whitespace();
    let (method, target) = (parts.next()?, parts.next()?);
    let cb = if method == "GET" {
        callback(target, state)
    } else {
        Callback::Ignored(405)
    };
    let (status, body) = match &cb {
        Callback::Code(_) => (
            "200 OK",
            "<h1>Signed in</h1><p>You can close this window and go back to the terminal.</p>",
        ),
        Callback::Denied(_) => ("200 OK", "<h1>Sign-in refused</h1><p>kctx has stopped.</p>"),
        Callback::Ignored(404) => ("404 Not Found", "<h1>Not found</h1>"),
        Callback::Ignored(405) => ("405 Method Not Allowed", "<h1>Method not allowed</h1>"),
        Callback::Ignored(_) => ("400 Bad Request", "<h1>Not this sign-in</h1>"),
    };
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>kctx</title></head><body>{body}</body></html>"
    );
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{page}",
        page.len()
    );
    let _ = conn.flush();
    Some(cb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openers_follow_browser_then_the_platform() {
        assert_eq!(
            openers(Some("firefox -new-tab:w3m %s"), false),
            [
                vec!["firefox", "-new-tab", "%s"],
                vec!["w3m", "%s"],
                vec!["xdg-open", "%s"]
            ]
        );
        assert_eq!(openers(None, true), [vec!["open", "%s"]]);
        assert_eq!(openers(Some(""), false), [vec!["xdg-open", "%s"]]);
    }

    #[test]
    fn callbacks_need_the_path_and_the_state() {
        assert_eq!(
            callback("/oauth/callback?code=abc%2Fd&state=s1", "s1"),
            Callback::Code("abc/d".into())
        );
        assert_eq!(
            callback("/oauth/callback?code=abc&state=other", "s1"),
            Callback::Ignored(400)
        );
        assert_eq!(callback("/favicon.ico", "s1"), Callback::Ignored(404));
        assert_eq!(
            callback(
                "/oauth/callback?error=access_denied&error_description=The+user+denied&state=s1",
                "s1"
            ),
            Callback::Denied("access_denied The user denied".into())
        );
    }

    #[test]
    fn the_listener_answers_the_browser_and_returns_the_code() {
        let l = Listener::bind().unwrap();
        let uri = l.redirect_uri();
        let port: u16 = uri
            .split(':')
            .nth(2)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let t = std::thread::spawn(move || {
            let get = |target: &str| {
                let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                write!(c, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                let mut s = String::new();
                c.read_to_string(&mut s).unwrap();
                s
            };
            let stray = get("/oauth/callback?code=x&state=wrong");
            let good = get("/oauth/callback?code=the-code&state=st");
            (stray, good)
        });
        let code = l
            .wait("st", Instant::now() + Duration::from_secs(10))
            .unwrap();
        let (stray, good) = t.join().unwrap();
        assert_eq!(code, "the-code");
        assert!(stray.starts_with("HTTP/1.1 400"), "{stray}");
        assert!(
            good.starts_with("HTTP/1.1 200") && good.contains("Signed in"),
            "{good}"
        );
    }
}
