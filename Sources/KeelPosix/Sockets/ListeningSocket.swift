// Opening the listening sockets: the only cold-path socket setup in Keel.

import CShims
import Glibc
import KeelWire

/// Why a listener could not be opened (Keel reports it as a ServerError).
package enum ListenerError: Error, Equatable {
    /// Another socket already holds this address and port.
    case addressInUse(SocketAddress)
    /// bind(2) failed for another reason (e.g. the address is not local).
    case bind(SocketAddress, Errno)
    /// socket(2) failed (e.g. out of descriptors).
    case socket(Errno)
    /// Another set-up call failed; the text names the call.
    case setup(String, Errno)
}

/// A bound, listening, non-blocking TCP socket.
@usableFromInline
package struct ListeningSocket {
    /// The descriptor; owned by whoever opened it, closed with `close()`.
    @usableFromInline package let fd: Int32
    /// The address actually bound (the real port when 0 was asked for).
    @usableFromInline package let address: SocketAddress

    /// `count` listeners on `address`, one per loop: a single socket, or
    /// `count` SO_REUSEPORT sockets all on the port the first one got.
    ///
    /// SO_REUSEPORT lets any socket of the same user join a port's group, so
    /// a second server started by mistake on the same port would silently
    /// take a share of the connections. Before the group binds, a probe
    /// socket without SO_REUSEPORT binds the address: that fails with
    /// EADDRINUSE while anything listens there, whatever its options, and
    /// the server reports "already in use" as a single listener would. (Two
    /// servers starting in the same instant can still both pass the probe;
    /// the window is the few system calls between probe and bind.)
    package static func openGroup(at address: SocketAddress, count: Int, backlog: Int) throws(ListenerError)
        -> [ListeningSocket]
    {
        precondition(count >= 1)
        if count > 1 && address.port != 0 { try ensureUnused(address) }
        var listeners: [ListeningSocket] = []
        var next = address
        do throws(ListenerError) {
            for _ in 0..<count {
                let listener = try open(at: next, backlog: backlog, reusePort: count > 1)
                listeners.append(listener)
                next = listener.address
            }
        } catch {
            for listener in listeners { listener.close() }
            throw error
        }
        return listeners
    }

    /// socket, SO_REUSEADDR (and SO_REUSEPORT when several loops share the
    /// port), bind, listen. The socket is non-blocking and close-on-exec.
    package static func open(
        at address: SocketAddress, backlog: Int, reusePort: Bool
    ) throws(ListenerError) -> ListeningSocket {
        let fd = try socket(for: address)
        do throws(ListenerError) {
            if reusePort { try check(keel_set_reuseport(fd), "setsockopt(SO_REUSEPORT)") }
            try bind(fd, to: address)
            try check(keel_listen(fd, Int32(clamping: backlog)), "listen")
            let local: SocketAddress
            do { local = try SocketAddress.local(of: fd) } catch { throw .setup("getsockname", error) }
            return ListeningSocket(fd: fd, address: local)
        } catch {
            Syscall.close(fd)
            throw error
        }
    }

    /// Throws `.addressInUse` if a socket listens on `address` (see `openGroup`).
    private static func ensureUnused(_ address: SocketAddress) throws(ListenerError) {
        let probe = try socket(for: address)
        defer { Syscall.close(probe) }
        try bind(probe, to: address)
    }

    /// A TCP socket for `address`'s family with SO_REUSEADDR (so connections
    /// of an earlier run still in TIME_WAIT do not block the port). An IPv6
    /// socket is IPv6-only, except on the unspecified address "::", which
    /// then takes IPv4 connections too (as IPv4-mapped addresses).
    private static func socket(for address: SocketAddress) throws(ListenerError) -> Int32 {
        let fd = address.isIPv6 ? keel_socket_tcp6() : keel_socket_tcp4()
        guard fd >= 0 else { throw .socket(Errno(rawValue: -fd)) }
        do throws(ListenerError) {
            try check(keel_set_reuseaddr(fd), "setsockopt(SO_REUSEADDR)")
            if address.isIPv6 {
                let dualStack = address.isUnspecified
                try check(keel_set_v6only(fd, dualStack ? 0 : 1), "setsockopt(IPV6_V6ONLY)")
            }
        } catch {
            Syscall.close(fd)
            throw error
        }
        return fd
    }

    private static func bind(_ fd: Int32, to address: SocketAddress) throws(ListenerError) {
        let bound = address.withSockAddr { keel_bind(fd, $0, $1) }
        if bound == -EADDRINUSE { throw .addressInUse(address) }
        if bound < 0 { throw .bind(address, Errno(rawValue: -bound)) }
    }

    private static func check(_ rc: Int32, _ call: String) throws(ListenerError) {
        if rc < 0 { throw .setup(call, Errno(rawValue: -rc)) }
    }

    /// Closes the descriptor.
    package func close() {
        Syscall.close(fd)
    }
}
