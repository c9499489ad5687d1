#!/usr/bin/env bash
# Writes link/hot-functions.txt: the functions kctx's hot paths run, which build.rs asks the
# linker to lay out together at the start of the code (issue 25). Run it after a toolchain or
# dependency update, or when scripts/bench_hotpaths.sh shows the warm token's page faults
# climbing: names the build no longer has are skipped by the linker, so a stale list only
# costs speed.
#
# How: the kctx binary is linked once more without stripping, each hot path is run under
# valgrind's callgrind (which records every function that runs), and the names are written in
# the order the paths are listed below (the warm token first). The stripped release binary is
# relinked right away, and again by the next `cargo build` once the list has changed.
#
#   scripts/hot_functions.sh            # rewrite link/hot-functions.txt
#   scripts/hot_functions.sh --check    # only say how many of its names the build has
#   KEEP_SYMBOLS=/tmp/kctx.sym scripts/hot_functions.sh   # also keep the unstripped binary
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
command -v valgrind >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
out=link/hot-functions.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo rustc --release --locked -q --bin kctx -- -C strip=none
cp target/release/kctx "$work/kctx"
[ -n "${KEEP_SYMBOLS:-}" ] && cp target/release/kctx "$KEEP_SYMBOLS"
cargo build --release --locked -q # the stripped binary again
K=$work/kctx

if [ "${1:-}" = --check ]; then
  nm "$K" | awk '{print $NF}' | sort -u >"$work/have"
  sort -u "$out" >"$work/want"
  echo "$out: $(comm -12 "$work/have" "$work/want" | wc -l) of $(wc -l <"$work/want") names are in the build"
  exit 0
fi

export HOME=$work/home KCTX_CACHE_DIR=$work/cache AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-west-2 KCTX_IGNORE_FZF=1
mkdir -p "$HOME"
python3 scripts/gen_kubeconfig.py 200 "$work/k.yaml"
python3 scripts/gen_kubeconfig.py 200 "$work/d.yaml" --dense
n=0
cg() { # run ARGS under callgrind; the outputs are numbered in the order of the runs
  n=$((n + 1))
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.$(printf %03d $n)" \
    "$K" "$@" >/dev/null 2>&1 || true
}
run() { # ARGS with KUBECONFIG a fresh copy of the $layout kubeconfig
  cp "$work/$layout.yaml" "$work/cfg.yaml"
  KUBECONFIG=$work/cfg.yaml cg "$@"
}
# the warm token first, then the prompt from its memo, then the kubeconfig commands
"$K" token --cluster-name bench >/dev/null
"$K" token --cluster-name=bench --region=us-east-1 >/dev/null
cg token --cluster-name bench
cg token --cluster-name=bench --region=us-east-1
layout=k
cp "$work/k.yaml" "$work/cfg.yaml"
KUBECONFIG=$work/cfg.yaml "$K" prompt >/dev/null
sleep 0.3 # the memo is used once the file has been still for 100 ms
KUBECONFIG=$work/cfg.yaml cg prompt
for layout in k d; do
  second=$(sed -n '/^contexts:/,/^[^- ]/s/^- name: //p' "$work/$layout.yaml" | sed -n 2p) # a context's name
  run list -o name
  run list
  run use "$second"
  run ns --force web
  run -c
  KCTX_COMPLETE=bash _CLAP_IFS=' ' _CLAP_COMPLETE_INDEX=2 run -- kctx use x1
  run --as=kubectx
  run --as=kubens -c
done
python3 - "$work" "$out" <<'PY'
import glob, re, sys
work, out = sys.argv[1], sys.argv[2]
seen, names = set(), []
files = sorted(glob.glob(work + "/cg.*"))
for f in files:
    for line in open(f):
        m = re.match(r"^c?fn=\(\d+\) (.+)$", line.rstrip("\n"))
        if not m:
            continue
        # callgrind marks a recursive call's name with 'N; addresses and "(below main)" are
        # not names the linker knows
        name = re.sub(r"'\d+$", "", m.group(1))
        if name.startswith(("0x", "(")) or name in seen:
            continue
        seen.add(name)
        names.append(name)
open(out, "w").write("\n".join(names) + "\n")
print(f"{out}: {len(names)} functions from {len(files)} runs")
PY
