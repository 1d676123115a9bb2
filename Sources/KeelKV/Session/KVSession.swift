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
    /// CLIENT ID: unique for the process's life.
    let id: Int
    let client: KVClientRef
    /// When the connection opened (Unix ms), for CLIENT LIST's age.
    let openedAtMs: Int64
    /// The peer's address, "ip:port", for CLIENT LIST and the logs.
    let address: String
    /// CLIENT SETNAME's name; nil when none is set.
    var name: [UInt8]?
    /// CLIENT SETINFO's library name and version.
    var libraryName: [UInt8]?
    var libraryVersion: [UInt8]?
    /// 2 or 3 (HELLO).
    var protocolVersion = 2
    /// Whether AUTH (or HELLO's AUTH) succeeded, or no password is required.
    var authenticated: Bool
    /// The last command's name and when it ran (CLIENT LIST's cmd, idle).
    var lastCommand: StaticString = "NULL"
    var lastCommandAtMs: Int64
    /// CLIENT NO-EVICT (accepted; keel-kv evicts nothing).
    var noEvict = false

    /// MULTI's queue, while a transaction is open.
    var transaction: KVTransaction?
    /// WATCH's keys and whether one was touched since.
    let watch: KVWatchToken
    var watchedKeys: [[UInt8]] = []

    /// SUBSCRIBE's channels and PSUBSCRIBE's patterns.
    var channels: Set<[UInt8]> = [] { didSet { updateSubscriber() } }
    var patterns: Set<[UInt8]> = [] { didSet { updateSubscriber() } }
    /// Whether the connection is in the subscriber context (read per
    /// command: a stored flag, not two set lookups).
    private(set) var isSubscriber = false

    private func updateSubscriber() {
        isSubscriber = !channels.isEmpty || !patterns.isEmpty
    }

    init(id: Int, client: KVClientRef, address: String, authenticated: Bool, nowMs: Int64) {
        self.id = id
        self.client = client
        self.address = address
        self.authenticated = authenticated
        openedAtMs = nowMs
        lastCommandAtMs = nowMs
        watch = KVWatchToken(client: client)
    }
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

    /// The session of `client` (which must be open on this loop).
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
