#!/usr/bin/env bash
# Finds the Prometheus server and promtool for the tests that query a real Prometheus
# (test/conformance/prometheus-api.test.ts, test/support/prometheus.ts) and prints their paths
# on stdout, one a line (prometheus, then promtool); what went wrong goes to stderr.
#
#   scripts/prometheus.sh            find both, print their paths, or say why not and exit 127
#   scripts/prometheus.sh --install  install Debian's prometheus package first when one is missing
#
# PROMETHEUS=/path and PROMTOOL=/path pick the binaries; otherwise PATH, then /usr/bin, /usr/sbin.
# The tests start their own Prometheus on a free loopback port with a temporary data directory;
# the packaged service is never used, so --install keeps it from starting (see install()).
set -euo pipefail

install=false
case "${1:-}" in
  "") ;;
  --install) install=true ;;
  *) echo "prometheus: unknown argument ($1). Usage: $0 [--install]" >&2; exit 64 ;;
esac

# find_bin VAR NAME: the path in $VAR, else NAME on PATH, /usr/bin or /usr/sbin; empty when none runs.
find_bin() {
  local override="${!1:-}" name="$2" p
  if [ -n "$override" ]; then
    if "$override" --version >/dev/null 2>&1; then printf '%s\n' "$override"; fi
    return 0
  fi
  for p in "$(command -v "$name" || true)" "/usr/bin/$name" "/usr/sbin/$name"; do
    if [ -n "$p" ] && [ -x "$p" ] && "$p" --version >/dev/null 2>&1; then
      printf '%s\n' "$p"
      return 0
    fi
  done
}

# Debian's package would start (and, under systemd, enable) a server on 0.0.0.0:9090 with its
# own data in /var/lib/prometheus: nothing the tests want, and a port that may be in use. A
# policy-rc.d answering 101 ("action forbidden") is Debian's way to keep a package's
# maintainer scripts from starting services (invoke-rc.d and deb-systemd-invoke both obey it);
# one already there (container images ship one) is left as it is.
install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "prometheus: --install needs apt-get (Debian or Ubuntu). Elsewhere install Prometheus >= 2.42 (https://prometheus.io/download/) and put prometheus and promtool on PATH." >&2
    exit 127
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  local guard=/usr/sbin/policy-rc.d placed=false
  if [ ! -e "$guard" ]; then
    printf '#!/bin/sh\n# Placed by ztmap scripts/prometheus.sh during apt-get install; removed after.\nexit 101\n' | $sudo tee "$guard" >/dev/null
    $sudo chmod 755 "$guard"
    placed=true
  fi
  local status=0
  echo "prometheus: installing Debian's prometheus package (apt-get install -y --no-install-recommends prometheus)" >&2
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus; } >&2 || status=$?
  if $placed; then $sudo rm -f "$guard"; fi
  if [ "$status" != 0 ]; then
    echo "prometheus: apt-get install failed (exit $status, see above)." >&2
    exit 1
  fi
  # Under systemd the package enabled its unit for the next boot: the tests do not need it.
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable --now prometheus.service >&2 || true
  fi
}

prometheus="$(find_bin PROMETHEUS prometheus)"
promtool="$(find_bin PROMTOOL promtool)"
if $install && { [ -z "$prometheus" ] || [ -z "$promtool" ]; }; then
  install
  prometheus="$(find_bin PROMETHEUS prometheus)"
  promtool="$(find_bin PROMTOOL promtool)"
fi
missing=()
if [ -z "$prometheus" ]; then missing+=("prometheus${PROMETHEUS:+ (PROMETHEUS=$PROMETHEUS does not run)}"); fi
if [ -z "$promtool" ]; then missing+=("promtool${PROMTOOL:+ (PROMTOOL=$PROMTOOL does not run)}"); fi
if [ "${#missing[@]}" != 0 ]; then
  echo "prometheus: not found: ${missing[*]} (looked on PATH, in /usr/bin and /usr/sbin)." >&2
  echo "The Prometheus API tests start a real Prometheus: run bash scripts/prometheus.sh --install (Debian's package), or set PROMETHEUS= and PROMTOOL=." >&2
  exit 127
fi
printf '%s\n%s\n' "$prometheus" "$promtool"
