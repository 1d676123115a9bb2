// Server: the embedding entry point. It validates the configuration, opens
// one listener per loop (so "address in use" is reported to the caller),
// builds each loop with its own handler, runs each on its own thread, and
// shuts them down on request from any thread. Connections are reached from
// any thread by ConnectionID through the loops' mailboxes.

import CoreMetrics
import Logging

/// A Keel server: `configuration.threads` event loops serving `Handler`.
public final class Server<Handler: ConnectionHandler>: Sendable {
    /// The settings the server was created with.
    public let configuration: Configuration
    @usableFromInline let logger: Logger
    @usableFromInline let metricsFactory: MetricsFactory?
    /// Builds one loop from its parts; made by an @inlinable initialiser, so
    /// the loop it builds is specialised in the caller's module.
    @usableFromInline let loopBuilder: LoopBuilder
    /// The server's lifecycle and cross-thread entry points, without the
    /// handler type: pass it to code that sends to connections or stops the server.
    public let handle = ServerHandle()

    @usableFromInline
    init(configuration: Configuration, logger: Logger, metricsFactory: MetricsFactory?, loopBuilder: LoopBuilder) {
        self.configuration = configuration
        self.logger = logger
        self.metricsFactory = metricsFactory
        self.loopBuilder = loopBuilder
    }

