#!/usr/bin/env python3
"""Turns bench/work (written by bench/run.sh) into the Markdown results page."""
import datetime
import json
import os
import platform
import re
import subprocess
import sys

work = sys.argv[1]
SYSTEMS = ["monban", "node-oidc-provider", "glewlwyd"]
SCENARIOS = [
    ("discovery", "GET discovery document", "wrk"),
    ("jwks", "GET JWKS", "wrk"),
    ("cc_rs256", "client_credentials, RS256 access token", "wrk"),
    ("cc_es256", "client_credentials, ES256 access token", "wrk"),
    ("cc_eddsa", "client_credentials, EdDSA access token", "wrk"),
    ("refresh", "refresh-token rotation (each response's token replaces the used one)", "wrk"),
    ("introspect_rt", "introspection of a refresh token", "wrk"),
    ("introspect_at", "introspection of a JWT access token (RS256)", "wrk"),
    ("signin_pwd", "browser sign-in, password → code → token (per sign-in)", "bench_driver"),
    ("signin_totp", "browser sign-in, password + TOTP → code → token (per sign-in)", "bench_driver"),
]


def read(path, default=None):
    try:
        with open(os.path.join(work, path)) as f:
            return f.read().strip()
    except OSError:
        return default


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:  # noqa: BLE001
        return ""


results = {}
for line in (read("results.tsv", "") or "").splitlines():
    parts = line.split("\t")
    if len(parts) < 3:
        continue
    system, scenario, js = parts[0], parts[1], parts[2]
    peak = parts[3] if len(parts) > 3 else ""
    try:
        d = json.loads(js)
    except json.JSONDecodeError:
        d = {"failed": js}
    d["peak_kb"] = int(peak) if peak.strip().isdigit() else None
    results[(system, scenario)] = d

ceil = {}
for line in (read("ceilings.txt", "") or "").splitlines():
    m = re.match(r"ceiling (\S+) ([0-9.]+)", line)
    if m:
        ceil[m.group(1)] = float(m.group(2))


def fmt_num(x, digits=0):
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def mb(kb):
    return "–" if kb in (None, "") else f"{int(kb) / 1024:.1f} MB"


def rps(system, scenario):
    d = results.get((system, scenario))
    if not d or "rps" not in d:
        return None
    return d["rps"]


def errors(d):
    if "errors" in d:
        return d["errors"]
    return None


# ------------------------------------------------------------------ header
lines = []
now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M %Z").strip()
cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -n1")
cores = os.cpu_count()
mem = sh("free -g | awk '/^Mem:/ {print $2}'")
lines.append(f"# Monban benchmark — {now} — {platform.node()}")
lines.append("")
lines.append("Produced by `bench/run.sh` (see README, “Benchmarks”). "
             + ("**QUICK=1 smoke run — not for comparison.** " if os.environ.get("QUICK") == "1" else ""))
lines.append("")
lines.append(f"- CPU: {cpu or platform.processor()}, {cores} cores (`nproc`), memory {mem} GiB")
lines.append(f"- Kernel: {platform.release()}")
lines.append(f"- Monban: {sh('git -C ' + os.path.dirname(work) + ' describe --always --dirty')} (release build, "
             f"{sh('rustc --version')}); SQLite, rate limits off, log level warn")
lock = read("../peers/node-oidc-provider/package-lock.json", "{}")
try:
    op_ver = json.loads(lock)["packages"]["node_modules/oidc-provider"]["version"]
except Exception:  # noqa: BLE001
    op_ver = "?"
lines.append(f"- node oidc-provider {op_ver} on Node.js {sh('node --version')} (one process, in-memory adapter)")
gl_ver = sh("dpkg-query -W -f='${Version}' glewlwyd")
wrk_ver = sh("dpkg-query -W -f='${Version}' wrk")
lines.append(f"- glewlwyd {gl_ver} (Debian; SQLite backend)")
lines.append(f"- wrk {wrk_ver}: `wrk -t{os.environ.get('THREADS')} "
             f"-c{os.environ.get('CONNS')} -d{os.environ.get('DURATION')}s --latency -s bench/wrk/report.lua` "
             "(keep-alive); the sign-in driver uses the same connection count and duration")
