#!/usr/bin/env bash
# Installs what building and testing edge-jwt needs, idempotently, saying what it does.
# Used by scripts/test.sh, scripts/demo.sh and CI (.ci/run), on a fresh machine or a warm one.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
if command -v rustup >/dev/null 2>&1; then
  installed=$(rustup component list --installed 2>/dev/null || true)
  for component in rustfmt clippy; do
    if ! grep -q "^$component" <<<"$installed"; then
      say "rustup component add $component"
      rustup component add "$component"
    fi
  done
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "rustup target add wasm32-unknown-unknown (the core also builds for wasm32)"
    rustup target add wasm32-unknown-unknown
  fi
  # The Worker's build (scripts/build-worker.sh) rebuilds the standard library (-Z build-std)
  # with the toolchain it pins, from that toolchain's rust-src.
  worker_toolchain=$(sed -n 's/^toolchain=//p' scripts/build-worker.sh)
  if ! rustup toolchain list | grep -q "^$worker_toolchain"; then
    say "rustup toolchain install $worker_toolchain (the Worker's build)"
    rustup toolchain install "$worker_toolchain" --profile minimal
  fi
  if ! rustup component list --installed --toolchain "$worker_toolchain" | grep -q '^rust-src'; then
    say "rustup component add rust-src --toolchain $worker_toolchain (the Worker's build rebuilds std)"
    rustup component add rust-src --toolchain "$worker_toolchain"
  fi
else
  echo "rustup not found: the Worker's build (scripts/build-worker.sh) needs it for -Z build-std" >&2
fi

for tool in node npm python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      say "apt-get install $tool (needed by the cross-library tests)"
      apt-get update -qq && apt-get install -y -qq nodejs npm python3 python3-pip >/dev/null
    else
      echo "$tool not found: the cross-library tests need Node >= 20 and Python 3" >&2
      exit 1
    fi
  fi
done

# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in Cargo.lock.
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
  say "cargo install wasm-bindgen-cli --version $wb_version (about 3 minutes, once)"
  # --locked first; its lockfile pins a webpki-roots release that crates.io has since yanked,
  # so fall back to a fresh resolution of the same wasm-bindgen-cli version.
  cargo install wasm-bindgen-cli --version "$wb_version" --locked -q 2>/dev/null \
    || cargo install wasm-bindgen-cli --version "$wb_version" -q
fi

# cargo-deny for the license, duplicate-version and source checks (deny.toml), at a pinned
# version so that its rules do not change under the project.
deny_version=0.20.2
if [ "$(cargo deny --version 2>/dev/null | awk '{print $2}')" != "$deny_version" ]; then
  say "cargo install cargo-deny --version $deny_version --locked (several minutes, once)"
  cargo install cargo-deny --version "$deny_version" --locked -q
fi

# Node tooling (wrangler, Miniflare/workerd, binaryen's wasm-opt, autocannon) from the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci (wrangler, miniflare, binaryen, autocannon)"
  npm ci --no-audit --no-fund --loglevel=error
fi
