# make_test_certificates DIR: a test CA (ca.pem), a server certificate for
# localhost and 127.0.0.1 signed by it (server.pem, server.key) and a client
# certificate (client.pem, client.key), made fresh with openssl (ECDSA
# P-256, valid two days). For tests and benchmarks only; none is committed.
# Sourced, not run.
make_test_certificates() {
    local dir=$1
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    (
        cd "$dir"
        openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=Keel Test CA" 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
        openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
            -extfile server.ext 2>/dev/null
        openssl req "${ec[@]}" -keyout client.key -out client.csr -subj "/CN=client" 2>/dev/null
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null
    )
}
