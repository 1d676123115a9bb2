#!/usr/bin/env bash
# Keel side by side with its peers: a minimal C epoll echo server
# (bench/peers/c) and a SwiftNIO echo server (bench/peers/nio).
#
# Each server runs pinned to one core and keel-bench to the other, in
# interleaved rounds (keel, c, nio, keel, c, nio, ...); the table shows
# medians with (min-max) and each peer's ratio to Keel.
#
# Usage: bench/compare.sh [ROUNDS=3] [SECONDS=5]
#   SKIP_NIO=1 leaves the SwiftNIO peer out (it takes minutes to build).
#   LOADS="1 1 64,50 16 64" runs only those loads (CONNS PIPELINE SIZE each);
#   SKIP_MEMORY=1 skips the 10,000-idle-connection memory measurement.
#   SERVERS="keel keel-busy app c nio" picks the servers; keel-busy is Keel
#   with --busy-poll BUSY_POLL_US (default 50) microseconds; app is an
#   application's own handler in its own package (bench/app).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-5}
WARMUP=${WARMUP:-1}
begin_run compare
read -r -a SERVERS <<<"${SERVERS:-keel c nio}"
[ "${SKIP_NIO:-0}" = 1 ] && SERVERS=("${SERVERS[@]/nio/}")
read -r -a SERVERS <<<"${SERVERS[*]}"
IFS=, read -r -a CONFIGS <<<"${LOADS:-1 1 64,50 16 64,1000 1 64,50 4 4000}"
export LOADS SKIP_MEMORY
PORT=${PORT:-7100}

build_all
echo "results in $OUT" >&2
for round in $(seq 1 "$ROUNDS"); do
    for config in "${CONFIGS[@]}"; do
        read -r conns pipeline size <<<"$config"
        for server in "${SERVERS[@]}"; do
            PORT=$((PORT + 1))
            start_server "$server" "$PORT"
            taskset -c "$CLIENT_CORE" "$ROOT/.build/release/keel-bench" --port "$PORT" --conns "$conns" \
                --pipeline "$pipeline" --size "$size" --duration "$SECONDS_PER_RUN" --warmup "$WARMUP" \
                --connect-rate 5000 --quiet --json --server-pid "$SERVER_PID" \
                >"$OUT/$server-$conns-$pipeline-$size-$round.json" \
                || echo "round $round $server $config: keel-bench failed" >&2
            stop_server
        done
    done
    # Resident memory holding 10,000 idle connections, beyond the empty server.
    [ "${SKIP_MEMORY:-0}" = 1 ] && continue
    for server in "${SERVERS[@]}"; do
        [ "$server" = keel-busy ] || [ "$server" = app ] && continue # keel's memory, another handler
        PORT=$((PORT + 1))
        start_server "$server" "$PORT" --max-clients 12000 --idle-timeout 600
        sleep 0.5
        before=$(rss_kib "$SERVER_PID")
        empty_fds=$(fd_count "$SERVER_PID")
        taskset -c "$CLIENT_CORE" "$ROOT/.build/release/keel-bench" --port "$PORT" --conns 1 --idle-conns 10000 \
            --connect-rate 20000 --duration 4 --warmup 0 --quiet --json >"$OUT/$server-idle-bench-$round.json" &
        bench=$!
        for _ in $(seq 1 100); do
            [ "$(($(fd_count "$SERVER_PID") - empty_fds))" -ge 10001 ] && break
            sleep 0.1
        done
        sleep 0.5
        held=$(rss_kib "$SERVER_PID")
        connections=$(($(fd_count "$SERVER_PID") - empty_fds))
        bench_ok=true
        wait "$bench" || bench_ok=false
        # The summary reports only runs that held all 10,001 connections and
        # whose keel-bench run was clean: anything else measured nothing.
        echo "{\"rss_empty_kib\": $before, \"rss_idle10k_kib\": $held, \"connections\": $connections, \"bench_ok\": $bench_ok}" \
            >"$OUT/$server-memory-$round.json"
        [ "$connections" -ge 10001 ] && [ "$bench_ok" = true ] ||
            echo "round $round $server memory: held $connections connections, keel-bench clean: $bench_ok" >&2
        stop_server
    done
done
python3 "$ROOT/bench/scripts/summarize.py" "$OUT" "${SERVERS[@]}"
