#!/usr/bin/env bash
# Starts a fresh Monban (debug build, temp SQLite and keys) and drives it with
# pysaml2 as a strict SAML service provider. Usage: conformance/saml/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
bin="$(scripts/monban-bin.sh)"
[ -x "$bin" ] || { echo "could not build monban" >&2; exit 1; }

# pysaml2 (pinned) in a venv; it shells out to Debian's xmlsec1.
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/.requirements"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  # python3-saml only for its bundled SAML XSDs (metadata schema validation).
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$here/requirements-schemas.txt"
  cp "$here/requirements.txt" "$venv/.requirements"
fi
py="$venv/bin/python"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# A private copy: a concurrent build in another checkout sharing CARGO_TARGET_DIR
# must not swap the binary under the run.
cp "$bin" "$work/monban"
bin="$work/monban"

export MONBAN_DATA__DIR="$work/data" MONBAN_KEYS__DIR="$work/keys"
unset MONBAN_DATABASE__URL MONBAN_CONFIG
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export MONBAN_SERVER__LISTEN="127.0.0.1:$port" MONBAN_SERVER__ISSUER="http://127.0.0.1:$port"
export MONBAN_LOG__LEVEL=warn
# Protocol conformance, not throttling (tests/it/ratelimit.rs covers that): no rate limits.
export MONBAN_RATELIMIT__ENABLED=false

export USER_EMAIL="conformance@example.com" USER_PASSWORD="conformance-Pass-2026!"
echo "$USER_PASSWORD" | "$bin" user add --email "$USER_EMAIL" --display-name "Conformance User" --password-stdin --json >/dev/null
"$py" "$here/run.py" setup "$work"
"$bin" saml-sp add --metadata "$work/sp1.xml" --name "pysaml2 strict" --name-id-format persistent --json >/dev/null
"$bin" saml-sp add --metadata "$work/sp3.xml" --name "pysaml2 encrypted" --encrypt-assertions --json >/dev/null
"$bin" saml-sp add --metadata "$work/sp2.xml" --name "pysaml2 transient" --name-id-format transient --json >/dev/null

"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
export MONBAN="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS "$MONBAN/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

status=0
"$py" "$here/run.py" test "$work" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log ---"; tail -n 50 "$work/server.log"
fi
exit "$status"
