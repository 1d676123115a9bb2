#!/usr/bin/env bash
# Fuzzes with libFuzzer (+ASan), two targets:
# - framing: Keel's wire formats (length prefix, lines, RESP) through the
#   message assembler the loop runs, the frame scanner, the ring buffer and
#   the PROXY header parser (fuzz/FramingFuzz.swift; corpus fuzz/corpus,
#   reproducers fuzz/regressions).
# - kv: keel-kv's command layer, scripts of commands from several clients
#   through every command's argument parsing and the store
#   (fuzz/KVCommandsFuzz.swift, dictionary fuzz/kv/commands.dict; corpus
#   fuzz/kv/corpus, reproducers fuzz/kv/regressions).
# Usage: fuzz/run.sh [SECONDS=60] [framing|kv|all=all]  (SECONDS per target)
# New interesting inputs go to the corpus (kept in git); a crash leaves its
# input in the reproducers' folder, which `swift test` replays from then on.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_TO_RUN=${1:-60}
TARGET=${2:-all}
case $TARGET in
    framing | kv | all) ;;
    *)
        echo "fuzz/run.sh: unknown target '$TARGET' (framing, kv or all)" >&2
        exit 2
        ;;
esac
OUT="$ROOT/.build-fuzz"
mkdir -p "$OUT"
FLAGS=(-sanitize=fuzzer,address -O -g -package-name keel)
# Swift's backtracer would take over a crash and can hang; let libFuzzer report it.
export SWIFT_BACKTRACE=enable=no
# libFuzzer's own exit code for a failure is 77, which .ci/run reads as
# "skipped": a failure must fail.
FAILS=(-error_exitcode=1 -timeout_exitcode=1)

fuzz_framing() {
    mkdir -p "$ROOT/fuzz/corpus" "$ROOT/fuzz/regressions"
    # The wire target as a library of its own, as SwiftPM builds it
    # (testable, so the check reaches its internals), then the harness
    # linked against it.
    find "$ROOT/Sources/KeelWire" -name '*.swift' -print0 | xargs -0 swiftc "${FLAGS[@]}" -parse-as-library \
        -enable-testing -module-name KeelWire -emit-module -emit-module-path "$OUT/KeelWire.swiftmodule" \
        -emit-library -static -o "$OUT/libKeelWire.a"
    swiftc "${FLAGS[@]}" -parse-as-library -I "$OUT" -L "$OUT" -lKeelWire \
        "$ROOT/fuzz/FramingFuzz.swift" "$ROOT/Tests/KeelWireTests/FramingFuzzCheck.swift" \
        "$ROOT/Tests/KeelWireTests/ProxyReference.swift" -o "$OUT/framing-fuzz"
    "$OUT/framing-fuzz" "$ROOT/fuzz/corpus" "${FAILS[@]}" \
        -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -artifact_prefix="$ROOT/fuzz/regressions/" \
        -print_final_stats=1
}

fuzz_kv() {
    mkdir -p "$ROOT/fuzz/kv/corpus" "$ROOT/fuzz/kv/regressions"
    # KeelKV and everything it imports, built by SwiftPM with the fuzzer's
    # coverage and ASan (a debug build: preconditions and exclusivity
    # checks on), in a scratch folder of its own so that every object there
    # belongs to KeelKV's dependencies; then the harness linked with them.
    local scratch="$ROOT/.build-fuzz-kv" bin objects
    # (SwiftPM's --sanitize=fuzzer links libFuzzer but leaves the modules
    # without coverage: the flags go to every compile instead.)
    swift build --package-path "$ROOT" --scratch-path "$scratch" --target KeelKV \
        -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
    bin=$(cd "$scratch/debug" && pwd -P)
    rm -f "$OUT/kv-fuzz"
    mapfile -d '' objects < <(find "$bin" -path "$bin/Modules" -prune -o -name '*.o' -print0)
    # ld.gold notes each of ASan's local symbols it cannot export: noise.
    swiftc "${FLAGS[@]}" -parse-as-library -I "$bin/Modules" \
        -Xcc -fmodule-map-file="$ROOT/CShims/include/module.modulemap" \
        -Xcc -fmodule-map-file="$ROOT/Sources/COpenSSL/module.modulemap" \
        "$ROOT/fuzz/KVCommandsFuzz.swift" "$ROOT/Tests/KeelKVTests/KVFuzzCheck.swift" \
        "$ROOT/Tests/KeelKVTests/KVHarness.swift" "$ROOT/Tests/KeelKVTests/RESPValidator.swift" \
        "${objects[@]}" -lssl -lcrypto -o "$OUT/kv-fuzz" 2>&1 | { grep -v 'Cannot export local symbol' || true; }
    test -x "$OUT/kv-fuzz"
    # -timeout: a script is at most 256 commands on small values; one
    # that takes seconds is a bug (a loop that does not end).
    "$OUT/kv-fuzz" "$ROOT/fuzz/kv/corpus" -dict="$ROOT/fuzz/kv/commands.dict" "${FAILS[@]}" \
        -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 \
        -artifact_prefix="$ROOT/fuzz/kv/regressions/" -print_final_stats=1
}

if [[ $TARGET == framing || $TARGET == all ]]; then fuzz_framing; fi
if [[ $TARGET == kv || $TARGET == all ]]; then fuzz_kv; fi
