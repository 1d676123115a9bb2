# Shared helpers for bench/*.sh: start a server pinned to a core, wait for
# its port, stop it by PID. Sourced, not run.

SERVER_CORE=${SERVER_CORE:-0}
CLIENT_CORE=${CLIENT_CORE:-1}

# wait_for_port PORT: up to 20 s for something to listen on 127.0.0.1:PORT.
wait_for_port() {
    local port=$1
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on port $port" >&2
    return 1
}

# start_server NAME PORT [EXTRA KEEL FLAGS...]: sets SERVER_PID.
start_server() {
    local name=$1 port=$2
    shift 2
    case "$name" in
        keel) taskset -c "$SERVER_CORE" "$ROOT/.build/release/keel" --port "$port" --log-level warning "$@" & ;;
        keel-busy)
            taskset -c "$SERVER_CORE" "$ROOT/.build/release/keel" --port "$port" --log-level warning \
                --busy-poll "${BUSY_POLL_US:-50}" "$@" &
            ;;
        app) taskset -c "$SERVER_CORE" "$ROOT/bench/app/.build/release/KeelApp" "$port" >/dev/null & ;;
        c) taskset -c "$SERVER_CORE" "$ROOT/.build-peers/echo-c" "$port" 2>/dev/null & ;;
        nio) taskset -c "$SERVER_CORE" "$ROOT/bench/peers/nio/.build/release/NIOEchoServer" "$port" >/dev/null & ;;
        *) echo "unknown server $name" >&2; return 1 ;;
    esac
    SERVER_PID=$!
    wait_for_port "$port"
}

# begin_run NAME: OUT (a fresh /tmp/keel-NAME.* folder unless OUT is set),
# and an EXIT trap that stops the last server started.
begin_run() {
    OUT=${OUT:-$(mktemp -d "/tmp/keel-$1.XXXXXX")}
    mkdir -p "$OUT"
    trap stop_server EXIT
}

# stop_server: stops the last server started, if it still runs (also the
# scripts' EXIT trap, so a failed run leaves no server behind).
stop_server() {
    [ -n "${SERVER_PID:-}" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

build_all() {
    (cd "$ROOT" && swift build -c release --product keel && swift build -c release --product keel-bench) >&2
    mkdir -p "$ROOT/.build-peers"
    cc -O2 -o "$ROOT/.build-peers/echo-c" "$ROOT/bench/peers/c/echo.c"
    if [ "${SKIP_NIO:-0}" != 1 ]; then (cd "$ROOT/bench/peers/nio" && swift build -c release) >&2; fi
    # The application-handler server (bench/app), when a script's SERVERS name it.
    case " ${SERVERS[*]:-} " in *" app "*) (cd "$ROOT/bench/app" && swift build -c release) >&2 ;; esac
}
