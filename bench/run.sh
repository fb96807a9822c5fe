#!/usr/bin/env bash
# Builds Baton in release mode and runs the side-by-side benchmark (see bench/bench.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --bench
swift build -c release --product baton
exec python3 bench/bench.py "$@"
