// KVHandler: keel-kv's ConnectionHandler, and the only file of the command
// layer that names Keel. Each loop has one: its sessions (one per
// connection), a context and an executor reused for every command, and its
// share of the store's background work. A command's reply is built in the
// context's buffer (under the shard locks, with --threads) and handed to
// the connection in one write after the command returns.

import HeapModule
import Keel
import KeelWire
import Logging

/// Serves keel-kv's commands on one loop (see the file header).
public struct KVHandler: ConnectionHandler {
    private let loop: KVLoop

    /// A handler over `store` (shared by every loop's handler); failed
    /// authentications are logged to `logger` (at most once a second).
    public init(store: KVStore, logger: Logger = Logger(label: "keel-kv")) {
        loop = KVLoop(store: store, logger: logger)
    }

    /// Background work (active expiry, resizing, memory return) every 4 ms,
    /// a step of at most 1 ms each time (KVMaintenance): with a backlog of
    /// expired keys expiry takes up to a quarter of the loop, as
    /// redis-server's cycle does, and no request waits behind it more than
    /// a millisecond.
    public static var tickIntervalMs: Int? { 4 }

    /// One command.
    @inline(__always)
    public mutating func messageReceived(_ command: RESPCommand, on connection: Connection) {
        loop.execute(command, on: connection)
    }

    /// Gives the connection its session (a unique client id).
    public mutating func connectionOpened(_ connection: Connection) {
        loop.open(connection)
    }

    /// Ends the connection's session (its watches, its subscriptions).
    public mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {
        loop.close(id)
    }

    /// The loop's share of the store's background work.
    public mutating func tick(_ connections: Connections) {
        loop.connections = connections
        loop.tick()
        loop.connections = nil
    }
}

/// One loop's state: a class, because the command layer calls back into it
/// (KVServices) while a command runs.
final class KVLoop: KVServices {
    let store: KVStore
    let context: KVContext
    let executor: KVExecutor
    let logger: Logger
    var sessions = KVSessions()
    var maintenance = KVMaintenance()
    var memoryReturn = KVMemoryReturn()
    /// Keel's reach to other connections, during a callback.
    var connections: Connections?
    /// What was delivered while no loop ran this one (the tests' harness).
    var deliveredWithoutLoop: [(client: KVClientRef, bytes: [UInt8])] = []
    var closedWithoutLoop: [KVClientRef] = []
    /// Failed authentications not yet logged, and when the last log was.
    private var unloggedAuthFailures = 0
    private var lastAuthLogMs: Int64 = 0

    init(store: KVStore, logger: Logger = Logger(label: "keel-kv")) {
        self.store = store
        self.logger = logger
        // The context's services are this loop; it is set once built.
        context = KVContext(store: store, services: KVNoServices.shared)
        executor = KVExecutor(context: context)
        context.services = self
    }

    @inline(__always)
    func execute(_ command: RESPCommand, on connection: Connection) {
        // The id first: read inside the subscript's argument, its call kept
        // the sessions array retained around it.
        let client = Self.client(connection.id)
        let session = sessions[client]
        connections = connection.connections
        if !pausedClients.isEmpty { resumePausedIfEased() }
        guard !session.isHeld else { return hold(command, of: session) }
        // A replica gets no replies, only its stream (its SYNC's snapshot is
        // the reply of a command sent before it was one).
        let isReplica = session.isReplica
        let replyMode = session.replyMode
        executor.execute(command, session: session)
        let reply = context.reply
        let dropsReply = dropsReply(of: session, began: replyMode)
        if reply.count > 0 && !isReplica && !dropsReply { connection.write(reply.bytes) }
        reply.reset()
        if context.closeAfterReply {
            context.closeAfterReply = false
            // Gone for the other clients at once (a tracking client's
            // redirect is broken from here), as redis-server frees it.
            session.record.killed.store(true, ordering: .relaxed)
            KVTrackingCommands.disable(session.record, store.tracking)
            connection.close()
        }
        // Restricted exactly while unauthenticated: lifted by AUTH or HELLO
        // AUTH (the rest of the same read is decoded without it), back after
        // RESET with a password set.
        if session.requestsRestricted == session.authenticated {
            session.requestsRestricted = !session.authenticated
            connection.restrictRequests(session.requestsRestricted)
        }
        afterCommand(command, of: session)
        // After the clients the command served: their pops are in the stream too.
        if context.fedReplicas { drainReplicationStream() }
    }

