#!/usr/bin/env bash
# Instructions per request of keel-kv under redis-benchmark's SET and GET
# (100,000 each, pipeline 16, 10 connections, 100,000 random keys), counted
# by callgrind (repeatable on a noisy machine): the whole run less an idle
# start and stop, over the requests. With BASE, the same for keel-kv built
# at that commit (in a temporary worktree), for a before/after ratio.
# With WITH_BACKLOG=1, a replica (redis-cli --rdb) attaches and leaves
# first, so the replication backlog is kept and every write is encoded
# into it, as for an hour after a replica has gone.
#
# Usage: [WITH_BACKLOG=1] bench/kv-instructions.sh [BASE]      Needs valgrind and redis-tools.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ensure_command valgrind valgrind || { echo "valgrind is needed" >&2; exit 1; }
ensure_command redis-benchmark redis-tools || { echo "redis-benchmark is needed" >&2; exit 1; }
WORK=$(mktemp -d /tmp/kv-instructions.XXXXXX)
trap 'rm -rf "$WORK"; git -C "$ROOT" worktree remove --force "$WORK/base" 2>/dev/null || true' EXIT
REQUESTS=100000

# count BINARY: instructions per request.
count() {
    # valgrind 3.19 cannot read Swift 6.3's debug info: count on a copy without it.
    strip --strip-debug -o "$WORK/kv" "$1"
    local totals=() port mode pid
    for mode in idle load; do
        port=$(free_port)
        rm -f "$WORK"/cg.*
        taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" "$WORK/kv" --port "$port" \
            >/dev/null 2>&1 &
        pid=$!
        wait_for_port "$port"
        if [ -n "${WITH_BACKLOG:-}" ]; then
            redis-cli -p "$port" --rdb "$WORK/snapshot.rdb" >/dev/null 2>&1
        fi
        if [ "$mode" = load ]; then
            taskset -c 1 redis-benchmark -p "$port" -t set,get -n "$REQUESTS" -P 16 -c 10 -r 100000 -q >/dev/null
        fi
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null || true
        totals+=("$(callgrind_annotate "$WORK"/cg.* 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')")
    done
    echo $(((totals[1] - totals[0]) / (2 * REQUESTS)))
}

(cd "$ROOT" && swift build -c release --product keel-kv) >&2
head=$(count "$ROOT/.build/release/keel-kv")
tree=$(git -C "$ROOT" rev-parse --short HEAD)
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=normal -- Sources Package.swift)" ] ||
    tree="$tree with uncommitted changes"
echo "keel-kv at $tree: $head instructions per request"
if [ $# -ge 1 ]; then
    git -C "$ROOT" worktree add --force "$WORK/base" "$1" >/dev/null 2>&1
    (cd "$WORK/base" && swift build -c release --product keel-kv) >&2
    base=$(count "$WORK/base/.build/release/keel-kv")
    echo "keel-kv at $1: $base instructions per request"
    python3 -c "print('ratio: %.3f' % ($head / $base))"
fi
