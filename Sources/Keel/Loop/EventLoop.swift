// EventLoop: one thread's worth of Keel: a listener, a backend, a slab of
// connections with their rings, timeout lists, a decoder for the wire
// format, and a handler.
//
// One iteration: wait (until an event, or the deadline timer the reactor
// armed for the nearest deadline fires), read the clock once, dispatch
// every ready event, flush connections that got output from other
// connections' handlers, enforce deadlines, publish gauges.
// Everything the loop owns is touched by its own thread only; other threads
// reach it through LoopControl (stop request, waker).
//
// Two halves: the reactor (Reactor.swift: waiting, the clock, the deadline
// timer, busy polling), a value this class stores and whose methods are
// inlined, and the connection engine, this class with its extensions
// (accepting, reading, framing, handling, writing, lingering, closing). The
// engine tells the reactor its nearest deadline (one long past while work
// is queued, so the wait only polls); the reactor waits and hands back the
// ready events. Kept in one specialised function from wait to send: no
// indirection between the halves.
//
// The backend is the loop's only way to readiness, socket I/O and the
// clock, so tests drive a loop one `runIteration()` at a time on a scripted
// backend with a clock they move (Tests/KeelTests/Support/ScriptedBackend.swift).
//
// Specialisation: the loop is generic over its backend, decoder and handler,
// and its per-message path is @inlinable over @usableFromInline internals.
// Server's initialisers are @inlinable too, so the loop is instantiated and
// specialised in the module that names the handler (the application's), not
// here: every call on the hot path is direct and inlined, for an
// application's handler as for Keel's own echo. Per-connection and rarer
// work (accepting, closing, deadlines, the mailbox) stays out of line.
//
// The loop's classes are touched by the loop's thread only, so their hot
// stored properties are marked @exclusivity(unchecked): Swift's dynamic
// exclusivity checks (swift_beginAccess per access) were a third of the
// user-space instructions per message.
//
// Invariant between iterations: for every live slot, the registered interest
// is read unless reading is paused or the connection is finishing, plus
// write exactly when its output ring is non-empty; a live slot is on the
// write-timeout list exactly when its output is non-empty, and then not on
// the idle list (a connection whose replies are draining is not idle).

import Logging
import Synchronization

/// A single-threaded event loop, specialised over its backend, decoder,
/// handler and transport (plaintext only, or TLS too).
@usableFromInline
final class EventLoop<
    Backend: EventBackend, Decoder: MessageDecoder, Handler: ConnectionHandler, Transport: ConnectionTransport
