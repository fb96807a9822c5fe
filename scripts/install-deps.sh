#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use (real clients and peers), when missing.
set -euo pipefail
packages=()
for pair in curl:curl haproxy:haproxy nginx:nginx-light socat:socat nc:netcat-openbsd; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || packages+=("${pair#*:}")
done
if [ "${1:-}" = "--bench" ]; then
    for pair in wrk:wrk taskset:util-linux; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || packages+=("${pair#*:}")
    done
fi
if [ ${#packages[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
# Debian starts nginx and haproxy as services where it can; the tests start their own.
(service nginx stop || true; service haproxy stop || true) >/dev/null 2>&1
exit 0
