#!/usr/bin/env python3
"""Writes a kubeconfig with N EKS contexts in `aws eks update-kubeconfig`'s own format, or
with --dense in a layout of short values and many small nodes (short names, a short CA,
exec entries with many arguments and environment variables: ~700 bytes and ~70 nodes a
context), the hard case for memory per byte of file.

    scripts/gen_kubeconfig.py N OUT [--ca-len CHARS] [--dense]

The default CA length (300 base64 characters) gives ~1 KB per context (2,000 contexts = 2 MB,
a little larger than the 1.4 MB file the issues measured); a real EKS CA is ~1,450 characters.
"""
import argparse

p = argparse.ArgumentParser()
p.add_argument("n", type=int)
p.add_argument("out")
p.add_argument("--ca-len", type=int, default=300)
p.add_argument("--dense", action="store_true")
a = p.parse_args()
if a.dense:
    out = ["apiVersion: v1", "kind: Config", "clusters:"]
    for i in range(a.n):
        out += [f"- name: c{i}", "  cluster:", f"    server: https://c{i}.x", "    certificate-authority-data: QUJD",
                "    extensions:", "    - name: e", "      extension: {a: 1, b: 2, c: 3}"]
    out.append("contexts:")
    for i in range(a.n):
        out += [f"- name: x{i}", "  context:", f"    cluster: c{i}", f"    user: u{i}", "    namespace: ns"]
    out.append("current-context: x0")
    out.append("users:")
    for i in range(a.n):
        out += [f"- name: u{i}", "  user:", "    exec:", "      apiVersion: client.authentication.k8s.io/v1beta1",
                "      command: kctx", "      args: [token, -i, c%d, --region, r, --profile, p, -r, a, --no-cache, --session-name, s, x1, y1, z1]" % i,
                "      env:"] + [f"      - {{name: K{j}, value: v}}" for j in range(6)]
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")
    raise SystemExit(0)
ca = ("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM" * (a.ca_len // 40 + 1))[: a.ca_len]
arns = [f"arn:aws:eks:us-west-2:123456789012:cluster/cluster-{i:05d}" for i in range(a.n)]
out = ["apiVersion: v1", "clusters:"]
for i, arn in enumerate(arns):
    out += ["- cluster:", f"    certificate-authority-data: {ca}",
            f"    server: https://{i:05X}A1B2C3D4E5F6A7B8C9D0E1F2.gr7.us-west-2.eks.amazonaws.com",
            f"  name: {arn}"]
out.append("contexts:")
for arn in arns:
    out += ["- context:", f"    cluster: {arn}", f"    user: {arn}", f"  name: {arn}"]
out.append(f"current-context: {arns[0] if arns else ''}")
out += ["kind: Config", "preferences: {}", "users:"]
for i, arn in enumerate(arns):
    out += [f"- name: {arn}", "  user:", "    exec:",
            "      apiVersion: client.authentication.k8s.io/v1beta1", "      args:",
            "      - --region", "      - us-west-2", "      - eks", "      - get-token",
            "      - --cluster-name", f"      - cluster-{i:05d}", "      - --output", "      - json",
            "      command: aws"]
with open(a.out, "w") as f:
    f.write("\n".join(out) + "\n")
