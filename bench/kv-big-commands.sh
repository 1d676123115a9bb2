#!/usr/bin/env bash
# One command over a big collection (1M members), keel-kv beside
# redis-server: how long each holds its server, and resident memory after
# the big values are deleted (bench/scripts/kv_big_commands.py says what
# runs). Prints Markdown.
#
# Usage: bench/kv-big-commands.sh [ROUNDS=1]
#   SERVER_CORE=0 CLIENT_CORE=1 override. Installs redis-server (Debian) when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ensure_command redis-server redis-server ||
    { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }
(cd "$ROOT" && swift build -c release --product keel-kv) >&2
cd "$ROOT/bench/scripts"
taskset -c "${CLIENT_CORE:-1}" python3 kv_big_commands.py "$ROOT/.build/release/keel-kv" "$@"
