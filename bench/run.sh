#!/usr/bin/env bash
# Monban benchmark: one command. See README.md, "Benchmarks".
#
# Builds Monban (release), its ceilings bench and helper examples; installs the peers
# (npm oidc-provider from bench/peers/node-oidc-provider/package-lock.json, Debian's
# glewlwyd) and wrk; starts each system alone on loopback and loads it with the same
# tool and settings per scenario; measures this machine's ceilings; writes
# bench/results/<date>-<host>.md.
#
# Environment:
#   QUICK=1          smoke run: 5 s per scenario, 1 s ceilings, 10k sessions
#   DURATION=15      seconds per wrk/driver scenario
#   THREADS=2        wrk threads            CONNS=64   connections (wrk and driver)
#   SYSTEMS="monban node-oidc-provider glewlwyd"   which systems to load
#   SESSIONS=100000  sessions seeded for the memory measurement (0: skip)
#   SOAK=SECONDS     also run a soak on Monban (client_credentials ES256 at 80% of the
#                    measured peak with fixed connections; errors and RSS growth)
#   BENCH_RESULTS    results file (default bench/results/<date>-<host>.md)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

QUICK="${QUICK:-0}"
if [ "$QUICK" = 1 ]; then
  DURATION="${DURATION:-5}"; CEILING_SECS="${CEILING_SECS:-1}"; SESSIONS="${SESSIONS:-10000}"
else
  DURATION="${DURATION:-15}"; CEILING_SECS="${CEILING_SECS:-3}"; SESSIONS="${SESSIONS:-100000}"
fi
THREADS="${THREADS:-2}"
CONNS="${CONNS:-64}"
SYSTEMS="${SYSTEMS:-monban node-oidc-provider glewlwyd}"
SOAK="${SOAK:-0}"
SECRET="bench-secret-bench-secret-bench-secret"
export CEILING_SECS

log() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- dependencies
need_pkgs=()
command -v wrk >/dev/null || need_pkgs+=(wrk)
command -v glewlwyd >/dev/null || need_pkgs+=(glewlwyd)
command -v sqlite3 >/dev/null || need_pkgs+=(sqlite3)
command -v openssl >/dev/null || need_pkgs+=(openssl)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v node >/dev/null || need_pkgs+=(nodejs npm)
command -v lscpu >/dev/null || need_pkgs+=(util-linux)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
scripts/install-deps.sh >/dev/null

# ---------------------------------------------------------------- builds
target="${CARGO_TARGET_DIR:-$root/target}"
log "building Monban (release), examples and the ceilings bench"
# One invocation, so that the library is compiled once (examples bring the
# dev-dependencies' features, e.g. reqwest's cookie support; nothing on the server's
# paths changes).
cargo build --release --locked --bin monban --example hello --example bench_driver --example seed_sessions
cargo bench --locked --bench ceilings --no-run

work="$root/bench/work"
rm -rf "$work"; mkdir -p "$work/bin"
# Private copies: another checkout sharing the target dir may rebuild meanwhile.
cp "$target/release/monban" "$target/release/examples/hello" \
  "$target/release/examples/bench_driver" "$target/release/examples/seed_sessions" "$work/bin/"
bin="$work/bin"

log "installing node oidc-provider (npm ci)"
(cd "$here/peers/node-oidc-provider" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

# ---------------------------------------------------------------- helpers
results="$work/results.tsv"   # system scenario json peak_rss_kb
: >"$results"
server_pid=""
sampler_pid=""

cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_http() { # URL
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "not answering: $1" >&2; return 1
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

# Samples the server's RSS every 100 ms into $work/rss.samples until stopped.
start_sampler() {
  : >"$work/rss.samples"
  ( while kill -0 "$server_pid" 2>/dev/null; do rss_kb "$server_pid" >>"$work/rss.samples" 2>/dev/null || true; sleep 0.1; done ) &
  sampler_pid=$!
}
stop_sampler() {
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
  sort -n "$work/rss.samples" | tail -n1
}

record() { # SYSTEM SCENARIO JSON PEAK_KB
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$results"
  printf '   %-20s %-14s %s peak_rss_kb=%s\n' "$1" "$2" "$3" "${4:-}" >&2
}

na() { # SYSTEM SCENARIO REASON
  record "$1" "$2" "{\"na\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$3")}" ""
}

