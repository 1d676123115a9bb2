// Opening the listening socket: the only cold-path socket setup in Keel.

import CShims
import Glibc

/// A bound, listening, non-blocking TCP socket.
struct ListeningSocket {
    /// The descriptor; owned by whoever opened it, closed with `close()`.
    let fd: Int32
    /// The address actually bound (the real port when 0 was asked for).
    let address: SocketAddress

    /// socket, SO_REUSEADDR (and SO_REUSEPORT when several loops share the
    /// port), bind, listen. The socket is non-blocking and close-on-exec.
    static func open(
        at address: SocketAddress, backlog: Int, reusePort: Bool
    ) throws(ServerError) -> ListeningSocket {
        let fd = address.isIPv6 ? keel_socket_tcp6() : keel_socket_tcp4()
        guard fd >= 0 else { throw .socket(Errno(rawValue: -fd)) }
        do throws(ServerError) {
            try check(keel_set_reuseaddr(fd), "setsockopt(SO_REUSEADDR)")
            if reusePort { try check(keel_set_reuseport(fd), "setsockopt(SO_REUSEPORT)") }
            if address.isIPv6 { try check(keel_set_v6only(fd), "setsockopt(IPV6_V6ONLY)") }
            let bound = address.withSockAddr { keel_bind(fd, $0, $1) }
            if bound == -EADDRINUSE { throw .addressInUse(address) }
            if bound < 0 { throw .bind(address, Errno(rawValue: -bound)) }
            try check(keel_listen(fd, Int32(clamping: backlog)), "listen")
            let local: SocketAddress
            do { local = try SocketAddress.local(of: fd) } catch { throw .setup("getsockname", error) }
            return ListeningSocket(fd: fd, address: local)
        } catch {
            Syscall.close(fd)
            throw error
        }
    }

    private static func check(_ rc: Int32, _ call: String) throws(ServerError) {
        if rc < 0 { throw .setup(call, Errno(rawValue: -rc)) }
    }

    /// Closes the descriptor.
    func close() {
        Syscall.close(fd)
    }
}
