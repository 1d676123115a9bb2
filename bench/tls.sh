#!/usr/bin/env bash
# TLS side by side, everything server-side pinned to SERVER_CORE and every
# client to CLIENT_CORE, all in one run:
#   1. redis-benchmark --tls (50 connections, P1 and P16, PING_MBULK, SET,
#      GET) against keel-kv --tls-port, redis-server --tls-port, and the
#      deployment README used to recommend: HAProxy terminating TLS in front
#      of plaintext keel-kv (server CPU = HAProxy's + keel-kv's); and the
#      same tests in plaintext against keel-kv and redis-server, for what TLS
#      itself costs each. Requests/s and server CPU per request, medians of
#      the rounds (bench/scripts/summarize_tls.py).
#   2. keel's echo, 50 connections x 16 pipelined x 64 B, plaintext and TLS:
#      server CPU per message (keel-bench --server-pid).
#   3. keel-bench's open loop over TLS (RESP SET/GET mix) at 100k and 300k
#      requests/s against keel-kv and redis-server: p99, p99.9, max.
# Certificates are made fresh (bench/scripts/tls_certificates.sh).
#
# Usage: bench/tls.sh [ROUNDS=2] [REQUESTS=200000]
#   Installs redis-server, redis-tools, HAProxy and openssl (Debian) when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
source "$ROOT/bench/scripts/tls_certificates.sh"
ROUNDS=${1:-2}
REQUESTS=${2:-200000}
PIPELINES=${PIPELINES:-1 16}
TESTS=${TESTS:-ping_mbulk,set,get}
SERVERS=${SERVERS:-keel-kv-tls redis-tls haproxy-tls keel-kv redis}
begin_run tls
for need in "redis-server redis-server" "redis-benchmark redis-tools" "haproxy haproxy" "openssl openssl"; do
    # shellcheck disable=SC2086
    ensure_command $need || { echo "${need%% *} is needed" >&2; exit 1; }
done
make_test_certificates "$OUT"
cat "$OUT/server.pem" "$OUT/server.key" >"$OUT/haproxy.pem"
(cd "$ROOT" && for product in keel keel-kv keel-bench; do swift build -c release --product "$product"; done) >&2
echo "results in $OUT" >&2
KV_TLS=(--tls-cert "$OUT/server.pem" --tls-key "$OUT/server.key")
# Every server negotiates the same TLS 1.3 suite: keel-kv's first choice
# (it prefers its own order, AES-128-GCM first); redis-server and HAProxy
# would follow the client's, which puts AES-256-GCM first.
SUITE=TLS_AES_128_GCM_SHA256
REDIS_TLS=(--tls-cert-file "$OUT/server.pem" --tls-key-file "$OUT/server.key" --tls-ca-cert-file "$OUT/ca.pem"
    --tls-auth-clients no --tls-ciphersuites "$SUITE")

cpu_seconds() { # cpu_seconds PID...: their user+system seconds, summed
    python3 -c "
import os, sys
total = 0
for pid in sys.argv[1:]:
    fields = open('/proc/%s/stat' % pid).read().rsplit(')', 1)[1].split()
    total += int(fields[11]) + int(fields[12])
print(total / os.sysconf('SC_CLK_TCK'))" "$@"
}

PIDS=()
stop_servers() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; PIDS=(); }
trap stop_servers EXIT

# start SERVER: sets PORT (where clients connect) and PIDS.
start() {
    PORT=$(free_port)
    local backend
    case "$1" in
        keel-kv-tls)
            taskset -c "$SERVER_CORE" "$ROOT/.build/release/keel-kv" --port 0 --tls-port "$PORT" "${KV_TLS[@]}" \
                --log-level warning &
            PIDS+=($!) ;;
        redis-tls)
            taskset -c "$SERVER_CORE" redis-server --port 0 --tls-port "$PORT" "${REDIS_TLS[@]}" --save "" \
                --appendonly no >/dev/null 2>&1 &
            PIDS+=($!) ;;
        haproxy-tls)
            backend=$(free_port)
            taskset -c "$SERVER_CORE" "$ROOT/.build/release/keel-kv" --port "$backend" --log-level warning &
            PIDS+=($!)
            wait_for_port "$backend"
            cat >"$OUT/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
    ssl-default-bind-ciphersuites $SUITE
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend tls
    bind 127.0.0.1:$PORT ssl crt $OUT/haproxy.pem
    default_backend kv
