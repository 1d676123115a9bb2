// Blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
// BZPOPMAX, BZMPOP. Each first does what its plain form does; when every
// key it names is empty it asks to block (`KVContext.block`): the client
// is registered with the store's KVBlocking under the keys' shard locks,
// and its loop (KVLoop) holds it, and what it sends next, until a write to
// one of the keys lets the command run again with something to take, or
// its timeout passes (the null reply). Inside EXEC they never block: the
// null reply comes at once, as in redis-server.

import KeelWire

/// What a blocked command replies when its time is up.
enum KVTimeoutReply {
    case nullArray
    case null
    /// WAIT's: how many replicas acknowledged `offset` by then (it waits
    /// for `wanted`).
    case acknowledgements(offset: Int64, wanted: Int64)
}

/// A block a command asked for: registered, to be held by the loop.
struct KVPendingBlock {
    let waiter: KVBlocking.Waiter
    let keys: [[UInt8]]
    /// Unix ms; Int64.max waits for ever.
    let deadlineMs: Int64
    let timeoutReply: KVTimeoutReply
}

extension KVContext {
    /// The timeout at argument `index` (seconds, fractional, 0 for ever)
    /// as a deadline in Unix ms; nil having replied Redis's error.
    func blockDeadline(at index: Int) -> Int64? {
        guard let seconds = KVDouble.parseLong(self[index]) else {
            reply.error("ERR timeout is not a float or out of range")
            return nil
        }
        let milliseconds = (seconds * 1_000).rounded(.up)
        // Past Int64, redis-server's conversion wraps to a negative number.
        guard milliseconds >= 0 && milliseconds < 0x1p63 else {
            reply.error("ERR timeout is negative")
            return nil
        }
        if milliseconds == 0 { return Int64.max }
        let (deadline, overflow) = nowMs.addingReportingOverflow(Int64(milliseconds))
        guard !overflow else {
            reply.error("ERR timeout is out of range")
            return nil
        }
        return deadline
    }

    /// Every key the command names is empty: block on `keyIndices` until
    /// `deadlineMs` (see the file header). Inside EXEC replies the null
    /// reply instead; a retry that still finds nothing stays blocked.
    /// `inTransaction` is the reply inside EXEC (BLMOVE's is the null bulk
    /// string there, the null array when its time is up, as redis-server).
    func block(
        on keyIndices: [Int], deadlineMs: Int64, timeoutReply: KVTimeoutReply, inTransaction: KVTimeoutReply? = nil
    ) {
        if isRetryingBlocked {
            stillBlocked = true
            return
        }
        if isInTransaction { return replyTimedOut(inTransaction ?? timeoutReply) }
        let keys = keyIndices.map { Array(self[$0]) }
        let waiter = store.blocking.block(session.client, on: keys)
        pendingBlock = KVPendingBlock(waiter: waiter, keys: keys, deadlineMs: deadlineMs, timeoutReply: timeoutReply)
    }

    /// The reply of a block whose time is up.
    func replyTimedOut(_ kind: KVTimeoutReply) {
        switch kind {
        case .nullArray: reply.nullArray()
        case .null: reply.null()
        case .acknowledgements(let offset, _):
            reply.integer(store.replication.acknowledgedCount(atLeast: offset))
        }
    }
}

enum KVBlockingCommands {
    /// BLPOP / BRPOP key [key ...] timeout: [key, element] from the first
    /// non-empty list.
    static func bpop(_ context: KVContext, front: Bool) {
        let last = context.argumentCount - 1
        guard let deadline = context.blockDeadline(at: last) else { return }
        guard let first = firstHolding(.list, context, keysBefore: last) else { return }
        guard let (key, found) = first else {
            return context.block(on: Array(1..<last), deadlineMs: deadline, timeoutReply: .nullArray)
        }
        let list = context.list(found.entry)
        context.reply.arrayHeader(2)
        context.reply.bulkString(key)
        _ = list.pop(front: front) { context.reply.bulkString($0) }
        context.touched(key)
        context.notify(.list, front ? "lpop" : "rpop", key)
        context.removeIfEmpty(key, count: list.count)
        if context.isReplicating { context.propagate([front ? "LPOP" : "RPOP", KVStreamArgument(key)]) }
    }