# run_wrk SYSTEM SCENARIO URL [VAR=value ...]: wrk with bench/wrk/report.lua.
run_wrk() {
  local system="$1" scenario="$2" url="$3"; shift 3
  start_sampler
  local out
  out="$(env BENCH_THREADS="$THREADS" "$@" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency \
    -s "$here/wrk/report.lua" "$url" 2>&1 || true)"
  local peak; peak="$(stop_sampler)"
  echo "$out" >"$work/wrk-$system-$scenario.txt"
  local json; json="$(echo "$out" | grep '^{' | tail -n1)"
  [ -n "$json" ] || json='{"failed":"wrk printed no report"}'
  record "$system" "$scenario" "$json" "$peak"
}

basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# ---------------------------------------------------------------- ceilings
# Other work on the machine skews every figure: note it (1/5/15-min load averages and
# the busiest processes) before measuring.
{
  echo "load averages before measuring: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "(busiest processes then: $(ps -eo pcpu=,comm= --sort=-pcpu | head -n4 | awk '{printf "%s %s%%; ", $2, $1}'))"
} >"$work/load.txt"
log "ceilings (cargo bench --bench ceilings, ${CEILING_SECS}s per measurement)"
cargo bench --locked --bench ceilings 2>/dev/null | tee "$work/ceilings.txt" >&2

# ---------------------------------------------------------------- plain actix hello
log "plain actix hello"
HELLO_LISTEN=127.0.0.1:18083 "$bin/hello" >"$work/hello.log" 2>&1 &
server_pid=$!
wait_http http://127.0.0.1:18083/
run_wrk hello hello http://127.0.0.1:18083/
echo "$(hwm_kb "$server_pid")" >"$work/hello.hwm"
stop_server

# ---------------------------------------------------------------- Monban
start_monban() { # DATA_DIR
  export MONBAN_DATA__DIR="$1/data" MONBAN_KEYS__DIR="$1/keys"
  export MONBAN_SERVER__LISTEN=127.0.0.1:18080 MONBAN_SERVER__ISSUER=http://127.0.0.1:18080
  export MONBAN_LOG__LEVEL=warn MONBAN_RATELIMIT__ENABLED=false
  unset MONBAN_DATABASE__URL MONBAN_CONFIG
}

