#!/usr/bin/env bash
# Latency at a fixed offered load, Keel against the C reference: keel-bench
# in open loop (messages sent on a fixed schedule whatever the replies do;
# latency measured from each message's intended send time, so a stall is
# charged to every message it delays). Each server pinned to one core and
# keel-bench to the other, in interleaved rounds; prints medians (min-max)
# of p50, p99, p99.9 and max.
#
# Usage: bench/latency.sh [ROUNDS=5] [SECONDS=5] [RATE=20000] [CONNS=10]
#   SERVERS="keel keel-busy c" adds Keel with --busy-poll BUSY_POLL_US (50).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ROUNDS=${1:-5}
SECONDS_PER_RUN=${2:-5}
RATE=${3:-20000}
CONNS=${4:-10}
begin_run latency
PORT=${PORT:-7300}
read -r -a SERVERS <<<"${SERVERS:-keel c}"

SKIP_NIO=1 build_all
echo "results in $OUT" >&2
for round in $(seq 1 "$ROUNDS"); do
    for server in "${SERVERS[@]}"; do
        PORT=$((PORT + 1))
        start_server "$server" "$PORT"
        taskset -c "$CLIENT_CORE" "$ROOT/.build/release/keel-bench" --port "$PORT" --conns "$CONNS" \
            --rate "$RATE" --size 64 --duration "$SECONDS_PER_RUN" --warmup 1 --quiet --json \
            >"$OUT/$server-$round.json" || echo "round $round $server: keel-bench failed" >&2
        stop_server
    done
done
python3 - "$OUT" "$RATE" "$CONNS" "${SERVERS[@]}" <<'PY'
import glob, json, os, statistics, sys
out, rate, conns, servers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def spread(values):
    return f"{statistics.median(values):,.1f} ({min(values):,.1f}-{max(values):,.1f})" if values else "n/a"
print(f"\n{conns} connections, {int(rate):,} msg/s offered in total, 64 B, open loop; latency in µs\n")
print("| server | msg/s | p50 | p99 | p99.9 | max |")
print("|---|---|---|---|---|---|")
for server in servers:
    runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, f"{server}-*.json")))]
    cells = [spread([r["msgs_per_s"] for r in runs])]
    cells += [spread([r["latency_us"][k] for r in runs]) for k in ("p50", "p99", "p999", "max")]
    print(f"| {server} | " + " | ".join(cells) + " |")
PY
