// TLSTestClient: a blocking TLS client for the integration tests, OpenSSL
// over memory BIOs (TLSClientSession) on a TestClient's socket, so the test
// decides how the ciphertext travels: in pieces of any size (records split at every byte),
// or raw bytes of its own. Every socket call is bounded by TestClient's
// timeouts.

import COpenSSL
import Glibc

@testable import Keel

final class TLSTestClient {
    typealias Options = TLSClientSession.Options

    let tcp: TestClient
    let session: TLSClientSession
    var ssl: OpaquePointer { session.ssl }
    var chunkBytes: Int

    init(port: Int, _ options: Options = Options(), timeoutSeconds: Int = 10, handshake: Bool = true) throws {
        tcp = try TestClient(port: port, timeoutSeconds: timeoutSeconds)
        session = TLSClientSession(options)
        chunkBytes = options.chunkBytes
        if handshake { try completeHandshake() }
    }

    func completeHandshake() throws {
        while true {
            let result = SSL_do_handshake(ssl)
            try flush()
            if result == 1 { return }
            guard SSL_get_error(ssl, result) == SSL_ERROR_WANT_READ else { throw failure("handshake") }
            try pull()
        }
    }

    /// Sends the ClientHello and goes no further (the server is left
    /// mid-handshake).
    func sendClientHello() throws {
        _ = SSL_do_handshake(ssl)
        try flush()
    }

    /// Sends the ciphertext OpenSSL has produced, in `chunkBytes` pieces.
    func flush() throws {
        while true {
            let piece = session.takeCiphertext(upTo: min(16_384, chunkBytes))
            guard !piece.isEmpty else { break }
            try tcp.send(piece)
        }
    }

    /// Moves what the socket has into OpenSSL; throws at EOF.
    func pull() throws {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = Glibc.read(tcp.fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n == 0 { throw TLSClientError(description: "EOF") }
            if n < 0 { throw TLSClientError(description: "read: \(Errno(rawValue: errno))") }
            buffer.withUnsafeBytes { session.absorb(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            return
        }
    }

    func send(_ bytes: [UInt8]) throws {
        var written = 0
        guard SSL_write_ex(ssl, bytes, bytes.count, &written) == 1, written == bytes.count else {
            throw failure("write")
        }
        try flush()
    }

    func read(exactly count: Int) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var have = 0
        while have < count {
            var n = 0
            let ok = result.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress! + have, count - have, &n) }
            if ok == 1 {
                have += n
                continue
            }
            let error = SSL_get_error(ssl, ok)
            try flush()
            guard error == SSL_ERROR_WANT_READ else { throw failure("read after \(have) of \(count) bytes") }
            try pull()
        }
        return result
    }

    func readFrame() throws -> [UInt8] {
        let header = try read(exactly: 4)
        let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
        return try read(exactly: length)
    }

    func sendFrame(_ payload: [UInt8]) throws {
        try send(TestClient.frame(payload, format: .u32le))
    }

    func roundTrip(_ payload: [UInt8]) throws -> Bool {
        try sendFrame(payload)
        return try readFrame() == payload
    }

    /// Reads until the server ends the stream: true when it did (with
    /// close_notify, FIN or reset), false when data came instead.
    func waitForClose() -> Bool {
        var byte: UInt8 = 0
        while true {
            var n = 0
            let ok = SSL_read_ex(ssl, &byte, 1, &n)
            if ok == 1 { return false }
            let error = SSL_get_error(ssl, ok)
            if error == SSL_ERROR_WANT_READ {
                do { try pull() } catch { return true }
                continue
            }
            return true
        }
    }

    /// The server ended the stream with close_notify (after `waitForClose`).
    var receivedCloseNotify: Bool { (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0 }

    /// Sends close_notify.
    func sendCloseNotify() throws {
        _ = SSL_shutdown(ssl)
        try flush()
    }

    /// The subject of the certificate the server presented.
    var serverSubject: String? {
        guard let certificate = SSL_get0_peer_certificate(ssl), let name = X509_get_subject_name(certificate)
        else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        X509_NAME_oneline(name, &buffer, Int32(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The session, for a later client to resume (SSL_get1_session: the caller frees it).
    var resumableSession: OpaquePointer? { SSL_get1_session(ssl) }

    var resumed: Bool { SSL_session_reused(ssl) == 1 }

    func close() { tcp.close() }

    private func failure(_ what: String) -> TLSClientError { session.failure(what) }
}
