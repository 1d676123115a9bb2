// The broadcast example: every message a client sends reaches every other
// client, on whichever loop (thread) it lives. Each send is an
// application-initiated write to another connection; a slow reader only
// fills its own output buffer (and is closed at the pending-output cap),
// so it never holds up the others.

import Keel

/// The connections of all loops, shared by their handlers.
public final class BroadcastRegistry: Sendable {
    private let members = Locked<[ConnectionID]>([])

    /// An empty registry.
    public init() {}

    /// Adds a connection.
    public func add(_ id: ConnectionID) {
        members.withLock { $0.append(id) }
    }

    /// Removes a connection (no effect if absent).
    public func remove(_ id: ConnectionID) {
        members.withLock { members in
            if let index = members.firstIndex(of: id) { members.swapAt(index, members.count - 1) }
            if members.last == id { members.removeLast() }
        }
    }

    /// Copies the members into `buffer` (reusing its storage).
    public func snapshot(into buffer: inout [ConnectionID]) {
        buffer.removeAll(keepingCapacity: true)
        members.withLock { buffer.append(contentsOf: $0) }
    }

    /// Connections registered.
    public var count: Int { members.withLock { $0.count } }
}

/// Relays each message to every other connection.
public struct BroadcastHandler: ConnectionHandler, Sendable {
    private let registry: BroadcastRegistry
    private var recipients: [ConnectionID] = []

    /// A handler that relays through `registry`, shared by all loops.
    public init(registry: BroadcastRegistry) {
        self.registry = registry
    }

    /// Registers the new connection.
    public mutating func connectionOpened(_ connection: Connection) {
        registry.add(connection.id)
    }

    /// Sends the message to every other registered connection.
    public mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        registry.snapshot(into: &recipients)
        for id in recipients where id != connection.id {
            connection.send(payload, to: id)
        }
    }

    /// Unregisters the connection.
    public mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {
        registry.remove(id)
    }
}
