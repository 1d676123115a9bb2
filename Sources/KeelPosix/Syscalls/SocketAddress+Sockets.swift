// SocketAddress+Sockets: an address as the socket calls take and give it
// (sockaddr_in, sockaddr_in6), and the addresses of a socket's two ends.

import CShims
import Glibc
import KeelWire

extension SocketAddress {
    /// Calls `body` with this address as a sockaddr_storage and its length,
    /// ready for bind(2) or connect(2).
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr_storage>, socklen_t) -> R) -> R {
        var storage = sockaddr_storage()
        let length: socklen_t
        let bytes = addressBytes
        if isIPv6 {
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                address.pointee.sin6_family = sa_family_t(AF_INET6)
                address.pointee.sin6_port = in_port_t(UInt16(port).bigEndian)
                withUnsafeMutableBytes(of: &address.pointee.sin6_addr) { $0.copyBytes(from: bytes) }
            }
        } else {
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                address.pointee.sin_family = sa_family_t(AF_INET)
                address.pointee.sin_port = in_port_t(UInt16(port).bigEndian)
                withUnsafeMutableBytes(of: &address.pointee.sin_addr) { $0.copyBytes(from: bytes) }
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
        let isIPv6 = storage.ss_family == sa_family_t(AF_INET6)
        self = withUnsafeBytes(of: storage) { raw in
            if isIPv6 {
                let address = raw.load(as: sockaddr_in6.self)
                let bytes = withUnsafeBytes(of: address.sin6_addr) { Array($0) }
                return SocketAddress(addressBytes: bytes, port: Int(UInt16(bigEndian: address.sin6_port)))
            }
            let address = raw.load(as: sockaddr_in.self)
            let bytes = withUnsafeBytes(of: address.sin_addr) { Array($0) }
            return SocketAddress(addressBytes: bytes, port: Int(UInt16(bigEndian: address.sin_port)))
        }
    }
}
