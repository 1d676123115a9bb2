// SocketAddress: an IPv4 or IPv6 address and port, parsed from text once at
// start-up (or read from a PROXY header) and kept as numeric text. A plain
// value: the system layer turns it into a sockaddr for bind and connect.

/// An IP address and TCP port.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The numeric host, e.g. "127.0.0.1" or "::1".
    public let host: String
    /// The TCP port (0 asks the kernel for a free one when binding).
    public let port: Int
    /// Whether `host` is an IPv6 address.
    public let isIPv6: Bool

    /// Parses a numeric IPv4 or IPv6 host ("localhost" means 127.0.0.1).
    /// Returns nil for anything else: Keel does no name resolution.
    public init?(host: String, port: Int) {
        guard (0...65_535).contains(port) else { return nil }
        let numeric = host == "localhost" ? "127.0.0.1" : host
        if IPAddressText.ipv4Bytes(numeric) != nil {
            isIPv6 = false
        } else if IPAddressText.ipv6Bytes(numeric) != nil {
            isIPv6 = true
        } else {
            return nil
        }
        self.host = numeric
        self.port = port
    }

    /// The address of `bytes` (4 for IPv4, 16 for IPv6, network order) and
    /// `port`, its host in canonical text.
    package init(addressBytes bytes: some Collection<UInt8>, port: Int) {
        precondition(bytes.count == 4 || bytes.count == 16, "an IP address has 4 or 16 bytes")
        precondition((0...65_535).contains(port), "a TCP port is 0...65535")
        isIPv6 = bytes.count == 16
        host = isIPv6 ? IPAddressText.ipv6Text(bytes) : IPAddressText.ipv4Text(bytes)
        self.port = port
    }

    /// The host's bytes in network order: 4 for IPv4, 16 for IPv6.
    package var addressBytes: [UInt8] {
        // The host parsed when this value was made, so it parses again.
        (isIPv6 ? IPAddressText.ipv6Bytes(host) : IPAddressText.ipv4Bytes(host))!
    }

    /// Whether the host is the IPv6 unspecified address "::" (every
    /// interface; Keel listens there for IPv4 connections too).
    public var isUnspecified: Bool {
        isIPv6 && addressBytes.allSatisfy { $0 == 0 }
    }

    /// "host:port", with IPv6 hosts in brackets.
    public var description: String {
        isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
