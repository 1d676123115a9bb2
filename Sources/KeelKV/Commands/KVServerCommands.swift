// Connection and server commands: PING, ECHO, QUIT, CONFIG, COMMAND, TIME,
// LASTSAVE, ROLE, and the help texts (CLIENT: KVClientCommands; INFO:
// KVInfo; HELLO, AUTH, RESET: KVTransactionCommands).

import Glibc
import KeelWire

enum KVServerCommands {
    /// A subcommand's HELP: its lines as simple strings.
    static func help(_ context: KVContext, _ lines: [StaticString]) {
        context.reply.arrayHeader(lines.count)
        for line in lines { context.reply.simpleString(line) }
    }

    static func ping(_ context: KVContext) {
        guard context.argumentCount <= 2 else { return context.wrongArguments("ping") }
        if context.session.isSubscriber && context.session.protocolVersion == 2 {
            // In RESP2's subscriber context PING answers as a message would.
            context.reply.arrayHeader(2)
            context.reply.bulkString("pong")
            context.reply.bulkString(
                context.argumentCount == 2 ? context[1] : UnsafeRawBufferPointer(start: nil, count: 0))
            return
        }
        if context.argumentCount == 2 {
            context.reply.bulkString(context[1])
        } else {
            context.reply.simpleString("PONG")
        }
    }

    static func echo(_ context: KVContext) {
        context.reply.bulkString(context[1])
    }

    static func quit(_ context: KVContext) {
        context.reply.simpleString("OK")
        context.closeAfterReply = true
    }

