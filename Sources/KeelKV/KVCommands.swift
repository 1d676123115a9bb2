// KVCommands: keel-kv's command layer: each command checked and carried out
// against the store, with redis-server 7's replies and error texts. Requests
// arrive as borrowed RESPCommands and replies are written straight into the
// connection's output; keys and values are copied only when stored.
//
// This file: dispatch, the shared error replies, and the commands that touch
// no key (PING, ECHO, QUIT, DBSIZE, FLUSHALL, SELECT, HELLO, CLIENT, CONFIG,
// COMMAND). The data types' commands are in the KVCommands+*.swift files.

import Keel

/// What the connection should do after a command.
public enum KVOutcome: Equatable, Sendable {
    /// Nothing: go on.
    case proceed
    /// Close once the reply is written (QUIT).
    case close
}

/// Carries out commands against a store.
public struct KVCommands: Sendable {
    /// The store the commands act on.
    public let store: KVStore
    /// Each open connection's id and name.
    var sessions = KVSessions()

    /// Commands against `store`.
    public init(store: KVStore) {
        self.store = store
    }

    /// Runs `command`, writing its reply through `reply`.
    public mutating func execute(_ command: RESPCommand, reply: RESPReplies, connection: ConnectionID) -> KVOutcome {
        guard let name = KVCommandName(command) else {
            unknownCommand(command, reply)
            return .proceed
        }
        guard name.accepts(command.count) else {
            reply.error("ERR wrong number of arguments for '\(name.name)' command")
            return .proceed
        }
        switch name {
        case .get: get(command, reply)
        case .set: set(command, reply)
        case .del: delete(command, reply)
        case .exists: exists(command, reply)
        case .incr: incrementBy(command, reply, 1)
        case .decr: incrementBy(command, reply, -1)
        case .incrby: incrementBy(command, reply, nil)
        case .decrby: decrementBy(command, reply)
        case .mget: multiGet(command, reply)
        case .mset: multiSet(command, reply)
        case .expire: expire(command, reply, unitMs: 1_000, name: "expire")
        case .pexpire: expire(command, reply, unitMs: 1, name: "pexpire")
        case .ttl: timeToLive(command, reply, divisor: 1_000)
        case .pttl: timeToLive(command, reply, divisor: 1)
        case .lpush: push(command, reply, front: true)
        case .rpush: push(command, reply, front: false)
        case .lpop: pop(command, reply, front: true)
        case .rpop: pop(command, reply, front: false)
        case .llen: listLength(command, reply)
        case .lrange: listRange(command, reply)
        case .sadd: setAdd(command, reply)
        case .srem: setRemove(command, reply)
        case .spop: setPop(command, reply)
        case .scard: setCardinality(command, reply)
        case .sismember: setIsMember(command, reply)
        case .smembers: setMembers(command, reply)
        case .hset: hashSet(command, reply)
        case .hget: hashGet(command, reply)
        case .hdel: hashDelete(command, reply)
        case .hgetall: hashGetAll(command, reply)
        case .hlen: hashLength(command, reply)
        case .ping: ping(command, reply)
        case .echo: reply.bulkString(command[1])
        case .quit:
            reply.simpleString("OK")
            return .close
        case .dbsize: reply.integer(store.count)
        case .flushall: flushAll(command, reply)
        case .select: select(command, reply)
        case .hello: hello(command, reply, connection: connection)
        case .client: client(command, reply, connection: connection)
        case .config: config(command, reply)
        case .command: commandInfo(command, reply)
        }
        return .proceed
    }

    /// Gives a new connection its session (and its unique client id).
    public mutating func connectionOpened(_ id: ConnectionID) {
        sessions.open(id, id: store.clientIDs.next())
    }

    /// Forgets a closed connection's session.
    public mutating func connectionClosed(_ id: ConnectionID) {
        sessions.close(id)
    }

    // MARK: shared errors

    static let wrongType: StaticString = "WRONGTYPE Operation against a key holding the wrong kind of value"
    static let notAnInteger: StaticString = "ERR value is not an integer or out of range"
    static let syntaxError: StaticString = "ERR syntax error"
    static let mustBePositive: StaticString = "ERR value is out of range, must be positive"

