# Shared by run.sh and test.sh: install HAProxy when missing, start Keel
# instances and HAProxy on free loopback ports, stop exactly what was
# started. Sourced, not run; the caller sets ROOT and sets up `trap stop_all EXIT`.

source "$ROOT/bench/scripts/lib.sh"  # wait_for_port
HERE="$ROOT/deploy/haproxy"
WORK=$(mktemp -d /tmp/keel-haproxy.XXXXXX)
STARTED_PIDS=()

# ensure_haproxy: returns 0 once `haproxy` runs (lib.sh's ensure_command).
ensure_haproxy() {
    INSTALL_LOG="$WORK/apt.log" ensure_command haproxy haproxy
}

# start_keel N PORT [FLAGS...]: instance N on PORT; its log is
# $WORK/keel-N.log and its PID KEEL_PID[N].
declare -A KEEL_PID
start_keel() {
    local n=$1 port=$2
    shift 2
    "$ROOT/.build/release/keel" --port "$port" --stats-interval 1 "$@" \
        2>"$WORK/keel-$n.log" &
    KEEL_PID[$n]=$!
    STARTED_PIDS+=($!)
    wait_for_port "$port"
}

# start_haproxy FRONTEND_PORT PORT1 PORT2: HAProxy with deploy/haproxy/haproxy.cfg,
# in the foreground mode (-db) as our child; log in $WORK/haproxy.log.
start_haproxy() {
    KEEL_FRONTEND="127.0.0.1:$1" KEEL_INSTANCE_1="127.0.0.1:$2" KEEL_INSTANCE_2="127.0.0.1:$3" \
        haproxy -db -f "$HERE/haproxy.cfg" 2>"$WORK/haproxy.log" &
    HAPROXY_PID=$!
    STARTED_PIDS+=($!)
    wait_for_port "$1"
}

# wait_until_up N: until HAProxy's health checks have reached instance N
# (it has echoed a check), up to 10 s.
wait_until_up() {
    for _ in $(seq 1 100); do
        grep -q "messages-in=[1-9]" "$WORK/keel-$1.log" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "HAProxy's health checks never reached instance $1" >&2
    return 1
}

# messages_in N: the messages instance N has received, from its latest statistics line.
messages_in() {
    grep "keel stats" "$WORK/keel-$1.log" | tail -1 | sed -n 's/.* messages-in=\([0-9]*\).*/\1/p'
}

# messages_out N: the replies instance N has sent, from its latest statistics line.
messages_out() {
    grep "keel stats" "$WORK/keel-$1.log" | tail -1 | sed -n 's/.* messages-out=\([0-9]*\).*/\1/p'
}

stop_all() {
    for pid in "${STARTED_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${STARTED_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}

build_keel() {
    (cd "$ROOT" && swift build -c release --product keel && swift build -c release --product keel-bench) >&2
}
