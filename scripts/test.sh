#!/usr/bin/env bash
# Every check of the project, the one command CI runs (see README "Set-up").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
step "cargo build (CLI)"
cargo build
step "cargo test (unit, RFC vectors, attacks, properties, CLI)"
cargo test
step "cargo build --target wasm32-unknown-unknown (core without the CLI)"
cargo build --lib --release --no-default-features --target wasm32-unknown-unknown
wasm=target/wasm32-unknown-unknown/release/edge_jwt.wasm
printf 'wasm32 build: %s bytes raw, %s bytes gzip\n' "$(wc -c <"$wasm")" "$(gzip -9c "$wasm" | wc -c)"
step "cross-library tests (panva/jose, PyJWT)"
EDGE_JWT="$PWD/target/debug/edge-jwt" bash tests/interop/run.sh
