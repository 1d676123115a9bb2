// KVValue: what a key holds, and the entry the store keeps per key (the
// value and its expiry). Lists, sets and hashes live in final classes so a
// command changes them in place, without copy-on-write copies.

import DequeModule

/// What a key holds.
public enum KVValue {
    /// A binary-safe string.
    case string([UInt8])
    /// A list (LPUSH/RPUSH, LPOP/RPOP, LRANGE).
    case list(KVList)
    /// A set of distinct members.
    case set(KVSet)
    /// Field-value pairs.
    case hash(KVHash)
}

/// A list value.
public final class KVList {
    /// The elements, head first.
    public var items = Deque<[UInt8]>()
}

/// A set value.
public final class KVSet {
    /// The members.
    public var members = ByteTable<Void>()
}

/// A hash value.
public final class KVHash {
    /// Field to value.
    public var fields = ByteTable<[UInt8]>()
}

/// A key's value and expiry.
public struct KVEntry {
    /// The value.
    public var value: KVValue
    /// When the key expires, on the store's clock (milliseconds); 0: never.
    public var expireAtMs: Int64

    /// An entry without expiry.
    public init(_ value: KVValue, expireAtMs: Int64 = 0) {
        self.value = value
        self.expireAtMs = expireAtMs
    }
}
