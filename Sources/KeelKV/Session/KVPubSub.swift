// KVPubSub: who listens to which channel and pattern, shared by every loop.
// PUBLISH collects the receivers under the registry's lock, then writes the
// message to each of them outside it (on another loop through Keel's
// mailbox). A subscriber that stops reading is closed by Keel at its
// pending-output cap (redis-server's client-output-buffer-limit pubsub);
// the publisher and the other subscribers go on.

import KeelPosix
import Synchronization

/// Channels and patterns and their subscribers (see the file header).
final class KVPubSub: Sendable {
    private struct State {
        var channels: [[UInt8]: [Int: KVClientRecord]] = [:]
        var patterns: [[UInt8]: [Int: KVClientRecord]] = [:]
    }

    private let state = Locked(State())

    /// Adds `record` to `channel` (or to `pattern` when `isPattern`).
    func subscribe(_ name: [UInt8], _ record: KVClientRecord, isPattern: Bool) {
        state.withLock { state in
            if isPattern {
                state.patterns[name, default: [:]][record.id] = record
            } else {
                state.channels[name, default: [:]][record.id] = record
            }
        }
    }

    /// Takes `record` off `name`.
    func unsubscribe(_ name: [UInt8], _ record: KVClientRecord, isPattern: Bool) {
        state.withLock { state in
            if isPattern {
                state.patterns[name]?[record.id] = nil
                if state.patterns[name]?.isEmpty == true { state.patterns[name] = nil }
            } else {
                state.channels[name]?[record.id] = nil
                if state.channels[name]?.isEmpty == true { state.channels[name] = nil }
            }
        }
    }

    /// Who receives a message on `channel`: its subscribers, and each
    /// subscriber of each pattern that matches it (with the pattern).
    func receivers(of channel: UnsafeRawBufferPointer) -> (
        direct: [KVClientRecord], byPattern: [([UInt8], KVClientRecord)]
    ) {
        let key = Array(channel)
        return state.withLock { state in
            let direct = state.channels[key].map { Array($0.values) } ?? []
            var byPattern: [([UInt8], KVClientRecord)] = []
            for (pattern, subscribers) in state.patterns {
                let matches = pattern.withUnsafeBytes { KVGlob.matches($0, channel, ignoringCase: false) }
                guard matches else { continue }
                for record in subscribers.values { byPattern.append((pattern, record)) }
            }
            return (direct, byPattern)
        }
    }

    /// Channels with at least one subscriber, those matching `pattern` when given.
    func activeChannels(matching pattern: UnsafeRawBufferPointer?) -> [[UInt8]] {
        let names = state.withLock { Array($0.channels.keys) }
        guard let pattern else { return names }
        return names.filter { name in name.withUnsafeBytes { KVGlob.matches(pattern, $0, ignoringCase: false) } }
    }

    /// Subscribers of `channel` (patterns not counted, as PUBSUB NUMSUB).
    func subscriberCount(_ channel: UnsafeRawBufferPointer) -> Int {
        let key = Array(channel)
        return state.withLock { $0.channels[key]?.count ?? 0 }
    }

    /// Patterns with at least one subscriber (PUBSUB NUMPAT).
    var patternCount: Int { state.withLock { $0.patterns.count } }
}
