#!/usr/bin/env bash
# TLS with clients written elsewhere (run by .ci/run): `openssl s_client`
# against keel's line protocol, Python's ssl module against length-prefixed
# keel with mutual TLS (and a client without a certificate refused),
# redis-cli --tls (commands, RESP3, --pipe of 100,000 SETs),
# redis-benchmark --tls and redis-py with ssl=True (RESP3 and RESP2, sync
# and asyncio) against keel-kv's --tls-port beside its plaintext port, and
# HAProxy as a TLS client of keel (server ... ssl verify required) and
# passing TLS through with a PROXY v2 header in front. Certificates are made
# here with openssl, none committed. What cannot be installed is skipped
# with a line that says so; exit 77 when openssl itself cannot be had.
#
# Usage: Tests/clients/tls.sh       Exit status 0 only if every check that ran passed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/Tests/clients/checks.sh"
begin_checks keel-tls-clients

if ! ensure_command openssl openssl; then
    echo "skipped: the openssl command is missing and cannot be installed (it makes the test certificates)"
    exit 77
fi
source "$ROOT/bench/scripts/tls_certificates.sh"
make_test_certificates "$WORK"

(cd "$ROOT" && swift build -c release --product keel && swift build -c release --product keel-kv) >&2
TLS_FLAGS=(--tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key")

# keel's line protocol through openssl s_client.
LINE_PORT=$(free_port)
"$ROOT/.build/release/keel" --protocol line --port "$LINE_PORT" "${TLS_FLAGS[@]}" 2>"$WORK/keel-line.log" &
STARTED+=($!)
wait_for_port "$LINE_PORT"
out=$( (printf 'hello\nover tls\n'; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$LINE_PORT" \
    -CAfile "$WORK/ca.pem" -verify_return_error -quiet -no_ign_eof 2>/dev/null || true)
if [ "$out" = $'hello\nover tls' ]; then result ok "openssl s_client: lines echoed over TLS, server certificate verified"; else
    echo "s_client output: $out" >&2; result FAIL "openssl s_client: lines over TLS"; fi

# Length-prefixed keel with mutual TLS, through Python's ssl module.
MTLS_PORT=$(free_port)
"$ROOT/.build/release/keel" --port "$MTLS_PORT" "${TLS_FLAGS[@]}" --tls-ca "$WORK/ca.pem" --tls-client-auth required \
    --tls-alpn keel/1 2>"$WORK/keel-mtls.log" &
STARTED+=($!)
wait_for_port "$MTLS_PORT"
if python3 - "$MTLS_PORT" "$WORK" <<'EOF'
import socket, ssl, struct, sys
port, work = int(sys.argv[1]), sys.argv[2]
def connect(with_certificate):
    context = ssl.create_default_context(cafile=f"{work}/ca.pem")
    context.set_alpn_protocols(["keel/1"])
    if with_certificate:
        context.load_cert_chain(f"{work}/client.pem", f"{work}/client.key")
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="localhost")
def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(data), count))
        data += chunk
    return data
client = connect(True)
assert client.selected_alpn_protocol() == "keel/1", client.selected_alpn_protocol()
for size in (1, 1000, 100_000):
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    client.sendall(struct.pack("<I", len(payload)) + payload)
    length, = struct.unpack("<I", read_exactly(client, 4))
    assert read_exactly(client, length) == payload, size
client.close()
try:
    stranger = connect(False)
    stranger.sendall(struct.pack("<I", 1) + b"x")
    if stranger.recv(5):
        sys.exit("a client without a certificate was served")
except (ssl.SSLError, ConnectionError, EOFError):
    pass
EOF
then result ok "Python ssl: length-prefixed echo with mutual TLS and ALPN; a client without a certificate refused"; else
    result FAIL "Python ssl with mutual TLS"; fi

# keel-kv: TLS beside plaintext.
KV_PORT=$(free_port)
KV_TLS_PORT=$(free_port)
"$ROOT/.build/release/keel-kv" --port "$KV_PORT" --tls-port "$KV_TLS_PORT" "${TLS_FLAGS[@]}" 2>"$WORK/keel-kv.log" &
KV_PID=$!
STARTED+=($!)
wait_for_port "$KV_PORT"
wait_for_port "$KV_TLS_PORT"
if ensure_command redis-cli redis-tools; then
    cli=(redis-cli --tls --cacert "$WORK/ca.pem" -p "$KV_TLS_PORT")
    out=$("${cli[@]}" SET greeting hello; "${cli[@]}" GET greeting; "${cli[@]}" -3 HSET h f v; "${cli[@]}" -3 HGETALL h;
        redis-cli -p "$KV_PORT" GET greeting)
    if [ "$out" = $'OK\nhello\n1\nf v\nhello' ]; then result ok "redis-cli --tls: commands, RESP3, the same store on the plaintext port"; else
        echo "redis-cli --tls output: $out" >&2; result FAIL "redis-cli --tls: commands"; fi
    mass_sets tls >"$WORK/mass.resp"
    pipe=$("${cli[@]}" --pipe <"$WORK/mass.resp" 2>&1 || true)
    if echo "$pipe" | grep -q "errors: 0, replies: 100000" && [ "$("${cli[@]}" GET tls:99999)" = value:99999 ]; then
        result ok "redis-cli --tls --pipe: 100,000 SETs, 0 errors"; else
        echo "$pipe" >&2; result FAIL "redis-cli --tls --pipe: 100,000 SETs"; fi
    bench=$(timeout 60 redis-benchmark --tls --cacert "$WORK/ca.pem" -p "$KV_TLS_PORT" -t set,get -n 20000 -c 10 -P 4 -q \
        2>&1 || true)
    echo "$bench" >&2
    if [ "$(echo "$bench" | grep -c 'requests per second')" -eq 2 ]; then result ok "redis-benchmark --tls: SET and GET"; else
        result FAIL "redis-benchmark --tls"; fi