backend kv
    server kv 127.0.0.1:$backend
EOF
            taskset -c "$SERVER_CORE" haproxy -db -f "$OUT/haproxy.cfg" >"$OUT/haproxy.log" 2>&1 &
            PIDS+=($!) ;;
        keel-kv)
            taskset -c "$SERVER_CORE" "$ROOT/.build/release/keel-kv" --port "$PORT" --log-level warning &
            PIDS+=($!) ;;
        redis)
            taskset -c "$SERVER_CORE" redis-server --port "$PORT" --save "" --appendonly no >/dev/null 2>&1 &
            PIDS+=($!) ;;
    esac
    wait_for_port "$PORT"
}

# 1. redis-benchmark.
for round in $(seq 1 "$ROUNDS"); do
    for pipeline in $PIPELINES; do
        for server in $SERVERS; do
            start "$server"
            tls=()
            [[ "$server" == *-tls ]] && tls=(--tls --cacert "$OUT/ca.pem")
            for test in ${TESTS//,/ }; do
                name="$server-P$pipeline-$test-$round"
                before=$(cpu_seconds "${PIDS[@]}")
                taskset -c "$CLIENT_CORE" python3 "$ROOT/bench/scripts/timed.py" "$OUT/$name.client" "$OUT/$name.csv" -- \
                    redis-benchmark -p "$PORT" "${tls[@]}" -c 50 -n "$REQUESTS" -P "$pipeline" -t "$test" --csv \
                    2>/dev/null || echo "$name: redis-benchmark failed" >&2
                echo "$before $(cpu_seconds "${PIDS[@]}")" >"$OUT/$name.cpu"
            done
            stop_servers
        done
    done
done
python3 "$ROOT/bench/scripts/summarize_tls.py" "$OUT" "$REQUESTS" "$TESTS" "$SERVERS" $PIPELINES

# 2. Echo: TLS's own cost in keel.
echo
echo "### keel echo, 50 connections x 16 pipelined x 64 B, server CPU per message"
echo
echo "| transport | messages/s | server CPU µs/msg |"
echo "|---|---|---|"
for transport in plaintext tls; do
    port=$(free_port)
    flags=()
    client=()
    [ "$transport" = tls ] && flags=("${KV_TLS[@]}") && client=(--tls --tls-ca "$OUT/ca.pem")
    taskset -c "$SERVER_CORE" "$ROOT/.build/release/keel" --port "$port" --log-level warning "${flags[@]}" &
    PIDS+=($!)
    wait_for_port "$port"
    taskset -c "$CLIENT_CORE" "$ROOT/.build/release/keel-bench" --port "$port" "${client[@]}" --conns 50 --pipeline 16 \
        --size 64 --duration 5 --warmup 1 --quiet --json --server-pid "${PIDS[0]}" >"$OUT/echo-$transport.json"
    python3 -c "
import json, sys
r = json.load(open('$OUT/echo-$transport.json'))
print('| $transport | {:,.0f} | {:.3f} |'.format(r['msgs_per_s'], r['server_cpu_us_per_msg']))"
    stop_servers
done

# 3. Open-loop latency over TLS.
echo
echo "### keel-bench open loop over TLS, RESP set:1,get:4 over 10,000 keys, 50 connections, 10 s"
echo
echo "| server | rate req/s | p50 µs | p99 µs | p99.9 µs | max µs | unanswered |"
echo "|---|---|---|---|---|---|---|"
for rate in 100000 300000; do
    for server in keel-kv-tls redis-tls; do
        start "$server"
        taskset -c "$CLIENT_CORE" "$ROOT/.build/release/keel-bench" --port "$PORT" --tls --tls-ca "$OUT/ca.pem" \
            --protocol resp --mix set:1,get:4 --keyspace 10000 --conns 50 --rate "$rate" --duration 10 --warmup 2 \
            --quiet --json >"$OUT/open-$server-$rate.json" || true
        python3 -c "
import json
r = json.load(open('$OUT/open-$server-$rate.json'))
l = r['latency_us']
print('| $server | $rate | {:.0f} | {:.0f} | {:.0f} | {:.0f} | {} |'.format(l['p50'], l['p99'], l['p999'], l['max'], r['unanswered']))"
        stop_servers
    done
done
