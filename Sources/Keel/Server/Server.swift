// Server: the embedding entry point. It validates the configuration, opens
// the listener (so "address in use" is reported to the caller), builds the
// loop with its handler, runs it on its own thread, and shuts it down on
// request from any thread.

import Logging
import Synchronization

/// A Keel server: one event loop on its own thread, serving `Handler`.
public final class Server<Handler: ConnectionHandler>: Sendable {
    /// The settings the server was created with.
    public let configuration: Configuration
    private let logger: Logger
    private let makeHandler: @Sendable (UInt32) -> Handler
    private let state = Mutex<State>(.created)

    private enum State {
        case created
        case running(Running)
        case stopped(Statistics)
    }

    private struct Running {
        let address: SocketAddress
        let controls: [LoopControl]
        let threads: [Transfer<LoopThread>]
        let results: ResultSlots
    }

    /// - Parameters:
    ///   - configuration: limits and address; validated by `start()`.
    ///   - logger: where the server logs (closes for oversize frames, accept errors).
    ///   - makeHandler: builds the handler of the loop with the given index;
    ///     called once per loop, by `start()`, on the caller's thread.
    public init(
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "keel"),
        makeHandler: @escaping @Sendable (UInt32) -> Handler
    ) {
        self.configuration = configuration
        self.logger = logger
        self.makeHandler = makeHandler
    }

    /// Validates the configuration, binds the listener and starts serving.
    /// Returns the bound address (with the real port when 0 was asked for).
    @discardableResult
    public func start() throws(ServerError) -> SocketAddress {
        try configuration.validate()
        let address = SocketAddress(host: configuration.host, port: configuration.port)!
        return try state.withLock { state throws(ServerError) -> SocketAddress in
            guard case .created = state else {
                throw .invalidConfiguration("a server can be started only once")
            }
            let listener = try ListeningSocket.open(at: address, backlog: configuration.backlog, reusePort: false)
            let running = try startLoop(listener: listener)
            state = .running(running)
            return running.address
        }
    }

    private func startLoop(listener: ListeningSocket) throws(ServerError) -> Running {
        let index: UInt32 = 0
        let control: LoopControl
        let waker: Waker
        do throws(Errno) {
            waker = try Waker()
        } catch {
            listener.close()
            throw .setup("eventfd", error)
        }
        control = LoopControl(index: index, waker: waker)
        let run: Transfer<() -> Statistics>
        do throws(ServerError) {
            switch configuration.backend {
            case .epoll:
                let backend: EpollBackend
                do throws(Errno) {
                    backend = try EpollBackend(
                        maxEvents: configuration.maxEventsPerWait, edgeTriggered: configuration.edgeTriggered)
                } catch {
                    throw .setup("epoll_create1", error)
                }
                run = try makeLoop(index: index, backend: backend, listener: listener, control: control)
            case .poll:
                let backend = PollBackend(maxClients: configuration.maxClients)
                run = try makeLoop(index: index, backend: backend, listener: listener, control: control)
            }
        } catch {
            waker.close()
            listener.close()
            throw error
        }
        let results = ResultSlots(count: 1)
        let thread = LoopThread(name: "keel-loop-\(index)") {
            results.store(run.value(), at: Int(index))
        }
        return Running(
            address: listener.address, controls: [control], threads: [Transfer(value: thread)], results: results)
    }

    /// Builds one loop specialised for `backend`; returns its run function.
    private func makeLoop<Backend: EventBackend>(
        index: UInt32, backend: Backend, listener: ListeningSocket, control: LoopControl
    ) throws(ServerError) -> Transfer<() -> Statistics> {
        do throws(Errno) {
            let loop = try EventLoop(
                index: index, configuration: configuration, listener: listener, backend: backend,
                control: control, handler: makeHandler(index), logger: logger)
            return Transfer(value: { loop.run() })
        } catch {
            backend.close()
            throw .setup("registering the listener with \(Backend.name)", error)
        }
    }

    /// The address being served, once started.
    public var localAddress: SocketAddress? {
        state.withLock { state in
            if case .running(let running) = state { return running.address }
            return nil
        }
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
        let running: Running? = state.withLock { state in
            if case .running(let running) = state { return running }
            return nil
        }
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
            let totals = running.results.total()
            state = .stopped(totals)
            return totals
        }
    }

    /// Connections open right now (as of each loop's last iteration).
    public var openConnections: Int {
        gauges { $0.openConnections.load(ordering: .relaxed) }
    }

    /// Members of all timeout lists (equals `openConnections` while running).
    var timeoutListMembers: Int {
        gauges { $0.timeoutMembers.load(ordering: .relaxed) }
    }

    /// Bytes held by connection buffers (0 when nothing is pending anywhere).
    var bufferedBytes: Int {
        gauges { $0.ringBytes.load(ordering: .relaxed) }
    }

    /// Whether every loop's listener is switched on.
    var isAccepting: Bool {
        gauges { $0.listenerOn.load(ordering: .relaxed) ? 1 : 0 } == loopCount
    }

    /// Loop iterations completed so far, over all loops.
    var iterations: Int {
        gauges { $0.iterations.load(ordering: .acquiring) }
    }

    private var loopCount: Int {
        state.withLock { state in
            if case .running(let running) = state { return running.controls.count }
            return 0
        }
    }

    private func gauges(_ read: (LoopControl) -> Int) -> Int {
        state.withLock { state in
            guard case .running(let running) = state else { return 0 }
            return running.controls.reduce(0) { $0 + read($1) }
        }
    }
}

extension Server where Handler == EchoHandler {
    /// An echo server: every message is answered with an identical one.
    public convenience init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "keel")) {
        self.init(configuration: configuration, logger: logger) { _ in EchoHandler() }
    }
}

/// Where loop threads leave their final counters.
final class ResultSlots: Sendable {
    private let slots: Mutex<[Statistics?]>

    init(count: Int) {
        slots = Mutex(Array(repeating: nil, count: count))
    }

    func store(_ statistics: Statistics, at index: Int) {
        slots.withLock { $0[index] = statistics }
    }

    func total() -> Statistics {
        slots.withLock { slots in
            var total = Statistics()
            for case let statistics? in slots { total.add(statistics) }
            return total
        }
    }
}
