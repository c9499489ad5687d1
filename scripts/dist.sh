#!/usr/bin/env bash
# Builds the release tarball: dist/kctx-<version>-x86_64-linux.tar.gz (the static binary,
# shell completions, man pages, README and licences) and its .sha256.
#   KCTX_BIN=path   use this binary instead of building one (the tests do)
#   DIST_DIR=dir    write there instead of dist/
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
bin=${KCTX_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --locked
  bin=target/release/kctx
fi
# the binary must be the static one the README promises
if ldd "$bin" >/dev/null 2>&1; then
  echo "dist.sh: $bin is dynamically linked (build it with the repository's .cargo/config.toml)" >&2
  exit 1
fi
out=${DIST_DIR:-dist}
name="kctx-$version-x86_64-linux"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name" "$out"
install -m 0755 "$bin" "$stage/$name/kctx"
cp -r completions man README.md LICENSE-MIT LICENSE-APACHE "$stage/$name/"
# reproducible: fixed owner, order and times
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00Z' \
  -C "$stage" -czf "$out/$name.tar.gz" "$name"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "$out/$name.tar.gz"
