// KVSessions: what keel-kv keeps per connection on one loop (its client id
// and name), found by the connection's slot in an array that grows with the
// highest slot seen: one index per command, no hashing, nothing allocated per
// connection beyond a name it sets. A slot's entry belongs to the connection
// of the slot's current generation; a connection's entry is made when it
// opens and dropped when it closes.

import Keel
import Synchronization

/// One connection's state.
struct KVSession {
    /// CLIENT ID: unique for the process's life (see KVClientIDs).
    let id: Int
    /// The slot's generation when the session began.
    let generation: UInt32
    /// CLIENT SETNAME's name; nil when none is set.
    var name: [UInt8]?
}

/// The sessions of one loop's connections, by slot.
struct KVSessions {
    private var bySlot: [KVSession?] = []

    /// Begins the session of a newly opened connection.
    mutating func open(_ connection: ConnectionID, id: Int) {
        let slot = Int(connection.slot)
        if slot >= bySlot.count { bySlot.append(contentsOf: repeatElement(nil, count: slot + 1 - bySlot.count)) }
        bySlot[slot] = KVSession(id: id, generation: connection.generation)
    }

    /// Ends a closed connection's session.
    mutating func close(_ connection: ConnectionID) {
        let slot = Int(connection.slot)
        guard slot < bySlot.count, bySlot[slot]?.generation == connection.generation else { return }
        bySlot[slot] = nil
    }

    /// The session of `connection` (which must be open on this loop).
    subscript(_ connection: ConnectionID) -> KVSession {
        get {
            let session = bySlot[Int(connection.slot)]
            precondition(session?.generation == connection.generation, "no session for \(connection)")
            return session.unsafelyUnwrapped
        }
        set {
            precondition(
                bySlot[Int(connection.slot)]?.generation == connection.generation, "no session for \(connection)")
            bySlot[Int(connection.slot)] = newValue
        }
    }
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
