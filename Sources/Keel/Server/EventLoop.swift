// EventLoop: one thread's worth of Keel: a listener, a backend, a slab of
// connections with their rings, timeout lists, and a handler.
//
// One iteration: wait (for at most the time to the nearest deadline), read
// the clock once, dispatch every ready event, flush connections that got
// output from other connections' handlers, enforce deadlines, publish gauges.
// Everything the loop owns is touched by its own thread only; other threads
// reach it through LoopControl (stop request, waker).
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

/// A single-threaded event loop, specialised over its backend and handler.
final class EventLoop<Backend: EventBackend, Handler: ConnectionHandler> {
    let index: UInt32
    let configuration: Configuration
    let backend: Backend
    let control: LoopControl
    @exclusivity(unchecked) var handler: Handler
    let logger: Logger

    let table: ConnectionTable
    // Stored, not computed from `table`: a computed class reference costs a
    // retain and a release per use.
    let slab: ClientSlab
    let pool: BufferPool
    let decoder: FrameDecoder
    /// Edge-triggered mode: read and write until EAGAIN (within budgets).
    let edgeTriggered: Bool
    /// Connections that used their read or write budget with work left
    /// (flags readQueued, writeQueued); served again next iteration, since no
    /// new edge will announce them.
    @exclusivity(unchecked) var revisits: [EventToken] = []
    @exclusivity(unchecked) private var revisitsInProgress: [EventToken] = []
    let assembler: FrameAssembler
    let readBuffer: ReadBuffer

    /// A connection's first complete message must arrive within its timeout (optional).
    let firstMessageTimeouts: TimeoutList?
    /// Time since the last complete message.
    let idleTimeouts: TimeoutList
    /// Time since pending output last made progress.
    let writeTimeouts: TimeoutList
    /// Time a gracefully closed connection may linger (see Configuration.lingerTimeoutMs).
    let lingerTimeouts: TimeoutList
    /// Every timeout list, for what treats them alike.
    let timeoutLists: [TimeoutList]

    /// The listening socket, nil once shutdown has closed it.
    @exclusivity(unchecked) var listener: ListeningSocket?
    /// Whether the listener is registered for read interest.
    @exclusivity(unchecked) var listenerOn = true
    /// While set, accepting stays off until this time (after EMFILE and friends).
    @exclusivity(unchecked) var acceptPausedUntilMs: Int64?
    /// The loop's clock, read once per iteration.
    @exclusivity(unchecked) var nowMs: Int64
    /// Busy polling (Configuration.busyPollMicroseconds), 0 when off; the
    /// state below is kept only when on (EventLoop+BusyPoll.swift).
    let busyPollNs: Int64
    /// The clock as read after the last wait, in nanoseconds.
    @exclusivity(unchecked) var nowNs: Int64 = 0
    /// The loop polls instead of blocking until this time.
    @exclusivity(unchecked) var busyPollUntilNs: Int64 = 0
    /// Events the last wait returned, and how many of them were the loop's
    /// own (timer, waker): the rest were traffic.
    @exclusivity(unchecked) var eventsAtLastWait = 0
    @exclusivity(unchecked) var ownEventsSinceWait = 0
    /// The last wait was a poll that would otherwise have blocked.
    @exclusivity(unchecked) var polledInsteadOfBlocking = false
    /// Set once shutdown has begun; connections are draining until this time.
    @exclusivity(unchecked) var shutdownDeadlineMs: Int64?
    /// Counters. The per-message ones add with &+= (64-bit counts of bytes
    /// or messages cannot overflow), which spares a check per addition.
    @exclusivity(unchecked) var stats = Statistics()
    /// When the counters are next published (LoopControl; the server's
    /// reporting thread hands them to swift-metrics).
    @exclusivity(unchecked) var nextStatisticsMs: Int64
    /// Commands drained from the mailbox, reused between wakeups.
    @exclusivity(unchecked) var commandBatch: [Mailbox.Command] = []
    /// Wakes the loop at its nearest deadline (the wait itself has no timeout).
    let deadlineTimer: DeadlineTimer
    /// When deadlineTimer is armed to expire (Int64.max: not armed).
    @exclusivity(unchecked) var armedDeadlineMs = Int64.max
    /// The nearest deadline as of the last wait (Int64.min: unknown, look).
    /// Deadlines set during an iteration are never due before the next wait,
    /// which accounts for them, so enforceDeadlines runs only once this passes.
    @exclusivity(unchecked) var nearestDeadlineMs = Int64.min
    /// Handler.echoesEveryMessage, unless a test turned the fast path off.
    let echoesInPlace: Bool
    /// When the buffers' memory goes back to the system if they stay quiet.
    @exclusivity(unchecked) var memoryReleaseDueMs: Int64?
    /// The pool's take count when that release was scheduled.
    @exclusivity(unchecked) var poolTakesAtSchedule = 0
    /// The pool's malloc count at the last release.
    @exclusivity(unchecked) var poolAllocationsAtRelease = 0
    let oversizeLog: RateLimitedLog
    let proxyHeaderLog: RateLimitedLog
    let acceptLog: RateLimitedLog
    let memoryLog: RateLimitedLog

