#!/usr/bin/env python3
"""A small TLS Kubernetes API server that authenticates bearer tokens the way EKS does.

Test double for the EKS control plane (no real one runs here). For every request it applies
aws-iam-authenticator's format rules to the token, then recomputes the SigV4 signature of the
presigned URL with the known secret of the access key and the server's *own* cluster name as
x-k8s-aws-id (EKS replays the URL against STS with that header; a token minted for another
cluster fails here). Accepted requests to /version get a version document; others get 401.

Authorization follows the Kubernetes API (authorization.k8s.io/v1): each identity in the
--identities file may carry
  "rbac": [{"namespace": "dev" or null (a ClusterRoleBinding), "rules": [PolicyRule...],
            "via": 'RoleBinding "dev/x" of Role "y" to Group "g"'}]
  "policies": [{"name": "AmazonEKSViewPolicy", "namespaces": ["dev"] or null, "rules": [...]}]
RBAC rules match as the RBAC authorizer matches them (verbs, apiGroups, resources with
subresources and `*`, resourceNames); group system:masters is allowed everything (the
privileged-group authorizer). "policies" stand for EKS access policies, which EKS checks in an
authorizer webhook: SelfSubjectAccessReview sees them, SelfSubjectRulesReview does not (it
reports incomplete, as the API server does for a webhook). Every authenticated user has the
system:basic-user and system:discovery rules. A minimal discovery (/api, /apis and their
resource lists) lets kubectl map resource names.

Usage: fake_apiserver.py --cert C --key K --cluster NAME --secrets FILE.json --log FILE
Prints the port it listens on, then serves until killed or stdin closes.
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALLOWED = {"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
           "x-amz-expires", "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"}
HOST_SUFFIXES = (".amazonaws.com.cn", ".api.amazonwebservices.com.cn", ".amazonaws.com",
                 ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov", ".cloud.adc-e.uk",
                 ".csp.hci.ic.gov", ".amazonaws.eu")


def quote(s):
    return urllib.parse.quote(s, safe="-_.~")


def verify(token, cluster, secrets, now):
    if len(token) > 4096:
        raise ValueError("token too long")
    if not token.startswith("k8s-aws-v1."):
        raise ValueError("bad prefix")
    b64 = token[len("k8s-aws-v1."):]
    if "=" in b64:
        raise ValueError("padded base64")
    url = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode()
    u = urllib.parse.urlsplit(url)
    if u.scheme != "https":
        raise ValueError("scheme is not https")
    host = u.netloc
    ok_host = host == "sts.amazonaws.com" or any(
        host.endswith(s) and (host[: -len(s)].startswith("sts.") or host[: -len(s)].startswith("sts-fips."))
        for s in HOST_SUFFIXES)
    if not ok_host:
        raise ValueError("host %r is not STS" % host)
    if u.path != "/":
        raise ValueError("path is not /")
    pairs = urllib.parse.parse_qsl(u.query, keep_blank_values=True, strict_parsing=True)
    q = {}
    for k, v in pairs:
        lk = k.lower()
        if lk not in ALLOWED:
            raise ValueError("query key %r not allowed" % k)
        if lk in q:
            raise ValueError("duplicate key %r" % k)
        q[lk] = (k, v)
    if q.get("action", ("", ""))[1] != "GetCallerIdentity":
        raise ValueError("not GetCallerIdentity")
    signed = q["x-amz-signedheaders"][1].split(";")
    if "x-k8s-aws-id" not in signed:
        raise ValueError("x-k8s-aws-id not signed")
    if not 0 <= int(q["x-amz-expires"][1]) <= 900:
        raise ValueError("expires out of range")
    date = datetime.datetime.strptime(q["x-amz-date"][1], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc)
    if (now - date).total_seconds() > 15 * 60:
        raise ValueError("token expired")
    # SigV4, as STS would check it with our cluster name in x-k8s-aws-id
    ak, day, region, service, term = q["x-amz-credential"][1].split("/")
    secret = secrets.get(ak)
    if secret is None:
        raise ValueError("unknown access key")
    canon_q = "&".join(
        "%s=%s" % (quote(k), quote(v))
        for k, v in sorted((k, v) for k, v in pairs if k != "X-Amz-Signature"))
    headers = {"host": host, "x-k8s-aws-id": cluster}
    canon_h = "".join("%s:%s\n" % (h, headers[h]) for h in signed)
    creq = "\n".join(["GET", "/", canon_q, canon_h, ";".join(signed),
                      hashlib.sha256(b"").hexdigest()])
    sts = "\n".join(["AWS4-HMAC-SHA256", q["x-amz-date"][1], "/".join([day, region, service, term]),
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, service, term):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sig, q["x-amz-signature"][1]):
        raise ValueError("signature mismatch (wrong cluster or key)")
    return ak


BASIC_RULES = [
    {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
    {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]},
]
BASIC_NON_RESOURCE = [{"verbs": ["get"], "nonResourceURLs": [
    "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
    "/readyz", "/version", "/version/"]}]
# group/version -> [(plural, namespaced, kind, short names)]: enough discovery for kubectl
DISCOVERY = {
    "v1": [("pods", True, "Pod", ["po"]), ("services", True, "Service", ["svc"]),
           ("configmaps", True, "ConfigMap", ["cm"]), ("secrets", True, "Secret", []),
           ("namespaces", False, "Namespace", ["ns"]), ("nodes", False, "Node", ["no"]),
           ("serviceaccounts", True, "ServiceAccount", ["sa"])],
    "apps/v1": [("deployments", True, "Deployment", ["deploy"]), ("replicasets", True, "ReplicaSet", ["rs"]),
                ("statefulsets", True, "StatefulSet", ["sts"]), ("daemonsets", True, "DaemonSet", ["ds"])],
    "batch/v1": [("jobs", True, "Job", []), ("cronjobs", True, "CronJob", ["cj"])],
    "rbac.authorization.k8s.io/v1": [("roles", True, "Role", []), ("rolebindings", True, "RoleBinding", []),
                                     ("clusterroles", False, "ClusterRole", []),
                                     ("clusterrolebindings", False, "ClusterRoleBinding", [])],
}


def rule_allows(rule, attrs):
    """The RBAC authorizer's VerbMatches && APIGroupMatches && ResourceMatches && ResourceNameMatches."""
    verbs, groups = rule.get("verbs", []), rule.get("apiGroups", [])
    resources, names = rule.get("resources", []), rule.get("resourceNames", [])
    if "*" not in verbs and attrs.get("verb", "") not in verbs:
        return False
    if "*" not in groups and attrs.get("group", "") not in groups:
        return False
    sub = attrs.get("subresource", "")
    combined = attrs.get("resource", "") + ("/" + sub if sub else "")
    if not any(r == "*" or r == combined or (sub and r == "*/" + sub) for r in resources):
        return False
    return not names or attrs.get("name", "") in names


