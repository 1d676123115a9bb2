// ProxyHeader: what a PROXY protocol header said about a connection that a
// load balancer forwarded: the original client's address and the address it
// connected to, or nothing (the balancer's own health checks, and families
// that carry no IP address).

/// A parsed PROXY protocol header.
public struct ProxyHeader: Sendable, Equatable, CustomStringConvertible {
    /// The protocol version the header used.
    public enum Version: Sendable, Equatable { case v1, v2 }

    /// The version the header used.
    public let version: Version
    /// The original client, or nil when the header carries no address (v1
    /// "UNKNOWN", v2 "LOCAL", or a v2 family that is not IPv4 or IPv6).
    public let source: SocketAddress?
    /// The address the client connected to (the balancer's frontend), or nil
    /// with `source`.
    public let destination: SocketAddress?

    /// A header; `source` and `destination` are both given or both nil.
    public init(version: Version, source: SocketAddress?, destination: SocketAddress?) {
        precondition((source == nil) == (destination == nil), "a PROXY header has both addresses or neither")
        self.version = version
        self.source = source
        self.destination = destination
    }

    /// E.g. "v2 203.0.113.7:4242 -> 127.0.0.1:7000", or "v2 local".
    public var description: String {
        guard let source, let destination else { return "\(version) local" }
        return "\(version) \(source) -> \(destination)"
    }
}
