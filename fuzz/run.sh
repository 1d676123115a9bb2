#!/usr/bin/env bash
# Fuzzes Keel's wire formats (length prefix, lines, RESP) through the
# message assembler the loop runs, the frame scanner, the ring buffer and the
# PROXY header parser with libFuzzer (+ASan).
# Usage: fuzz/run.sh [SECONDS=60]
# New interesting inputs go to fuzz/corpus/ (kept in git); a crash leaves its
# input in fuzz/regressions/, which `swift test` replays from then on.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_TO_RUN=${1:-60}
OUT="$ROOT/.build-fuzz"
mkdir -p "$OUT" "$ROOT/fuzz/corpus" "$ROOT/fuzz/regressions"
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -D KEEL_FUZZ -package-name keel \
    "$ROOT/fuzz/FramingFuzz.swift" "$ROOT/Tests/KeelTests/FramingFuzzCheck.swift" \
    "$ROOT/Tests/KeelTests/ProxyReference.swift" \
    "$ROOT"/Sources/Keel/Framing/*.swift "$ROOT"/Sources/Keel/Wire/*.swift "$ROOT"/Sources/Keel/Wire/RESP/*.swift \
    "$ROOT/Sources/Keel/Buffers/RingBuffer.swift" "$ROOT/Sources/Keel/Buffers/BufferPool.swift" \
    "$ROOT"/Sources/Keel/Proxy/*.swift \
    "$ROOT/Sources/KeelPosix/Syscalls/SocketAddress.swift" "$ROOT/Sources/KeelPosix/Syscalls/Errno.swift" \
    -I "$ROOT/CShims/include" -o "$OUT/framing-fuzz"
# Swift's backtracer would take over a crash and can hang; let libFuzzer report it.
SWIFT_BACKTRACE=enable=no "$OUT/framing-fuzz" "$ROOT/fuzz/corpus" \
    -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -artifact_prefix="$ROOT/fuzz/regressions/" \
    -print_final_stats=1
