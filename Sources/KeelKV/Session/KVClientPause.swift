// KVClientPause: CLIENT PAUSE's state, shared by every loop: what is
// paused (commands that write, or every command) and until when. It lives
// in one atomic word, the end (Unix ms) shifted left two bits over the
// kind, 0 when nothing was paused, so a command's check while no pause was
// ever asked for is one load of a word no one writes.
//
// As redis-server's, a pause asked while one lasts keeps the stricter kind
// and the later end; the store stands still while it lasts: no key is
// expired (a read finds an expired key missing and leaves it in place) and
// none evicted, so a replica promoted meanwhile holds what the clients saw.

import Synchronization

/// CLIENT PAUSE's kind and end, shared by the loops (see the file header).
final class KVClientPause: Sendable {
    /// What a pause holds back, least to most.
    enum Kind: Int64, Comparable {
        case none = 0
        /// Commands that write, or may be replicated (PUBLISH, FCALL).
        case write = 1
        /// Every command of every client but replicas.
        case all = 2

        static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// `end << 2 | kind`, or 0.
    private let word = Atomic<Int64>(0)
    /// Clients whose command waits for the pause to end (counted in INFO's
    /// blocked_clients, as redis-server counts them).
    let postponed = Atomic<Int>(0)

    /// Whether a pause may be on: false (one load) while none was asked
    /// since the last ended and was cleared.
    @inline(__always)
    var mayBeOn: Bool { word.load(ordering: .relaxed) != 0 }

    /// Whether a pause is on at `nowMs` (the store then stands still).
    @inline(__always)
    func isOn(nowMs: Int64) -> Bool {
        mayBeOn && kind(nowMs: nowMs) != .none
    }

    /// What is paused at `nowMs`.
    func kind(nowMs: Int64) -> Kind {
        let value = word.load(ordering: .acquiring)
        guard value != 0, value >> 2 > nowMs else { return .none }
        return Kind(rawValue: value & 3) ?? .none
    }

    /// Pauses `kind` until `untilMs` (a pause on already keeps the stricter
    /// kind and the later end). An end not after `nowMs` pauses nothing.
    func pause(_ kind: Kind, untilMs: Int64, nowMs: Int64) {
        precondition(kind != .none && untilMs >= 0 && untilMs < Int64.max >> 2, "a pause's kind and end")
        var current = word.load(ordering: .relaxed)
        while true {
            var end = untilMs
            var strictest = kind
            if current != 0 && current >> 2 > nowMs {
                end = max(end, current >> 2)
                strictest = max(strictest, Kind(rawValue: current & 3) ?? .none)
            }
            guard end > nowMs else { return }
            let (exchanged, seen) = word.compareExchange(
                expected: current, desired: end << 2 | strictest.rawValue, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = seen
        }
    }

    /// Ends the pause (CLIENT UNPAUSE); whether one was set.
    @discardableResult
    func unpause() -> Bool {
        word.exchange(0, ordering: .acquiringAndReleasing) != 0
    }

    /// Clears a pause that has ended, so commands stop looking at it.
    func clearIfEnded(nowMs: Int64) {
        let value = word.load(ordering: .relaxed)
        guard value != 0, value >> 2 <= nowMs else { return }
        _ = word.compareExchange(expected: value, desired: 0, ordering: .acquiringAndReleasing)
    }
}

/// A client whose command waits for a pause to end: the command (copied,
/// run again then) and what it sent since, run after it in order.
struct KVPausedCommand {
    var command: KVCommandQueue
    /// The kind of pause that held it: it goes on once the pause is less.
    let heldUnder: KVClientPause.Kind
    var later = KVCommandQueue()
}
