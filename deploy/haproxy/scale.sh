#!/usr/bin/env bash
# Scaling out on this machine, side by side in interleaved rounds:
#   threads-1   one keel, one loop
#   threads-2   one keel, two loops on one port (SO_REUSEPORT)
#   haproxy-2   two keel instances (one loop each, PROXY v2) behind HAProxy
# keel-bench drives each with the same load. Nothing is pinned: servers,
# HAProxy and the load generator share the machine's cores, as they would
# on one host. Prints a table of medians (min-max).
#
# Usage: deploy/haproxy/scale.sh [ROUNDS=3] [SECONDS=5]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/deploy/haproxy/common.sh"
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-5}
LOADS=("50 16 64" "50 1 64")
SETUPS=(threads-1 threads-2 haproxy-2)

ensure_haproxy
build_keel
trap stop_all EXIT
echo "results in $WORK" >&2
for round in $(seq 1 "$ROUNDS"); do
    for load in "${LOADS[@]}"; do
        read -r conns pipeline size <<<"$load"
        for setup in "${SETUPS[@]}"; do
            STARTED_PIDS=()
            port1=$(free_port)
            case "$setup" in
                threads-1) start_keel 1 "$port1" --log-level warning; target=$port1 ;;
                threads-2) start_keel 1 "$port1" --log-level warning --threads 2; target=$port1 ;;
                haproxy-2)
                    port2=$(free_port); target=$(free_port)
                    start_keel 1 "$port1" --log-level warning --proxy-protocol v2
                    start_keel 2 "$port2" --log-level warning --proxy-protocol v2
                    start_haproxy "$target" "$port1" "$port2"
                    sleep 1.5  # two health checks: both instances up
                    ;;
            esac
            "$ROOT/.build/release/keel-bench" --port "$target" --conns "$conns" --pipeline "$pipeline" \
                --size "$size" --duration "$SECONDS_PER_RUN" --warmup 1 --quiet --json \
                >"$WORK/$setup-$conns-$pipeline-$size-$round.json" ||
                echo "round $round $setup $load: keel-bench failed" >&2
            stop_all
        done
    done
done
python3 - "$WORK" "${SETUPS[@]}" <<'PY'
import glob, json, os, statistics, sys
out, setups = sys.argv[1], sys.argv[2:]
loads = [("50", "16", "64"), ("50", "1", "64")]
def spread(values, digits=0):
    if not values: return "n/a"
    f = "{:,.%df}" % digits
    return f"{f.format(statistics.median(values))} ({f.format(min(values))}-{f.format(max(values))})"
print("\n| load | setup | msg/s | p50 µs | p99 µs | msg/s vs threads-1 |")
print("|---|---|---|---|---|---|")
for conns, pipeline, size in loads:
    base = None
    for setup in setups:
        runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, f"{setup}-{conns}-{pipeline}-{size}-*.json")))]
        rates = [r["msgs_per_s"] for r in runs]
        median = statistics.median(rates) if rates else 0
        base = median if base is None else base
        ratio = f"{median / base:.2f}x" if base else "n/a"
        print(f"| {conns} conns × pipeline {pipeline} × {size} B | {setup} | {spread(rates)} | "
              f"{spread([r['latency_us']['p50'] for r in runs], 1)} | {spread([r['latency_us']['p99'] for r in runs], 1)} | {ratio} |")
PY
