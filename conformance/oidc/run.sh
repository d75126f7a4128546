#!/usr/bin/env bash
# Starts a fresh Monban (debug build, temp SQLite and keys) and drives it with
# openid-client. Usage: conformance/oidc/run.sh   (from anywhere)
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

# Run a private copy, taken right after the build.
cp "$bin" "$work/monban"
bin="$work/monban"

export MONBAN_DATA__DIR="$work/data" MONBAN_KEYS__DIR="$work/keys"
unset MONBAN_DATABASE__URL MONBAN_CONFIG
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export MONBAN_SERVER__LISTEN="127.0.0.1:$port" MONBAN_SERVER__ISSUER="http://127.0.0.1:$port"
export MONBAN_LOG__LEVEL=warn
# Protocol conformance, not throttling (tests/it/ratelimit.rs covers that): no rate limits.
export MONBAN_RATELIMIT__ENABLED=false

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

export USER_EMAIL="conformance@example.com" USER_PASSWORD="conformance-Pass-2026!"
echo "$USER_PASSWORD" | "$bin" user add --email "$USER_EMAIL" --display-name "Conformance User" --password-stdin --json >/dev/null
web="$("$bin" client add --name "openid-client web" --kind confidential --first-party \
  --redirect-uri https://rp.example.com/cb --post-logout-redirect-uri https://rp.example.com/bye --json)"
export WEB_CLIENT_ID="$(echo "$web" | json_field client_id)" WEB_CLIENT_SECRET="$(echo "$web" | json_field client_secret)"
pub="$("$bin" client add --name "openid-client native" --kind public --first-party --redirect-uri https://rp.example.com/cb --json)"
export PUBLIC_CLIENT_ID="$(echo "$pub" | json_field client_id)"
svc="$("$bin" client add --name "openid-client service" --kind service --scopes "api:read api:write" --json)"
export SERVICE_CLIENT_ID="$(echo "$svc" | json_field client_id)" SERVICE_CLIENT_SECRET="$(echo "$svc" | json_field client_secret)"

"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
export MONBAN_ISSUER="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS "$MONBAN_ISSUER/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

cd "$here"
[ -d node_modules/openid-client ] || npm ci --no-audit --no-fund --loglevel=error
status=0
node run.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log ---"; tail -n 50 "$work/server.log"
fi
exit "$status"
