#!/usr/bin/env bash
# The main job, locally: the edge-jwt Worker under `wrangler dev` (workerd, local KV) on the
# built-in development policy of wrangler.toml. First run generates .dev.vars (JWT_SECRET,
# ADMIN_TOKEN, SNAPSHOT_KEY; never committed) and .dev/policy.json (the same policy with the secret, for the
# CLI), then prints how to mint a token and call the gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false
scripts/setup.sh
port=${PORT:-8787}

if [ ! -f .dev.vars ]; then
  echo "==> generating .dev.vars (development JWT_SECRET and ADMIN_TOKEN)" >&2
  {
    echo "JWT_SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
    echo "ADMIN_TOKEN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  } > .dev.vars
fi
# The revocation snapshot's MAC key (the authority publishes, every isolate verifies).
if ! grep -q '^SNAPSHOT_KEY=' .dev.vars; then
  echo "SNAPSHOT_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >> .dev.vars
fi
echo "==> cargo build (the edge-jwt CLI)" >&2
cargo build -q
mkdir -p .dev
python3 - <<'PY'
import json, tomllib
policy = json.loads(tomllib.load(open("wrangler.toml", "rb"))["vars"]["POLICY"])
secrets = dict(line.strip().split("=", 1) for line in open(".dev.vars") if "=" in line)
policy["secret"] = secrets["JWT_SECRET"]
json.dump(policy, open(".dev/policy.json", "w"), indent=2)
PY
admin=$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)
cat <<TXT

edge-jwt gateway on http://127.0.0.1:$port (development policy, local KV in .wrangler/state)

  # mint a track-4 (1 h) token with the CLI, then call the gateway with it
  TOKEN=\$(target/debug/edge-jwt issue --config .dev/policy.json --sub alice --track 4 --claim scope=read \\
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -s -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$port/hello
  # introspect, revoke it, and see it refused
  target/debug/edge-jwt introspect --url http://127.0.0.1:$port --admin-token $admin "\$TOKEN"
  curl -s -X POST -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$port/v1/logout
  curl -si -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$port/hello

TXT
exec node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "$port" --log-level info
