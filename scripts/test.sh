#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, runs every test.
# Tests run one at a time: each integration test starts real Baton processes, servers and
# clients, and their timeouts mean something only when two cores are not shared by a hundred
# of them at once (about a minute in all).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
swift test --skip-build --no-parallel
