// KVHandler: keel-kv's ConnectionHandler: each RESP command runs against the
// shared store, and every 100 ms (as redis-server's cron, hz 10) a tick of
// active expiry examines a bounded number of keys.

import Keel

/// Serves keel-kv's commands on one loop.
public struct KVHandler: ConnectionHandler, Sendable {
    var commands: KVCommands
    var memoryReturn = KVMemoryReturn()

    /// A handler over `store` (shared by every loop's handler).
    public init(store: KVStore) {
        commands = KVCommands(store: store)
    }

    /// Active expiry runs ten times a second.
    public static var tickIntervalMs: Int? { 100 }

    /// Slots examined per tick (the work is bounded; lazy expiry keeps reads correct).
    public static let expiryBudget = 2_000

    /// One command.
    public mutating func messageReceived(_ command: RESPCommand, on connection: Connection) {
        if commands.execute(command, reply: connection.resp, connection: connection.id) == .close {
            connection.close()
        }
    }

    /// Gives the connection its session (a unique client id).
    public mutating func connectionOpened(_ connection: Connection) {
        commands.connectionOpened(connection.id)
    }

    /// Forgets the connection's session.
    public mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {
        commands.connectionClosed(id)
    }

    /// A tick of active expiry, then the memory of removed keys goes back
    /// to the system once removals pause (KVMemoryReturn).
    public mutating func tick() {
        _ = commands.store.expireSome(budget: Self.expiryBudget)
        var clock = KVClock()
        if memoryReturn.isDue(removals: commands.store.removals, nowMs: clock.nowMs) {
            HeapMemory.returnFreePages()
        }
    }
}
