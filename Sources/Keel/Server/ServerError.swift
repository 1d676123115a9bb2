// Errors Keel reports when it cannot start: each says what failed in one line.

/// Why a server could not start.
public enum ServerError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The configuration breaks a rule; the text names the field and the rule.
    case invalidConfiguration(String)
    /// Another socket already holds this address and port.
    case addressInUse(SocketAddress)
    /// bind(2) failed for another reason (e.g. the address is not local).
    case bind(SocketAddress, Errno)
    /// socket(2) failed (e.g. out of descriptors).
    case socket(Errno)
    /// Another set-up call failed; the text names the call.
    case setup(String, Errno)
    /// The TLS certificate, key or settings could not be loaded.
    case tls(TLSError)

    /// One line saying what failed.
    public var description: String {
        switch self {
        case .invalidConfiguration(let text): return "invalid configuration: \(text)"
        case .addressInUse(let address): return "\(address) is already in use"
        case .bind(let address, let errno): return "cannot bind \(address): \(errno)"
        case .socket(let errno): return "cannot open a socket: \(errno)"
        case .setup(let call, let errno): return "\(call) failed: \(errno)"
        case .tls(let error): return "TLS: \(error)"
        }
    }
}

extension ServerError {
    /// The listener's failure, as the server reports it.
    init(_ error: ListenerError) {
        switch error {
        case .addressInUse(let address): self = .addressInUse(address)
        case .bind(let address, let errno): self = .bind(address, errno)
        case .socket(let errno): self = .socket(errno)
        case .setup(let call, let errno): self = .setup(call, errno)
        }
    }
}
