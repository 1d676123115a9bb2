// KVSession: what keel-kv keeps per connection: its client id and name, the
// protocol it chose (HELLO), whether it has authenticated, its transaction
// (MULTI's queue, WATCH), its subscriptions, and what it is blocked on.
// A class: the loop's sessions table holds it, and the store's watch and
// subscription registries reach it from other loops through its token.

import Synchronization

/// A connection as the store knows it: its loop, slot and the slot's
/// generation (Keel's ConnectionID, without naming Keel).
struct KVClientRef: Hashable, Sendable {
    let loop: UInt32
    let slot: UInt32
    let generation: UInt32
}

/// One connection's state (see the file header).
final class KVSession {
    /// What other loops may read (CLIENT LIST, pub/sub delivery).
    let record: KVClientRecord
    /// 2 or 3 (HELLO): read per command, kept here and mirrored in the record.
    var protocolVersion = 2 {
        didSet { record.protocolVersion.store(protocolVersion, ordering: .relaxed) }
    }
    /// Whether AUTH (or HELLO's AUTH) succeeded, or no password is required.
    var authenticated: Bool
    /// Whether Keel holds its requests to an unauthenticated client's limits
    /// (lifted by the loop once it authenticates).
    var requestsRestricted = false

    /// CLIENT REPLY's mode: whether this and the next replies are sent.
    var replyMode = KVReplyMode.on
    /// The mode the command it is held in began in (its reply comes later).
    var replyModeAtHold = KVReplyMode.on

    /// MULTI's queue, while a transaction is open.
    var transaction: KVTransaction? {
        didSet { record.queuedCommands.store(transaction?.count ?? -1, ordering: .relaxed) }
    }
    /// WATCH's keys and whether one was touched since.
    let watch: KVWatchToken
    var watchedKeys: Set<[UInt8]> = []

    /// SUBSCRIBE's channels, PSUBSCRIBE's patterns and SSUBSCRIBE's shard
    /// channels.
    var subscriptions = KVPerKind<Set<[UInt8]>>(repeating: []) {
        didSet {
            record.channelCount.store(subscriptions.channel.count, ordering: .relaxed)
            record.patternCount.store(subscriptions.pattern.count, ordering: .relaxed)
            record.shardChannelCount.store(subscriptions.shardChannel.count, ordering: .relaxed)
            isSubscriber =
                !subscriptions.channel.isEmpty || !subscriptions.pattern.isEmpty
                || !subscriptions.shardChannel.isEmpty
        }
    }
    /// The blocking command it waits in, and what it sent since.
    var blocked: KVBlockedCommand? {
        didSet {
            record.blockSerial.store(blocked?.block.waiter.serial ?? 0, ordering: .relaxed)
            record.blocked.store(blocked != nil, ordering: .relaxed)
            isHeld = blocked != nil || walk != nil || paused != nil
        }
    }
    /// The KEYS the loop walks for it, a slice per iteration.
    var walk: KVKeysWalk? {
        didSet { isHeld = blocked != nil || walk != nil || paused != nil }
    }
    /// The command CLIENT PAUSE holds back, and what it sent since.
    var paused: KVPausedCommand? {
        didSet { isHeld = blocked != nil || walk != nil || paused != nil }
    }
    /// Blocked, walking or paused: what it sends waits its turn (one
    /// stored flag, read per command).
    private(set) var isHeld = false

    /// Whether it is a replica (SYNC, PSYNC): it gets the replication
    /// stream, and no replies to what it sends (as redis-server's).
    var isReplica = false {
        didSet { record.isReplica.store(isReplica, ordering: .relaxed) }
    }
    /// Whether it is fed every command run (MONITOR).
    var isMonitor = false {
        didSet { record.isMonitor.store(isMonitor, ordering: .relaxed) }
    }
    /// The replication stream's offset after its last command, with
    /// replicas attached: what its WAIT waits for replicas to acknowledge.
    var writeOffset: Int64 = 0
    /// REPLCONF listening-port: the port its own server listens on.
    var replicaListeningPort = 0
    /// REPLCONF capa psync2: a resumed replica is told the stream's id.
    var replicaSpeaksPSync2 = false
    /// Its synchronisation, while its snapshot is being written, and when
    /// it was last sent a keepalive newline.
    var replicaSync: KVReplicaSync?
    var replicaKeepaliveMs: Int64 = 0
    /// The size of the snapshot it was sent (its output may hold that much
    /// beyond a replica's limit).
    var replicaSnapshotBytes = 0