    /// "ERR unknown command 'name', with args beginning with: 'a' 'b' ", as
    /// redis-server words it: at most 128 bytes of the name and of the
    /// arguments, each read as a C string (up to a NUL), bytes as they came.
    func unknownCommand(_ command: RESPCommand, _ reply: RESPReplies) {
        var message = Array("ERR unknown command '".utf8)
        message += Self.cString(command[0]).prefix(128)
        message += Array("', with args beginning with: ".utf8)
        var arguments: [UInt8] = []
        var index = 1
        while index < command.count && arguments.count < 128 {
            arguments.append(0x27)
            arguments += Self.cString(command[index]).prefix(128 - (arguments.count - 1))
            arguments += [0x27, 0x20]
            index += 1
        }
        reply.error(bytes: message + arguments)
    }

    /// An error message quoting `argument` between two texts, the argument
    /// read as redis-server's %s reads it (up to a NUL), bytes as they came.
    static func text(_ before: StaticString, _ argument: UnsafeRawBufferPointer, _ after: StaticString) -> [UInt8] {
        Array(UnsafeBufferPointer(start: before.utf8Start, count: before.utf8CodeUnitCount)) + cString(argument)
            + Array(UnsafeBufferPointer(start: after.utf8Start, count: after.utf8CodeUnitCount))
    }

    /// The bytes of `argument` up to its first NUL, as C reads a string.
    static func cString(_ argument: UnsafeRawBufferPointer) -> [UInt8] {
        Array(argument.prefix(while: { $0 != 0 }))
    }

    // MARK: commands without keys

    func ping(_ command: RESPCommand, _ reply: RESPReplies) {
        guard command.count <= 2 else {
            reply.error("ERR wrong number of arguments for 'ping' command")
            return
        }
        if command.count == 2 { reply.bulkString(command[1]) } else { reply.simpleString("PONG") }
    }

    func flushAll(_ command: RESPCommand, _ reply: RESPReplies) {
        guard
            command.count == 1
                || (command.count == 2
                    && (command.argument(1, equalsIgnoringCase: "SYNC")
                        || command.argument(1, equalsIgnoringCase: "ASYNC")))
        else {
            reply.error(Self.syntaxError)
            return
        }
        store.removeAll()
        reply.simpleString("OK")
    }

    func select(_ command: RESPCommand, _ reply: RESPReplies) {
        guard let index = command.integer(at: 1) else {
            reply.error(Self.notAnInteger)
            return
        }
        // keel-kv has one database (redis-server has 16 by default).
        if index == 0 { reply.simpleString("OK") } else { reply.error("ERR DB index is out of range") }
    }

    /// HELLO [2 [AUTH ...] [SETNAME name]]: RESP2 only.
    mutating func hello(_ command: RESPCommand, _ reply: RESPReplies, connection: ConnectionID) {
        if command.count >= 2 {
            guard let version = command.integer(at: 1) else {
                reply.error("ERR Protocol version is not an integer or out of range")
                return
            }
            guard version == 2 else {
                reply.error("NOPROTO unsupported protocol version")
                return
            }
            var index = 2
            var name: UnsafeRawBufferPointer?
            while index < command.count {
                if command.argument(index, equalsIgnoringCase: "SETNAME") && index + 1 < command.count {
                    name = command[index + 1]
                    index += 2
                } else if command.argument(index, equalsIgnoringCase: "AUTH") && index + 2 < command.count {
                    index += 3
                } else {
                    reply.error(bytes: Self.text("ERR Syntax error in HELLO option '", command[index], "'"))
                    return
                }
            }
            if let name {
                guard Self.isValidClientName(name) else {
                    reply.error(Self.invalidClientName)
                    return
                }
                sessions[connection].name = name.isEmpty ? nil : Array(name)
            }
        }
        reply.arrayHeader(14)
        Self.bulk("server", reply)
        Self.bulk("redis", reply)
        Self.bulk("version", reply)
        Self.bulk("7.0.15", reply)
        Self.bulk("proto", reply)
        reply.integer(2)
        Self.bulk("id", reply)
        reply.integer(sessions[connection].id)
        Self.bulk("mode", reply)
        Self.bulk("standalone", reply)
        Self.bulk("role", reply)
        Self.bulk("master", reply)
        Self.bulk("modules", reply)
        reply.arrayHeader(0)
    }