if [[ " $SYSTEMS " == *" monban "* ]]; then
  log "Monban"
  m="$work/monban"; mkdir -p "$m"
  start_monban "$m"
  mb=http://127.0.0.1:18080
  user_pw="bench-Pass-2026-monban!"
  # Clients: one service client per signing algorithm, one web client (code flow,
  # refresh rotation, introspection).
  for alg in RS256 ES256 EdDSA; do
    lc="$(echo "$alg" | tr 'A-Z' 'a-z')"
    "$bin/monban" client add --name "svc-$lc" --client-id "svc-$lc" --kind service \
      --scopes "api:read" --alg "$alg" --json >"$m/svc-$lc.json"
  done
  "$bin/monban" client add --name web --client-id web --kind confidential --first-party \
    --redirect-uri http://127.0.0.1/cb --json >"$m/web.json"
  web_secret="$(json_field client_secret <"$m/web.json")"
  # Users: pwd users sign in with a password only; mfa users get TOTP below.
  n_pwd=$(( CONNS + 8 ))   # one browser per user at a time: enough for every connection
  n_mfa=$(( DURATION * 20 )); [ "$n_mfa" -lt 100 ] && n_mfa=100
  : >"$m/users-pwd.txt"; : >"$m/users-mfa-in.txt"
  for i in $(seq 1 "$n_pwd"); do echo "pwd$i@bench.example $user_pw" >>"$m/users-pwd.txt"; done
  for i in $(seq 1 "$n_mfa"); do echo "mfa$i@bench.example $user_pw" >>"$m/users-mfa-in.txt"; done
  cat "$m/users-pwd.txt" "$m/users-mfa-in.txt" | awk '{print $1}' |
    xargs -P 2 -I{} sh -c "echo '$user_pw' | '$bin/monban' user add --email {} --password-stdin >/dev/null"

  "$bin/monban" serve >"$m/server.log" 2>&1 &
  server_pid=$!
  wait_http "$mb/readyz"
  sleep 1
  echo "$(rss_kb "$server_pid")" >"$m/idle.rss"

  export BENCH_BASE="$mb" BENCH_CLIENT_ID=web BENCH_CLIENT_SECRET="$web_secret" \
    BENCH_REDIRECT_URI=http://127.0.0.1/cb
  log "Monban: set-up (TOTP enrolment of $n_mfa users, refresh-token pool)"
  BENCH_CONNS=8 "$bin/bench_driver" enrol-mfa "$m/users-mfa-in.txt" "$m/users-mfa.txt"
  BENCH_CONNS=8 BENCH_USER="pwd1@bench.example" BENCH_PASSWORD="$user_pw" \
    "$bin/bench_driver" refresh-pool $(( CONNS * 2 + 1 )) "$m/refresh-all.txt"
  head -n1 "$m/refresh-all.txt" >"$m/refresh-introspect.txt"
  tail -n +2 "$m/refresh-all.txt" >"$m/refresh.txt"

  run_wrk monban discovery "$mb/.well-known/openid-configuration"
  run_wrk monban jwks "$mb/.well-known/jwks.json"
  for alg in rs256 es256 eddsa; do
    sec="$(json_field client_secret <"$m/svc-$alg.json")"
    run_wrk monban "cc_$alg" "$mb/token" BENCH_METHOD=POST \
      BENCH_BODY="grant_type=client_credentials&scope=api:read" BENCH_AUTH="$(basic "svc-$alg" "$sec")"
  done
  rs_secret="$(json_field client_secret <"$m/svc-rs256.json")"
  at="$(curl -fsS -u "svc-rs256:$rs_secret" -d grant_type=client_credentials -d scope=api:read "$mb/token" | json_field access_token)"
  run_wrk monban introspect_at "$mb/introspect" BENCH_METHOD=POST BENCH_BODY="token=$at" \
    BENCH_AUTH="$(basic web "$web_secret")"
  run_wrk monban introspect_rt "$mb/introspect" BENCH_METHOD=POST \
    BENCH_BODY="token=$(cat "$m/refresh-introspect.txt")" BENCH_AUTH="$(basic web "$web_secret")"
  run_wrk monban refresh "$mb/token" BENCH_METHOD=POST BENCH_BODY="grant_type=refresh_token" \
    BENCH_AUTH="$(basic web "$web_secret")" BENCH_TOKENS="$m/refresh.txt"
  for mode in pwd totp; do
    users="$m/users-pwd.txt"; [ "$mode" = totp ] && users="$m/users-mfa.txt"
    start_sampler
    out="$(BENCH_CONNS="$CONNS" BENCH_SECS="$DURATION" "$bin/bench_driver" signin "$mode" "$users" 2>"$work/driver-$mode.err" || true)"
    peak="$(stop_sampler)"
    [ -n "$out" ] || out="{\"failed\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$(tail -c 300 "$work/driver-$mode.err")")}"
    record monban "signin_$mode" "$out" "$peak"
  done
  echo "$(hwm_kb "$server_pid")" >"$m/hwm"

  if [ "$SOAK" -gt 0 ]; then
    log "Monban: soak, ${SOAK}s of client_credentials ES256 at 80% of the measured peak"
    peak_rps="$(awk -F'\t' '$1=="monban" && $2=="cc_es256" {print $3}' "$results" | json_field rps)"
    rate="$(python3 -c "print(max(1,int(float('$peak_rps')*0.8)))")"
    es_secret="$(json_field client_secret <"$m/svc-es256.json")"
    rss_before="$(rss_kb "$server_pid")"
    # wrk has no rate option: a fixed connection count with a per-request delay
    # (BENCH_DELAY_MS) stands in for a constant rate (wrk2 is not packaged in Debian).
    delay_ms="$(python3 -c "print(max(0, int(1000*$CONNS/$rate) - 1))")"
    d="$DURATION"; DURATION="$SOAK"
    run_wrk monban soak_es256 "$mb/token" BENCH_METHOD=POST BENCH_DELAY_MS="$delay_ms" \
      BENCH_BODY="grant_type=client_credentials&scope=api:read" BENCH_AUTH="$(basic svc-es256 "$es_secret")"
    DURATION="$d"
    printf '%s\t%s\t%s\n' "$rss_before" "$(rss_kb "$server_pid")" "$rate" >"$m/soak.rss"
  fi
  stop_server

  if [ "$SESSIONS" -gt 0 ]; then
    log "Monban: memory with $SESSIONS active sessions"
    s="$work/monban-sessions"; mkdir -p "$s"
    cp -r "$m/data" "$m/keys" "$s/"
    start_monban "$s"
    "$bin/monban" serve >"$s/server.log" 2>&1 &
    server_pid=$!
    wait_http "$mb/readyz"
    sleep 1
    idle="$(rss_kb "$server_pid")"
    "$bin/seed_sessions" "pwd1@bench.example" "$SESSIONS" >"$s/tokens.txt"
    # Warm-up with the same number of requests carrying an unknown cookie: separates
    # what request handling itself grows (allocator, buffers) from what sessions cost.
    python3 -c "
