// SimulatedLoop: one EventLoop on a ScriptedBackend, driven an iteration at a
// time with a clock only the test moves, and SocketPeer, the client end of a
// socketpair it accepts. Timeouts, busy polling, memory release, accept
// pauses and shutdown are then checked to the millisecond, without sleeps
// and without the network. The loop checks its invariants every iteration.
// With TLSTransport every connection it accepts speaks TLS (the TLS fuzz
// target drives it so). No Testing here: the fuzz target builds this file
// too (SimulatedLoop+Testing.swift holds what the suites need).

import CShims
import Glibc
import Logging

@testable import Keel

final class SimulatedLoop<Format: WireFormat, Handler: ConnectionHandler, Transport: ConnectionTransport>
where Handler.Request == Format.Decoder.Request {
    let backend = ScriptedBackend()
    let control: LoopControl
    let loop: EventLoop<ScriptedBackend, Format.Decoder, Handler, Transport>
    /// The loop's listener (never connected to: accepts come from the backend).
    let listenerFd: Int32
    /// runIteration returned false: shutdown completed.
    private(set) var finished = false

    /// A loop serving `format` with `handler`; with TLSTransport,
    /// `tlsContext` (made from `configuration.tls`) is required.
    init(_ configuration: Configuration, format: Format, handler: Handler, tlsContext: TLSContext? = nil) throws {
        var configuration = configuration
        configuration.checkInvariantsEveryIteration = true
        // Invariant checks walk every slot's timeout nodes: few slots keep
        // a thousand checked iterations cheap.
        configuration.maxClients = min(configuration.maxClients, 64)
        let listener = try ListeningSocket.open(
            at: SocketAddress(host: "127.0.0.1", port: 0)!, backlog: 1, reusePort: false)
        listenerFd = listener.fd
        let waker: Waker
        do { waker = try Waker() } catch {
            listener.close()
            throw error
        }
        let mailbox = Mailbox(
            waker: waker, capacity: configuration.mailboxCapacity, bytesLimit: configuration.mailboxBytesLimit)
        control = LoopControl(index: 0, waker: waker, mailbox: mailbox)
        // Warnings (an accept pause, say) are expected here: kept out of the test log.
        var logger = Logger(label: "simulated-loop")
        logger.logLevel = .error
        do {
            loop = try EventLoop(
                index: 0, configuration: configuration, listener: listener, tlsListener: nil, tlsContext: tlsContext,
                backend: backend,
                deadlineTimer: DeadlineTimer(), control: control, mailboxes: Mailboxes([mailbox]),
                decoder: format.makeDecoder(), encoder: format.makeEncoder(), handler: handler, logger: logger)
        } catch {
            listener.close()
            waker.close()
            throw error
        }
        let timer = loop.reactor.deadlineTimer
        backend.deadlineTimerArmedAtMs = { timer.armedAtMs }
    }

    /// The loop's counters as they stand (messages out included).
    var statistics: Statistics { loop.currentStatistics }

    var openConnections: Int { loop.slab.liveCount }

    /// Moves the clock on by `milliseconds`, then runs one iteration.
    func step(advancingMs milliseconds: Int64 = 0) {
        precondition(!finished, "stepping a loop that has finished")
        backend.clockNs += milliseconds * 1_000_000
        finished = !loop.runIteration()
    }

    /// Lets `milliseconds` pass one millisecond per iteration, as a loop
    /// woken by its deadline timer sees them (a jump with `step` would let
    /// the loop see a deadline only after later ones).
    func run(forMs milliseconds: Int64) {
        for _ in 0..<milliseconds { step(advancingMs: 1) }
    }

    /// Steps (without moving the clock) until `condition` holds, at most
    /// `limit` times; returns whether it held.
    func step(until condition: () -> Bool, limit: Int = 1_000) -> Bool {
        for _ in 0..<limit {
            if condition() { return true }
            step()
        }
        return condition()
    }

    /// Sends all of `bytes` from `peer`, stepping the loop while the
    /// socket is full (the server reads them meanwhile).
    func send(_ bytes: [UInt8], from peer: SocketPeer) {
        var sent = 0
        for _ in 0..<10_000 where sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes {
                Glibc.send(peer.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { sent += n }
            step()
        }
        precondition(sent == bytes.count, "the loop stopped reading")
    }

    /// A new client: the server end is accepted in one iteration.
    /// `serverSendBufferBytes` shrinks the server end's send buffer, so a
    /// peer that does not read backs the server's output up at once.
    func connect(serverSendBufferBytes: Int32? = nil) throws -> SocketPeer {
        let (peer, server) = try SocketPeer.pair()
        if var size = serverSendBufferBytes {
            setsockopt(server, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        backend.pendingAccepts.append(server)
        step()
        precondition(backend.pendingAccepts.isEmpty, "the loop did not accept")
        return peer
    }

    /// Shuts the loop down (connections get shutdownTimeoutMs) and releases
    /// its descriptors; false when it did not shut down.
    func shutDown() -> Bool {
        if !finished {
            control.requestStop()
            step()
            for _ in 0..<4 where !finished {
                step(advancingMs: Int64(loop.configuration.shutdownTimeoutMs))
            }
        }
        guard finished else { return false }
        _ = loop.finishRunning()
        control.waker.close()
        for fd in backend.pendingAccepts { Glibc.close(fd) }
        backend.pendingAccepts = []
        return true
    }
}

extension SimulatedLoop where Transport == PlaintextTransport {
    /// A plaintext loop serving `format` with `handler`.
    convenience init(_ configuration: Configuration, format: Format, handler: Handler) throws {
        try self.init(configuration, format: format, handler: handler, tlsContext: nil)
    }
}

extension SimulatedLoop where Format == LengthPrefixFormat, Handler == EchoHandler, Transport == PlaintextTransport {
    /// A length-prefixed (u32le) echo loop.
    convenience init(_ configuration: Configuration) throws {
        try self.init(configuration, format: configuration.lengthPrefixFormat, handler: EchoHandler())
    }
}

/// The client end of a socketpair: non-blocking, never waits.
final class SocketPeer {
    private(set) var fd: Int32

    /// A connected pair: (client end, server end).
    static func pair() throws -> (SocketPeer, Int32) {
        var fds: [Int32] = [-1, -1]
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, flags, 0, &fds) == 0 else { throw Errno(rawValue: errno) }
        return (SocketPeer(fd: fds[0]), fds[1])
    }

    private init(fd: Int32) { self.fd = fd }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Sends all of `bytes`; the socket must take them without blocking.
    func send(_ bytes: [UInt8]) {
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        precondition(sent == bytes.count, "the peer's socket took \(sent) of \(bytes.count) bytes")
    }

    /// `payload` framed as u32le.
    static func frame(_ payload: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { Array($0) } + payload
    }

    /// Everything the server has sent so far (at most `limit` bytes), then
    /// whether the stream ended.
    func receive(limit: Int = 1 << 24) -> (bytes: [UInt8], ended: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while received.count < limit {
            let wanted = min(buffer.count, limit - received.count)
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
            if n > 0 {
                received += buffer[..<n]
            } else if n == 0 {
                return (received, true)
            } else if errno == EINTR {
                continue
            } else {
                precondition(errno == EAGAIN || errno == ECONNRESET, "read: \(Errno(rawValue: errno))")
                return (received, errno == ECONNRESET)
            }
        }
        return (received, false)
    }

    /// Shuts down the sending side (the server reads EOF).
    func finishSending() {
        shutdown(fd, Int32(SHUT_WR))
    }
}
