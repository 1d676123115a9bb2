// ServerHandle: the part of a server other code holds: its lifecycle
// (shutdown, wait), cross-thread sends and closes by ConnectionID, and its
// counters. Not generic over the handler, so it can be passed anywhere.

/// A running server's lifecycle and cross-thread entry points. Safe from any thread.
public final class ServerHandle: Sendable {
    enum State {
        case created
        case running(Running)
        case stopped(Statistics)
    }

    struct Running {
        let address: SocketAddress
        /// The TLS port's address, when TLS is served on a port of its own.
        let tlsAddress: SocketAddress?
        let tlsContext: TLSContext?
        let controls: [LoopControl]
        let mailboxes: Mailboxes
        let threads: [Transfer<LoopThread>]
        let results: ResultSlots
        let reporter: Reporter
    }

    private let state = Locked<State>(.created)
    /// Kept past the stop, for `droppedLogRecords`.
    private let reporter = Locked<Reporter?>(nil)

    init() {}

    /// The address being served, once started.
    public var localAddress: SocketAddress? {
        running?.address
    }

    /// The address of the TLS port (`Configuration.tlsPort`), once started.
    public var tlsAddress: SocketAddress? {
        running?.tlsAddress
    }

    /// Reads the TLS certificate, key and CA files again, for certificate
    /// rotation without a restart: handshakes from now on use them, open
    /// connections carry on with what they had. When a file does not load
    /// the old certificate stays, and the error says why. Does nothing on a
    /// server without TLS, or not running.
    public func reloadTLS() throws(TLSError) {
        guard let context = running?.tlsContext else { return }
        try context.reload()
    }

    /// Runs `startLoops` once, under the lock, and records the running server.
    func start(_ startLoops: () throws(ServerError) -> Running) throws(ServerError) -> SocketAddress {
        try state.withLock { state throws(ServerError) -> SocketAddress in
            guard case .created = state else {
                throw .invalidConfiguration("a server can be started only once")
            }
            let running = try startLoops()
            state = .running(running)
            reporter.withLock { $0 = running.reporter }
            return running.address
        }
    }

    private var running: Running? {
        state.withLock { state in
            if case .running(let running) = state { return running }
            return nil
        }
    }

    /// Sends `payload` as one message to the connection `id`, from any thread.
    /// `.queued` means the owning loop will deliver it unless the connection
    /// has gone by then (counted as `staleCommands`, never delivered to a new
    /// owner of the slot); `.queueFull` means that loop's mailbox is full.
    @discardableResult
    public func send(_ payload: [UInt8], to id: ConnectionID) -> SendResult {
        guard let running else { return .connectionGone }
        return running.mailboxes.post(.send(id, payload), to: id)
    }

    /// Closes the connection `id` after its pending output, from any thread.
    @discardableResult
    public func close(_ id: ConnectionID) -> SendResult {
        guard let running else { return .connectionGone }
        return running.mailboxes.post(.close(id), to: id)
    }

    /// Asks the server to stop: it stops accepting, lets pending output drain
    /// (up to `shutdownTimeoutMs`), closes every connection and ends its
    /// threads. Returns at once; safe from any thread, any number of times.
    public func shutdown() {
        state.withLock { state in
            if case .running(let running) = state {
                for control in running.controls { control.requestStop() }
            }
        }
    }

    /// Blocks until the server has stopped; returns the totals over its life.
    @discardableResult
    public func wait() -> Statistics {
        guard let running else {
            return state.withLock { state in
                if case .stopped(let totals) = state { return totals }
                return Statistics()
            }
        }
        for thread in running.threads { thread.value.join() }
        return state.withLock { state in
            if case .stopped(let totals) = state { return totals }
            for control in running.controls { control.waker.close() }
            // The loops' last counters and log lines; a blocked log handler
            // holds up the return for at most a second.
            running.reporter.finish(timeoutMs: 1_000)
            let totals = running.results.total()
            state = .stopped(totals)
            return totals
        }
    }

    /// Counters over all loops, as of each loop's last statistics interval
    /// (at most `statisticsIntervalMs` old); the final totals once stopped.
    public func statistics() -> Statistics {
        loopStatistics().reduce(into: Statistics()) { $0.add($1) }
    }

    /// Counters of each loop, as `statistics()`.
    public func loopStatistics() -> [Statistics] {
        state.withLock { state in
            switch state {
            case .created: return []
            case .stopped(let totals): return [totals]
            case .running(let running): return running.controls.map { $0.published.withLock { $0 } }
            }
        }
    }

    /// Log records the server's loops could not hand on because the log
    /// handler did not keep up (they were dropped, not waited for).
    public var droppedLogRecords: Int {
        reporter.withLock { $0?.droppedLogRecords ?? 0 }
    }

    /// Connections open right now (as of each loop's last iteration).
    public var openConnections: Int {
        gauges { $0.openConnections.load(ordering: .relaxed) }
    }

    #if DEBUG
        // Test gauges: published only with `checkInvariantsEveryIteration`,
        // compiled into debug builds (the tests') only.

        /// Members of all timeout lists (equals `openConnections` while running).
        var timeoutListMembers: Int {
            gauges { $0.diagnostics.timeoutMembers.load(ordering: .relaxed) }
        }

        /// Bytes held by connection buffers (0 when nothing is pending anywhere).
        var bufferedBytes: Int {
            gauges { $0.diagnostics.ringBytes.load(ordering: .relaxed) }
        }

        /// Connections the loops hold together by the shared client count
        /// (ClientAdmission; nil with one loop): exact at any moment, where
        /// the sum of the loops' gauges may count a closing one twice.
        var admittedConnections: Int? {
            running?.controls.first?.admission?.open.load(ordering: .acquiring)
        }

        /// Whether every loop's listener is switched on.
        var isAccepting: Bool {
            let loops = running?.controls.count ?? 0
            return loops > 0 && gauges { $0.diagnostics.listenerOn.load(ordering: .relaxed) ? 1 : 0 } == loops
        }
    #endif

    private func gauges(_ read: (LoopControl) -> Int) -> Int {
        running?.controls.reduce(0) { $0 + read($1) } ?? 0
    }
}
