#!/usr/bin/env bash
# Glewlwyd peer for bench/run.sh.
#   setup.sh prepare WORK PORT      SQLite database (Debian's init script), keys, config
#   setup.sh configure WORK PORT    (server running) scope api:read, user "bench", one
#                                   confidential client "bench" (client_secret_basic via
#                                   its password), and three OIDC plugin instances,
#                                   rs256 (RSA-2048), es256 (P-256), eddsa (Ed25519), each
#                                   signing JWT access tokens with its algorithm; refresh
#                                   rolling on, introspection on, access tokens 300 s.
# Everything goes through Glewlwyd's admin API as the initial admin (admin/password).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cmd="$1" work="$2" port="$3"
secret="${BENCH_SECRET:-bench-secret-bench-secret-bench-secret}"
base="http://127.0.0.1:$port/api"

case "$cmd" in
prepare)
  mkdir -p "$work"
  rm -f "$work/glewlwyd.db"
  zcat /usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz | sqlite3 "$work/glewlwyd.db"
  # WAL, as Monban uses (the mode is stored in the file; Glewlwyd has no setting for it,
  # nor for `synchronous`, which stays at SQLite's default FULL where Monban uses NORMAL).
  sqlite3 "$work/glewlwyd.db" 'PRAGMA journal_mode=WAL;' >/dev/null
  sed -e "s#@PORT@#$port#" -e "s#@DB@#$work/glewlwyd.db#" -e "s#@LOG@#$work/glewlwyd.log#" \
    "$here/glewlwyd.conf.in" >"$work/glewlwyd.conf"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/rs256.key" 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/es256.key" 2>/dev/null
  openssl genpkey -algorithm ED25519 -out "$work/eddsa.key" 2>/dev/null
  for k in rs256 es256 eddsa; do openssl pkey -in "$work/$k.key" -pubout -out "$work/$k.pub"; done
  ;;
configure)
  jar="$work/admin.cookies"
  api() { # METHOD PATH JSON
    local out
    out="$(curl -sS -b "$jar" -c "$jar" -X "$1" -H 'Content-Type: application/json' \
      -w '\n%{http_code}' --data "$3" "$base$2")"
    case "${out##*$'\n'}" in 2*) ;; *) echo "glewlwyd $1 $2: $out" >&2; return 1 ;; esac
  }
  api POST /auth/ '{"username":"admin","password":"password"}'
  api POST /scope/ '{"name":"api:read","display_name":"api:read","description":"bench","password_required":false}'
  api POST /scope/ '{"name":"offline_access","display_name":"offline_access","description":"bench","password_required":false}'
  api POST /user/ "$(python3 -c 'import json,sys; print(json.dumps({"username":"bench","name":"Bench","password":sys.argv[1],"enabled":True,"scope":["openid","api:read","offline_access"]}))' "$secret")"
  api POST /client/ "$(python3 -c 'import json,sys; print(json.dumps({"client_id":"bench","name":"bench","confidential":True,"client_secret":sys.argv[1],"enabled":True,
    "redirect_uri":["http://127.0.0.1/cb"],"authorization_type":["code","client_credentials","refresh_token","password"],
    "scope":["api:read","openid","offline_access"],
    "token_endpoint_auth_method":["client_secret_basic"]}))' "$secret")"
  for k in rs256 es256 eddsa; do
    case $k in rs256) t=rsa ;; es256) t=ecdsa ;; eddsa) t=eddsa ;; esac
    api POST /mod/plugin/ "$(python3 - "$work" "$k" "$t" "$port" <<'PY'
import json, sys
work, name, jtype, port = sys.argv[1:]
print(json.dumps({"module": "oidc", "name": name, "display_name": name, "enabled": True,
  "parameters": {
    "iss": f"http://127.0.0.1:{port}/api/{name}", "jwt-type": jtype, "jwt-key-size": "256",
    "key": open(f"{work}/{name}.key").read(), "cert": open(f"{work}/{name}.pub").read(),
    "access-token-duration": 300, "refresh-token-duration": 2592000, "code-duration": 60,
    "refresh-token-rolling": True, "refresh-token-one-use": "always",
    "allow-non-oidc": True, "auth-type-code-enabled": True, "auth-type-token-enabled": False,
    "auth-type-id-token-enabled": True, "auth-type-none-enabled": False,
    "auth-type-password-enabled": True, "auth-type-client-enabled": True,
    "auth-type-refresh-enabled": True, "auth-type-device-enabled": False,
    "subject-type": "public", "scope": [], "claims": [], "additional-parameters": [],
    "jwks-show": True, "introspection-revocation-allowed": True,
    "introspection-revocation-allow-target-client": True,
    "pkce-allowed": True, "pkce-method-plain-allowed": False}}))
PY
)"
  done
  ;;
*) echo "usage: setup.sh prepare|configure WORK PORT" >&2; exit 2 ;;
esac
