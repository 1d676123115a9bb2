// KVCommandSpec: one row of keel-kv's command table, in Redis's manner: the
// name, the arity, the flags, where the keys are, the ACL categories, and
// the implementation. Dispatch, arity errors, key locking (with --threads),
// transactions, the subscriber context and COMMAND all read these rows;
// adding a command is adding a row.

import KeelWire
import Synchronization

/// What kind of command a row describes (COMMAND's flags, Redis's names).
struct KVCommandFlags: OptionSet, Sendable {
    let rawValue: UInt32

    static let write = KVCommandFlags(rawValue: 1 << 0)
    static let readonly = KVCommandFlags(rawValue: 1 << 1)
    static let denyoom = KVCommandFlags(rawValue: 1 << 2)
    static let admin = KVCommandFlags(rawValue: 1 << 3)
    static let pubsub = KVCommandFlags(rawValue: 1 << 4)
    static let noscript = KVCommandFlags(rawValue: 1 << 5)
    static let blocking = KVCommandFlags(rawValue: 1 << 6)
    static let loading = KVCommandFlags(rawValue: 1 << 7)
    static let stale = KVCommandFlags(rawValue: 1 << 8)
    static let skipSlowlog = KVCommandFlags(rawValue: 1 << 9)
    static let fast = KVCommandFlags(rawValue: 1 << 10)
    static let noAuth = KVCommandFlags(rawValue: 1 << 11)
    static let allowBusy = KVCommandFlags(rawValue: 1 << 12)
    static let movableKeys = KVCommandFlags(rawValue: 1 << 13)
    static let noAsyncLoading = KVCommandFlags(rawValue: 1 << 14)
    /// Refused inside MULTI (SYNC, PSYNC), not queued.
    static let noMulti = KVCommandFlags(rawValue: 1 << 15)
    /// keel-kv's own, not shown by COMMAND: it visits every shard (KEYS,
    /// SCAN, RANDOMKEY, FLUSHALL, FLUSHDB; DBSIZE, INFO, CONFIG RESETSTAT
    /// and MEMORY STATS count keys in each), so EXEC locks them all first:
    /// locking them one by one under EXEC's locks would take them out of
    /// order.
    static let everyShard = KVCommandFlags(rawValue: 1 << 31)
    /// keel-kv's own, not shown by COMMAND: it may read or write keys it
    /// does not name (SORT's BY and GET patterns, DEBUG DIGEST), so it runs
    /// with every shard locked, taken in ascending order.
    static let allShardsLocked = KVCommandFlags(rawValue: 1 << 30)
    /// keel-kv's own, not shown by COMMAND (redis-server's hidden
    /// TOUCHES_ARBITRARY_KEYS): it may delete expired keys it does not name
    /// (SCAN, RANDOMKEY), whose DELs replicas get each on its own.
    static let touchesArbitraryKeys = KVCommandFlags(rawValue: 1 << 29)

    /// Hidden by COMMAND, as redis-server hides its MAY_REPLICATE: a
    /// command that writes nothing but enters the replication stream
    /// (PUBLISH, FCALL), held by CLIENT PAUSE WRITE as writes are.
    static let mayReplicate = KVCommandFlags(rawValue: 1 << 28)
    /// Not shown to MONITOR (scripts).
    static let skipMonitor = KVCommandFlags(rawValue: 1 << 16)

    /// Each flag and the name COMMAND gives it, in Redis's order.
    static let names: [(KVCommandFlags, StaticString)] = [
        (.write, "write"), (.readonly, "readonly"), (.denyoom, "denyoom"), (.admin, "admin"), (.pubsub, "pubsub"),
        (.noscript, "noscript"), (.blocking, "blocking"), (.loading, "loading"), (.stale, "stale"),
        (.skipMonitor, "skip_monitor"), (.skipSlowlog, "skip_slowlog"), (.fast, "fast"), (.noAuth, "no_auth"),
        (.noAsyncLoading, "no_async_loading"),
        (.noMulti, "no_multi"), (.movableKeys, "movablekeys"), (.allowBusy, "allow_busy"),
    ]
}

/// Where a command's keys are: arguments `first`...`last` every `step`
/// (`last` negative counts from the end: -1 is the last argument), or, for
/// commands whose keys move (a count before them), a function that finds them.
struct KVKeySpec: Sendable {
    let first: Int
    let last: Int
    let step: Int
    /// For movable keys: the indices of the keys in `command`.
    let find: (@Sendable (RESPCommand) -> [Int])?

    static let none = KVKeySpec(first: 0, last: 0, step: 0, find: nil)

    static func range(_ first: Int, _ last: Int, step: Int = 1) -> KVKeySpec {
        KVKeySpec(first: first, last: last, step: step, find: nil)
    }

    static func movable(
        _ first: Int, _ last: Int, step: Int = 1, _ find: @escaping @Sendable (RESPCommand) -> [Int]
    ) -> KVKeySpec {
        KVKeySpec(first: first, last: last, step: step, find: find)
    }

    /// Calls `body` with the index of each key argument of `command`.
    @inline(__always)
    func forEachKey(of command: RESPCommand, _ body: (Int) -> Void) {
        if let find {
            for index in find(command) where index < command.count { body(index) }
            return
        }
        guard first > 0 else { return }
        let end = last >= 0 ? last : command.count + last
        var index = first
        while index <= end && index < command.count {
            body(index)
            index += step
        }
    }
}

/// The code of a command.
typealias KVCommandBody = @Sendable (KVContext) -> Void

/// One command (see the file header).
final class KVCommandSpec: Sendable {
    /// The name, lower case (as errors and COMMAND spell it).
    let name: StaticString
    /// Arguments the command takes, its name included: n exactly, -n at least n.
    let arity: Int
    let flags: KVCommandFlags
    let keys: KVKeySpec
    /// ACL categories, e.g. "@write @string @fast".
    let categories: StaticString
    /// One line for COMMAND DOCS.
    let summary: StaticString
    let run: KVCommandBody
    /// CLIENT GETNAME and the like: looked up by the first argument.
    let subcommands: [KVCommandSpec]
    /// Its place in each loop's INFO commandstats table (KVCommandStats).
    let statsIndex: Int
    private static let specsMade = Atomic<Int>(0)

    init(
        _ name: StaticString, _ arity: Int, _ flags: KVCommandFlags, keys: KVKeySpec = .none,
        _ categories: StaticString, _ summary: StaticString = "", subcommands: [KVCommandSpec] = [],
        run: @escaping KVCommandBody = KVCommandSpec.noImplementation
    ) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.keys = keys
        self.categories = categories
        self.summary = summary
        self.subcommands = subcommands
        self.run = run
        statsIndex = Self.specsMade.wrappingAdd(1, ordering: .relaxed).oldValue
        precondition(statsIndex < KVCommandStats.capacity, "more commands than commandstats holds")
    }

    /// A container run without a subcommand it knows: an error, never
    /// silence (a missing reply puts every later reply out of step).
    static let noImplementation: KVCommandBody = { context in
        context.reply.error("ERR unknown subcommand or wrong number of arguments for '\(context.row.nameText)'")
    }

    /// Whether `count` arguments (the name included) satisfy the arity.
    @inline(__always)
    func accepts(_ count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }

    /// The name as a String (for COMMAND and error texts).
    var nameText: String { "\(name)" }
}