    /// One command of `session` without a connection (the tests' harness):
    /// its reply's bytes; what goes to other clients is kept in
    /// `deliveredWithoutLoop`.
    func run(_ command: RESPCommand, session: KVSession) -> [UInt8] {
        if !pausedClients.isEmpty { resumePausedIfEased() }
        guard !session.isHeld else {
            hold(command, of: session)
            return []
        }
        let isReplica = session.isReplica
        let replyMode = session.replyMode
        executor.execute(command, session: session)
        let dropsReply = dropsReply(of: session, began: replyMode)
        let reply = isReplica || dropsReply ? [] : Array(context.reply.bytes)
        context.reply.reset()
        context.closeAfterReply = false
        afterCommand(command, of: session)
        if context.fedReplicas { drainReplicationStream() }
        return reply
    }

    // MARK: replicas (see KVReplication)

    /// Replicas of this loop being brought up to date, a slice each per tick.
    private var replicaSyncs: [KVClientRef] = []

    /// Goes on with the synchronisation SYNC or PSYNC began for `session`.
    private func startReplicaSync(_ session: KVSession) {
        session.replicaSync = context.pendingReplicaSync
        context.pendingReplicaSync = nil
        replicaSyncs.append(session.client)
    }

    /// A slice of each replica's synchronisation; the reply of one that is
    /// done goes out, its stream after it.
    private func stepReplicaSyncs() {
        replicaSyncs.removeAll { client in
            guard let session = sessions.session(of: client), let sync = session.replicaSync else { return true }
            if sync.awaitsReply && context.coarseNowMs - session.replicaKeepaliveMs >= 1_000 {
                // A newline a second while it waits for its snapshot (not
                // once the reply has begun: it would land inside it).
                session.replicaKeepaliveMs = context.coarseNowMs
                _ = [UInt8(10)].withUnsafeBytes { writeReply($0, to: client) }
            }
            let done = sync.step(
                context, client: client,
                room: { pendingOutputBytes(of: client) < KVReplicaSync.sendBytes },
                write: { bytes in
                    guard writeReply(bytes, to: client) else {
                        close(client)
                        return false
                    }
                    return true
                })
            if !done && sync.isTooLarge {
                logger.warning(
                    "closing a replica whose catch-up passed its limit",
                    metadata: ["client": "\(session.record.address)"])
                close(client)
            }
            guard done else { return false }
            session.replicaSync = nil
            // Sent as it read, at most this much of it can still be queued.
            session.replicaSnapshotBytes = 2 * KVReplicaSync.sendBytes
            return true
        }
    }

    /// Writes the stream bytes waiting for this loop's replicas (another
    /// loop's replicas get theirs on that loop's next command or tick).
    func drainReplicationStream() {
        context.fedReplicas = false
        store.replication.sendAcknowledgementRequest()
        store.replication.drain(
            loop: loopIndex,
            // A replica's stream waits behind its snapshot.
            ready: { sessions.session(of: $0)?.replicaSync == nil },
            dropped: { client in
                logger.warning("closing a replica whose stream passed its limit while its snapshot was sent")
                abort(client)
            },
            write: { client, bytes in bytes.withUnsafeBytes { writeStream($0, to: client) } })
    }

    /// Stream bytes for a replica of this loop, not held to the
    /// pending-output cap (a snapshot alone may pass it) but to the
    /// replicas' own limit beyond the snapshot; false when it is gone or
    /// past the limit (it is closed: it may attach again, for a new
    /// snapshot).
    private func writeStream(_ bytes: UnsafeRawBufferPointer, to client: KVClientRef) -> Bool {
        guard let session = sessions.session(of: client) else { return false }
        if let pending = connections?.pendingOutputBytes(of: Self.connectionID(client)),
            pending + bytes.count > session.replicaSnapshotBytes + KVReplication.outputLimitBytes
        {
            logger.warning(
                "closing a replica that fell too far behind", metadata: ["client": "\(session.record.address)"])
            abort(client)
            return false
        }
        guard writeReply(bytes, to: client) else {
            close(client)
            return false
        }
        return true
    }

