#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine and start Monban on its embedded default:
# SQLite under ./data, keys generated into ./keys, listening on 127.0.0.1:8080.
# Extra arguments go to `monban` (e.g. ./run.sh --config config/monban.toml).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
cargo build --release --locked
exec ./target/release/monban "$@"
