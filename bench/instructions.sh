#!/usr/bin/env bash
# User-space instructions per echoed message: Keel's echo fast path (keel),
# an application's own handler in its own package (app, bench/app: every
# message through messageReceived, as a real service pays), and the C
# reference, counted by valgrind's callgrind (repeatable on a noisy machine: it counts
# instructions, not time). Load: one connection, 64-byte messages pipelined
# 16 at a time. Each server runs twice under callgrind with keel-bench
# sending for SHORT and LONG seconds; (instructions(LONG) - instructions(SHORT))
# / (messages(LONG) - messages(SHORT)) cancels start-up and shutdown.
#
# Usage: bench/instructions.sh [SHORT=2] [LONG=6]
# PROTOCOL=line SERVERS=keel measures Keel's line format instead (the app
# and the C reference speak only the length prefix).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
SHORT=${1:-2}
LONG=${2:-6}
PORT=${PORT:-7800}
WORK=$(mktemp -d /tmp/keel-instructions.XXXXXX)

SERVERS=${SERVERS:-keel app c}
PROTOCOL=${PROTOCOL:-length}
if [ "$PROTOCOL" != length ] && [ "$SERVERS" != keel ]; then
    echo "PROTOCOL=$PROTOCOL needs SERVERS=keel (the app and the C reference speak only the length prefix)" >&2
    exit 2
fi
SKIP_NIO=1 build_all
(cd "$ROOT/bench/app" && swift build -c release) >&2
# valgrind 3.19 cannot read Swift 6.3's debug info: count on stripped copies.
strip --strip-debug -o "$WORK/keel" "$ROOT/.build/release/keel"
strip --strip-debug -o "$WORK/app" "$ROOT/bench/app/.build/release/KeelApp"
cp "$ROOT/.build-peers/echo-c" "$WORK/echo-c"

# run_one NAME SECONDS -> prints "instructions messages"
run_one() {
    local name=$1 seconds=$2
    PORT=$((PORT + 1))
    local command=("$WORK/echo-c" "$PORT")
    [ "$name" = keel ] && command=("$WORK/keel" --port "$PORT" --log-level warning --protocol "$PROTOCOL")
    [ "$name" = app ] && command=("$WORK/app" "$PORT")
    valgrind --tool=callgrind --callgrind-out-file="$WORK/$name-$seconds.out" "${command[@]}" \
        >/dev/null 2>"$WORK/$name-$seconds.log" &
    local server=$!
    wait_for_port "$PORT"
    local messages
    messages=$("$ROOT/.build/release/keel-bench" --port "$PORT" --conns 1 --pipeline 16 --size 64 --protocol "$PROTOCOL" \
        --duration "$seconds" --warmup 0.5 --quiet --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_messages"])')
    kill -TERM "$server"
    wait "$server" || true
    local collected
    collected=$(grep -oE "Collected : [0-9]+" "$WORK/$name-$seconds.log" | grep -oE "[0-9]+")
    echo "$collected $messages"
}

printf "%-6s %16s %12s %16s %12s %14s\n" server "instr (short)" "msgs" "instr (long)" "msgs" "instr/msg"
declare -A per
for name in $SERVERS; do
    read -r i1 m1 < <(run_one "$name" "$SHORT")
    read -r i2 m2 < <(run_one "$name" "$LONG")
    per[$name]=$(python3 -c "print(round(($i2 - $i1) / ($m2 - $m1), 1))")
    printf "%-6s %16s %12s %16s %12s %14s\n" "$name" "$i1" "$m1" "$i2" "$m2" "${per[$name]}"
done
for name in $SERVERS; do
    [ "$name" = c ] || [ -z "${per[c]:-}" ] && continue
    python3 -c "print(f'$name / c = {${per[$name]} / ${per[c]}:.2f}x instructions per message')"
done
[ -n "${per[app]:-}" ] && [ -n "${per[keel]:-}" ] && python3 -c "print(f'app / keel = {${per[app]} / ${per[keel]}:.2f}x (what an application handler pays over the echo fast path)')"
rm -rf "$WORK"
