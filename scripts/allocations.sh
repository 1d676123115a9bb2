#!/usr/bin/env bash
# "No allocation per message", held for the release build (swift test holds
# it for the debug build): keel-allocation-probe counts the loop thread's
# mallocs while echoing 1,000 and 100,000 messages, for a handler of the
# probe's own module (the general path an application's handler takes) and
# for the echo fast path `keel` runs, at 64 B and 10 KiB. The counts must be
# equal up to a small constant (see Tests/KeelTests/AllocationTests.swift:
# a backlog the warm-up never reached can make the pool allocate a block
# once); one allocation per 1,000 messages would add 99. Then the same over
# TLS, held the same way: OpenSSL 3's record layer mallocs a 40-byte block
# three times per record written and once per record read, and Keel's
# OpenSSLBlockRecycler hands those back from a per-thread list (before it,
# 0.25 loop-thread mallocs per message at 16 x 64 B pipelined, 2.75 at
# 10 KiB). The session's record buffers stay while it is busy
# (SSL_MODE_RELEASE_BUFFERS would malloc them anew for every read and
# write); the loop frees them once it is quiet. Certificates are made by
# openssl; the TLS runs are skipped, saying so, without it.
#
# Usage: scripts/allocations.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
(cd "$ROOT" && swift build -c release --product KeelAllocationProbe) >&2
PROBE="$ROOT/.build/release/KeelAllocationProbe"
TOLERANCE=8
failures=0
source "$ROOT/bench/scripts/lib.sh"
source "$ROOT/bench/scripts/tls_certificates.sh"
transports=plaintext
if ensure_command openssl openssl; then
    KEEL_PROBE_TLS_DIR=$(mktemp -d /tmp/keel-probe-tls.XXXXXX)
    export KEEL_PROBE_TLS_DIR
    trap 'rm -rf "$KEEL_PROBE_TLS_DIR"' EXIT
    make_test_certificates "$KEEL_PROBE_TLS_DIR"
    transports="plaintext tls"
else
    echo "SKIPPED the TLS runs: no openssl command to make certificates"
fi
for transport in $transports; do
for handler in handler echo; do
    for size in 64 10240; do
        small=$("$PROBE" 1000 "$size" 16 "$handler" "$transport")
        large=$("$PROBE" 100000 "$size" 16 "$handler" "$transport")
        verdict=$(python3 -c "
import json, sys
small, large = json.loads(sys.argv[1]), json.loads(sys.argv[2])
extra = large['loop_thread_mallocs'] - small['loop_thread_mallocs']
balance = large['process_mallocs_minus_frees'] - small['process_mallocs_minus_frees']
ok = extra <= $TOLERANCE and abs(balance) <= $TOLERANCE
print(('ok  ' if ok else 'FAIL'), 'release, %s, %s, %s B: loop-thread mallocs %d for %d messages, %d for %d (%+d); '
      'outstanding after stop %+d' % (sys.argv[5], sys.argv[3], sys.argv[4], small['loop_thread_mallocs'],
      small['messages'], large['loop_thread_mallocs'], large['messages'], extra, balance))
" "$small" "$large" "$handler" "$size" "$transport")
        echo "$verdict"
        case $verdict in FAIL*) failures=$((failures + 1)) ;; esac
    done
done
done
[ "$failures" -eq 0 ]
