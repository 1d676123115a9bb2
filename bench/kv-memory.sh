#!/usr/bin/env bash
# Memory per key, keel-kv beside redis-server: 1M strings, then 100k each of
# hashes, lists, sets of strings, sets of integers and sorted sets of 10
# elements, each server fresh per workload; and what FLUSHALL gives back.
# See bench/scripts/kv_memory.py. Prints a Markdown table (BENCHMARKS.md).
#
# Usage: bench/kv-memory.sh [WORKLOAD NAME...]
#   Installs redis-server (Debian) when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ensure_command redis-server redis-server || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }
(cd "$ROOT" && swift build -c release --product keel-kv) >&2
python3 "$ROOT/bench/scripts/kv_memory.py" "$ROOT/.build/release/keel-kv" "$@"
