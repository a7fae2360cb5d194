#!/usr/bin/env bash
# Cross-library tests: edge-jwt against panva/jose (Node) and PyJWT (Python), every algorithm.
#
# Usage (from a fresh clone, after `cargo build`):
#   bash tests/interop/run.sh
# EDGE_JWT names the binary to test (default: target/debug/edge-jwt under the repo root).
# Installs the pinned jose (npm ci, package-lock.json) and the pinned Python packages
# (requirements.txt), generates one edge-jwt key per algorithm, then runs both suites.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

EDGE_JWT="${EDGE_JWT:-$root/target/debug/edge-jwt}"
case "$EDGE_JWT" in
  /*) ;;
  *) EDGE_JWT="$PWD/$EDGE_JWT" ;;
esac
if [[ ! -x "$EDGE_JWT" ]]; then
  echo "run.sh: no edge-jwt binary at $EDGE_JWT (run cargo build first, or set EDGE_JWT)" >&2
  exit 1
fi
export EDGE_JWT

cd "$here"

echo "== installing pinned jose and PyJWT"
npm ci --no-audit --no-fund --loglevel=error
PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check -r requirements.txt

# One `edge-jwt keygen` per algorithm, shared by both suites. RSA generation is slow in a debug
# build, so the keys are made here once and in parallel rather than in each suite.
EDGE_JWT_KEYS="$(mktemp -d "${TMPDIR:-/tmp}/edge-jwt-interop-keys.XXXXXX")"
export EDGE_JWT_KEYS
trap 'rm -rf "$EDGE_JWT_KEYS"' EXIT
echo "== generating edge-jwt keys"
pids=()
for alg in HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA; do
  "$EDGE_JWT" keygen --alg "$alg" --kid "edge-$alg" >"$EDGE_JWT_KEYS/$alg.json" &
  pids+=("$!")
done
for pid in "${pids[@]}"; do
  wait "$pid"
done

echo "== jose $(node -p 'require("./node_modules/jose/package.json").version') (node $(node --version))"
node --test interop.mjs

echo "== PyJWT $(python3 -c 'import jwt; print(jwt.__version__)') (python $(python3 -c 'import platform; print(platform.python_version())'))"
python3 -m pytest -q -p no:cacheprovider test_interop.py
