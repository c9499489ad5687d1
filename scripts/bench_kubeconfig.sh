#!/usr/bin/env bash
# kctx's kubeconfig commands vs kubectl's on update-kubeconfig-style files of 2,000 and 20,000
# contexts (scripts/gen_kubeconfig.py), with peak memory. Called by scripts/bench.sh; runs on
# its own too. Targets (issue 10): at 2,000 contexts `list -o name` <= 40 ms and `use` <= 50 ms;
# 20,000 costs <= 12x the 2,000 figure; peak RSS <= 4x the file size.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
command -v hyperfine >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --locked -q
KCTX=$PWD/target/release/kctx
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home KCTX_CACHE_DIR=$work/cache
mkdir -p "$HOME"
A=arn:aws:eks:us-west-2:123456789012:cluster/cluster-00001
B=arn:aws:eks:us-west-2:123456789012:cluster/cluster-00002
RUNS=${BENCH_RUNS:-30}

maxrss() { # peak RSS in KiB over 3 runs
  local m=0 v
  for _ in 1 2 3; do
    /usr/bin/time -o "$work/time.out" -f '%M' "$@" >/dev/null 2>&1
    v=$(tail -n1 "$work/time.out")
    [ "$v" -gt "$m" ] && m=$v
  done
  echo "$m"
}

for n in 2000 20000; do
  python3 scripts/gen_kubeconfig.py "$n" "$work/base-$n.yaml"
  cp "$work/base-$n.yaml" "$work/k-$n.yaml"
  f=$work/k-$n.yaml
  kr=$RUNS; [ "$n" -gt 2000 ] && kr=8
  echo "== $n contexts ($(du -k "$f" | cut -f1) KiB) ==" >&2
  # kctx reads KUBECONFIG from hyperfine's own environment (an `env` wrapper would add its own
  # exec, ~0.8 ms, to every figure); kubectl is given the file with --kubeconfig
  KUBECONFIG=$f hyperfine -N --style none --warmup 2 --runs "$kr" --export-json "$work/list-$n.json" \
    -n "kctx list -o name" "$KCTX list -o name" \
    -n "kubectl config get-contexts -o name" "kubectl --kubeconfig $f config get-contexts -o name" >/dev/null
  # `use` changes the file each run: switch between two contexts, from a fresh copy each time
  KUBECONFIG=$f hyperfine -N --style none --warmup 2 --runs "$kr" --export-json "$work/use-$n.json" \
    --prepare "cp $work/base-$n.yaml $f" \
    -n "kctx use" "$KCTX use $B" \
    -n "kubectl config use-context" "kubectl --kubeconfig $f config use-context $B" >/dev/null
  KUBECONFIG=$f _CLAP_IFS=' ' _CLAP_COMPLETE_INDEX=2 KCTX_COMPLETE=bash \
    hyperfine -N --style none --warmup 2 --runs "$kr" --export-json "$work/complete-$n.json" \
    -n "kctx use <TAB> (bash completion)" \
    "$KCTX -- kctx use arn:aws:eks:us-west-2:123456789012:cluster/cluster-0000" >/dev/null
  # the prompt: inside an isolated shell (a session file) and on the shared file
  sess=$(env KUBECONFIG="$f" "$KCTX" env --shell bash "$A" | sed -n "s/^export KUBECONFIG='\(.*\)';$/\1/p")
  KUBECONFIG=$sess KCTX_SHELL_FILE=$sess \
    hyperfine -N --style none --warmup 10 --runs 100 --export-json "$work/prompt-$n.json" \
    -n "kctx prompt (isolated shell)" "$KCTX prompt" >/dev/null
  KUBECONFIG=$f hyperfine -N --style none --warmup 2 --runs "$kr" --export-json "$work/shared-$n.json" \
    -n "kctx prompt (shared file)" "$KCTX prompt" >/dev/null
  cp "$work/base-$n.yaml" "$f"
  echo "$(du -k "$f" | cut -f1) $(maxrss env KUBECONFIG=$f "$KCTX" list -o name) $(maxrss env KUBECONFIG=$f "$KCTX" use $B) $(maxrss kubectl --kubeconfig "$f" config get-contexts -o name)" > "$work/rss-$n"
done

python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
def rows(kind, n):
    return [(r["command"], r["mean"] * 1000, r["stddev"] * 1000)
            for r in json.load(open(f"{w}/{kind}-{n}.json"))["results"]]
print(f"{'command':<36} {'2,000 ms':>10} {'20,000 ms':>10} {'ratio':>7}")
mean = {}
for kind in ("list", "use", "complete", "prompt", "shared"):
    for (name, m2, s2), (_, m20, _) in zip(rows(kind, 2000), rows(kind, 20000)):
        mean[(kind, name)] = (m2, m20)
        print(f"{name:<36} {m2:>10.1f} {m20:>10.1f} {m20 / m2:>6.1f}x")
print()
for n in (2000, 20000):
    size, l, u, k = map(int, open(f"{w}/rss-{n}").read().split())
    print(f"{n:>6} contexts, file {size/1024:.1f} MiB: peak RSS kctx list {l/1024:.1f} MiB ({l/size:.1f}x the file), "
          f"kctx use {u/1024:.1f} MiB ({u/size:.1f}x), kubectl get-contexts {k/1024:.1f} MiB")
l2, l20 = mean[("list", "kctx list -o name")]
u2, u20 = mean[("use", "kctx use")]
print()
p2, _ = mean[("prompt", "kctx prompt (isolated shell)")]
print(f"targets: list <= 40 ms at 2,000: {l2:.1f} ms; use <= 50 ms at 2,000: {u2:.1f} ms; "
      f"20,000 <= 12x: list {l20/l2:.1f}x, use {u20/u2:.1f}x; peak RSS <= 4x the file; "
      f"prompt in an isolated shell <= 2 ms: {p2:.2f} ms")
PY
