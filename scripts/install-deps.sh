#!/usr/bin/env bash
# Installs the Debian packages Monban needs to build (mold: a faster linker, used by
# .ci/run; xmlsec1 for the SAML conformance run), only those missing. Used by run.sh, test.sh and .ci/run.
set -euo pipefail
pkgs=(build-essential mold pkg-config libssl-dev libxml2-dev libxmlsec1-dev libclang-dev xmlsec1 curl ca-certificates python3 python3-venv)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
# Node.js runs the openid-client conformance suite (conformance/oidc).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
fi
# Python with venv runs pysaml2 for the SAML conformance suite (conformance/saml).
if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1 \
  || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv
fi
# The browser suite (tests/browser.rs): Chromium driven over WebDriver, with Apache
# httpd + mod_auth_openidc (OIDC relying party) and mod_auth_mellon (SAML SP); a
# Japanese font so the screenshots of the ja pages are readable.
browser_pkgs=(chromium chromium-driver fonts-ipafont-gothic apache2 libapache2-mod-auth-openidc libapache2-mod-auth-mellon)
browser_missing=()
for p in "${browser_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || browser_missing+=("$p")
done
if ((${#browser_missing[@]})); then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing: ${browser_missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${browser_missing[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "error: no Rust toolchain (cargo). Install one with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