    init(
        index: UInt32, configuration: Configuration, listener: ListeningSocket,
        backend: Backend, deadlineTimer: DeadlineTimer, control: LoopControl, mailboxes: Mailboxes, handler: Handler,
        logger: Logger
    ) throws(Errno) {
        self.index = index
        self.configuration = configuration
        self.listener = listener
        self.backend = backend
        self.control = control
        self.handler = handler
        self.logger = logger
        decoder = configuration.decoder
        assembler = FrameAssembler(decoder: decoder)
        edgeTriggered = configuration.edgeTriggered && Backend.name == EpollBackend.name
        echoesInPlace = Handler.echoesEveryMessage && configuration.echoInPlace
        busyPollNs = Int64(configuration.busyPollMicroseconds) * 1_000
        revisits.reserveCapacity(configuration.maxClients)
        revisitsInProgress.reserveCapacity(configuration.maxClients)
        let pool = BufferPool(retainedBytesLimit: configuration.bufferPoolRetainedBytes)
        table = ConnectionTable(
            loopIndex: index, capacity: configuration.maxClients, pool: pool, format: configuration.frame,
            stagingCapacity: configuration.readBufferBytes + 64,
            maxPendingOutputBytes: configuration.maxPendingOutputBytes, mailboxes: mailboxes,
            proxyProtocol: configuration.proxyProtocol)
        slab = table.slab
        self.pool = pool
        readBuffer = ReadBuffer(capacity: configuration.readBufferBytes)
        let capacity = configuration.maxClients
        firstMessageTimeouts = configuration.firstMessageTimeoutMs.map {
            TimeoutList(capacity: capacity, timeoutMs: Int64($0))
        }
        idleTimeouts = TimeoutList(capacity: capacity, timeoutMs: Int64(configuration.idleTimeoutMs))
        writeTimeouts = TimeoutList(capacity: capacity, timeoutMs: Int64(configuration.writeTimeoutMs))
        lingerTimeouts = TimeoutList(capacity: capacity, timeoutMs: Int64(configuration.lingerTimeoutMs))
        timeoutLists = [firstMessageTimeouts, idleTimeouts, writeTimeouts, lingerTimeouts].compactMap { $0 }
        nowMs = Syscall.monotonicMilliseconds()
        self.deadlineTimer = deadlineTimer
        nextStatisticsMs = nowMs + Int64(configuration.statisticsIntervalMs)
        oversizeLog = RateLimitedLog(intervalMs: 1_000)
        acceptLog = RateLimitedLog(intervalMs: 1_000)
        proxyHeaderLog = RateLimitedLog(intervalMs: 1_000)
        memoryLog = RateLimitedLog(intervalMs: 1_000)
        try backend.register(fd: listener.fd, token: .listener, interest: .read)
        try backend.register(fd: control.waker.fd, token: .waker, interest: .read)
        try backend.register(fd: deadlineTimer.fd, token: .timer, interest: .read)
    }

