// RESPScratch: a RESP decoder's working memory: the argument table commands
// point into, and the bytes of inline arguments once their quotes and escapes
// are resolved. Both grow with what requests actually contain (doubling),
// never from an announced count, and are reused for every request: nothing
// is allocated per request in steady state. A command is valid only during
// its handler call, before the next decode can move either buffer.
//
// Inline splitting follows redis-server's sdssplitargs exactly: arguments
// are separated by whitespace; "double quotes" take \n \r \t \b \a \\ \" and
// \xHH escapes; 'single quotes' take \' only; a closing quote must be
// followed by whitespace or the end; an unterminated quote, or a closing
// quote followed by anything else, is "unbalanced quotes". (A line holds no
// NUL: the decoder never finds the end of a line with one, as redis-server's
// strchr does not.)

/// A RESP decoder's argument table and inline bytes (one loop only).
@usableFromInline
final class RESPScratch {
    @exclusivity(unchecked) @usableFromInline var arguments: UnsafeMutablePointer<RESPArgument>
    @exclusivity(unchecked) @usableFromInline var argumentCapacity: Int
    @exclusivity(unchecked) @usableFromInline var inlineBytes: UnsafeMutableRawPointer
    @exclusivity(unchecked) @usableFromInline var inlineCapacity: Int

    @usableFromInline
    init(inlineBytes capacity: Int) {
        argumentCapacity = 16
        arguments = .allocate(capacity: argumentCapacity)
        inlineCapacity = 256
        inlineBytes = .allocate(byteCount: inlineCapacity, alignment: 16)
    }

    deinit {
        arguments.deallocate()
        inlineBytes.deallocate()
    }

    /// Records argument `index` (growing the table when it is full).
    @inlinable @inline(__always)
    func setArgument(_ index: Int, start: UnsafeRawPointer, count: Int) {
        if index >= argumentCapacity { growArguments(toHold: index + 1) }
        arguments[index] = RESPArgument(start: start, count: count)
    }

    @usableFromInline
    func growArguments(toHold count: Int) {
        var capacity = argumentCapacity
        while capacity < count { capacity *= 2 }
        let grown = UnsafeMutablePointer<RESPArgument>.allocate(capacity: capacity)
        grown.moveInitialize(from: arguments, count: argumentCapacity)
        arguments.deallocate()
        arguments = grown
        argumentCapacity = capacity
    }

    /// Splits an inline request line into the argument table (bytes copied,
    /// unescaped, into the inline scratch). Returns the argument count, or
    /// nil for unbalanced quotes.
    @usableFromInline
    func splitInline(_ line: UnsafeRawBufferPointer) -> Int? {
        if line.count > inlineCapacity {
            inlineBytes.deallocate()
            while inlineCapacity < line.count { inlineCapacity *= 2 }
            inlineBytes = .allocate(byteCount: inlineCapacity, alignment: 16)
        }
        let end = line.count
        let output = inlineBytes.assumingMemoryBound(to: UInt8.self)
        var written = 0
        var position = 0
        var count = 0
        func at(_ index: Int) -> UInt8 { index < end ? line[index] : 0 }
        while true {
            while position < end && Self.isSpace(line[position]) { position += 1 }
            if position >= end { return count }
            let start = written
            var inDoubleQuotes = false
            var inSingleQuotes = false
            var done = false
            while !done {
                let byte = at(position)
                let next = at(position + 1)
                if inDoubleQuotes {
                    if byte == 0x5C && next == 0x78, let high = Self.hexValue(at(position + 2)),
                        let low = Self.hexValue(at(position + 3))
                    {
                        output[written] = high << 4 | low
                        written += 1
                        position += 3
                    } else if byte == 0x5C && next != 0 {
                        position += 1
                        output[written] = Self.unescaped(next)
                        written += 1
                    } else if byte == 0x22 {
                        if next != 0 && !Self.isSpace(next) { return nil }
                        done = true
                    } else if byte == 0 {
                        return nil
                    } else {
                        output[written] = byte
                        written += 1
                    }
                } else if inSingleQuotes {
                    if byte == 0x5C && next == 0x27 {
                        position += 1
                        output[written] = 0x27
                        written += 1
                    } else if byte == 0x27 {
                        if next != 0 && !Self.isSpace(next) { return nil }
                        done = true
                    } else if byte == 0 {
                        return nil
                    } else {
                        output[written] = byte
                        written += 1
                    }
                } else {
                    switch byte {
                    case 0x20, 0x0A, 0x0D, 0x09, 0: done = true
                    case 0x22: inDoubleQuotes = true
                    case 0x27: inSingleQuotes = true
                    default:
                        output[written] = byte
                        written += 1
                    }
                }
                if at(position) != 0 { position += 1 }
            }
            setArgument(count, start: UnsafeRawPointer(output + start), count: written - start)
            count += 1
        }
    }

    /// C's isspace in the "C" locale.
    @inlinable
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    @usableFromInline
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    @usableFromInline
    static func unescaped(_ byte: UInt8) -> UInt8 {
        switch byte {
        case 0x6E: return 0x0A  // \n
        case 0x72: return 0x0D  // \r
        case 0x74: return 0x09  // \t
        case 0x62: return 0x08  // \b
        case 0x61: return 0x07  // \a
        default: return byte
        }
    }
}
