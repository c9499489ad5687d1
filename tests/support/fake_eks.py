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

Usage: fake_eks.py --state FILE.json   (prints its port; exits when stdin closes)
State: {"account": "...", "region": "...", "page_size": 2, "deny": ["ListAccessEntries", ...],
        "clusters": {"name": {"mode": "API", "entries": {"<principal arn>":
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
    state.setdefault("deny", [])
    state.setdefault("page_size", 100)
    lock = threading.Lock()
    account, region = state.get("account", "123456789012"), state.get("region", "us-west-2")

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
        start = int(query.get("nextToken", ["0"])[0] or 0)
        out = {key: items[start:start + size]}
        if start + size < len(items):
            out["nextToken"] = str(start + size)
        return out

    def handle(method, path, query, body):
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
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
                   "accessConfig": {"authenticationMode": c.get("mode", "API_AND_CONFIG_MAP")}}
            if c.get("outpost"):
                doc["id"] = "2f0ac4b2-7d3e-4b8a-9f1e-0123456789ab"
                doc["outpostConfig"] = {"outpostArns": [f"arn:aws:outposts:{region}:{account}:outpost/op-0abc"],
                                        "controlPlaneInstanceType": "m5.large"}
            return op, 200, {"cluster": doc}
        c = cluster(name)
        if len(parts) == 3 and parts[2] == "access-entries":
            if method == "GET":
                op = "ListAccessEntries"
                check(op)
                return op, 200, page(sorted(c["entries"]), query, "accessEntries")
            if method == "POST":
                op = "CreateAccessEntry"
                check(op)
                p = body["principalArn"]
                if p in c["entries"]:
                    raise ApiError(409, "ResourceInUseException",
                                   "The specified access entry resource is already in use on this cluster.",
                                   clusterName=name)
                if ":assumed-role/" in p:
                    raise ApiError(400, "InvalidParameterException",
                                   "The principalArn parameter format is not valid", clusterName=name)
                c["entries"][p] = {"type": body.get("type", "STANDARD"), "username": body.get("username") or p,
                                   "groups": body.get("kubernetesGroups", []), "policies": []}
                return op, 200, {"accessEntry": entry_doc(name, p, c["entries"][p])}
        if len(parts) >= 4 and parts[2] == "access-entries":
            principal = parts[3]
            if len(parts) == 4:
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
            with lock:
                try:
                    op, code, out = handle(method, u.path, urllib.parse.parse_qs(u.query), body)
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

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        sys.stdin.read()
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
