// KVEntry: one key of the keyspace, as one block of memory. What each byte
// is for (a 14-byte key and a 16-byte value take 41 bytes, one 64-byte
// malloc chunk; redis-server spends a dict entry, an sds key, an object and
// an embedded string on the same key):
//
//   0   next           8 bytes   the next entry of its bucket (KVDict)
//   8   tag            1 byte    type (3 bits), encoding (2 bits), has an
//                                expiry, long key, long value
//   9   key length     1 byte    (4 bytes when the long-key bit is set),
//                                shifted left by one: bit 0 says whether
//                                the key was used since eviction last
//                                looked at it (the LRU policies' CLOCK)
//       expiry         8 bytes   Unix time in ms, only with the expiry bit
//       volatile slot  4 bytes   its index in the shard's list of keys with
//                                an expiry (KVExpiry), only with the bit
//       key            the bytes
//       value          string, raw: its length (1 byte, or 4 with the
//                      long-value bit) and bytes; string, integer: 8 bytes;
//                      a collection: a pointer to its object (8 bytes)
//
// Strings that read as integers in Redis's canonical form are stored as
// their 8-byte value (Redis's "int" encoding): INCR adds in place, GET
// writes the digits. An entry whose value changes size is reallocated; the
// dict's link to it and its volatile slot are updated by the shard.

import Glibc

/// What a key holds.
enum KVType: UInt8, Sendable {
    case string = 0
    case list = 1
    case hash = 2
    case set = 3
    case zset = 4

    /// The name TYPE answers with.
    var name: StaticString {
        switch self {
        case .string: "string"
        case .list: "list"
        case .hash: "hash"
        case .set: "set"
        case .zset: "zset"
        }
    }
}

/// How a value is held (the names OBJECT ENCODING answers with per type).
enum KVEncoding: UInt8, Sendable {
    /// Strings: the bytes. Collections: a compact pack (small ones).
    case compact = 0
    /// Strings: an 8-byte integer. Sets: an intset.
    case integer = 1
    /// Collections past the compact limits: a general structure.
    case general = 2
}

/// A key's entry (a view of its block; see the file header).
struct KVEntry {
    let pointer: UnsafeMutableRawPointer