    static func time(_ context: KVContext) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        context.reply.arrayHeader(2)
        context.reply.bulkString(Array(String(now.tv_sec).utf8))
        context.reply.bulkString(Array(String(now.tv_nsec / 1_000).utf8))
    }

    /// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]: stops the server
    /// gracefully (as SIGTERM: pending replies drain, every connection
    /// closes) and answers nothing, as redis-server. Nothing is kept to
    /// save: SAVE fails as a failed save makes redis-server's fail.
    static func shutdown(_ context: KVContext) {
        var save = false
        var noSave = false
        var abort = false
        var flagged = false
        for index in 1..<context.argumentCount {
            if context.argument(index, is: "NOSAVE") {
                noSave = true
            } else if context.argument(index, is: "SAVE") {
                save = true
            } else if context.argument(index, is: "NOW") || context.argument(index, is: "FORCE") {
                flagged = true
            } else if context.argument(index, is: "ABORT") {
                abort = true
            } else {
                return context.syntaxError()
            }
        }
        if (abort && (save || noSave || flagged)) || (save && noSave) { return context.syntaxError() }
        if abort { return context.reply.error("ERR No shutdown in progress.") }
        if save { return context.reply.error("ERR Errors trying to SHUTDOWN. Check logs.") }
        guard let action = context.store.shutdownAction.withLock({ $0 }) else {
            return context.reply.error("ERR Errors trying to SHUTDOWN. Check logs.")
        }
        action()
        context.closeAfterReply = true
    }

    static func lastsave(_ context: KVContext) {
        // Nothing is ever saved: the time the store started.
        context.reply.integer(Int(context.store.startedAtMs / 1_000))
    }

    // MARK: CONFIG

    /// CONFIG GET parameter [parameter ...] with Redis's glob patterns.
    static func configGet(_ context: KVContext) {
        // Per parameter: the name the reply gives it, and its value.
        var matched: [(name: String, shown: [UInt8], value: [UInt8])] = []
        let settings = KVConfig.all(context.store)
        for index in 2..<context.argumentCount {
            let pattern = context[index]
            let isGlob = pattern.contains {
                $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[")
            }
            for (name, value) in settings where !matched.contains(where: { $0.name == name }) {
                // 7.2's set-max-listpack-* answer when named, not to a glob,
                // so a glob matches what redis-server 7.0 has.
                if isGlob && name.hasPrefix("set-max-listpack") { continue }
                let hit = Array(name.utf8).withUnsafeBytes { KVGlob.matches(pattern, $0, ignoringCase: true) }
                // A name given whole comes back as it was given (redis-server's).
                if hit { matched.append((name, isGlob ? Array(name.utf8) : Array(pattern), value)) }
            }
        }
        context.reply.mapHeader(matched.count)
        for (_, shown, value) in matched {
            context.reply.bulkString(shown)
            context.reply.bulkString(value)
        }
    }

    /// CONFIG SET parameter value [parameter value ...].
    static func configSet(_ context: KVContext) {
        guard context.argumentCount % 2 == 0 else { return context.wrongArguments("config|set") }
        // As redis-server: the names first (the first unknown, immutable or
        // repeated one is the error, named as given), then the values.
        var named: [String] = []
        for index in stride(from: 2, to: context.argumentCount, by: 2) {
            let given = context[index]
            guard let parameter = KVConfig.parameter(named: given) else {
                return context.reply.error(
                    KVContext.text("ERR Unknown option or number of arguments for CONFIG SET - '", given, "'"))
            }
            if parameter.isImmutableInRedis {
                return context.reply.error(
                    KVContext.text(
                        "ERR CONFIG SET failed (possibly related to argument '", given,
                        "') - can't set immutable config"))
            }
            if named.contains(parameter.name) {
                return context.reply.error(
                    KVContext.text(
                        "ERR CONFIG SET failed (possibly related to argument '", given, "') - duplicate parameter"))
            }
            named.append(parameter.name)
        }
        for index in stride(from: 2, to: context.argumentCount, by: 2) {
            if let error = KVConfig.check(context[index], context[index + 1], store: context.store) {
                return context.reply.error(error)
            }
        }
        for index in stride(from: 2, to: context.argumentCount, by: 2) {
            KVConfig.set(context[index], context[index + 1], store: context.store)
        }
        // A lower tracking-table-max-keys applies at once (redis-server
        // trims before the next command; its readers hear of it alike).
        if context.tracking.isActive && context.tracking.isOverLimit {
            context.forgetTrackedOverLimit(current: nil)
        }
        context.reply.simpleString("OK")
    }

    static func configResetStat(_ context: KVContext) {
        context.store.resetStatistics()
        context.reply.simpleString("OK")
    }

    static func configRewrite(_ context: KVContext) {
        context.reply.error("ERR The server is running without a config file")
    }

    // MARK: COMMAND

    static func commandCount(_ context: KVContext) {
        context.reply.integer(KVCommandTable.all.count)
    }

    /// One command's COMMAND INFO entry, as redis-server 7.0 writes it.
    static func commandInfo(_ context: KVContext, _ spec: KVCommandSpec, parent: KVCommandSpec? = nil) {
        context.reply.arrayHeader(10)
        let name = parent.map { "\($0.name)|\(spec.name)" } ?? "\(spec.name)"
        context.reply.bulkString(Array(name.utf8))
        context.reply.integer(spec.arity)
        let flags = KVCommandFlags.names.filter { spec.flags.contains($0.0) }
        context.reply.setHeader(flags.count)
        for (_, flagName) in flags { context.reply.simpleString(flagName) }
        // Movable keys report their declared fixed part (ZUNIONSTORE's
        // destination: 1 1 1; LMPOP's nothing: 0 0 0), as redis-server does.
        context.reply.integer(spec.keys.first)
        context.reply.integer(spec.keys.last)
        context.reply.integer(spec.keys.first == 0 ? 0 : spec.keys.step)
        let categories = "\(spec.categories)".split(separator: " ")
        context.reply.setHeader(categories.count)
        for category in categories { Array(category.utf8).withUnsafeBytes { context.reply.simpleString($0) } }
        // Tips, key specifications and no subcommands: empty sets in RESP3,
        // as redis-server 7.0 writes them; subcommands, an array.
        context.reply.setHeader(0)
        context.reply.setHeader(0)
        if spec.subcommands.isEmpty {
            context.reply.setHeader(0)
        } else {
            context.reply.arrayHeader(spec.subcommands.count)
        }
        for sub in spec.subcommands { commandInfo(context, sub, parent: spec) }
    }

    /// COMMAND: every command's info.
    static func command(_ context: KVContext) {
        context.reply.arrayHeader(KVCommandTable.all.count)
        for spec in KVCommandTable.all { commandInfo(context, spec) }
    }

    /// COMMAND INFO [name ...]: the named commands' info (all without names).
    static func commandInfoCommand(_ context: KVContext) {
        if context.argumentCount == 2 { return command(context) }
        context.reply.arrayHeader(context.argumentCount - 2)
        for index in 2..<context.argumentCount {
            if let spec = KVCommandTable.find(context[index]) {
                commandInfo(context, spec)
            } else if let (parent, sub) = subcommand(named: context[index]) {
                commandInfo(context, sub, parent: parent)
            } else {
                // redis-server 7.0's null bulk ($-1), not a null array.
                context.reply.null()
            }
        }
    }

    /// "container|subcommand" (COMMAND INFO's name for one), if it names one.
    static func subcommand(named name: UnsafeRawBufferPointer) -> (KVCommandSpec, KVCommandSpec)? {
        guard let bar = name.firstIndex(of: UInt8(ascii: "|")),
            let parent = KVCommandTable.find(UnsafeRawBufferPointer(rebasing: name[..<bar])),
            let sub = KVCommandTable.subcommand(of: parent, named: UnsafeRawBufferPointer(rebasing: name[(bar + 1)...]))
        else { return nil }
        return (parent, sub)
    }

    /// COMMAND DOCS [name ...]: each command's summary, as a map.
    static func commandDocs(_ context: KVContext) {
        let specs: [KVCommandSpec] =
            context.argumentCount == 2
            ? KVCommandTable.all : (2..<context.argumentCount).compactMap { KVCommandTable.find(context[$0]) }
        context.reply.mapHeader(specs.count)
        for spec in specs { commandDoc(context, spec, name: "\(spec.name)") }
    }

    /// One command's COMMAND DOCS entry: its summary, its group (from its
    /// ACL categories) and its subcommands'.
    private static func commandDoc(_ context: KVContext, _ spec: KVCommandSpec, name: String) {
        context.reply.bulkString(Array(name.utf8))
        context.reply.mapHeader(spec.subcommands.isEmpty ? 2 : 3)
        context.reply.bulkString("summary")
        context.reply.bulkString(spec.summary)
        context.reply.bulkString("group")
        context.reply.bulkString(Array(group(of: spec).utf8))
        guard !spec.subcommands.isEmpty else { return }
        context.reply.bulkString("subcommands")
        context.reply.mapHeader(spec.subcommands.count)
        for sub in spec.subcommands { commandDoc(context, sub, name: "\(name)|\(sub.name)") }
    }

    /// The documentation group redis-server files a command under, from
    /// the first of its ACL categories that names one ("server" for none).
    static func group(of spec: KVCommandSpec) -> String {
        // Where the categories mislead: SORT touches lists, sets and sorted
        // sets, WAIT is about replication, CLIENT about connections.
        switch "\(spec.name)" {
        case "sort", "sort_ro", "wait": return "generic"
        case "client": return "connection"
        default: break
        }
        let groups: [(category: Substring, group: String)] = [
            ("@bitmap", "bitmap"), ("@hyperloglog", "hyperloglog"), ("@geo", "geo"), ("@stream", "stream"),
            ("@string", "string"), ("@list", "list"), ("@sortedset", "sorted-set"), ("@set", "set"),
            ("@hash", "hash"), ("@pubsub", "pubsub"), ("@transaction", "transactions"),
            ("@scripting", "scripting"), ("@keyspace", "generic"), ("@connection", "connection"),
        ]
        let categories = "\(spec.categories)".split(separator: " ")
        return groups.first { categories.contains($0.category) }?.group ?? "server"
    }

    /// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern].
    static func commandList(_ context: KVContext) {
        // Every command and subcommand by its full name ("config|get").
        var named = KVCommandTable.all.flatMap { spec in
            [(spec.nameText, spec)] + spec.subcommands.map { ("\(spec.name)|\($0.name)", $0) }
        }
        if context.argumentCount > 2 {
            guard context.argumentCount == 5, context.argument(2, is: "FILTERBY") else { return context.syntaxError() }
            let value = context[4]
            if context.argument(3, is: "PATTERN") {
                named = named.filter { name, _ in
                    Array(name.utf8).withUnsafeBytes { KVGlob.matches(value, $0, ignoringCase: true) }
                }
            } else if context.argument(3, is: "ACLCAT") {
                let category = "@" + String(decoding: value, as: UTF8.self).lowercased()
                named = named.filter { "\($0.1.categories)".split(separator: " ").contains { $0 == category } }
            } else if context.argument(3, is: "MODULE") {
                named = []  // keel-kv loads no modules
            } else {
                return context.syntaxError()
            }
        }
        context.reply.arrayHeader(named.count)
        for (name, _) in named { context.reply.bulkString(Array(name.utf8)) }
    }

    /// COMMAND GETKEYS command arg ...: the key arguments of a command.
    static func commandGetKeys(_ context: KVContext) {
        guard var spec = KVCommandTable.find(context[2]) else {
            return context.reply.error("ERR Invalid command specified")
        }
        context.command.withDropped(2) { inner in
            guard spec.accepts(inner.count) else {
                return context.reply.error("ERR Invalid number of arguments specified for command")
            }
            // A container's keys are its subcommand's (OBJECT ENCODING key).
            if !spec.subcommands.isEmpty, inner.count >= 2,
                let sub = KVCommandTable.subcommand(of: spec, named: inner[1])
            {
                spec = sub
            }
            var keys: [Int] = []
            spec.keys.forEachKey(of: inner) { keys.append($0) }
            guard !keys.isEmpty else {
                return context.reply.error(
                    spec.flags.contains(.movableKeys)
                        ? "ERR Invalid arguments specified for command" : "ERR The command has no key arguments")
            }
            context.reply.arrayHeader(keys.count)
            for index in keys { context.reply.bulkString(inner[index]) }
        }
    }
}

extension RESPCommand {
    /// Calls `body` with the command without its first `count` arguments.
    func withDropped<R>(_ count: Int, _ body: (RESPCommand) -> R) -> R {
        let arguments = (count..<self.count).map { index -> RESPArgument in
            let bytes = self[index]
            return RESPArgument(start: bytes.baseAddress, count: bytes.count)
        }
        return arguments.withUnsafeBufferPointer {
            body(RESPCommand(copiedArguments: $0.baseAddress!, count: $0.count))
        }
    }
}
