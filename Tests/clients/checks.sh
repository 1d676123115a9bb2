# Shared by the real-client scripts (run.sh, tls.sh): a work folder, the
# processes a script started (stopped by PID on exit), and the list of
# checks with their verdicts. Sourced, not run; the caller sets ROOT and
# names its work folder: begin_checks NAME.

source "$ROOT/bench/scripts/lib.sh"

# begin_checks NAME: WORK (a fresh /tmp/NAME.* folder), INSTALL_LOG in it,
# and an EXIT trap that stops every PID in STARTED.
begin_checks() {
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    export INSTALL_LOG="$WORK/install.log"
    STARTED=()
    summary=()
    failures=0
    trap stop_started EXIT
}

stop_started() { for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }

# result ok|FAIL|SKIPPED DESCRIPTION: records one check's verdict.
result() {
    summary+=("$1 $2")
    [ "$1" = FAIL ] && failures=$((failures + 1))
    return 0
}

# mass_sets PREFIX: 100,000 RESP SETs of PREFIX:N to value:N, for redis-cli --pipe.
mass_sets() {
    python3 -c '
import sys
out, prefix = sys.stdout.buffer, sys.argv[1].encode()
for i in range(100000):
    k, v = b"%s:%d" % (prefix, i), b"value:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
' "$1"
}

# end_checks TITLE: stops what was started, prints the verdicts, keeps the
# logs only when a check failed, and exits 0 only if none did.
end_checks() {
    stop_started
    trap - EXIT
    echo "$1:"
    printf '  %s\n' "${summary[@]}"
    if [ "$failures" -eq 0 ]; then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
    exit $((failures > 0))
}
