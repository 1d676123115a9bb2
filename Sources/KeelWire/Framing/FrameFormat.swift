// FrameFormat: the length prefix in front of every message: its width (1, 2,
// 4 or 8 bytes) and byte order. The default, u32le, is the seeds' format;
// u32be is Netty/SwiftNIO LengthFieldPrepender's default and Kafka's framing.

/// The length-prefix layout of a message frame.
public struct FrameFormat: Sendable, Hashable, CustomStringConvertible {
    /// Byte order of the length field.
    public enum ByteOrder: Sendable, Hashable {
        case littleEndian, bigEndian
    }

    /// Width of the length field in bytes: 1, 2, 4 or 8.
    public let headerBytes: Int
    /// Byte order of the length field (irrelevant for 1 byte).
    public let byteOrder: ByteOrder
    /// The largest payload length this header can announce (stored: it is
    /// checked on every send).
    public let largestLength: UInt64

    private init(headerBytes: Int, byteOrder: ByteOrder) {
        self.headerBytes = headerBytes
        self.byteOrder = byteOrder
        largestLength = headerBytes == 8 ? UInt64.max : (UInt64(1) << UInt64(headerBytes * 8)) - 1
    }

    /// 1-byte length.
    public static let u8 = FrameFormat(headerBytes: 1, byteOrder: .littleEndian)
    /// 2-byte little-endian length.
    public static let u16le = FrameFormat(headerBytes: 2, byteOrder: .littleEndian)
    /// 2-byte big-endian length.
    public static let u16be = FrameFormat(headerBytes: 2, byteOrder: .bigEndian)
    /// 4-byte little-endian length (the default; the seeds' format).
    public static let u32le = FrameFormat(headerBytes: 4, byteOrder: .littleEndian)
    /// 4-byte big-endian length (Netty/SwiftNIO and Kafka framing).
    public static let u32be = FrameFormat(headerBytes: 4, byteOrder: .bigEndian)
    /// 8-byte little-endian length.
    public static let u64le = FrameFormat(headerBytes: 8, byteOrder: .littleEndian)
    /// 8-byte big-endian length.
    public static let u64be = FrameFormat(headerBytes: 8, byteOrder: .bigEndian)

    /// Every supported format, in the order the CLI lists them.
    public static let all: [FrameFormat] = [.u8, .u16le, .u16be, .u32le, .u32be, .u64le, .u64be]

    /// Parses a name such as "u32le"; nil for an unknown name.
    public init?(name: String) {
        guard let format = FrameFormat.all.first(where: { $0.name == name }) else { return nil }
        self = format
    }

    /// The format's name: "u8", "u16le", ..., "u64be".
    public var name: String {
        if headerBytes == 1 { return "u8" }
        return "u\(headerBytes * 8)" + (byteOrder == .littleEndian ? "le" : "be")
    }

    /// The format's name.
    public var description: String { name }

    /// Reads the announced payload length from `headerBytes` bytes at `source`.
    @inlinable @inline(__always)
    public func decodeLength(_ source: UnsafeRawPointer) -> UInt64 {
        switch headerBytes {
        case 4:
            let raw = source.loadUnaligned(as: UInt32.self)
            return UInt64(byteOrder == .littleEndian ? UInt32(littleEndian: raw) : UInt32(bigEndian: raw))
        case 1:
            return UInt64(source.load(as: UInt8.self))
        case 2:
            let raw = source.loadUnaligned(as: UInt16.self)
            return UInt64(byteOrder == .littleEndian ? UInt16(littleEndian: raw) : UInt16(bigEndian: raw))
        default:
            let raw = source.loadUnaligned(as: UInt64.self)
            return byteOrder == .littleEndian ? UInt64(littleEndian: raw) : UInt64(bigEndian: raw)
        }
    }

    /// Writes the header announcing `length` into `headerBytes` bytes at
    /// `destination`. `length` must be at most `largestLength`.
    @inlinable @inline(__always)
    public func encodeLength(_ length: Int, into destination: UnsafeMutableRawPointer) {
        assert(length >= 0 && UInt64(length) <= largestLength, "length \(length) does not fit \(name)")
        switch headerBytes {
        case 4:
            let value = UInt32(truncatingIfNeeded: length)
            destination.storeBytes(
                of: byteOrder == .littleEndian ? value.littleEndian : value.bigEndian, as: UInt32.self)
        case 1:
            destination.storeBytes(of: UInt8(truncatingIfNeeded: length), as: UInt8.self)
        case 2:
            let value = UInt16(truncatingIfNeeded: length)
            destination.storeBytes(
                of: byteOrder == .littleEndian ? value.littleEndian : value.bigEndian, as: UInt16.self)
        default:
            let value = UInt64(length)
            destination.storeBytes(
                of: byteOrder == .littleEndian ? value.littleEndian : value.bigEndian, as: UInt64.self)
        }
    }
}
