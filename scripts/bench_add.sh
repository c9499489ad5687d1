#!/usr/bin/env bash
# `kctx add` vs `aws eks update-kubeconfig` on a 1,000-context kubeconfig, against a local
# moto_server. Called by scripts/bench.sh; runs on its own too.
set -euo pipefail
cd "$(dirname "$0")/.."
# the benchmarks run with a scratch HOME; keep the toolchain where it is
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
command -v hyperfine >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
# KCTX_BIN=/path/to/kctx measures that binary instead of building this tree
[ -n "${KCTX_BIN:-}" ] || cargo build --release --locked -q
KCTX=${KCTX_BIN:-$PWD/target/release/kctx}
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/data.json', timeout=1)" 2>/dev/null && break
  sleep 0.2
done

export HOME=$work/home AWS_EC2_METADATA_DISABLED=true
mkdir -p "$HOME"
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2
export AWS_ENDPOINT_URL_EKS=http://127.0.0.1:$port
aws eks create-cluster --name bench-add --role-arn arn:aws:iam::123456789012:role/eks \
  --resources-vpc-config subnetIds=subnet-1 >/dev/null

# a 1,000-context kubeconfig in the AWS CLI's own format
python3 - "$work/big.yaml" <<'PY'
import sys, yaml
ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t" * 40
doc = {"apiVersion": "v1", "clusters": [], "contexts": [], "current-context": "", "kind": "Config",
       "preferences": {}, "users": []}
for i in range(1000):
    arn = f"arn:aws:eks:us-west-2:123456789012:cluster/c{i}"
    doc["clusters"].append({"cluster": {"certificate-authority-data": ca, "server": f"https://{i}.eks.example"}, "name": arn})
    doc["users"].append({"name": arn, "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
        "args": ["--region", "us-west-2", "eks", "get-token", "--cluster-name", f"c{i}", "--output", "json"], "command": "aws"}}})
    doc["contexts"].append({"context": {"cluster": arn, "user": arn}, "name": arn})
open(sys.argv[1], "w").write(yaml.safe_dump(doc, sort_keys=False))
PY
printf 'apiVersion: v1\nkind: Config\n' > "$work/small.yaml"

echo "== kctx add vs aws eks update-kubeconfig (moto EKS on loopback) =="
hyperfine -N --style basic --warmup 3 --runs "${BENCH_ADD_RUNS:-30}" --export-json "$work/kadd.json" \
  --prepare "cp $work/big.yaml $work/k.yaml" -n "kctx add (1,000 contexts)" \
  "$KCTX add bench-add --kubeconfig $work/k.yaml" >/dev/null
hyperfine -N --style basic --warmup 3 --runs "${BENCH_ADD_RUNS:-30}" --export-json "$work/ksmall.json" \
  --prepare "cp $work/small.yaml $work/s.yaml" -n "kctx add (empty file)" \
  "$KCTX add bench-add --kubeconfig $work/s.yaml" >/dev/null
hyperfine -N --style basic --warmup 1 --runs "${BENCH_AWS_ADD_RUNS:-5}" --export-json "$work/aadd.json" \
  --prepare "cp $work/big.yaml $work/a.yaml" -n "aws eks update-kubeconfig (1,000 contexts)" \
  "aws eks update-kubeconfig --name bench-add --kubeconfig $work/a.yaml" >/dev/null

python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
r = {n: json.load(open(f"{w}/{n}.json"))["results"][0] for n in ("kadd", "ksmall", "aadd")}
print(f"{'command':<44} {'mean ms':>9} {'± ms':>7}")
for n in ("kadd", "ksmall", "aadd"):
    print(f"{r[n]['command']:<44} {r[n]['mean']*1000:>9.1f} {r[n]['stddev']*1000:>7.1f}")
print(f"\nkctx add is {r['aadd']['mean']/r['kadd']['mean']:.0f}x faster than update-kubeconfig (target >= 20x)")
print(f"file work for 1,000 contexts (big - empty): {(r['kadd']['mean']-r['ksmall']['mean'])*1000:.1f} ms (target well under 100 ms)")
PY
