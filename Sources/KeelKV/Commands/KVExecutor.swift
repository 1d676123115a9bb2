// KVExecutor: one command's way from its name to its reply, as redis-server
// takes it (processCommand): the row in the command table (an unknown name
// is an error), the arity (the row's, or its subcommand's), authentication,
// the subscriber context, a transaction's queue; then the shards its keys
// name are locked (with --threads) and the row's code runs, writing its
// reply into the context's buffer, which the handler hands to the
// connection after the locks are released.

import KeelWire

/// Runs commands against a store (see the file header).
final class KVExecutor {
    let context: KVContext
    let store: KVStore
    /// The store's replication stream (its own reference: no hop through
    /// the store on each command).
    unowned(unsafe) let replication: KVReplication
    /// The command table's rows, by name.
    let commands = KVCommandTable.Lookup()

    init(context: KVContext) {
        self.context = context
        store = context.store
        replication = context.store.replication
        context.executor = self
    }

    /// Runs `command` for `session`, its reply left in `context.reply`.
    func execute(_ command: RESPCommand, session: KVSession) {
        context.begin(command, session: session)
        guard let index = commands.index(of: command[0]) else { return unknownCommand(command, session) }
        commands.withRow(index) { row in execute(command, row: row, session: session) }
    }

    /// `execute` once the command's row is known.
    @inline(__always)
    private func execute(_ command: RESPCommand, row: KVCommandSpec, session: KVSession) {
        guard row.accepts(command.count) else {
            context.counters.commands.bump(.rejected, row)
            if session.transaction != nil && "\(row.name)" == "exec" {
                // A malformed EXEC ends the transaction, as redis-server's does.
                session.transaction = nil
                KVTransactionCommands.unwatchAll(context)
                return context.reply.error(
                    "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command")
            }
            rejectInTransaction(session)
            return context.wrongArguments(row.nameText)
        }
        var spec = row
        var subcommand: KVCommandSpec?
        // COMMAND alone runs its row; a subcommand's row otherwise.
        if !row.subcommands.isEmpty && command.count >= 2 {
            guard let sub = KVCommandTable.subcommand(of: row, named: command[1]) else {
                rejectInTransaction(session)
                let upper = row.nameText.uppercased()
                return context.reply.error(
                    Array("ERR unknown subcommand '".utf8) + command[1].prefix(while: { $0 != 0 }).prefix(128)
                        + Array("'. Try \(upper) HELP.".utf8))
            }
            subcommand = sub
            guard sub.accepts(command.count) else {
                context.counters.commands.bump(.rejected, sub)
                rejectInTransaction(session)
                return context.wrongArguments("\(row.nameText)|\(sub.nameText)")
            }
            spec = sub
        }
        if store.settings.requiresPassword && !session.authenticated && !spec.flags.contains(.noAuth) {
            context.counters.commands.bump(.rejected, spec)
            rejectInTransaction(session)
            return context.reply.error("NOAUTH Authentication required.")
        }
        // As redis-server orders them: a command refused inside MULTI,
        // memory, then the subscriber context (a subscriber is never inside
        // MULTI: the two never meet).
        if session.transaction != nil && spec.flags.contains(.noMulti) {
            context.counters.commands.bump(.rejected, spec)
            rejectInTransaction(session)
            return context.reply.error("ERR Command not allowed inside a transaction")
        }
        if store.settings.maxMemory.load(ordering: .relaxed) > 0
            && refusedForMemory(row: row, spec: spec, session: session)
        {
            return context.counters.commands.bump(.rejected, spec)
        }
        if session.isSubscriber && session.protocolVersion == 2 && !Self.allowedWhileSubscribed(row.name) {
            context.counters.commands.bump(.rejected, spec)
            let fullName = subcommand.map { "\(row.nameText)|\($0.nameText)" } ?? row.nameText
            return context.reply.error(
                "ERR Can't execute '\(fullName)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            )
        }
        // After the checks that answer at once, as redis-server orders it:
        // a malformed command is refused, not held.
        if store.clientPause.mayBeOn && pauseHolds(row: row, spec: spec, session: session) {
            context.pendingPause = true
            return
        }
        // A queued command is the client's last too (CLIENT LIST's cmd=),
        // as redis-server records it.
        session.record.ran(row.name, subcommand?.name, atMs: context.coarseNowMs)
        if session.transaction != nil && !Self.runsInsideTransaction(row.name) {
            return queue(command, session: session)
        }
        run(spec, command)
        count(spec)
        // Also when the last tracking client has just turned it off: what
        // the command left for it is still sent.
        if context.tracking.isActive || context.hasTrackingWork {
            context.finishTracking(spec, command, topLevel: true, container: row)
        }
        // FCALL is shown though skip_monitor: redis-server shows it itself.
        if store.monitors.count.load(ordering: .relaxed) > 0 && !spec.flags.contains(.admin) {
            KVMonitor.feed(command, of: session, context)
        }
    }

    /// INFO commandstats: one call of `spec`, failed if it replied an error.
    @inline(__always)
    private func count(_ spec: KVCommandSpec) {
        KVCommandStats.bump(.calls, spec, in: context.commandCounts)
        if context.repliedError { KVCommandStats.bump(.failed, spec, in: context.commandCounts) }
    }

    /// Whether CLIENT PAUSE holds the command back now: under ALL every
    /// command (QUIT too, as 7.0.15 holds it); under WRITE those that write or may be
    /// replicated, and an EXEC whose queue holds one. Replicas are never held.
    private func pauseHolds(row: KVCommandSpec, spec: KVCommandSpec, session: KVSession) -> Bool {
        guard !session.isReplica else { return false }
        switch store.clientPause.kind(nowMs: context.nowMs) {
        case .none:
            return false
        case .all:
            return true
        case .write:
            let writes: KVCommandFlags = [.write, .mayReplicate]
            if !spec.flags.isDisjoint(with: writes) { return true }
            guard "\(row.name)" == "exec", let transaction = session.transaction else { return false }
            var holds = false
            transaction.forEachCommand { command in
                if let queued = resolve(command), !queued.flags.isDisjoint(with: writes) { holds = true }
            }
            return holds
        }
    }

    /// Runs a row's code with its keys' shards locked.
    @inline(__always)
    func run(_ spec: KVCommandSpec, _ command: RESPCommand) {
        context.row = spec
        KVLoopCounters.bump(context.counters.commandsProcessed)
        guard store.isShared else {
            runFeeding(spec)
            if context.tracking.isActive { context.trackRead(spec, command) }
            return
        }
        let mask = spec.flags.contains(.allShardsLocked) ? store.allShards : lockMask(spec, command)
        store.withShards(mask) {
            runFeeding(spec)
            if context.tracking.isActive { context.trackRead(spec, command) }
        }
    }

    /// Runs a row's code; with replicas attached (read under the command's
    /// shard locks, where attaching a replica cannot happen meanwhile), what
    /// it changed then enters the replication stream.
    @inline(__always)
    private func runFeeding(_ spec: KVCommandSpec) {
        guard replication.isActive else { return spec.run(context) }
        context.isReplicating = true
        context.fedReplicas = true
        context.changed = false
        spec.run(context)
        context.commandFinished()
        context.feedOutbox()
        context.isReplicating = false
        context.session.writeOffset = replication.currentOffset
    }

    /// The row that runs `command` (its subcommand's, where it has them).
    func resolve(_ command: RESPCommand) -> KVCommandSpec? {
        guard let row = commands.find(command[0]) else { return nil }
        guard !row.subcommands.isEmpty else { return row }
        return KVCommandTable.subcommand(of: row, named: command[1])
    }

    /// Runs a transaction's queued commands, their replies in one array,
    /// with the shards of all their keys (and of the watched ones) locked
    /// together; or replies the null array when a watched key changed or
    /// expired since WATCH.
    func runTransaction(_ transaction: KVTransaction, session: KVSession) {
        var mask: UInt64 = 0
        if store.isShared {
            transaction.forEachCommand { command in
                guard let spec = resolve(command) else { return }
                // KEYS, FLUSHALL and the like lock shard after shard: under
                // EXEC every shard is locked first, in order (a shard
                // locked already is not locked again: KVStore.withShards).
                let all = spec.flags.contains(.everyShard) || spec.flags.contains(.allShardsLocked)
                mask |= all ? store.allShards : lockMask(spec, command)
            }
            for key in session.watchedKeys {
                mask |= UInt64(1) << UInt64(key.withUnsafeBytes { store.shardIndex(for: ByteHash.hash($0)) })
            }
        }
        store.withShards(mask) {
            // An expired watched key is deleted now, which touches it.
            for key in session.watchedKeys { _ = key.withUnsafeBytes { context.find($0) } }
            guard !session.watch.touched.load(ordering: .relaxed) else { return context.reply.nullArray() }
            // What the queue changes enters the stream as one transaction.
            context.isReplicating = replication.isActive
            context.fedReplicas = context.fedReplicas || context.isReplicating
            runQueued(transaction, session: session)
            if context.isReplicating { context.feedOutbox(inTransaction: true) }
            context.isReplicating = false
        }
    }

    /// The queued commands' replies, as one array (the shards locked).
    private func runQueued(_ transaction: KVTransaction, session: KVSession) {
        context.reply.arrayHeader(transaction.count)
        context.isInTransaction = true
        defer { context.isInTransaction = false }
        let nowMs = context.nowMs
        transaction.forEachCommand { command in
            context.begin(command, session: session)
            context.holdClock(at: nowMs)
            guard let spec = resolve(command) else { return context.reply.error("ERR unknown command") }
            context.row = spec
            KVLoopCounters.bump(context.counters.commandsProcessed)
            context.changed = false
            spec.run(context)
            count(spec)
            if context.tracking.isActive { context.finishTracking(spec, command, topLevel: false) }
            if context.isReplicating { context.commandFinished() }
            if store.monitors.count.load(ordering: .relaxed) > 0 && !spec.flags.contains(.admin) {
                KVMonitor.feed(command, of: session, context)
            }
        }
        // The queue's errors are its commands' own, not EXEC's.
        context.repliedError = false
    }

    /// The shards of a command's keys, as a bit mask.
    func lockMask(_ spec: KVCommandSpec, _ command: RESPCommand) -> UInt64 {
        var mask: UInt64 = 0
        spec.keys.forEachKey(of: command) { index in
            mask |= UInt64(1) << UInt64(store.shardIndex(for: ByteHash.hash(command[index])))
        }
        return mask
    }

    /// "ERR unknown command 'name', with args beginning with: 'a' 'b' ", as
    /// redis-server words it: at most 128 bytes of the name and of the
    /// arguments, each read as a C string (up to a NUL), bytes as they came.
    private func unknownCommand(_ command: RESPCommand, _ session: KVSession) {
        rejectInTransaction(session)
        var message = Array("ERR unknown command '".utf8)
        message += command[0].prefix(while: { $0 != 0 }).prefix(128)
        message += Array("', with args beginning with: ".utf8)
        var arguments: [UInt8] = []
        var index = 1
        while index < command.count && arguments.count < 128 {
            arguments.append(0x27)
            arguments += command[index].prefix(while: { $0 != 0 }).prefix(128 - (arguments.count - 1))
            arguments += [0x27, 0x20]
            index += 1
        }
        context.reply.error(message + arguments)
    }

    /// Evicts keys while the store is over maxmemory (KVEviction); when it
    /// stays over, refuses what would add memory, as redis-server does: a
    /// `denyoom` command, anything but EXEC, DISCARD, QUIT and RESET inside
    /// MULTI (the queue grows too), and an EXEC whose queue holds a
    /// `denyoom` command (the transaction is then discarded). Whether it
    /// replied the refusal.
    private func refusedForMemory(row: KVCommandSpec, spec: KVCommandSpec, session: KVSession) -> Bool {
        let roomMade = KVEviction.makeRoom(in: store, using: &context.random)
        // Readers of what was evicted hear of it before the reply.
        if context.tracking.isActive && store.events.pending.load(ordering: .relaxed) > 0 {
            context.announceQueuedEvents(current: session.record, deferred: false)
        }
        guard !roomMade else { return false }
        let name = "\(row.name)"
        if name == "exec", let transaction = session.transaction {
            var addsMemory = false
            transaction.forEachCommand { command in
                if resolve(command)?.flags.contains(.denyoom) == true { addsMemory = true }
            }
            guard addsMemory else { return false }
            session.transaction = nil
            KVTransactionCommands.unwatchAll(context)
            context.reply.error(
                "EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.")
            return true
        }
        let queues = session.transaction != nil && !["exec", "discard", "quit", "reset"].contains(name)
        guard queues || spec.flags.contains(.denyoom) else { return false }
        rejectInTransaction(session)
        context.outOfMemory()
        return true
    }

    /// A command refused while a transaction is open dooms it (EXECABORT).
    private func rejectInTransaction(_ session: KVSession) {
        session.transaction?.failed = true
    }

    /// Queues a command of an open transaction.
    private func queue(_ command: RESPCommand, session: KVSession) {
        guard session.transaction!.queue(command) else {
            session.transaction!.failed = true
            return context.reply.error("ERR Transaction queue is full")
        }
        context.reply.simpleString("QUEUED")
    }

    /// What a transaction runs at once instead of queuing.
    static func runsInsideTransaction(_ name: StaticString) -> Bool {
        switch "\(name)" {
        case "exec", "discard", "multi", "watch", "quit", "reset": return true
        default: return false
        }
    }

    /// What RESP2's subscriber context allows.
    static func allowedWhileSubscribed(_ name: StaticString) -> Bool {
        switch "\(name)" {
        case "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "ping", "quit",
            "reset":
            return true
        default: return false
        }
    }
}