    /// A bulk string reply from constant text.
    static func bulk(_ text: StaticString, _ reply: RESPReplies) {
        reply.bulkString(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// CLIENT's subcommands keel-kv knows, with their arity (name included).
    enum ClientSubcommand: CaseIterable {
        case setname, getname, setinfo, id

        var name: StaticString {
            switch self {
            case .setname: "setname"
            case .getname: "getname"
            case .setinfo: "setinfo"
            case .id: "id"
            }
        }

        var arity: Int {
            switch self {
            case .setname: 3
            case .getname, .id: 2
            case .setinfo: 4
            }
        }
    }

    /// CLIENT SETNAME, GETNAME, SETINFO (accepted as redis-server 7.2 does), ID.
    mutating func client(_ command: RESPCommand, _ reply: RESPReplies, connection: ConnectionID) {
        guard
            let subcommand = ClientSubcommand.allCases.first(where: { command.argument(1, equalsIgnoringCase: $0.name) }
            )
        else {
            reply.error(bytes: Self.text("ERR unknown subcommand '", command[1], "'. Try CLIENT HELP."))
            return
        }
        guard command.count == subcommand.arity else {
            reply.error("ERR wrong number of arguments for 'client|\(subcommand.name)' command")
            return
        }
        switch subcommand {
        case .setname:
            let name = command[2]
            guard Self.isValidClientName(name) else {
                reply.error(Self.invalidClientName)
                return
            }
            sessions[connection].name = name.isEmpty ? nil : Array(name)
            reply.simpleString("OK")
        case .getname:
            if let name = sessions[connection].name { reply.bulkString(name) } else { reply.null() }
        case .id:
            reply.integer(sessions[connection].id)
        case .setinfo:
            reply.simpleString("OK")
        }
    }

    static let invalidClientName: StaticString =
        "ERR Client names cannot contain spaces, newlines or special characters."

    /// Redis's rule for client names: printable ASCII without spaces.
    static func isValidClientName(_ name: UnsafeRawBufferPointer) -> Bool {
        !name.contains(where: { $0 <= 0x20 || $0 >= 0x7F })
    }

    /// CONFIG GET with exact names or "*": the few settings clients and
    /// redis-benchmark ask about.
    func config(_ command: RESPCommand, _ reply: RESPReplies) {
        guard command.argument(1, equalsIgnoringCase: "GET") else {
            reply.error(bytes: Self.text("ERR unknown subcommand '", command[1], "'. Try CONFIG HELP."))
            return
        }
        guard command.count >= 3 else {
            reply.error("ERR wrong number of arguments for 'config|get' command")
            return
        }
        let settings: [(String, String)] = [("save", ""), ("appendonly", "no"), ("databases", "1")]
        var matched: [(String, String)] = []
        for index in 2..<command.count {
            let pattern = String(decoding: command[index], as: UTF8.self).lowercased()
            for setting in settings where pattern == "*" || pattern == setting.0 {
                if !matched.contains(where: { $0.0 == setting.0 }) { matched.append(setting) }
            }
        }
        reply.arrayHeader(matched.count * 2)
        for (name, value) in matched {
            reply.bulkString(Array(name.utf8))
            reply.bulkString(Array(value.utf8))
        }
    }

    /// COMMAND, COMMAND COUNT, COMMAND DOCS: clients ask at connect time;
    /// keel-kv answers with the count and empty lists (no per-command docs).
    func commandInfo(_ command: RESPCommand, _ reply: RESPReplies) {
        if command.count >= 2 && command.argument(1, equalsIgnoringCase: "COUNT") {
            reply.integer(KVCommandName.allCases.count)
        } else {
            reply.arrayHeader(0)
        }
    }
}
