// Connections: a loop's reach to any connection by its ID, on this loop or
// another: what a handler needs to deliver to connections other than the
// one it is serving (a pub/sub message, a reply to a client that waited)
// and to close them, from a message callback or from a tick. Like
// Connection, a value valid only during the callback that received it.

/// Any connection of the server, by ID (see the file header).
public struct Connections {
    @usableFromInline let outputsReference: Unmanaged<ConnectionOutputs>

    @inlinable @inline(__always)
    init(outputs: ConnectionOutputs) {
        outputsReference = Unmanaged.passUnretained(outputs)
    }

    @inlinable @inline(__always)
    func withOutputs<R>(_ body: (ConnectionOutputs) -> R) -> R {
        outputsReference._withUnsafeGuaranteedRef(body)
    }

    /// The index of the loop this handler runs on (`ConnectionID.loop` of
    /// the connections it owns).
    public var loopIndex: UInt32 { withOutputs { $0.loopIndex } }

    /// Writes `bytes` as they are, with no framing, to connection `id`. On
    /// this loop they are queued at once (a stale `id` is refused with
    /// `.connectionGone`); for another loop they are copied into its
    /// mailbox (`.queueFull` when it is full) and a stale `id` is dropped
    /// there. Output pushed to a connection this way counts against its
    /// pending-output cap: a peer that does not read is closed at the cap.
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer, to id: ConnectionID) -> SendResult {
        route(bytes, to: id) { $0.write(bytes, token: $1) }
    }

    /// Writes `bytes` as they are to connection `id` as the reply to a
    /// request it sent earlier that the handler answers after that
    /// request's callback (a client that waited for a key, work spread over
    /// ticks): like a reply written during the callback, it is not held to
    /// the pending-output cap, since the connection asked for it (and its
    /// reading pauses while its output is above the high watermark). On
    /// another loop it goes through that loop's mailbox as `write(_:to:)`
    /// does, capped.
    @discardableResult
    public func writeReply(_ bytes: UnsafeRawBufferPointer, to id: ConnectionID) -> SendResult {
        route(bytes, to: id) { $0.writeReply(bytes, token: $1) }
    }

    /// Unframed bytes for `id`: queued by `here` on this loop, or copied
    /// into the mailbox of the loop that owns `id`.
    @inline(__always)
    private func route(
        _ bytes: UnsafeRawBufferPointer, to id: ConnectionID, here: (ConnectionOutputs, EventToken) -> SendResult
    ) -> SendResult {
        withOutputs { outputs in
            if id.loop == outputs.loopIndex {
                return here(outputs, EventToken(slot: id.slot, generation: id.generation))
            }
            return outputs.mailboxes.post(.write(id, Array(bytes)), to: id)
        }
    }

    /// The bytes queued for connection `id` (of this loop) and not yet
    /// written: for a handler that sends a long reply piece by piece as
    /// the peer reads it. Nil for a stale `id` or another loop's.
    public func pendingOutputBytes(of id: ConnectionID) -> Int? {
        withOutputs { outputs in
            guard id.loop == outputs.loopIndex else { return nil }
            return outputs.pendingOutputBytes(token: EventToken(slot: id.slot, generation: id.generation))
        }
    }

    /// Sends `payload` as one message (framed by the server's format) to
    /// connection `id`, as `write(_:to:)` does.
    @discardableResult
    public func send(_ payload: UnsafeRawBufferPointer, to id: ConnectionID) -> SendResult {
        withOutputs { outputs in
            if id.loop == outputs.loopIndex {
                return outputs.send(payload, token: EventToken(slot: id.slot, generation: id.generation))
            }
            return outputs.mailboxes.post(.send(id, Array(payload)), to: id)
        }
    }

    /// Closes connection `id` once the output already queued for it has
    /// been written (bounded by the write timeout). A stale `id` does nothing.
    public func close(_ id: ConnectionID) {
        onOwningLoop(of: id, otherwise: .close(id)) {
            $0.requestClose(slot: id.slot, generation: id.generation, reason: .closedByHandler)
        }
    }

    /// Closes connection `id` at once, the output queued for it dropped:
    /// for a peer so far behind that waiting for it would hold its output
    /// (a replica or subscriber past the handler's own limit). Counted as
    /// `output-overflow`, as Keel's own pending-output cap. A stale `id`
    /// does nothing. Another loop's connection is reached through that
    /// loop's mailbox, as `close` is: when the mailbox is full the abort is
    /// dropped (the connection's own limits still apply).
    public func abort(_ id: ConnectionID) {
        onOwningLoop(of: id, otherwise: .abort(id)) {
            $0.abort(slot: id.slot, generation: id.generation, reason: .outputOverflow)
        }
    }

    /// Runs `here` when `id` is this loop's; posts `command` to its own
    /// loop's mailbox otherwise (dropped when that mailbox is full).
    private func onOwningLoop(
        of id: ConnectionID, otherwise command: Mailbox.Command, _ here: (ConnectionOutputs) -> Void
    ) {
        withOutputs { outputs in
            if id.loop == outputs.loopIndex {
                here(outputs)
            } else {
                _ = outputs.mailboxes.post(command, to: id)
            }
        }
    }
}

extension Connections {
    /// Asks loop `loop` to run its handler's `tick` as soon as it can, not
    /// at its next interval: work another loop left for it (with a handler
    /// that has `tickIntervalMs`). False when its mailbox is full; its next
    /// regular tick comes anyway.
    @discardableResult
    public func requestTick(onLoop loop: UInt32) -> Bool {
        withOutputs { $0.mailboxes.post(.tick, toLoop: loop) }
    }
}

extension Connection {
    /// Every connection of the server, by ID: to write to or close others.
    @inlinable
    public var connections: Connections {
        withOutputs { Connections(outputs: $0) }
    }
}