    /// Runs until shutdown completes; returns this loop's counters.
    ///
    /// Callers in other modules (the `keel` executable, applications)
    /// instantiate the loop through `Server<Handler>`, whose generic code is
    /// not specialised across the module boundary. For the shipped echo
    /// handler the generic entry point checks the types at run time and jumps
    /// to these specialised copies, where every call is direct and inlined.
    @_specialize(where Backend == EpollBackend, Handler == EchoHandler)
    @_specialize(where Backend == PollBackend, Handler == EchoHandler)
    func run() -> Statistics {
        while true {
            let ready: Int
            if busyPollNs == 0 {
                ready = backend.wait(timeoutMs: waitTimeoutMs())
                nowMs = Syscall.monotonicMilliseconds()
            } else {
                ready = backend.wait(timeoutMs: busyPollingWaitTimeoutMs())
                noteWaitWhileBusyPolling(ready: ready)
            }
            if !revisits.isEmpty { serveRevisits() }
            for position in 0..<ready {
                dispatch(backend.event(at: position))
            }
            // Empty on most iterations: skip the call and its array reset.
            if !table.flushQueue.isEmpty { flushQueuedConnections() }
            if nowMs >= nearestDeadlineMs { enforceDeadlines() }
            if configuration.releaseMemoryAfterQuietMs != nil { considerReleasingMemory() }
            if nowMs >= nextStatisticsMs { publishStatistics() }
            if shutdownDeadlineMs != nil && slab.liveCount == 0 { break }
            control.openConnections.store(slab.liveCount, ordering: .relaxed)
            if configuration.checkInvariantsEveryIteration {
                checkInvariants()
                publishDiagnostics()
            }
        }
        finishShutdown()
        control.openConnections.store(slab.liveCount, ordering: .relaxed)
        publishDiagnostics()
        publishStatistics()
        return stats
    }

    @inline(__always)
    private func dispatch(_ event: ReadyEvent) {
        let token = event.token
        if token.slot >= EventToken.firstReservedSlot {
            if token == .listener {
                acceptConnections()
                return
            }
            ownEventsSinceWait &+= 1
            if token == .timer {
                deadlineTimer.drain()
                armedDeadlineMs = Int64.max
            } else if token == .waker {
                control.waker.drain()
                runMailbox()
                if control.stopRequested.load(ordering: .acquiring) && shutdownDeadlineMs == nil {
                    beginShutdown()
                }
            }
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
            let lingering = slab[slot].flags.contains(.lingering)
            close(slot, reason: lingering ? finishingReason(slot) : .peerReset)
            return
        }
        if readiness.contains(.writable) {
            handleWritable(slot)
        }
    }

    /// The wait's timeout: 0 when work is queued or a deadline has passed,
    /// else none (-1), with the deadline timer armed for the nearest deadline.
    @inline(__always)
    func waitTimeoutMs() -> Int32 {
        if !table.flushQueue.isEmpty || !revisits.isEmpty {
            nearestDeadlineMs = Int64.min
            return 0
        }
        // Each list by name, not through `timeoutLists`: this runs every
        // iteration, and an array of class references costs bounds checks
        // and reference counting per element.
        var nearest = nextStatisticsMs
        if let deadline = idleTimeouts.earliestDeadlineMs { nearest = min(nearest, deadline) }
        if let deadline = writeTimeouts.earliestDeadlineMs { nearest = min(nearest, deadline) }
        if let deadline = lingerTimeouts.earliestDeadlineMs { nearest = min(nearest, deadline) }
        if let deadline = firstMessageTimeouts?.earliestDeadlineMs { nearest = min(nearest, deadline) }
        if let deadline = acceptPausedUntilMs { nearest = min(nearest, deadline) }
        if let deadline = shutdownDeadlineMs { nearest = min(nearest, deadline) }
        if let deadline = memoryReleaseDueMs { nearest = min(nearest, deadline) }
        nearestDeadlineMs = nearest
        if nearest <= nowMs { return 0 }
        if nearest < armedDeadlineMs {
            deadlineTimer.arm(atMs: nearest)
            armedDeadlineMs = nearest
        }
        return -1
    }

