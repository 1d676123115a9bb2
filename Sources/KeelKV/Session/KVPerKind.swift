// KVPerKind: one value for each kind of subscription (channels, patterns,
// shard channels), reached by the kind: the registry's subscriber tables
// (KVPubSub) and a session's own subscriptions (KVSession) are both one.

/// A value per KVPubSub.Kind.
struct KVPerKind<Value> {
    var channel: Value
    var pattern: Value
    var shardChannel: Value

    init(repeating value: Value) {
        channel = value
        pattern = value
        shardChannel = value
    }

    subscript(kind: KVPubSub.Kind) -> Value {
        get {
            switch kind {
            case .channel: return channel
            case .pattern: return pattern
            case .shardChannel: return shardChannel
            }
        }
        _modify {
            switch kind {
            case .channel: yield &channel
            case .pattern: yield &pattern
            case .shardChannel: yield &shardChannel
            }
        }
    }
}

extension KVPerKind: Sendable where Value: Sendable {}
