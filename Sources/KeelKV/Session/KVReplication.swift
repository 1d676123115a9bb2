// KVReplication: keel-kv as a primary, fed to its replicas as redis-server
// feeds its own. A replica (a connection that sent SYNC or PSYNC) gets a
// snapshot of the dataset in RDB form (KVSnapshot), then every change as a
// command in RESP, in the order the changes were made: the replication
// stream. A redis-server started with `--replicaof` follows keel-kv this
// way, and Redis's test suite reads the stream to check how each command is
// propagated.
//
// What goes into the stream is what redis-server 7.0 puts there: a command
// that changed the dataset, as typed or rewritten to what its effect was
// (SET ... EX 10 as SET ... PXAT <when>, BLPOP as LPOP, an expired key as
// DEL: KVContext's propagation), SELECT 0 before the first one a replica
// sees, MULTI ... EXEC around what one command or transaction changed in
// more than one step, and a PING every repl-ping-replica-period seconds.
//
// A new replica's snapshot is written a slice per tick (KVReplicaSync), so
// attaching one does not stop the loop; meanwhile the keys written are
// noted, and sent as their values once the snapshot is done, after which
// the replica gets the stream.
//
// Threading. Commands on every loop feed the stream while they hold their
// keys' shard locks, so two commands on one key enter it in the order they
// ran; the feed's own lock orders the rest. Each replica's bytes wait in
// its own buffer and only the replica's own loop writes them to its
// connection (after a command, or on its tick, which the feeding loop
// requests), so nothing reorders them on the way. A replica is attached
// with every shard locked, and switches from its catch-up to the stream
// under the feed's lock once no noted key is left: every change is in its
// snapshot, its catch-up or its stream.
//
// The last megabyte of the stream is kept (KVBacklog, from the first
// replica on, until no replica has been attached for repl-backlog-ttl): a
// replica whose connection dropped asks with PSYNC for the stream from
// where it was, and while that is still held it gets the rest and goes on
// (+CONTINUE) instead of a new snapshot. While the backlog is kept every
// change is encoded into it, replicas or not, as redis-server does. A
// replica more than `outputLimitBytes` behind is disconnected
// (redis-server's client-output-buffer-limit for replicas).

import KeelPosix
import Synchronization

/// The replication stream and its replicas (see the file header).
final class KVReplication: Sendable {
    /// One attached replica.
    struct Replica {
        let client: KVClientRef
        /// Its client id and address (INFO, ROLE).
        let id: Int
        let address: String
        /// REPLCONF listening-port's port, 0 until it says.
        var listeningPort: Int
        /// Stream bytes not yet handed to its connection.
        var pending: [UInt8] = []
        /// The offset it last acknowledged (REPLCONF ACK), and when.
        var acknowledgedOffset: Int64 = 0
        var acknowledgedAtMs: Int64
        /// While its snapshot is written (KVReplicaSync): no stream bytes,
        /// only the keys written since the snapshot began, to send as they
        /// are once it is done; and whether a flush emptied the store
        /// meanwhile (the snapshot begins again).
        var isSyncing: Bool
        var written: Set<[UInt8]> = []
        var flushed = false
    }

    private struct State {
        var replicas: [Replica] = []
        /// Bytes ever fed to the stream (INFO's master_repl_offset).
        var offset: Int64 = 0
        /// The database the stream last selected (-1: none, SELECT is due).
        var selectedDatabase = -1
        var replicationID = KVReplication.randomID()
        var lastPingMs: Int64 = 0
        /// The stream's last bytes, from the first replica on (nil: none
        /// kept), and its size (CONFIG SET repl-backlog-size).
        var backlog: KVBacklog?
        var backlogSize = 1 << 20
        /// Since when no replica has been attached (the backlog's TTL).
        var noReplicaSinceMs: Int64?
        /// INFO's sync_full, sync_partial_ok and sync_partial_err.
        var fullSyncs = 0
        var partialSyncs = 0
        var refusedPartialSyncs = 0
    }

