// KVDumpFormat: DUMP's payload, a value in Redis's RDB encoding followed by
// the RDB version (2 bytes, little-endian) and a CRC-64 (Jones polynomial,
// reflected, as redis-server's crc64) of all before it, so payloads move
// between keel-kv and redis-server 7.0 both ways (RESTORE, MIGRATE-style
// copies by clients).
//
// Written: strings (integers of up to 32 bits in RDB's integer encoding),
// lists (RDB_TYPE_LIST), sets (RDB_TYPE_SET), hashes (RDB_TYPE_HASH) and
// sorted sets (RDB_TYPE_ZSET_2, binary scores): the plain types every
// redis-server loads. Read: those, zsets with text scores, and what
// redis-server 7.0 writes for small values: intsets, listpacks (hashes,
// sorted sets), quicklists of listpacks, and LZF-compressed strings (up to
// proto-max-bulk-len expanded). The ziplist encodings of payloads older
// servers (6.x, RDB 9) wrote are refused as bad data; newer RDB versions
// (7.2's 11) by their version, as redis-server 7.0 refuses them.

/// A value as a dump holds it.
enum KVDumpedValue: Equatable {
    case string([UInt8])
    case list([[UInt8]])
    case set([[UInt8]])
    case hash([[UInt8]])  // field, value, field, value...
    case zset([([UInt8], Double)])

    static func == (lhs: KVDumpedValue, rhs: KVDumpedValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): return a == b
        case (.list(let a), .list(let b)), (.set(let a), .set(let b)), (.hash(let a), .hash(let b)): return a == b
        case (.zset(let a), .zset(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1.bitPattern == $1.1.bitPattern }
        default: return false
        }
    }
}

enum KVDumpFormat {
    /// redis-server 7.0's RDB version: the newest a payload may carry.
    static let version: UInt16 = 10

    /// RDB's object types (redis-server's RDB_TYPE_*) this reads.
    private enum RDBType: UInt8 {
        case string = 0
        case list = 1
        case set = 2
        case zset = 3
        case hash = 4
        case zset2 = 5
        case intset = 11
        case quicklist = 14
        case hashListpack = 16
        case zsetListpack = 17
        case quicklist2 = 18
    }

    // MARK: writing

    /// The payload DUMP answers for `value`.
    static func payload(_ value: KVDumpedValue) -> [UInt8] {
        var out: [UInt8] = [typeByte(of: value)]
        writeBody(of: value, to: &out)
        out.append(UInt8(truncatingIfNeeded: version))
        out.append(UInt8(truncatingIfNeeded: version >> 8))
        let crc = crc64(out)
        withUnsafeBytes(of: crc.littleEndian) { out.append(contentsOf: $0) }
        return out
    }

    /// The RDB object type `value` is written as (a payload's first byte,
    /// and a snapshot's before each key).
    static func typeByte(of value: KVDumpedValue) -> UInt8 {
        switch value {
        case .string: return RDBType.string.rawValue
        case .list: return RDBType.list.rawValue
        case .set: return RDBType.set.rawValue
        case .hash: return RDBType.hash.rawValue
        case .zset: return RDBType.zset2.rawValue
        }
    }

    /// `value` in RDB's encoding of its type, without the type byte.
    static func writeBody(of value: KVDumpedValue, to out: inout [UInt8]) {
        switch value {
        case .string(let bytes):
            writeString(bytes, to: &out)
        case .list(let elements), .set(let elements):
            writeLength(elements.count, to: &out)
            for element in elements { writeString(element, to: &out) }
        case .hash(let fieldsAndValues):
            writeLength(fieldsAndValues.count / 2, to: &out)
            for bytes in fieldsAndValues { writeString(bytes, to: &out) }
        case .zset(let members):
            writeLength(members.count, to: &out)
            for (member, score) in members {
                writeString(member, to: &out)
                withUnsafeBytes(of: score.bitPattern.littleEndian) { out.append(contentsOf: $0) }
            }
        }
    }

    /// RDB's length: 6 bits, 14 bits, or a 32- or 64-bit big-endian number.
    static func writeLength(_ length: Int, to out: inout [UInt8]) {
        if length < 1 << 6 {
            out.append(UInt8(length))
        } else if length < 1 << 14 {
            out.append(0x40 | UInt8(length >> 8))
            out.append(UInt8(truncatingIfNeeded: length))
        } else if length <= Int(UInt32.max) {
            out.append(0x80)
            withUnsafeBytes(of: UInt32(length).bigEndian) { out.append(contentsOf: $0) }
        } else {
            out.append(0x81)
            withUnsafeBytes(of: UInt64(length).bigEndian) { out.append(contentsOf: $0) }
        }
    }