    /// Whether the connection is in the subscriber context (read per
    /// command: a stored flag, not two set lookups).
    private(set) var isSubscriber = false

    init(
        id: Int, client: KVClientRef, address: String, localAddress: String = "?:0", authenticated: Bool,
        nowMs: Int64
    ) {
        record = KVClientRecord(id: id, client: client, address: address, localAddress: localAddress, nowMs: nowMs)
        self.authenticated = authenticated
        watch = KVWatchToken(client: client)
    }

    var id: Int { record.id }
    var client: KVClientRef { record.client }

    /// CLIENT SETNAME's name; nil when none is set.
    var name: [UInt8]? {
        get { record.name }
        set { record.name = newValue }
    }
}

/// A client's blocking command while it waits: the command (copied, to
/// run again when a key it waits on is written), its registration, and the
/// commands the client sent since, run in order once it is served.
struct KVBlockedCommand {
    let block: KVPendingBlock
    var command: KVCommandQueue
    var later = KVCommandQueue()
}

/// The sessions of one loop's connections, by slot: one index per command,
/// no hashing. A slot's session belongs to the connection of the slot's
/// current generation.
struct KVSessions {
    private var bySlot: [KVSession?] = []

    /// Begins the session of a newly opened connection.
    mutating func open(_ session: KVSession) {
        let slot = Int(session.client.slot)
        if slot >= bySlot.count { bySlot.append(contentsOf: repeatElement(nil, count: slot + 1 - bySlot.count)) }
        bySlot[slot] = session
    }

    /// Ends a closed connection's session; returns it.
    @discardableResult
    mutating func close(_ client: KVClientRef) -> KVSession? {
        let slot = Int(client.slot)
        guard slot < bySlot.count, let session = bySlot[slot], session.client == client else { return nil }
        bySlot[slot] = nil
        return session
    }

    /// The session of `client` (which must be open on this loop). Inlined:
    /// called per command, and as a call it retained the array around it.
    @inline(__always)
    subscript(_ client: KVClientRef) -> KVSession {
        let session = bySlot[Int(client.slot)]
        precondition(session?.client == client, "no session for \(client)")
        return session.unsafelyUnwrapped
    }

    /// The session of `client` if it is open on this loop.
    func session(of client: KVClientRef) -> KVSession? {
        let slot = Int(client.slot)
        guard slot < bySlot.count, let session = bySlot[slot], session.client == client else { return nil }
        return session
    }

    /// Every open session.
    var all: [KVSession] { bySlot.compactMap { $0 } }
}

/// Client ids, as redis-server hands them out: 1, 2, 3, ... in the order
/// connections open, across every loop, never reused while the process runs.
final class KVClientIDs: Sendable {
    private let last = Atomic<Int>(0)

    /// The next id.
    func next() -> Int {
        last.wrappingAdd(1, ordering: .relaxed).newValue
    }
}

/// CLIENT REPLY ON | OFF | SKIP: whether a client's replies are sent.
enum KVReplyMode {
    /// Every reply (the default, and CLIENT REPLY ON's).
    case on
    /// None, from CLIENT REPLY OFF's own until CLIENT REPLY ON.
    case off
    /// Set by CLIENT REPLY SKIP: its own reply, and the next command's, are dropped.
    case skipNext
    /// The command after CLIENT REPLY SKIP: its reply is dropped.
    case skipThis

    /// Whether the reply of a command that began in mode `before` and left
    /// this mode is dropped; the mode for the next command.
    func afterCommand(began before: KVReplyMode) -> (dropsReply: Bool, next: KVReplyMode) {
        switch self {
        case .off: (true, .off)
        case .skipNext: (true, .skipThis)
        case .skipThis: (before == .skipThis, before == .skipThis ? .on : .skipThis)
        case .on: (false, .on)
        }
    }
}
