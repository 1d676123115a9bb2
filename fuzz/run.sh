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
# - tls: the loop's TLS transport seam, scripted TLS peers (records split
#   anywhere, corrupted, refused, timed out, closed every way) against an
#   echo loop driven an iteration at a time (fuzz/TLSFuzz.swift; corpus
#   fuzz/tls/corpus, reproducers fuzz/tls/regressions).
# Usage: fuzz/run.sh [SECONDS=60] [framing|kv|tls|all=all]  (SECONDS per target)
# New interesting inputs go to the corpus (kept in git); a crash leaves its
# input in the reproducers' folder, which `swift test` replays from then on.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_TO_RUN=${1:-60}
TARGET=${2:-all}
case $TARGET in
    framing | kv | tls | all) ;;
    *)
        echo "fuzz/run.sh: unknown target '$TARGET' (framing, kv, tls or all)" >&2
        exit 2
        ;;
esac
OUT="$ROOT/.build-fuzz"
mkdir -p "$OUT"
FLAGS=(-sanitize=fuzzer,address -O -g)
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
    find "$ROOT/Sources/KeelWire" -name '*.swift' -print0 | xargs -0 swiftc "${FLAGS[@]}" -package-name keel -parse-as-library \
        -enable-testing -module-name KeelWire -emit-module -emit-module-path "$OUT/KeelWire.swiftmodule" \
        -emit-library -static -o "$OUT/libKeelWire.a"
    swiftc "${FLAGS[@]}" -package-name keel -parse-as-library -I "$OUT" -L "$OUT" -lKeelWire \
        "$ROOT/fuzz/FramingFuzz.swift" "$ROOT/Tests/KeelWireTests/FramingFuzzCheck.swift" \
        "$ROOT/Tests/KeelWireTests/ProxyReference.swift" -o "$OUT/framing-fuzz"
    "$OUT/framing-fuzz" "$ROOT/fuzz/corpus" "${FAILS[@]}" \
        -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -artifact_prefix="$ROOT/fuzz/regressions/" \
        -print_final_stats=1
}

# KeelKV and everything it imports (Keel among them), built once by SwiftPM
# with the fuzzer's coverage and ASan (a debug build: preconditions and
# exclusivity checks on, testable), in a scratch folder of its own so that
# every object there belongs to KeelKV's dependencies. The kv and tls
# harnesses are linked with them.
SCRATCH="$ROOT/.build-fuzz-package"
PACKAGE_OBJECTS=()
build_package() {
    [[ ${#PACKAGE_OBJECTS[@]} -gt 0 ]] && return
    # (SwiftPM's --sanitize=fuzzer links libFuzzer but leaves the modules
    # without coverage: the flags go to every compile instead.)
    swift build --package-path "$ROOT" --scratch-path "$SCRATCH" --target KeelKV \
        -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
    PACKAGE_BIN=$(cd "$SCRATCH/debug" && pwd -P)
    # The harnesses reach the package's `package` declarations: they must
    # be compiled as part of the package SwiftPM built (its name comes from
    # the checkout's folder).
    PACKAGE_NAME=$(grep -o '"-module-name","KeelPosix"[^]]*-package-name","[^"]*' "$SCRATCH/debug.yaml" |
        head -1 | sed 's/.*-package-name","//')
    [[ -n $PACKAGE_NAME ]] || { echo "fuzz/run.sh: no package name in $SCRATCH/debug.yaml" >&2; exit 1; }
    mapfile -d '' PACKAGE_OBJECTS < <(find "$PACKAGE_BIN" -path "$PACKAGE_BIN/Modules" -prune -o -name '*.o' -print0)
}

# link_harness OUTPUT SOURCES...: a harness linked with the package's objects.
link_harness() {
    local output=$1
    shift
    rm -f "$output"
    # ld.gold notes each of ASan's local symbols it cannot export: noise.
    swiftc "${FLAGS[@]}" -package-name "$PACKAGE_NAME" -parse-as-library -I "$PACKAGE_BIN/Modules" \
        -Xcc -fmodule-map-file="$ROOT/CShims/include/module.modulemap" \
        -Xcc -fmodule-map-file="$ROOT/Sources/COpenSSL/module.modulemap" \
        "$@" "${PACKAGE_OBJECTS[@]}" -lssl -lcrypto -o "$output" 2>&1 | { grep -v 'Cannot export local symbol' || true; }
    test -x "$output"
}

fuzz_kv() {
    mkdir -p "$ROOT/fuzz/kv/corpus" "$ROOT/fuzz/kv/regressions"
    build_package
    link_harness "$OUT/kv-fuzz" "$ROOT/fuzz/KVCommandsFuzz.swift" "$ROOT/Tests/KeelKVTests/KVFuzzCheck.swift" \
        "$ROOT/Tests/KeelKVTests/KVHarness.swift" "$ROOT/Tests/KeelKVTests/RESPValidator.swift"
    # -timeout: a script is at most 256 commands on small values; one
    # that takes seconds is a bug (a loop that does not end).
    "$OUT/kv-fuzz" "$ROOT/fuzz/kv/corpus" -dict="$ROOT/fuzz/kv/commands.dict" "${FAILS[@]}" \
        -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 \
        -artifact_prefix="$ROOT/fuzz/kv/regressions/" -print_final_stats=1
}

fuzz_tls() {
    mkdir -p "$ROOT/fuzz/tls/corpus" "$ROOT/fuzz/tls/regressions"
    build_package
    local support="$ROOT/Tests/KeelTests/Support"
    link_harness "$OUT/tls-fuzz" "$ROOT/fuzz/TLSFuzz.swift" "$ROOT/Tests/KeelTests/TLS/TLSFuzzCheck.swift" \
        "$support/SimulatedLoop.swift" "$support/ScriptedBackend.swift" "$support/TLSClientSession.swift" \
        "$support/TLSTestFiles.swift"
    # -timeout: a script is at most 256 operations and a few handshakes.
    # The certificates are made with the openssl command through
    # Foundation's Process, which never frees a launched Process: that
    # leak is suppressed as in the sanitizer runs.
    LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0" "$OUT/tls-fuzz" "$ROOT/fuzz/tls/corpus" "${FAILS[@]}" \
        -max_total_time="$SECONDS_TO_RUN" -max_len=2048 -timeout=20 \
        -artifact_prefix="$ROOT/fuzz/tls/regressions/" -print_final_stats=1
}

if [[ $TARGET == framing || $TARGET == all ]]; then fuzz_framing; fi
if [[ $TARGET == kv || $TARGET == all ]]; then fuzz_kv; fi
if [[ $TARGET == tls || $TARGET == all ]]; then fuzz_tls; fi
