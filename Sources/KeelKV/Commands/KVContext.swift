// KVContext: what a command runs with: its arguments, the session of the
// connection that sent it, the store, the reply buffer, the clock (read at
// most once per command) and a random generator. One per loop, reused for
// every command; the shards a command names are locked around it by the
// executor (KVExecutor), so a command only finds, changes and replies.
//
// The typed lookup (`find(_:as:)`) is the one way a command reaches a key:
// missing, of another type (the command replies WRONGTYPE), or found, with
// the shard and slot that changing it needs.

import KeelWire
import Synchronization

/// A key found for a command: its shard and slot.
struct KVFound {
    // Unowned: shards live as long as the store, and a found key is used
    // within one command (no reference counting per lookup).
    unowned(unsafe) let shard: KVShard
    let slot: KVSlot

    var entry: KVEntry { slot.entry }
}

/// The outcome of a typed lookup.
enum KVLookup {
    case missing
    case wrongType
    case found(KVFound)
}

/// Where a command runs (see the file header).
final class KVContext {
    let store: KVStore
    // The store's watch and blocking registries, which every write looks
    // at: unowned, as the store (held above) keeps them, so that looking
    // costs no reference counting (through `store.` each write retained
    // and released both).
    private unowned(unsafe) let watches: KVWatches
    private unowned(unsafe) let blocking: KVBlocking
    /// CLIENT TRACKING's table (KVTracking), looked at by every write.
    unowned(unsafe) let tracking: KVTracking
    let limits: KVLimits
    let reply: RESPReplyBuffer
    /// This loop's per-command counts (INFO sums every loop's).
    let counters: KVLoopCounters
    /// The command being run; valid during `run`.
    var command: RESPCommand!
    /// The table row being run (its subcommand's, where it has them).
    unowned(unsafe) var row: KVCommandSpec!
    /// Now to the loop's last tick (Unix ms): for what needs no exact time
    /// (when a client last ran a command) without a clock read per command.
    var coarseNowMs: Int64 = 0
    /// The session of the connection that sent it.
    // Unowned: the loop's sessions table holds it for the command's span.
    unowned(unsafe) var session: KVSession!
    var random = KVRandom()
    private var cachedNowMs: Int64 = -1
    /// Set by QUIT: close once the reply is written.
    var closeAfterReply = false
    /// A block the command asked for (KVBlockingCommands), for the loop to hold.
    var pendingBlock: KVPendingBlock?
    /// A KEYS over a large keyspace, for the loop to walk (KVKeysWalk).
    var pendingWalk: KVKeysWalk?
    /// The command's reply is pushes only (SUBSCRIBE's confirmations),
    /// which CLIENT REPLY does not silence: set only while replies are
    /// not all on, and cleared by the loop when it decides.
    var repliedWithPushes = false
    /// A *STORE command replaces its destination (removed, then added):
    /// no "new" event, as redis-server overwrites it in place.
    var overwriting = false
    /// CLIENT PAUSE holds the command back: the loop keeps it (a copy) and
    /// runs it when the pause ends.
    var pendingPause = false
    /// A replica's synchronisation, for the loop to go on with.
    var pendingReplicaSync: KVReplicaSync?
    /// While a blocked client's command runs again (KVLoop): finding
    /// nothing, it stays blocked and says so in `stillBlocked`.
    var isRetryingBlocked = false
    var stillBlocked = false
    /// While EXEC runs its queue: blocking commands do not block there.
    var isInTransaction = false
    /// Services that reach beyond this connection (other clients, the loop):
    /// the loop that owns this context (unowned: the loop holds the context).
    unowned(unsafe) var services: KVServices
    /// The executor running this context's commands (EXEC runs queued ones).
    unowned(unsafe) var executor: KVExecutor!

    init(store: KVStore, services: KVServices) {
        self.store = store
        watches = store.watches
        blocking = store.blocking
        tracking = store.tracking
        self.services = services
        limits = store.settings.limits
        reply = RESPReplyBuffer()
        counters = store.counters.register()
        commandCounts = counters.commands.counts
        let loopCounters = counters
        coarseNowMs = store.clock.nowMs
        reply.errorObserver = { [unowned self] message in
            loopCounters.errors.withLock { $0.count(message) }
            repliedError = true
        }
    }

    /// This loop's INFO commandstats counts (KVCommandStats), held as a
    /// pointer: counting a command retains nothing.
    let commandCounts: UnsafeMutablePointer<Atomic<Int>>
    /// An error reply was written since the command began (its
    /// failed_calls), set by the reply buffer's observer.
    var repliedError = false
    /// Keys written while BCAST tracking clients listen (KVInvalidation),
    /// each with whether this command wrote it; sent after the command.
    var trackingWrites: [(key: [UInt8], byCommand: Bool)] = []
    /// Invalidations of keys the client running the command had read:
    /// sent after its reply, as redis-server sends them.
    var pendingInvalidations: [(client: KVClientRef, bytes: [UInt8])] = []
    /// Whether either of the two above holds something (one flag for the
    /// executor to look at after each command).
    var hasTrackingWork = false

