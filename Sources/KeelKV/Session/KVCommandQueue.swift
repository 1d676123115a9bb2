// KVCommandQueue: commands kept past the read that brought them: MULTI's
// queue until EXEC, and what a blocked client sent after its blocking
// command. A request's bytes live only as long as its read, so each
// command's arguments are copied, into one buffer, with where each
// argument is. The queue has a limit in commands and bytes, so a client
// cannot make it hold memory without bound.

import KeelWire

/// Copied commands, in order (see the file header).
struct KVCommandQueue {
    /// The most commands one queue may hold.
    static let maxCommands = 100_000
    /// The most argument bytes one queue may hold.
    static let maxBytes = 64 << 20

    private var bytes: [UInt8] = []
    /// Per command: the range of its arguments in `arguments`.
    private var commands: [Range<Int>] = []
    /// Per argument: its range in `bytes`.
    private var arguments: [Range<Int>] = []

    var count: Int { commands.count }
    var isEmpty: Bool { commands.isEmpty }

    /// The memory the copies take, about: their bytes and where each is.
    var footprint: Int { bytes.count + arguments.count * 16 + commands.count * 16 }

    /// Queues a copy of `command`; false when the queue is full (past
    /// maxBytes of arguments or maxCommands; `limited` false: never, the
    /// caller bounds it).
    mutating func append(_ command: RESPCommand, limited: Bool = true) -> Bool {
        var size = 0
        for index in 0..<command.count { size += command[index].count }
        guard !limited || (commands.count < Self.maxCommands && bytes.count + size <= Self.maxBytes) else {
            return false
        }
        let first = arguments.count
        for index in 0..<command.count {
            let start = bytes.count
            bytes.append(contentsOf: command[index])
            arguments.append(start..<bytes.count)
        }
        commands.append(first..<arguments.count)
        return true
    }

    /// Calls `body` with each queued command in order, rebuilt over the copies.
    func forEachCommand(_ body: (RESPCommand) -> Void) {
        bytes.withUnsafeBytes { raw in
            var table: [RESPArgument] = []
            for command in commands {
                table.removeAll(keepingCapacity: true)
                for argument in arguments[command] {
                    table.append(
                        RESPArgument(start: raw.baseAddress.map { $0 + argument.lowerBound }, count: argument.count))
                }
                table.withUnsafeBufferPointer { body(RESPCommand(copiedArguments: $0.baseAddress!, count: $0.count)) }
            }
        }
    }
}
