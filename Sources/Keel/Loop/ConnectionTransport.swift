// ConnectionTransport: whether a loop's connections may speak TLS, as a type
// the loop is specialised over (as it is over its backend, decoder and
// handler). A plaintext server's loop is built with PlaintextTransport, and
// every TLS branch in it (`if Transport.encrypts`) is a constant false that
// the compiler removes: the plaintext per-message path carries no TLS code,
// not even a nil check (a runtime check cost 0.6-2 instructions per echoed
// message through register pressure in the read path, measured with
// callgrind). A server with TLS is built with TLSTransport, and each of its
// connections is plaintext or TLS by whether it has a session
// (EventLoop+TLS.swift).

/// How a loop's connections carry their bytes: a compile-time choice.
@usableFromInline
protocol ConnectionTransport {
    /// Some connections may speak TLS.
    static var encrypts: Bool { get }
}

/// Plaintext only: reads and sends are the backend's.
@usableFromInline
enum PlaintextTransport: ConnectionTransport {
    @inlinable static var encrypts: Bool { false }
}

/// TLS on some or all connections (Configuration.tls).
@usableFromInline
enum TLSTransport: ConnectionTransport {
    @inlinable static var encrypts: Bool { true }
}
