#!/usr/bin/env bash
# Runs every test: the Swift unit/integration suites, then the end-to-end server suite.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build --parallel --num-workers 2
