// Mailbox: how other threads reach a loop. Sends and closes addressed by
// ConnectionID are queued here (bounded) and the loop is woken through its
// eventfd, only when the mailbox goes from empty to non-empty, so a burst of
// posts costs one wakeup. The loop drains everything at once and checks each
// ID's generation there: an ID whose connection has gone is refused, never
// delivered to a new owner of the slot.
//
// Invariant: queuedBytes is the sum of the payload sizes in `commands`;
// wakePending is set exactly while commands is non-empty and the loop has
// not drained it yet.

/// A bounded, multi-producer queue of commands for one loop.
@usableFromInline
final class Mailbox: Sendable {
    @usableFromInline
    enum Command {
        case send(ConnectionID, [UInt8])
        /// Bytes written as they are (no framing).
        case write(ConnectionID, [UInt8])
        case close(ConnectionID)
        /// Close at once, the pending output dropped.
        case abort(ConnectionID)
        /// Run the handler's tick now: a handler on another loop has work
        /// for this one (a client it blocked for was served a key).
        case tick
    }

    private struct State {
        var commands: [Command] = []
        var queuedBytes = 0
        var wakePending = false
    }

    private let state = Locked(State())
    private let waker: Waker
    /// Most commands queued at once.
    let capacity: Int
    /// Most payload bytes queued at once.
    let bytesLimit: Int

    init(waker: Waker, capacity: Int, bytesLimit: Int) {
        self.waker = waker
        self.capacity = capacity
        self.bytesLimit = bytesLimit
    }

    /// Queues `command`; false when the mailbox is full.
    func post(_ command: Command) -> Bool {
        let size: Int
        switch command {
        case .send(_, let bytes), .write(_, let bytes): size = bytes.count
        case .close, .abort, .tick: size = 0
        }
        let mustWake = state.withLock { state -> Bool? in
            guard state.commands.count < capacity, state.queuedBytes + size <= bytesLimit else { return nil }
            state.commands.append(command)
            state.queuedBytes += size
            defer { state.wakePending = true }
            return !state.wakePending
        }
        guard let mustWake else { return false }
        if mustWake { waker.wake() }
        return true
    }

    /// Moves every queued command into `batch` (which must be empty).
    @usableFromInline
    func drain(into batch: inout [Command]) {
        precondition(batch.isEmpty)
        state.withLock { state in
            swap(&batch, &state.commands)
            state.queuedBytes = 0
            state.wakePending = false
        }
    }
}

/// The mailboxes of all loops of one server, indexed by loop.
@usableFromInline
final class Mailboxes: Sendable {
    let all: [Mailbox]

    init(_ all: [Mailbox]) {
        self.all = all
    }

    /// Posts `command` to the loop that owns `id`.
    func post(_ command: Mailbox.Command, to id: ConnectionID) -> SendResult {
        guard Int(id.loop) < all.count else { return .connectionGone }
        return all[Int(id.loop)].post(command) ? .queued : .queueFull
    }

    /// Posts `command` to loop `loop`.
    func post(_ command: Mailbox.Command, toLoop loop: UInt32) -> Bool {
        guard Int(loop) < all.count else { return false }
        return all[Int(loop)].post(command)
    }
}