def non_resource_allows(rule, attrs):
    if "*" not in rule["verbs"] and attrs.get("verb", "") not in rule["verbs"]:
        return False
    path = attrs.get("path", "")
    return any(u == "*" or u == path or (u.endswith("*") and path.startswith(u[:-1]))
               for u in rule.get("nonResourceURLs", []))


def scope_covers(namespaces, ns):
    """An EKS access policy's scope: null is the cluster; else names, `dev-*` a prefix."""
    if namespaces is None:
        return True
    return bool(ns) and any(ns.startswith(p[:-1]) if p.endswith("*") else ns == p for p in namespaces)


def access_review(ident, spec):
    """(allowed, reason) for a SelfSubjectAccessReview spec."""
    if "system:masters" in ident.get("groups", []):
        return True, ""
    nra = spec.get("nonResourceAttributes")
    if nra:
        return any(non_resource_allows(r, nra) for r in BASIC_NON_RESOURCE), ""
    ra = spec.get("resourceAttributes") or {}
    ns = ra.get("namespace", "")
    if any(rule_allows(r, ra) for r in BASIC_RULES):
        return True, ""
    for b in ident.get("rbac", []):
        if (b.get("namespace") is None or b.get("namespace") == ns) and any(
                rule_allows(r, ra) for r in b["rules"]):
            return True, "RBAC: allowed by " + b.get("via", "a binding")
    for p in ident.get("policies", []):
        if scope_covers(p.get("namespaces"), ns) and any(rule_allows(r, ra) for r in p["rules"]):
            return True, ""
    return False, ""


def rules_review(ident, ns):
    """A SelfSubjectRulesReview status for namespace `ns`."""
    if "system:masters" in ident.get("groups", []):
        return {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}] + BASIC_RULES,
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}] + BASIC_NON_RESOURCE,
                "incomplete": False}
    rules = list(BASIC_RULES)
    for b in ident.get("rbac", []):
        if b.get("namespace") is None or b.get("namespace") == ns:
            rules.extend(b["rules"])
    out = {"resourceRules": rules, "nonResourceRules": list(BASIC_NON_RESOURCE), "incomplete": False}
    if ident.get("policies"):
        out["incomplete"] = True
        out["evaluationError"] = "webhook authorizer does not support user rule resolution"
    return out


def discovery(path):
    """Legacy discovery documents, or None."""
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]}
    if path == "/apis":
        groups = []
        for gv in DISCOVERY:
            if "/" in gv:
                g, v = gv.split("/")
                groups.append({"name": g, "versions": [{"groupVersion": gv, "version": v}],
                               "preferredVersion": {"groupVersion": gv, "version": v}})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    gv = path[len("/api/"):] if path.startswith("/api/") else path[len("/apis/"):] if path.startswith("/apis/") else None
    if gv in DISCOVERY:
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": [
            {"name": n, "singularName": k.lower(), "namespaced": nsd, "kind": k, "shortNames": short,
             "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
            for n, nsd, k, short in DISCOVERY[gv]]}
    return None


