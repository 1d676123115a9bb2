#!/usr/bin/env bash
# Latency at a fixed offered load, keel-kv beside redis-server: keel-bench's
# open loop at 100,000 and 200,000 requests/s for SET, GET, INCR, LPUSH,
# HSET, SADD and ZADD (see bench/scripts/kv_latency.py). Prints Markdown.
#
# Usage: bench/kv-latency.sh [RATE...]   SECONDS_PER_RUN=5 overrides.
#   Installs redis-server (Debian) when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ensure_command redis-server redis-server || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }
(cd "$ROOT" && swift build -c release --product keel-kv && swift build -c release --product keel-bench) >&2
python3 "$ROOT/bench/scripts/kv_latency.py" "$ROOT/.build/release/keel-kv" "$ROOT/.build/release/keel-bench" "$@"
