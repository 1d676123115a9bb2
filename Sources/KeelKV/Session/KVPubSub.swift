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

    private struct State {
        var registry = KVPerKind<[[UInt8]: [Int: KVClientRecord]]>(repeating: [:])
        /// Per loop, messages for its subscribers published on other loops.
        var outboxes: [[Pending]]
        var outboxBytes: [Int]
    }

    /// A message for a subscriber of another loop than the publisher's.
    struct Pending {
        let client: KVClientRef
        let bytes: [UInt8]
    }

    /// A message bound for a subscriber, found by its subscription `kind` `name`.
    struct Delivery {
        let record: KVClientRecord
        let kind: Kind
        let name: [UInt8]
        let bytes: UnsafeRawBufferPointer
    }

    /// The most bytes queued for one loop: past it a message is not
    /// delivered (as Keel's mailbox refuses past its own limit).
    static let outboxLimit = 64 << 20

    private let state: Locked<State>

    init(loops: Int = 1) {
        let count = max(loops, 1)
        state = Locked(
            State(outboxes: Array(repeating: [], count: count), outboxBytes: Array(repeating: 0, count: count)))
    }

    /// Adds `record` to `name`'s subscribers.
    func subscribe(_ name: [UInt8], _ record: KVClientRecord, as kind: Kind) {
        state.withLock { $0.registry[kind][name, default: [:]][record.id] = record }
    }

    /// Takes `record` off `name`.
    func unsubscribe(_ name: [UInt8], _ record: KVClientRecord, as kind: Kind) {
        state.withLock { state in
            state.registry[kind][name]?[record.id] = nil
            if state.registry[kind][name]?.isEmpty == true { state.registry[kind][name] = nil }
        }
    }

    /// Who receives a message on `channel`: its subscribers, and each
    /// subscriber of each pattern that matches it (with the pattern).
    func receivers(of channel: UnsafeRawBufferPointer) -> (
        direct: [KVClientRecord], byPattern: [([UInt8], KVClientRecord)]
    ) {
        let key = Array(channel)
        return state.withLock { state in
            let direct = state.registry.channel[key].map { Array($0.values) } ?? []
            var byPattern: [([UInt8], KVClientRecord)] = []
            for (pattern, subscribers) in state.registry.pattern {
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
        return state.withLock { state in state.registry.shardChannel[key].map { Array($0.values) } ?? [] }
    }

    /// Channels (or shard channels) with at least one subscriber, those
    /// matching `pattern` when given.
    func activeChannels(matching pattern: UnsafeRawBufferPointer?, kind: Kind = .channel) -> [[UInt8]] {
        let names = state.withLock { Array($0.registry[kind].keys) }
        guard let pattern else { return names }
        return names.filter { name in name.withUnsafeBytes { KVGlob.matches(pattern, $0, ignoringCase: false) } }
    }

    /// Subscribers of `channel` (patterns not counted, as PUBSUB NUMSUB),
    /// or of shard channel `channel`.
    func subscriberCount(_ channel: UnsafeRawBufferPointer, kind: Kind = .channel) -> Int {
        let key = Array(channel)
        return state.withLock { $0.registry[kind][key]?.count ?? 0 }
    }

    /// Names of `kind` with at least one subscriber (PUBSUB NUMPAT for patterns).
    func count(of kind: Kind) -> Int { state.withLock { $0.registry[kind].count } }

    /// Patterns with at least one subscriber (PUBSUB NUMPAT).
    var patternCount: Int { count(of: .pattern) }

    /// Queues each delivery for its subscriber's loop if it still holds
    /// the subscription it was found by, checked under the registry's lock:
    /// a subscriber that has left, and then taken its loop's queue, gets
    /// nothing more. How many were queued, and the loops whose queue was
    /// empty (to be woken).
    func post(_ deliveries: [Delivery]) -> (queued: Int, wake: [UInt32]) {
        state.withLock { state in
            var queued = 0
            var wake: [UInt32] = []
            for delivery in deliveries {
                let loop = Int(delivery.record.client.loop)
                guard loop < state.outboxes.count,
                    state.registry[delivery.kind][delivery.name]?[delivery.record.id] != nil,
                    state.outboxBytes[loop] + delivery.bytes.count <= Self.outboxLimit
                else { continue }
                if state.outboxes[loop].isEmpty { wake.append(UInt32(loop)) }
                state.outboxes[loop].append(Pending(client: delivery.record.client, bytes: Array(delivery.bytes)))
                state.outboxBytes[loop] += delivery.bytes.count
                queued += 1
            }
            return (queued, wake)
        }
    }

    /// The messages queued for loop `loop`'s subscribers, in order.
    func take(loop: UInt32) -> [Pending] {
        state.withLock { state in
            guard Int(loop) < state.outboxes.count, !state.outboxes[Int(loop)].isEmpty else { return [] }
            defer {
                state.outboxes[Int(loop)] = []
                state.outboxBytes[Int(loop)] = 0
            }
            return state.outboxes[Int(loop)]
        }
    }
}
