// KVHandler: keel-kv's ConnectionHandler, and the only file of the command
// layer that names Keel. Each loop has one: its sessions (one per
// connection), a context and an executor reused for every command, and its
// share of the store's background work. A command's reply is built in the
// context's buffer (under the shard locks, with --threads) and handed to
// the connection in one write after the command returns.

import Keel
import KeelWire

/// Serves keel-kv's commands on one loop (see the file header).
public struct KVHandler: ConnectionHandler {
    private let loop: KVLoop

    /// A handler over `store` (shared by every loop's handler).
    public init(store: KVStore) {
        loop = KVLoop(store: store)
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
    public mutating func tick() {
        loop.tick()
    }
}

/// One loop's state: a class, because the command layer calls back into it
/// (KVServices) while a command runs.
final class KVLoop: KVServices {
    let store: KVStore
    let context: KVContext
    let executor: KVExecutor
    var sessions = KVSessions()
    var maintenance = KVMaintenance()
    var memoryReturn = KVMemoryReturn()

    init(store: KVStore) {
        self.store = store
        // The context's services are this loop; it is set once built.
        context = KVContext(store: store, services: KVNoServices.shared)
        executor = KVExecutor(context: context)
        context.services = self
    }

    @inline(__always)
    func execute(_ command: RESPCommand, on connection: Connection) {
        let session = sessions[Self.client(connection.id)]
        executor.execute(command, session: session)
        let reply = context.reply
        if reply.count > 0 { connection.write(reply.bytes) }
        reply.reset()
        if context.closeAfterReply {
            context.closeAfterReply = false
            connection.close()
        }
    }

    func open(_ connection: Connection) {
        store.counters.connectionsReceived.add(1, ordering: .relaxed)
        let session = KVSession(
            id: store.clientIDs.next(), client: Self.client(connection.id),
            address: connection.clientAddress?.description ?? "?:0",
            authenticated: !store.settings.requiresPassword, nowMs: store.clock.nowMs)
        sessions.open(session)
    }

    func close(_ id: ConnectionID) {
        guard let session = sessions.close(Self.client(id)) else { return }
        store.watches.unwatch(session.watchedKeys, session.watch)
        session.watchedKeys = []
        session.transaction = nil
        unsubscribeAll(session)
    }

    func tick() {
        maintenance.run(on: store)
        if memoryReturn.isDue(removals: store.removals, nowMs: store.clock.nowMs) {
            HeapMemory.returnFreePages()
        }
    }

    static func client(_ id: ConnectionID) -> KVClientRef {
        KVClientRef(loop: id.loop, slot: id.slot, generation: id.generation)
    }

    // MARK: KVServices

    func keyTouched(_ key: UnsafeRawBufferPointer) {}

    func authenticationFailed(_ session: KVSession) {
        store.counters.authFailures.add(1, ordering: .relaxed)
    }

    func unsubscribeAll(_ session: KVSession) {
        session.channels = []
        session.patterns = []
    }
}

/// Services for a context before its loop is built.
final class KVNoServices: KVServices, Sendable {
    static let shared = KVNoServices()
    func keyTouched(_ key: UnsafeRawBufferPointer) {}
    func authenticationFailed(_ session: KVSession) {}
    func unsubscribeAll(_ session: KVSession) {}
}