    /// What may follow a command: holding its client (it blocked, or its
    /// KEYS is walked), serving clients blocked on keys it wrote.
    @inline(__always)
    func afterCommand(_ command: RESPCommand, of session: KVSession) {
        if context.pendingBlock != nil { startBlocking(session, command) }
        if context.pendingWalk != nil { startWalk(session) }
        if context.pendingReplicaSync != nil { startReplicaSync(session) }
        if context.pendingPause { startPause(session, command) }
        if hasUnpaused { resumePaused() }
        if hasReadyKeys || !loopsToWake.isEmpty { serveReady() }
        if hasReleases { releaseRequested() }
        if hasAcknowledgements { serveAcknowledged() }
    }

    // MARK: blocked clients (see KVBlocking)

    /// This loop's index (Keel's ConnectionID.loop of its connections).
    private(set) var loopIndex: UInt32 = 0
    /// A key a blocked client of this loop waits on was written.
    private var hasReadyKeys = false
    /// Other loops with clients waiting on keys written here.
    private var loopsToWake: [UInt32] = []
    /// CLIENT UNBLOCK named a client of this loop.
    private var hasReleases = false
    /// Blocked clients' deadlines, soonest first (stale entries, of clients
    /// served or gone, are dropped when they come up).
    private var deadlines = Heap<KVBlockDeadline>()
    /// The most a held client (blocked, paused, walking) may send before it
    /// goes on, counted as the memory its copies take: redis-server's
    /// query-buffer limit (client-query-buffer-limit, 1 GiB).
    static let maxHeldBytes = 1 << 30
    /// Clients whose KEYS is being walked (KVKeysWalk), first come first.
    var walks = KVWalkQueue()
    /// Clients blocked in WAIT, in the order they blocked (some may have
    /// been served, timed out or gone since: dropped when next looked at).
    private var waitingForAcknowledgements: [KVBlocking.Waiter] = []
    /// A replica acknowledged an offset since this loop last looked.
    private var hasAcknowledgements = false

    /// Starts holding `session`, whose `command` asked to block.
    private func startBlocking(_ session: KVSession, _ command: RESPCommand) {
        let block = context.pendingBlock!
        context.pendingBlock = nil
        var copy = KVCommandQueue()
        _ = copy.append(command)
        session.blocked = KVBlockedCommand(block: block, command: copy)
        if case .acknowledgements = block.timeoutReply { waitingForAcknowledgements.append(block.waiter) }
        if block.deadlineMs != Int64.max {
            deadlines.insert(KVBlockDeadline(ms: block.deadlineMs, waiter: block.waiter))
            // Clients gone before their deadline leave entries: rebuild
            // when they outnumber the live ones, so the heap stays bounded.
            if deadlines.count > 2 * store.blocking.blockedCount.load(ordering: .relaxed) + 1_024 {
                deadlines = Heap(deadlines.unordered.filter { isCurrent($0.waiter) })
            }
        }
    }

    private func isCurrent(_ waiter: KVBlocking.Waiter) -> Bool {
        sessions.session(of: waiter.client)?.blocked?.block.waiter == waiter
    }

    /// A command from a blocked (or walking) client waits its turn (a
    /// copy); too many close the connection, as redis-server closes a
    /// client whose query buffer passes its limit.
    private func hold(_ command: RESPCommand, of session: KVSession) {
        guard keep(command, heldBy: session) else {
            logger.warning(
                "closing a blocked client that sent too much", metadata: ["client": "\(session.record.address)"])
            return close(session.client)
        }
    }

    /// Adds `command` to what a held client sent while it waits; false
    /// past the limit.
    private func keep(_ command: RESPCommand, heldBy session: KVSession) -> Bool {
        if session.blocked != nil {
            return session.blocked!.later.footprint < Self.maxHeldBytes
                && session.blocked!.later.append(command, limited: false)
        }
        if session.paused != nil {
            return session.paused!.later.footprint < Self.maxHeldBytes
                && session.paused!.later.append(command, limited: false)
        }
        let walk = session.walk!
        return walk.later.footprint < Self.maxHeldBytes && walk.later.append(command, limited: false)
    }