    @inline(__always) init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }

    static let tagOffset = 8
    static let keyLengthOffset = 9

    private static let typeMask: UInt8 = 0b0000_0111
    private static let encodingShift: UInt8 = 3
    private static let encodingMask: UInt8 = 0b0001_1000
    private static let expiryBit: UInt8 = 0b0010_0000
    private static let longKeyBit: UInt8 = 0b0100_0000
    private static let longValueBit: UInt8 = 0b1000_0000

    @inline(__always) var tag: UInt8 { pointer.load(fromByteOffset: Self.tagOffset, as: UInt8.self) }

    var type: KVType { KVType(rawValue: tag & Self.typeMask).unsafelyUnwrapped }
    var encoding: KVEncoding { KVEncoding(rawValue: (tag & Self.encodingMask) >> Self.encodingShift).unsafelyUnwrapped }
    var hasExpiry: Bool { tag & Self.expiryBit != 0 }
    private var hasLongKey: Bool { tag & Self.longKeyBit != 0 }
    private var hasLongValue: Bool { tag & Self.longValueBit != 0 }

    /// Bytes of the key's length field.
    private var keyLengthBytes: Int { hasLongKey ? 4 : 1 }

    var keyLength: Int {
        hasLongKey
            ? Int(pointer.loadUnaligned(fromByteOffset: Self.keyLengthOffset, as: UInt32.self) >> 1)
            : Int(pointer.load(fromByteOffset: Self.keyLengthOffset, as: UInt8.self) >> 1)
    }

    /// The longest key whose length fits the short (one-byte) field.
    static let longestShortKey = 127

    /// Whether the key was used since eviction last looked at it (bit 0
    /// of the key-length field; see the file header).
    var wasUsed: Bool { pointer.load(fromByteOffset: Self.keyLengthOffset, as: UInt8.self) & 1 != 0 }

    /// Notes a use of the key (a store only when the bit was clear: a key
    /// read again and again does not dirty its cache line each time).
    @inline(__always)
    func markUsed() {
        let field = pointer.load(fromByteOffset: Self.keyLengthOffset, as: UInt8.self)
        if field & 1 == 0 { pointer.storeBytes(of: field | 1, toByteOffset: Self.keyLengthOffset, as: UInt8.self) }
    }

    /// Clears the use bit (eviction looked at the key: a second chance).
    func clearUsed() {
        let field = pointer.load(fromByteOffset: Self.keyLengthOffset, as: UInt8.self)
        pointer.storeBytes(of: field & ~1, toByteOffset: Self.keyLengthOffset, as: UInt8.self)
    }

    /// Where the expiry is (only meaningful when `hasExpiry`).
    private var expiryOffset: Int { Self.keyLengthOffset &+ keyLengthBytes }

    private var keyOffset: Int { expiryOffset &+ (hasExpiry ? 12 : 0) }

    /// The key, borrowed from the entry.
    var key: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: pointer + keyOffset, count: keyLength)
    }

    /// When the key expires (Unix ms), or nil.
    var expireAtMs: Int64? {
        hasExpiry ? pointer.loadUnaligned(fromByteOffset: expiryOffset, as: Int64.self) : nil
    }

    /// Changes the expiry of an entry that has one.
    func setExpireAtMs(_ milliseconds: Int64) {
        precondition(hasExpiry, "setting the expiry of an entry without one")
        pointer.storeBytes(of: milliseconds, toByteOffset: expiryOffset, as: Int64.self)
    }

    /// Its index in the shard's list of keys with an expiry.
    var volatileSlot: Int {
        get { Int(pointer.loadUnaligned(fromByteOffset: expiryOffset &+ 8, as: UInt32.self)) }
        nonmutating set {
            precondition(hasExpiry && newValue >= 0 && newValue <= Int(UInt32.max), "volatile slot \(newValue)")
            pointer.storeBytes(of: UInt32(newValue), toByteOffset: expiryOffset &+ 8, as: UInt32.self)
        }
    }

    /// Where the value starts.
    private var valueOffset: Int { keyOffset &+ keyLength }

    // MARK: strings

    /// A raw string's bytes, borrowed.
    var stringBytes: UnsafeRawBufferPointer {
        assert(type == .string && encoding == .compact)
        let offset = valueOffset
        if hasLongValue {
            let length = Int(pointer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            return UnsafeRawBufferPointer(start: pointer + (offset &+ 4), count: length)
        }
        let length = Int(pointer.load(fromByteOffset: offset, as: UInt8.self))
        return UnsafeRawBufferPointer(start: pointer + (offset &+ 1), count: length)
    }

    /// An integer string's value.
    var integer: Int64 {
        get {
            assert(type == .string && encoding == .integer)
            return pointer.loadUnaligned(fromByteOffset: valueOffset, as: Int64.self)
        }
        nonmutating set {
            assert(type == .string && encoding == .integer)
            pointer.storeBytes(of: newValue, toByteOffset: valueOffset, as: Int64.self)
        }
    }

    /// A collection's object.
    var object: UnsafeMutableRawPointer {
        get {
            assert(type != .string)
            return pointer.loadUnaligned(fromByteOffset: valueOffset, as: UnsafeMutableRawPointer.self)
        }
        nonmutating set {
            assert(type != .string)
            pointer.storeBytes(of: newValue, toByteOffset: valueOffset, as: UnsafeMutableRawPointer.self)
        }
    }

    /// Sets the encoding bits (a collection converted to another encoding).
    func setEncoding(_ encoding: KVEncoding) {
        let tag = (self.tag & ~Self.encodingMask) | (encoding.rawValue << Self.encodingShift)
        pointer.storeBytes(of: tag, toByteOffset: Self.tagOffset, as: UInt8.self)
    }

    /// Bytes the block takes (what was asked of malloc).
    var blockBytes: Int {
        switch (type, encoding) {
        case (.string, .compact): return valueOffset &+ (hasLongValue ? 4 : 1) &+ stringBytes.count
        default: return valueOffset &+ 8
        }
    }

    // MARK: making

    /// What a new entry holds.
    enum Value {
        /// String bytes (stored as an integer when they read as one).
        case string(UnsafeRawBufferPointer)
        /// A string known to be this integer.
        case integer(Int64)
        /// A collection's object, of this type and encoding.
        case object(UnsafeMutableRawPointer, KVType, KVEncoding)
    }

    /// A new entry for `key` with `value` (and an expiry when given; its
    /// volatile slot is set by the shard). Nil when malloc fails.
    static func make(key: UnsafeRawBufferPointer, value: Value, expireAtMs: Int64?) -> KVEntry? {
        // The length field keeps its lowest bit for the use bit.
        guard key.count <= Int(UInt32.max >> 1) else { return nil }
        let longKey = key.count > longestShortKey
        var type = KVType.string
        var encoding = KVEncoding.compact
        var valueBytes = 8
        var longValue = false
        var stringValue: UnsafeRawBufferPointer?
        var integerValue: Int64 = 0
        var objectValue: UnsafeMutableRawPointer?
        switch value {
        case .string(let bytes):
            if let number = KVInteger.canonical(bytes) {
                encoding = .integer
                integerValue = number
            } else {
                longValue = bytes.count > 255
                valueBytes = (longValue ? 4 : 1) &+ bytes.count
                stringValue = bytes
            }
        case .integer(let number):
            encoding = .integer
            integerValue = number
        case .object(let object, let objectType, let objectEncoding):
            precondition(objectType != .string, "a string is not an object")
            type = objectType
            encoding = objectEncoding
            objectValue = object
        }
        let keyLengthBytes = longKey ? 4 : 1
        let expiryBytes = expireAtMs == nil ? 0 : 12
        let size = keyLengthOffset &+ keyLengthBytes &+ expiryBytes &+ key.count &+ valueBytes
        guard let block = KVHeap.allocate(size) else { return nil }
        var tag = type.rawValue | (encoding.rawValue << encodingShift)
        if expireAtMs != nil { tag |= expiryBit }
        if longKey { tag |= longKeyBit }
        if longValue { tag |= longValueBit }
        block.storeBytes(of: nil as UnsafeMutableRawPointer?, as: UnsafeMutableRawPointer?.self)
        block.storeBytes(of: tag, toByteOffset: tagOffset, as: UInt8.self)
        // A new key starts unused: one written and never read again is what
        // a cache should give up first (SIEVE's insight; a cache-aside load
        // over a Zipf keyspace hit 0.846 of GETs this way, 0.837 when new keys
        // started used, both with uniform samples: bench/kv-cache.sh).
        // redis-server stamps a new object with the clock instead.
        if longKey {
            block.storeBytes(of: UInt32(key.count) << 1, toByteOffset: keyLengthOffset, as: UInt32.self)
        } else {
            block.storeBytes(of: UInt8(key.count) << 1, toByteOffset: keyLengthOffset, as: UInt8.self)
        }
        var offset = keyLengthOffset &+ keyLengthBytes
        if let expireAtMs {
            block.storeBytes(of: expireAtMs, toByteOffset: offset, as: Int64.self)
            block.storeBytes(of: UInt32.max, toByteOffset: offset &+ 8, as: UInt32.self)
            offset &+= 12
        }
        if !key.isEmpty { (block + offset).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        offset &+= key.count
        if let stringValue {
            if longValue {
                block.storeBytes(of: UInt32(stringValue.count), toByteOffset: offset, as: UInt32.self)
                offset &+= 4
            } else {
                block.storeBytes(of: UInt8(stringValue.count), toByteOffset: offset, as: UInt8.self)
                offset &+= 1
            }
            if !stringValue.isEmpty {
                (block + offset).copyMemory(from: stringValue.baseAddress!, byteCount: stringValue.count)
            }
        } else if let objectValue {
            block.storeBytes(of: objectValue, toByteOffset: offset, as: UnsafeMutableRawPointer.self)
        } else {
            block.storeBytes(of: integerValue, toByteOffset: offset, as: Int64.self)
        }
        return KVEntry(block)
    }

    /// The same key and value with another expiry (nil: none), as a new
    /// block (its object, if any, is shared: free only this block after).
    /// Nil when malloc fails.
    func copy(withExpiry expireAtMs: Int64?) -> KVEntry? {
        let value: Value
        switch (type, encoding) {
        case (.string, .compact): value = .string(stringBytes)
        case (.string, _): value = .integer(integer)
        default: value = .object(object, type, encoding)
        }
        // A raw string that reads as an integer cannot occur (make stores it
        // as one), so the copy keeps the encoding.
        return KVEntry.make(key: key, value: value, expireAtMs: expireAtMs)
    }

    /// Frees the block (not the object: see KVObjects.release).
    func freeBlock() {
        KVHeap.release(pointer)
    }
}

/// The keyspace's entries: keys at their place in the block.
enum KVKeyLayout: KVEntryLayout {
    typealias ResizePause = KVPausableResizes

    @inline(__always)
    static func key(of entry: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        KVEntry(entry).key
    }
}