    /// Prepares for the next command.
    @inline(__always)
    func begin(_ command: RESPCommand, session: KVSession) {
        self.command = command
        self.session = session
        cachedNowMs = -1
        repliedError = false
        reply.protocolVersion = session.protocolVersion
    }

    /// Reads the clock afresh at the next `nowMs` (work done outside a
    /// command, on a tick).
    func resetClock() {
        cachedNowMs = -1
    }

    /// Holds the clock at `ms` for the command about to run (EXEC's queue
    /// runs at one time, as in redis-server: no key expires halfway).
    func holdClock(at ms: Int64) {
        cachedNowMs = ms
    }

    /// Now, in Unix milliseconds, read once per command.
    var nowMs: Int64 {
        if cachedNowMs < 0 { cachedNowMs = store.clock.nowMs }
        return cachedNowMs
    }

    /// Argument `index`.
    @inline(__always)
    subscript(index: Int) -> UnsafeRawBufferPointer { command[index] }

    var argumentCount: Int { command.count }

    /// Whether argument `index` is `word`, ignoring case.
    @inline(__always)
    func argument(_ index: Int, is word: StaticString) -> Bool {
        command.argument(index, equalsIgnoringCase: word)
    }

    // MARK: keys

    /// The live key `key` (an expired one is deleted first). A read-only
    /// command's miss is announced (keymiss), but not by the commands that
    /// walk keys they do not name (SCAN, RANDOMKEY).
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer) -> KVFound? {
        let found = lookUp(key)
        if found == nil, store.events.isOn(.keyMiss), let row, row.flags.contains(.readonly),
            !row.flags.contains(.touchesArbitraryKeys)
        {
            notify(.keyMiss, "keymiss", key)
        }
        return found
    }

    @inline(__always)
    private func lookUp(_ key: UnsafeRawBufferPointer) -> KVFound? {
        let hash = ByteHash.hash(key)
        guard isReplicating else {
            return store.withShard(for: hash) { shard in
                shard.find(key, hash: hash, nowMs: nowMs, expiring: mayExpire).map { KVFound(shard: shard, slot: $0) }
            }
        }
        let shard = store.shard(for: hash)
        // An expiry found here goes to replicas with the command, as a DEL
        // before it (in MULTI/EXEC with it, as redis-server 7.0 sends them).
        let expiredBefore = shard.expirations
        let slot = shard.find(key, hash: hash, nowMs: nowMs, feedingExpiry: false, expiring: mayExpire)
        if shard.expirations != expiredBefore { outboxDeletion(key) }
        return slot.map { KVFound(shard: shard, slot: $0) }
    }

    /// Whether an expired key the command finds is deleted: not while a
    /// CLIENT PAUSE holds the store still, unless the command writes (one
    /// that runs in the transaction that paused: the key is replaced).
    var mayExpire: Bool {
        !store.clientPause.isOn(nowMs: nowMs) || row?.flags.contains(.write) == true
    }

    /// The live key `key` if it holds a `type`. A read-only command's
    /// lookups count as INFO's keyspace hits and misses.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, as type: KVType) -> KVLookup {
        guard let found = find(key) else {
            if row.flags.contains(.readonly) { KVLoopCounters.bump(counters.keyspaceMisses) }
            return .missing
        }
        if row.flags.contains(.readonly) { KVLoopCounters.bump(counters.keyspaceHits) }
        return found.entry.type == type ? .found(found) : .wrongType
    }

    /// Adds `key` (absent) with `value` and an optional expiry; false when
    /// memory ran out (the reply then says so).
    @discardableResult
    func add(_ key: UnsafeRawBufferPointer, _ value: KVEntry.Value, expireAtMs: Int64? = nil) -> Bool {
        guard let entry = KVEntry.make(key: key, value: value, expireAtMs: expireAtMs) else {
            if case .object(let object, let type, let encoding) = value {
                KVObjects.release(object, type: type, encoding: encoding)
            }
            return false
        }
        let hash = ByteHash.hash(key)
        guard store.withShard(for: hash, { $0.insert(entry, hash: hash) }) else { return false }
        if !overwriting { notify(.new, "new", key) }
        return true
    }

    /// Replaces the key at `found` with `value` (any type), keeping or
    /// setting its expiry as given. False when memory ran out (the key is
    /// then unchanged).
    @discardableResult
    func replace(_ found: KVFound, with value: KVEntry.Value, expireAtMs: Int64?) -> Bool {
        let old = found.entry
        guard let entry = KVEntry.make(key: old.key, value: value, expireAtMs: expireAtMs) else { return false }
        if expireAtMs != nil && old.hasExpiry { entry.volatileSlot = old.volatileSlot }
        guard found.shard.replace(found.slot, with: entry) else {
            entry.freeBlock()
            return false
        }
        KVObjects.releaseEntry(old)
        return true
    }

    /// Deletes the key at `found`.
    func remove(_ found: KVFound) {
        found.shard.remove(found.slot)
    }

    /// Deletes `key` when its collection is empty (Redis never keeps an
    /// empty collection). Found afresh: a slot found before other lookups
    /// may be stale (a lookup can move a bucket), its entry is not.
    func removeIfEmpty(_ key: UnsafeRawBufferPointer, count: Int) {
        if count == 0, let found = find(key) {
            remove(found)
            notify(.generic, "del", key)
        }
    }

    /// An error message quoting `argument` between two texts, the argument
    /// read as redis-server's %s reads it (up to a NUL), bytes as they came.
    static func text(_ before: StaticString, _ argument: UnsafeRawBufferPointer, _ after: StaticString) -> [UInt8] {
        Array(UnsafeBufferPointer(start: before.utf8Start, count: before.utf8CodeUnitCount))
            + Array(argument.prefix(while: { $0 != 0 }))
            + Array(UnsafeBufferPointer(start: after.utf8Start, count: after.utf8CodeUnitCount))
    }

    /// `key` was written: transactions watching it fail (and clients
    /// blocked on it are looked at).
    @inline(__always)
    func touched(_ key: UnsafeRawBufferPointer) {
        changed = true
        if isReplicating { store.replication.noteWritten(key) }
        if watches.watchedKeys.load(ordering: .relaxed) > 0 { watches.touch(key) }
        if blocking.blockedCount.load(ordering: .relaxed) > 0 { services.keyTouched(key) }
        if tracking.isActive { invalidateTracked(key, byCommand: true, current: session.record) }
    }

    // MARK: replication (KVReplication)

    /// Whether replicas are attached while this command runs (read under
    /// its shard locks): only then is what it changed turned into stream
    /// bytes, and only then need a command say what it is propagated as.
    var isReplicating = false
    /// Whether the command changed the dataset (it touched a key, or it is
    /// one redis-server always propagates): it enters the stream as typed,
    /// unless it said otherwise.
    var changed = false
    /// Set when a command ran with replicas attached: the loop then hands
    /// the stream to its replicas (and clears it).
    var fedReplicas = false
    /// Whether the command said what it is propagated as (`propagate`).
    private var rewritten = false
    /// Commands for the stream, encoded, from the command (or transaction)
    /// being run; fed together, in MULTI ... EXEC when more than one.
    private var outbox: [UInt8] = []
    private var outboxCount = 0

    /// Propagates the command as typed even if it changed no key
    /// (FLUSHALL, PUBLISH: redis-server's forced propagation).
    func forcePropagation() {
        changed = true
    }

    /// The command enters the stream as `arguments` instead of as typed
    /// (called again: as several commands); with none, not at all. Callers
    /// check `isReplicating` first, so nothing is built without replicas.
    func propagate(_ arguments: [KVStreamArgument]) {
        rewritten = true
        guard !arguments.isEmpty else { return }
        KVReplication.encodeHeader(arguments.count, into: &outbox)
        for argument in arguments { argument.bytes.withUnsafeBytes { KVReplication.encodeBulk($0, into: &outbox) } }
        outboxCount += 1
    }

    /// SET key value with an expiry, as redis-server propagates it: with
    /// the absolute time (PXAT), so a replica's copy expires when this one
    /// does however late the command reaches it; a time already past
    /// deleted the key here, so DEL.
    func propagateSet(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, expireAtMs: Int64) {
        if expireAtMs <= nowMs { return propagate(["DEL", KVStreamArgument(key)]) }
        propagate(["SET", KVStreamArgument(key), KVStreamArgument(value), "PXAT", KVStreamArgument(expireAtMs)])
    }

    /// A new expiry of `key`, as redis-server propagates one: PEXPIREAT at
    /// the absolute time, or DEL when it has passed (the key is gone).
    func propagateExpiry(_ key: UnsafeRawBufferPointer, _ expireAtMs: Int64) {
        if expireAtMs <= nowMs { return propagate(["DEL", KVStreamArgument(key)]) }
        propagate(["PEXPIREAT", KVStreamArgument(key), KVStreamArgument(expireAtMs)])
    }

    /// DEL `key` (an expiry the command found) into the outbox, ahead of
    /// what the command itself is propagated as.
    private func outboxDeletion(_ key: UnsafeRawBufferPointer) {
        KVReplication.encodeDeletion(of: key, into: &outbox)
        outboxCount += 1
    }

    /// After a command ran with replicas attached: what it changed goes to
    /// the outbox, as typed or as it said.
    func commandFinished() {
        if changed && !rewritten {
            KVReplication.encodeHeader(command.count, into: &outbox)
            for index in 0..<command.count { KVReplication.encodeBulk(command[index], into: &outbox) }
            outboxCount += 1
        }
        changed = false
        rewritten = false
    }

    /// Feeds the outbox to the stream (the shard locks still held, so
    /// changes to one key enter it in the order they were made).
    func feedOutbox(inTransaction: Bool = false) {
        guard outboxCount > 0 else { return }
        // Several in one go, as one transaction; not for a command that
        // touches keys it does not name (SCAN, RANDOMKEY: their expired
        // keys' DELs go each on its own, as redis-server sends them).
        let arbitrary = !inTransaction && row.flags.contains(.touchesArbitraryKeys)
        store.replication.feed(outbox, transaction: outboxCount > 1 && !arbitrary)
        outbox.removeAll(keepingCapacity: true)
        outboxCount = 0
    }

    // MARK: common replies

    func wrongType() {
        reply.error("WRONGTYPE Operation against a key holding the wrong kind of value")
    }

    func syntaxError() {
        reply.error("ERR syntax error")
    }

    func notAnInteger() {
        reply.error("ERR value is not an integer or out of range")
    }

    /// A count of Int64.min (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER: one that
    /// cannot be negated), as redis-server words it.
    func countOutOfRange() {
        reply.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    }

    func outOfMemory() {
        reply.error("OOM command not allowed when used memory > 'maxmemory'.")
    }

    /// The arity error of the command being run (or of its subcommand).
    func wrongArguments(_ name: String) {
        reply.error("ERR wrong number of arguments for '\(name)' command")
    }

    /// redis-server's error for a subcommand given arguments it does not
    /// take, quoting the subcommand as typed: "... Try `container` HELP."
    func subcommandSyntaxError(_ container: StaticString) {
        reply.error(
            Array("ERR unknown subcommand or wrong number of arguments for '".utf8)
                + command[1].prefix(while: { $0 != 0 }).prefix(128) + Array("'. Try \(container) HELP.".utf8))
    }

    /// Argument `index` as an integer, or nil having replied the error.
    func integer(at index: Int) -> Int64? {
        guard let value = command.integer(at: index) else {
            notAnInteger()
            return nil
        }
        return value
    }
}

