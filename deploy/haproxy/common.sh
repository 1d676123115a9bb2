# Shared by run.sh and test.sh: install HAProxy when missing, start Keel
# instances and HAProxy on free loopback ports, stop exactly what was
# started. Sourced, not run; the caller sets ROOT and sets up `trap stop_all EXIT`.

source "$ROOT/bench/scripts/lib.sh"  # wait_for_port
HERE="$ROOT/deploy/haproxy"
WORK=$(mktemp -d /tmp/keel-haproxy.XXXXXX)
STARTED_PIDS=()

# ensure_haproxy: returns 0 once `haproxy` runs, installing Debian's package
# if it is missing (without starting the distribution's own service).
ensure_haproxy() {
    command -v haproxy >/dev/null && return 0
    command -v apt-get >/dev/null || { echo "HAProxy is missing and apt-get is not available" >&2; return 1; }
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1; fi
    echo "installing HAProxy (apt-get install haproxy)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy >"$WORK/apt.log" 2>&1 ||
        { apt-get update -q >>"$WORK/apt.log" 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy >>"$WORK/apt.log" 2>&1; } || true
    [ "$made_policy" = 1 ] && rm -f "$policy"
    command -v haproxy >/dev/null || { echo "could not install HAProxy (see $WORK/apt.log)" >&2; return 1; }
}

# free_port: a port nothing listens on right now (the kernel's choice for port 0).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
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

stop_all() {
    for pid in "${STARTED_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${STARTED_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}

build_keel() {
    (cd "$ROOT" && swift build -c release --product keel && swift build -c release --product keel-bench) >&2
}
