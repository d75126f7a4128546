#!/usr/bin/env bash
# Prints the path of the monban executable for the conformance runs, built the way
# `cargo test` builds it for the integration tests (dev-dependencies' features
# unified), so that after `cargo test` nothing is compiled again. The path cargo
# reports, not target/debug/monban, which another checkout sharing
# CARGO_TARGET_DIR may have overwritten.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --no-run --test it --message-format=json -q \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    t=m.get("target") or {}
    if m.get("executable") and t.get("name")=="monban" and "bin" in t.get("kind",[]) and not m["profile"]["test"]:
        print(m["executable"])' | tail -n1