    /// Reads or writes once more for connections that had work left after their budget.
    private func serveRevisits() {
        swap(&revisits, &revisitsInProgress)
        var index = 0
        while index < revisitsInProgress.count {
            let token = revisitsInProgress[index]
            index += 1
            guard slab.isCurrent(slot: token.slot, generation: token.generation) else { continue }
            let flags = slab[token.slot].flags
            slab[token.slot].flags.subtract([.readQueued, .writeQueued])
            if flags.contains(.readQueued) { handleReadable(token.slot, peerFinishing: false) }
            guard slab.isCurrent(slot: token.slot, generation: token.generation) else { continue }
            if flags.contains(.writeQueued) { handleWritable(token.slot) }
        }
        revisitsInProgress.removeAll(keepingCapacity: true)
    }

    /// Carries out sends and closes that other threads queued by ConnectionID.
    private func runMailbox() {
        control.mailbox.drain(into: &commandBatch)
        for command in commandBatch {
            switch command {
            case .send(let id, let bytes):
                let result = bytes.withUnsafeBytes { table.send($0, slot: id.slot, generation: id.generation) }
                if result == .connectionGone { stats.staleCommands += 1 }
            case .close(let id):
                if slab.isCurrent(slot: id.slot, generation: id.generation) {
                    table.requestClose(slot: id.slot, generation: id.generation)
                } else {
                    stats.staleCommands += 1
                }
            }
        }
        commandBatch.removeAll(keepingCapacity: true)
    }

    /// Hands the counters to other threads (statistics(), and the server's
    /// reporting thread, which reports them to swift-metrics: a metrics
    /// backend is never called from the loop).
    private func publishStatistics() {
        nextStatisticsMs = nowMs + Int64(configuration.statisticsIntervalMs)
        stats.messagesOut = table.messagesOut
        control.published.withLock { $0 = stats }
    }

    /// Internal gauges for tests (ServerHandle's bufferedBytes,
    /// timeoutListMembers, isAccepting): published with the invariant checks,
    /// not on every iteration of a production loop.
    private func publishDiagnostics() {
        let members =
            idleTimeouts.count + writeTimeouts.count + lingerTimeouts.count + (firstMessageTimeouts?.count ?? 0)
        control.timeoutMembers.store(members, ordering: .relaxed)
        control.ringBytes.store(pool.outstandingBytes, ordering: .relaxed)
        control.listenerOn.store(listenerOn, ordering: .relaxed)
    }

    /// Checks every structure the loop owns, and the loop's own invariant.
    func checkInvariants() {
        table.checkInvariants()
        backend.checkInvariants()
        for list in timeoutLists { list.checkInvariants() }
        slab.forEachLive { slot in
            let pending = !slab[slot].output.isEmpty
            let lingering = slab[slot].flags.contains(.lingering)
            precondition(
                slab[slot].registered.contains(.write) == pending, "slot \(slot): write interest != pending output")
            precondition(writeTimeouts.contains(slot) == pending, "slot \(slot): write timer != pending output")
            precondition(lingerTimeouts.contains(slot) == lingering, "slot \(slot): linger timer != lingering")
            precondition(!lingering || !pending, "slot \(slot) lingers with output pending")
            let idle = idleTimeouts.contains(slot)
            precondition(!(idle && pending), "slot \(slot) has an idle timer while its output drains")
            let listed = idle || (firstMessageTimeouts?.contains(slot) ?? false)
            precondition(listed || pending || shutdownDeadlineMs != nil, "slot \(slot) has no idle timer")
        }
    }
}