    /// Takes `session` off the keys it waited on; returns what it sent since.
    private func unblock(_ session: KVSession) -> KVCommandQueue {
        let blocked = session.blocked!
        store.blocking.unblock(blocked.block.waiter, from: blocked.block.keys)
        session.blocked = nil
        return blocked.later
    }

    /// Serves this loop's clients blocked on keys written since the last
    /// look, each key's in the order they blocked, and wakes the other
    /// loops that have clients waiting on keys written here.
    private func serveReady() {
        hasReadyKeys = false
        // Serving writes keys too (BLMOVE's destination): bounded rounds;
        // what is left is found by the next tick.
        var rounds = 0
        while rounds < 64 {
            let keys = store.blocking.takeReady(loop: loopIndex)
            if keys.isEmpty { break }
            for key in keys { serve(key) }
            rounds += 1
        }
        hasReadyKeys = false
        if !loopsToWake.isEmpty, let connections {
            for loop in loopsToWake { connections.requestTick(onLoop: loop) }
        }
        loopsToWake.removeAll(keepingCapacity: true)
    }

    /// Runs again the commands of clients blocked on `key`, first blocked
    /// first, until one finds nothing left.
    private func serve(_ key: [UInt8]) {
        for waiter in store.blocking.waiters(on: key, loop: loopIndex) {
            guard let session = sessions.session(of: waiter.client), let blocked = session.blocked,
                blocked.block.waiter == waiter, !session.record.killed.load(ordering: .relaxed)
            else { continue }
            context.isRetryingBlocked = true
            blocked.command.forEachCommand { command in
                context.begin(command, session: session)
                guard let spec = executor.resolve(command) else { return }
                executor.run(spec, command)
            }
            context.isRetryingBlocked = false
            if context.stillBlocked {
                context.stillBlocked = false
                context.reply.reset()
                return
            }
            resume(session, later: unblock(session))
        }
    }

    /// Releases this loop's clients CLIENT UNBLOCK named: each still
    /// blocked gets its timeout's reply, or the UNBLOCKED error.
    private func releaseRequested() {
        hasReleases = false
        for release in store.blocking.takeReleases(loop: loopIndex) {
            // The block CLIENT UNBLOCK saw, not one the client began since.
            guard let session = sessions.session(of: release.waiter.client), let blocked = session.blocked,
                blocked.block.waiter == release.waiter
            else { continue }
            let later = unblock(session)
            context.reply.protocolVersion = session.protocolVersion
            if release.withError {
                context.reply.error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
            } else {
                context.replyTimedOut(blocked.block.timeoutReply)
            }
            resume(session, later: later)
        }
    }

    /// This loop's clients in WAIT whose replicas have acknowledged enough
    /// get the count, in the order they blocked (one look at the replicas'
    /// offsets for all of them).
    private func serveAcknowledged() {
        hasAcknowledgements = false
        // Serving a client runs what it sent meanwhile, which may block it
        // in WAIT again (appended to the list): the list is taken first.
        var waiting: [KVBlocking.Waiter] = []
        swap(&waiting, &waitingForAcknowledgements)
        let acknowledged = waiting.isEmpty ? [] : store.replication.acknowledgedOffsets()
        var stillWaiting: [KVBlocking.Waiter] = []
        for waiter in waiting {
            guard isCurrent(waiter), let session = sessions.session(of: waiter.client),
                case .acknowledgements(let offset, let wanted) = session.blocked?.block.timeoutReply
            else { continue }
            let count = acknowledged.reduce(0) { $0 + ($1 >= offset ? 1 : 0) }
            guard Int64(count) >= wanted else {
                stillWaiting.append(waiter)
                continue
            }
            let later = unblock(session)
            context.reply.protocolVersion = session.protocolVersion
            context.reply.integer(count)
            resume(session, later: later)
        }
        waitingForAcknowledgements = stillWaiting + waitingForAcknowledgements
        if waitingForAcknowledgements.isEmpty {
            store.replication.loopsWaitingForAcknowledgements.bitwiseAnd(
                ~KVReplication.bit(of: loopIndex), ordering: .relaxed)
        }
    }

