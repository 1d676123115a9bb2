// RESPCommand: one Redis request as a handler sees it: its arguments as
// borrowed byte ranges, never copied into Strings or Arrays. Multibulk
// arguments point into Keel's read buffer; inline arguments (which may have
// quotes and escapes to resolve) point into the decoder's scratch. Both are
// valid only during the handler call that receives the command.

/// The arguments of one RESP request, borrowed for the duration of a handler call.
public struct RESPCommand {
    @usableFromInline let arguments: UnsafePointer<RESPArgument>
    /// How many arguments there are (at least 1: the command name).
    public let count: Int
    /// Whether the request came as an inline command ("PING\r\n") rather
    /// than a multibulk array.
    public let isInline: Bool

    @inlinable
    init(arguments: UnsafePointer<RESPArgument>, count: Int, isInline: Bool) {
        self.arguments = arguments
        self.count = count
        self.isInline = isInline
    }

    /// A command over argument bytes held elsewhere: a server that queues a
    /// request (a transaction, a blocked client) keeps copies of its bytes
    /// and runs it later through the same code. `arguments` must stay valid
    /// while the command is used.
    @inlinable
    public init(copiedArguments arguments: UnsafePointer<RESPArgument>, count: Int) {
        precondition(count >= 1, "a command has at least its name")
        self.init(arguments: arguments, count: count, isInline: false)
    }

    /// Argument `index` (0 is the command name).
    @inlinable
    public subscript(index: Int) -> UnsafeRawBufferPointer {
        precondition(index >= 0 && index < count, "argument \(index) of \(count)")
        let argument = arguments[index]
        return UnsafeRawBufferPointer(start: argument.start, count: argument.count)
    }

    /// The command name, as sent (any case).
    @inlinable
    public var name: UnsafeRawBufferPointer { self[0] }

    /// Whether argument `index` equals `text` ignoring ASCII case (command
    /// names and options such as "EX", "NX" are case-insensitive).
    @inlinable
    public func argument(_ index: Int, equalsIgnoringCase text: StaticString) -> Bool {
        let bytes = self[index]
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        let expected = text.utf8Start
        var position = 0
        while position < bytes.count {
            // ASCII letters differ from their other case only in bit 0x20.
            let have = bytes[position]
            let want = expected[position]
            if have != want && !(have | 0x20 == want | 0x20 && (want | 0x20) >= 0x61 && (want | 0x20) <= 0x7A) {
                return false
            }
            position &+= 1
        }
        return true
    }

    /// Argument `index` as a strict decimal integer (Redis's rules), or nil.
    @inlinable
    public func integer(at index: Int) -> Int64? {
        RESPInteger.parse(self[index])
    }

    /// Every argument, copied (for tests and logging; handlers on the hot
    /// path read arguments in place).
    public var copiedArguments: [[UInt8]] {
        (0..<count).map { Array(self[$0]) }
    }
}

/// Where one argument's bytes are.
public struct RESPArgument {
    @usableFromInline let start: UnsafeRawPointer?
    @usableFromInline let count: Int

    /// The argument of `count` bytes at `start`.
    @inlinable
    public init(start: UnsafeRawPointer?, count: Int) {
        self.start = start
        self.count = count
    }
}
