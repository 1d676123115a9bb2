#!/usr/bin/env bash
# A cache under maxmemory, keel-kv beside redis-server: Zipf-distributed GETs
# over a million keys, a SET after each miss, the same limit and policy on
# both; hit ratio, keys held, memory and CPU per request. See
# bench/scripts/kv_cache.py. Prints a Markdown table (BENCHMARKS.md).
#
# Usage: bench/kv-cache.sh [LIMIT [POLICY...]]      (default: 32mb allkeys-lru allkeys-random)
#   Installs redis-server (Debian), redis-py and numpy (pip) when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ensure_command redis-server redis-server || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }
ensure_python_module redis redis || { echo "redis-py is needed (pip install redis)" >&2; exit 1; }
ensure_python_module numpy numpy || { echo "numpy is needed (pip install numpy)" >&2; exit 1; }
(cd "$ROOT" && swift build -c release --product keel-kv) >&2
cd "$ROOT/bench/scripts"
python3 kv_cache.py "$ROOT/.build/release/keel-kv" "$@"