lines.append(f"- Machine load: {read('load.txt', '?').replace(chr(10), ' ')}")
lines.append("- Each system ran alone (the others stopped); load generator on the same 2-core machine "
             "(it takes CPU from the server under test, equally for every system).")
lines.append("")

# ------------------------------------------------------------------ ceilings
lines.append("## This machine's ceilings (`cargo bench --bench ceilings`)")
lines.append("")
lines.append("| operation | 1 core /s | all cores /s |")
lines.append("|---|---:|---:|")
names = {"rs256": "RS256 sign (RSA-2048, aws-lc-rs)", "es256": "ES256 sign (P-256)",
         "eddsa": "EdDSA sign (Ed25519)", "argon2": "argon2id hash (Monban's parameters)"}
for k, label in names.items():
    lines.append(f"| {label} | {fmt_num(ceil.get(k + '_1core'))} | {fmt_num(ceil.get(k + '_allcores'))} |")
hello = results.get(("hello", "hello"), {})
lines.append(f"| plain actix-web “hello” (examples/hello.rs), req/s via wrk | | {fmt_num(hello.get('rps'))} "
             f"(p99 {fmt_num(hello.get('p99_ms'), 2)} ms) |")
lines.append("")

# ------------------------------------------------------------------ scenarios
lines.append("## Scenarios")
lines.append("")
lines.append("req/s (sign-ins/s for sign-in) · p50 / p99 latency in ms · errors (non-2xx + socket errors) · "
             "peak RSS during the scenario (sampled every 100 ms). Ratio = Monban req/s ÷ peer req/s.")
lines.append("")
lines.append("| scenario | tool | system | req/s | p50 ms | p99 ms | errors | peak RSS | Monban ÷ this |")
lines.append("|---|---|---|---:|---:|---:|---:|---:|---:|")
for key, label, tool in SCENARIOS:
    for system in SYSTEMS:
        d = results.get((system, key))
        if d is None:
            continue
        if "na" in d:
            lines.append(f"| {label} | | {system} | n/a | | | | | {d['na']} |")
            continue
        if "rps" not in d:
            lines.append(f"| {label} | {tool} | {system} | failed | | | | | {d.get('failed', '')} |")
            continue
        ratio = ""
        m = rps("monban", key)
        if system != "monban" and m and d["rps"]:
            ratio = f"{m / d['rps']:.2f}×"
        extra = ""
        if d.get("pool_exhausted"):
            extra = f" (pool exhausted {d['pool_exhausted']}×)"
        if d.get("starved_waits"):
            extra = f" (waited for a free TOTP step {d['starved_waits']}×)"
        lines.append(
            f"| {label} | {tool} | {system} | {fmt_num(d['rps'])} | {fmt_num(d.get('p50_ms'), 2)} | "
            f"{fmt_num(d.get('p99_ms'), 2)} | {errors(d)}{extra} | {mb(d.get('peak_kb'))} | {ratio} |")
lines.append("")

# ------------------------------------------------------------------ Monban vs ceilings
lines.append("## Monban as a share of this machine's ceilings")
lines.append("")
lines.append("| scenario | Monban req/s | ceiling | share |")
lines.append("|---|---:|---|---:|")
share_rows = [
    ("cc_rs256", "rs256_allcores", 1, "RS256 signatures/s, all cores (1 signature per token)"),
    ("cc_es256", "es256_allcores", 1, "ES256 signatures/s, all cores"),
    ("cc_eddsa", "eddsa_allcores", 1, "EdDSA signatures/s, all cores"),
    ("refresh", "rs256_allcores", 2, "RS256 signatures/s ÷ 2 (access token + ID token per refresh)"),
    ("signin_pwd", "argon2_allcores", 1, "argon2id hashes/s, all cores (1 verification per sign-in)"),
    ("signin_totp", "argon2_allcores", 1, "argon2id hashes/s, all cores"),
    ("discovery", None, 1, "plain actix hello req/s"),
    ("jwks", None, 1, "plain actix hello req/s"),
]
shares = {}
for key, ck, div, label in share_rows:
    m = rps("monban", key)
    c = hello.get("rps") if ck is None else ceil.get(ck)
    if m is None or not c:
        continue
    c = c / div
    shares[key] = m / c
    lines.append(f"| {key} | {fmt_num(m)} | {label}: {fmt_num(c)} | {100 * m / c:.0f}% |")
