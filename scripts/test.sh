#!/usr/bin/env bash
# Every check of the project, the one command CI runs (see README "Set-up").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy --all-targets -- -D warnings (native, and the Worker on wasm32)"
cargo clippy --all-targets -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --no-default-features --features worker -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --no-default-features --features wasm -- -D warnings
step "cargo deny check licenses bans sources (deny.toml; advisories need GitHub, see there)"
cargo deny check licenses bans sources
step "cargo build (CLI)"
cargo build
step "cargo test (unit, RFC vectors, attacks, properties, CLI)"
cargo test
step "cargo build --target wasm32-unknown-unknown (core without the CLI)"
cargo build --lib --no-default-features --target wasm32-unknown-unknown
step "cross-library tests (panva/jose, PyJWT)"
EDGE_JWT="$PWD/target/debug/edge-jwt" bash tests/interop/run.sh
step "Worker bundle: wrangler deploy --dry-run (builds through scripts/build-worker.sh)"
export WRANGLER_SEND_METRICS=false
node_modules/.bin/wrangler deploy --dry-run --outdir build/dist 2>&1 | grep -v -e '^\[custom build\]' -e '^$'
step "Worker integration tests in workerd (Miniflare)"
node --test --test-concurrency=1 tests/worker/
step "npm package: built, packed, installed and tested as a consumer (Node ESM/CJS, Deno, Redis, Hono, Express, tsc)"
bash tests/js/run.sh
step "introspection page in headless Chromium"
bash tests/page/run.sh
