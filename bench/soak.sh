#!/usr/bin/env bash
# Soak and chaos: a mixed population against a release keel for SECONDS:
# keel-bench clients verifying every byte (sizes 1-4000, pipelined), slow
# readers, abrupt RST closers, garbage senders, 300 idle connections and
# connect/echo/close churn (bench/scripts/chaos.py). Then it checks: no
# mismatch for the normal clients, the server never died, and once everyone
# has left its descriptors, open connections and resident memory are back
# to baseline.
#
# Usage: bench/soak.sh [SECONDS=60]        Exit status 0 only if every check passed.
#   KEEL_FLAGS="--busy-poll 50" adds flags to the server's command line.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
SECONDS_TO_RUN=${1:-60}
PORT=${PORT:-7900}
LOG=$(mktemp /tmp/keel-soak.XXXXXX)
failures=0
check() { # check DESCRIPTION COMMAND...
    if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}

(cd "$ROOT" && swift build -c release --product keel && swift build -c release --product keel-bench) >&2
read -r -a extra_flags <<<"${KEEL_FLAGS:-}"
"$ROOT/.build/release/keel" --port "$PORT" --max-message 65536 --write-timeout 2 --stats-interval 1 \
    ${extra_flags[@]+"${extra_flags[@]}"} 2>"$LOG" &
SERVER_PID=$!
trap 'kill -TERM $SERVER_PID 2>/dev/null || true' EXIT
wait_for_port "$PORT"
sleep 0.5
fds_before=$(fd_count "$SERVER_PID")
rss_before=$(rss_kib "$SERVER_PID")

"$ROOT/.build/release/keel-bench" --port "$PORT" --conns 20 --pipeline 8 --size 1-4000 \
    --duration "$SECONDS_TO_RUN" --warmup 1 --quiet --json >"$LOG.bench" &
bench=$!
python3 "$ROOT/bench/scripts/chaos.py" "$PORT" "$SECONDS_TO_RUN" >"$LOG.chaos" &
chaos=$!
bench_status=0; wait "$bench" || bench_status=$?
chaos_status=0; wait "$chaos" || chaos_status=$?

echo "keel-bench: $(cat "$LOG.bench")"
echo "chaos:      $(cat "$LOG.chaos")"
check "normal clients: every echoed byte verified, none closed early" test "$bench_status" -eq 0
check "churn clients: every echo verified" test "$chaos_status" -eq 0
check "the server is still running" kill -0 "$SERVER_PID"
back_to_baseline() {
    for _ in $(seq 1 100); do
        [ "$(fd_count "$SERVER_PID")" -le "$fds_before" ] && return 0
        sleep 0.1
    done
    return 1
}
check "descriptors back to baseline ($fds_before)" back_to_baseline
sleep 2  # one more statistics line, and the loop's quiet-buffer memory release (1 s)
check "no connection open (last stats line says open=0)" grep -q "open=0 " <(grep "keel stats" "$LOG" | tail -1)
rss_after=$(rss_kib "$SERVER_PID")
echo "resident memory: $rss_before KiB before, $rss_after KiB after"
# A second after the last buffer was used the loop empties its pool and has
# malloc return free pages (Configuration.releaseMemoryAfterQuietMs).
check "resident memory back within 4 MiB of baseline" test $((rss_after - rss_before)) -le 4096
kill -TERM "$SERVER_PID"
server_status=0; wait "$SERVER_PID" || server_status=$?
trap - EXIT
check "the server exits 0 on SIGTERM" test "$server_status" -eq 0
grep "keel stopped" "$LOG" || true
rm -f "$LOG" "$LOG.bench" "$LOG.chaos"
[ "$failures" -eq 0 ]
