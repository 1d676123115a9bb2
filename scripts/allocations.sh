#!/usr/bin/env bash
# "No allocation per message", held for the release build (swift test holds
# it for the debug build): keel-allocation-probe counts the loop thread's
# mallocs while echoing 1,000 and 100,000 messages, for a handler of the
# probe's own module (the general path an application's handler takes) and
# for the echo fast path `keel` runs, at 64 B and 10 KiB. The counts must be
# equal up to a small constant (see Tests/KeelTests/AllocationTests.swift:
# a backlog the warm-up never reached can make the pool allocate a block
# once); one allocation per 1,000 messages would add 99.
#
# Usage: scripts/allocations.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
(cd "$ROOT" && swift build -c release --product KeelAllocationProbe) >&2
PROBE="$ROOT/.build/release/KeelAllocationProbe"
TOLERANCE=8
failures=0
for handler in handler echo; do
    for size in 64 10240; do
        small=$("$PROBE" 1000 "$size" 16 "$handler")
        large=$("$PROBE" 100000 "$size" 16 "$handler")
        verdict=$(python3 -c "
import json, sys
small, large = json.loads(sys.argv[1]), json.loads(sys.argv[2])
extra = large['loop_thread_mallocs'] - small['loop_thread_mallocs']
balance = large['process_mallocs_minus_frees'] - small['process_mallocs_minus_frees']
ok = extra <= $TOLERANCE and abs(balance) <= $TOLERANCE
print(('ok  ' if ok else 'FAIL'), 'release, %s, %s B: loop-thread mallocs %d for %d messages, %d for %d (%+d); '
      'outstanding after stop %+d' % (sys.argv[3], sys.argv[4], small['loop_thread_mallocs'], small['messages'],
      large['loop_thread_mallocs'], large['messages'], extra, balance))
" "$small" "$large" "$handler" "$size")
        echo "$verdict"
        case $verdict in FAIL*) failures=$((failures + 1)) ;; esac
    done
done
[ "$failures" -eq 0 ]
