#!/usr/bin/env bash
# `kctx discover` over 3 profiles (3 accounts) x 17 regions against a local moto_server, next
# to the slowest single (profile, region) chain and to a shell loop over the AWS CLI.
# Called by scripts/bench.sh; runs on its own too.
set -euo pipefail
cd "$(dirname "$0")/.."
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
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
export AWS_ENDPOINT_URL_EKS=http://127.0.0.1:$port AWS_ENDPOINT_URL_STS=http://127.0.0.1:$port
mkdir -p "$HOME/.aws"
printf '[base]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n' > "$HOME/.aws/credentials"
: > "$HOME/.aws/config"
for i in 1 2 3; do
  printf '[profile p%s]\nrole_arn = arn:aws:iam::20000000000%s:role/admin\nsource_profile = base\nregion = us-east-1\n' "$i" "$i" >> "$HOME/.aws/config"
done
REGIONS="us-east-1 us-east-2 us-west-1 us-west-2 ap-south-1 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-southeast-1 ap-southeast-2 ca-central-1 eu-central-1 eu-west-1 eu-west-2 eu-west-3 eu-north-1 sa-east-1"
# two clusters in every fourth region of each account
python3 - "http://127.0.0.1:$port" $REGIONS <<'PY'
import sys, boto3
url, regions = sys.argv[1], sys.argv[2:]
sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
for i in (1, 2, 3):
    c = sts.assume_role(RoleArn=f"arn:aws:iam::20000000000{i}:role/admin", RoleSessionName="setup")["Credentials"]
    for n, region in enumerate(regions):
        if (n + i) % 4:
            continue
        eks = boto3.client("eks", endpoint_url=url, region_name=region, aws_access_key_id=c["AccessKeyId"],
                           aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
        for name in ("api", "web"):
            eks.create_cluster(name=name, roleArn=f"arn:aws:iam::20000000000{i}:role/eks",
                               resourcesVpcConfig={"subnetIds": ["subnet-1"]})
PY
region_flags=$(for r in $REGIONS; do printf -- '--region %s ' "$r"; done)

# The same layout on the EKS double with 50 ms per answer (a regional endpoint's round trip),
# answering concurrently as real endpoints do: moto answers one request at a time, so against
# it any client is bound by moto's own throughput.
python3 - $REGIONS > "$work/double.json" <<'PY'
import json, sys
regions = sys.argv[1:]
print(json.dumps({"account": "123456789012", "latency_ms": 50,
                  "regions": {r: (["api", "web"] if n % 4 == 0 else []) for n, r in enumerate(regions)}}))
PY
coproc DOUBLE { exec python3 tests/support/fake_eks.py --state "$work/double.json"; }
read -r dport <&"${DOUBLE[0]}"
mkdir -p "$work/dhome/.aws"
for i in 1 2 3; do
  printf '[p%s]\naws_access_key_id = AKID%s\naws_secret_access_key = secret\n' "$i" "$i" >> "$work/dhome/.aws/credentials"
  printf '[profile p%s]\nregion = us-east-1\n' "$i" >> "$work/dhome/.aws/config"
done

bench() { # $1 label, $2 json prefix; environment already set
  hyperfine -N --style basic --warmup 1 --runs 3 --export-json "$work/$2-single.json" \
    -L p p1,p2,p3 -L r "$(echo $REGIONS | tr ' ' ,)" "$KCTX discover --profile {p} --region {r}" >/dev/null 2>&1
  hyperfine -N --style basic --warmup 2 --runs 10 --export-json "$work/$2-all.json" \
    -n "kctx discover (3 x 17)" "$KCTX discover --profile p1 --profile p2 --profile p3 $region_flags" >/dev/null 2>&1
}
bench moto moto
found=$("$KCTX" discover --profile p1 --profile p2 --profile p3 $region_flags -o json | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"clusters\"]))")
(
  export HOME=$work/dhome AWS_ENDPOINT_URL_EKS=http://127.0.0.1:$dport
  bench double double
  # what people do today: a loop over the AWS CLI, list then describe
  start=$(date +%s.%N)
  for p in p1 p2 p3; do
    for r in $REGIONS; do
      for c in $(aws --profile "$p" --region "$r" eks list-clusters --query 'clusters[]' --output text); do
        aws --profile "$p" --region "$r" eks describe-cluster --name "$c" --output json >/dev/null
      done
    done
  done
  end=$(date +%s.%N)
  echo "$start $end" > "$work/loop"
)
kill "$DOUBLE_PID" 2>/dev/null || true

echo
echo "== kctx discover: 3 profiles x 17 regions, $(nproc) cores =="
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
start, end = map(float, open(f"{work}/loop").read().split())
loop = (end - start) * 1000
print(f"{'':<34} {'slowest chain ms':>17} {'median chain ms':>16} {'all 51 chains ms':>17} {'ratio':>6}")
for name, label in (("double", "EKS double, 50 ms per answer"), ("moto", "moto_server (serial)")):
    single = json.load(open(f"{work}/{name}-single.json"))["results"]
    full = json.load(open(f"{work}/{name}-all.json"))["results"][0]
    means = sorted(r["mean"] for r in single)
    slow = means[-1] * 1000
    print(f"{label:<34} {slow:>17.1f} {means[len(means)//2]*1000:>16.1f} {full['mean']*1000:>11.1f} ± {full['stddev']*1000:>3.0f} {full['mean']*1000/slow:>5.2f}x")
    if name == "double":
        full_double = full["mean"] * 1000
print(f"{'AWS CLI loop, EKS double':<34} {'':>17} {'':>16} {loop:>17.1f}")
print()
print(f"target: all 51 chains <= 2x the slowest single chain (EKS double); the AWS CLI loop takes {loop / full_double:.0f}x as long")
PY
echo "(moto: $found clusters; each chain is credentials, ListClusters, then DescribeCluster per cluster)"
