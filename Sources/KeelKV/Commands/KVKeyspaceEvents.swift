// Keyspace notifications (notify-keyspace-events), as redis-server 7.0
// sends them: a command that changes a key announces what it did, on
// `__keyspace@0__:<key>` (the message is the event: "set", "lpush", "del",
// ...) with K, and on `__keyevent@0__:<event>` (the message is the key)
// with E, for the event classes asked for (g generic, $ strings, l lists,
// s sets, h hashes, z sorted sets, x expired, e evicted, n new keys; A for
// all but n and m). Subscribers get them as any PUBLISH, on any loop; they
// are not replicated (a replica's own commands announce its changes).
//
// Commands announce through their context, where they change the key. What
// the store removes by itself (an expiry found on access or by the active
// cycle, an eviction) is queued, and announced before the next command's
// own events or at the loop's next tick (within 4 ms), so a command costs
// nothing more for it. With --threads that order holds within a loop: an
// expiry another loop found may be announced after a later event of this
// one. With no class asked for, an announcement costs a load and a branch.

import KeelPosix
import KeelWire
import Synchronization

/// Event classes, with redis-server's bits.
struct KVEventClass: OptionSet, Sendable {
    let rawValue: Int
    init(rawValue: Int) { self.rawValue = rawValue }
    static let keyspace = KVEventClass(rawValue: 1 << 0)
    static let keyevent = KVEventClass(rawValue: 1 << 1)
    static let generic = KVEventClass(rawValue: 1 << 2)
    static let string = KVEventClass(rawValue: 1 << 3)
    static let list = KVEventClass(rawValue: 1 << 4)
    static let set = KVEventClass(rawValue: 1 << 5)
    static let hash = KVEventClass(rawValue: 1 << 6)
    static let zset = KVEventClass(rawValue: 1 << 7)
    static let expired = KVEventClass(rawValue: 1 << 8)
    static let evicted = KVEventClass(rawValue: 1 << 9)
    static let stream = KVEventClass(rawValue: 1 << 10)
    static let keyMiss = KVEventClass(rawValue: 1 << 11)
    static let module = KVEventClass(rawValue: 1 << 13)
    static let new = KVEventClass(rawValue: 1 << 14)
    /// 'A': every class but new keys and key misses.
    static let all: KVEventClass = [
        .generic, .string, .list, .set, .hash, .zset, .expired, .evicted, .stream, .module,
    ]

    private static let letters: [(Character, KVEventClass)] = [
        ("g", .generic), ("$", .string), ("l", .list), ("s", .set), ("h", .hash), ("z", .zset), ("x", .expired),
        ("e", .evicted), ("t", .stream), ("d", .module), ("n", .new),
    ]

    /// The classes `text` names (CONFIG SET), nil for a letter not known.
    init?(text: UnsafeRawBufferPointer) {
        var classes: KVEventClass = []
        for byte in text {
            switch Character(Unicode.Scalar(byte)) {
            case "A": classes.formUnion(.all)
            case "K": classes.insert(.keyspace)
            case "E": classes.insert(.keyevent)
            case "m": classes.insert(.keyMiss)
            case let letter:
                guard let found = Self.letters.first(where: { $0.0 == letter }) else { return nil }
                classes.formUnion(found.1)
            }
        }
        self = classes
    }

    /// As CONFIG GET shows them: "A" for all, else each letter in order,
    /// then K, E and m.
    var text: String {
        var text = ""
        if isSuperset(of: .all) {
            text = "A"
        } else {
            for (letter, flag) in Self.letters where contains(flag) { text.append(letter) }
        }
        if contains(.keyspace) { text += "K" }
        if contains(.keyevent) { text += "E" }
        if contains(.keyMiss) { text += "m" }
        return text
    }
}

/// What the store itself removed, waiting to be announced (see the file
/// header), and to be invalidated for tracking clients (KVTracking).
final class KVKeyspaceEvents: Sendable {
    /// The classes asked for (notify-keyspace-events), as raw bits.
    let classes = Atomic<Int>(0)
    /// Events queued by the store, not yet announced.
    let pending = Atomic<Int>(0)
    private let queued = Locked<[(kind: KVEventClass, event: StaticString, key: [UInt8])]>([])
    /// Whose readers hear of expiries and evictions too.
    let tracking: KVTracking

    init(tracking: KVTracking = KVTracking()) {
        self.tracking = tracking
    }

    @inline(__always)
    func isOn(_ kind: KVEventClass) -> Bool {
        classes.load(ordering: .relaxed) & kind.rawValue != 0
    }

    /// Queues an expiry's or an eviction's event (when its class is on, or
    /// clients track keys).
    func queue(_ kind: KVEventClass, _ event: StaticString, _ key: UnsafeRawBufferPointer) {
        guard isOn(kind) || tracking.isActive else { return }
        queued.withLock { $0.append((kind, event, Array(key))) }
        pending.add(1, ordering: .relaxed)
    }

    /// Takes what is queued.
    func take() -> [(kind: KVEventClass, event: StaticString, key: [UInt8])] {
        guard pending.load(ordering: .relaxed) > 0 else { return [] }
        return queued.withLock { events in
            defer { events.removeAll() }
            pending.subtract(events.count, ordering: .relaxed)
            return events
        }
    }
}

extension KVContext {
    /// Announces that the command did `event` to `key` (when its class is on).
    @inline(__always)
    func notify(_ kind: KVEventClass, _ event: StaticString, _ key: UnsafeRawBufferPointer) {
        guard store.events.isOn(kind) else { return }
        // What the store removed first (an expiry the command's lookup found).
        if store.events.pending.load(ordering: .relaxed) > 0 { announceQueuedEvents(current: session.record) }
        announce(event, key)
    }

    /// Announces a *STORE command's result at `key`: its event when it
    /// wrote a value, "del" when it only deleted what was there.
    func notifyStored(
        _ kind: KVEventClass, _ event: StaticString, _ key: UnsafeRawBufferPointer, wrote: Bool, existed: Bool
    ) {
        if wrote {
            notify(kind, event, key)
        } else if existed {
            notify(.generic, "del", key)
        }
    }

    /// Announces the events the store queued (and invalidates the keys for
    /// tracking clients); `current`: the client running a command, if any.
    func announceQueuedEvents(current: KVClientRecord?, deferred: Bool = true) {
        for (kind, event, key) in store.events.take() {
            key.withUnsafeBytes { key in
                if store.events.isOn(kind) { announce(event, key) }
                if tracking.isActive { invalidateTracked(key, byCommand: false, current: current, deferred: deferred) }
            }
        }
    }

    private func announce(_ event: StaticString, _ key: UnsafeRawBufferPointer) {
        let classes = KVEventClass(rawValue: store.events.classes.load(ordering: .relaxed))
        let name = UnsafeRawBufferPointer(start: event.utf8Start, count: event.utf8CodeUnitCount)
        if classes.contains(.keyspace) {
            let channel = Array("__keyspace@0__:".utf8) + Array(key)
            channel.withUnsafeBytes { KVPubSubCommands.deliver(channel: $0, message: name, self) }
        }
        if classes.contains(.keyevent) {
            let channel = Array("__keyevent@0__:".utf8) + Array(name)
            channel.withUnsafeBytes { KVPubSubCommands.deliver(channel: $0, message: key, self) }
        }
    }
}
