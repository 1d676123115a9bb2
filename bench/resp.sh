#!/usr/bin/env bash
# keel-bench's RESP mode checked against redis-benchmark, side by side in one
# run, on redis-server and on keel-kv.
#
# 1. Closed loop: for each server, pipeline depth and test (SET, GET), one
#    redis-benchmark run and one keel-bench run, each pinned to CLIENT_CORE
#    with the server alone on SERVER_CORE; requests/s of each, the ratio
#    keel-bench / redis-benchmark, and the CPU each client and the server
#    spent per request (a client that saturates its core measures itself).
# 2. A stall: an open-loop keel-bench run (RATE requests/s) and a closed-loop
#    redis-benchmark run, during each of which the server is stopped
#    (SIGSTOP) for STALL_MS in the middle; their percentiles show whether the
#    stall is seen.
#
# Usage: bench/resp.sh [ROUNDS=3] [REQUESTS=400000]
#   SERVERS="redis keel-kv" PIPELINES="1 16" CLIENTS=50 SIZE=3 KEYSPACE=100000
#   SECONDS_PER_RUN=3 RATE=20000 STALL_MS=200 STALL_REQUESTS=800000 SKIP_STALL=1
#   override.
#   Installs redis-server and redis-tools (Debian) when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ROUNDS=${1:-3}
REQUESTS=${2:-400000}
read -r -a SERVERS <<<"${SERVERS:-redis keel-kv}"
PIPELINES=${PIPELINES:-1 16}
CLIENTS=${CLIENTS:-50}
SIZE=${SIZE:-3}
KEYSPACE=${KEYSPACE:-100000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
RATE=${RATE:-20000}
STALL_MS=${STALL_MS:-200}
STALL_REQUESTS=${STALL_REQUESTS:-800000}
begin_run resp
ensure_command redis-server redis-server && ensure_command redis-benchmark redis-tools ||
    { echo "redis-server and redis-benchmark are needed (apt-get install redis-server redis-tools)" >&2; exit 1; }
(cd "$ROOT" && swift build -c release --product keel-kv && swift build -c release --product keel-bench) >&2
BENCH="$ROOT/.build/release/keel-bench"
TIMED="$ROOT/bench/scripts/timed.py"
echo "results in $OUT" >&2

start_resp_server() { # NAME PORT: sets SERVER_PID
    if [ "$1" = redis ]; then
        taskset -c "$SERVER_CORE" redis-server --port "$2" --save "" --appendonly no >/dev/null 2>&1 &
    else
        taskset -c "$SERVER_CORE" "$ROOT/.build/release/keel-kv" --port "$2" --log-level warning &
    fi
    SERVER_PID=$!
    wait_for_port "$2"
}

server_cpu() { python3 -c "
import os
fields = open('/proc/$1/stat').read().rsplit(')', 1)[1].split()
print((int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK'))"; }

# run_client NAME -- COMMAND...: runs it pinned, records its output, its CPU and the server's.
run_client() {
    local name=$1
    shift 2
    local before
    before=$(server_cpu "$SERVER_PID")
    taskset -c "$CLIENT_CORE" python3 "$TIMED" "$OUT/$name.cpu" "$OUT/$name.out" -- "$@" ||
        echo "$name: the client failed" >&2
    echo "$before $(server_cpu "$SERVER_PID")" >"$OUT/$name.server"
}

for round in $(seq 1 "$ROUNDS"); do
    for server in "${SERVERS[@]}"; do
        PORT=$(free_port)
        start_resp_server "$server" "$PORT"
        for pipeline in $PIPELINES; do
            for test in set get; do
                run_client "$server-P$pipeline-$test-redis-benchmark-$round" -- redis-benchmark -p "$PORT" \
                    -c "$CLIENTS" -n "$REQUESTS" -P "$pipeline" -t "$test" -r "$KEYSPACE" -d "$SIZE" --csv
                run_client "$server-P$pipeline-$test-keel-bench-$round" -- "$BENCH" --port "$PORT" --protocol resp \
                    --command "$test" --keyspace "$KEYSPACE" --size "$SIZE" --conns "$CLIENTS" \
                    --pipeline "$pipeline" --duration "$SECONDS_PER_RUN" --warmup 1 --quiet --json
            done
        done
        stop_server
    done
done

# The stall: SIGSTOP for STALL_MS, a little after the middle of each run.
STALL_SECONDS=$(python3 -c "print($STALL_MS / 1000)")
stall_after() { # SECONDS
    sleep "$1"
    kill -STOP "$SERVER_PID"
    sleep "$STALL_SECONDS"
    kill -CONT "$SERVER_PID"
}
if [ "${SKIP_STALL:-0}" != 1 ]; then
    for server in "${SERVERS[@]}"; do
        PORT=$(free_port)
        start_resp_server "$server" "$PORT"
        # keel-bench: 1 s warm-up (after its preload), 6 s measured; stall at about 4 s.
        stall_after 4 &
        staller=$!
        run_client "$server-stall-keel-bench" -- "$BENCH" --port "$PORT" --protocol resp --command get \
            --keyspace "$KEYSPACE" --size "$SIZE" --conns "$CLIENTS" --rate "$RATE" --duration 6 --warmup 1 \
            --quiet --json
        wait "$staller"
        # redis-benchmark, closed loop at the same concurrency (STALL_REQUESTS
        # should take it several seconds); the stall 2 s in.
        stall_after 2 &
        staller=$!
        run_client "$server-stall-redis-benchmark" -- redis-benchmark -p "$PORT" -c "$CLIENTS" -n "$STALL_REQUESTS" \
            -P 1 -t get -r "$KEYSPACE" -d "$SIZE" --csv
        wait "$staller"
        stop_server
    done
fi
python3 "$ROOT/bench/scripts/summarize_resp.py" "$OUT" "${SERVERS[@]}"
