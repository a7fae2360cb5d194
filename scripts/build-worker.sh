#!/usr/bin/env bash
# Builds the Worker into build/worker/: the Rust core compiled to wasm32 with the `worker`
# feature, wasm-bindgen (--target web, the exact version pinned in Cargo.lock), wasm-opt from npm
# binaryen (Debian's wasm-opt 108 breaks modules), and the JS shim. wrangler.toml runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/worker
wasm=${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/edge_jwt.wasm
# The standard library is rebuilt for the Worker (-Z build-std, with the profile's opt-level "z"
# and std's `optimize_for_size`), and a panic aborts at once (-C panic=immediate-abort): no panic
# messages, locations or formatting in the module. The library never panics by policy (clippy
# denies unwrap, expect and panic), and a panic traps the module either way. These are unstable
# flags: the pinned stable toolchain below with RUSTC_BOOTSTRAP=1 (as Firefox builds), and its
# rust-src (scripts/setup.sh installs both). -19.5 KB gzip, and -8.2 KB for optimize_for_size
# (benches/README.md, 2026-12-06).
toolchain=1.95.0
# No source locations either (-Z location-detail=none: only a panic would print them; -1.2 KB).
# Legacy symbol mangling, as on stable (RUSTC_BOOTSTRAP=1 would switch to v0): a Worker test reads
# the crates in the unoptimised module's symbol names (tests/worker/webcrypto.test.mjs).
flags="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Csymbol-mangling-version=legacy"
echo "==> cargo +$toolchain build -Z build-std --profile wasm-release --target wasm32-unknown-unknown --features worker" >&2
RUSTC_BOOTSTRAP=1 RUSTFLAGS="${RUSTFLAGS:-} $flags" \
  cargo "+$toolchain" build -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size \
  --profile wasm-release --lib --target wasm32-unknown-unknown --no-default-features --features worker
rm -rf "$out" && mkdir -p "$out/pkg"
echo "==> wasm-bindgen --target web" >&2
wasm-bindgen --target web --no-typescript --out-dir "$out/pkg" "$wasm"
# -ocimfs=0 (--one-caller-inline-max-function-size): no inlining of functions with one caller;
# 26.6 KB less gzip at no CPU difference measured in workerd (benches/README.md, 2026-12-06).
echo "==> wasm-opt -O3 -ocimfs=0 (binaryen from npm)" >&2
node_modules/.bin/wasm-opt -O3 -ocimfs=0 --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/pkg/edge_jwt_bg.wasm" -o "$out/pkg/edge_jwt_bg.wasm"
cp worker/shim.mjs "$out/shim.mjs"
printf 'worker wasm: %s bytes raw, %s bytes gzip\n' "$(wc -c <"$out/pkg/edge_jwt_bg.wasm")" \
  "$(gzip -9c "$out/pkg/edge_jwt_bg.wasm" | wc -c)" >&2