    /// An RDB string: integers of up to 32 bits as RDB's integers (as
    /// redis-server writes them), the rest as length and bytes.
    static func writeString(_ bytes: [UInt8], to out: inout [UInt8]) {
        bytes.withUnsafeBytes { writeString($0, to: &out) }
    }

    /// An RDB string, from bytes in place.
    static func writeString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        if bytes.count <= 11, let value = KVInteger.canonical(bytes) {
            if value >= Int64(Int8.min) && value <= Int64(Int8.max) {
                out.append(0xC0)
                out.append(UInt8(bitPattern: Int8(value)))
                return
            }
            if value >= Int64(Int16.min) && value <= Int64(Int16.max) {
                out.append(0xC1)
                withUnsafeBytes(of: Int16(value).littleEndian) { out.append(contentsOf: $0) }
                return
            }
            if value >= Int64(Int32.min) && value <= Int64(Int32.max) {
                out.append(0xC2)
                withUnsafeBytes(of: Int32(value).littleEndian) { out.append(contentsOf: $0) }
                return
            }
        }
        writeLength(bytes.count, to: &out)
        out.append(contentsOf: bytes)
    }

    // MARK: reading

    /// Whether `payload` ends with a version this server reads and a CRC
    /// that matches (redis-server's verifyDumpPayload).
    static func isIntact(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard payload.count >= 10 else { return false }
        let footer = payload.count - 10
        let version = UInt16(payload[footer]) | UInt16(payload[footer + 1]) << 8
        guard version <= Self.version else { return false }
        var stored: UInt64 = 0
        for index in 0..<8 { stored |= UInt64(payload[footer + 2 + index]) << (8 * UInt64(index)) }
        return crc64(UnsafeRawBufferPointer(rebasing: payload[..<(footer + 2)])) == stored
    }

    /// The value in an intact payload; nil when its body is not one
    /// (redis-server's "Bad data format"), or when a compressed string
    /// would expand past `maxStringBytes` (a payload of a few bytes may
    /// announce gigabytes).
    static func value(of payload: UnsafeRawBufferPointer, maxStringBytes: Int = 512 << 20) -> KVDumpedValue? {
        var reader = Reader(
            bytes: UnsafeRawBufferPointer(rebasing: payload[..<(payload.count - 10)]), maxStringBytes: maxStringBytes)
        guard let type = reader.byte().flatMap(RDBType.init(rawValue:)) else { return nil }
        let value: KVDumpedValue?
        switch type {
        case .string: value = reader.string().map { .string($0) }
        case .list:
            let count = reader.length()
            value = reader.strings(count: count).map { .list($0) }
        case .set:
            let count = reader.length()
            value = reader.strings(count: count).map { .set($0) }
        case .hash:
            let count = reader.length().map { $0 * 2 }
            value = reader.strings(count: count).map { .hash($0) }
        case .zset, .zset2: value = reader.zset(binaryScores: type == .zset2)
        case .intset: value = reader.string().flatMap(Self.intset).map { .set($0) }
        case .hashListpack:
            value = reader.string().flatMap(Self.listpack).flatMap { $0.count % 2 == 0 ? .hash($0) : nil }
        case .zsetListpack: value = reader.string().flatMap(Self.listpack).flatMap(Self.zsetPairs)
        case .quicklist2: value = reader.quicklist()
        case .quicklist: value = nil
        }
        // Bytes after the value are ignored, as redis-server ignores them.
        guard let value, isWellFormed(value) else { return nil }
        return value
    }

    /// What redis-server refuses to load: an empty collection, a member or
    /// field twice.
    private static func isWellFormed(_ value: KVDumpedValue) -> Bool {
        switch value {
        case .string: return true
        case .list(let elements): return !elements.isEmpty
        case .set(let members): return !members.isEmpty && Set(members).count == members.count
        case .hash(let pairs):
            let fields = stride(from: 0, to: pairs.count, by: 2).map { pairs[$0] }
            return !fields.isEmpty && Set(fields).count == fields.count
        case .zset(let pairs): return !pairs.isEmpty && Set(pairs.map(\.0)).count == pairs.count
        }
    }

    /// A listpack's members and their scores as text.
    private static func zsetPairs(_ elements: [[UInt8]]) -> KVDumpedValue? {
        guard elements.count % 2 == 0 else { return nil }
        var pairs: [([UInt8], Double)] = []
        for index in stride(from: 0, to: elements.count, by: 2) {
            guard let score = elements[index + 1].withUnsafeBytes({ KVDouble.parse($0) }) else { return nil }
            pairs.append((elements[index], score))
        }
        return .zset(pairs)
    }

    /// Reads RDB's parts from the front of a payload's body.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let maxStringBytes: Int
        var offset = 0

        var isAtEnd: Bool { offset == bytes.count }

        mutating func byte() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func take(_ count: Int) -> [UInt8]? {
            guard count >= 0, count <= bytes.count - offset else { return nil }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        /// A length, or the special encoding (0xC0-0xC3) of a string.
        mutating func lengthOrEncoding() -> (length: Int, special: UInt8?)? {
            guard let first = byte() else { return nil }
            switch first >> 6 {
            case 0: return (Int(first & 0x3F), nil)
            case 1:
                guard let second = byte() else { return nil }
                return (Int(first & 0x3F) << 8 | Int(second), nil)
            case 2:
                let width = first == 0x80 ? 4 : first == 0x81 ? 8 : 0
                guard width > 0, let raw = take(width) else { return nil }
                let value = raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                guard value <= UInt64(Int32.max) * 4 else { return nil }
                return (Int(value), nil)
            default: return (0, first & 0x3F)
            }
        }

        mutating func length() -> Int? {
            guard let (length, special) = lengthOrEncoding(), special == nil else { return nil }
            return length
        }

        mutating func string() -> [UInt8]? {
            guard let (count, special) = lengthOrEncoding() else { return nil }
            guard let special else { return take(count) }
            switch special {
            case 0: return take(1).map { KVInteger.text(Int64(Int8(bitPattern: $0[0]))) }
            case 1: return take(2).map { KVInteger.text(Int64(Int16(bitPattern: UInt16($0[0]) | UInt16($0[1]) << 8))) }
            case 2:
                return take(4).map { raw in
                    let value = raw.enumerated().reduce(UInt32(0)) {
                        $0 | UInt32($1.element) << (8 * UInt32($1.offset))
                    }
                    return KVInteger.text(Int64(Int32(bitPattern: value)))
                }
            case 3:
                guard let compressed = length(), let expanded = length(), expanded <= maxStringBytes,
                    let data = take(compressed)
                else {
                    return nil
                }
                return KVDumpFormat.lzfExpand(data, to: expanded)
            default: return nil
            }
        }

        mutating func strings(count: Int?) -> [[UInt8]]? {
            guard let count else { return nil }
            var result: [[UInt8]] = []
            for _ in 0..<count {
                guard let element = string() else { return nil }
                result.append(element)
            }
            return result
        }

        mutating func zset(binaryScores: Bool) -> KVDumpedValue? {
            guard let count = length() else { return nil }
            var pairs: [([UInt8], Double)] = []
            for _ in 0..<count {
                guard let member = string() else { return nil }
                let score: Double
                if binaryScores {
                    guard let raw = take(8) else { return nil }
                    let bits = raw.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                    score = Double(bitPattern: bits)
                } else {
                    // A length byte, then the score as text (253-255: NaN, +inf, -inf).
                    guard let length = byte() else { return nil }
                    switch length {
                    case 253: return nil
                    case 254: score = .infinity
                    case 255: score = -.infinity
                    default:
                        guard let text = take(Int(length)), let parsed = text.withUnsafeBytes({ KVDouble.parse($0) })
                        else { return nil }
                        score = parsed
                    }
                }
                guard !score.isNaN else { return nil }
                pairs.append((member, score))
            }
            return .zset(pairs)
        }

        /// RDB_TYPE_LIST_QUICKLIST_2: nodes, each a listpack or one plain element.
        mutating func quicklist() -> KVDumpedValue? {
            guard let nodes = length() else { return nil }
            var elements: [[UInt8]] = []
            for _ in 0..<nodes {
                guard let container = length(), let data = string() else { return nil }
                switch container {
                case 1: elements.append(data)
                case 2:
                    guard let packed = KVDumpFormat.listpack(data), !packed.isEmpty else { return nil }
                    elements.append(contentsOf: packed)
                default: return nil
                }
            }
            return .list(elements)
        }
    }

    /// An intset's members as decimal text.
    private static func intset(_ blob: [UInt8]) -> [[UInt8]]? {
        guard blob.count >= 8 else { return nil }
        func little(_ at: Int, _ width: Int) -> UInt64 {
            (0..<width).reduce(UInt64(0)) { $0 | UInt64(blob[at + $1]) << (8 * UInt64($1)) }
        }
        let width = Int(little(0, 4))
        let count = Int(little(4, 4))
        guard width == 2 || width == 4 || width == 8, blob.count == 8 + width * count else { return nil }
        return (0..<count).map { index in
            let raw = little(8 + index * width, width)
            let value: Int64
            switch width {
            case 2: value = Int64(Int16(truncatingIfNeeded: raw))
            case 4: value = Int64(Int32(truncatingIfNeeded: raw))
            default: value = Int64(bitPattern: raw)
            }
            return KVInteger.text(value)
        }
    }

    /// A listpack's elements (integers as decimal text).
    static func listpack(_ blob: [UInt8]) -> [[UInt8]]? {
        guard blob.count >= 7, blob.last == 0xFF else { return nil }
        let total = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard total == blob.count else { return nil }
        var elements: [[UInt8]] = []
        var at = 6
        while at < blob.count - 1 {
            let first = blob[at]
            var header = 1
            var element: [UInt8]
            func integer(_ width: Int) -> [UInt8]? {
                guard at + 1 + width <= blob.count - 1 else { return nil }
                let raw = (0..<width).reduce(UInt64(0)) { $0 | UInt64(blob[at + 1 + $1]) << (8 * UInt64($1)) }
                let shift = UInt64(64 - 8 * width)
                return KVInteger.text(Int64(bitPattern: raw << shift) >> Int64(shift))
            }
            func text(from start: Int, count: Int) -> [UInt8]? {
                guard count >= 0, start + count <= blob.count - 1 else { return nil }
                return Array(blob[start..<(start + count)])
            }
            if first & 0x80 == 0 {
                element = KVInteger.text(Int64(first))
            } else if first & 0xC0 == 0x80 {
                let count = Int(first & 0x3F)
                guard let bytes = text(from: at + 1, count: count) else { return nil }
                element = bytes
                header += count
            } else if first & 0xE0 == 0xC0 {
                guard at + 1 < blob.count - 1 else { return nil }
                let raw = Int(first & 0x1F) << 8 | Int(blob[at + 1])
                element = KVInteger.text(Int64(raw >= 1 << 12 ? raw - (1 << 13) : raw))
                header = 2
            } else if first & 0xF0 == 0xE0 {
                guard at + 1 < blob.count - 1 else { return nil }
                let count = Int(first & 0x0F) << 8 | Int(blob[at + 1])
                guard let bytes = text(from: at + 2, count: count) else { return nil }
                element = bytes
                header = 2 + count
            } else {
                switch first {
                case 0xF0:
                    guard at + 5 <= blob.count - 1 else { return nil }
                    let count = (1...4).reduce(0) { $0 | Int(blob[at + $1]) << (8 * ($1 - 1)) }
                    guard let bytes = text(from: at + 5, count: count) else { return nil }
                    element = bytes
                    header = 5 + count
                case 0xF1, 0xF2, 0xF3, 0xF4:
                    let width = [2, 3, 4, 8][Int(first - 0xF1)]
                    guard let value = integer(width) else { return nil }
                    element = value
                    header = 1 + width
                default: return nil
                }
            }
            // The entry's length, stored again after it (1-5 bytes).
            let backlength =
                header <= 127 ? 1 : header < 16_383 ? 2 : header < 2_097_151 ? 3 : header < 268_435_455 ? 4 : 5
            at += header + backlength
            guard at <= blob.count - 1 else { return nil }
            elements.append(element)
        }
        let count = Int(blob[4]) | Int(blob[5]) << 8
        guard count == 65_535 || count == elements.count else { return nil }
        return elements
    }

    /// Expands LZF data (as redis-server's lzf_decompress) to exactly
    /// `length` bytes; nil when it does not.
    static func lzfExpand(_ data: [UInt8], to length: Int) -> [UInt8]? {
        var out: [UInt8] = []
        // LZF expands at most about 100 times: reserve no more than that.
        out.reserveCapacity(min(length, data.count &* 100))
        var at = 0
        while at < data.count {
            let control = Int(data[at])
            at += 1
            if control < 32 {
                let run = control + 1
                guard at + run <= data.count, out.count + run <= length else { return nil }
                out.append(contentsOf: data[at..<(at + run)])
                at += run
            } else {
                var run = control >> 5
                if run == 7 {
                    guard at < data.count else { return nil }
                    run += Int(data[at])
                    at += 1
                }
                guard at < data.count else { return nil }
                let back = ((control & 0x1F) << 8) + Int(data[at]) + 1
                at += 1
                run += 2
                guard back <= out.count, out.count + run <= length else { return nil }
                var from = out.count - back
                for _ in 0..<run {
                    out.append(out[from])
                    from += 1
                }
            }
        }
        return out.count == length ? out : nil
    }

    // MARK: CRC-64

    /// redis-server's crc64: the Jones polynomial, reflected, from 0.
    static func crc64(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { crc64($0) }
    }

    /// The CRC of `bytes`, or of what came before them (`continuing` that
    /// one's CRC) and them.
    static func crc64(_ bytes: UnsafeRawBufferPointer, continuing start: UInt64 = 0) -> UInt64 {
        var crc = start
        for byte in bytes { crc = crcTable[Int((crc ^ UInt64(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc
    }

    private static let crcTable: [UInt64] = (0..<256).map { index in
        var crc = UInt64(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 : crc >> 1 }
        return crc
    }
}