    private let state = Locked(State())
    /// Whether the stream is kept (a replica is attached, or the backlog
    /// is): read by every command while it holds its shard locks (one
    /// relaxed load), and only then is what the command did turned into
    /// stream bytes.
    private let attached = Atomic<Bool>(false)
    /// Replicas whose snapshot is being written: while any, written keys
    /// are noted (one relaxed load per write otherwise).
    private let syncing = Atomic<Int>(0)
    /// The loops with a replica whose stream bytes wait (a bit each).
    private let waitingLoops = Atomic<UInt64>(0)
    /// `state.offset`, for reading without the lock.
    private let publishedOffset = Atomic<Int64>(0)
    /// A WAIT asked for the replicas' offsets (sendAcknowledgementRequest).
    private let acknowledgementsRequested = Atomic<Bool>(false)
    /// The loops with clients blocked in WAIT (a bit each): an
    /// acknowledgement makes them look again at once.
    let loopsWaitingForAcknowledgements = Atomic<UInt64>(0)

    /// How far (bytes) a replica may fall behind its stream beyond its
    /// snapshot before it is disconnected: redis-server's hard limit.
    static let outputLimitBytes = 256 << 20

    /// Seconds between the PINGs the stream carries (CONFIG SET
    /// repl-ping-replica-period), as redis-server's default.
    let pingPeriodSeconds = Atomic<Int>(10)
    /// Seconds the backlog is kept with no replica attached (CONFIG SET
    /// repl-backlog-ttl; 0: for ever), as redis-server's default.
    let backlogTTLSeconds = Atomic<Int>(3_600)
    /// The smallest backlog redis-server keeps (a smaller size is raised).
    static let minimumBacklogBytes = 16 << 10

    @inline(__always)
    var isActive: Bool { attached.load(ordering: .relaxed) }

