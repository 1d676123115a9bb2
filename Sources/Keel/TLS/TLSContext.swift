// TLSContext: a server's TLS settings as loaded, and the one place they are
// swapped when certificates rotate. Loops take the current context for each
// connection they accept; a reload builds a complete new one first and
// swaps only if every file loaded, so a bad file keeps the old certificate.

import KeelPosix

/// The loaded TLS configuration of a running server; `reload()` rotates
/// certificates without a restart.
@usableFromInline
final class TLSContext: Sendable {
    let configuration: TLSConfiguration
    private let current: Locked<TLSServerContext>

    init(_ configuration: TLSConfiguration) throws(TLSError) {
        self.configuration = configuration
        current = Locked(try TLSServerContext(configuration))
    }

    /// The context new connections' sessions are made from.
    var serverContext: TLSServerContext { current.withLock { $0 } }

    /// Reads the certificate, key and CA files again: new handshakes use
    /// them, connections already open carry on with what they had. On any
    /// error the old context stays and the error says why.
    func reload() throws(TLSError) {
        let fresh = try TLSServerContext(configuration)
        current.withLock { $0 = fresh }
    }
}