lines.append("")

# ------------------------------------------------------------------ memory
lines.append("## Memory")
lines.append("")
lines.append("| system | idle RSS (after start-up, before load) | peak RSS over the whole run (VmHWM) |")
lines.append("|---|---:|---:|")
idle = {"monban": read("monban/idle.rss"), "node-oidc-provider": read("node.idle.rss"),
        "glewlwyd": read("glewlwyd/idle.rss")}
hwm = {"monban": read("monban/hwm"), "node-oidc-provider": read("node.hwm"), "glewlwyd": read("glewlwyd/hwm")}
for s in SYSTEMS:
    if idle.get(s) or hwm.get(s):
        lines.append(f"| {s} | {mb(idle.get(s))} | {mb(hwm.get(s))} |")
lines.append(f"| plain actix hello | | {mb(read('hello.hwm'))} |")
lines.append("")
sess = read("sessions.json")
per_session = None
if sess:
    j = json.loads(sess)
    n = j["sessions"]
    per_session = (j["after_sessions_kb"] - j["after_unknown_kb"]) * 1024 / n
    lines.append(f"Sessions: a fresh Monban on the same data (idle RSS {mb(j['idle_kb'])}); "
                 f"{n:,} sessions inserted straight into its SQLite database by `examples/seed_sessions.rs` "
                 "(same store call and keyed cookie hash as a sign-in); then "
                 f"{n:,} GET /logout with unknown cookies (RSS {mb(j['after_unknown_kb'])}: what the requests "
                 f"themselves grow), then one GET /logout (the sign-out confirmation: one session lookup) "
                 f"with each session's cookie "
                 f"({j['touch']['signed_in']:,} answered as signed in; each lookup also touches last_seen_at) → "
                 f"RSS {mb(j['after_sessions_kb'])}. Per active session: "
                 f"**{per_session:,.0f} bytes** of RSS (after − after unknown-cookie requests) ÷ sessions; "
                 f"against the idle RSS: {(j['after_sessions_kb'] - j['idle_kb']) * 1024 / n:,.0f} bytes. "
                 f"Monban keeps no per-session state in memory (sessions are rows; the database's page cache "
                 f"is bounded), so this mostly measures SQLite's page cache and the allocator. "
                 f"Data directory on disk: {j['data_dir_kb'] / 1024:.1f} MB.")
    lines.append("")
soak = read("monban/soak.rss")
if soak:
    before, after, rate = soak.split("\t")
    d = results.get(("monban", "soak_es256"), {})
    lines.append(f"Soak: client_credentials ES256 aimed at {rate} req/s (80% of the measured peak; fixed "
                 f"connections with a per-request delay), achieved {fmt_num(d.get('rps'))} req/s, "
                 f"errors {d.get('errors')}, p99 {fmt_num(d.get('p99_ms'), 2)} ms; "
                 f"RSS {mb(before)} → {mb(after)}.")
    lines.append("")

# ------------------------------------------------------------------ targets
lines.append("## Targets (not tests)")
lines.append("")
lines.append("| target | measured | result |")
lines.append("|---|---|---|")


def target(name, measured, ok):
    res = "n/a" if ok is None else ("PASS" if ok else "MISS")
    lines.append(f"| {name} | {measured} | {res} |")


s = shares.get("cc_rs256")
target("client_credentials RS256 ≥ 80% of two cores' raw RSA signing", "–" if s is None else f"{100 * s:.0f}%",
       None if s is None else s >= 0.8)