import secrets,sys
for _ in range(int(sys.argv[1])): print(secrets.token_urlsafe(32))" "$SESSIONS" >"$s/unknown.txt"
    BENCH_CONNS=32 "$bin/bench_driver" touch-sessions "$s/unknown.txt" >"$s/unknown.json"
    after_unknown="$(rss_kb "$server_pid")"
    BENCH_CONNS=32 "$bin/bench_driver" touch-sessions "$s/tokens.txt" >"$s/touch.json"
    after="$(rss_kb "$server_pid")"
    db_kb="$(du -k "$s/data" | tail -n1 | awk '{print $1}')"
    printf '{"sessions":%s,"idle_kb":%s,"after_unknown_kb":%s,"after_sessions_kb":%s,"touch":%s,"unknown":%s,"data_dir_kb":%s}\n' \
      "$SESSIONS" "$idle" "$after_unknown" "$after" "$(cat "$s/touch.json")" "$(cat "$s/unknown.json")" "$db_kb" >"$work/sessions.json"
    cat "$work/sessions.json" >&2
    stop_server
  fi
fi

# ---------------------------------------------------------------- node oidc-provider
if [[ " $SYSTEMS " == *" node-oidc-provider "* ]]; then
  log "node oidc-provider"
  nb=http://127.0.0.1:18081
  (cd "$here/peers/node-oidc-provider" && PORT=18081 BENCH_SECRET="$SECRET" \
    MINT_REFRESH=$(( CONNS * 2 + 1 )) MINT_OUT="$work/node-refresh-all.txt" \
    exec node server.mjs >"$work/node.log" 2>&1) &
  server_pid=$!
  wait_http "$nb/.well-known/openid-configuration"
  sleep 1
  echo "$(rss_kb "$server_pid")" >"$work/node.idle.rss"
  head -n1 "$work/node-refresh-all.txt" >"$work/node-refresh-introspect.txt"
  tail -n +2 "$work/node-refresh-all.txt" >"$work/node-refresh.txt"
  run_wrk node-oidc-provider discovery "$nb/.well-known/openid-configuration"
  run_wrk node-oidc-provider jwks "$nb/jwks"
  for alg in rs256 es256 eddsa; do
    run_wrk node-oidc-provider "cc_$alg" "$nb/token" BENCH_METHOD=POST \
      BENCH_BODY="grant_type=client_credentials&scope=api:read" BENCH_AUTH="$(basic "svc-$alg" "$SECRET")"
  done
  na node-oidc-provider introspect_at "oidc-provider refuses to introspect JWT access tokens (unsupported_token_type)"
  run_wrk node-oidc-provider introspect_rt "$nb/token/introspection" BENCH_METHOD=POST \
    BENCH_BODY="token=$(cat "$work/node-refresh-introspect.txt")" BENCH_AUTH="$(basic web "$SECRET")"
  run_wrk node-oidc-provider refresh "$nb/token" BENCH_METHOD=POST \
    BENCH_BODY="grant_type=refresh_token&resource=urn:bench:api" BENCH_AUTH="$(basic web "$SECRET")" \
    BENCH_TOKENS="$work/node-refresh.txt"
  na node-oidc-provider signin_pwd "no password sign-in to compare: its only built-in login (devInteractions) accepts any password unhashed"
  na node-oidc-provider signin_totp "no TOTP sign-in in oidc-provider"
  echo "$(hwm_kb "$server_pid")" >"$work/node.hwm"
  stop_server
