#!/usr/bin/env bash
# Geospatial commands over 1,000,000 points, keel-kv beside redis-server:
# loading, searches, positions and distances under redis-benchmark, with
# server CPU per request and resident memory
# (bench/scripts/kv_geo.py says what runs). Prints Markdown.
#
# Usage: bench/kv-geo.sh [ROUNDS=1] [REQUESTS=100000]
#   SERVER_CORE=0 CLIENT_CORE=1 override. Installs redis-server and
#   redis-tools (Debian) when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ensure_command redis-server redis-server && ensure_command redis-benchmark redis-tools ||
    { echo "redis-server and redis-benchmark are needed (apt-get install redis-server redis-tools)" >&2; exit 1; }
(cd "$ROOT" && swift build -c release --product keel-kv) >&2
cd "$ROOT/bench/scripts"
taskset -c "${CLIENT_CORE:-1}" python3 kv_geo.py "$ROOT/.build/release/keel-kv" "$@"
