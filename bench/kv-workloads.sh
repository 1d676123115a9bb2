#!/usr/bin/env bash
# A cache's real workload, keel-kv beside redis-server: a growing table,
# expiring keys, a 10M-key --pipe with a latency probe, mass deletes, KEYS
# and SCAN over 1M keys beside an open loop (see
# bench/scripts/kv_workloads.py for each). Prints a Markdown table
# (BENCHMARKS.md). Takes about 7 minutes.
#
# Usage: bench/kv-workloads.sh [growth|ttl|expiry|pipe|delete|keys|scan|quiet ...]
#   Installs redis-server and redis-tools (Debian) when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ensure_command redis-server redis-server && ensure_command redis-cli redis-tools ||
    { echo "redis-server and redis-cli are needed (apt-get install redis-server redis-tools)" >&2; exit 1; }
(cd "$ROOT" && swift build -c release --product keel-kv && swift build -c release --product keel-bench) >&2
taskset -c "${CLIENT_CORE:-1}" python3 "$ROOT/bench/scripts/kv_workloads.py" "$ROOT/.build/release/keel-kv" "$ROOT/.build/release/keel-bench" "$@"
