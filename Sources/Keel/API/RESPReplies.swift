// RESPReplies: RESP2 replies written straight into a connection's output,
// with no String or Array built per reply: type markers, lengths and numbers
// are formatted in a few bytes on the stack, payloads are copied once.
// Reach it from a handler as `connection.resp`. Each reply value written
// (array headers and elements included) counts as one message out.

extension Connection {
    /// RESP2 replies on this connection.
    @inlinable
    public var resp: RESPReplies { RESPReplies(connection: self) }
}

/// Writes RESP2 replies on one connection (valid during its callback).
public struct RESPReplies {
    @usableFromInline let connection: Connection

    @inlinable
    init(connection: Connection) {
        self.connection = connection
    }

    /// `+text\r\n`, e.g. `+OK`. `text` must not hold CR or LF.
    @inlinable
    public func simpleString(_ text: StaticString) {
        connection.countReply()
        line(0x2B, UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `+text\r\n` from bytes (CR and LF would break the reply; they are not checked).
    @inlinable
    public func simpleString(_ bytes: UnsafeRawBufferPointer) {
        connection.countReply()
        line(0x2B, bytes)
    }

    /// `-message\r\n`; `message` starts with the error's code, e.g.
    /// "ERR unknown command" or "WRONGTYPE Operation against a key ...".
    @inlinable
    public func error(_ message: StaticString) {
        connection.countReply()
        line(0x2D, UnsafeRawBufferPointer(start: message.utf8Start, count: message.utf8CodeUnitCount))
    }

    /// `-message\r\n` from a String (for messages that quote the request);
    /// CR and LF are replaced by spaces so the reply stays one line.
    public func error(_ message: String) {
        error(bytes: Array(message.utf8))
    }

    /// `-message\r\n` from bytes, written as they are (redis-server quotes
    /// a request's bytes unchanged) except CR and LF, which become spaces so
    /// the reply stays one line, as redis-server maps them.
    public func error(bytes message: [UInt8]) {
        connection.countReply()
        var bytes = message
        for index in bytes.indices where bytes[index] == 0x0D || bytes[index] == 0x0A { bytes[index] = 0x20 }
        bytes.withUnsafeBytes { line(0x2D, $0) }
    }

    /// `:value\r\n`.
    @inlinable
    public func integer(_ value: Int) {
        connection.countReply()
        header(0x3A, value)
    }

    /// `$length\r\nbytes\r\n`.
    @inlinable
    public func bulkString(_ bytes: UnsafeRawBufferPointer) {
        connection.countReply()
        header(0x24, bytes.count)
        connection.write(bytes)
        crlf()
    }

    /// `$length\r\nbytes\r\n`.
    @inlinable
    public func bulkString(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { bulkString($0) }
    }

    /// `$-1\r\n`: the null bulk string (a missing key).
    @inlinable
    public func null() {
        connection.countReply()
        header(0x24, -1)
    }

    /// `*-1\r\n`: the null array.
    @inlinable
    public func nullArray() {
        connection.countReply()
        header(0x2A, -1)
    }

    /// `*count\r\n`: an array follows, of `count` replies written next.
    @inlinable
    public func arrayHeader(_ count: Int) {
        connection.countReply()
        header(0x2A, count)
    }

    /// A marker, a number and CRLF, formatted on the stack, written at once.
    @inlinable
    func header(_ marker: UInt8, _ value: Int) {
        RESPEncoding.withHeader(marker, value) { _ = connection.write($0) }
    }

    @inlinable
    func line(_ marker: UInt8, _ text: UnsafeRawBufferPointer) {
        var markerByte = marker
        _ = withUnsafeBytes(of: &markerByte) { connection.write($0) }
        connection.write(text)
        crlf()
    }

    @inlinable
    func crlf() {
        var bytes: UInt16 = 0x0A0D
        _ = withUnsafeBytes(of: &bytes) { connection.write($0) }
    }
}
