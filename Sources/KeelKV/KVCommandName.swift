// KVCommandName: which command a request names, found without allocating:
// by the name's length, then a case-insensitive compare (command names are
// case-insensitive in Redis).

import Keel

/// The commands keel-kv serves.
public enum KVCommandName: CaseIterable, Sendable {
    case ping, echo, quit, get, set, del, exists, incr, incrby, decr, decrby, mget, mset
    case expire, pexpire, ttl, pttl, lpush, rpush, lpop, rpop, llen, lrange
    case sadd, srem, spop, scard, sismember, smembers, hset, hget, hdel, hgetall, hlen
    case dbsize, flushall, select, hello, client, config, command

    /// The name as redis-server spells it in its replies (lower case).
    public var name: StaticString {
        switch self {
        case .ping: "ping"
        case .echo: "echo"
        case .quit: "quit"
        case .get: "get"
        case .set: "set"
        case .del: "del"
        case .exists: "exists"
        case .incr: "incr"
        case .incrby: "incrby"
        case .decr: "decr"
        case .decrby: "decrby"
        case .mget: "mget"
        case .mset: "mset"
        case .expire: "expire"
        case .pexpire: "pexpire"
        case .ttl: "ttl"
        case .pttl: "pttl"
        case .lpush: "lpush"
        case .rpush: "rpush"
        case .lpop: "lpop"
        case .rpop: "rpop"
        case .llen: "llen"
        case .lrange: "lrange"
        case .sadd: "sadd"
        case .srem: "srem"
        case .spop: "spop"
        case .scard: "scard"
        case .sismember: "sismember"
        case .smembers: "smembers"
        case .hset: "hset"
        case .hget: "hget"
        case .hdel: "hdel"
        case .hgetall: "hgetall"
        case .hlen: "hlen"
        case .dbsize: "dbsize"
        case .flushall: "flushall"
        case .select: "select"
        case .hello: "hello"
        case .client: "client"
        case .config: "config"
        case .command: "command"
        }
    }

    /// Arguments the command takes, its name included, as redis-server
    /// states it: n means exactly n, -n means at least n.
    public var arity: Int {
        switch self {
        case .get, .incr, .decr, .ttl, .pttl, .llen, .scard, .smembers, .hgetall, .hlen, .echo, .select: 2
        case .incrby, .decrby, .sismember, .hget: 3
        case .lrange: 4
        case .set, .mset, .expire, .pexpire, .lpush, .rpush, .sadd, .srem, .hdel: -3
        case .hset: -4
        case .del, .exists, .mget, .lpop, .rpop, .spop, .client, .config: -2
        case .dbsize: 1
        case .ping, .quit, .flushall, .hello, .command: -1
        }
    }

    /// Whether `count` arguments (name included) satisfy the arity.
    @inlinable
    public func accepts(_ count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }

    /// Names grouped by length, for the lookup.
    static let byLength: [[KVCommandName]] = {
        var groups = [[KVCommandName]](repeating: [], count: 10)
        for command in KVCommandName.allCases { groups[command.name.utf8CodeUnitCount].append(command) }
        return groups
    }()

    /// The command `command` names, or nil.
    public init?(_ command: RESPCommand) {
        let length = command[0].count
        guard length < Self.byLength.count else { return nil }
        for candidate in Self.byLength[length] where command.argument(0, equalsIgnoringCase: candidate.name) {
            self = candidate
            return
        }
        return nil
    }
}
