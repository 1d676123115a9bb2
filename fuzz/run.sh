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
FLAGS=(-sanitize=fuzzer,address -O -g -package-name keel)
# The wire target as a library of its own, as SwiftPM builds it (testable,
# so the check reaches its internals), then the harness linked against it.
find "$ROOT/Sources/KeelWire" -name '*.swift' -print0 | xargs -0 swiftc "${FLAGS[@]}" -parse-as-library \
    -enable-testing -module-name KeelWire -emit-module -emit-module-path "$OUT/KeelWire.swiftmodule" \
    -emit-library -static -o "$OUT/libKeelWire.a"
swiftc "${FLAGS[@]}" -parse-as-library -I "$OUT" -L "$OUT" -lKeelWire \
    "$ROOT/fuzz/FramingFuzz.swift" "$ROOT/Tests/KeelWireTests/FramingFuzzCheck.swift" \
    "$ROOT/Tests/KeelWireTests/ProxyReference.swift" -o "$OUT/framing-fuzz"
# Swift's backtracer would take over a crash and can hang; let libFuzzer report it.
SWIFT_BACKTRACE=enable=no "$OUT/framing-fuzz" "$ROOT/fuzz/corpus" \
    -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -artifact_prefix="$ROOT/fuzz/regressions/" \
    -print_final_stats=1
