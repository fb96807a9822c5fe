#!/usr/bin/env bash
# Installs the Debian packages Baton builds with (libpcre2-dev, libcrypt-dev) and its tests use
# (curl, a real client; haproxy, the reference the
# differential tests run beside Baton on their own configuration and ports, so Debian's haproxy
# service may run or not), when missing; with --bench also the other peer the benchmark compares
# against (nginx) and its load tool (wrk).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
packages=()
wanted=(curl:curl haproxy:haproxy)
if [ "${1:-}" = "--build" ]; then
    wanted=()   # only what building Baton needs (scripts/quickstart.sh)
fi
if [ "${1:-}" = "--bench" ]; then
    wanted+=(nginx:nginx-light wrk:wrk taskset:util-linux)
fi
for pair in "${wanted[@]+"${wanted[@]}"}"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || packages+=("${pair#*:}")
done
# Build dependencies: PCRE2 (HAProxy's regular expressions, with JIT) and crypt(3) headers.
[ -f /usr/include/pcre2.h ] || packages+=(libpcre2-dev)
[ -f /usr/include/crypt.h ] || packages+=(libcrypt-dev)
[ -f /usr/bin/pkg-config ] || [ -f /usr/bin/pkgconf ] || packages+=(pkg-config)
if [ ${#packages[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
if [ "${1:-}" = "--bench" ]; then
    # Debian starts nginx and haproxy as services where it can; the benchmark starts its own.
    (service nginx stop || true; service haproxy stop || true) >/dev/null 2>&1
fi
exit 0
