// RESPValidator: whether a reply's bytes are well-formed RESP, for the
// command fuzz test and the libFuzzer target (fuzz/KVCommandsFuzz.swift).

/// Whether bytes are exactly one RESP2 or RESP3 value (several for
/// replies that are several, such as SUBSCRIBE's: then all must parse).
enum RESPValidator {
    static func isOneValue(_ bytes: [UInt8]) -> Bool {
        var position = 0
        guard !bytes.isEmpty else { return false }
        while position < bytes.count {
            guard value(bytes, &position) else { return false }
        }
        return position == bytes.count
    }

    /// Whether bytes are what SYNC answers (or PSYNC, after its
    /// +FULLRESYNC line): "$<n>\r\n" and n bytes of an RDB file, no CRLF.
    static func isSnapshotReply(_ bytes: [UInt8]) -> Bool {
        var position = 0
        if bytes.starts(with: Array("+FULLRESYNC ".utf8)) {
            guard line(bytes, &position) != nil else { return false }
        }
        guard position < bytes.count, bytes[position] == UInt8(ascii: "$") else { return false }
        position += 1
        guard let text = line(bytes, &position), let length = Int(String(decoding: text, as: UTF8.self)) else {
            return false
        }
        return bytes.count - position == length && bytes[position...].starts(with: Array("REDIS0010".utf8))
    }

    private static func line(_ bytes: [UInt8], _ position: inout Int) -> [UInt8]? {
        var end = position
        while end + 1 < bytes.count && !(bytes[end] == 13 && bytes[end + 1] == 10) { end += 1 }
        guard end + 1 < bytes.count else { return nil }
        defer { position = end + 2 }
        return Array(bytes[position..<end])
    }

    private static func value(_ bytes: [UInt8], _ position: inout Int) -> Bool {
        guard position < bytes.count else { return false }
        let kind = bytes[position]
        position += 1
        guard let text = line(bytes, &position) else { return false }
        let number = Int(String(decoding: text, as: UTF8.self))
        switch kind {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ","), UInt8(ascii: "("), UInt8(ascii: "#"):
            return true
        case UInt8(ascii: ":"): return number != nil
        case UInt8(ascii: "_"): return text.isEmpty
        case UInt8(ascii: "$"), UInt8(ascii: "="):
            guard let length = number else { return false }
            if length < 0 { return length == -1 }
            guard position + length + 2 <= bytes.count else { return false }
            position += length + 2
            return bytes[position - 2] == 13 && bytes[position - 1] == 10
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
            guard let count = number else { return false }
            if count < 0 { return count == -1 && kind == UInt8(ascii: "*") }
            let items = kind == UInt8(ascii: "%") ? count * 2 : count
            for _ in 0..<items where !value(bytes, &position) { return false }
            return true
        default: return false
        }
    }
}
