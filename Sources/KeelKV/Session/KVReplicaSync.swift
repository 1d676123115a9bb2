// KVReplicaSync: a new replica brought up to date without stopping the
// loop, in phases, a slice of at most a millisecond per tick on the
// replica's own loop (all of it within SYNC itself when the dataset is
// small enough to finish in one slice):
// - walking: its snapshot (KVSnapshotWalk), shard by shard, the shards not
//   resizing meanwhile; every key written meanwhile is noted
//   (KVReplication.noteWritten);
// - catching up: each noted key as it is now, RESTORE ... REPLACE (ABSTTL
//   with its expiry) or DEL, until no key is left noted: then, under the
//   replication lock (no write falls between), the replica's stream
//   begins, held back until the snapshot is sent;
// - sending: PSYNC's +FULLRESYNC line (the stream's offset before the
//   catch-up), the snapshot as one bulk, a megabyte at a time as the
//   replica reads; then its stream, which begins with the catch-up
//   commands (fed to every replica, so all count the same bytes).
// A flush meanwhile empties what was noted and starts the snapshot again.
// Catching up that has gone on for 16 slices (writes on other loops keep
// noting keys) ends in one go with every shard locked; one that passes a
// replica's output limit closes the replica. Until its reply, the replica
// gets a newline a second (redis-server's keepalive while it prepares a
// snapshot), so it does not time out.
// Keys written during the walk reach the replica as values rather than as
// the commands that wrote them: the snapshot may hold a key before or after
// such a change, and a value, unlike a command, is right either way.

/// One replica's synchronisation (see the file header).
final class KVReplicaSync {
    private let walk: KVSnapshotWalk
    /// The replication id it is told.
    private let id: [UInt8]
    /// PSYNC (announce +FULLRESYNC) or SYNC.
    private let announcesResync: Bool

    private enum Phase {
        case walking
        case catchingUp
        case sending
    }
    private var phase = Phase.walking
    private var snapshot: [UInt8] = []
    /// Each noted key's command (its latest value), by key.
    private var catchUp: [[UInt8]: [UInt8]] = [:]
    private var catchUpBytes = 0
    /// Slices spent catching up: past `catchUpSlices`, the rest is done at
    /// once with every shard locked, so writes on other loops cannot keep
    /// it from ending.
    private var catchUpRounds = 0
    static let catchUpSlices = 16
    /// What is left to send: the pieces and where the next byte is.
    private var pieces: [[UInt8]] = []
    private var piece = 0
    private var sent = 0

    /// Noted keys taken per lock of the replication state.
    static let keysPerTake = 128
    /// The time a slice may take.
    static let sliceNanoseconds: Int64 = 1_000_000
    /// Bytes handed to the connection per write while sending, and the
    /// unwritten output below which the next goes.
    static let sendBytes = 1 << 20

    /// Begins: the shards stop resizing (every shard locked by the caller).
    init(_ context: KVContext, replicationID: [UInt8], announcesResync: Bool) {
        for shard in context.store.shards { shard.beginSnapshotWalk() }
        walk = KVSnapshotWalk(context.store, replicationID: replicationID, nowMs: context.nowMs)
        id = replicationID
        self.announcesResync = announcesResync
    }

    /// The size of the snapshot (the replica's output may hold that much
    /// beyond its limit).
    private(set) var snapshotBytes = 0

    /// Whether no byte of the reply (+FULLRESYNC and the snapshot) has gone
    /// out yet: until then the replica may be sent keepalive newlines.
    var awaitsReply: Bool { phase != .sending || (piece == 0 && sent == 0) }

    /// The replica's connection closed: the shards may resize again.
    func abandon(_ store: KVStore) {
        if phase == .walking { endWalk(store) }
        phase = .sending
        pieces = []
    }

