#!/usr/bin/env bash
# Integration test through a real HAProxy (.ci/run runs it when HAProxy is
# installed or installable): two Keel instances taking PROXY v2 behind
# deploy/haproxy/haproxy.cfg. Checks:
#   1. echo integrity under load (keel-bench verifies every byte);
#   2. both instances receive traffic;
#   3. the real client address reaches Keel (the client's own port is logged
#      as client=, not HAProxy's);
#   4. when one instance is killed, its clients are cut off, their reconnects
#      succeed, the other instance's clients are unaffected, and new
#      connections all go to the live instance.
# Exit status 0 only if every check passed; 77 (skipped) if HAProxy cannot be
# installed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/deploy/haproxy/common.sh"
failures=0
check() { # check DESCRIPTION COMMAND...
    if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}

if ! ensure_haproxy; then
    echo "skipped: HAProxy is not installed and cannot be installed here"
    exit 77
fi
build_keel
trap stop_all EXIT
front=$(free_port); port1=$(free_port); port2=$(free_port)
start_keel 1 "$port1" --proxy-protocol v2 --log-level debug
start_keel 2 "$port2" --proxy-protocol v2 --log-level debug
start_haproxy "$front" "$port1" "$port2"
check "HAProxy's health checks (an echo after a PROXY v2 header) pass on both instances" \
    eval "wait_until_up 1 && wait_until_up 2"

# 1. Load through HAProxy, every byte verified.
bench_status=0
"$ROOT/.build/release/keel-bench" --port "$front" --conns 20 --pipeline 8 --size 1-4000 \
    --duration 5 --warmup 1 --quiet --json >"$WORK/bench.json" || bench_status=$?
echo "keel-bench: $(cat "$WORK/bench.json")"
check "echo integrity under load: no mismatch, error or early close" test "$bench_status" -eq 0

# 2. Both instances served a share (health checks alone are a few messages a second).
sleep 1.2
in1=$(messages_in 1); in2=$(messages_in 2); out1=$(messages_out 1); out2=$(messages_out 2)
echo "messages received/answered: instance 1 $in1/$out1, instance 2 $in2/$out2"
check "both instances receive and answer traffic" \
    test "${in1:-0}" -ge 10000 -a "${in2:-0}" -ge 10000 -a "${out1:-0}" -ge 10000 -a "${out2:-0}" -ge 10000

# 3. The client's own address, not HAProxy's, reaches Keel.
client_port=$(python3 "$HERE/clients.py" whoami "$front")
client_logged() { grep -q "client=127.0.0.1:$client_port " "$WORK/keel-1.log" "$WORK/keel-2.log"; }
check "the real client address (127.0.0.1:$client_port) reaches Keel" client_logged

# 4. Kill instance 1; its clients reconnect; new clients go to instance 2.
failover_status=0
python3 "$HERE/clients.py" failover "$front" "${KEEL_PID[1]}" "$WORK/keel-1.log" 20 "$WORK/new-ports" ||
    failover_status=$?
check "after one instance is killed: exactly its clients are cut off and reconnect, the others are unaffected, new ones are served" \
    test "$failover_status" -eq 0
all_on_instance_2() {
    local port
    [ -s "$WORK/new-ports" ] || return 1
    while read -r port; do
        grep -q "client=127.0.0.1:$port .*connection opened" "$WORK/keel-2.log" || return 1
    done <"$WORK/new-ports"
}
check "every new connection went to the live instance" all_on_instance_2
check "HAProxy marked the killed instance down" eval "sleep 1.5; grep -q 'keel1 is DOWN' '$WORK/haproxy.log'"
check "the live instance is still running" kill -0 "${KEEL_PID[2]}"

stop_all
trap - EXIT
if [ "$failures" -eq 0 ]; then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
exit $((failures > 0))
