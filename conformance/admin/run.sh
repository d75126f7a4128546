#!/usr/bin/env bash
# Starts a fresh Monban (debug build, temp SQLite and keys) and runs Schemathesis
# against the admin API's OpenAPI document: no server errors, and no response that
# contradicts the document (status codes, content types, schemas, headers, auth).
# One check is left out: positive_data_acceptance (ST202) expects every schema-valid
# body to be accepted, but some refusals are semantic and cannot be said in a schema
# (a common password, an e-mail already in use, a redirect URI that is not https, an
# unknown cursor); they are documented 400/409/422 responses instead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
bin="$(scripts/monban-bin.sh)"
[ -x "$bin" ] || { echo "could not build monban" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cp "$bin" "$work/monban"
bin="$work/monban"

# Schemathesis in a private virtualenv, pinned.
venv="$here/.venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi

export MONBAN_DATA__DIR="$work/data" MONBAN_KEYS__DIR="$work/keys"
unset MONBAN_DATABASE__URL MONBAN_CONFIG
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export MONBAN_SERVER__LISTEN="127.0.0.1:$port" MONBAN_SERVER__ISSUER="http://127.0.0.1:$port"
export MONBAN_LOG__LEVEL=warn
# Protocol conformance, not throttling (tests/it/ratelimit.rs covers that): no rate limits.
export MONBAN_RATELIMIT__ENABLED=false
# Fast hashing: the fuzzer creates many users with passwords.
export MONBAN_PASSWORD__ARGON2_MEMORY_KIB=1024 MONBAN_PASSWORD__ARGON2_ITERATIONS=1

token="$("$bin" admin-token create --name schemathesis --scopes 'admin:*' --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
for i in 1 2 3; do
  echo "seed-user-Pass-$i!" | "$bin" user add --email "seed$i@example.com" --password-stdin >/dev/null
done

"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

status=0
"$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$base/admin/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
  --seed 20261121 \
  --workers 1 \
  --request-timeout 30 \
  --suppress-health-check all \
  --warnings off || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log ---"; tail -n 50 "$work/server.log"
fi
exit "$status"
