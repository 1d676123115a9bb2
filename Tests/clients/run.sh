#!/usr/bin/env bash
# keel-kv driven by clients written elsewhere (run by .ci/run): redis-py (with
# its default RESP3 and with protocol=2, sync and asyncio) over
# every command and big pipelines, redis-cli (commands, --pipe mass insertion
# of 100,000 SETs, --latency), the same command sequences against a real
# redis-server with the replies compared, a redis-server replica following
# keel-kv, keel-bench's RESP mode against both
# servers, and hostile clients. Anything that
# cannot be installed (redis-server and redis-tools from Debian, redis-py from
# PyPI) is skipped with a line that says so; the summary lists what ran.
#
# Usage: Tests/clients/run.sh       Exit status 0 only if every check that ran passed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/Tests/clients"
source "$HERE/checks.sh"
begin_checks keel-kv-clients

(cd "$ROOT" && swift build -c release --product keel-kv && swift build -c release --product keel-bench) >&2
KV_PORT=$(free_port)
"$ROOT/.build/release/keel-kv" --port "$KV_PORT" 2>"$WORK/keel-kv.log" &
KV_PID=$!
STARTED+=("$KV_PID")
wait_for_port "$KV_PORT"

if ensure_python_module redis redis; then
    if python3 "$HERE/kv_redis_py.py" "$KV_PORT"; then result ok "redis-py with its defaults (RESP3) and protocol=2: commands, PubSub, asyncio, pools, pipelines, transactions, client-side cache"; else
        result FAIL "redis-py (RESP3 and RESP2)"; fi
    if python3 "$HERE/kv_maxmemory.py" "$ROOT/.build/release/keel-kv"; then result ok "used_memory counts every value back to empty; --maxmemory evicts by policy, noeviction refuses (one loop and --threads 2)"; else
        result FAIL "used_memory and --maxmemory"; fi
else
    result SKIPPED "redis-py (could not be installed from PyPI)"
fi

if python3 "$HERE/kv_client_limit.py" "$ROOT/.build/release/keel-kv"; then result ok "--max-clients over two loops: all served up to it, the next told so and closed"; else
    result FAIL "--max-clients with --threads 2"; fi

# CLIENT PAUSE on both loops, checked first on redis-server where there is one.
if python3 "$HERE/kv_pause.py" "$ROOT/.build/release/keel-kv" $(command -v redis-server || true); then
    result ok "CLIENT PAUSE WRITE and ALL, UNPAUSE, held clients on both loops, no expiry while paused"; else
    result FAIL "CLIENT PAUSE and UNPAUSE"; fi

if ensure_command redis-cli redis-tools; then
    cli=(redis-cli -p "$KV_PORT")
    out=$("${cli[@]}" SET greeting hello; "${cli[@]}" GET greeting; "${cli[@]}" RPUSH l a b; "${cli[@]}" LRANGE l 0 -1;
        "${cli[@]}" NOSUCH x 2>&1)
    expected=$'OK\nhello\n2\na\nb\nERR unknown command \'NOSUCH\', with args beginning with: \'x\' '
    if [ "$out" = "$expected" ]; then result ok "redis-cli: commands"; else
        echo "redis-cli output: $out" >&2; result FAIL "redis-cli: commands"; fi
    out3=$("${cli[@]}" -3 HSET h3 f v a 1; "${cli[@]}" -3 HGETALL h3; "${cli[@]}" -3 ZADD z3 1.5 m; "${cli[@]}" -3 ZSCORE z3 m;
        "${cli[@]}" -3 GET nokey)
    expected3=$'2\nf v\na 1\n1\n1.5'
    if [ "$out3" = "$expected3" ]; then result ok "redis-cli -3 (RESP3: maps, doubles, nulls)"; else
        echo "redis-cli -3 output: $out3" >&2; result FAIL "redis-cli -3"; fi
    mass_sets mass >"$WORK/mass.resp"
    pipe=$("${cli[@]}" --pipe <"$WORK/mass.resp" 2>&1 || true)
    echo "$pipe" >&2
    if echo "$pipe" | grep -q "errors: 0, replies: 100000" && [ "$("${cli[@]}" GET mass:99999)" = value:99999 ]; then
        result ok "redis-cli --pipe: 100,000 SETs, 0 errors"; else result FAIL "redis-cli --pipe: 100,000 SETs, 0 errors"; fi
    latency=$(timeout 3 "${cli[@]}" --latency || true)
    echo "redis-cli --latency: $latency" >&2
    if [[ "$latency" =~ ^[0-9]+\ [0-9]+\ [0-9.]+\ [1-9][0-9]*$ ]]; then result ok "redis-cli --latency (min max avg samples: $latency)"; else
        result FAIL "redis-cli --latency"; fi
else
    result SKIPPED "redis-cli (redis-tools could not be installed)"
fi

if ensure_command redis-server redis-server; then
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
    STARTED+=($!)
    wait_for_port "$REDIS_PORT"
    if python3 "$HERE/kv_differential.py" "$REDIS_PORT" "$KV_PORT"; then result ok "replies identical to redis-server $(redis-server --version | grep -o 'v=[0-9.]*')"; else
        result FAIL "replies identical to redis-server"; fi
    if WORK="$WORK" python3 "$HERE/kv_replication.py" "$ROOT/.build/release/keel-kv" "$(command -v redis-server)"; then
        result ok "a redis-server replica follows keel-kv: snapshot, stream, the same dataset (one loop and --threads 2)"; else
        result FAIL "a redis-server replica follows keel-kv"; fi
    # keel-bench's RESP mode against a server it did not grow up with.
    if "$ROOT/.build/release/keel-bench" --protocol resp --port "$REDIS_PORT" --mix set:1,get:4,ping:1 \
        --keyspace 10000 --size 1-512 --conns 8 --pipeline 8 --duration 2 --warmup 0.5 --quiet >"$WORK/bench-redis.txt"
    then result ok "keel-bench --protocol resp against redis-server: every reply checked, clean"; else
        cat "$WORK/bench-redis.txt" >&2; result FAIL "keel-bench --protocol resp against redis-server"; fi
else
    result SKIPPED "comparison with redis-server (could not be installed)"
fi

if "$ROOT/.build/release/keel-bench" --protocol resp --port "$KV_PORT" --mix set:1,get:4,ping:1 --keyspace 10000 \
    --size 1-512 --conns 8 --pipeline 8 --duration 2 --warmup 0.5 --quiet >"$WORK/bench-kv.txt"
then result ok "keel-bench --protocol resp against keel-kv: every reply checked, clean"; else
    cat "$WORK/bench-kv.txt" >&2; result FAIL "keel-bench --protocol resp against keel-kv"; fi

if python3 "$HERE/kv_hostile.py" "$KV_PORT" "$KV_PID"; then result ok "hostile clients"; else result FAIL "hostile clients"; fi
kill -0 "$KV_PID" 2>/dev/null && result ok "keel-kv still running" || result FAIL "keel-kv still running"

# SHUTDOWN stops it as SIGTERM does: the process exits 0 within its drain.
if command -v redis-cli >/dev/null; then
    redis-cli -p "$KV_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    stopped=FAIL
    for _ in $(seq 1 100); do
        state=$(ps -o stat= -p "$KV_PID" 2>/dev/null || true)
        if [ -z "$state" ] || [[ "$state" == Z* ]]; then
            wait "$KV_PID" 2>/dev/null && stopped=ok
            break
        fi
        sleep 0.1
    done
    result "$stopped" "SHUTDOWN NOSAVE (redis-cli): keel-kv exits 0"
fi

end_checks "keel-kv with real clients"
