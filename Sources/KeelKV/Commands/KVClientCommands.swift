// CLIENT: the connection's own name, id and library, and the server's
// connections as CLIENT LIST and CLIENT KILL see them (every loop's, from
// their records: KVClientRecord).

import KeelWire

enum KVClientCommands {
    /// Redis's rule for client names: printable ASCII without spaces.
    static func isValidClientName(_ name: UnsafeRawBufferPointer) -> Bool {
        !name.contains(where: { $0 <= 0x20 || $0 >= 0x7F })
    }

    static let invalidClientName: StaticString =
        "ERR Client names cannot contain spaces, newlines or special characters."

    static func id(_ context: KVContext) {
        context.reply.integer(context.session.id)
    }

    static func getName(_ context: KVContext) {
        if let name = context.session.name { context.reply.bulkString(name) } else { context.reply.null() }
    }

    static func setName(_ context: KVContext) {
        let name = context[2]
        guard isValidClientName(name) else { return context.reply.error(invalidClientName) }
        context.session.name = name.isEmpty ? nil : Array(name)
        context.reply.simpleString("OK")
    }

    /// CLIENT SETINFO LIB-NAME | LIB-VER value (redis-server 7.2's).
    static func setInfo(_ context: KVContext) {
        let value = context[3]
        let record = context.session.record
        if context.argument(2, is: "LIB-NAME") {
            guard isValidClientName(value) else {
                return context.reply.error("ERR lib-name cannot contain spaces, newlines or special characters.")
            }
            record.libraryName = Array(value)
        } else if context.argument(2, is: "LIB-VER") {
            guard isValidClientName(value) else {
                return context.reply.error("ERR lib-ver cannot contain spaces, newlines or special characters.")
            }
            record.libraryVersion = Array(value)
        } else {
            return context.reply.error(KVContext.text("ERR Unrecognized option '", context[2], "'"))
        }
        context.reply.simpleString("OK")
    }

    /// CLIENT NO-EVICT and CLIENT NO-TOUCH ON | OFF: accepted, as keel-kv
    /// evicts nothing and keeps no access times.
    static func onOff(_ context: KVContext, _ apply: (KVClientRecord, Bool) -> Void) {
        if context.argument(2, is: "ON") {
            apply(context.session.record, true)
        } else if context.argument(2, is: "OFF") {
            apply(context.session.record, false)
        } else {
            return context.syntaxError()
        }
        context.reply.simpleString("OK")
    }

    static func noEvict(_ context: KVContext) {
        onOff(context) { record, on in record.noEvict.store(on, ordering: .relaxed) }
    }

    /// CLIENT PAUSE timeout [WRITE | ALL]: holds back every client's
    /// commands (ALL, the default) or those that write (WRITE) for
    /// `timeout` ms (KVClientPause); replicas are never held.
    static func pause(_ context: KVContext) {
        guard context.argumentCount <= 4 else { return context.subcommandSyntaxError("CLIENT") }
        var kind = KVClientPause.Kind.all
        if context.argumentCount == 4 {
            if context.argument(3, is: "WRITE") {
                kind = .write
            } else if !context.argument(3, is: "ALL") {
                return context.reply.error("ERR CLIENT PAUSE mode must be WRITE or ALL")
            }
        }
        guard let timeout = context.command.integer(at: 2) else {
            return context.reply.error("ERR timeout is not an integer or out of range")
        }
        guard timeout >= 0 else { return context.reply.error("ERR timeout is negative") }
        let now = context.nowMs
        // 0 ends at once (redis-server's end of 0), as does a timeout whose
        // end overflows (7.0's wraps to the past): a pause already on keeps
        // its end and takes the stricter kind. Past what the word holds is
        // for ever.
        let end = timeout > 0 && timeout <= Int64.max - now ? min(now + timeout, Int64.max >> 2 - 1) : 0
        context.store.clientPause.pause(kind, untilMs: end, nowMs: now)
        context.reply.simpleString("OK")
    }

    /// CLIENT UNPAUSE: ends a pause; the held clients go on, in order.
    static func unpause(_ context: KVContext) {
        context.store.clientPause.unpause()
        context.services.clientsUnpaused()
        context.reply.simpleString("OK")
    }

    /// CLIENT REPLY ON | OFF | SKIP (the loop drops the replies: KVReplyMode).
    static func reply(_ context: KVContext) {
        if context.argument(2, is: "ON") {
            context.session.replyMode = .on
            context.reply.simpleString("OK")
        } else if context.argument(2, is: "OFF") {
            context.session.replyMode = .off
        } else if context.argument(2, is: "SKIP") {
            // SKIP while OFF leaves replies off, as redis-server does.
            if context.session.replyMode != .off { context.session.replyMode = .skipNext }
        } else {
            context.syntaxError()
        }
    }

