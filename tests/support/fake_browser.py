#!/usr/bin/env python3
"""A $BROWSER stand-in for sign-in tests (used with tests/support/fake_sso.py).

Usage: BROWSER=/path/fake_browser.py  (a program then runs `fake_browser.py URL`)

GETs each URL given, following redirects (301/302/303/307/308, up to 10) wherever they lead,
including the 302 from fake_sso.py's /authorize to the program's loopback listener
(http://127.0.0.1:PORT/oauth/callback?code=...&state=...), which it GETs too. GETting fake_sso's
verificationUriComplete (/device?user_code=...) approves that device code. Synchronous, 10 s
timeout per request, no proxies, prints nothing on stdout; problems go to stderr.

Environment:
  FAKE_BROWSER_LOG    append every URL visited (one per line, in order) to this file
  FAKE_BROWSER_DELAY  seconds to wait before the first visit
  FAKE_BROWSER_FAIL   if set to 1: log the URL, visit nothing, exit 1 (a browser that fails to start)
Exit status: 0 when every visit got an HTTP answer (any status), 1 on a connection error/timeout.
"""
import http.client
import os
import sys
import time
import urllib.parse

REDIRECTS = (301, 302, 303, 307, 308)


def note(url):
    path = os.environ.get("FAKE_BROWSER_LOG")
    if path:
        with open(path, "a") as f:
            f.write(url + "\n")


def get(url):
    """(status, Location or None) for one GET."""
    u = urllib.parse.urlsplit(url)
    cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    conn = cls(u.hostname, u.port, timeout=10)
    try:
        target = (u.path or "/") + ("?" + u.query if u.query else "")
        conn.request("GET", target, headers={"User-Agent": "fake-browser/1.0",
                                             "Accept": "text/html,*/*", "Connection": "close"})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Location")
    finally:
        conn.close()


def visit(url):
    for _ in range(11):
        note(url)
        status, location = get(url)
        if status not in REDIRECTS or not location:
            return
        url = urllib.parse.urljoin(url, location)
    print(f"fake_browser: too many redirects at {url}", file=sys.stderr)


def main():
    urls = [a for a in sys.argv[1:] if "://" in a]
    if not urls:
        print("usage: fake_browser.py URL", file=sys.stderr)
        return 2
    if os.environ.get("FAKE_BROWSER_FAIL") == "1":
        for url in urls:
            note(url)
        print("fake_browser: told to fail", file=sys.stderr)
        return 1
    delay = float(os.environ.get("FAKE_BROWSER_DELAY") or 0)
    if delay > 0:
        time.sleep(delay)
    rc = 0
    for url in urls:
        try:
            visit(url)
        except (OSError, http.client.HTTPException) as e:
            print(f"fake_browser: {url}: {e}", file=sys.stderr)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