    /// 40 random hex digits, as a replication id.
    static func randomID() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        return (0..<40).map { _ in digits[Int.random(in: 0..<16, using: &generator)] }
    }

    // MARK: replicas

    /// Attaches `client` as a replica (every shard locked by the caller),
    /// its snapshot about to be written (KVReplicaSync); returns the
    /// replication id.
    func attach(client: KVClientRef, id: Int, address: String, listeningPort: Int, nowMs: Int64) -> [UInt8] {
        state.withLock { state in
            state.replicas.removeAll { $0.client == client }
            // The first PING comes a period after the first replica.
            if state.replicas.isEmpty { state.lastPingMs = nowMs }
            // A backlog begun afresh holds a new history: a new id, as
            // redis-server's, so no replica resumes from an older one.
            if state.backlog == nil {
                state.backlog = KVBacklog(capacity: state.backlogSize)
                state.replicationID = Self.randomID()
            }
            state.noReplicaSinceMs = nil
            state.fullSyncs += 1
            state.replicas.append(
                Replica(
                    client: client, id: id, address: address, listeningPort: listeningPort,
                    acknowledgedAtMs: nowMs, isSyncing: true))
            syncing.add(1, ordering: .relaxed)
            attached.store(true, ordering: .relaxed)
            return state.replicationID
        }
    }

    /// `key` was written (or deleted): replicas whose snapshot is being
    /// written get its value as it is once the snapshot is done.
    @inline(__always)
    func noteWritten(_ key: UnsafeRawBufferPointer) {
        guard syncing.load(ordering: .relaxed) > 0 else { return }
        state.withLock { state in
            for index in state.replicas.indices where state.replicas[index].isSyncing {
                state.replicas[index].written.insert(Array(key))
            }
        }
    }

    /// The store was emptied: snapshots being written begin again.
    func noteFlush() {
        guard syncing.load(ordering: .relaxed) > 0 else { return }
        state.withLock { state in
            for index in state.replicas.indices where state.replicas[index].isSyncing {
                state.replicas[index].written.removeAll()
                state.replicas[index].flushed = true
            }
        }
    }

    /// Whether the store was emptied since `client`'s snapshot began (or
    /// since the last time this was asked).
    func takeFlush(_ client: KVClientRef) -> Bool {
        state.withLock { state in
            guard let index = state.replicas.firstIndex(where: { $0.client == client }) else { return false }
            defer { state.replicas[index].flushed = false }
            return state.replicas[index].flushed
        }
    }

    /// Up to `limit` of the keys written since `client`'s snapshot began
    /// (each taken once; written again, it comes back).
    func takeWritten(_ client: KVClientRef, limit: Int) -> [[UInt8]] {
        state.withLock { state in
            guard let index = state.replicas.firstIndex(where: { $0.client == client }) else { return [] }
            var taken: [[UInt8]] = []
            while taken.count < limit, let key = state.replicas[index].written.popFirst() { taken.append(key) }
            return taken
        }
    }

    /// Ends `client`'s snapshot if no key is left to catch up with: from
    /// now on it gets the stream, which begins with `catchUp` (the values of
    /// the keys written while the snapshot was made: the other replicas get
    /// them too, a no-op for them, so every replica counts the same bytes).
    /// Returns the offset to announce, the stream's before the catch-up, or
    /// nil when a key was written or the store flushed meanwhile.
    func startStreaming(_ client: KVClientRef, catchUp: [UInt8]) -> Int64? {
        state.withLock { state in
            guard let index = state.replicas.firstIndex(where: { $0.client == client }),
                state.replicas[index].written.isEmpty, !state.replicas[index].flushed
            else { return nil }
            state.replicas[index].isSyncing = false
            syncing.subtract(1, ordering: .relaxed)
            let offset = state.offset
            // Its stream begins with SELECT, as after a snapshot in redis-server.
            state.selectedDatabase = -1
            if !catchUp.isEmpty { append(catchUp, transaction: false, to: &state) }
            return offset
        }
    }

    /// Forgets `client` (its connection closed, or it fell behind).
    func detach(_ client: KVClientRef) {
        state.withLock { state in
            guard let index = state.replicas.firstIndex(where: { $0.client == client }) else { return }
            if state.replicas[index].isSyncing { syncing.subtract(1, ordering: .relaxed) }
            state.replicas.remove(at: index)
            attached.store(!state.replicas.isEmpty || state.backlog != nil, ordering: .relaxed)
        }
    }

    /// REPLCONF ACK: how far `client` has read.
    func acknowledge(_ client: KVClientRef, offset: Int64, nowMs: Int64) {
        state.withLock { state in
            guard let index = state.replicas.firstIndex(where: { $0.client == client }) else { return }
            state.replicas[index].acknowledgedOffset = offset
            state.replicas[index].acknowledgedAtMs = nowMs
        }
    }

    /// A new replication id (DEBUG CHANGE-REPL-ID).
    func changeID() {
        state.withLock { $0.replicationID = Self.randomID() }
    }

    /// The replicas, the offset and the id, for INFO and ROLE.
    var status: (replicas: [Replica], offset: Int64, id: [UInt8]) {
        state.withLock { state in
            let replicas = state.replicas.map { replica in
                var copy = replica
                copy.pending = []
                copy.written = []
                return copy
            }
            return (replicas, state.offset, state.replicationID)
        }
    }

    // MARK: feeding

    /// Appends encoded commands (RESP arrays, `commands` of them) to every
    /// replica's stream, SELECT 0 first where one is due; with
    /// `transaction`, between MULTI and EXEC.
    func feed(_ bytes: [UInt8], transaction: Bool = false) {
        state.withLock { state in
            guard !state.replicas.isEmpty || state.backlog != nil else { return }
            append(bytes, transaction: transaction, to: &state)
        }
    }

    /// `feed` with the lock held.
    private func append(_ bytes: [UInt8], transaction: Bool, to state: inout State) {
        // The common case, one command with its database selected: as it is.
        guard state.selectedDatabase != 0 || transaction else { return appendRaw(bytes, to: &state) }
        var out: [UInt8] = []
        if state.selectedDatabase != 0 {
            KVReplication.encode(["SELECT", "0"], into: &out)
            state.selectedDatabase = 0
        }
        if transaction { KVReplication.encode(["MULTI"], into: &out) }
        out += bytes
        if transaction { KVReplication.encode(["EXEC"], into: &out) }
        appendRaw(out, to: &state)
    }

    /// `out` onto every streaming replica's bytes, as it is (no SELECT).
    private func appendRaw(_ out: [UInt8], to state: inout State) {
        state.offset += Int64(out.count)
        publishedOffset.store(state.offset, ordering: .relaxed)
        state.backlog?.append(out)
        for index in state.replicas.indices where !state.replicas[index].isSyncing {
            state.replicas[index].pending += out
            waitingLoops.bitwiseOr(Self.bit(of: state.replicas[index].client.loop), ordering: .relaxed)
        }
    }

    /// DEL `key`: a key that expired (lazily or actively), fed at once, on
    /// its own, as redis-server propagates an expiry.
    func feedDeletion(of key: UnsafeRawBufferPointer) {
        var out: [UInt8] = []
        KVReplication.encodeDeletion(of: key, into: &out)
        feed(out)
    }

    /// A tick's work while the stream is kept: a PING when
    /// repl-ping-replica-period has passed since the last (the replicas'
    /// keepalive: redis-server's replicas give up on a silent primary after
    /// repl-timeout); the backlog dropped once no replica has been attached
    /// for longer than repl-backlog-ttl (with a new id, as redis-server:
    /// no replica may resume from a history no longer kept).
    func tick(nowMs: Int64) {
        let periodMs = Int64(pingPeriodSeconds.load(ordering: .relaxed)) * 1_000
        let (ttlMs, tooLong) = Int64(backlogTTLSeconds.load(ordering: .relaxed)).multipliedReportingOverflow(by: 1_000)
        let due = state.withLock { state -> Bool in
            guard !state.replicas.isEmpty else {
                let since = state.noReplicaSinceMs ?? nowMs
                state.noReplicaSinceMs = since
                if ttlMs > 0 && !tooLong && nowMs - since > ttlMs && state.backlog != nil {
                    state.backlog = nil
                    state.replicationID = Self.randomID()
                    attached.store(false, ordering: .relaxed)
                }
                return false
            }
            guard nowMs - state.lastPingMs >= periodMs else { return false }
            state.lastPingMs = nowMs
            return true
        }
        guard due else { return }
        var out: [UInt8] = []
        KVReplication.encode(["PING"], into: &out)
        // A PING selects nothing: it does not make SELECT due.
        state.withLock { appendRaw(out, to: &$0) }
    }

    // MARK: partial resynchronisation

    /// PSYNC `id` `offset` from `client`: when `id` is the stream's and the
    /// backlog still holds the stream from `offset` (the first byte the
    /// replica has not read) on, attaches it as a replica already in step
    /// and returns what it is to be sent (+CONTINUE, with the id to a
    /// replica `announcingID` psync2, then those bytes); nil when a full
    /// synchronisation is needed. With every shard locked by the caller,
    /// as `attach`.
    func resume(
        client: KVClientRef, id: Int, address: String, listeningPort: Int, from replicationID: UnsafeRawBufferPointer,
        offset: Int64, announcingID: Bool, nowMs: Int64
    ) -> [UInt8]? {
        state.withLock { state in
            // As redis-server compares ids: without regard to case.
            let asked = replicationID.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
            // "?" asks for a full synchronisation: no refusal counted.
            let forced = asked.first == UInt8(ascii: "?")
            guard !forced, asked == state.replicationID, let backlog = state.backlog,
                offset >= state.offset - Int64(backlog.count) + 1, offset <= state.offset + 1
            else {
                if !forced { state.refusedPartialSyncs += 1 }
                return nil
            }
            state.replicas.removeAll { $0.client == client }
            if state.replicas.isEmpty { state.lastPingMs = nowMs }
            state.replicas.append(
                Replica(
                    client: client, id: id, address: address, listeningPort: listeningPort,
                    acknowledgedAtMs: nowMs, isSyncing: false))
            state.noReplicaSinceMs = nil
            state.partialSyncs += 1
            attached.store(true, ordering: .relaxed)
            // The replica has the database it had selected: no SELECT.
            var out = announcingID ? Array("+CONTINUE ".utf8) + state.replicationID : Array("+CONTINUE".utf8)
            out += [13, 10]
            out += backlog.suffix(Int(state.offset + 1 - offset))
            return out
        }
    }

    /// CONFIG SET repl-backlog-size (raised to redis-server's minimum):
    /// a backlog kept keeps its newest bytes that fit.
    func setBacklogSize(_ bytes: Int) {
        state.withLock { state in
            state.backlogSize = max(bytes, Self.minimumBacklogBytes)
            state.backlog = state.backlog?.resized(to: state.backlogSize)
        }
    }

    /// The backlog's size (CONFIG GET) and, while kept, how many bytes it
    /// holds and the offset of the first (INFO); the synchronisations
    /// counted (INFO stats).
    var backlogStatus: (size: Int, held: Int?, firstOffset: Int64, offset: Int64, full: Int, partial: Int, refused: Int)
    {
        state.withLock { state in
            let held = state.backlog?.count
            return (
                state.backlogSize, held, state.offset - Int64(held ?? 0) + 1, state.offset, state.fullSyncs,
                state.partialSyncs, state.refusedPartialSyncs
            )
        }
    }

    // MARK: WAIT

    /// The stream's offset, read without the lock: after each command a
    /// client's WAIT target (redis-server's woff).
    var currentOffset: Int64 { publishedOffset.load(ordering: .relaxed) }

    /// Replicas past their snapshot that acknowledged `offset` or more.
    func acknowledgedCount(atLeast offset: Int64) -> Int {
        acknowledgedOffsets().reduce(0) { $0 + ($1 >= offset ? 1 : 0) }
    }

    /// The offsets the replicas past their snapshot acknowledged.
    func acknowledgedOffsets() -> [Int64] {
        state.withLock { state in state.replicas.filter { !$0.isSyncing }.map(\.acknowledgedOffset) }
    }

    /// A WAIT blocked: every replica is asked for its offset (REPLCONF
    /// GETACK *) when the stream is next drained, once however many asked.
    func requestAcknowledgements() {
        acknowledgementsRequested.store(true, ordering: .relaxed)
    }

    /// REPLCONF GETACK * into the stream, if a WAIT asked since the last.
    func sendAcknowledgementRequest() {
        guard acknowledgementsRequested.load(ordering: .relaxed),
            acknowledgementsRequested.exchange(false, ordering: .relaxed)
        else { return }
        var out: [UInt8] = []
        KVReplication.encode(["REPLCONF", "GETACK", "*"], into: &out)
        state.withLock { state in
            guard !state.replicas.isEmpty else { return }
            appendRaw(out, to: &state)
        }
    }

    /// Hands the stream bytes waiting for this loop's replicas to `write`
    /// (false: the connection is gone or too far behind; the replica is
    /// detached and `write`'s caller closes it). A replica not `ready` (its
    /// snapshot still going out) keeps its bytes, up to the limit, past
    /// which it is `dropped` (detached, for the caller to close). Written
    /// outside the lock (a write may close a connection, which detaches):
    /// only this loop writes to its replicas, so their bytes stay in order.
    /// A loop with no replica waiting takes no lock (one relaxed load).
    func drain(
        loop: UInt32, ready: (KVClientRef) -> Bool, dropped: (KVClientRef) -> Void,
        write: (KVClientRef, [UInt8]) -> Bool
    ) {
        guard waitingLoops.load(ordering: .relaxed) & Self.bit(of: loop) != 0 else { return }
        var taken: [(KVClientRef, [UInt8])] = []
        var overflowed: [KVClientRef] = []
        state.withLock { state in
            var stillWaiting = false
            for index in state.replicas.indices where !state.replicas[index].pending.isEmpty {
                let client = state.replicas[index].client
                guard client.loop == loop else { continue }
                guard ready(client) else {
                    if state.replicas[index].pending.count > Self.outputLimitBytes { overflowed.append(client) }
                    stillWaiting = true
                    continue
                }
                taken.append((client, state.replicas[index].pending))
                state.replicas[index].pending = []
            }
            if !stillWaiting { waitingLoops.bitwiseAnd(~Self.bit(of: loop), ordering: .relaxed) }
        }
        for client in overflowed {
            detach(client)
            dropped(client)
        }
        for (client, bytes) in taken where !write(client, bytes) { detach(client) }
    }

    /// A loop's bit in `waitingLoops` (loops past 63 share the last).
    static func bit(of loop: UInt32) -> UInt64 {
        UInt64(1) << UInt64(min(loop, 63))
    }

    // MARK: encoding

    /// `arguments` as a RESP array of bulk strings.
    static func encode(_ arguments: [StaticString], into out: inout [UInt8]) {
        encodeHeader(arguments.count, into: &out)
        for argument in arguments {
            encodeBulk(UnsafeRawBufferPointer(start: argument.utf8Start, count: argument.utf8CodeUnitCount), into: &out)
        }
    }

    /// DEL `key`: how an expiry, and a key gone by catch-up time, reach a replica.
    static func encodeDeletion(of key: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        encodeHeader(2, into: &out)
        encodeBulk(KVKeyCommands.bytes("DEL"), into: &out)
        encodeBulk(key, into: &out)
    }

    static func encodeHeader(_ count: Int, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "*"))
        appendDecimal(count, to: &out)
        out.append(13)
        out.append(10)
    }

    static func encodeBulk(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "$"))
        appendDecimal(bytes.count, to: &out)
        out.append(13)
        out.append(10)
        out.append(contentsOf: bytes)
        out.append(13)
        out.append(10)
    }

    /// `value` (≥ 0) in decimal digits, without making a String: the
    /// stream encodes every write while it is kept.
    private static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        precondition(value >= 0, "a negative length \(value)")
        // Most are one digit: argument counts, short keys and values.
        if value < 10 { return out.append(UInt8(truncatingIfNeeded: 48 + value)) }
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(truncatingIfNeeded: 48 + rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