    /// Clients whose deadline has passed get the null reply.
    private func expireBlocked(nowMs: Int64) {
        while let first = deadlines.min, first.ms <= nowMs {
            _ = deadlines.removeMin()
            guard isCurrent(first.waiter), let session = sessions.session(of: first.waiter.client) else { continue }
            let reply = session.blocked!.block.timeoutReply
            let later = unblock(session)
            context.reply.protocolVersion = session.protocolVersion
            context.replyTimedOut(reply)
            resume(session, later: later)
        }
    }

    /// Delivers the reply in the context's buffer to `session` (no longer
    /// blocked or walking), then runs what it sent while it waited, until
    /// one of those blocks or walks again (the rest wait behind it) or
    /// closes the connection.
    func resume(_ session: KVSession, later: KVCommandQueue) {
        // The reply it waited for, under the CLIENT REPLY mode it began in.
        let began = session.replyModeAtHold
        session.replyModeAtHold = .on
        if dropsReply(of: session, began: began) {
            context.reply.reset()
        } else {
            deliverReply(to: session, uncapped: true)
        }
        runHeld(later, of: session)
    }

    /// Runs the commands a held client sent, in order, until one holds it
    /// again (the rest wait behind it) or closes the connection; whether
    /// one closed it.
    @discardableResult
    private func runHeld(_ queue: KVCommandQueue, of session: KVSession) -> Bool {
        var closed = false
        queue.forEachCommand { command in
            if closed { return }
            if session.isHeld {
                if !keep(command, heldBy: session) { closed = true }
                return
            }
            let replyMode = session.replyMode
            executor.execute(command, session: session)
            if dropsReply(of: session, began: replyMode) {
                context.reply.reset()
            } else {
                deliverReply(to: session, uncapped: false)
            }
            if context.closeAfterReply {
                context.closeAfterReply = false
                session.record.killed.store(true, ordering: .relaxed)
                KVTrackingCommands.disable(session.record, store.tracking)
                closed = true
                return close(session.client)
            }
            if context.pendingBlock != nil { startBlocking(session, command) }
            if context.pendingWalk != nil { startWalk(session) }
            if context.pendingReplicaSync != nil { startReplicaSync(session) }
            if context.pendingPause { startPause(session, command) }
        }
        return closed
    }

    // MARK: clients held by CLIENT PAUSE (see KVClientPause)

    /// This loop's clients whose command a pause holds, first held first
    /// (some may have gone since: skipped when looked at).
    private var pausedClients: [KVClientRef] = []
    /// CLIENT UNPAUSE ran on this loop: its held clients go on after the command.
    private var hasUnpaused = false
    /// The pause's kind when this loop last held or looked at its held
    /// clients: while it is the same, none of them can go on.
    private var heldUnder = KVClientPause.Kind.none

    /// Starts holding `session`, whose `command` the pause holds back.
    private func startPause(_ session: KVSession, _ command: RESPCommand) {
        context.pendingPause = false
        var copy = KVCommandQueue()
        // The command alone may be as large as a request may be.
        _ = copy.append(command, limited: false)
        heldUnder = store.clientPause.kind(nowMs: store.clock.nowMs)
        session.paused = KVPausedCommand(command: copy, heldUnder: heldUnder)
        pausedClients.append(session.client)
        store.clientPause.postponed.add(1, ordering: .relaxed)
    }

    /// Runs again, first held first, the commands of this loop's clients
    /// that a pause held, once it no longer holds them all (one still
    /// held, under WRITE, is held again, behind the others).
    private func resumePaused() {
        hasUnpaused = false
        let pause = store.clientPause
        let nowMs = store.clock.nowMs
        pause.clearIfEnded(nowMs: nowMs)
        let current = pause.kind(nowMs: nowMs)
        heldUnder = current
        guard !pausedClients.isEmpty, current != .all else { return }
        let held = pausedClients
        pausedClients.removeAll(keepingCapacity: true)
        var stillHeld: [KVClientRef] = []
        for client in held {
            guard let session = sessions.session(of: client), let paused = session.paused else { continue }
            // Held under what still holds (a write under WRITE): it waits
            // on, in its place, not run to be held again.
            if current != .none && paused.heldUnder <= current {
                stillHeld.append(client)
                continue
            }
            session.paused = nil
            pause.postponed.subtract(1, ordering: .relaxed)
            if session.record.killed.load(ordering: .relaxed) { continue }
            if runHeld(paused.command, of: session) { continue }
            runHeld(paused.later, of: session)
        }
        // Those held again meanwhile go behind those that waited on.
        pausedClients = stillHeld + pausedClients
    }