/// One argument of a command as the replication stream carries it.
struct KVStreamArgument: ExpressibleByStringLiteral {
    let bytes: [UInt8]

    init(stringLiteral word: StaticString) {
        bytes = Array(UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
    }

    init(_ raw: UnsafeRawBufferPointer) {
        bytes = Array(raw)
    }

    init(_ number: Int64) {
        bytes = Array(String(number).utf8)
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }
}

/// What a command may ask beyond its own connection: pushes to other
/// clients, closing them, the loop's blocking machinery. The handler
/// provides it (KVHandler), so the command layer does not depend on Keel.
protocol KVServices: AnyObject {
    /// A key was written (blocked clients may now be served).
    func keyTouched(_ key: UnsafeRawBufferPointer)
    /// An AUTH or HELLO AUTH failed (counted; logged at most once a second).
    func authenticationFailed(_ session: KVSession)
    /// Drops every subscription of `session` (RESET, a closed connection).
    func unsubscribeAll(_ session: KVSession)
    /// Writes `bytes` (whole RESP replies) to another client, on any loop;
    /// false when it has gone or its loop's mailbox is full.
    func deliver(_ bytes: UnsafeRawBufferPointer, to client: KVClientRef) -> Bool
    /// Closes another client once its pending replies are written.
    func close(_ client: KVClientRef)
    /// Closes another client at once, its pending replies dropped.
    func abort(_ client: KVClientRef)
    /// Ends the block `waiter` names (CLIENT UNBLOCK) as a timeout would,
    /// or with the UNBLOCKED error, on its client's loop; nothing if that
    /// block has ended meanwhile.
    func release(_ waiter: KVBlocking.Waiter, withError: Bool)
    /// A replica acknowledged an offset: the loops in `loops` (a bit each)
    /// look at their clients blocked in WAIT.
    func acknowledgementArrived(loops: UInt64)
    /// CLIENT UNPAUSE: every loop runs its held clients' commands.
    func clientsUnpaused()
    /// This loop's index.
    var loopIndex: UInt32 { get }
    /// Asks loop `loop` to run its tick now (messages were queued for it).
    func wake(loop: UInt32)
    /// Writes the messages other loops published to this loop's subscribers.
    func deliverQueuedMessages()
}
