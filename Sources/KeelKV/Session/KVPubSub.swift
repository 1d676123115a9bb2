// KVPubSub: who listens to which channel, pattern and shard channel, shared
// by every loop. Shard channels (SSUBSCRIBE, SPUBLISH) are a namespace of
// their own that patterns do not reach; without a cluster they are
// otherwise channels, as in redis-server.
// PUBLISH collects the receivers under the registry's lock, then writes the
// message to each of them outside it (on another loop through Keel's
// mailbox). A subscriber that stops reading is closed by Keel at its
// pending-output cap (redis-server's client-output-buffer-limit pubsub);
// the publisher and the other subscribers go on.

import KeelPosix
import Synchronization

/// Channels, patterns and shard channels and their subscribers (see the file header).
final class KVPubSub: Sendable {
    /// What a name is subscribed as.
    enum Kind {
        case channel, pattern, shardChannel
    }

    private let state = Locked(KVPerKind<[[UInt8]: [Int: KVClientRecord]]>(repeating: [:]))

    /// Adds `record` to `name`'s subscribers.
    func subscribe(_ name: [UInt8], _ record: KVClientRecord, as kind: Kind) {
        state.withLock { $0[kind][name, default: [:]][record.id] = record }
    }

    /// Takes `record` off `name`.
    func unsubscribe(_ name: [UInt8], _ record: KVClientRecord, as kind: Kind) {
        state.withLock { state in
            state[kind][name]?[record.id] = nil
            if state[kind][name]?.isEmpty == true { state[kind][name] = nil }
        }
    }

    /// Who receives a message on `channel`: its subscribers, and each
    /// subscriber of each pattern that matches it (with the pattern).
    func receivers(of channel: UnsafeRawBufferPointer) -> (
        direct: [KVClientRecord], byPattern: [([UInt8], KVClientRecord)]
    ) {
        let key = Array(channel)
        return state.withLock { state in
            let direct = state.channel[key].map { Array($0.values) } ?? []
            var byPattern: [([UInt8], KVClientRecord)] = []
            for (pattern, subscribers) in state.pattern {
                let matches = pattern.withUnsafeBytes { KVGlob.matches($0, channel, ignoringCase: false) }
                guard matches else { continue }
                for record in subscribers.values { byPattern.append((pattern, record)) }
            }
            return (direct, byPattern)
        }
    }

    /// Who receives a message on shard channel `channel` (SPUBLISH).
    func shardReceivers(of channel: UnsafeRawBufferPointer) -> [KVClientRecord] {
        let key = Array(channel)
        return state.withLock { state in state.shardChannel[key].map { Array($0.values) } ?? [] }
    }

    /// Channels (or shard channels) with at least one subscriber, those
    /// matching `pattern` when given.
    func activeChannels(matching pattern: UnsafeRawBufferPointer?, kind: Kind = .channel) -> [[UInt8]] {
        let names = state.withLock { Array($0[kind].keys) }
        guard let pattern else { return names }
        return names.filter { name in name.withUnsafeBytes { KVGlob.matches(pattern, $0, ignoringCase: false) } }
    }

    /// Subscribers of `channel` (patterns not counted, as PUBSUB NUMSUB),
    /// or of shard channel `channel`.
    func subscriberCount(_ channel: UnsafeRawBufferPointer, kind: Kind = .channel) -> Int {
        let key = Array(channel)
        return state.withLock { $0[kind][key]?.count ?? 0 }
    }

    /// Names of `kind` with at least one subscriber (PUBSUB NUMPAT for patterns).
    func count(of kind: Kind) -> Int { state.withLock { $0[kind].count } }

    /// Patterns with at least one subscriber (PUBSUB NUMPAT).
    var patternCount: Int { count(of: .pattern) }
}
