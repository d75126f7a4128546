#!/usr/bin/env bash
# The whole test suite. Runs on SQLite always, and on PostgreSQL too when
# MONBAN_TEST_POSTGRES holds a URL (e.g. postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
if [ -z "${MONBAN_TEST_POSTGRES:-}" ]; then
  echo "note: MONBAN_TEST_POSTGRES is not set; PostgreSQL variants pass without running"
fi
status=0
# axe-core, injected by the browser suite into every page it looks at.
(cd tests/browser-tools && npm ci --no-audit --no-fund --silent) || status=$?
# Includes the browser suite (tests/it/browser.rs: Chromium, Apache relying parties); its
# screenshots go to target/browser-screenshots/.
cargo test --locked --no-fail-fast || status=$?
# Third-party clients against a running Monban.
conformance/oidc/run.sh || status=$?
# Schemathesis against the admin API's OpenAPI document.
conformance/admin/run.sh || status=$?
conformance/saml/run.sh || status=$?
exit "$status"
