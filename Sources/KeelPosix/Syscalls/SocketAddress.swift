// SocketAddress: an IPv4 or IPv6 address and port, parsed from text once at
// start-up and kept as a sockaddr_storage ready for bind/connect.

import CShims
import Glibc

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
        var probe = in6_addr()
        if inet_pton(AF_INET, numeric, &probe) == 1 {
            isIPv6 = false
        } else if inet_pton(AF_INET6, numeric, &probe) == 1 {
            isIPv6 = true
        } else {
            return nil
        }
        self.host = numeric
        self.port = port
    }

    /// Whether the host is the IPv6 unspecified address "::" (every
    /// interface; Keel listens there for IPv4 connections too).
    public var isUnspecified: Bool {
        guard isIPv6 else { return false }
        var address = in6_addr()
        guard inet_pton(AF_INET6, host, &address) == 1 else { return false }
        return withUnsafeBytes(of: &address) { $0.allSatisfy { $0 == 0 } }
    }

    /// "host:port", with IPv6 hosts in brackets.
    public var description: String {
        isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Calls `body` with this address as a sockaddr_storage and its length,
    /// ready for bind(2) or connect(2).
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr_storage>, socklen_t) -> R) -> R {
        var storage = sockaddr_storage()
        let length: socklen_t
        if isIPv6 {
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                address.pointee.sin6_family = sa_family_t(AF_INET6)
                address.pointee.sin6_port = in_port_t(UInt16(port).bigEndian)
                _ = inet_pton(AF_INET6, host, &address.pointee.sin6_addr)
            }
        } else {
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                address.pointee.sin_family = sa_family_t(AF_INET)
                address.pointee.sin_port = in_port_t(UInt16(port).bigEndian)
                _ = inet_pton(AF_INET, host, &address.pointee.sin_addr)
            }
        }
        return withUnsafePointer(to: &storage) { body($0, length) }
    }

    /// The address a bound socket has (getsockname), e.g. to learn the port
    /// the kernel chose for port 0.
    package static func local(of fd: Int32) throws(Errno) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = keel_getsockname(fd, &storage, &length)
        if rc < 0 { throw Errno(rawValue: -rc) }
        return SocketAddress(storage: storage)
    }

    private static func string(_ text: [CChar]) -> String {
        let bytes = text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The peer of a connected socket (getpeername), for log metadata.
    package static func peer(of fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        return rc == 0 ? SocketAddress(storage: storage) : nil
    }

    /// Decodes an AF_INET or AF_INET6 sockaddr_storage.
    package init(storage: sockaddr_storage) {
        var storage = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if storage.ss_family == sa_family_t(AF_INET6) {
            let (host, port) = withUnsafeBytes(of: &storage) { raw in
                let address = raw.load(as: sockaddr_in6.self)
                var bytes = address.sin6_addr
                inet_ntop(AF_INET6, &bytes, &text, socklen_t(text.count))
                return (Self.string(text), Int(UInt16(bigEndian: address.sin6_port)))
            }
            self.host = host
            self.port = port
            self.isIPv6 = true
        } else {
            let (host, port) = withUnsafeBytes(of: &storage) { raw in
                let address = raw.load(as: sockaddr_in.self)
                var bytes = address.sin_addr
                inet_ntop(AF_INET, &bytes, &text, socklen_t(text.count))
                return (Self.string(text), Int(UInt16(bigEndian: address.sin_port)))
            }
            self.host = host
            self.port = port
            self.isIPv6 = false
        }
    }
}