    /// A command arrives while this loop holds paused clients: if the pause
    /// has ended or eased since, they go first, as redis-server runs its
    /// held clients before anything that comes later.
    @inline(__always)
    private func resumePausedIfEased() {
        guard !pausedClients.isEmpty, store.clientPause.kind(nowMs: store.clock.nowMs) != heldUnder else { return }
        resumePaused()
    }

    /// Whether the reply to the command just run, begun in CLIENT REPLY
    /// mode `began`, is dropped; moves the mode on. A command that holds
    /// its client (it blocked, or its KEYS is walked) keeps the mode as it
    /// is until its reply comes (resume), as redis-server keeps a blocked
    /// client's skip.
    @inline(__always)
    private func dropsReply(of session: KVSession, began: KVReplyMode) -> Bool {
        // Replies on before and after: nothing to do (every command's case).
        guard began != .on || session.replyMode != .on else { return false }
        if context.pendingBlock != nil || context.pendingWalk != nil {
            session.replyModeAtHold = began
            return false
        }
        // A held-back command runs again later, under the same mode.
        if context.pendingPause { return false }
        let (drops, next) = session.replyMode.afterCommand(began: began)
        session.replyMode = next
        if context.repliedWithPushes {
            context.repliedWithPushes = false
            return false
        }
        return drops
    }

    /// A held client's reply. The one it waited for is its own request's,
    /// not held to the pending-output cap (`uncapped`); the replies to what
    /// it sent meanwhile are (they were all read already: reading cannot
    /// pause for them, so a client could otherwise queue 100,000 large
    /// replies at once).
    private func deliverReply(to session: KVSession, uncapped: Bool) {
        let reply = context.reply
        if reply.count > 0 {
            let written =
                uncapped ? writeReply(reply.bytes, to: session.client) : deliver(reply.bytes, to: session.client)
            if !written { close(session.client) }
        }
        reply.reset()
        if !context.pendingInvalidations.isEmpty { context.sendPendingInvalidations() }
    }

    /// Bytes written to `client` and not yet taken by the kernel (without a
    /// loop, the tests' harness: those in `deliveredWithoutLoop`, which the
    /// test takes as the client reads).
    func pendingOutputBytes(of client: KVClientRef) -> Int {
        guard let connections else {
            return deliveredWithoutLoop.reduce(0) { $0 + ($1.client == client ? $1.bytes.count : 0) }
        }
        return connections.pendingOutputBytes(of: Self.connectionID(client)) ?? 0
    }

    /// Writes part of a held client's reply (see deliverReply); false when
    /// the connection is gone or out of memory.
    func writeReply(_ bytes: UnsafeRawBufferPointer, to client: KVClientRef) -> Bool {
        guard let connections else {
            deliveredWithoutLoop.append((client, Array(bytes)))
            return sessions.session(of: client) != nil
        }
        return connections.writeReply(bytes, to: Self.connectionID(client)) == .queued
    }

    func open(_ connection: Connection) {
        store.counters.connectionsReceived.add(1, ordering: .relaxed)
        let session = KVSession(
            id: store.clientIDs.next(), client: Self.client(connection.id),
            address: connection.clientAddress?.description ?? "?:0",
            localAddress: connection.localAddress?.description ?? "?:0",
            authenticated: !store.settings.requiresPassword, nowMs: store.clock.nowMs)
        open(session)
        // Until it authenticates, a client may not make the server buffer
        // much (redis-server's limits: 10 arguments, bulks of 16 KiB).
        if !session.authenticated {
            session.requestsRestricted = true
            connection.restrictRequests(true)
        }
    }

    /// Registers a new connection's session.
    func open(_ session: KVSession) {
        loopIndex = session.client.loop
        sessions.open(session)
        store.clients.add(session.record)
    }

    func close(_ id: ConnectionID) {
        end(Self.client(id))
    }

