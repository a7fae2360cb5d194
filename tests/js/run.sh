#!/usr/bin/env bash
# The npm package's tests, against the package as a consumer installs it:
#   1. build js/dist/ (node js/scripts/build.mjs: cargo wasm build, wasm-bindgen, wasm-opt, esbuild)
#   2. `npm pack` it, and install the tarball into a scratch project under a temporary directory
#      (tests/js/consumer/: pinned jose, hono, @hono/node-server, express, redis, ioredis, deno)
#   3. run the consumer tests there with node's test runner: ESM and CommonJS imports, Deno (the
#      `deno` npm package's binary), every error code, tokens from jose and `edge-jwt issue`,
#      revocation shared through a real redis-server (node-redis and ioredis), Hono and Express
#      middleware over real HTTP, the shared case table (tests/cases/*.json) through the Worker
#      in workerd, Hono and Express (cases.test.mjs), the TypeScript declarations (tsc --noEmit
#      over js/examples/), the host's signature checks against the core's own on one corpus of
#      hostile signatures (signature-corpus.mjs: node:crypto here, WebCrypto in workerd)
#
# Usage (after `cargo build`, as CI runs it): bash tests/js/run.sh [TEST FILE…]
# (file names as in tests/js/consumer/, e.g. providers.test.mjs; default: every test)
# EDGE_JWT names the CLI (default target/debug/edge-jwt; built when missing).
# EDGE_JWT_SKIP_BUILD=1 reuses an existing js/dist/. Installs Debian's redis-server when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
say() { printf '==> %s\n' "$*" >&2; }

EDGE_JWT="${EDGE_JWT:-$root/target/debug/edge-jwt}"
case "$EDGE_JWT" in /*) ;; *) EDGE_JWT="$PWD/$EDGE_JWT" ;; esac
if [[ ! -x "$EDGE_JWT" ]]; then
  say "cargo build --bin edge-jwt (the CLI mints tokens and gives the core's verdicts)"
  (cd "$root" && cargo build --bin edge-jwt)
fi
export EDGE_JWT

if ! command -v redis-server >/dev/null 2>&1 && [[ ! -x /usr/bin/redis-server ]]; then
  if command -v apt-get >/dev/null 2>&1; then
    say "apt-get install redis-server (the revocation tests share a real Redis)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1; then
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
  else
    echo "redis-server is missing and apt-get is not available: install Redis to run these tests" >&2
    exit 1
  fi
fi
# Debian's package starts a system instance on 6379; the tests start their own on a free
# loopback port and never touch that one.

cd "$root/js"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "npm ci in js/ (esbuild, typescript, hono, express)"
  npm ci --no-audit --no-fund --loglevel=error
fi
if [[ ! -f "$root/node_modules/.bin/wasm-opt" ]]; then
  say "npm ci at the root (binaryen's wasm-opt)"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [[ "${EDGE_JWT_SKIP_BUILD:-}" != 1 ]]; then
  say "building the package (js/scripts/build.mjs)"
  node scripts/build.mjs
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/edge-jwt-npm-consumer.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

say "npm pack"
tarball="$(npm pack --silent --pack-destination "$scratch")"
tarball="$scratch/$tarball"
printf 'package: %s (%s bytes)\n' "$(basename "$tarball")" "$(wc -c <"$tarball")" >&2

say "scratch consumer project in $scratch/app"
mkdir -p "$scratch/app"
cp "$here/consumer/package.json" "$here/consumer/package-lock.json" "$scratch/app/"
cp "$here"/consumer/*.mjs "$here"/consumer/*.cjs "$scratch/app/"
cp -r "$here/consumer/deno" "$here/consumer/workerd" "$scratch/app/"
mkdir -p "$scratch/app/types"
cp "$root"/js/examples/*.ts "$root"/js/examples/*.cts "$scratch/app/types/"
cp "$here/consumer/tsconfig.json" "$here/consumer/tsconfig.cjs.json" "$scratch/app/"
cd "$scratch/app"
npm ci --no-audit --no-fund --loglevel=error
npm install --no-save --no-audit --no-fund --loglevel=error "$tarball"
export EDGE_JWT_TSC="$root/js/node_modules/.bin/tsc" EDGE_JWT_ROOT="$root"

say "consumer tests (node --test)"
if [[ $# -gt 0 ]]; then
  node --test --test-concurrency=1 "$@"
else
  node --test --test-concurrency=1 ./*.test.mjs ./*.test.cjs
fi
