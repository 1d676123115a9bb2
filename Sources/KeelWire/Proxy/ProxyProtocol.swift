// ProxyProtocol: which PROXY protocol header (HAProxy's, versions 1 and 2) a
// listener expects at the start of every accepted connection.

/// Which PROXY protocol header accepted connections must begin with.
public enum ProxyProtocol: String, Sendable, CaseIterable, CustomStringConvertible {
    /// No header: the first bytes are already frames. The default.
    case off
    /// The text header, "PROXY TCP4 ...\r\n".
    case v1
    /// The binary header with its 12-byte signature.
    case v2
    /// Either version, told apart by the first byte; a header is still required.
    case auto

    /// "off", "v1", "v2" or "auto".
    public var description: String { rawValue }

    /// Whether this mode takes a header of `version`.
    func accepts(_ version: ProxyHeader.Version) -> Bool {
        switch self {
        case .off: return false
        case .v1: return version == .v1
        case .v2: return version == .v2
        case .auto: return true
        }
    }
}
