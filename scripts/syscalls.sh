#!/usr/bin/env bash
# Holds the README's claims about Keel's system calls in steady-state echo:
# one read per readiness, at most one write per read, no epoll_ctl. A release
# keel (pinned to core 0) echoes keel-bench's 50 connections × 16 pipelined
# 64-byte messages (core 1); after the warm-up, strace records 2 s of the
# server's epoll_wait/read/write/epoll_ctl calls, and the counts are checked:
#   - epoll_ctl: none (write interest is armed only when a socket does not
#     take everything, which does not happen here);
#   - reads: one per readiness: equal to the events the waits returned, less
#     the few that were the timer's, the waker's or the listener's;
#   - writes (sendto/sendmsg/writev): at most one per read.
# strace slows the server, not what it decides. Installs strace (Debian) when
# missing; exits 77 (skipped) if it cannot.
#
# Usage: scripts/syscalls.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/scripts/lib.sh"
ensure_command strace strace || { echo "skipped: strace is not installed and cannot be installed"; exit 77; }
(cd "$ROOT" && swift build -c release --product keel && swift build -c release --product keel-bench) >&2
WORK=$(mktemp -d /tmp/keel-syscalls.XXXXXX)
PORT=$(free_port)
start_server keel "$PORT"
trap 'stop_server; rm -rf "$WORK"' EXIT
taskset -c "$CLIENT_CORE" "$ROOT/.build/release/keel-bench" --port "$PORT" --conns 50 --pipeline 16 --size 64 \
    --duration 6 --warmup 2 --quiet --json >"$WORK/bench.json" &
bench=$!
sleep 3
timeout -s INT 2 strace -f -qq -e trace=epoll_wait,epoll_pwait,read,sendto,sendmsg,writev,write,epoll_ctl \
    -o "$WORK/trace" -p "$SERVER_PID" || true
bench_status=0
wait "$bench" || bench_status=$?
[ "$bench_status" -eq 0 ] || { echo "FAIL keel-bench did not run clean: $(cat "$WORK/bench.json")"; exit 1; }
python3 - "$WORK/trace" <<'PY'
import re, sys
events = reads = writes = ctls = waits = 0
started = False
# The trace ends where strace detached: the last wait's events may be
# served by reads (and those by writes) it did not see. A wait's events,
# and the reads and writes after it, count once the next wait shows that
# all of them were traced.
last_events = reads_since_wait = writes_since_wait = 0
for line in open(sys.argv[1]):
    # A call strace found in progress when it attached ends as
    # "<... epoll_pwait resumed> ...) = N": a wait all the same.
    match = re.search(
        r"(?:\b|<\.\.\. )(epoll_p?wait|read|sendto|sendmsg|writev|write|epoll_ctl)(?:\(| resumed>).*\)\s+=\s+(-?\d+)",
        line)
    if not match:
        continue
    call, result = match.group(1), int(match.group(2))
    is_wait = call.startswith("epoll_") and call != "epoll_ctl"
    # Count from the first wait that returned on: the reads before it serve
    # events of a wait that began before strace attached.
    if not started:
        started = is_wait
        if not started:
            continue
        last_events = max(0, result)
        continue
    if is_wait:
        waits += 1
        events += last_events
        reads += reads_since_wait
        writes += writes_since_wait
        last_events, reads_since_wait, writes_since_wait = max(0, result), 0, 0
    elif call == "read":
        reads_since_wait += 1
    elif call == "epoll_ctl":
        ctls += 1
    else:
        writes_since_wait += 1
print(f"2 s traced: {waits} waits returned {events} events; {reads} reads, {writes} writes, {ctls} epoll_ctl")
# Events that are not a client's readiness (the statistics timer, the waker)
# each take a read too; allow a few per second beyond the reads of clients.
problems = []
if waits < 10 or reads < 1000:
    problems.append("too little traced to judge")
if ctls != 0:
    problems.append(f"{ctls} epoll_ctl calls in steady state")
if reads > events:
    problems.append(f"more reads ({reads}) than readiness events ({events})")
if reads < events * 0.99 - 20:
    problems.append(f"fewer reads ({reads}) than readiness events ({events}): events not served")
if writes > reads:
    problems.append(f"more writes ({writes}) than reads ({reads})")
for problem in problems:
    print("FAIL " + problem)
print("ok   one read per readiness, at most one write per read, no epoll_ctl" if not problems else "")
sys.exit(1 if problems else 0)
PY
