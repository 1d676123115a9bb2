#!/usr/bin/env bash
# How each backend's cost grows with open connections: 10 active connections
# (pipeline 4, 64 B) plus idle ones, for 10, 1,000 and 10,000 open in total.
# poll hands the kernel every descriptor on every wakeup (O(connections));
# epoll returns only the ready ones (O(ready)). Reports the active
# connections' throughput and the server's CPU time per message.
#
# Usage: bench/backends.sh [ROUNDS=3] [SECONDS=5]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-5}
begin_run backends
PORT=${PORT:-7600}
MODES=("epoll" "epoll-edge" "poll")
TOTALS=(10 1000 10000)

SKIP_NIO=1 build_all
echo "results in $OUT" >&2
for round in $(seq 1 "$ROUNDS"); do
    for total in "${TOTALS[@]}"; do
        for mode in "${MODES[@]}"; do
            PORT=$((PORT + 1))
            flags=(--backend "${mode%-edge}" --max-clients 12000 --idle-timeout 600)
            [ "$mode" = epoll-edge ] && flags+=(--edge-triggered)
            start_server keel "$PORT" "${flags[@]}"
            taskset -c "$CLIENT_CORE" "$ROOT/.build/release/keel-bench" --port "$PORT" --conns 10 \
                --idle-conns $((total - 10)) --connect-rate 20000 --pipeline 4 --size 64 \
                --duration "$SECONDS_PER_RUN" --warmup 1 --quiet --json --server-pid "$SERVER_PID" \
                >"$OUT/$mode-$total-$round.json" || echo "round $round $mode $total: keel-bench failed" >&2
            stop_server
        done
    done
done
python3 - "$OUT" "${MODES[@]}" <<'PY'
import glob, json, os, statistics, sys
out, modes = sys.argv[1], sys.argv[2:]
def runs(mode, total):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, f"{mode}-{total}-*.json")))]
def cell(values, digits):
    if not values: return "n/a"
    f = "{:,.%df}" % digits
    return f"{f.format(statistics.median(values))} ({f.format(min(values))}-{f.format(max(values))})"
print("\n| open connections (10 active) | " + " | ".join(f"{m} msg/s | {m} CPU µs/msg" for m in modes) + " |")
print("|---" * (1 + 2 * len(modes)) + "|")
for total in (10, 1000, 10000):
    row = []
    for mode in modes:
        r = runs(mode, total)
        row.append(cell([x["msgs_per_s"] for x in r], 0))
        row.append(cell([x["server_cpu_us_per_msg"] for x in r if x.get("server_cpu_us_per_msg") is not None], 2))
    print(f"| {total:,} | " + " | ".join(row) + " |")
PY
