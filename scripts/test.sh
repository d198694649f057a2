#!/usr/bin/env bash
# Runs every test: the Swift suites (unit, golden and integration tests; those needing ../shared/assets or the
# cached default model skip with a message when absent), then the end-to-end suite that starts the real server
# binary and drives it with the official openai Python client.
set -euo pipefail
cd "$(dirname "$0")/.."
unset VLLM_TARGETS

echo "== swift build (debug, with tests)"
swift build --build-tests

echo "== default model (fetched once into the cache so the tests that use it run; skipped if unreachable)"
VLLM_TEST_DOWNLOAD=1 swift test --skip-build --filter 'WeightsRealFileTests/testDefaultModelWhenCached' \
  || echo "warning: the default model could not be fetched; tests that need it will skip"

echo "== swift test"
swift test --skip-build

echo "== end-to-end (openai client against vllm serve)"
VLLM_BIN="$(swift build --show-bin-path)/vllm" bash scripts/e2e.sh
