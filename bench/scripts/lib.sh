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

# ensure_command COMMAND PACKAGE...: returns 0 once COMMAND runs, installing
# Debian's PACKAGEs if it is missing (without starting their services);
# the apt log goes to ${INSTALL_LOG:-/tmp/keel-install.log}.
ensure_command() {
    local command=$1 log=${INSTALL_LOG:-/tmp/keel-install.log}
    shift
    command -v "$command" >/dev/null && return 0
    command -v apt-get >/dev/null || { echo "$command is missing and apt-get is not available" >&2; return 1; }
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1; fi
    echo "installing $* (apt-get install)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$log" 2>&1 ||
        { apt-get update -q >>"$log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$log" 2>&1; } ||
        true
    [ "$made_policy" = 1 ] && rm -f "$policy"
    command -v "$command" >/dev/null || { echo "could not install $* (see $log)" >&2; return 1; }
}

# ensure_python_module MODULE PIP-NAME: returns 0 once python3 imports MODULE,
# installing PIP-NAME from PyPI if it is missing.
ensure_python_module() {
    python3 -c "import $1" 2>/dev/null && return 0
    echo "installing $2 (pip install)" >&2
    python3 -m pip install -q "$2" >"${INSTALL_LOG:-/tmp/keel-install.log}" 2>&1 || true
    python3 -c "import $1" 2>/dev/null || { echo "could not install $2 from PyPI" >&2; return 1; }
}

# free_port: a port nothing listens on right now (the kernel's choice for port 0).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
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