    /// A server whose handler receives message bytes, in the byte format
    /// the configuration names (`messageProtocol`: length-prefixed frames
    /// or lines).
    /// - Parameters:
    ///   - configuration: limits, address and threads; validated by `start()`.
    ///   - logger: where the server logs (oversize frames, accept errors,
    ///     and at debug level every connection's open and close).
    ///   - metricsFactory: where counters go; nil uses the process-wide
    ///     swift-metrics backend (`MetricsSystem.bootstrap`).
    ///   - makeHandler: builds the handler of the loop with the given index;
    ///     called once per loop, by `start()`, on the caller's thread.
    @inlinable
    public convenience init(
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "keel"),
        metricsFactory: MetricsFactory? = nil,
        makeHandler: @escaping @Sendable (UInt32) -> Handler
    ) where Handler.Request == UnsafeRawBufferPointer {
        switch configuration.messageProtocol {
        case .length:
            self.init(
                configuration: configuration, format: configuration.lengthPrefixFormat, logger: logger,
                metricsFactory: metricsFactory, makeHandler: makeHandler)
        case .line:
            self.init(
                configuration: configuration, format: LineFormat(maxLineBytes: configuration.maxMessageBytes),
                logger: logger, metricsFactory: metricsFactory, makeHandler: makeHandler)
        }
    }

    /// A server speaking `format` (e.g. `RESPFormat`, or an application's
    /// own), whose handler receives that format's requests.
    /// - Parameters:
    ///   - configuration: limits, address and threads; validated by `start()`.
    ///     Its `messageProtocol`, `frame` and `maxMessageBytes` are not used
    ///     here: `format` carries its own limits.
    ///   - format: the wire format; each loop makes its own decoder from it.
    ///   - logger: where the server logs.
    ///   - metricsFactory: where counters go; nil uses the process-wide backend.
    ///   - makeHandler: builds the handler of the loop with the given index.
    @inlinable
    public convenience init<Format: WireFormat>(
        configuration: Configuration = Configuration(),
        format: Format,
        logger: Logger = Logger(label: "keel"),
        metricsFactory: MetricsFactory? = nil,
        makeHandler: @escaping @Sendable (UInt32) -> Handler
    ) where Format.Decoder.Request == Handler.Request {
        self.init(
            configuration: configuration, logger: logger, metricsFactory: metricsFactory,
            loopBuilder: LoopBuilder { parts throws(ServerError) in
                try parts.build(
                    decoder: format.makeDecoder(), encoder: format.makeEncoder(),
                    handler: makeHandler(parts.control.index))
            })
    }

    /// Validates the configuration, binds the listeners and starts serving.
    /// Returns the bound address (with the real port when 0 was asked for).
    @discardableResult
    public func start() throws(ServerError) -> SocketAddress {
        try configuration.validate()
        return try handle.start { () throws(ServerError) in try startLoops() }
    }

    /// Opens every listener first (all on the port the first one got), then
    /// builds every loop; any failure closes what was opened.
    private func startLoops() throws(ServerError) -> ServerHandle.Running {
        let count = configuration.threads
        var listeners: [ListeningSocket] = []
        var tlsListeners: [ListeningSocket] = []
        var wakers: [Waker] = []
        var runs: [Transfer<BuiltLoop>] = []
        var reporter: Reporter?
        do throws(ServerError) {
            do throws(ListenerError) {
                listeners = try ListeningSocket.openGroup(
                    at: SocketAddress(host: configuration.host, port: configuration.port)!, count: count,
                    backlog: configuration.backlog)
                if let tlsPort = configuration.tlsPort {
                    tlsListeners = try ListeningSocket.openGroup(
                        at: SocketAddress(host: configuration.host, port: tlsPort)!, count: count,
                        backlog: configuration.backlog)
                }
            } catch {
                throw ServerError(error)
            }
            var tlsContext: TLSContext?
            if let tls = configuration.tls {
                do throws(TLSError) { tlsContext = try TLSContext(tls) } catch { throw .tls(error) }
                if tls.recyclesOpenSSLBlocks && !OpenSSLBlockRecycler.installed {
                    logger.notice(
                        "OpenSSL keeps its own allocator: it allocated before Keel's first TLS context, was given another, or runs under a sanitizer; each TLS record then mallocs a few small blocks",
                        metadata: ["component": "tls"])
                }
            }
            for _ in 0..<count {
                do throws(Errno) { wakers.append(try Waker()) } catch { throw .setup("eventfd", error) }
            }
            let mailboxes = Mailboxes(
                wakers.map {
                    Mailbox(
                        waker: $0, capacity: configuration.mailboxCapacity,
                        bytesLimit: configuration.mailboxBytesLimit)
                })
            // Turning clients away, listeners stay on: no loop needs waking.
            let admission =
                count > 1
                ? ClientAdmission(
                    limit: configuration.maxClients, wakers: configuration.clientLimitReply == nil ? wakers : [])
                : nil
            let controls = (0..<count).map {
                LoopControl(index: UInt32($0), waker: wakers[$0], mailbox: mailboxes.all[$0], admission: admission)
            }
            let factory = metricsFactory ?? MetricsSystem.factory
            let started = Reporter(
                controls: controls, metrics: controls.map { LoopMetrics(loop: $0.index, factory: factory) },
                intervalMs: configuration.statisticsIntervalMs)
            reporter = started
            // Loops log through the reporter's relay: a log handler that
            // blocks (a stalled pipe on standard error) delays log lines,
            // never traffic.
            let loopLogger = started.relaying(logger)
            for index in 0..<count {
                runs.append(
                    try makeLoop(
                        control: controls[index], listener: listeners[index],
                        tlsListener: tlsListeners.isEmpty ? nil : tlsListeners[index], tlsContext: tlsContext,
                        mailboxes: mailboxes, logger: loopLogger))
            }
            let results = ResultSlots(count: count)
            let threads = runs.enumerated().map { index, built in
                Transfer(
                    value: LoopThread(name: "keel-loop-\(index)") {
                        results.store(built.value.run(), at: index)
                    })
            }
            return ServerHandle.Running(
                address: listeners[0].address, tlsAddress: tlsListeners.first?.address, tlsContext: tlsContext,
                controls: controls, mailboxes: mailboxes, threads: threads,
                results: results, reporter: started)
        } catch {
            // Loops built so far own their listener and backend; none has run
            // yet, so release their descriptors here.
            for built in runs { built.value.discard() }
            for listener in listeners.dropFirst(runs.count) { listener.close() }
            for listener in tlsListeners.dropFirst(runs.count) { listener.close() }
            for waker in wakers { waker.close() }
            reporter?.finish(timeoutMs: 0)
            throw error
        }
    }

    /// Builds one loop: its backend (wrapped for fault injection when a test
    /// asks for it) and deadline timer here, out of line; the loop itself by
    /// `loopBuilder`, specialised in the caller's module.
    private func makeLoop(
        control: LoopControl, listener: ListeningSocket, tlsListener: ListeningSocket?, tlsContext: TLSContext?,
        mailboxes: Mailboxes, logger: Logger
    ) throws(ServerError) -> Transfer<BuiltLoop> {
        // Each loop may hold the whole limit; with several loops,
        // ClientAdmission keeps their sum within it.
        let loopConfiguration = configuration
        let backend: LoopParts.Backend
        switch configuration.backend {
        case .epoll:
            do throws(Errno) {
                let epoll = try EpollBackend(
                    maxEvents: configuration.maxEventsPerWait, edgeTriggered: configuration.edgeTriggered)
                backend = Self.injectingFaults(into: .epoll(epoll), configuration)
            } catch {
                throw .setup("epoll_create1", error)
            }
        case .poll:
            let poll = PollBackend(maxClients: loopConfiguration.maxClients)
            backend = Self.injectingFaults(into: .poll(poll), configuration)
        }
        // On failure the backend is closed here; the listener is closed by
        // startLoops, which owns listeners until a built loop takes one.
        let deadlineTimer: DeadlineTimer
        do throws(Errno) {
            deadlineTimer = try DeadlineTimer()
        } catch {
            backend.close()
            throw .setup("timerfd_create", error)
        }
        let parts = LoopParts(
            configuration: loopConfiguration, listener: listener, tlsListener: tlsListener, tlsContext: tlsContext,
            backend: backend, deadlineTimer: deadlineTimer, control: control, mailboxes: mailboxes, logger: logger)
        return Transfer(value: try loopBuilder.build(parts))
    }

    /// `backend`, wrapped in a fault-injecting one when the configuration
    /// has a fault plan (which only debug builds, the tests', have).
    private static func injectingFaults(
        into backend: LoopParts.Backend, _ configuration: Configuration
    ) -> LoopParts.Backend {
        #if DEBUG
            if let plan = configuration.faultPlan {
                switch backend {
                case .epoll(let epoll): return .faultyEpoll(FaultInjectingBackend(base: epoll, plan: plan))
                case .poll(let poll): return .faultyPoll(FaultInjectingBackend(base: poll, plan: plan))
                case .faultyEpoll, .faultyPoll: return backend
                }
            }
        #endif
        return backend
    }

    /// The address being served, once started.
    public var localAddress: SocketAddress? { handle.localAddress }

    /// The TLS port's address (`Configuration.tlsPort`), once started.
    public var tlsAddress: SocketAddress? { handle.tlsAddress }

    /// See ``ServerHandle/reloadTLS()``.
    public func reloadTLS() throws(TLSError) { try handle.reloadTLS() }

    /// See ``ServerHandle/send(_:to:)``.
    @discardableResult
    public func send(_ payload: [UInt8], to id: ConnectionID) -> SendResult { handle.send(payload, to: id) }

    /// See ``ServerHandle/close(_:)``.
    @discardableResult
    public func close(_ id: ConnectionID) -> SendResult { handle.close(id) }

    /// See ``ServerHandle/shutdown()``.
    public func shutdown() { handle.shutdown() }

    /// See ``ServerHandle/wait()``.
    @discardableResult
    public func wait() -> Statistics { handle.wait() }

    /// See ``ServerHandle/statistics()``.
    public func statistics() -> Statistics { handle.statistics() }

    /// See ``ServerHandle/loopStatistics()``.
    public func loopStatistics() -> [Statistics] { handle.loopStatistics() }

    /// Connections open right now (as of each loop's last iteration).
    public var openConnections: Int { handle.openConnections }

    #if DEBUG
        var timeoutListMembers: Int { handle.timeoutListMembers }
        var bufferedBytes: Int { handle.bufferedBytes }
        var isAccepting: Bool { handle.isAccepting }
        var admittedConnections: Int? { handle.admittedConnections }
    #endif
}

extension Server where Handler == EchoHandler {
    /// An echo server: every message is answered with an identical one.
    @inlinable
    public convenience init(
        configuration: Configuration = Configuration(), logger: Logger = Logger(label: "keel"),
        metricsFactory: MetricsFactory? = nil
    ) {
        self.init(configuration: configuration, logger: logger, metricsFactory: metricsFactory) { _ in
            EchoHandler()
        }
    }
}

/// Where loop threads leave their final counters.
final class ResultSlots: Sendable {
    private let slots: Locked<[Statistics?]>

    init(count: Int) {
        slots = Locked(Array(repeating: nil, count: count))
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
