// Connection and server commands: PING, ECHO, QUIT, RESET, HELLO, AUTH,
// CLIENT, CONFIG, COMMAND, INFO, TIME, LASTSAVE, ROLE, MEMORY, and the
// help texts.

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
            context.reply.bulkString(context.argumentCount == 2 ? context[1] : UnsafeRawBufferPointer(start: nil, count: 0))
            return
        }
        if context.argumentCount == 2 { context.reply.bulkString(context[1]) } else { context.reply.simpleString("PONG") }
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

    static func lastsave(_ context: KVContext) {
        // Nothing is ever saved: the time the store started.
        context.reply.integer(Int(context.store.startedAtMs / 1_000))
    }

    static func role(_ context: KVContext) {
        context.reply.arrayHeader(3)
        context.reply.bulkString("master")
        context.reply.integer(0)
        context.reply.arrayHeader(0)
    }

    /// Redis's rule for client names: printable ASCII without spaces.
    static func isValidClientName(_ name: UnsafeRawBufferPointer) -> Bool {
        !name.contains(where: { $0 <= 0x20 || $0 >= 0x7F })
    }

    static let invalidClientName: StaticString =
        "ERR Client names cannot contain spaces, newlines or special characters."

    // MARK: CLIENT

    static func clientID(_ context: KVContext) {
        context.reply.integer(context.session.id)
    }

    static func clientGetName(_ context: KVContext) {
        if let name = context.session.name { context.reply.bulkString(name) } else { context.reply.null() }
    }

    static func clientSetName(_ context: KVContext) {
        let name = context[2]
        guard isValidClientName(name) else { return context.reply.error(invalidClientName) }
        context.session.name = name.isEmpty ? nil : Array(name)
        context.reply.simpleString("OK")
    }

    /// CLIENT SETINFO LIB-NAME | LIB-VER value (redis-server 7.2's).
    static func clientSetInfo(_ context: KVContext) {
        let value = context[3]
        if context.argument(2, is: "LIB-NAME") {
            guard isValidClientName(value) else {
                return context.reply.error("ERR lib-name cannot contain spaces, newlines or special characters.")
            }
            context.session.libraryName = Array(value)
        } else if context.argument(2, is: "LIB-VER") {
            guard isValidClientName(value) else {
                return context.reply.error("ERR lib-ver cannot contain spaces, newlines or special characters.")
            }
            context.session.libraryVersion = Array(value)
        } else {
            return context.reply.error(KVContext.text("ERR Unrecognized option '", context[2], "'"))
        }
        context.reply.simpleString("OK")
    }

    static func clientNoEvict(_ context: KVContext) {
        if context.argument(2, is: "ON") {
            context.session.noEvict = true
        } else if context.argument(2, is: "OFF") {
            context.session.noEvict = false
        } else {
            return context.syntaxError()
        }
        context.reply.simpleString("OK")
    }

    /// One CLIENT LIST / CLIENT INFO line for `session`.
    static func clientLine(_ session: KVSession, nowMs: Int64, current: Bool) -> String {
        let name = session.name.map { String(decoding: $0, as: UTF8.self) } ?? ""
        var flags = ""
        if session.transaction != nil { flags += "x" }
        if session.isSubscriber { flags += "P" }
        if session.noEvict { flags += "e" }
        if flags.isEmpty { flags = "N" }
        let library = session.libraryName.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let version = session.libraryVersion.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let age = max(0, (nowMs - session.openedAtMs) / 1_000)
        let idle = current ? 0 : max(0, (nowMs - session.lastCommandAtMs) / 1_000)
        return "id=\(session.id) addr=\(session.address) laddr=? fd=\(session.client.slot) name=\(name) age=\(age) idle=\(idle) flags=\(flags) db=0 sub=\(session.channels.count) psub=\(session.patterns.count) ssub=0 multi=\(session.transaction.map { $0.count } ?? -1) qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=\(session.lastCommand) user=default redir=-1 resp=\(session.protocolVersion) lib-name=\(library) lib-ver=\(version)"
    }

    static func clientInfo(_ context: KVContext) {
        let line = clientLine(context.session, nowMs: context.nowMs, current: true) + "\n"
        line.utf8CString.withUnsafeBytes { context.reply.verbatim(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
    }

    // MARK: CONFIG

    /// CONFIG GET parameter [parameter ...] with Redis's glob patterns.
    static func configGet(_ context: KVContext) {
        var matched: [(String, [UInt8])] = []
        let settings = KVConfig.all(context.store)
        for index in 2..<context.argumentCount {
            let pattern = context[index]
            for (name, value) in settings where !matched.contains(where: { $0.0 == name }) {
                let hit = Array(name.utf8).withUnsafeBytes { KVGlob.matches(pattern, $0, ignoringCase: true) }
                if hit { matched.append((name, value)) }
            }
        }
        context.reply.mapHeader(matched.count)
        for (name, value) in matched {
            context.reply.bulkString(Array(name.utf8))
            context.reply.bulkString(value)
        }
    }

    /// CONFIG SET parameter value [parameter value ...].
    static func configSet(_ context: KVContext) {
        guard context.argumentCount % 2 == 0 else { return context.wrongArguments("config|set") }
        for index in stride(from: 2, to: context.argumentCount, by: 2) {
            if let error = KVConfig.check(context[index], context[index + 1], store: context.store) {
                return context.reply.error(error)
            }
        }
        for index in stride(from: 2, to: context.argumentCount, by: 2) {
            KVConfig.set(context[index], context[index + 1], store: context.store)
        }
        context.reply.simpleString("OK")
    }

    static func configResetStat(_ context: KVContext) {
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
        let keys = spec.keys.find == nil ? spec.keys : KVKeySpec.none
        context.reply.integer(keys.first)
        context.reply.integer(keys.last)
        context.reply.integer(keys.step)
        let categories = "\(spec.categories)".split(separator: " ")
        context.reply.setHeader(categories.count)
        for category in categories { Array(category.utf8).withUnsafeBytes { context.reply.simpleString($0) } }
        context.reply.setHeader(0)  // tips
        context.reply.arrayHeader(0)  // key specifications
        context.reply.arrayHeader(spec.subcommands.count)
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
            if let spec = KVCommandTable.find(context[index]) { commandInfo(context, spec) } else { context.reply.nullArray() }
        }
    }

    /// COMMAND DOCS [name ...]: each command's summary, as a map.
    static func commandDocs(_ context: KVContext) {
        let specs: [KVCommandSpec] =
            context.argumentCount == 2
            ? KVCommandTable.all : (2..<context.argumentCount).compactMap { KVCommandTable.find(context[$0]) }
        context.reply.mapHeader(specs.count)
        for spec in specs {
            context.reply.bulkString(spec.name)
            context.reply.mapHeader(1)
            context.reply.bulkString("summary")
            context.reply.bulkString(spec.summary)
        }
    }

    static func commandList(_ context: KVContext) {
        context.reply.arrayHeader(KVCommandTable.all.count)
        for spec in KVCommandTable.all { context.reply.bulkString(spec.name) }
    }

    /// COMMAND GETKEYS command arg ...: the key arguments of a command.
    static func commandGetKeys(_ context: KVContext) {
        guard let spec = KVCommandTable.find(context[2]) else {
            return context.reply.error("ERR Invalid command specified")
        }
        context.command.withDropped(2) { inner in
            guard spec.accepts(inner.count) else {
                return context.reply.error("ERR Invalid number of arguments specified for command")
            }
            var keys: [Int] = []
            spec.keys.forEachKey(of: inner) { keys.append($0) }
            guard !keys.isEmpty else { return context.reply.error("ERR The command has no key arguments") }
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
        return arguments.withUnsafeBufferPointer { body(RESPCommand(copiedArguments: $0.baseAddress!, count: $0.count)) }
    }
}
