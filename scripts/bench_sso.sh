#!/usr/bin/env bash
# `kctx discover --sso-session` over 300 accounts whose IAM Identity Center portal answers in
# 50 ms (tests/support/fake_sso.py with portal_delay_ms) and whose EKS endpoint answers in 50 ms
# (tests/support/fake_eks.py), next to the time the same calls take one after another.
# Runs on its own; needs hyperfine (installed from Debian when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
command -v hyperfine >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --locked -q
KCTX=$PWD/target/release/kctx
ACCOUNTS=${BENCH_SSO_ACCOUNTS:-300}
DELAY_MS=50
work=$(mktemp -d)
trap 'kill "${SSO_PID:-}" "${EKS_PID:-}" 2>/dev/null; rm -rf "$work"' EXIT

python3 - "$ACCOUNTS" "$DELAY_MS" > "$work/sso.json" <<'PY'
import json, sys
n, delay = int(sys.argv[1]), int(sys.argv[2])
accounts = [{"id": f"{700000000000 + i:012d}", "name": f"team-{i:03d}",
             "credentials": {"access_key_id": f"AKIABENCH{i:011d}", "secret_access_key": "bench",
                             "session_token": "bench"},
             "roles": ["ReadOnly"]} for i in range(n)]
# the real portal's largest page is 100 accounts
print(json.dumps({"accounts": accounts, "page_size": 100, "portal_delay_ms": delay}))
PY
echo "{\"account\": \"123456789012\", \"latency_ms\": $DELAY_MS, \"regions\": {\"us-east-1\": [\"api\"]}}" > "$work/eks.json"

coproc SSO { exec python3 tests/support/fake_sso.py --config "$work/sso.json"; }
read -r sso_port <&"${SSO[0]}"
coproc EKS { exec python3 tests/support/fake_eks.py --state "$work/eks.json"; }
read -r eks_port <&"${EKS[0]}"
sso=http://127.0.0.1:$sso_port

export HOME=$work/home AWS_EC2_METADATA_DISABLED=true KCTX_CACHE_DIR=$work/cache
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
export AWS_ENDPOINT_URL_SSO_OIDC=$sso AWS_ENDPOINT_URL_SSO=$sso AWS_ENDPOINT_URL_EKS=http://127.0.0.1:$eks_port
export BROWSER=$PWD/tests/support/fake_browser.py
mkdir -p "$HOME/.aws"
printf '[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n' > "$HOME/.aws/config"
"$KCTX" login --sso-session corp >/dev/null 2>&1

state() { python3 -c "import json,sys,urllib.request; print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1]))))" "$1"; }
# one run, counted: every portal and EKS call it makes
before_eks=$(state "http://127.0.0.1:$eks_port/_state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["calls"]))')
python3 -c "import urllib.request,sys; urllib.request.urlopen(urllib.request.Request(sys.argv[1]+'/_control', data=b'{\"reset_calls\": true}', method='POST'))" "$sso"
found=$("$KCTX" discover --sso-session corp --sso-role-name ReadOnly --region us-east-1 -o json |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["clusters"]), len(d["failures"]))')
sso_state=$(state "$sso/_state")
eks_calls=$(( $(state "http://127.0.0.1:$eks_port/_state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["calls"]))') - before_eks ))

hyperfine -N --style basic --warmup 1 --runs "${BENCH_SSO_RUNS:-5}" --export-json "$work/discover.json" \
  -n "kctx discover --sso-session ($ACCOUNTS accounts)" \
  "$KCTX discover --sso-session corp --sso-role-name ReadOnly --region us-east-1 -o json" >/dev/null

# the same with the portal answering at once: what the doubles and the machine cost by themselves
python3 -c "import urllib.request,sys; urllib.request.urlopen(urllib.request.Request(sys.argv[1]+'/_control', data=b'{\"set\": {\"portal_delay_ms\": 0}}', method='POST'))" "$sso"
hyperfine -N --style basic --warmup 1 --runs "${BENCH_SSO_RUNS:-5}" --export-json "$work/instant.json" \
  -n "kctx discover --sso-session (portal at 0 ms)" \
  "$KCTX discover --sso-session corp --sso-role-name ReadOnly --region us-east-1 -o json" >/dev/null

echo
echo "== kctx discover --sso-session: $ACCOUNTS accounts x 1 role, ${DELAY_MS} ms per portal and EKS answer, $(nproc) cores =="
python3 - "$work/discover.json" "$sso_state" "$eks_calls" "$DELAY_MS" "$found" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
st = json.loads(sys.argv[2])
eks_calls, delay = int(sys.argv[3]), int(sys.argv[4])
clusters, failures = sys.argv[5].split()
c = st["counts"]
portal = sum(c.get(k, 0) for k in ("ListAccounts", "ListAccountRoles", "GetRoleCredentials"))
seq = (portal + eks_calls) * delay / 1000
print(f"portal calls: {c.get('ListAccounts', 0)} ListAccounts, {c.get('ListAccountRoles', 0)} ListAccountRoles, "
      f"{c.get('GetRoleCredentials', 0)} GetRoleCredentials (at most {st['max_in_flight']['portal']} in flight); "
      f"EKS calls: {eks_calls}; {clusters} clusters found, {failures} failures")
print(f"{'kctx discover (mean ± sd)':<40} {r['mean']:>8.2f} s ± {r['stddev']:.2f}")
r0 = json.load(open(sys.argv[1].replace("discover.json", "instant.json")))["results"][0]
print(f"{'the same, portal answering at once':<40} {r0['mean']:>8.2f} s ± {r0['stddev']:.2f}  (the doubles' and the machine's own cost)")
print(f"{'its portal calls one after another':<40} {portal * delay / 1000:>8.2f} s  ({portal} calls x {delay} ms)")
print(f"{'all its calls one after another':<40} {seq:>8.2f} s  ({portal + eks_calls} calls x {delay} ms)")
print(f"{'speed-up over all calls in sequence':<40} {seq / r['mean']:>8.1f}x")
print("target: a few seconds (the portal calls alone, one after another, take 30 s)")
PY
