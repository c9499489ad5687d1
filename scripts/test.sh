#!/usr/bin/env bash
# Runs kctx's whole test suite. Installs what the tests need when it is missing
# (moto's server, the AWS CLI and botocore, kubectl, openssl, strace, tmux, zsh, fish, man-db, bats) and starts a
# local moto_server.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }

pip_need=()
python3 -c 'import moto.server, flask, flask_cors' 2>/dev/null || pip_need+=("moto[server]")
command -v moto_server >/dev/null 2>&1 || pip_need+=("moto[server]")
python3 -c 'import awscli, botocore' 2>/dev/null || pip_need+=(awscli)
command -v aws >/dev/null 2>&1 || pip_need+=(awscli)
if [ ${#pip_need[@]} -gt 0 ]; then
  log "installing ${pip_need[*]} from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check "${pip_need[@]}"
  hash -r
fi

apt_need=()
command -v kubectl >/dev/null 2>&1 || apt_need+=(kubernetes-client)
command -v openssl >/dev/null 2>&1 || apt_need+=(openssl)
command -v script >/dev/null 2>&1 || apt_need+=(bsdutils)
# counts the writes of `kctx add --all`
command -v strace >/dev/null 2>&1 || apt_need+=(strace)
# real shells for the completion tests, driven through tmux
command -v tmux >/dev/null 2>&1 || apt_need+=(tmux)
command -v zsh >/dev/null 2>&1 || apt_need+=(zsh)
command -v fish >/dev/null 2>&1 || apt_need+=(fish)
# man -l renders the man pages
command -v man >/dev/null 2>&1 || apt_need+=(man-db)
# the release tarball (scripts/dist.sh)
command -v sha256sum >/dev/null 2>&1 || apt_need+=(coreutils)
# bats (from npm) runs kubectx's and kubens's own suites against kctx's personalities
if [ -z "${KCTX_TEST_BATS:-}" ] && ! command -v bats >/dev/null 2>&1; then
  command -v npm >/dev/null 2>&1 || apt_need+=(npm)
fi
if [ ${#apt_need[@]} -gt 0 ]; then
  log "installing ${apt_need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${apt_need[@]}" >/dev/null
fi

if [ -z "${KCTX_TEST_BATS:-}" ] && ! command -v bats >/dev/null 2>&1; then
  bats_dir="${XDG_CACHE_HOME:-$HOME/.cache}/kctx-test/bats"
  if [ ! -x "$bats_dir/node_modules/bats/bin/bats" ]; then
    log "installing bats from npm into $bats_dir"
    npm install --silent --no-audit --no-fund --prefix "$bats_dir" bats >/dev/null
  fi
  export KCTX_TEST_BATS="$bats_dir/node_modules/bats/bin/bats"
fi

# One moto_server (local EKS + STS) for the whole run.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_log=$(mktemp)
moto_server -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; rm -f "$moto_log"' EXIT
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/data.json', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
export KCTX_TEST_MOTO_URL="http://127.0.0.1:$port"
log "moto_server at $KCTX_TEST_MOTO_URL; kubectl: $(command -v kubectl); aws: $(command -v aws)"

cargo test --release --locked --all-targets "$@"
