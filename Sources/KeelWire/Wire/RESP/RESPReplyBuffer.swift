// RESPReplyBuffer: replies written into a growable buffer of one's own, in
// the protocol version a client chose (HELLO): RESP2, or RESP3 with its
// maps, sets, doubles, booleans, pushes and its one null. A server that
// builds a reply while holding locks writes it here and hands the bytes to
// the connection after letting go; keel-kv writes every reply this way.
//
// How each kind is written in each version (as redis-server writes it):
//
//   kind        RESP2                         RESP3
//   null        $-1 (or *-1 for arrays)        _
//   map         *<2n>, then key, value, ...    %<n>
//   set         *<n>                           ~<n>
//   double      $<len> "%.17g" text            ,<text>
//   boolean     :1 / :0                        #t / #f
//   push        *<n>                           ><n>
//   verbatim    $<len> text                    =<len+4> txt:text
//
// The buffer keeps its capacity between replies (reset), so a loop reuses
// one buffer and allocates nothing per reply in steady state; one that grew
// for a huge reply gives the memory back when it is reset.

/// A growable buffer of RESP replies (see the file header).
public final class RESPReplyBuffer {
    /// The protocol version replies are written in: 2 or 3.
    public var protocolVersion: Int {
        get { version }
        set { version = newValue }
    }
    // Stored properties stay internal, read through accessors: another
    // module's direct access to a public stored property of a class checks
    // exclusivity at run time, whatever the property's attribute says.
    @exclusivity(unchecked) private var version: Int

    @exclusivity(unchecked) private var storage: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var capacity: Int
    /// Bytes written since the last reset.
    public var count: Int { used }
    @exclusivity(unchecked) private var used = 0

    /// Called with each error reply's message (its code first) as it is
    /// written: a server counts its errors here (INFO's errorstats). Only
    /// the error path looks at it.
    public var errorObserver: ((UnsafeRawBufferPointer) -> Void)? {
        get { observer }
        set { observer = newValue }
    }
    @exclusivity(unchecked) private var observer: ((UnsafeRawBufferPointer) -> Void)?

    /// Capacity kept across resets; a buffer that grew past it shrinks back.
    public static let retainedCapacity = 64 << 10

    /// An empty buffer for protocol `version`.
    public init(protocolVersion: Int = 2) {
        version = protocolVersion
        capacity = 4096
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        storage.deallocate()
    }

    /// Whether replies are written in RESP3.
    public var isRESP3: Bool { version >= 3 }

