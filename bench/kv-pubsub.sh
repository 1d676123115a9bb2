#!/usr/bin/env bash
# Pub/sub fan-out, keel-kv beside redis-server: one publisher, 100 and
# 1,000 subscribers; messages delivered per second and server CPU per
# delivered message. See bench/scripts/kv_pubsub.py. Prints a Markdown table.
#
# Usage: bench/kv-pubsub.sh [SUBSCRIBERS...]   SECONDS_PER_RUN=5 overrides.
#   Installs redis-server (Debian) when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ensure_command redis-server redis-server || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }
(cd "$ROOT" && swift build -c release --product keel-kv) >&2
taskset -c "${CLIENT_CORE:-1}" python3 "$ROOT/bench/scripts/kv_pubsub.py" "$ROOT/.build/release/keel-kv" "$@"
