#!/usr/bin/env bash
# Runs every test: the Swift suites (unit, golden and integration tests; those needing ../shared/assets or the
# cached default model skip with a message when absent), then the end-to-end suite that starts the real server
# binary and drives it with the official openai Python client. Ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
unset VLLM_TARGETS
LOGS="$(mktemp -d)"

echo "== swift build (debug, with tests)"
swift build --build-tests

echo "== default model (fetched once into the cache so the tests that use it run; skipped if unreachable)"
VLLM_TEST_DOWNLOAD=1 swift test --skip-build --filter 'WeightsRealFileTests/testDefaultModelWhenCached' \
  || echo "warning: the default model could not be fetched; tests that need it will skip"

echo "== swift test"
swift test --skip-build 2>&1 | tee "$LOGS/swift.log"

echo "== end-to-end (openai client against vllm serve)"
VLLM_BIN="$(swift build --show-bin-path)/vllm" bash scripts/e2e.sh 2>&1 | tee "$LOGS/e2e.log"

# XCTest's last "Executed N tests, with S tests skipped and F failures" is the whole run; pytest prints
# "N passed" per suite. Any failure above has already stopped the script (pipefail).
swift_summary="$(grep -E 'Executed [0-9]+ tests?' "$LOGS/swift.log" | tail -1)"
swift_total="$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$swift_summary")"
swift_skipped="$(grep -oE '[0-9]+ tests? skipped' <<<"$swift_summary" | grep -oE '^[0-9]+' || echo 0)"
e2e_passed="$(grep -oE '^[0-9]+ passed' "$LOGS/e2e.log" | awk '{s += $1} END {print s + 0}')"
echo "tests: $(( swift_total - swift_skipped + e2e_passed )) passed, 0 failed, ${swift_skipped} skipped"