    /// The first of arguments 1..<`end` that holds a `type`, with its key:
    /// missing keys are passed over, and so are keys of another type for a
    /// blocked client trying again (it waits on, as in redis-server 7.0);
    /// `.some(nil)` when none holds one, nil having replied WRONGTYPE.
    private static func firstHolding(_ type: KVType, _ context: KVContext, keysBefore end: Int)
        -> (UnsafeRawBufferPointer, KVFound)??
    {
        for index in 1..<end {
            switch context.find(context[index], as: type) {
            case .wrongType:
                if context.isRetryingBlocked { continue }
                context.wrongType()
                return nil
            case .missing: continue
            case .found(let found): return .some((context[index], found))
            }
        }
        return .some(nil)
    }

    /// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout.
    static func blmove(_ context: KVContext) {
        guard let from = KVListCommands.end(context, 3), let to = KVListCommands.end(context, 4) else { return }
        move(context, from: from, to: to, timeoutIndex: 5)
    }

    /// BRPOPLPUSH source destination timeout.
    static func brpoplpush(_ context: KVContext) {
        move(context, from: false, to: true, timeoutIndex: 3)
    }

    private static func move(_ context: KVContext, from: Bool, to: Bool, timeoutIndex: Int) {
        guard let deadline = context.blockDeadline(at: timeoutIndex) else { return }
        if context.isRetryingBlocked, case .wrongType = context.find(context[1], as: .list) {
            return context.block(on: [1], deadlineMs: deadline, timeoutReply: .nullArray)
        }
        guard let taken = KVListCommands.takeForMove(context, sourceKey: context[1], targetKey: context[2], from: from)
        else { return }
        guard let element = taken else {
            // redis-server answers a timed-out BLMOVE with the null array.
            return context.block(on: [1], deadlineMs: deadline, timeoutReply: .nullArray, inTransaction: .null)
        }
        guard KVListCommands.pushMoved(context, element, to: context[2], front: to) else {
            KVListCommands.finishMove(context, sourceKey: context[1], from: from)
            return context.outOfMemory()
        }
        KVListCommands.finishMove(context, sourceKey: context[1], from: from)
        if context.isReplicating {
            // As the command that does not block: RPOPLPUSH, or LMOVE.
            if timeoutIndex == 3 {
                context.propagate(["RPOPLPUSH", KVStreamArgument(context[1]), KVStreamArgument(context[2])])
            } else {
                context.propagate([
                    "LMOVE", KVStreamArgument(context[1]), KVStreamArgument(context[2]), from ? "LEFT" : "RIGHT",
                    to ? "LEFT" : "RIGHT",
                ])
            }
        }
        context.reply.bulkString(element)
    }

    /// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count].
    static func blmpop(_ context: KVContext) {
        guard let deadline = context.blockDeadline(at: 1) else { return }
        guard !KVListCommands.multiPop(context, numkeysIndex: 2) else { return }
        let keys = KVListCommands.multiPopKeys(context.command, numkeysIndex: 2)
        context.block(on: keys, deadlineMs: deadline, timeoutReply: .nullArray)
    }

    /// BZPOPMIN / BZPOPMAX key [key ...] timeout: [key, member, score] from
    /// the first non-empty sorted set.
    static func bzpop(_ context: KVContext, max: Bool) {
        let last = context.argumentCount - 1
        guard let deadline = context.blockDeadline(at: last) else { return }
        guard let first = firstHolding(.zset, context, keysBefore: last) else { return }
        guard let (key, found) = first else {
            return context.block(on: Array(1..<last), deadlineMs: deadline, timeoutReply: .nullArray)
        }
        let set = KVZSetValue(found.entry)
        let items = KVSortedSetCommands.pop(set, count: 1, max: max)
        context.touched(key)
        context.notify(.zset, max ? "zpopmax" : "zpopmin", key)
        context.removeIfEmpty(key, count: set.count)
        if context.isReplicating { context.propagate([max ? "ZPOPMAX" : "ZPOPMIN", KVStreamArgument(key)]) }
        context.reply.arrayHeader(3)
        context.reply.bulkString(key)
        context.reply.bulkString(items[0].0)
        context.replyScore(items[0].1)
    }

    /// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count].
    static func bzmpop(_ context: KVContext) {
        guard let deadline = context.blockDeadline(at: 1) else { return }
        guard !KVSortedSetCommands.multiPop(context, numkeysIndex: 2) else { return }
        let keys = KVListCommands.multiPopKeys(context.command, numkeysIndex: 2)
        context.block(on: keys, deadlineMs: deadline, timeoutReply: .nullArray)
    }
}
