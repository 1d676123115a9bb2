// TLSServerContext: one loaded TLSConfiguration, an OpenSSL SSL_CTX, from
// which every accepted connection's session is made. Immutable once built;
// rotation builds a new one (TLSContext) and sessions already made keep the
// one they were made from alive (SSL_new takes a reference to the SSL_CTX,
// and the loop keeps this object beside each session, since the ALPN
// callback reads its protocol list).

import COpenSSL
import Glibc

/// An SSL_CTX built from a TLSConfiguration.
final class TLSServerContext: @unchecked Sendable {
    let context: OpaquePointer
    /// The ALPN protocols in TLS's wire form (length-prefixed names).
    let alpnWire: [UInt8]

    init(_ configuration: TLSConfiguration) throws(TLSError) {
        if configuration.recyclesOpenSSLBlocks { _ = OpenSSLBlockRecycler.installed }
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError("creating an SSL_CTX") }
        self.context = context
        var wire: [UInt8] = []
        for name in configuration.alpnProtocols {
            wire.append(UInt8(name.utf8.count))
            wire.append(contentsOf: name.utf8)
        }
        alpnWire = wire
        // On failure deinit frees the context (every property is set).
        try configure(configuration)
    }

    deinit { SSL_CTX_free(context) }

    private func configure(_ configuration: TLSConfiguration) throws(TLSError) {
        let chain = configuration.certificateChainFile
        let key = configuration.privateKeyFile
        guard SSL_CTX_use_certificate_chain_file(context, chain) == 1 else {
            throw TLSError("loading the certificate chain \(chain)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError("loading the private key \(key)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError("the private key \(key) does not match the certificate \(chain)")
        }
        let version = configuration.minimumVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        guard keel_SSL_CTX_set_min_proto_version(context, version) == 1 else {
            throw TLSError("setting the minimum version")
        }
        guard SSL_CTX_set_cipher_list(context, configuration.cipherList) == 1 else {
            throw TLSError("setting the TLS 1.2 cipher list '\(configuration.cipherList)'")
        }
        guard SSL_CTX_set_ciphersuites(context, configuration.cipherSuites) == 1 else {
            throw TLSError("setting the TLS 1.3 cipher suites '\(configuration.cipherSuites)'")
        }
        // Renegotiation is refused (a client could make the server redo
        // handshakes at will); a peer that closes without close_notify is
        // read as an EOF (as plaintext: its requests were whole or not).
        var options = keel_SSL_OP_NO_RENEGOTIATION | keel_SSL_OP_IGNORE_UNEXPECTED_EOF | keel_SSL_OP_NO_COMPRESSION
        options |= keel_SSL_OP_CIPHER_SERVER_PREFERENCE
        if !configuration.sessionTickets { options |= keel_SSL_OP_NO_TICKET }
        SSL_CTX_set_options(context, options)
        if !configuration.sessionTickets { _ = keel_SSL_CTX_set_num_tickets(context, 0) }
        // Partial writes: SSL_write reports each record as it leaves, as
        // send(2) reports bytes; moving buffer: a retried write may come
        // from an output ring that grew. Not SSL_MODE_RELEASE_BUFFERS: it
        // frees the record buffers whenever they empty, a malloc and a free
        // of 16 KiB per read and per write; the loop frees them instead once
        // a connection has been quiet for a while (ConnectionTimeouts.tlsQuiet).
        _ = keel_SSL_CTX_set_mode(
            context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        if configuration.sessionCacheSize > 0 {
            _ = keel_SSL_CTX_set_session_cache_mode(context, Int(SSL_SESS_CACHE_SERVER))
            _ = keel_SSL_CTX_sess_set_cache_size(context, configuration.sessionCacheSize)
        } else {
            _ = keel_SSL_CTX_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
        }
        // Resumed sessions must belong to this server (and, with client
        // certificates, OpenSSL refuses to resume without an id context).
        let sessionContext: [UInt8] = Array("keel".utf8)
        _ = SSL_CTX_set_session_id_context(context, sessionContext, UInt32(sessionContext.count))
        // A CA file given is read even when no client is asked for a
        // certificate: a file that cannot serve is refused at start (and at
        // a reload), not found out when verification is turned on.
        if let caFile = configuration.clientCAFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw TLSError("loading the client CA file \(caFile)")
            }
        }
        if configuration.clientAuthentication != .none, let caFile = configuration.clientCAFile {
            guard let names = SSL_load_client_CA_file(caFile) else {
                throw TLSError("reading the CA names in \(caFile)")
            }
            SSL_CTX_set_client_CA_list(context, names)
            var mode = SSL_VERIFY_PEER
            if configuration.clientAuthentication == .required { mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
            SSL_CTX_set_verify(context, mode, nil)
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
        if !alpnWire.isEmpty {
            SSL_CTX_set_alpn_select_cb(context, selectApplicationProtocol, Unmanaged.passUnretained(self).toOpaque())
        }
    }

    /// A server-side session for the accepted socket `fd`, or nil when
    /// OpenSSL has no memory for one.
    func makeSession(fd: Int32) -> OpaquePointer? {
        guard let ssl = SSL_new(context) else {
            ERR_clear_error()
            return nil
        }
        guard let socket = TLSSocketBIO.make(fd: fd) else {
            ERR_clear_error()
            SSL_free(ssl)
            return nil
        }
        SSL_set_bio(ssl, socket, socket)
        // Read-ahead: one read(2) takes as many records as arrived, not a
        // header and then a body.
        SSL_set_read_ahead(ssl, 1)
        SSL_set_accept_state(ssl)
        return ssl
    }
}

/// ALPN: the first of the server's protocols the client offers; a client
/// that offers ALPN but none of them is refused (RFC 7301 3.2).
private func selectApplicationProtocol(
    _ ssl: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<UInt8>?, _ offered: UnsafePointer<UInt8>?, _ offeredLength: UInt32,
    _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let argument, let out, let outLength, let offered else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    let context = Unmanaged<TLSServerContext>.fromOpaque(argument).takeUnretainedValue()
    return context.alpnWire.withUnsafeBufferPointer { server -> Int32 in
        // Server preference: walk our list, pick the first the client offered.
        var position = 0
        while position < server.count {
            let length = Int(server[position])
            let name = UnsafeBufferPointer(rebasing: server[(position + 1)..<(position + 1 + length)])
            var client = 0
            while client < Int(offeredLength) {
                let clientLength = Int(offered[client])
                if clientLength == length && client + 1 + clientLength <= Int(offeredLength)
                    && memcmp(offered + client + 1, name.baseAddress!, length) == 0
                {
                    out.pointee = offered + client + 1
                    outLength.pointee = UInt8(length)
                    return SSL_TLSEXT_ERR_OK
                }
                client += 1 + clientLength
            }
            position += 1 + length
        }
        return SSL_TLSEXT_ERR_ALERT_FATAL
    }
}