    /// Ends a closed connection's session: its watches, its transaction,
    /// its subscriptions, its record.
    func end(_ client: KVClientRef) {
        guard let session = sessions.close(client) else { return }
        store.watches.unwatch(session.watchedKeys, session.watch)
        session.watchedKeys = []
        session.transaction = nil
        if session.blocked != nil { _ = unblock(session) }
        if session.paused != nil {
            session.paused = nil
            store.clientPause.postponed.subtract(1, ordering: .relaxed)
        }
        if let sync = session.replicaSync {
            session.replicaSync = nil
            sync.abandon(store)
        }
        if session.isReplica { store.replication.detach(client) }
        session.walk = nil
        unsubscribeAll(session)
        KVMonitor.stop(session, in: store)
        KVTrackingCommands.disable(session.record, store.tracking)
        store.clients.remove(session.record)
    }

    func tick() {
        // Known before this loop's first connection: a tick must not take
        // another loop's ready keys (KVBlocking.takeReady) as its own.
        if let connections { loopIndex = connections.loopIndex }
        context.coarseNowMs = store.clock.nowMs
        // A tick asked for by a walk comes every iteration: the rest of the
        // background work keeps its own pace.
        let nowNs = KVMaintenance.monotonicNs()
        let regular = !walks.tickRequested || nowNs - walks.lastRegularTickNs >= Self.tickIntervalNs
        if regular { walks.lastRegularTickNs = nowNs }
        walks.tickRequested = false
        let paused = store.settings.cronPaused.load(ordering: .relaxed)
        if regular && !paused { maintenance.run(on: store) }
        if store.events.pending.load(ordering: .relaxed) > 0 { context.announceQueuedEvents(current: nil) }
        if store.tracking.isActive {
            if !paused && store.tracking.isOverLimit { context.forgetTrackedOverLimit(current: nil) }
            // Expiries and evictions the tick announced, to BCAST clients.
            if !context.trackingWrites.isEmpty { context.broadcastWrites(current: nil) }
        }
        if store.blocking.blockedCount.load(ordering: .relaxed) > 0 || !deadlines.isEmpty {
            serveReady()
            expireBlocked(nowMs: context.coarseNowMs)
        }
        // Taken whether or not anyone is blocked: a stale one is dropped.
        releaseRequested()
        if !waitingForAcknowledgements.isEmpty { serveAcknowledged() }
        if !replicaSyncs.isEmpty { stepReplicaSyncs() }
        if store.replication.isActive {
            store.replication.tick(nowMs: context.coarseNowMs)
            drainReplicationStream()
        }
        if !walks.isEmpty { stepWalk() }
        deliverQueuedMessages()
        if !pausedClients.isEmpty || store.clientPause.mayBeOn { resumePaused() }
        guard regular else { return }
        if memoryReturn.isDue(usedBytes: KVHeap.used, nowMs: context.coarseNowMs) {
            HeapMemory.returnFreePagesInBackground()
        }
        logAuthenticationFailures(nowMs: context.coarseNowMs)
        if loopIndex == 0 { store.sampleRates(nowMs: context.coarseNowMs) }
    }

    private static let tickIntervalNs = Int64(KVHandler.tickIntervalMs ?? 1) * 1_000_000

    static func client(_ id: ConnectionID) -> KVClientRef {
        KVClientRef(loop: id.loop, slot: id.slot, generation: id.generation)
    }

    static func connectionID(_ client: KVClientRef) -> ConnectionID {
        ConnectionID(loop: client.loop, slot: client.slot, generation: client.generation)
    }

    // MARK: KVServices

    /// Marks clients blocked on `key` to be served after the command
    /// (here) or by their own loop (woken then).
    @inline(__always)
    func keyTouched(_ key: UnsafeRawBufferPointer) {
        guard store.blocking.blockedCount.load(ordering: .relaxed) > 0 else { return }
        for loop in store.blocking.signal(key) {
            if loop == loopIndex {
                hasReadyKeys = true
            } else if !loopsToWake.contains(loop) {
                loopsToWake.append(loop)
            }
        }
    }

    /// Counted; logged with the client's address at most once a second
    /// (a password guesser cannot flood the log), the rest summed up.
    func authenticationFailed(_ session: KVSession) {
        store.counters.authFailures.add(1, ordering: .relaxed)
        unloggedAuthFailures += 1
        let nowMs = context.coarseNowMs
        if nowMs - lastAuthLogMs >= 1_000 {
            logger.warning(
                "authentication failed",
                metadata: [
                    "client": "\(session.record.address)", "id": "\(session.id)",
                    "failures_since_last_log": "\(unloggedAuthFailures)",
                ])
            unloggedAuthFailures = 0
            lastAuthLogMs = nowMs
        }
    }

