#!/usr/bin/env bash
# The npm package against the JavaScript JWT libraries, in the team's peer benchmark
# (../shared/bench/peers, used in place, never copied), plus the package's wasm size and cold start.
#   benches/npm/run.sh                # full run, ~15 min: benches/npm/results.{json,md}, cold-start.json
#   benches/npm/run.sh --quick        # smoke test (any extra options go to bench.mjs)
# Needs js/dist/ (cd js && npm ci && node scripts/build.mjs). Run it on a quiet machine: check
# `uptime` and that no other benchmark or fuzzer is running.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEERS="$ROOT/../shared/bench/peers"
OUT="$ROOT/benches/npm"

[ -f "$ROOT/js/dist/node.mjs" ] || { echo "js/dist/ is missing: cd js && npm ci && node scripts/build.mjs" >&2; exit 2; }
[ -f "$PEERS/bench.mjs" ] || { echo "the peer benchmark is missing at $PEERS" >&2; exit 2; }

# A snapshot of the build, so that a rebuild of js/dist/ during the run cannot mix two builds.
SNAP="$(mktemp -d)/dist"
trap 'rm -rf "$(dirname "$SNAP")"' EXIT
cp -r "$ROOT/js/dist" "$SNAP"
export EDGE_JWT_DIST="$SNAP"
echo "==> js/dist snapshot: $SNAP (wasm sha256 $(sha256sum "$SNAP/edge_jwt_bg.wasm" | cut -c1-12))" >&2
echo "==> load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
(cd "$PEERS" && npm ci --no-audit --no-fund >&2)
(cd "$PEERS" && node bench.mjs --contender "$OUT/edge-jwt-adapter.mjs" --out "$OUT/results.json" "$@") | tee "$OUT/results.md"
node "$OUT/cold-start.mjs" --runs 10 --out "$OUT/cold-start.json" | tail -n 13