    static func noTouch(_ context: KVContext) {
        onOff(context) { _, _ in }
    }

    /// One CLIENT LIST / CLIENT INFO line, in redis-server 7.0's fields
    /// (those keel-kv has no value for read 0).
    static func line(_ record: KVClientRecord, nowMs: Int64) -> String {
        let name = record.name.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let queued = record.queuedCommands.load(ordering: .relaxed)
        let channels = record.channelCount.load(ordering: .relaxed)
        let patterns = record.patternCount.load(ordering: .relaxed)
        let shardChannels = record.shardChannelCount.load(ordering: .relaxed)
        // In redis-server's order.
        var flags = ""
        if record.isMonitor.load(ordering: .relaxed) { flags += "O" }
        if record.isReplica.load(ordering: .relaxed) { flags += "S" }
        if channels + patterns + shardChannels > 0 { flags += "P" }
        if queued >= 0 { flags += "x" }
        if record.blocked.load(ordering: .relaxed) { flags += "b" }
        let tracking = record.tracking
        if tracking.contains(.on) { flags += "t" }
        if tracking.contains(.brokenRedirect) { flags += "R" }
        if tracking.contains(.broadcast) { flags += "B" }
        if record.noEvict.load(ordering: .relaxed) { flags += "e" }
        if flags.isEmpty { flags = "N" }
        let library = record.libraryName.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let version = record.libraryVersion.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let redirect = tracking.contains(.on) ? record.trackingRedirect.load(ordering: .relaxed) : -1
        let age = max(0, (nowMs - record.openedAtMs) / 1_000)
        let idle = max(0, (nowMs - record.lastCommandAtMs.load(ordering: .relaxed)) / 1_000)
        return "id=\(record.id) addr=\(record.address) laddr=\(record.localAddress) fd=\(record.client.slot) "
            + "name=\(name) age=\(age) idle=\(idle) flags=\(flags) db=0 sub=\(channels) psub=\(patterns) ssub=\(shardChannels) multi=\(queued) qbuf=0 "
            + "qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r "
            + "cmd=\(record.lastCommand) user=default redir=\(redirect) resp=\(record.protocolVersion.load(ordering: .relaxed)) "
            + "lib-name=\(library) lib-ver=\(version)"
    }

    static func info(_ context: KVContext) {
        let text = line(context.session.record, nowMs: context.nowMs) + "\n"
        Array(text.utf8).withUnsafeBytes { context.reply.verbatim($0) }
    }

    /// CLIENT LIST [TYPE normal | master | replica | pubsub | ID id ...]:
    /// one filter at most, as redis-server 7.0 takes them; clients by ID in
    /// the order asked, once per time asked.
    static func list(_ context: KVContext) {
        var records = context.store.clients.all
        if context.argumentCount == 4 && context.argument(2, is: "TYPE") {
            guard let filter = typeFilter(context[3]) else {
                return context.reply.error(KVContext.text("ERR Unknown client type '", context[3], "'"))
            }
            records = records.filter(filter)
        } else if context.argumentCount >= 4 && context.argument(2, is: "ID") {
            var ids: [Int64] = []
            for index in 3..<context.argumentCount {
                guard let id = context.command.integer(at: index) else {
                    return context.reply.error("ERR Invalid client ID")
                }
                ids.append(id)
            }
            let byID = Dictionary(records.map { (Int64($0.id), $0) }, uniquingKeysWith: { first, _ in first })
            records = ids.compactMap { byID[$0] }
        } else if context.argumentCount != 2 {
            return context.syntaxError()
        }
        let nowMs = context.nowMs
        let text = records.map { line($0, nowMs: nowMs) + "\n" }.joined()
        Array(text.utf8).withUnsafeBytes { context.reply.verbatim($0) }
    }

