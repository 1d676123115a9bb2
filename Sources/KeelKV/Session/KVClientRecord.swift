// KVClientRecord: what other loops may read of a connection: CLIENT LIST
// and CLIENT KILL, INFO's client count, and pub/sub delivery (which needs
// the subscriber's protocol) run on any loop with --threads, while the
// session itself (KVSession) belongs to its own loop's thread. Fields that
// change are atomics (written by the owner, relaxed: a listing is a
// snapshot) or, for the rarely set names, under a mutex.
//
// KVClients: every open connection's record, by client id.

import Glibc
import KeelPosix
import Synchronization

/// One connection as other loops see it (see the file header).
final class KVClientRecord: Sendable {
    let id: Int
    let client: KVClientRef
    /// "ip:port" of the peer.
    let address: String
    /// "ip:port" of the server's end (CLIENT LIST's laddr), "?:0" unknown.
    let localAddress: String
    /// CLIENT KILL named it: until its connection has closed (on its own
    /// loop), it is listed nowhere, served no element it blocked for and
    /// sent no message, as redis-server forgets a killed client at once.
    let killed = Atomic(false)
    /// When the connection opened (Unix ms).
    let openedAtMs: Int64

    /// 2 or 3 (HELLO).
    let protocolVersion = Atomic<Int>(2)
    /// The C string of the last command's name (a static row name), or 0.
    let lastCommandName = Atomic<UInt>(0)
    /// When the last command ran (Unix ms, to the loop's tick).
    let lastCommandAtMs: Atomic<Int64>
    /// Subscriptions: channels, patterns and shard channels.
    let channelCount = Atomic<Int>(0)
    let patternCount = Atomic<Int>(0)
    let shardChannelCount = Atomic<Int>(0)
    /// Commands queued by MULTI, or -1 outside a transaction.
    let queuedCommands = Atomic<Int>(-1)
    /// CLIENT NO-EVICT.
    let noEvict = Atomic<Bool>(false)
    /// Whether it is a replica (SYNC or PSYNC): CLIENT LIST's S flag.
    let isReplica = Atomic<Bool>(false)
    /// Whether it is in MONITOR: CLIENT LIST's O flag.
    let isMonitor = Atomic<Bool>(false)
    /// Waiting in a blocking command.
    let blocked = Atomic<Bool>(false)
    /// That block's serial (KVBlocking.Waiter), so CLIENT UNBLOCK ends the
    /// block it saw and not a later one.
    let blockSerial = Atomic<Int>(0)
    /// CLIENT TRACKING's mode (KVTrackingMode bits): other loops read it
    /// when they invalidate a key it read.
    let trackingMode = Atomic<UInt32>(0)
    /// The client its invalidations go to (REDIRECT), or 0.
    let trackingRedirect = Atomic<Int>(0)

    var tracking: KVTrackingMode { KVTrackingMode(rawValue: trackingMode.load(ordering: .relaxed)) }

    /// Whether it is subscribed to anything (RESP2's subscriber context).
    var isSubscriber: Bool {
        channelCount.load(ordering: .relaxed) + patternCount.load(ordering: .relaxed)
            + shardChannelCount.load(ordering: .relaxed) > 0
    }

    private struct Names {
        var name: [UInt8]?
        var libraryName: [UInt8]?
        var libraryVersion: [UInt8]?
    }

    private let names = Locked(Names())

    init(id: Int, client: KVClientRef, address: String, localAddress: String = "?:0", nowMs: Int64) {
        self.id = id
        self.client = client
        self.address = address
        self.localAddress = localAddress
        openedAtMs = nowMs
        lastCommandAtMs = Atomic(nowMs)
    }

    /// CLIENT SETNAME's name; nil when none is set.
    var name: [UInt8]? {
        get { names.withLock { $0.name } }
        set { names.withLock { $0.name = newValue } }
    }

    /// CLIENT SETINFO's library name and version.
    var libraryName: [UInt8]? {
        get { names.withLock { $0.libraryName } }
        set { names.withLock { $0.libraryName = newValue } }
    }

    var libraryVersion: [UInt8]? {
        get { names.withLock { $0.libraryVersion } }
        set { names.withLock { $0.libraryVersion = newValue } }
    }

    /// Its subcommand's, or 0.
    let lastSubcommandName = Atomic<UInt>(0)

    /// Records the command being run (its row's name, and its
    /// subcommand's) and when.
    @inline(__always)
    func ran(_ name: StaticString, _ subcommand: StaticString?, atMs nowMs: Int64) {
        lastCommandName.store(UInt(bitPattern: name.utf8Start), ordering: .relaxed)
        lastSubcommandName.store(subcommand.map { UInt(bitPattern: $0.utf8Start) } ?? 0, ordering: .relaxed)
        lastCommandAtMs.store(nowMs, ordering: .relaxed)
    }

    /// The last command's name, "name|subcommand" for a subcommand
    /// ("NULL" before the first).
    var lastCommand: String {
        func text(_ bits: UInt) -> String? {
            guard let start = UnsafePointer<UInt8>(bitPattern: bits) else { return nil }
            return String(decoding: UnsafeBufferPointer(start: start, count: strlen(start)), as: UTF8.self)
        }
        guard let name = text(lastCommandName.load(ordering: .relaxed)) else { return "NULL" }
        guard let subcommand = text(lastSubcommandName.load(ordering: .relaxed)) else { return name }
        return name + "|" + subcommand
    }
}

/// Every open connection's record (see the file header).
final class KVClients: Sendable {
    private let records = Locked<[Int: KVClientRecord]>([:])
    /// Open connections (INFO's connected_clients).
    let count = Atomic<Int>(0)

    func add(_ record: KVClientRecord) {
        records.withLock { $0[record.id] = record }
        count.add(1, ordering: .relaxed)
    }

    func remove(_ record: KVClientRecord) {
        if records.withLock({ $0.removeValue(forKey: record.id) }) != nil { count.subtract(1, ordering: .relaxed) }
    }

    /// Every record, by ascending id (CLIENT LIST's order); not those
    /// killed whose connections are still closing.
    var all: [KVClientRecord] {
        records.withLock { Array($0.values) }.filter { !$0.killed.load(ordering: .relaxed) }.sorted { $0.id < $1.id }
    }

    /// The record of client `id`, if open.
    func record(id: Int) -> KVClientRecord? {
        records.withLock { $0[id] }
    }
}
