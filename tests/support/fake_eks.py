#!/usr/bin/env python3
"""A test double of the EKS REST endpoints behind `kctx access` (moto implements none of them).

Written from the EKS API reference (restJson1): request paths and bodies, response shapes,
pagination with maxResults/nextToken, and error bodies with the x-amzn-ErrorType header.

  GET    /clusters/{name}                                         DescribeCluster ("status", "outpost": true)
  GET    /clusters/{name}/access-entries                          ListAccessEntries
  POST   /clusters/{name}/access-entries                          CreateAccessEntry
  GET    /clusters/{name}/access-entries/{principalArn}           DescribeAccessEntry
  DELETE /clusters/{name}/access-entries/{principalArn}           DeleteAccessEntry
  GET    /clusters/{name}/access-entries/{principalArn}/access-policies          ListAssociatedAccessPolicies
  POST   /clusters/{name}/access-entries/{principalArn}/access-policies          AssociateAccessPolicy
  DELETE /clusters/{name}/access-entries/{principalArn}/access-policies/{policyArn}  DisassociateAccessPolicy
  GET    /access-policies                                         ListAccessPolicies
  POST   /clusters/{name}/access-entries/{principalArn}           UpdateAccessEntry (groups, username)
  POST   /clusters/{name}/update-config                           UpdateClusterConfig (accessConfig.authenticationMode)
  GET    /clusters/{name}/updates/{id}                            DescribeUpdate (InProgress for "update_polls" calls, then Successful)
  GET    /clusters                                                ListClusters (with "regions": the request's region, from its signature)

For discovery: "clusters_token_loops": true makes ListClusters return the same nextToken for ever.
For discovery: "regions": {"us-west-2": ["api", ...]} lists and describes those clusters in the
region each request is signed for; "latency_ms" delays every answer (concurrently, as a remote
endpoint would); GET /_state reports "max_in_flight" overall and per region.
"unrecognized_regions": ["af-south-1", ...] or ["*"] answers every call signed for those regions
as EKS does for an opt-in region the account has not enabled, or for refused keys: 403
UnrecognizedClientException.

CreateAccessEntry follows EKS's rules: types STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX,
HYBRID_LINUX; node types take no kubernetesGroups or username and no access policies; groups may
not start with "system:"; usernames may not start with system:, eks:, aws:, amazon:, iam:, and
{{SessionName}} needs a ':' before it. Mode changes only go CONFIG_MAP → API_AND_CONFIG_MAP → API.

Usage: fake_eks.py --state FILE.json   (prints its port; exits when stdin closes)
The cluster creator: DescribeCluster reports accessConfig.bootstrapClusterCreatorAdminPermissions
("bootstrap", default true); "creator" names the IAM principal that created the cluster. As EKS
does, the creator's admin is an access entry (STANDARD, AmazonEKSClusterAdminPolicy, cluster
scope) in the modes that read entries: when the mode leaves CONFIG_MAP, that entry appears.

State: {"account": "...", "region": "...", "page_size": 2, "deny": ["ListAccessEntries", ...],
        "fail_create": ["<principal arn>", ...] (CreateAccessEntry hits the entry limit),
        "loop_token": true (ListAccessEntries answers every page with the same nextToken),
        "clusters": {"name": {"mode": "API", "bootstrap": true, "creator": "<principal arn>",
            "entries": {"<principal arn>":
            {"type": "STANDARD", "username": "...", "groups": [...],
             "policies": [{"policyArn": "...", "accessScope": {"type": "cluster"}}]}}}}}
Every call is appended to the state's "calls" list (GET /_state returns the state).
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POLICIES = ["AmazonEKSAdminPolicy", "AmazonEKSAdminViewPolicy", "AmazonEKSClusterAdminPolicy",
            "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"]


class ApiError(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    a = ap.parse_args()
    state = json.load(open(a.state))
    state.setdefault("calls", [])
    state.setdefault("clusters", {})
    state.setdefault("deny", [])
    state.setdefault("page_size", 100)
    state.setdefault("update_polls", 1)
    state.setdefault("updates", {})
    lock = threading.Lock()
    account, region = state.get("account", "123456789012"), state.get("region", "us-west-2")
    state.setdefault("max_in_flight", {"all": 0})
    in_flight = {"all": 0}

    def cluster(name):
        c = state["clusters"].get(name)
        if c is None:
            raise ApiError(404, "ResourceNotFoundException", f"No cluster found for name: {name}.",
                           clusterName=name)
        return c

    def entry(c, name, principal):
        e = c["entries"].get(principal)
        if e is None:
            raise ApiError(404, "ResourceNotFoundException",
                           f"The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.",
                           clusterName=name, principalArn=principal)
        return e

    def entry_doc(name, principal, e):
        return {"clusterName": name, "principalArn": principal,
                "kubernetesGroups": e.get("groups", []),
                "accessEntryArn": f"arn:aws:eks:{region}:{account}:access-entry/{name}/x/y",
                "createdAt": e.get("createdAt", 1700000000.0), "modifiedAt": e.get("modifiedAt", 1700000000.0),
                "tags": {}, "username": e.get("username", ""), "type": e.get("type", "STANDARD")}

    def page(items, query, key):
        size = min(int(query.get("maxResults", [state["page_size"]])[0]), state["page_size"])
        token = query.get("nextToken", ["0"])[0] or "0"
        start = int(token) if token.isdigit() else 0
        out = {key: items[start:start + size]}
        if start + size < len(items):
            out["nextToken"] = str(start + size)
        # a broken service: ListClusters hands back the same nextToken for ever
        if key == "clusters" and state.get("clusters_token_loops"):
            out["nextToken"] = "again"
        return out

    def handle(method, path, query, body, signed_region):
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        refused = state.get("unrecognized_regions", [])
        if "*" in refused or signed_region in refused:
            raise ApiError(403, "UnrecognizedClientException",
                           "The security token included in the request is invalid.")
        regions = state.get("regions")
        if regions is not None and parts == ["clusters"] and method == "GET":
            op = "ListClusters"
            check(op)
            return op, 200, page(sorted(regions.get(signed_region, [])), query, "clusters")
        if (regions is not None and len(parts) == 2 and parts[0] == "clusters" and method == "GET"
                and parts[1] not in state.get("clusters", {})):
            op = "DescribeCluster"
            check(op)
            name = parts[1]
            if name not in regions.get(signed_region, []):
                raise ApiError(404, "ResourceNotFoundException", f"No cluster found for name: {name}.")
            return op, 200, {"cluster": {
                "name": name, "arn": f"arn:aws:eks:{signed_region}:{account}:cluster/{name}",
                "status": "ACTIVE", "version": "1.31", "endpoint": f"https://{name}.{signed_region}.example",
                "certificateAuthority": {"data": "QUJD"}}}
        if parts == ["access-policies"]:
            op = "ListAccessPolicies"
            check(op)
            items = [{"name": p, "arn": f"arn:aws:eks::aws:cluster-access-policy/{p}"} for p in POLICIES]
            return op, 200, page(items, query, "accessPolicies")
        if len(parts) < 2 or parts[0] != "clusters":
            raise ApiError(404, "NotFoundException", "unknown path")
        name = parts[1]
        if len(parts) == 2 and method == "GET":
            op = "DescribeCluster"
            check(op)
            c = cluster(name)
            doc = {"name": name, "arn": f"arn:aws:eks:{region}:{account}:cluster/{name}",
                   "status": c.get("status", "ACTIVE"), "endpoint": f"https://{name}.example",
                   "version": "1.31", "certificateAuthority": {"data": "QUJD"},
                   "accessConfig": {"authenticationMode": c.get("mode", "API_AND_CONFIG_MAP"),
                                    "bootstrapClusterCreatorAdminPermissions": c.get("bootstrap", True)}}
            if c.get("outpost"):
                doc["id"] = "2f0ac4b2-7d3e-4b8a-9f1e-0123456789ab"
                doc["outpostConfig"] = {"outpostArns": [f"arn:aws:outposts:{region}:{account}:outpost/op-0abc"],
                                        "controlPlaneInstanceType": "m5.large"}
            return op, 200, {"cluster": doc}
        c = cluster(name)
        if len(parts) == 3 and parts[2] == "update-config" and method == "POST":
            op = "UpdateClusterConfig"
            check(op)
            want = body.get("accessConfig", {}).get("authenticationMode")
            order = ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"]
            have = c.get("mode", "API_AND_CONFIG_MAP")
            if want not in order or order.index(want) <= order.index(have):
                raise ApiError(400, "InvalidParameterException",
                               f"Unsupported authentication mode update from {have} to {want}.", clusterName=name)
            uid = "upd-%d" % (len(state["updates"]) + 1)
            state["updates"][uid] = {"cluster": name, "mode": want, "polls": 0}
            return op, 200, {"update": {"id": uid, "status": "InProgress", "type": "AccessConfigUpdate",
                                        "params": [{"type": "AuthenticationMode", "value": want}],
                                        "createdAt": 1700000000.0, "errors": []}}
        if len(parts) == 4 and parts[2] == "updates" and method == "GET":
            op = "DescribeUpdate"
            check(op)
            u = state["updates"].get(parts[3])
            if u is None or u["cluster"] != name:
                raise ApiError(404, "ResourceNotFoundException", "No update found for ID: " + parts[3])
            u["polls"] += 1
            status = "InProgress"
            if u["polls"] > state["update_polls"]:
                status = "Successful"
                if c.get("mode", "API_AND_CONFIG_MAP") == "CONFIG_MAP":
                    creator_entry(c)
                c["mode"] = u["mode"]
            return op, 200, {"update": {"id": parts[3], "status": status, "type": "AccessConfigUpdate",
                                        "params": [{"type": "AuthenticationMode", "value": u["mode"]}],
                                        "createdAt": 1700000000.0, "errors": []}}
        if len(parts) == 3 and parts[2] == "access-entries":
            if method == "GET":
                op = "ListAccessEntries"
                check(op)
                if state.get("loop_token"):
                    return op, 200, {"accessEntries": sorted(c["entries"])[:1], "nextToken": "again"}
                return op, 200, page(sorted(c["entries"]), query, "accessEntries")
            if method == "POST":
                op = "CreateAccessEntry"
                check(op)
                p = body["principalArn"]
                if p in c["entries"]:
                    raise ApiError(409, "ResourceInUseException",
                                   "The specified access entry resource is already in use on this cluster.",
                                   clusterName=name)
                if p in state.get("fail_create", []):
                    raise ApiError(400, "ResourceLimitExceededException",
                                   "You have reached the maximum number of access entries for this cluster.",
                                   clusterName=name)
                if ":assumed-role/" in p:
                    raise ApiError(400, "InvalidParameterException",
                                   "The principalArn parameter format is not valid", clusterName=name)
                kind = body.get("type", "STANDARD")
                groups = body.get("kubernetesGroups") or []
                username = body.get("username")
                validate(name, kind, groups, username, p)
                if c.get("mode") == "CONFIG_MAP":
                    raise ApiError(400, "InvalidRequestException",
                                   "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.",
                                   clusterName=name)
                default_user = p
                if kind in ("EC2_LINUX", "EC2_WINDOWS"):
                    default_user = "system:node:{{EC2PrivateDNSName}}"
                c["entries"][p] = {"type": kind, "username": username or default_user,
                                   "groups": groups, "policies": []}
                return op, 200, {"accessEntry": entry_doc(name, p, c["entries"][p])}
        if len(parts) >= 4 and parts[2] == "access-entries":
            principal = parts[3]
            if len(parts) == 4:
                if method == "POST":
                    op = "UpdateAccessEntry"
                    check(op)
                    e = entry(c, name, principal)
                    groups = body.get("kubernetesGroups")
                    username = body.get("username")
                    validate(name, e.get("type", "STANDARD"), groups or [], username, principal)
                    if groups is not None:
                        e["groups"] = groups
                    if username:
                        e["username"] = username
                    return op, 200, {"accessEntry": entry_doc(name, principal, e)}
                if method == "GET":
                    op = "DescribeAccessEntry"
                    check(op)
                    return op, 200, {"accessEntry": entry_doc(name, principal, entry(c, name, principal))}
                if method == "DELETE":
                    op = "DeleteAccessEntry"
                    check(op)
                    entry(c, name, principal)
                    del c["entries"][principal]
                    return op, 200, {}
            if len(parts) == 5 and parts[4] == "access-policies":
                e = entry(c, name, principal)
                if method == "GET":
                    op = "ListAssociatedAccessPolicies"
                    check(op)
                    items = [dict(p, associatedAt=1700000000.0, modifiedAt=1700000000.0) for p in e["policies"]]
                    out = page(items, query, "associatedAccessPolicies")
                    out.update({"clusterName": name, "principalArn": principal})
                    return op, 200, out
                if method == "POST":
                    op = "AssociateAccessPolicy"
                    check(op)
                    if e.get("type", "STANDARD") != "STANDARD":
                        raise ApiError(400, "InvalidParameterException",
                                       'This operation can only be performed on Access Entries with a type of "STANDARD".',
                                       clusterName=name)
                    pol = {"policyArn": body["policyArn"], "accessScope": body["accessScope"]}
                    if pol["policyArn"].rsplit("/", 1)[-1] not in POLICIES:
                        raise ApiError(404, "ResourceNotFoundException", "The specified policy could not be found.")
                    e["policies"] = [p for p in e["policies"] if p["policyArn"] != pol["policyArn"]] + [pol]
                    return op, 200, {"clusterName": name, "principalArn": principal,
                                     "associatedAccessPolicy": dict(pol, associatedAt=1700000000.0, modifiedAt=1700000000.0)}
            if len(parts) == 6 and parts[4] == "access-policies" and method == "DELETE":
                op = "DisassociateAccessPolicy"
                check(op)
                e = entry(c, name, principal)
                before = len(e["policies"])
                e["policies"] = [p for p in e["policies"] if p["policyArn"] != parts[5]]
                if len(e["policies"]) == before:
                    raise ApiError(404, "ResourceNotFoundException", "The specified policy is not associated.")
                return op, 200, {}
        raise ApiError(404, "NotFoundException", "unknown path")

    def creator_entry(c):
        """The creator's admin becomes an access entry once the mode reads entries."""
        p = c.get("creator")
        if not p or not c.get("bootstrap", True) or p in c["entries"]:
            return
        if ":role/" in p:
            acct, role = p.split(":")[4], p.rsplit("/", 1)[1]
            username = f"arn:aws:sts::{acct}:assumed-role/{role}/{{{{SessionName}}}}"
        else:
            username = p
        c["entries"][p] = {"type": "STANDARD", "username": username, "groups": [], "policies": [
            {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
             "accessScope": {"type": "cluster"}}]}

    def validate(name, kind, groups, username, principal):
        kinds = ("STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX")
        if kind not in kinds:
            raise ApiError(400, "InvalidParameterException", f"The type {kind} is not valid.", clusterName=name)
        if kind != "STANDARD" and (groups or username):
            raise ApiError(400, "InvalidParameterException",
                           f"The access entry type {kind} does not accept kubernetesGroups or username.",
                           clusterName=name)
        if kind != "STANDARD" and ":role/" not in principal:
            raise ApiError(400, "InvalidParameterException", "The specified principalArn is invalid: invalid principal.",
                           clusterName=name)
        for g in groups:
            if g.startswith("system:"):
                raise ApiError(400, "InvalidParameterException",
                               f"The kubernetes group name {g} is invalid, it cannot start with system:",
                               clusterName=name)
        if username:
            for prefix in ("system:", "eks:", "aws:", "amazon:", "iam:"):
                if username.startswith(prefix):
                    raise ApiError(400, "InvalidParameterException",
                                   f"The username must not begin with {prefix}", clusterName=name)
            if "{{SessionName}}" in username and ":" not in username.split("{{SessionName}}")[0]:
                raise ApiError(400, "InvalidParameterException",
                               "The username must contain a colon before {{SessionName}}", clusterName=name)
        if ":role/aws-service-role/" in principal:
            raise ApiError(400, "InvalidParameterException",
                           "The caller is not allowed to modify access entries with a principalArn value of a Service Linked Role",
                           clusterName=name)

    def check(op):
        if op in state["deny"]:
            raise ApiError(403, "AccessDeniedException",
                           f"User: arn:aws:iam::{account}:user/tester is not authorized to perform: eks:{op} on resource: arn:aws:eks:{region}:{account}:cluster/x")

    class H(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _do(self, method):
            u = urllib.parse.urlsplit(self.path)
            if u.path == "/_state":
                with lock:
                    return self._send(200, state)
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}") if n else {}
            auth = self.headers.get("Authorization", "")
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/") if "Credential=" in auth else []
            signed_region = scope[2] if len(scope) > 2 else region
            with lock:
                for k in ("all", signed_region):
                    in_flight[k] = in_flight.get(k, 0) + 1
                    state["max_in_flight"][k] = max(state["max_in_flight"].get(k, 0), in_flight[k])
            if state.get("latency_ms"):
                time.sleep(state["latency_ms"] / 1000)
            self._answer(method, u, body, signed_region)

        def _answer(self, method, u, body, signed_region):
            with lock:
                # the request is no longer in flight once its answer is decided: counted down
                # before the answer is written, as the client may send its next request the
                # moment it has read this one
                for k in ("all", signed_region):
                    in_flight[k] -= 1
                try:
                    op, code, out = handle(method, u.path, urllib.parse.parse_qs(u.query), body, signed_region)
                    state["calls"].append(op)
                    return self._send(code, out)
                except ApiError as e:
                    state["calls"].append("error:" + e.code)
                    return self._send(e.status, dict({"message": e.message}, **e.extra), e.code)

        def _send(self, code, obj, error_type=None):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            if error_type:
                self.send_header("x-amzn-ErrorType", error_type)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._do("GET")

        def do_POST(self):
            self._do("POST")

        def do_DELETE(self):
            self._do("DELETE")

    for c in state["clusters"].values():
        c.setdefault("entries", {})
        if c.get("mode", "API_AND_CONFIG_MAP") != "CONFIG_MAP":
            creator_entry(c)

    # a deep accept queue: discovery opens dozens of connections at once
    ThreadingHTTPServer.request_queue_size = 256
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        sys.stdin.read()
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