    /// CLIENT LIST's and CLIENT KILL's TYPE: keel-kv's clients are normal,
    /// pubsub or replicas (it is never a replica, so it has no master).
    static func typeFilter(_ type: UnsafeRawBufferPointer) -> ((KVClientRecord) -> Bool)? {
        func subscribed(_ record: KVClientRecord) -> Bool {
            record.channelCount.load(ordering: .relaxed) + record.patternCount.load(ordering: .relaxed) > 0
        }
        func replica(_ record: KVClientRecord) -> Bool { record.isReplica.load(ordering: .relaxed) }
        if KVBytes.equalIgnoringCase(type, KVKeyCommands.bytes("normal")) {
            return { !subscribed($0) && !replica($0) }
        }
        if KVBytes.equalIgnoringCase(type, KVKeyCommands.bytes("pubsub")) { return { subscribed($0) && !replica($0) } }
        if KVBytes.equalIgnoringCase(type, KVKeyCommands.bytes("replica"))
            || KVBytes.equalIgnoringCase(type, KVKeyCommands.bytes("slave"))
        {
            return replica
        }
        if KVBytes.equalIgnoringCase(type, KVKeyCommands.bytes("master")) { return { _ in false } }
        return nil
    }

    /// CLIENT UNBLOCK id [TIMEOUT | ERROR]: 1 when that client was blocked
    /// (it gets its timeout's reply, or the UNBLOCKED error), else 0.
    static func unblock(_ context: KVContext) {
        guard context.argumentCount <= 4 else { return context.subcommandSyntaxError("CLIENT") }
        guard let id = context.integer(at: 2) else { return }
        var withError = false
        if context.argumentCount == 4 {
            if context.argument(3, is: "ERROR") {
                withError = true
            } else if !context.argument(3, is: "TIMEOUT") {
                return context.reply.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
            }
        }
        guard let target = context.store.clients.all.first(where: { $0.id == Int(id) }),
            target.blocked.load(ordering: .relaxed)
        else { return context.reply.integer(0) }
        let serial = target.blockSerial.load(ordering: .relaxed)
        context.services.release(KVBlocking.Waiter(client: target.client, serial: serial), withError: withError)
        context.reply.integer(1)
    }

    /// CLIENT KILL ip:port (replies OK or an error), or CLIENT KILL with
    /// filters ID, ADDR, LADDR, USER, TYPE, SKIPME (replies how many
    /// were killed). A killed client is forgotten at once and its
    /// connection closed with its pending replies dropped; killing oneself
    /// closes after this reply.
    static func kill(_ context: KVContext) {
        let me = context.session.record
        if context.argumentCount == 3 {
            let address = String(decoding: context[2], as: UTF8.self)
            guard let target = context.store.clients.all.first(where: { $0.address == address }) else {
                return context.reply.error("ERR No such client")
            }
            close(context, target)
            return context.reply.simpleString("OK")
        }
        guard context.argumentCount % 2 == 0 else { return context.syntaxError() }
        var filters: [(KVClientRecord) -> Bool] = []
        var skipMe = true
        for index in stride(from: 2, to: context.argumentCount, by: 2) {
            let value = context[index + 1]
            let text = String(decoding: value, as: UTF8.self)
            if context.argument(index, is: "ID") {
                guard let id = context.command.integer(at: index + 1), id > 0 else {
                    return context.reply.error("ERR client-id should be greater than 0")
                }
                filters.append { $0.id == Int(id) }
            } else if context.argument(index, is: "ADDR") {
                filters.append { $0.address == text }
            } else if context.argument(index, is: "LADDR") {
                filters.append { $0.localAddress == text }
            } else if context.argument(index, is: "USER") {
                guard text == "default" else {
                    return context.reply.error(KVContext.text("ERR No such user '", value, "'"))
                }
            } else if context.argument(index, is: "TYPE") {
                guard let filter = typeFilter(value) else {
                    return context.reply.error(KVContext.text("ERR Unknown client type '", value, "'"))
                }
                filters.append(filter)
            } else if context.argument(index, is: "SKIPME") {
                if KVBytes.equalIgnoringCase(value, KVKeyCommands.bytes("yes")) {
                    skipMe = true
                } else if KVBytes.equalIgnoringCase(value, KVKeyCommands.bytes("no")) {
                    skipMe = false
                } else {
                    return context.syntaxError()
                }
            } else {
                return context.syntaxError()
            }
        }
        var killed = 0
        for record in context.store.clients.all where filters.allSatisfy({ $0(record) }) {
            if skipMe && record === me { continue }
            close(context, record)
            killed += 1
        }
        context.reply.integer(killed)
    }

    /// Kills `record`'s client: marked at once (see KVClientRecord.killed),
    /// closed with its pending replies dropped, as redis-server frees a
    /// killed client; oneself after this reply.
    private static func close(_ context: KVContext, _ record: KVClientRecord) {
        if record === context.session.record {
            context.closeAfterReply = true
        } else {
            record.killed.store(true, ordering: .relaxed)
            context.services.abort(record.client)
        }
    }
}
