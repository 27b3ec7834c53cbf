#!/usr/bin/env bash
# Installs the Debian packages the build, the local stack and the tests need.
# Idempotent: apt-get runs only when a package is missing.
set -euo pipefail
want=(build-essential pkg-config nginx-light spawn-fcgi libfcgi-dev libcurl4-openssl-dev
      libjson-c-dev libzip-dev libssl-dev libpq-dev postgresql postgresql-client
      zip unzip curl jq openssl xmlsec1 wrk awscli pgbouncer nodejs npm)
[ "${IW_DEPS_TEST:-0}" = 1 ] && want+=(chromium openssh-server openssh-client gnupg iproute2 shellcheck)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Node.js 20 may come from outside Debian on this machine: accept any working node/npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -ra missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# promtool (the metrics test's `promtool check`) without the prometheus service
# and its 96 MB: only usr/bin/promtool out of Debian 12's prometheus .deb.
PROMTOOL=/usr/local/lib/iw-admin/bin/promtool
if [ "${IW_DEPS_TEST:-0}" = 1 ] && ! command -v promtool >/dev/null && [ ! -x "$PROMTOOL" ]; then
  echo "deps: promtool from the prometheus .deb (apt-get download)" >&2
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT; chmod 755 "$tmp"
  (cd "$tmp" && { apt-get download -qq prometheus 2>/dev/null || { apt-get update -qq && apt-get download -qq prometheus; }; })
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
  install -D -m 0755 "$tmp/x/usr/bin/promtool" "$PROMTOOL"
fi