    /// The bytes written since the last reset (valid until the next write).
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage, count: used)
    }

    /// Forgets what was written (and a large capacity).
    public func reset() {
        used = 0
        if capacity > Self.retainedCapacity {
            storage.deallocate()
            capacity = Self.retainedCapacity
            storage = .allocate(byteCount: capacity, alignment: 16)
        }
    }

    /// Drops what was written after `mark` (a count read earlier).
    public func truncate(to mark: Int) {
        precondition(mark >= 0 && mark <= used, "truncating to \(mark) of \(used)")
        used = mark
    }

    // MARK: raw bytes

    /// Room for `extra` more bytes.
    @inline(__always)
    private func reserve(_ extra: Int) {
        if used &+ extra > capacity { grow(used &+ extra) }
    }

    private func grow(_ needed: Int) {
        var newCapacity = capacity &* 2
        while newCapacity < needed { newCapacity &*= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        grown.copyMemory(from: storage, byteCount: used)
        storage.deallocate()
        storage = grown
        capacity = newCapacity
    }

    /// Appends `bytes` as they are.
    @inline(__always)
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        reserve(bytes.count)
        (storage + used).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        used &+= bytes.count
    }

    /// Appends the bytes of `text`.
    @inline(__always)
    public func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always)
    private func appendByte(_ byte: UInt8) {
        reserve(1)
        storage.storeBytes(of: byte, toByteOffset: used, as: UInt8.self)
        used &+= 1
    }

    @inline(__always)
    private func appendCRLF() {
        reserve(2)
        storage.storeBytes(of: UInt16(0x0A0D).littleEndian, toByteOffset: used, as: UInt16.self)
        used &+= 2
    }

    /// A type marker, a number and CRLF.
    @inline(__always)
    public func header(_ marker: UInt8, _ value: Int) {
        reserve(RESPEncoding.maxHeaderBytes)
        used &+= RESPEncoding.writeHeader(marker, value, to: storage + used)
    }

    // MARK: replies

    /// `+text`. `text` must hold no CR or LF.
    public func simpleString(_ text: StaticString) {
        appendByte(0x2B)
        append(text)
        appendCRLF()
    }

    /// `+text` from bytes (CR and LF are written as spaces).
    public func simpleString(_ bytes: UnsafeRawBufferPointer) {
        appendByte(0x2B)
        appendLine(bytes)
    }

    /// `-message`; `message` starts with its code ("ERR ...", "WRONGTYPE ...").
    public func error(_ message: StaticString) {
        appendByte(0x2D)
        append(message)
        appendCRLF()
        if let observer { observer(UnsafeRawBufferPointer(start: message.utf8Start, count: message.utf8CodeUnitCount)) }
    }

    /// `-message` from bytes, written as they are except CR and LF, which
    /// become spaces so the reply stays one line (as redis-server maps them).
    public func error(_ message: UnsafeRawBufferPointer) {
        appendByte(0x2D)
        appendLine(message)
        if let observer { observer(message) }
    }

    /// `-message` from bytes (see `error(_:)` for raw buffers).
    public func error(_ message: [UInt8]) {
        message.withUnsafeBytes { error($0) }
    }

    /// `-message` from a String (see `error(_:)` for bytes).
    public func error(_ message: String) {
        var text = message
        text.withUTF8 { error(UnsafeRawBufferPointer($0)) }
    }

    private func appendLine(_ bytes: UnsafeRawBufferPointer) {
        let start = used
        append(bytes)
        var index = start
        while index < used {
            let byte = storage.load(fromByteOffset: index, as: UInt8.self)
            if byte == 0x0D || byte == 0x0A { storage.storeBytes(of: 0x20, toByteOffset: index, as: UInt8.self) }
            index &+= 1
        }
        appendCRLF()
    }

    /// `:value`.
    @inline(__always)
    public func integer(_ value: Int) {
        header(0x3A, value)
    }

    /// `$length`, the bytes, CRLF.
    @inline(__always)
    public func bulkString(_ bytes: UnsafeRawBufferPointer) {
        header(0x24, bytes.count)
        append(bytes)
        appendCRLF()
    }

    /// A bulk string from constant text.
    public func bulkString(_ text: StaticString) {
        bulkString(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A bulk string from bytes.
    public func bulkString(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { bulkString($0) }
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    public func null() {
        if isRESP3 { append("_\r\n") } else { append("$-1\r\n") }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    public func nullArray() {
        if isRESP3 { append("_\r\n") } else { append("*-1\r\n") }
    }

    /// `*count`: `count` replies follow.
    @inline(__always)
    public func arrayHeader(_ count: Int) {
        header(0x2A, count)
    }

    /// A map of `count` pairs follows (a flat array of 2 × count in RESP2).
    public func mapHeader(_ count: Int) {
        if isRESP3 { header(0x25, count) } else { header(0x2A, count &* 2) }
    }

    /// A set of `count` members follows (an array in RESP2).
    public func setHeader(_ count: Int) {
        header(isRESP3 ? 0x7E : 0x2A, count)
    }

    /// A push of `count` replies follows (an array in RESP2).
    public func pushHeader(_ count: Int) {
        header(isRESP3 ? 0x3E : 0x2A, count)
    }

    /// A double, given as the text redis-server writes for it (`%.17g`,
    /// `inf`, `-inf`): a bulk string in RESP2, `,text` in RESP3.
    public func double(text: UnsafeRawBufferPointer) {
        if isRESP3 {
            appendByte(0x2C)
            append(text)
            appendCRLF()
        } else {
            bulkString(text)
        }
    }

    /// A boolean: `:1`/`:0` in RESP2, `#t`/`#f` in RESP3.
    public func boolean(_ value: Bool) {
        if isRESP3 { append(value ? "#t\r\n" : "#f\r\n") } else { append(value ? ":1\r\n" : ":0\r\n") }
    }

    /// Verbatim text (`=` with a three-letter format in RESP3, a bulk string in RESP2).
    public func verbatim(_ text: UnsafeRawBufferPointer, format: StaticString = "txt") {
        guard isRESP3 else {
            bulkString(text)
            return
        }
        header(0x3D, text.count &+ 4)
        append(format)
        appendByte(0x3A)
        append(text)
        appendCRLF()
    }
}