else
    result SKIPPED "redis-cli and redis-benchmark --tls (redis-tools could not be installed)"
fi

if ensure_python_module redis redis; then
    if python3 - "$KV_TLS_PORT" "$WORK/ca.pem" <<'EOF'
import asyncio, sys
import redis, redis.asyncio
port, ca = int(sys.argv[1]), sys.argv[2]
for protocol in (3, 2):
    client = redis.Redis(port=port, ssl=True, ssl_ca_certs=ca, protocol=protocol, decode_responses=True)
    assert client.set("py", "tls") is True
    assert client.get("py") == "tls"
    client.hset("pyh", mapping={"a": "1", "b": "2"})
    assert client.hgetall("pyh") == {"a": "1", "b": "2"}
    pipe = client.pipeline()
    for i in range(1000):
        pipe.incr("counter:%d" % protocol)
    assert pipe.execute()[-1] == 1000
    client.close()
async def main():
    client = redis.asyncio.Redis(port=port, ssl=True, ssl_ca_certs=ca, decode_responses=True)
    await client.set("aio", "tls")
    assert await client.get("aio") == "tls"
    await client.aclose()
asyncio.run(main())
EOF
    then result ok "redis-py ssl=True: RESP3 and RESP2, pipelines, asyncio"; else result FAIL "redis-py ssl=True"; fi
else
    result SKIPPED "redis-py (could not be installed from PyPI)"
fi
kill -0 "$KV_PID" 2>/dev/null && result ok "keel-kv still running" || result FAIL "keel-kv still running"

# HAProxy as a TLS client of keel, and passing TLS through with PROXY v2.
if ensure_command haproxy haproxy; then
    BACKEND_PORT=$(free_port)
    PASS_PORT=$(free_port)
    FRONT_PORT=$(free_port)
    THROUGH_PORT=$(free_port)
    "$ROOT/.build/release/keel" --protocol line --port "$BACKEND_PORT" "${TLS_FLAGS[@]}" 2>"$WORK/keel-behind.log" &
    STARTED+=($!)
    "$ROOT/.build/release/keel" --protocol line --port "$PASS_PORT" "${TLS_FLAGS[@]}" --proxy-protocol v2 \
        --log-level debug 2>"$WORK/keel-pass.log" &
    STARTED+=($!)
    wait_for_port "$BACKEND_PORT"
    wait_for_port "$PASS_PORT"
    cat >"$WORK/haproxy.cfg" <<EOF
global
    maxconn 256
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend plain
    bind 127.0.0.1:$FRONT_PORT
    default_backend keel_tls
backend keel_tls
    server keel 127.0.0.1:$BACKEND_PORT ssl verify required ca-file $WORK/ca.pem sni str(localhost)
frontend passthrough
    bind 127.0.0.1:$THROUGH_PORT
    default_backend keel_proxy
backend keel_proxy
    server keel 127.0.0.1:$PASS_PORT send-proxy-v2
EOF
    haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log" &
    STARTED+=($!)
    wait_for_port "$FRONT_PORT"
    out=$(python3 - "$FRONT_PORT" <<'EOF'
import socket, sys
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
sock.sendall(b"through haproxy\n")
data = b""
while not data.endswith(b"\n"):
    chunk = sock.recv(100)
    if not chunk:
        break
    data += chunk
print(data.decode().strip())
EOF
    )
    if [ "$out" = "through haproxy" ]; then result ok "HAProxy as a TLS client of keel (ssl verify required)"; else
        echo "through HAProxy: $out" >&2; result FAIL "HAProxy as a TLS client of keel"; fi
    out=$( (printf 'passed through\n'; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$THROUGH_PORT" \
        -CAfile "$WORK/ca.pem" -verify_return_error -quiet -no_ign_eof 2>/dev/null || true)
    if [ "$out" = "passed through" ] && grep -q "client=127.0.0.1:" "$WORK/keel-pass.log"; then
        result ok "HAProxy passing TLS through with PROXY v2 before the ClientHello"; else
        echo "passthrough: $out" >&2; result FAIL "HAProxy passing TLS through with PROXY v2"; fi
else
    result SKIPPED "HAProxy (could not be installed)"
fi

end_checks "TLS with real clients"
