#!/usr/bin/env bash
# Benchmarks kctx against the AWS CLI on this machine and prints the figures side by side.
#   scripts/bench.sh            token benchmarks, then `kctx add` vs update-kubeconfig, the
#                               kubeconfig benchmarks, and `kctx discover` across 3 x 17
#   BENCH_RUNS=500 scripts/bench.sh
#   KCTX_PREV=/path/to/old/kctx scripts/bench.sh   (the hot paths beside that build too)
# Needs hyperfine (installed from Debian when missing) and, for `add`, moto_server.
set -euo pipefail
cd "$(dirname "$0")/.."
# the benchmarks run with a scratch HOME; keep the toolchain where it is
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
command -v hyperfine >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --locked -q
KCTX=$PWD/target/release/kctx
RUNS=${BENCH_RUNS:-300}
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${moto_pid:-}" ] && kill "$moto_pid" 2>/dev/null; true' EXIT

export HOME=$work/home AWS_EC2_METADATA_DISABLED=true
mkdir -p "$HOME"
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2
export KCTX_CACHE_DIR=$work/cache

"$KCTX" token --cluster-name bench >/dev/null   # warm the cache
echo "== kctx token vs aws eks get-token (static keys, $(nproc) cores) =="
hyperfine -N --style basic --warmup 30 --runs "$RUNS" --export-json "$work/warm.json" \
  -n "kctx token (warm cache)" "$KCTX token --cluster-name bench" >/dev/null
hyperfine -N --style basic --warmup 30 --runs "$RUNS" --export-json "$work/cold.json" \
  -n "kctx token --no-cache" "$KCTX token --cluster-name bench --no-cache" >/dev/null
hyperfine -N --style basic --warmup 2 --runs "${BENCH_AWS_RUNS:-15}" --export-json "$work/aws.json" \
  -n "aws eks get-token" "aws eks get-token --cluster-name bench --output json" >/dev/null

maxrss() { # peak RSS in KiB over 5 runs
  local m=0 v
  for _ in 1 2 3 4 5; do
    v=$( { /usr/bin/time -f '%M' "$@" >/dev/null; } 2>&1 | tail -n1 )
    [ "$v" -gt "$m" ] && m=$v
  done
  echo "$m"
}
rss_warm=$(maxrss "$KCTX" token --cluster-name bench)
rss_cold=$(maxrss "$KCTX" token --cluster-name bench --no-cache)
rss_aws=$(maxrss aws eks get-token --cluster-name bench --output json)

python3 - "$work" "$rss_warm" "$rss_cold" "$rss_aws" <<'PY'
import json, sys
work, rw, rc, ra = sys.argv[1], *map(int, sys.argv[2:])
def load(n):
    r = json.load(open(f"{work}/{n}.json"))["results"][0]
    return r["command"], r["mean"] * 1000, r["median"] * 1000, r["stddev"] * 1000
rows = [load("warm") + (rw,), load("cold") + (rc,), load("aws") + (ra,)]
aws_mean = rows[2][1]
print(f"{'command':<28} {'mean ms':>9} {'median ms':>10} {'± ms':>7} {'peak RSS':>10} {'vs AWS CLI':>11}")
for name, mean, med, sd, rss in rows:
    print(f"{name:<28} {mean:>9.2f} {med:>10.2f} {sd:>7.2f} {rss/1024:>8.1f}Mi {aws_mean/mean:>10.0f}x")
print()
print("targets: warm <= 2 ms and >= 300x; --no-cache <= 5 ms and >= 100x; warm peak RSS <= 10 MiB")
PY

# the hot paths against /bin/true (and the build KCTX_PREV names, when set)
if [ -x scripts/bench_hotpaths.sh ] && [ "${BENCH_SKIP_HOTPATHS:-}" != 1 ]; then
  echo
  KCTX_BIN=$KCTX scripts/bench_hotpaths.sh
fi
if [ -x scripts/bench_add.sh ] && [ "${BENCH_SKIP_ADD:-}" != 1 ]; then
  scripts/bench_add.sh
fi
if [ -x scripts/bench_kubeconfig.sh ] && [ "${BENCH_SKIP_KUBECONFIG:-}" != 1 ]; then
  scripts/bench_kubeconfig.sh
fi
if [ -x scripts/bench_discover.sh ] && [ "${BENCH_SKIP_DISCOVER:-}" != 1 ]; then
  scripts/bench_discover.sh
fi
