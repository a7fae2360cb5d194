#!/usr/bin/env bash
# The introspection page (js/page/) and the package's browser build (WebCrypto signature checks
# against the core's own) in real headless Chromium. Installs what it needs and says so:
# Debian's chromium (apt-get, never a downloaded browser), playwright-core from the lockfile here,
# the npm package's build (js/dist/) when it is missing, and the CLI that mints the test tokens.
# Screenshots go to /tmp/page-*.png.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian's chromium (apt-get)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi

echo "==> npm ci (tests/page: playwright-core)" >&2
(cd tests/page && npm ci --no-audit --no-fund)

if [ ! -f js/dist/browser.mjs ] || [ ! -f js/dist/edge_jwt_bg.wasm ]; then
  echo "==> building the npm package (js/dist/)" >&2
  (cd js && npm ci --no-audit --no-fund && node scripts/build.mjs)
fi

if [ ! -x target/debug/edge-jwt ]; then
  echo "==> cargo build (the edge-jwt CLI mints the test tokens)" >&2
  cargo build --bin edge-jwt
fi

echo "==> node --test tests/page/" >&2
node --test tests/page/
