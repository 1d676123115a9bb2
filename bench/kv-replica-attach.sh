#!/usr/bin/env bash
# A replica attaching to a loaded server, keel-kv beside redis-server: how
# long the snapshot takes and what a PING probe waits meanwhile. See
# bench/scripts/kv_replica_attach.py. Prints a Markdown table (BENCHMARKS.md).
#
# Usage: bench/kv-replica-attach.sh [KEYS] [ROUNDS]     (1000000 keys, 2 rounds)
#   Installs redis-server (Debian) when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ensure_command redis-server redis-server || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }
(cd "$ROOT" && swift build -c release --product keel-kv) >&2
python3 "$ROOT/bench/scripts/kv_replica_attach.py" "$ROOT/.build/release/keel-kv" "$@"
