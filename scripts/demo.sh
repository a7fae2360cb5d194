#!/usr/bin/env bash
# The main job at this stage: build the CLI, make an ES256 key and a policy, mint a track-4
# token, verify it, inspect it, then show a rejection. Files go to ./demo/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
printf '==> cargo build --release\n' >&2
cargo build --release -q
bin=target/release/edge-jwt
mkdir -p demo
$bin keygen --alg ES256 --kid demo-1 > demo/key.json
python3 - <<'PY'
import json
key = json.load(open("demo/key.json"))
json.dump(key["private_jwk"], open("demo/private.jwk", "w"))
json.dump({"algorithms": ["ES256"], "keys": key["jwks"], "issuer": "https://id.demo", "audience": "api"},
          open("demo/policy.json", "w"), indent=2)
PY
echo "policy: demo/policy.json"; cat demo/policy.json; echo
token=$($bin issue --config demo/policy.json --key demo/private.jwk --sub alice --track 4 --claim scope="read write" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
echo; echo "token (track 4, 1 h): $token"
echo; echo "\$ edge-jwt verify --config demo/policy.json TOKEN"
$bin verify --config demo/policy.json "$token"
echo; echo "\$ edge-jwt inspect TOKEN"
$bin inspect "$token"
echo "\$ edge-jwt verify --config demo/policy.json TAMPERED   (one signature character changed)"
pos=$((${#token} - 10)); old=${token:$pos:1}; [ "$old" = A ] && new=B || new=A
$bin verify --config demo/policy.json "${token:0:$pos}$new${token:$((pos + 1))}" || echo "(exit $?)"
