// RESPCommandTemplate: one command keel-bench sends to a Redis-compatible
// server, as the user wrote it ("SET key:__rand__ __data__") or by name
// (ping, set, get), with the reply it must get.
//
// Words are separated by spaces. In each request, `__rand__` (anywhere in a
// word, as often as wanted) becomes one key number drawn for that request
// over --keyspace, written as 12 digits as redis-benchmark writes its
// `__rand_int__`; a word that is exactly `__data__` becomes that key's value:
// --size bytes derived from the key number, so a value read back can be
// checked without storing what was written.

/// A command to send, with the reply it expects.
public struct RESPCommandTemplate: Sendable, Equatable, CustomStringConvertible {
    /// What a reply must be.
    public enum Expectation: Sendable, Equatable {
        /// The simple string (`+OK`, `+PONG`).
        case simpleString(String)
        /// An integer.
        case integer
        /// A bulk string or null.
        case bulkOrNull
        /// The value `__data__` wrote for the request's key (a GET of a key
        /// the preload wrote): a bulk string with exactly those bytes.
        case storedValue
        /// An array (or the null array).
        case array
        /// Anything but an error.
        case anythingButAnError
    }

    /// The words, placeholders included.
    public let words: [String]
    /// What its reply must be.
    public let expectation: Expectation

    /// The named workloads.
    public static let named: [String: String] = [
        "ping": "PING", "set": "SET key:__rand__ __data__", "get": "GET key:__rand__",
    ]

    /// The template for a name (`ping`, `set`, `get`) or a command line.
    public init(_ text: String) throws(BenchError) {
        let expanded = Self.named[text.lowercased()] ?? text
        let words = expanded.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let first = words.first else { throw BenchError(description: "--command is empty") }
        for word in words where word != "__data__" && word.contains("__data__") {
            throw BenchError(description: "--command: __data__ must be a whole word (got '\(word)')")
        }
        if first.contains("__rand__") || first == "__data__" {
            throw BenchError(description: "--command: the command name cannot be a placeholder (got '\(first)')")
        }
        self.words = words
        expectation = Self.expectation(name: first.uppercased(), words: words)
    }

    /// Whether any word draws a key.
    public var drawsKeys: Bool { words.contains { $0.contains("__rand__") } }

    /// The GET's key word when this command reads values written by
    /// `__data__` (they must come back intact), else nil.
    public var readKeyWord: String? { expectation == .storedValue ? words[1] : nil }

    /// The command as written.
    public var description: String { words.joined(separator: " ") }

    private static let integerReplies: Set<String> = [
        "INCR", "INCRBY", "DECR", "DECRBY", "LPUSH", "RPUSH", "LLEN", "SADD", "SREM", "SCARD", "SISMEMBER", "HSET",
        "HDEL", "HLEN", "DEL", "EXISTS", "EXPIRE", "PEXPIRE", "TTL", "PTTL", "DBSIZE", "APPEND", "STRLEN",
    ]
    private static let arrayReplies: Set<String> = ["LRANGE", "MGET", "SMEMBERS", "HGETALL", "KEYS", "HMGET"]
    private static let bulkReplies: Set<String> = ["HGET", "ECHO", "GETSET", "GETDEL"]

    private static func expectation(name: String, words: [String]) -> Expectation {
        switch name {
        case "PING": return words.count == 1 ? .simpleString("PONG") : .bulkOrNull
        case "SET": return words.count == 3 ? .simpleString("OK") : .anythingButAnError
        case "MSET", "FLUSHALL", "FLUSHDB", "SELECT": return .simpleString("OK")
        case "GET":
            guard words.count == 2 else { return .anythingButAnError }
            return words[1].contains("__rand__") ? .storedValue : .bulkOrNull
        case "LPOP", "RPOP", "SPOP": return words.count == 2 ? .bulkOrNull : .anythingButAnError
        case _ where integerReplies.contains(name): return .integer
        case _ where arrayReplies.contains(name): return .array
        case _ where bulkReplies.contains(name): return .bulkOrNull
        default: return .anythingButAnError
        }
    }
}

/// What a RESP run sends: one command, or several drawn by weight.
public struct RESPWorkloadSpec: Sendable, Equatable, CustomStringConvertible {
    /// The commands and their weights (a request draws one, weighted).
    public let entries: [(command: RESPCommandTemplate, weight: Int)]

    /// One command: a name or a template (`--command`).
    public init(command text: String) throws(BenchError) {
        entries = [(try RESPCommandTemplate(text), 1)]
    }

    /// Named commands with weights, "set:1,get:10" (`--mix`).
    public init(mix text: String) throws(BenchError) {
        var entries: [(RESPCommandTemplate, Int)] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            let names = RESPCommandTemplate.named.keys.sorted().joined(separator: ", ")
            guard parts.count == 2, RESPCommandTemplate.named[parts[0].lowercased()] != nil,
                let weight = Int(parts[1]), (1...1_000_000).contains(weight)
            else {
                throw BenchError(
                    description: "--mix '\(text)': each item is NAME:WEIGHT, NAME one of \(names), "
                        + "WEIGHT in 1...1000000 (got '\(item)')")
            }
            entries.append((try RESPCommandTemplate(String(parts[0])), weight))
        }
        guard entries.count <= 64 else { throw BenchError(description: "--mix: at most 64 items") }
        self.entries = entries
    }

    /// The key word whose values are read back and checked, when some
    /// command reads values: the run first writes every key of the keyspace
    /// under it (the preload), so each read has a known answer.
    public var preloadKeyWord: String? { entries.lazy.compactMap(\.command.readKeyWord).first }

    /// "set:1,get:10" or the command.
    public var description: String {
        entries.count == 1 && entries[0].weight == 1
            ? entries[0].command.description
            : entries.map { "\($0.command.description) ×\($0.weight)" }.joined(separator: ", ")
    }

    /// Two specs are the same if they send the same commands with the same weights.
    public static func == (lhs: RESPWorkloadSpec, rhs: RESPWorkloadSpec) -> Bool {
        lhs.entries.map(\.command) == rhs.entries.map(\.command)
            && lhs.entries.map(\.weight) == rhs.entries.map(\.weight)
    }
}
