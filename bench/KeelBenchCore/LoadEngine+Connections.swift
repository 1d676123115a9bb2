// Opening connections gradually, and noticing when the server closes them.

import COpenSSL
import CShims
import Glibc
import Keel

extension LoadEngine {
    /// Opens the connections whose turn has come at the connect rate, and
    /// fails the run on a connect that takes longer than the timeout.
    func openDueConnections(since startNs: Int64) {
        guard phase == .connecting else {
            if options.handshakes { failLateConnects() }
            return
        }
        let elapsed = Double(nowNs - startNs) / 1e9
        let due = min(connections.count, Int(elapsed * options.connectRate) + 1)
        for connection in connections where connection.state == .waiting && connection.index < due {
            open(connection)
            if failure != nil { return }
        }
        failLateConnects()
    }

    /// Fails the run on a connect or handshake that took longer than the timeout.
    private func failLateConnects() {
        for connection in connections
        where (connection.state == .connecting || connection.state == .handshaking)
            && nowNs > connection.connectDeadlineNs
        {
            let what = connection.state == .connecting ? "no answer" : "no TLS handshake"
            fail(connection, "\(what) within \(format(options.connectTimeoutSeconds, decimals: 1)) s")
            return
        }
    }

    func open(_ connection: BenchConnection) {
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
        connection.connectStartNs = nowNs
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
        if let tls {
            guard let ssl = tls.session(fd: connection.fd, host: options.host) else {
                fail(connection, "no memory for a TLS session")
                return
            }
            connection.ssl = ssl
            connection.state = .handshaking
            advanceHandshake(connection)
            return
        }
        connection.state = .open
        openCount += 1
        setInterest(connection, write: false)
    }

    /// Drives a TLS handshake on readiness (the connect deadline bounds it).
    func advanceHandshake(_ connection: BenchConnection) {
        let ssl = connection.ssl.unsafelyUnwrapped
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            connection.state = .open
            openCount += 1
            setInterest(connection, write: !connection.output.isEmpty)
            if options.handshakes && (phase == .warmingUp || phase == .measuring) {
                if phase == .measuring {
                    _ = self.result.latencyNs.record(UInt64(max(0, nowNs - connection.connectStartNs)))
                }
                enqueueMessage(on: connection, sentAtNs: nowNs)
            }
            return
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: setInterest(connection, write: false)
        case SSL_ERROR_WANT_WRITE: setInterest(connection, write: true)
        default: fail(connection, "TLS handshake failed: \(BenchTLS.openSSLError())")
        }
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

    /// Handshake mode: the connection's one request was answered; it closes
    /// (close_notify, then the socket) and connects again at once, or with
    /// --rate waits for its next scheduled start.
    func reconnect(_ connection: BenchConnection) {
        connection.reconnectQueued = false
        if let ssl = connection.ssl {
            _ = SSL_shutdown(ssl)
            SSL_free(ssl)
            ERR_clear_error()
            connection.ssl = nil
        }
        Glibc.close(connection.fd)
        connection.fd = -1
        connection.release(pool: pool)
        connection.writeArmed = false
        openCount -= 1
        connection.state = .waiting
        if options.rate == nil { open(connection) }
    }

    /// The server closed or reset a connection we were using.
    func serverClosed(_ connection: BenchConnection) {
        if phase != .draining || connection.inFlight > 0 { result.earlyCloses += 1 }
        if let ssl = connection.ssl {
            SSL_free(ssl)
            ERR_clear_error()
            connection.ssl = nil
        }
        Glibc.close(connection.fd)
        connection.fd = -1
        connection.state = .closed
        connection.awaiting.removeAll()
        connection.release(pool: pool)
        openCount -= 1
    }
}