def status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--secrets", required=True, help="JSON file {access key id: secret}")
    ap.add_argument("--log", required=True, help="appends one JSON line per request")
    ap.add_argument("--identities", help="JSON file {caller key: user info}")
    ap.add_argument("--namespaces", default="default,kube-node-lease,kube-public,kube-system")
    ap.add_argument("--client-ca", help="accept client certificates signed by this CA")
    ap.add_argument("--old", action="store_true", help="serve SelfSubjectReview v1beta1 only")
    ap.add_argument("--no-self-review", action="store_true",
                    help="serve no SelfSubjectReview at all (a cluster older than 1.27)")
    ap.add_argument("--aws-auth", help="JSON file: the aws-auth ConfigMap")
    a = ap.parse_args()
    lock = threading.Lock()
    namespaces = [n for n in a.namespaces.split(",") if n]

    def load(path, default):
        if not path or not os.path.exists(path):
            return default
        with open(path) as f:
            return json.load(f)

    class H(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def caller(self):
            """(caller key, why): the key is None when the request does not authenticate."""
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
            if token.startswith("k8s-aws-v1."):
                try:
                    ak = verify(token, a.cluster, load(a.secrets, {}),
                                datetime.datetime.now(datetime.timezone.utc))
                    return ak, "ok", token
                except Exception as e:  # noqa: BLE001 - any failure is a 401
                    return None, str(e), token
            if token:
                return "token:" + token, "ok", token
            cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
            if cert:
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            return "cn:" + v, "ok", ""
            return None, "no credentials", token

        def answer(self, method, body=None):
            key, why, token = self.caller()
            path = self.path.split("?")[0]
            idents = load(a.identities, {})
            ident = idents.get(key) if key else None
            spec = (body or {}).get("spec") or {}
            if path.startswith("/version") and (key and not key.startswith("token:") or ident):
                code, body = 200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0-eks-test",
                                   "platform": "linux/amd64"}
            elif key is None or ident is None:
                code, body = status(401, "Unauthorized", "Unauthorized")
                if key is not None:
                    why = "authenticated but not mapped to a Kubernetes user"
            elif method == "POST" and path.endswith("/selfsubjectreviews") and not a.no_self_review and (
                    "/v1beta1/" in path or not a.old):
                version = "v1beta1" if "/v1beta1/" in path else "v1"
                info = {k: ident[k] for k in ("username", "uid", "groups", "extra") if k in ident}
                code, body = 201, {"kind": "SelfSubjectReview",
                                   "apiVersion": "authentication.k8s.io/" + version,
                                   "metadata": {"creationTimestamp": None},
                                   "status": {"userInfo": info}}
            elif method == "POST" and path.endswith("/selfsubjectreviews"):
                code, body = status(404, "NotFound", "the server could not find the requested resource")
            elif method == "POST" and path == "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews":
                code, body = 201, {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
                                   "metadata": {"creationTimestamp": None}, "spec": spec,
                                   "status": rules_review(ident, spec.get("namespace", ""))}
            elif method == "POST" and path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
                allowed, reason = access_review(ident, spec)
                st = {"allowed": allowed}
                if reason:
                    st["reason"] = reason
                code, body = 201, {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                                   "metadata": {"creationTimestamp": None}, "spec": spec, "status": st}
            elif method == "GET" and discovery(path) is not None:
                code, body = 200, discovery(path)
            elif ident.get("restricted"):
                code, body = status(403, "Forbidden", "%s is forbidden: User \"%s\" cannot get resource"
                                    % (path, ident.get("username")))
            elif method == "GET" and path == "/api/v1/namespaces":
                code, body = 200, {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {},
                                   "items": [{"metadata": {"name": n}, "status": {"phase": "Active"}}
                                             for n in namespaces]}
            elif method == "GET" and path == "/api/v1/namespaces/kube-system/configmaps/aws-auth":
                cm = load(a.aws_auth, None)
                if cm is None:
                    code, body = status(404, "NotFound", 'configmaps "aws-auth" not found')
                else:
                    code, body = 200, cm
            elif method == "GET" and path.startswith("/api/v1/namespaces/") and path.count("/") == 4:
                name = path.rsplit("/", 1)[1]
                if name in namespaces:
                    code, body = 200, {"kind": "Namespace", "apiVersion": "v1",
                                       "metadata": {"name": name}, "status": {"phase": "Active"}}
                else:
                    code, body = status(404, "NotFound", 'namespaces "%s" not found' % name)
            else:
                code, body = status(404, "NotFound", "the server could not find the requested resource")
            with lock, open(a.log, "a") as f:
                f.write(json.dumps({"method": method, "path": self.path, "ok": key is not None,
                                    "why": why, "token": token, "access_key": key,
                                    "code": code}) + "\n")
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.answer("GET")

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            self.answer("POST", body if isinstance(body, dict) else {})

    # a deep accept queue: kctx sends its access reviews several at a time
    ThreadingHTTPServer.request_queue_size = 64
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.client_ca:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(a.client_ca)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    # exit when the test that started us goes away
    try:
        sys.stdin.read()
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