>
where Handler.Request == Decoder.Request {
    @usableFromInline let index: UInt32
    @usableFromInline let configuration: Configuration
    @usableFromInline let logger: Logger

    // MARK: the reactor (Reactor.swift): waiting, the clock, the deadline timer, busy polling

    @usableFromInline @exclusivity(unchecked) var reactor: Reactor<Backend>
    /// The loop's clock, read once per wait.
    @inlinable var nowMs: Int64 { reactor.nowMs }

    // MARK: the loop's own wakeups and schedules (this file, EventLoop+Memory.swift)

    /// What other threads touch: the stop request, the waker, the mailbox.
    @usableFromInline let control: LoopControl
    /// When the buffers' memory goes back to the system.
    @usableFromInline @exclusivity(unchecked) var memoryRelease: MemoryReleaseSchedule
    /// Commands drained from the mailbox, reused between wakeups.
    @usableFromInline @exclusivity(unchecked) var commandBatch: [Mailbox.Command] = []
    /// When the handler's next tick is due (Handler.tickIntervalMs).
    @usableFromInline @exclusivity(unchecked) var nextTickMs = Int64.max
    /// When the counters are next published (LoopControl; the server's
    /// reporting thread hands them to swift-metrics).
    @usableFromInline @exclusivity(unchecked) var nextStatisticsMs: Int64
    /// Set once shutdown has begun; connections are draining until this time.
    @usableFromInline @exclusivity(unchecked) var shutdownDeadlineMs: Int64?
    /// Counters. The per-message ones add with &+= (64-bit counts of bytes
    /// or messages cannot overflow), which spares a check per addition.
    @usableFromInline @exclusivity(unchecked) var stats = Statistics()

    // MARK: the connection engine: accepting, reading, framing, handling,
    // writing, closing (EventLoop+Accept, +Input, +Output, +Proxy, +Closing)

    /// Socket I/O and interest (the reactor waits on the same backend).
    @usableFromInline let backend: Backend

    /// The listening socket, nil once shutdown has closed it.
    @usableFromInline @exclusivity(unchecked) var listener: ListeningSocket?
    /// The TLS port's listening socket, when TLS has a port of its own.
    @usableFromInline @exclusivity(unchecked) var tlsListener: ListeningSocket?
    /// Connections on `listener` speak TLS (TLS without a port of its own).
    @usableFromInline let listenerSpeaksTLS: Bool
    /// Where TLS sessions are made from; nil on a plaintext server.
    @usableFromInline let tlsContext: TLSContext?
    /// The TLS sessions of this loop's connections; nil on a plaintext
    /// server, whose per-read and per-send paths then check only this.
    @usableFromInline let tls: TLSSessions?
    /// Whether the listener is on, and any accept pause.
    @usableFromInline @exclusivity(unchecked) var acceptGate = AcceptGate()
    @usableFromInline @exclusivity(unchecked) var handler: Handler
    @usableFromInline @exclusivity(unchecked) var decoder: Decoder
    /// The connections and the output path handlers send through.
    @usableFromInline let outputs: ConnectionOutputs
    // Stored, not computed from `outputs`: a computed class reference costs a
    // retain and a release per use.
    @usableFromInline let slab: ClientSlab
    @usableFromInline let pool: BufferPool
    /// Where every read lands before it is framed.
    @usableFromInline let readBuffer: ReadBuffer
    /// The connections' deadlines: first message, idle, write, linger.
    @usableFromInline let timeouts: ConnectionTimeouts
    /// The most bytes one request may take (the decoder's, read once).
    @usableFromInline let maxRequestBytes: Int
    /// Edge-triggered mode: read and write until EAGAIN (within budgets).
    /// A constant false for backends that cannot trigger on edges (poll),
    /// whose loops so carry no edge-triggered code.
    @inlinable var edgeTriggered: Bool { Backend.triggersOnEdges && edgeTriggeredConfigured }
    @usableFromInline let edgeTriggeredConfigured: Bool
    /// The echo fast path is on: the handler echoes every message, the
    /// format's replies are its requests' own bytes, and no test turned it off.
    @usableFromInline let echoesInPlace: Bool
    /// Connections that used their read or write budget with work left
    /// (flags readQueued, writeQueued); served again next iteration, since no
    /// new edge will announce them.
    @usableFromInline @exclusivity(unchecked) var revisits: [EventToken] = []
    @usableFromInline @exclusivity(unchecked) var revisitsInProgress: [EventToken] = []
    @usableFromInline let oversizeLog: RateLimitedLog
    @usableFromInline let protocolErrorLog: RateLimitedLog
    @usableFromInline let proxyHeaderLog: RateLimitedLog
    @usableFromInline let acceptLog: RateLimitedLog
    /// Connections turned away at the client limit.
    @usableFromInline let rejectLog: RateLimitedLog
    @usableFromInline let memoryLog: RateLimitedLog
    @usableFromInline let cutLog: RateLimitedLog
    @usableFromInline let tlsLog: RateLimitedLog

    @usableFromInline
    init(
        index: UInt32, configuration: Configuration, listener: ListeningSocket, tlsListener: ListeningSocket?,
        tlsContext: TLSContext?, backend: Backend,
        deadlineTimer: DeadlineTimer, control: LoopControl, mailboxes: Mailboxes, decoder: Decoder,
        encoder: any MessageEncoder, handler: Handler, logger: Logger
    ) throws(Errno) {
        self.index = index
        self.configuration = configuration
        self.listener = listener
        self.tlsListener = tlsListener
        self.tlsContext = tlsContext
        precondition(Transport.encrypts == (tlsContext != nil), "a TLS context goes with TLSTransport")
        listenerSpeaksTLS = tlsContext != nil && tlsListener == nil
        tls = tlsContext.map { _ in TLSSessions(capacity: configuration.maxClients) }
        self.backend = backend
        self.control = control
        self.handler = handler
        self.decoder = decoder
        self.logger = logger
        maxRequestBytes = decoder.maxRequestBytes
        edgeTriggeredConfigured = configuration.edgeTriggered
        #if DEBUG
            let echoInPlace = configuration.echoInPlace
        #else
            let echoInPlace = true
        #endif
        echoesInPlace = Handler.echoesEveryMessage && Decoder.echoesRequestsVerbatim && echoInPlace
        memoryRelease = MemoryReleaseSchedule(quietMs: configuration.releaseMemoryAfterQuietMs)
        revisits.reserveCapacity(configuration.maxClients)
        revisitsInProgress.reserveCapacity(configuration.maxClients)
        let pool = BufferPool(retainedBytesLimit: configuration.bufferPoolRetainedBytes, memory: .system)
        outputs = ConnectionOutputs(
            loopIndex: index, capacity: configuration.maxClients, pool: pool, encoder: encoder,
            stagingCapacity: configuration.outputStagingBytes ?? configuration.readBufferBytes + 64,
            maxPendingOutputBytes: configuration.maxPendingOutputBytes, mailboxes: mailboxes,
            proxyProtocol: configuration.proxyProtocol, tls: tls)
        slab = outputs.slab
        self.pool = pool
        readBuffer = ReadBuffer(capacity: configuration.readBufferBytes)
        timeouts = ConnectionTimeouts(capacity: configuration.maxClients, configuration: configuration)
        reactor = Reactor(backend: backend, deadlineTimer: deadlineTimer, busyPollUs: configuration.busyPollUs)
        let nowMs = reactor.nowMs
        nextStatisticsMs = nowMs + Int64(configuration.statisticsIntervalMs)
        if let interval = Handler.tickIntervalMs {
            precondition(interval >= 1 && interval <= Configuration.longestDurationMs, "tickIntervalMs \(interval)")
            nextTickMs = nowMs + Int64(interval)
        }
        oversizeLog = RateLimitedLog(intervalMs: 1_000)
        protocolErrorLog = RateLimitedLog(intervalMs: 1_000)
        acceptLog = RateLimitedLog(intervalMs: 1_000)
        rejectLog = RateLimitedLog(intervalMs: 1_000)
        proxyHeaderLog = RateLimitedLog(intervalMs: 1_000)
        memoryLog = RateLimitedLog(intervalMs: 1_000)
        cutLog = RateLimitedLog(intervalMs: 1_000)
        tlsLog = RateLimitedLog(intervalMs: 1_000)
        try backend.register(fd: listener.fd, token: .listener, interest: .read)
        if let tlsListener { try backend.register(fd: tlsListener.fd, token: .tlsListener, interest: .read) }
        try backend.register(fd: control.waker.fd, token: .waker, interest: .read)
        try backend.register(fd: deadlineTimer.fd, token: .timer, interest: .read)
    }

    /// Runs until shutdown completes; returns this loop's counters.
    @inlinable
    func run() -> Statistics {
        while runIteration() {}
        return finishRunning()
    }

    /// One iteration; false once shutdown has completed (then
    /// `finishRunning` releases the loop's descriptors). Tests drive a loop
    /// one iteration at a time through this, with a scripted backend.
    @inlinable @inline(__always)
    func runIteration() -> Bool {
        let (ready, emptyPoll) = reactor.wait(nearestDeadlineMs: nearestDeadlineMs())
        if emptyPoll { stats.busyPollWaits &+= 1 }
        if !revisits.isEmpty { serveRevisits() }
        for position in 0..<ready {
            dispatch(backend.event(at: position))
        }
        // Empty on most iterations: skip the call and its array reset.
        if !outputs.flushQueue.isEmpty { flushQueuedConnections() }
        if reactor.deadlinesDue {
            enforceDeadlines()
            // Close callbacks may have sent or closed (the iteration ends
            // with every queued connection settled).
            if !outputs.flushQueue.isEmpty { flushQueuedConnections() }
        }
        // Constant after specialisation: gone for handlers without ticks.
        if let interval = Handler.tickIntervalMs, nowMs >= nextTickMs {
            handler.tick(Connections(outputs: outputs))
            nextTickMs = nowMs + Int64(interval)
            if !outputs.flushQueue.isEmpty { flushQueuedConnections() }
        }
        if memoryRelease.quietMs != nil { considerReleasingMemory() }
        if nowMs >= nextStatisticsMs { publishStatistics() }
        if shutdownDeadlineMs != nil && slab.liveCount == 0 { return false }
        control.openConnections.store(slab.liveCount, ordering: .relaxed)
        #if DEBUG
            if configuration.checkInvariantsEveryIteration {
                checkInvariants()
                publishDiagnostics()
            }
        #endif
        return true
    }

    @inlinable @inline(__always)
    func dispatch(_ event: ReadyEvent) {
        let token = event.token
        if token.slot >= EventToken.firstReservedSlot {
            dispatchOwn(token)
            return
        }
        let slot = token.slot
        guard slab.isCurrent(slot: slot, generation: token.generation) else {
            // The connection this event was for closed earlier in this batch
            // (its slot may already have a new owner).
            stats.staleEvents += 1
            return
        }
        let readiness = event.readiness
        if readiness.contains(.readable) {
            handleReadable(slot, peerFinishing: readiness.contains(.readHangup))
            guard slab.isCurrent(slot: slot, generation: token.generation) else { return }
        }
        if readiness.contains(.error) || readiness.contains(.hangup) {
            // Both directions are gone (RST, or an error): nothing more can be written.
            if Transport.encrypts && isHandshaking(slot) { return handshakeFailed(slot, .peerClosed) }
            let finishing = slab[slot].lifecycle.phase.dropsInput
            close(slot, reason: finishing ? slab[slot].lifecycle.closeReason : .peerReset)
            return
        }
        if readiness.contains(.writable) {
            handleWritable(slot)
        }
    }

    /// The loop's own descriptors: the listener, the deadline timer, the waker.
    @usableFromInline
    func dispatchOwn(_ token: EventToken) {
        if token == .listener {
            acceptConnections(from: listener, tls: listenerSpeaksTLS)
            return
        }
        if token == .tlsListener {
            acceptConnections(from: tlsListener, tls: true)
            return
        }
        reactor.noteOwnEvent(timerFired: token == .timer)
        if token == .waker {
            control.waker.drain()
            runMailbox()
            // Another loop's close may have freed a place under the
            // server's client limit (ClientAdmission).
            if !acceptGate.isOn && shutdownDeadlineMs == nil { updateListener() }
            if control.stopRequested.load(ordering: .acquiring) && shutdownDeadlineMs == nil {
                beginShutdown()
            }
        }
    }

    /// The engine's nearest deadline: a connection's timeout, the end of an
    /// accept pause, the shutdown deadline, the memory release, the handler's
    /// tick, the next statistics; Int64.min while work is queued, so that the
    /// wait only polls (and deadlines are looked at after it).
    @inlinable @inline(__always)
    func nearestDeadlineMs() -> Int64 {
        if !outputs.flushQueue.isEmpty || !revisits.isEmpty { return Int64.min }
        var nearest = timeouts.earliestDeadlineMs(notAfter: nextStatisticsMs, handshakes: Transport.encrypts)
        if let deadline = acceptGate.pausedUntilMs { nearest = min(nearest, deadline) }
        if let deadline = shutdownDeadlineMs { nearest = min(nearest, deadline) }
        if let deadline = memoryRelease.dueMs { nearest = min(nearest, deadline) }
        if Handler.tickIntervalMs != nil { nearest = min(nearest, nextTickMs) }
        return nearest
    }

    /// Reads or writes once more for connections that had work left after their budget.
    @inlinable
    func serveRevisits() {
        swap(&revisits, &revisitsInProgress)
        var index = 0
        while index < revisitsInProgress.count {
            let token = revisitsInProgress[index]
            index += 1
            guard slab.isCurrent(slot: token.slot, generation: token.generation) else { continue }
            let flags = slab[token.slot].flags
            slab[token.slot].flags.subtract(.revisitQueued)
            if flags.contains(.readQueued) { handleReadable(token.slot, peerFinishing: false) }
            guard slab.isCurrent(slot: token.slot, generation: token.generation) else { continue }
            if flags.contains(.writeQueued) { handleWritable(token.slot) }
            guard slab.isCurrent(slot: token.slot, generation: token.generation) else { continue }
            if flags.contains(.deliveryQueued) { deliverWaitingRequests(token.slot) }
        }
        revisitsInProgress.removeAll(keepingCapacity: true)
    }

    /// Carries out sends and closes that other threads queued by ConnectionID.
    @usableFromInline
    func runMailbox() {
        control.mailbox.drain(into: &commandBatch)
        for command in commandBatch {
            switch command {
            case .send(let id, let bytes):
                let result = bytes.withUnsafeBytes {
                    outputs.send($0, token: EventToken(slot: id.slot, generation: id.generation))
                }
                if result == .connectionGone { stats.staleCommands += 1 }
            case .write(let id, let bytes):
                let result = bytes.withUnsafeBytes {
                    outputs.write($0, token: EventToken(slot: id.slot, generation: id.generation))
                }
                if result == .connectionGone { stats.staleCommands += 1 }
            case .close(let id):
                if slab.isCurrent(slot: id.slot, generation: id.generation) {
                    outputs.requestClose(slot: id.slot, generation: id.generation, reason: .closedByHandler)
                } else {
                    stats.staleCommands += 1
                }
            case .abort(let id):
                if slab.isCurrent(slot: id.slot, generation: id.generation) {
                    outputs.abort(slot: id.slot, reason: .outputOverflow)
                } else {
                    stats.staleCommands += 1
                }
            case .tick:
                nextTickMs = 0
            }
        }
        commandBatch.removeAll(keepingCapacity: true)
    }

    /// After the last iteration: descriptors closed, final counters published.
    @usableFromInline
    func finishRunning() -> Statistics {
        finishShutdown()
        control.openConnections.store(slab.liveCount, ordering: .relaxed)
        #if DEBUG
            publishDiagnostics()
        #endif
        publishStatistics()
        return stats
    }

    /// Hands the counters to other threads (statistics(), and the server's
    /// reporting thread, which reports them to swift-metrics: a metrics
    /// backend is never called from the loop).
    @usableFromInline
    func publishStatistics() {
        nextStatisticsMs = nowMs + Int64(configuration.statisticsIntervalMs)
        stats = currentStatistics
        control.published.withLock { $0 = stats }
    }

    /// The counters as they stand: the loop's own, and the messages handlers
    /// queued, which the outputs count.
    @usableFromInline
    var currentStatistics: Statistics {
        var current = stats
        current.messagesOut = outputs.messagesOut
        return current
    }

    #if DEBUG
        /// Internal gauges for tests (ServerHandle's bufferedBytes,
        /// timeoutListMembers, isAccepting): published with the invariant
        /// checks, in debug builds only.
        @usableFromInline
        func publishDiagnostics() {
            control.diagnostics.timeoutMembers.store(timeouts.memberCount, ordering: .relaxed)
            control.diagnostics.ringBytes.store(pool.outstandingBytes, ordering: .relaxed)
            control.diagnostics.listenerOn.store(acceptGate.isOn, ordering: .relaxed)
        }
    #endif

    /// Checks every structure the loop owns, and the loop's own invariant.
    @usableFromInline
    func checkInvariants() {
        outputs.checkInvariants()
        backend.checkInvariants()
        timeouts.checkInvariants()
        // Every connection of this loop holds a place of the server's count.
        if let admission = control.admission {
            precondition(
                admission.open.load(ordering: .acquiring) >= slab.liveCount,
                "loop \(index) holds \(slab.liveCount) connections, the server counts \(admission.open.load(ordering: .relaxed))"
            )
        }
        slab.forEachLive { slot in
            let pending = !slab[slot].output.isEmpty
            let phase = slab[slot].lifecycle.phase
            let lingering = phase == .lingering
            precondition(
                slab[slot].registered.contains(.write) == (pending || tlsWantsWrite(slot)),
                "slot \(slot): write interest != pending output")
            let awaitingHello = tls?.states[Int(slot)].awaitingHello ?? false
            let inHandshake = tls.map { $0[slot] != nil && !$0.states[Int(slot)].established } ?? false
            let handshaking = awaitingHello || inHandshake
            precondition(Transport.encrypts || tls == nil, "TLS sessions in a plaintext loop")
            precondition(timeouts.write.contains(slot) == pending, "slot \(slot): write timer != pending output")
            precondition(timeouts.linger.contains(slot) == lingering, "slot \(slot): linger timer != lingering")
            precondition(!lingering || !pending, "slot \(slot) lingers with output pending")
            let idle = timeouts.idle.contains(slot)
            precondition(!(idle && pending), "slot \(slot) has an idle timer while its output drains")
            let listed = idle || (timeouts.firstMessage?.contains(slot) ?? false)
            precondition(
                listed || pending || phase.isFinishing || shutdownDeadlineMs != nil, "slot \(slot) has no idle timer")
            precondition(
                slab[slot].flags.contains(.announced) != (phase == .awaitingProxyHeader || handshaking)
                    || phase.stopsInput
                    || phase.peerHasFinished, "slot \(slot): announced in phase \(phase)")
            if phase == .aborting || phase == .awaitingProxyHeader {
                precondition(!timeouts.linger.contains(slot), "slot \(slot) has a linger timer in phase \(phase)")
            }
            var inputLimit = maxRequestBytes + (slab[slot].flags.contains(.requestsWaiting) ? readBuffer.capacity : 0)
            if awaitingHello { inputLimit = TLSSessions.largestHello }
            precondition(slab[slot].input.count <= inputLimit, "slot \(slot) buffers more than a request")
        }
        if let tls {
            // A closed connection's session is freed with it, and its hello
            // forgotten: nothing for the slot's next connection to inherit.
            for index in 0..<tls.capacity where tls.sessions[index] != nil || tls.states[index].awaitingHello {
                precondition(slab.isLive(UInt32(index)), "slot \(index) is free but keeps TLS state")
            }
        }
    }
}
