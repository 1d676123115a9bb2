#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer (with LeakSanitizer) and
# ThreadSanitizer, each in its own build folder.
# Usage: scripts/sanitizers.sh [address|thread|all]   (default all)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
which=${1:-all}
if [ "$which" = address ] || [ "$which" = all ]; then
    echo "== AddressSanitizer =="
    KEEL_SANITIZER=address ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0" \
        swift test --sanitize=address --scratch-path .build-asan
fi
if [ "$which" = thread ] || [ "$which" = all ]; then
    echo "== ThreadSanitizer =="
    KEEL_SANITIZER=thread TSAN_OPTIONS=halt_on_error=1 swift test --sanitize=thread --scratch-path .build-tsan
fi
