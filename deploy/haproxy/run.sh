#!/usr/bin/env bash
# Two Keel instances behind HAProxy on loopback, and keel-bench through it.
# Installs HAProxy if it is missing (Debian's package), builds Keel in
# release mode, starts everything on free ports, runs the load, prints each
# instance's share, and stops what it started.
#
# Usage: deploy/haproxy/run.sh [SECONDS=10] [KEEL-BENCH FLAGS...]
#   e.g. deploy/haproxy/run.sh 10 --conns 50 --pipeline 16
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/deploy/haproxy/common.sh"
SECONDS_TO_RUN=${1:-10}
shift || true
BENCH_FLAGS=("$@")
[ ${#BENCH_FLAGS[@]} -gt 0 ] || BENCH_FLAGS=(--conns 50 --pipeline 16)

ensure_haproxy
build_keel
trap stop_all EXIT
front=$(free_port); port1=$(free_port); port2=$(free_port)
start_keel 1 "$port1" --proxy-protocol v2
start_keel 2 "$port2" --proxy-protocol v2
start_haproxy "$front" "$port1" "$port2"
wait_until_up 1 && wait_until_up 2
echo "HAProxy on 127.0.0.1:$front -> keel on :$port1 and :$port2 (logs in $WORK)"
"$ROOT/.build/release/keel-bench" --port "$front" --duration "$SECONDS_TO_RUN" "${BENCH_FLAGS[@]}"
sleep 1.2  # one more statistics line from each instance
echo "messages received: instance 1 $(messages_in 1), instance 2 $(messages_in 2)"