fi

# ---------------------------------------------------------------- glewlwyd
if [[ " $SYSTEMS " == *" glewlwyd "* ]]; then
  log "glewlwyd"
  g="$work/glewlwyd"; gb=http://127.0.0.1:18082/api
  BENCH_SECRET="$SECRET" "$here/peers/glewlwyd/setup.sh" prepare "$g" 18082
  glewlwyd -c "$g/glewlwyd.conf" >"$g/stdout.log" 2>&1 &
  server_pid=$!
  wait_http "$gb/rs256/jwks" 2>/dev/null || wait_http "http://127.0.0.1:18082/api/scope/" 2>/dev/null || sleep 1
  BENCH_SECRET="$SECRET" "$here/peers/glewlwyd/setup.sh" configure "$g" 18082
  wait_http "$gb/rs256/jwks"
  # Refresh-token pool from the password grant (the code flow needs Glewlwyd's login
  # web app; the tokens are the same kind).
  for _ in $(seq 1 $(( CONNS * 2 + 1 ))); do
    curl -fsS -u "bench:$SECRET" -d grant_type=password -d username=bench -d "password=$SECRET" \
      -d "scope=openid offline_access" "$gb/rs256/token" | json_field refresh_token
  done >"$g/refresh-all.txt"
  head -n1 "$g/refresh-all.txt" >"$g/refresh-introspect.txt"
  tail -n +2 "$g/refresh-all.txt" >"$g/refresh.txt"
  sleep 1
  echo "$(rss_kb "$server_pid")" >"$g/idle.rss"
  run_wrk glewlwyd discovery "$gb/rs256/.well-known/openid-configuration"
  run_wrk glewlwyd jwks "$gb/rs256/jwks"
  for alg in rs256 es256 eddsa; do
    run_wrk glewlwyd "cc_$alg" "$gb/$alg/token" BENCH_METHOD=POST \
      BENCH_BODY="grant_type=client_credentials&scope=api:read" BENCH_AUTH="$(basic bench "$SECRET")"
  done
  at="$(curl -fsS -u "bench:$SECRET" -d grant_type=client_credentials -d scope=api:read "$gb/rs256/token" | json_field access_token)"
  run_wrk glewlwyd introspect_at "$gb/rs256/introspect" BENCH_METHOD=POST BENCH_BODY="token=$at" \
    BENCH_AUTH="$(basic bench "$SECRET")"
  run_wrk glewlwyd introspect_rt "$gb/rs256/introspect" BENCH_METHOD=POST \
    BENCH_BODY="token=$(cat "$g/refresh-introspect.txt")" BENCH_AUTH="$(basic bench "$SECRET")"
  run_wrk glewlwyd refresh "$gb/rs256/token" BENCH_METHOD=POST BENCH_BODY="grant_type=refresh_token" \
    BENCH_AUTH="$(basic bench "$SECRET")" BENCH_TOKENS="$g/refresh.txt"
  na glewlwyd signin_pwd "not scripted: Glewlwyd's sign-in is its JavaScript web app over /api/auth/, and it hashes passwords with PBKDF2, not argon2id"
  na glewlwyd signin_totp "not scripted (see signin_pwd)"
  echo "$(hwm_kb "$server_pid")" >"$g/hwm"
  stop_server
fi

# ---------------------------------------------------------------- report
echo "load averages after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/load.txt"
log "report"
mkdir -p "$here/results"
out="${BENCH_RESULTS:-$here/results/$(date +%F)-$(hostname).md}"
QUICK="$QUICK" DURATION="$DURATION" THREADS="$THREADS" CONNS="$CONNS" \
  python3 "$here/report.py" "$work" >"$out"
cat "$out"
echo "results written to $out" >&2
