// RESPEncoding: the bytes both directions of RESP share: a type marker, a
// decimal number and CRLF ("*3\r\n", "$5\r\n", ":42\r\n"), formatted in
// place with no String. Replies (RESPReplies) and requests
// (RESPRequestWriter) are both written with it.

/// RESP's header lines, formatted into raw memory.
public enum RESPEncoding {
    /// The most bytes `writeHeader` writes: a marker, a sign, 19 digits, CRLF.
    public static let maxHeaderBytes = 23

    /// Writes `marker`, `value` in decimal and CRLF at `destination`
    /// (`maxHeaderBytes` of room); returns how many bytes it wrote.
    @inlinable
    public static func writeHeader(_ marker: UInt8, _ value: Int, to destination: UnsafeMutableRawPointer) -> Int {
        destination.storeBytes(of: marker, as: UInt8.self)
        let digits = DecimalText.write(value, to: destination + 1)
        destination.storeBytes(of: 0x0D, toByteOffset: digits &+ 1, as: UInt8.self)
        destination.storeBytes(of: 0x0A, toByteOffset: digits &+ 2, as: UInt8.self)
        return digits &+ 3
    }

    /// Calls `body` with the header line for `marker` and `value`, formatted on the stack.
    @inlinable
    public static func withHeader<Result>(
        _ marker: UInt8, _ value: Int, _ body: (UnsafeRawBufferPointer) -> Result
    ) -> Result {
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { raw in
            let count = writeHeader(marker, value, to: raw.baseAddress!)
            return body(UnsafeRawBufferPointer(rebasing: raw[..<count]))
        }
    }
}

/// Writes Redis requests as clients send them: an array of bulk strings
/// (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`), which every Redis server accepts.
public enum RESPRequestWriter {
    /// Writes the request of `arguments` through `write` (called once per
    /// piece: headers, arguments, CRLFs).
    @inlinable
    public static func write(_ arguments: [UnsafeRawBufferPointer], to write: (UnsafeRawBufferPointer) -> Void) {
        RESPEncoding.withHeader(0x2A, arguments.count, write)
        for argument in arguments { writeBulk(argument, to: write) }
    }

    /// Writes one bulk string (`$length\r\nbytes\r\n`) through `write`.
    @inlinable
    public static func writeBulk(_ bytes: UnsafeRawBufferPointer, to write: (UnsafeRawBufferPointer) -> Void) {
        RESPEncoding.withHeader(0x24, bytes.count, write)
        write(bytes)
        var crlf: UInt16 = 0x0A0D
        withUnsafeBytes(of: &crlf, write)
    }

    /// The request of `words` (e.g. ["SET", "k", "v"]) as bytes.
    public static func encode(_ words: [String]) -> [UInt8] {
        encode(words.map { Array($0.utf8) })
    }

    /// The request of `arguments` as bytes.
    public static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        func append(_ piece: UnsafeRawBufferPointer) { bytes.append(contentsOf: piece) }
        RESPEncoding.withHeader(0x2A, arguments.count, append)
        for argument in arguments { argument.withUnsafeBytes { writeBulk($0, to: append) } }
        return bytes
    }
}
