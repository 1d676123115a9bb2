#!/usr/bin/env bash
# keel-kv side by side with redis-server, judged by redis-benchmark.
#
# Each round starts a fresh server (pinned to SERVER_CORE) per server and
# pipeline depth and runs redis-benchmark (pinned to CLIENT_CORE) once per
# test, reading the server's CPU time from /proc and redis-benchmark's own
# from getrusage around each run; then stops the server. Rounds interleave
# the servers. The summary shows per test the median requests/s and p50/p99
# latency of each server, the keel-kv/redis ratio and its geometric mean,
# each server's CPU per request, and how busy redis-benchmark's core was
# (near 100%, it is the limit, and server CPU per request is the fairer
# comparison).
#
# Usage: bench/redis.sh [ROUNDS=3] [REQUESTS=200000]
#   PIPELINES="1 16" CLIENTS=50 THREADS=1 (keel-kv --threads) TESTS=... override.
#   Installs redis-server and redis-tools (Debian) when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ROUNDS=${1:-3}
REQUESTS=${2:-200000}
PIPELINES=${PIPELINES:-1 16}
CLIENTS=${CLIENTS:-50}
THREADS=${THREADS:-1}
TESTS=${TESTS:-ping_inline,ping_mbulk,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_300,lrange_500,lrange_600,mset}
begin_run redis
ensure_command redis-server redis-server && ensure_command redis-benchmark redis-tools ||
    { echo "redis-server and redis-benchmark are needed (apt-get install redis-server redis-tools)" >&2; exit 1; }
(cd "$ROOT" && swift build -c release --product keel-kv) >&2
echo "results in $OUT" >&2

cpu_seconds() { python3 -c "
import os, sys
fields = open('/proc/$1/stat').read().rsplit(')', 1)[1].split()
print((int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK'))"; }

for round in $(seq 1 "$ROUNDS"); do
    for pipeline in $PIPELINES; do
        for server in keel-kv redis; do
            PORT=$(free_port)
            if [ "$server" = redis ]; then
                taskset -c "$SERVER_CORE" redis-server --port "$PORT" --save "" --appendonly no >/dev/null 2>&1 &
            else
                taskset -c "$SERVER_CORE" "$ROOT/.build/release/keel-kv" --port "$PORT" --threads "$THREADS" \
                    --log-level warning &
            fi
            SERVER_PID=$!
            wait_for_port "$PORT"
            for test in ${TESTS//,/ }; do
                name="$server-P$pipeline-$test-$round"
                before=$(cpu_seconds "$SERVER_PID")
                taskset -c "$CLIENT_CORE" python3 "$ROOT/bench/scripts/timed.py" "$OUT/$name.client" "$OUT/$name.csv" -- \
                    redis-benchmark -p "$PORT" -c "$CLIENTS" -n "$REQUESTS" -P "$pipeline" -t "$test" --csv 2>/dev/null ||
                    echo "$name: redis-benchmark failed" >&2
                echo "$before $(cpu_seconds "$SERVER_PID")" >"$OUT/$name.cpu"
            done
            stop_server
        done
    done
done
python3 "$ROOT/bench/scripts/summarize_redis.py" "$OUT" "$REQUESTS" "$TESTS" $PIPELINES
