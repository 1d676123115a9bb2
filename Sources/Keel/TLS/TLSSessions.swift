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
    func open(_ slot: UInt32, fd: Int32, context: TLSServerContext, nowMs: Int64) -> Bool {
        precondition(sessions[Int(slot)] == nil, "slot \(slot) already has a TLS session")
        guard let ssl = context.makeSession(fd: fd) else { return false }
        sessions[Int(slot)] = ssl
        states[Int(slot)] = State(startedMs: nowMs)
        contexts[Int(slot)] = context
        return true
    }

    /// Frees `slot`'s session, if it has one.
    func close(_ slot: UInt32) {
        guard let ssl = sessions[Int(slot)] else { return }
        SSL_free(ssl)
        sessions[Int(slot)] = nil
        states[Int(slot)] = State()
        contexts[Int(slot)] = nil
    }

    /// OpenSSL holds bytes of `slot`'s that it read ahead of the last SSL_read.
    @usableFromInline
    func hasBufferedInput(_ slot: UInt32) -> Bool {
        guard let ssl = sessions[Int(slot)] else { return false }
        return SSL_has_pending(ssl) == 1
    }

    /// Makes the session read `bytes` (what followed a PROXY header in the
    /// same read) before it reads the socket again.
    func prependInput(_ slot: UInt32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let ssl = sessions[Int(slot)], let memory = BIO_new(BIO_s_mem()) else { return false }
        guard BIO_write(memory, bytes.baseAddress, Int32(bytes.count)) == Int32(bytes.count) else {
            BIO_free(memory)
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
            let memory = SSL_get_rbio(ssl), keel_BIO_ctrl_pending(memory) == 0,
            let socket = TLSSocketBIO.make(fd: fd)
        else { return false }
        SSL_set0_rbio(ssl, socket)
        states[Int(slot)].readsPrefix = false
        return true
    }
}
