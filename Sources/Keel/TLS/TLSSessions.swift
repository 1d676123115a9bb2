// TLSSessions: one loop's TLS state per connection slot, beside the slab
// (a plaintext server has none, and a plaintext connection on a server
// with a TLS port costs one nil check per read and send).
//
// The session's socket is the connection's own descriptor: OpenSSL reads
// and writes it directly (TLSSocketBIO), so a TLS read or send is one call that behaves
// as read(2) or send(2) do (bytes, would-block, EOF, failure) and the loop's
// rings, watermarks and timers work unchanged. Plaintext bytes wait in the
// output ring until OpenSSL reports their record written; what OpenSSL
// itself holds is at most the one record it is sending.

import COpenSSL

/// Per-slot TLS sessions of one loop.
@usableFromInline
final class TLSSessions {
    /// Where a session is in its life.
    @usableFromInline
    struct State {
        /// A TLS connection whose first record (the ClientHello's) has not
        /// fully arrived: Keel holds its bytes in the input ring, and the
        /// OpenSSL session is made only once the record is whole, so a
        /// client that stalls mid-hello costs its bytes, not a session and
        /// OpenSSL's 16 KiB record buffers (46 KB per stalled client
        /// before, bench/tls-memory.sh).
        @usableFromInline var awaitingHello = false
        /// The handshake has completed; the handler knows the connection.
        @usableFromInline var established = false
        /// OpenSSL needs to write before it can go on (a handshake message
        /// or a post-handshake reply that did not fit the socket buffer).
        @usableFromInline var wantsWrite = false
        /// The session reads the bytes that followed a PROXY header from
        /// memory before it reads the socket.
        @usableFromInline var readsPrefix = false
        /// When the handshake began (the loop's clock).
        @usableFromInline var startedMs: Int64 = 0
    }

    /// SSL* per slot; nil for a plaintext connection or a free slot.
    @usableFromInline let sessions: UnsafeMutablePointer<OpaquePointer?>
    @usableFromInline let states: UnsafeMutablePointer<State>
    /// The context each session was made from, kept alive while it lives.
    var contexts: [TLSServerContext?]
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        sessions = .allocate(capacity: capacity)
        sessions.initialize(repeating: nil, count: capacity)
        states = .allocate(capacity: capacity)
        states.initialize(repeating: State(), count: capacity)
        contexts = Array(repeating: nil, count: capacity)
    }

    deinit {
        for slot in 0..<capacity where sessions[slot] != nil { SSL_free(sessions[slot]) }
        sessions.deallocate()
        states.deallocate()
    }

    @inlinable @inline(__always)
    subscript(slot: UInt32) -> OpaquePointer? { sessions[Int(slot)] }

    /// Starts a session for `slot` on `fd`; false when OpenSSL could not make one.
    func open(_ slot: UInt32, fd: Int32, context: TLSServerContext) -> Bool {
        precondition(sessions[Int(slot)] == nil, "slot \(slot) already has a TLS session")
        guard let ssl = context.makeSession(fd: fd) else { return false }
        sessions[Int(slot)] = ssl
        states[Int(slot)].awaitingHello = false
        contexts[Int(slot)] = context
        return true
    }

    /// A TLS connection was accepted; its session is made once its first
    /// record has arrived (`open`).
    func awaitHello(_ slot: UInt32, nowMs: Int64) {
        precondition(sessions[Int(slot)] == nil, "slot \(slot) already has a TLS session")
        states[Int(slot)] = State(awaitingHello: true, startedMs: nowMs)
    }

    /// Frees `slot`'s session, if it has one, and forgets its state.
    func close(_ slot: UInt32) {
        states[Int(slot)] = State()
        guard let ssl = sessions[Int(slot)] else { return }
        SSL_free(ssl)
        sessions[Int(slot)] = nil
        contexts[Int(slot)] = nil
    }

    /// Where a connection's first record stands, from the bytes so far.
    enum HelloProgress: Equatable {
        case incomplete
        /// The record is whole (the bytes may hold more).
        case complete
        /// Not a TLS handshake record (plaintext, garbage, an SSLv2 hello),
        /// or one longer than TLS allows.
        case invalid
    }

    /// Judges the first bytes of a TLS connection: a handshake record
    /// (type 22, version 3.x) of at most 16,384 bytes.
    static func helloProgress(_ bytes: UnsafeRawBufferPointer) -> HelloProgress {
        if bytes.count >= 1 && bytes[0] != 22 { return .invalid }
        if bytes.count >= 2 && bytes[1] != 3 { return .invalid }
        guard bytes.count >= 5 else { return .incomplete }
        let length = Int(bytes[3]) << 8 | Int(bytes[4])
        guard length > 0 && length <= 16_384 else { return .invalid }
        return bytes.count >= 5 + length ? .complete : .incomplete
    }

    /// The most bytes a connection's input ring holds while its first
    /// record arrives.
    static var largestHello: Int { 5 + 16_384 }

    /// OpenSSL holds bytes of `slot`'s that it read ahead of the last SSL_read.
    @usableFromInline
    func hasBufferedInput(_ slot: UInt32) -> Bool {
        guard let ssl = sessions[Int(slot)] else { return false }
        return SSL_has_pending(ssl) == 1
    }

    /// Makes the session read `bytes` (what followed a PROXY header in the
    /// same read) before it reads the socket again.
    func prependInput(_ slot: UInt32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        // A failure here leaves errors on this thread's queue, which would
        // make the next SSL call of any connection look failed: cleared.
        guard let ssl = sessions[Int(slot)], let memory = BIO_new(BIO_s_mem()) else {
            ERR_clear_error()
            return false
        }
        guard BIO_write(memory, bytes.baseAddress, Int32(bytes.count)) == Int32(bytes.count) else {
            BIO_free(memory)
            ERR_clear_error()
            return false
        }
        // An empty memory BIO asks to be retried rather than reporting EOF.
        _ = keel_BIO_set_mem_eof_return(memory, -1)
        SSL_set0_rbio(ssl, memory)
        states[Int(slot)].readsPrefix = true
        return true
    }

    /// Once the prefix is consumed, the session reads the socket again;
    /// returns true when it switched (the caller retries what wanted to read).
    func switchToSocketIfPrefixConsumed(_ slot: UInt32, fd: Int32) -> Bool {
        guard states[Int(slot)].readsPrefix, let ssl = sessions[Int(slot)],
            let memory = SSL_get_rbio(ssl), keel_BIO_ctrl_pending(memory) == 0
        else { return false }
        guard let socket = TLSSocketBIO.make(fd: fd) else {
            ERR_clear_error()
            return false
        }
        SSL_set0_rbio(ssl, socket)
        states[Int(slot)].readsPrefix = false
        return true
    }
}
