#!/usr/bin/env bash
# Builds Baton and starts it in the foreground on examples/quickstart.cfg.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --build
swift build -c release --product baton
echo "Baton is starting on http://127.0.0.1:8080/ (Ctrl-C stops it)" >&2
exec .build/release/baton -db -f examples/quickstart.cfg
