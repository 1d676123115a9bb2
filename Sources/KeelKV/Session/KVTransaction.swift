// KVTransaction: what MULTI queues until EXEC: each command's arguments,
// copied (a request's bytes live only as long as its read), in one buffer,
// with where each argument is; and whether an error while queuing has
// doomed the transaction (EXEC then answers EXECABORT). A queue has a
// limit in commands and bytes, so MULTI cannot be made to hold memory
// without bound.

import KeelWire

/// The commands of an open transaction (see the file header).
struct KVTransaction {
    /// The most commands one transaction may queue.
    static let maxCommands = 100_000
    /// The most argument bytes one transaction may queue.
    static let maxBytes = 64 << 20

    private var bytes: [UInt8] = []
    /// Per command: the range of its arguments in `arguments`.
    private var commands: [Range<Int>] = []
    /// Per argument: its range in `bytes`.
    private var arguments: [Range<Int>] = []
    /// An error while queuing dooms the transaction.
    var failed = false

    var count: Int { commands.count }

    /// Queues a copy of `command`; false when the queue is full.
    mutating func queue(_ command: RESPCommand) -> Bool {
        var size = 0
        for index in 0..<command.count { size += command[index].count }
        guard commands.count < Self.maxCommands && bytes.count + size <= Self.maxBytes else { return false }
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
    func forEach(_ body: (RESPCommand) -> Void) {
        bytes.withUnsafeBytes { raw in
            var table: [RESPArgument] = []
            for command in commands {
                table.removeAll(keepingCapacity: true)
                for argument in arguments[command] {
                    table.append(RESPArgument(start: raw.baseAddress.map { $0 + argument.lowerBound }, count: argument.count))
                }
                table.withUnsafeBufferPointer { body(RESPCommand(copiedArguments: $0.baseAddress!, count: $0.count)) }
            }
        }
    }
}
