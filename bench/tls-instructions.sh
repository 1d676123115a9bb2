#!/usr/bin/env bash
# User-space instructions per request over TLS and in plaintext, keel-kv
# beside redis-server, counted by callgrind (repeatable on a noisy machine):
# redis-benchmark SET and GET, REQUESTS each, pipeline 16, 50 connections,
# 100,000 random keys. Each count is a loaded run less a baseline run that
# makes the same connections (and TLS handshakes) and sends one request on
# each, over the requests between them: the per-request cost, without
# start-up or handshakes. Split by library: OpenSSL (libssl + libcrypto),
# the allocator and libc, and the rest (the server itself, and the Swift
# runtime for keel-kv). The kernel's share (the TCP stack, wakeups) is not
# counted here: perf says it is about half of either server's CPU over TLS.
# Both servers negotiate TLS_AES_128_GCM_SHA256 (as bench/tls.sh).
#
# Usage: bench/tls-instructions.sh [REQUESTS=100000]
#   Needs valgrind, redis-server, redis-tools and openssl (installed when missing).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
source "$ROOT/bench/scripts/tls_certificates.sh"
REQUESTS=${1:-100000}
CONNECTIONS=50
for need in "valgrind valgrind" "redis-server redis-server" "redis-benchmark redis-tools" "openssl openssl"; do
    # shellcheck disable=SC2086
    ensure_command $need || { echo "${need%% *} is needed" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/tls-instructions.XXXXXX)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
make_test_certificates "$WORK"
(cd "$ROOT" && swift build -c release --product keel-kv) >&2
# valgrind 3.19 cannot read Swift 6.3's debug info: count on a copy without it.
strip --strip-debug -o "$WORK/keel-kv" "$ROOT/.build/release/keel-kv"
SUITE=TLS_AES_128_GCM_SHA256

# run SERVER TRANSPORT REQUESTS: callgrind's instructions by object, one
# "object count" line each, for a server run serving REQUESTS of each test.
run() {
    local server=$1 transport=$2 requests=$3 port args=() client=()
    port=$(free_port)
    case "$server/$transport" in
        keel-kv/plain) args=("$WORK/keel-kv" --port "$port") ;;
        keel-kv/tls) args=("$WORK/keel-kv" --port 0 --tls-port "$port" --tls-cert "$WORK/server.pem"
            --tls-key "$WORK/server.key") ;;
        redis-server/plain) args=(redis-server --port "$port" --save "" --appendonly no) ;;
        redis-server/tls) args=(redis-server --port 0 --tls-port "$port" --tls-cert-file "$WORK/server.pem"
            --tls-key-file "$WORK/server.key" --tls-ca-cert-file "$WORK/ca.pem" --tls-auth-clients no
            --tls-ciphersuites "$SUITE" --save "" --appendonly no) ;;
    esac
    [ "$transport" = tls ] && client=(--tls --cacert "$WORK/ca.pem")
    rm -f "$WORK"/cg.*
    taskset -c "$SERVER_CORE" valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" "${args[@]}" \
        >/dev/null 2>&1 &
    SERVER_PID=$!
    wait_for_port "$port"
    taskset -c "$CLIENT_CORE" redis-benchmark "${client[@]}" -p "$port" -t set,get -n "$requests" -P 16 \
        -c "$CONNECTIONS" -r 100000 -q >/dev/null
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    callgrind_annotate --threshold=100 "$WORK"/cg.* 2>/dev/null | awk '
        /PROGRAM TOTALS/ { next }
        /^ *[0-9,]+ \(/ { n = $1; gsub(",", "", n); object = $NF; sub(/.*\//, "", object); sub(/\]$/, "", object)
                         if (object ~ /^lib(ssl|crypto)/) group = "openssl"
                         else if (object ~ /^lib(c|jemalloc)[.-]/) group = "libc"
                         else group = "server"
                         total[group] += n }
        END { for (g in total) print g, total[g] }'
}

echo "| server | transport | instructions/request | OpenSSL | libc and allocator | server and runtime |"
echo "|---|---|---|---|---|---|"
for server in keel-kv redis-server; do
    for transport in plain tls; do
        base=$(run "$server" "$transport" "$CONNECTIONS")
        load=$(run "$server" "$transport" "$REQUESTS")
        python3 - "$server" "$transport" "$((2 * (REQUESTS - CONNECTIONS)))" "$base" "$load" <<'EOF'
import sys
server, transport, requests = sys.argv[1], sys.argv[2], int(sys.argv[3])
def parse(text):
    return {g: int(n) for g, n in (line.split() for line in text.splitlines() if line.strip())}
base, load = parse(sys.argv[4]), parse(sys.argv[5])
per = {g: (load.get(g, 0) - base.get(g, 0)) / requests for g in ("openssl", "libc", "server")}
print("| %s | %s | %s | %s | %s | %s |" % (server, transport, format(round(sum(per.values())), ","),
      *(format(round(per[g]), ",") for g in ("openssl", "libc", "server"))))
EOF
    done
done
