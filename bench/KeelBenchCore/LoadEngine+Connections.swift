// Opening connections gradually, and noticing when the server closes them.

import CShims
import Glibc
import Keel

extension LoadEngine {
    /// Opens the connections whose turn has come at the connect rate, and
    /// fails the run on a connect that takes longer than the timeout.
    func openDueConnections(since startNs: Int64) {
        guard phase == .connecting else { return }
        let elapsed = Double(nowNs - startNs) / 1e9
        let due = min(connections.count, Int(elapsed * options.connectRate) + 1)
        for connection in connections where connection.state == .waiting && connection.index < due {
            open(connection)
            if failure != nil { return }
        }
        for connection in connections where connection.state == .connecting && nowNs > connection.connectDeadlineNs {
            fail(connection, "no answer within \(format(options.connectTimeoutSeconds, decimals: 1)) s")
            return
        }
    }

    private func open(_ connection: BenchConnection) {
        let fd = address.isIPv6 ? keel_socket_tcp6() : keel_socket_tcp4()
        guard fd >= 0 else {
            let hint = -fd == EMFILE || -fd == ENFILE ? " (raise the limit with ulimit -n)" : ""
            fail(connection, "cannot open a socket: \(Errno(rawValue: -fd))\(hint)")
            return
        }
        connection.fd = fd
        _ = keel_set_nodelay(fd)
        let rc = address.withSockAddr { keel_connect(fd, $0, $1) }
        guard rc == 0 || rc == -EINPROGRESS else {
            fail(connection, describeConnectError(-rc))
            return
        }
        connection.state = .connecting
        connection.connectDeadlineNs = nowNs + Int64(options.connectTimeoutSeconds * 1e9)
        let added = keel_epoll_ctl(epollFD, keel_EPOLL_CTL_ADD, fd, keel_EPOLLOUT, UInt64(connection.index))
        precondition(added == 0, "epoll_ctl(ADD): \(Errno(rawValue: -added))")
    }

    /// A connecting socket became writable: the handshake finished or failed.
    func completeConnect(_ connection: BenchConnection) {
        let error = keel_getsockopt_error(connection.fd)
        guard error == 0 else {
            fail(connection, describeConnectError(error))
            return
        }
        connection.state = .open
        openCount += 1
        setInterest(connection, write: false)
    }

    private func describeConnectError(_ errno: Int32) -> String {
        if errno == ECONNREFUSED { return "\(address) refused the connection (is the server running?)" }
        return "connect to \(address) failed: \(Errno(rawValue: errno))"
    }

    /// Stops the run with a clear message naming the connection.
    func fail(_ connection: BenchConnection, _ text: String) {
        result.errors += 1
        failure = BenchError(description: "connection \(connection.index + 1) of \(connections.count): \(text)")
    }

    func setInterest(_ connection: BenchConnection, write: Bool) {
        let bits = keel_EPOLLIN | keel_EPOLLRDHUP | (write ? keel_EPOLLOUT : 0)
        let rc = keel_epoll_ctl(epollFD, keel_EPOLL_CTL_MOD, connection.fd, bits, UInt64(connection.index))
        precondition(rc == 0, "epoll_ctl(MOD): \(Errno(rawValue: -rc))")
        connection.writeArmed = write
    }

    /// The server closed or reset a connection we were using.
    func serverClosed(_ connection: BenchConnection) {
        if phase != .draining || connection.inFlight > 0 { result.earlyCloses += 1 }
        Glibc.close(connection.fd)
        connection.fd = -1
        connection.state = .closed
        connection.awaiting.removeAll()
        connection.release(pool: pool)
        openCount -= 1
    }
}
