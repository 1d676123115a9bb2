// KVTransaction: what MULTI queues until EXEC (copies, with the queue's
// limits), and whether an error while queuing has doomed the transaction
// (EXEC then answers EXECABORT).

import KeelWire

/// The commands of an open transaction (see the file header).
struct KVTransaction {
    private var commands = KVCommandQueue()
    /// An error while queuing dooms the transaction.
    var failed = false

    var count: Int { commands.count }

    /// Queues a copy of `command`; false when the queue is full.
    mutating func queue(_ command: RESPCommand) -> Bool {
        commands.append(command)
    }

    /// Calls `body` with each queued command in order.
    func forEachCommand(_ body: (RESPCommand) -> Void) {
        commands.forEachCommand(body)
    }
}