m, n = rps("monban", "cc_es256"), rps("node-oidc-provider", "cc_es256")
target("ES256 ≥ 3× node oidc-provider ES256", "–" if not (m and n) else f"{m / n:.2f}×",
       None if not (m and n) else m / n >= 3)
m = rps("monban", "cc_eddsa")
target("EdDSA ≥ 30k req/s", "–" if m is None else f"{m:,.0f} req/s", None if m is None else m >= 30000)
s = shares.get("signin_pwd")
target("password sign-in ≥ 90% of the argon2 ceiling", "–" if s is None else f"{100 * s:.0f}%",
       None if s is None else s >= 0.9)
for k in ("discovery", "jwks"):
    s = shares.get(k)
    target(f"{k} ≥ 70% of actix hello", "–" if s is None else f"{100 * s:.0f}%", None if s is None else s >= 0.7)
# Issue 18's goals.
m, n = rps("monban", "refresh"), rps("node-oidc-provider", "refresh")
target("refresh rotation ≥ 3× node oidc-provider (issue 18)", "–" if not (m and n) else f"{m / n:.2f}×",
       None if not (m and n) else m / n >= 3)
s = shares.get("signin_pwd")
target("password sign-in ≥ 80% of the argon2 ceiling (issue 18)", "–" if s is None else f"{100 * s:.0f}%",
       None if s is None else s >= 0.8)
m, h = rps("monban", "cc_es256"), rps("hello", "hello")
target("client_credentials ES256 ≥ 45% of actix hello (issue 18)", "–" if not (m and h) else f"{100 * m / h:.0f}%",
       None if not (m and h) else m / h >= 0.45)
if soak:
    before, after, _ = soak.split("\t")
    d = results.get(("monban", "soak_es256"), {})
    grew = (int(after) - int(before)) / max(int(before), 1)
    target("soak at 80% of peak: no errors, RSS flat (< 10% growth) (issue 18)",
           f"errors {d.get('errors')}, RSS {100 * grew:+.1f}%",
           d.get("errors") == 0 and grew < 0.10)
i = idle.get("monban")
target("idle RSS ≤ 30 MB", mb(i), None if not i else int(i) <= 30 * 1024)
target("≤ 2.5 KB per active session", "–" if per_session is None else f"{per_session:,.0f} bytes",
       None if per_session is None else per_session <= 2560)
lines.append("")

lines.append("## How each scenario is measured")
lines.append("")
lines.append("""- wrk scenarios: the same `bench/wrk/report.lua` for every system; errors are responses outside 2xx
  plus socket errors. Each system gets equivalent clients: confidential, `client_secret_basic`, one per
  access-token algorithm (Monban: `client add --kind service --alg …`; oidc-provider: a JWT resource
  server whose signing alg follows the client; Glewlwyd: one OIDC plugin instance per algorithm).
- Refresh rotation: a pool of 2 × connections + 1 refresh tokens per system (Monban: real code flows by
  `bench_driver refresh-pool`; oidc-provider: minted through its own Grant/RefreshToken models at start;
  Glewlwyd: password grant). The first token of the pool is kept for the refresh-token introspection
  scenario; every other token starts a chain: each 200 response's new refresh token goes back into the
  pool. Monban and oidc-provider answer with an ID token too (2 signatures per refresh); Glewlwyd does not.
- Sign-in: `examples/bench_driver.rs` (Rust, reqwest, keep-alive pool, cookies kept per virtual browser):
  GET /authorize → GET /login (CSRF token) → POST /login (→ GET/POST /login/mfa with a TOTP code) →
  GET /authorize → code → POST /token (PKCE, client_secret_basic). Latency is per whole sign-in.
  Monban accepts each TOTP step once per user, so the TOTP run uses a pool of enrolled users.
  Peers: n/a (reasons in the table); Monban is compared with the argon2 ceiling instead.
""")
print("\n".join(lines))
