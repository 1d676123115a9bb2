#!/usr/bin/env bash
# Server memory per idle connection, plaintext and TLS: keel (echo) holds
# CONNECTIONS idle connections opened by keel-bench (--idle-conns), each TLS
# one handshaken; the server's resident memory is read from /proc before
# the connections open and while they are held. The difference per
# connection is what one idle connection costs (Keel's slot and timeout
# nodes, the kernel's socket is not in it; for TLS, OpenSSL's session, with
# its record buffers released while idle). Then the same with CONNECTIONS
# clients that connect and stall in the middle of their handshake (a
# ClientHello's first bytes and nothing more), held until the handshake
# timeout cuts them. Prints a Markdown table (BENCHMARKS.md).
#
# Usage: bench/tls-memory.sh [CONNECTIONS=10000]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
source "$ROOT/bench/scripts/tls_certificates.sh"
CONNECTIONS=${1:-10000}
ensure_command openssl openssl || { echo "openssl is needed (apt-get install openssl)" >&2; exit 1; }
begin_run tls-memory
make_test_certificates "$OUT"
(cd "$ROOT" && swift build -c release --product keel && swift build -c release --product keel-bench) >&2
ulimit -n "$(ulimit -Hn)"  # the server and keel-bench each hold CONNECTIONS descriptors

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# measure LABEL [KEEL FLAGS...] -- [KEEL-BENCH FLAGS...]: prints "LABEL before held".
measure() {
    local label=$1 port
    shift
    local server_flags=() bench_flags=()
    while [ "$1" != -- ]; do server_flags+=("$1"); shift; done
    shift
    bench_flags=("$@")
    port=$(free_port)
    start_server keel "$port" --max-clients $((CONNECTIONS + 100)) --idle-timeout 120 "${server_flags[@]}"
    sleep 1
    local before held
    before=$(rss_kib "$SERVER_PID")
    local seconds=$((CONNECTIONS / 1000 + 8))
    taskset -c "$CLIENT_CORE" "$ROOT/.build/release/keel-bench" --port "$port" --conns 1 --idle-conns "$CONNECTIONS" \
        --connect-rate 2000 --connect-timeout 20 --duration "$seconds" --warmup 0 --quiet "${bench_flags[@]}" \
        >"$OUT/$label.bench" &
    local bench=$!
    sleep $((CONNECTIONS / 2000 + 5))
    held=$(rss_kib "$SERVER_PID")
    wait "$bench" || true
    stop_server
    echo "$label $before $held"
}

stall() { # stall PORT: CONNECTIONS clients send half a ClientHello and wait
    python3 - "$1" "$CONNECTIONS" <<'EOF'
import socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
hello = bytes.fromhex("16030100c4010000c00303") + bytes(16)  # a record and handshake header, then nothing
sockets = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(hello)
    sockets.append(s)
time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 4)
EOF
}

plain=$(measure plaintext --)
tls=$(measure tls --tls-cert "$OUT/server.pem" --tls-key "$OUT/server.key" -- --tls --tls-ca "$OUT/ca.pem")

# Stalled handshakes: held until the handshake timeout (5 s here).
port=$(free_port)
start_server keel "$port" --max-clients $((CONNECTIONS + 100)) --tls-cert "$OUT/server.pem" --tls-key "$OUT/server.key" \
    --tls-handshake-timeout 5
sleep 1
stalled_before=$(rss_kib "$SERVER_PID")
stall "$port" &
STALLER=$!
sleep 3
stalled_held=$(rss_kib "$SERVER_PID")
wait "$STALLER" || true
sleep 4
stalled_after=$(rss_kib "$SERVER_PID")
kill -USR1 "$SERVER_PID"
sleep 0.5
stop_server

per() { python3 -c "print(f'{($2 - $1) * 1024 / $CONNECTIONS:,.0f}')"; }
read -r _ p0 p1 <<<"$plain"
read -r _ t0 t1 <<<"$tls"
echo
echo "| $CONNECTIONS idle connections | server RSS before | while held | per connection |"
echo "|---|---|---|---|"
echo "| plaintext | $((p0 / 1024)) MiB | $((p1 / 1024)) MiB | $(per "$p0" "$p1") B |"
echo "| TLS, handshaken | $((t0 / 1024)) MiB | $((t1 / 1024)) MiB | $(per "$t0" "$t1") B |"
echo "| TLS, stalled mid-handshake | $((stalled_before / 1024)) MiB | $((stalled_held / 1024)) MiB | $(per "$stalled_before" "$stalled_held") B |"
echo
echo "TLS's own cost per idle connection: $(python3 -c "print(f'{(($t1 - $t0) - ($p1 - $p0)) * 1024 / $CONNECTIONS:,.0f}')") B;"
echo "stalled handshakes cut at the 5 s timeout: RSS $((stalled_after / 1024)) MiB afterwards"
