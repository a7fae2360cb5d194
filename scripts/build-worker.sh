#!/usr/bin/env bash
# Builds the Worker into build/worker/: the Rust core compiled to wasm32 with the `worker`
# feature, wasm-bindgen (--target web, the exact version pinned in Cargo.lock), wasm-opt from npm
# binaryen (Debian's wasm-opt 108 breaks modules), and the JS shim. wrangler.toml runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/worker
wasm=target/wasm32-unknown-unknown/wasm-release/edge_jwt.wasm
echo "==> cargo build --profile wasm-release --target wasm32-unknown-unknown --features worker" >&2
cargo build --profile wasm-release --lib --target wasm32-unknown-unknown --no-default-features --features worker
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
