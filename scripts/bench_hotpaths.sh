#!/usr/bin/env bash
# The hot paths against the process floor (issue 25), paired with /bin/true in the same
# hyperfine run, and beside the previous build when KCTX_PREV names its binary:
#   - `kctx token` from a warm cache            target <= 1.3x /bin/true
#   - `kctx prompt` on a shared 2,000-context kubeconfig, warm   target <= 2x /bin/true
#   - page faults and system calls of the warm token (perf or /usr/bin/time; strace -c)
#   - peak RSS at 20,000 contexts for list, use, ns --force and completion, on the
#     update-kubeconfig layout and on a dense one       target <= 3x the file
#
#   scripts/bench_hotpaths.sh
#   KCTX_PREV=/path/to/old/kctx BENCH_RUNS=2000 scripts/bench_hotpaths.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
command -v hyperfine >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
command -v strace >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq strace >/dev/null; }
[ -n "${KCTX_BIN:-}" ] || cargo build --release --locked -q
KCTX=${KCTX_BIN:-$PWD/target/release/kctx}
PREV=${KCTX_PREV:-}
RUNS=${BENCH_RUNS:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home KCTX_CACHE_DIR=$work/cache AWS_EC2_METADATA_DISABLED=true
mkdir -p "$HOME"
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-west-2

median() { # median of a hyperfine export, ms, by command name
  python3 -c 'import json,sys,statistics
d=json.load(open(sys.argv[1]))
for r in d["results"]:
    if r["command"]==sys.argv[2]: print("%.3f" % (statistics.median(r["times"])*1000))' "$1" "$2"
}

echo "== warm token and prompt against /bin/true ($(nproc) cores, $RUNS runs each, medians) =="
"$KCTX" token --cluster-name bench >/dev/null
[ -n "$PREV" ] && KCTX_CACHE_DIR=$work/cache-prev "$PREV" token --cluster-name bench >/dev/null
python3 scripts/gen_kubeconfig.py 2000 "$work/k2000.yaml"
hyperfine -N --style none --warmup 50 --runs "$RUNS" --export-json "$work/token.json" \
  -n true /bin/true -n token "$KCTX token --cluster-name bench" >/dev/null
# the previous build reads its own cache directory (its entries may differ): a run of its own,
# paired with /bin/true again (an `env` in front would add a process start to its figure)
[ -n "$PREV" ] && KCTX_CACHE_DIR=$work/cache-prev hyperfine -N --style none --warmup 50 \
  --runs "$RUNS" --export-json "$work/token-prev.json" \
  -n true /bin/true -n token-prev "$PREV token --cluster-name bench" >/dev/null
"$KCTX" prompt >/dev/null 2>&1 || true
KUBECONFIG=$work/k2000.yaml "$KCTX" prompt >/dev/null
args=(-n true /bin/true -n prompt "$KCTX prompt")
[ -n "$PREV" ] && args+=(-n prompt-prev "$PREV prompt")
sleep 0.2 # the memo is used once the file has been still for 100 ms
KUBECONFIG=$work/k2000.yaml hyperfine -N --style none --warmup 20 --runs "$RUNS" \
  --export-json "$work/prompt.json" "${args[@]}" >/dev/null
t=$(median "$work/token.json" true); k=$(median "$work/token.json" token)
p=$(median "$work/prompt.json" prompt); pt=$(median "$work/prompt.json" true)
printf '%-46s %9s %9s %8s %s\n' "" "kctx" "/bin/true" "ratio" "target"
printf '%-46s %7s ms %6s ms %7.2fx %s\n' "kctx token (warm cache)" "$k" "$t" "$(awk "BEGIN{print $k/$t}")" "<= 1.3x"
printf '%-46s %7s ms %6s ms %7.2fx %s\n' "kctx prompt (shared, 2,000 contexts)" "$p" "$pt" "$(awk "BEGIN{print $p/$pt}")" "<= 2x"
if [ -n "$PREV" ]; then
  kp=$(median "$work/token-prev.json" token-prev); pp=$(median "$work/prompt.json" prompt-prev)
  tp=$(median "$work/token-prev.json" true)
  printf '%-46s %7s ms %6s ms %7.2fx %s\n' "previous build: token (warm cache)" "$kp" "$tp" "$(awk "BEGIN{print $kp/$tp}")" ""
  printf '%-46s %7s ms %6s ms %7.2fx %s\n' "previous build: prompt (shared, 2,000)" "$pp" "$pt" "$(awk "BEGIN{print $pp/$pt}")" ""
fi

echo
echo "== where the warm token's cost goes =="
faults() { /usr/bin/time -f '%R' "$@" 2>&1 >/dev/null | tail -n1; }
printf '%-34s %6s page faults (minor)\n' "/bin/true" "$(faults /bin/true)"
printf '%-34s %6s\n' "kctx token (warm)" "$(faults "$KCTX" token --cluster-name bench)"
[ -n "$PREV" ] && printf '%-34s %6s\n' "previous build" "$(KCTX_CACHE_DIR=$work/cache-prev faults "$PREV" token --cluster-name bench)"
if command -v perf >/dev/null 2>&1 &&
  perf record -q -o "$work/pf.data" -e page-faults -c 1 -d "$KCTX" token --cluster-name bench >/dev/null 2>&1; then
  echo "kctx token's page faults by where they land (perf record -e page-faults -d):"
  perf script -i "$work/pf.data" -F addr 2>/dev/null | python3 -c '
import re, subprocess, sys, collections
segs = []  # (start, end, what) of the binary, from its program headers
for l in subprocess.run(["readelf", "-lW", sys.argv[1]], capture_output=True, text=True).stdout.splitlines():
    f = l.split()
    if f and f[0] == "LOAD":
        start, size = int(f[2], 16), int(f[5], 16)
        what = {"R": "read-only data", "RE": "code", "RW": "data and bss"}.get("".join(f[6:-1]), "?")
        segs.append((start, start + size, what))
count = collections.Counter()
for line in sys.stdin:
    a = int(line.split()[0], 16)
    what = next((w for s, e, w in segs if s <= a < e), None)
    if what is None:
        top = max(e for _, e, _ in segs)
        what = ("kernel (exec)" if a >= 1 << 63 else "stack, mmap" if a >= 0x7f0000000000
                else "heap" if top <= a < top + (1 << 32) else "other mappings")
    count[what] += 1
for what, n in count.most_common():
    print("  %-18s %s" % (what, n))' "$KCTX"
fi
syscalls() { # system calls made, from strace's own log (one line each)
  strace -f -o "$work/st.log" "$@" >/dev/null 2>&1
  grep -Evc '^[0-9]+ +(\+\+\+|---)' "$work/st.log"
}
printf '%-34s %6s system calls\n' "/bin/true" "$(syscalls /bin/true)"
printf '%-34s %6s\n' "kctx token (warm)" "$(syscalls "$KCTX" token --cluster-name bench)"
[ -n "$PREV" ] && printf '%-34s %6s\n' "previous build" "$(KCTX_CACHE_DIR=$work/cache-prev syscalls "$PREV" token --cluster-name bench)"
syscalls "$KCTX" token --cluster-name bench >/dev/null
echo "kctx token's system calls by kind:"
sed -E 's/^[0-9]+ +//; s/\(.*//' "$work/st.log" | grep -Ev '^(\+\+\+|---)' | sort | uniq -c | sort -nr |
  awk '{printf "  %-18s %s\n", $2, $1}' | head -14
echo
echo "== peak RSS at 20,000 contexts (KiB; ratio to the file) =="
maxrss() { local m=0 v; for _ in 1 2 3; do
    /usr/bin/time -o "$work/time.out" -f '%M' "$@" >/dev/null 2>&1 || true
    v=$(tail -n1 "$work/time.out"); [ "$v" -gt "$m" ] && m=$v; done; echo "$m"; }
printf '%-10s %8s %-12s %14s %14s %14s %14s\n' layout "file" "" list use "ns --force" completion
for layout in update-kubeconfig dense; do
  flag=""; [ "$layout" = dense ] && flag=--dense
  python3 scripts/gen_kubeconfig.py 20000 "$work/base.yaml" $flag
  f=$work/k.yaml; cp "$work/base.yaml" "$f"
  size=$(( $(stat -c %s "$f") / 1024 ))
  second=$(python3 -c 'import sys,re
names=[l.split("name: ",1)[1].strip() for l in open(sys.argv[1]) if l.startswith("- name: ")]
print(names[len(names)//2])' "$f")
  for bin in "$KCTX" ${PREV:+"$PREV"}; do
    l=$(KUBECONFIG=$f maxrss "$bin" list -o name)
    cp "$work/base.yaml" "$f"; u=$(KUBECONFIG=$f maxrss "$bin" use "$second")
    cp "$work/base.yaml" "$f"; n=$(KUBECONFIG=$f maxrss "$bin" ns --force web)
    c=$(KUBECONFIG=$f KCTX_COMPLETE=bash _CLAP_IFS=' ' _CLAP_COMPLETE_INDEX=2 maxrss "$bin" -- kctx use x1)
    r() { echo "$1 ($(awk "BEGIN{printf \"%.2f\", $1/$size}")x)"; }
    who=kctx; [ "$bin" = "$PREV" ] && who=previous
    printf '%-10s %6s K %-12s %14s %14s %14s %14s\n' "${layout:0:10}" "$size" "$who" "$(r "$l")" "$(r "$u")" "$(r "$n")" "$(r "$c")"
  done
done
echo "target: each <= 3.00x"

if [ -n "$PREV" ]; then
  echo
  echo "== nothing else slower: kctx beside the previous build (interleaved medians, ms) =="
  # A, B, A, B…: the machine's drift falls on both builds alike (hyperfine runs one, then the other)
  ab() { # ab ROUNDS LABEL PREPARE ARGS...: one line, kctx's and the previous build's medians
    python3 - "$@" <<'PY'
import os, statistics, subprocess, sys, time
rounds, label, prepare, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
bins = {"kctx": os.environ["AB_KCTX"], "prev": os.environ["AB_PREV"]}
times = {k: [] for k in bins}
for i in range(rounds):
    for k in (("kctx", "prev") if i % 2 == 0 else ("prev", "kctx")):
        if prepare:
            subprocess.run(prepare, shell=True, check=True)
        t = time.perf_counter()
        subprocess.run([bins[k], *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[k].append(time.perf_counter() - t)
a, b = (statistics.median(times[k]) * 1000 for k in ("kctx", "prev"))
print("%-40s %10.1f %10.1f %7.2fx" % (label, a, b, a / b))
PY
  }
  export AB_KCTX=$KCTX AB_PREV=$PREV
  printf '%-40s %10s %10s %8s\n' "" kctx previous ratio
  for n in 2000 20000; do
    python3 scripts/gen_kubeconfig.py "$n" "$work/base.yaml"
    f=$work/k.yaml; cp "$work/base.yaml" "$f"
    rounds=100; [ "$n" -gt 2000 ] && rounds=10
    second=$(sed -n '/^contexts:/,/^[^- ]/s/^- name: //p' "$f" | sed -n 2p) # a context's name
    KUBECONFIG=$f ab $rounds "list -o name, $n contexts" "" list -o name
    KUBECONFIG=$f ab $rounds "use NAME, $n contexts" "cp $work/base.yaml $f" use "$second"
    KUBECONFIG=$f KCTX_COMPLETE=bash _CLAP_IFS=' ' _CLAP_COMPLETE_INDEX=2 ab $rounds \
      "use <TAB> (completion), $n contexts" "" -- kctx use arn:aws:eks:us-west-2:123456789012:cluster/cluster-0000
  done
  if command -v valgrind >/dev/null 2>&1; then # instructions: what the machine's drift cannot blur
    ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
      sed -n 's/.*refs: *//p' | tr -d ,; }
    python3 scripts/gen_kubeconfig.py 2000 "$work/k.yaml"
    for b in "$KCTX" "$PREV"; do
      printf '%s %s\n' "$(KUBECONFIG=$work/k.yaml ir "$b" list -o name)" \
        "$(KCTX_CACHE_DIR=$([ "$b" = "$PREV" ] && echo "$work/cache-prev" || echo "$KCTX_CACHE_DIR") ir "$b" token --cluster-name bench)"
    done | python3 -c 'import sys
(l, t), (lp, tp) = [map(int, x.split()) for x in sys.stdin.read().splitlines()]
print("%-40s %10.1f %10.1f %7.2fx" % ("instructions (M), list -o name, 2000", l/1e6, lp/1e6, l/lp))
print("%-40s %10.3f %10.3f %7.2fx" % ("instructions (M), warm token", t/1e6, tp/1e6, t/tp))'
  fi
  echo "(kctx add and discovery: KCTX_BIN=... scripts/bench_add.sh and scripts/bench_discover.sh for each build)"
fi