    private func logAuthenticationFailures(nowMs: Int64) {
        guard unloggedAuthFailures > 0, nowMs - lastAuthLogMs >= 1_000 else { return }
        logger.warning("authentication failed", metadata: ["failures_since_last_log": "\(unloggedAuthFailures)"])
        unloggedAuthFailures = 0
        lastAuthLogMs = nowMs
    }

    func unsubscribeAll(_ session: KVSession) {
        KVPubSubCommands.unsubscribeAll(session, from: store.pubsub)
        deliverQueuedMessages()
    }

    func deliver(_ bytes: UnsafeRawBufferPointer, to client: KVClientRef) -> Bool {
        guard let connections else {
            deliveredWithoutLoop.append((client, Array(bytes)))
            return sessions.session(of: client) != nil
        }
        return connections.write(bytes, to: Self.connectionID(client)) == .queued
    }

    func close(_ client: KVClientRef) {
        guard let connections else { return closedWithoutLoop.append(client) }
        connections.close(Self.connectionID(client))
    }

    /// Closes `client` at once, what was queued for it dropped: a replica
    /// too far behind holds no more of the stream while it is closed
    /// (redis-server frees such a replica's output buffer at once too).
    func abort(_ client: KVClientRef) {
        guard let connections else { return closedWithoutLoop.append(client) }
        connections.abort(Self.connectionID(client))
    }

    /// Ends `waiter`'s block on its client's own loop: this one after the
    /// command, another at once through Keel's mailbox.
    /// The loops with clients in WAIT look again: this one after the
    /// command, the others at once through Keel's mailbox.
    func acknowledgementArrived(loops: UInt64) {
        for loop in 0..<UInt32(64) where loops & KVReplication.bit(of: loop) != 0 {
            if loop == loopIndex || connections == nil {
                hasAcknowledgements = true
            } else {
                connections?.requestTick(onLoop: loop)
            }
        }
    }

    func wake(loop: UInt32) {
        connections?.requestTick(onLoop: loop)
    }

    func deliverQueuedMessages() {
        for pending in store.pubsub.take(loop: loopIndex) where sessions.session(of: pending.client) != nil {
            _ = pending.bytes.withUnsafeBytes { deliver($0, to: pending.client) }
        }
    }

    func clientsUnpaused() {
        hasUnpaused = true
        guard let connections else { return }
        for loop in 0..<UInt32(store.loopCount) where loop != loopIndex { connections.requestTick(onLoop: loop) }
    }

    func release(_ waiter: KVBlocking.Waiter, withError: Bool) {
        let client = waiter.client
        store.blocking.requestRelease(of: waiter, withError: withError)
        if client.loop == loopIndex || connections == nil {
            hasReleases = true
        } else {
            connections?.requestTick(onLoop: client.loop)
        }
    }
}

/// Services for a context before its loop is built.
final class KVNoServices: KVServices, Sendable {
    static let shared = KVNoServices()
    func keyTouched(_ key: UnsafeRawBufferPointer) {}
    func authenticationFailed(_ session: KVSession) {}
    func unsubscribeAll(_ session: KVSession) {}
    func deliver(_ bytes: UnsafeRawBufferPointer, to client: KVClientRef) -> Bool { false }
    func close(_ client: KVClientRef) {}
    func abort(_ client: KVClientRef) {}
    func release(_ waiter: KVBlocking.Waiter, withError: Bool) {}
    func acknowledgementArrived(loops: UInt64) {}
    func clientsUnpaused() {}
    var loopIndex: UInt32 { 0 }
    func wake(loop: UInt32) {}
    func deliverQueuedMessages() {}
}

/// When a blocked client's wait ends.
struct KVBlockDeadline: Comparable {
    let ms: Int64
    let waiter: KVBlocking.Waiter

    static func < (lhs: Self, rhs: Self) -> Bool { lhs.ms < rhs.ms }
    static func == (lhs: Self, rhs: Self) -> Bool { lhs.ms == rhs.ms && lhs.waiter == rhs.waiter }
}