    /// One slice: walking and catching up, then, through `write` (false
    /// when the connection is gone), sending while `room()` says the
    /// connection's unwritten output is small. True once all is sent.
    func step(
        _ context: KVContext, client: KVClientRef, nanoseconds: Int64 = sliceNanoseconds,
        room: () -> Bool = { true }, write: (UnsafeRawBufferPointer) -> Bool
    ) -> Bool {
        let store = context.store
        let deadline = KVMaintenance.monotonicNs() + nanoseconds
        context.resetClock()
        if phase != .sending && store.replication.takeFlush(client) {
            if phase == .catchingUp { store.withAllShards { for shard in store.shards { shard.beginSnapshotWalk() } } }
            phase = .walking
            walk.restart(store, nowMs: context.nowMs)
            catchUp = [:]
            catchUpBytes = 0
            catchUpRounds = 0
        }
        if phase == .walking {
            guard walk.step(context, until: deadline) else { return false }
            snapshot = walk.finish()
            snapshotBytes = snapshot.count
            endWalk(store)
            phase = .catchingUp
        }
        if phase == .catchingUp {
            catchUpRounds += 1
            let done =
                catchUpRounds > Self.catchUpSlices
                ? store.withAllShards { catchUpDone(context, client, until: .max) }
                : catchUpDone(context, client, until: deadline)
            guard done else { return false }
        }
        return send(room: room, write: write)
    }

    private func endWalk(_ store: KVStore) {
        for shard in store.shards { store.withShards(store.bit(of: shard)) { shard.endSnapshotWalk() } }
    }

    /// Whether the catch-up has outgrown a replica's limit (the replica is
    /// then closed: it may attach again).
    var isTooLarge: Bool { catchUpBytes > KVReplication.outputLimitBytes }

    /// Catches up until no key is left noted (the stream then begins) or
    /// the slice is over.
    private func catchUpDone(_ context: KVContext, _ client: KVClientRef, until deadline: Int64) -> Bool {
        let replication = context.store.replication
        while !isTooLarge {
            let keys = replication.takeWritten(client, limit: Self.keysPerTake)
            if keys.isEmpty {
                // Nil: written or flushed in between, on another loop.
                let commands = Array(catchUp.values.joined())
                guard let offset = replication.startStreaming(client, catchUp: commands) else { return false }
                var head: [UInt8] = []
                if announcesResync { head = Array("+FULLRESYNC ".utf8) + id + Array(" \(offset)\r\n".utf8) }
                head += Array("$\(snapshot.count)\r\n".utf8)
                pieces = [head, snapshot]
                snapshot = []
                catchUp = [:]
                phase = .sending
                return true
            }
            for key in keys { append(key, context) }
            if KVMaintenance.monotonicNs() >= deadline { return false }
        }
        return false
    }

    /// A megabyte at a time while there is room; true once all is sent.
    private func send(room: () -> Bool, write: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        while piece < pieces.count {
            guard room() else { return false }
            let bytes = pieces[piece]
            let end = min(bytes.count, sent + Self.sendBytes)
            let written = bytes.withUnsafeBytes { write(UnsafeRawBufferPointer(rebasing: $0[sent..<end])) }
            guard written else {
                pieces = []
                return true
            }
            sent = end
            if sent == bytes.count {
                pieces[piece] = []
                piece += 1
                sent = 0
            }
        }
        return true
    }

    /// A noted key as it is now: RESTORE, or DEL when it is gone (in place
    /// of what an earlier pass had for it).
    private func append(_ key: [UInt8], _ context: KVContext) {
        let store = context.store
        var command: [UInt8] = []
        key.withUnsafeBytes { key in
            let hash = ByteHash.hash(key)
            store.withShards(UInt64(1) << UInt64(store.shardIndex(for: hash))) {
                guard let found = context.find(key) else {
                    KVReplication.encodeDeletion(of: key, into: &command)
                    return
                }
                let payload = KVDumpFormat.payload(KVDumpCommands.value(of: found.entry, context))
                let expiry = found.entry.expireAtMs
                KVReplication.encodeHeader(expiry == nil ? 5 : 6, into: &command)
                KVReplication.encodeBulk(KVKeyCommands.bytes("RESTORE"), into: &command)
                KVReplication.encodeBulk(key, into: &command)
                Array(String(expiry ?? 0).utf8).withUnsafeBytes { KVReplication.encodeBulk($0, into: &command) }
                payload.withUnsafeBytes { KVReplication.encodeBulk($0, into: &command) }
                KVReplication.encodeBulk(KVKeyCommands.bytes("REPLACE"), into: &command)
                if expiry != nil { KVReplication.encodeBulk(KVKeyCommands.bytes("ABSTTL"), into: &command) }
            }
        }
        catchUpBytes += command.count - (catchUp[key]?.count ?? 0)
        catchUp[key] = command
    }
}
