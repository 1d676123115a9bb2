// KVCommandTable: every command keel-kv serves, one row each (name, arity,
// flags, keys, ACL categories, summary, implementation), with redis-server
// 7.0's metadata (COMMAND INFO's), and a lookup by name that allocates
// nothing: the name is folded to lower case on the stack and hashed into an
// open-addressed table built once.
//
// Not formatted: one row per command, each on one line, reads as a table;
// wrapped, the 200 rows would not.

// swift-format-ignore-file

import KeelWire

enum KVCommandTable {
    /// Every command, in the order COMMAND lists them.
    static let all: [KVCommandSpec] = KVCommandTable.strings + KVCommandTable.keyspace + KVCommandTable.lists
        + KVCommandTable.hashes + KVCommandTable.sets + KVCommandTable.sortedSets + KVCommandTable.geo + KVCommandTable.server
        + KVCommandTable.pubsub

    static let strings: [KVCommandSpec] = [
        KVCommandSpec("get", 2, [.readonly, .fast], keys: .range(1, 1), "@read @string @fast", "Returns the string value of a key.", run: KVStringCommands.get),
        KVCommandSpec("set", -3, [.write, .denyoom], keys: .range(1, 1), "@write @string @slow", "Sets the string value of a key, ignoring its type.", run: KVStringCommands.set),
        KVCommandSpec("setnx", 3, [.write, .denyoom, .fast], keys: .range(1, 1), "@write @string @fast", "Set the string value of a key only when the key doesn't exist.", run: KVStringCommands.setnx),
        KVCommandSpec("setex", 4, [.write, .denyoom], keys: .range(1, 1), "@write @string @slow", "Sets the string value and expiration time of a key.") { KVStringCommands.setWithExpiry($0, kind: .seconds, name: "setex") },
        KVCommandSpec("psetex", 4, [.write, .denyoom], keys: .range(1, 1), "@write @string @slow", "Sets both string value and expiration time in milliseconds of a key.") { KVStringCommands.setWithExpiry($0, kind: .milliseconds, name: "psetex") },
        KVCommandSpec("getset", 3, [.write, .denyoom, .fast], keys: .range(1, 1), "@write @string @fast", "Returns the previous string value of a key after setting it to a new value.", run: KVStringCommands.getset),
        KVCommandSpec("getdel", 2, [.write, .fast], keys: .range(1, 1), "@write @string @fast", "Returns the string value of a key after deleting the key.", run: KVStringCommands.getdel),
        KVCommandSpec("getex", -2, [.write, .fast], keys: .range(1, 1), "@write @string @fast", "Returns the string value of a key after setting its expiration time.", run: KVStringCommands.getex),
        KVCommandSpec("mget", -2, [.readonly, .fast], keys: .range(1, -1), "@read @string @fast", "Atomically returns the string values of one or more keys.", run: KVStringCommands.mget),
        KVCommandSpec("mset", -3, [.write, .denyoom], keys: .range(1, -1, step: 2), "@write @string @slow", "Atomically creates or modifies the string values of one or more keys.", run: KVStringCommands.mset),
        KVCommandSpec("msetnx", -3, [.write, .denyoom], keys: .range(1, -1, step: 2), "@write @string @slow", "Atomically modifies the string values of one or more keys only when all keys don't exist.", run: KVStringCommands.msetnx),
        KVCommandSpec("pfadd", -2, [.write, .denyoom, .fast], keys: .range(1, 1), "@write @hyperloglog @fast", "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.", run: KVHyperLogLogCommands.pfadd),
        KVCommandSpec("pfcount", -2, [.readonly, .mayReplicate], keys: .range(1, -1), "@read @hyperloglog @slow", "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).", run: KVHyperLogLogCommands.pfcount),
        KVCommandSpec("pfmerge", -2, [.write, .denyoom], keys: .range(1, -1), "@write @hyperloglog @slow", "Merges one or more HyperLogLog values into a single key.", run: KVHyperLogLogCommands.pfmerge),
        KVCommandSpec("pfdebug", 3, [.write, .denyoom, .admin], keys: .range(2, 2), "@write @hyperloglog @admin @slow @dangerous", "Internal commands for debugging HyperLogLog values.", run: KVHyperLogLogCommands.pfdebug),
        KVCommandSpec("pfselftest", 1, [.admin], "@hyperloglog @admin @slow @dangerous", "An internal command for testing HyperLogLog values.", run: KVHyperLogLogCommands.pfselftest),
        KVCommandSpec("append", 3, [.write, .denyoom, .fast], keys: .range(1, 1), "@write @string @fast", "Appends a string to the value of a key. Creates the key if it doesn't exist.", run: KVStringCommands.append),
        KVCommandSpec("strlen", 2, [.readonly, .fast], keys: .range(1, 1), "@read @string @fast", "Returns the length of a string value.", run: KVStringCommands.strlen),
        KVCommandSpec("getrange", 4, [.readonly], keys: .range(1, 1), "@read @string @slow", "Returns a substring of the string stored at a key.", run: KVStringCommands.getrange),
        KVCommandSpec("substr", 4, [.readonly], keys: .range(1, 1), "@read @string @slow", "Returns a substring from a string value.", run: KVStringCommands.getrange),
        KVCommandSpec("lcs", -3, [.readonly], keys: .range(1, 2), "@read @string @slow", "Finds the longest common substring.", run: KVLCSCommand.lcs),
        KVCommandSpec("setbit", 4, [.write, .denyoom], keys: .range(1, 1), "@write @bitmap @slow", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", run: KVBitCommands.setbit),
        KVCommandSpec("bitfield", -2, [.write, .denyoom], keys: .range(1, 1), "@write @bitmap @slow", "Performs arbitrary bitfield integer operations on strings.", run: KVBitfieldCommand.bitfield),
        KVCommandSpec("bitfield_ro", -2, [.readonly, .fast], keys: .range(1, 1), "@read @bitmap @fast", "Performs arbitrary read-only bitfield integer operations on strings.", run: KVBitfieldCommand.bitfieldReadOnly),
        KVCommandSpec("getbit", 3, [.readonly, .fast], keys: .range(1, 1), "@read @bitmap @fast", "Returns a bit value by offset.", run: KVBitCommands.getbit),
        KVCommandSpec("bitcount", -2, [.readonly], keys: .range(1, 1), "@read @bitmap @slow", "Counts the number of set bits (population counting) in a string.", run: KVBitCommands.bitcount),
        KVCommandSpec("bitpos", -3, [.readonly], keys: .range(1, 1), "@read @bitmap @slow", "Finds the first set (1) or clear (0) bit in a string.", run: KVBitCommands.bitpos),
        KVCommandSpec("bitop", -4, [.write, .denyoom], keys: .range(2, -1), "@write @bitmap @slow", "Performs bitwise operations on multiple strings, and stores the result.", run: KVBitCommands.bitop),
        KVCommandSpec("setrange", 4, [.write, .denyoom], keys: .range(1, 1), "@write @string @slow", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", run: KVStringCommands.setrange),
        KVCommandSpec("incr", 2, [.write, .denyoom, .fast], keys: .range(1, 1), "@write @string @fast", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.") { KVStringCommands.increment($0, by: 1) },
        KVCommandSpec("incrby", 3, [.write, .denyoom, .fast], keys: .range(1, 1), "@write @string @fast", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.") { KVStringCommands.increment($0, by: nil) },
        KVCommandSpec("decr", 2, [.write, .denyoom, .fast], keys: .range(1, 1), "@write @string @fast", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.") { KVStringCommands.increment($0, by: -1) },
        KVCommandSpec("decrby", 3, [.write, .denyoom, .fast], keys: .range(1, 1), "@write @string @fast", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.") { KVStringCommands.increment($0, by: nil, negate: true) },
        KVCommandSpec("incrbyfloat", 3, [.write, .denyoom, .fast], keys: .range(1, 1), "@write @string @fast", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", run: KVStringCommands.incrbyfloat),
    ]

    static let keyspace: [KVCommandSpec] = [
        KVCommandSpec("del", -2, [.write], keys: .range(1, -1), "@keyspace @write @slow", "Deletes one or more keys.", run: KVKeyCommands.delete),
        KVCommandSpec("unlink", -2, [.write, .fast], keys: .range(1, -1), "@keyspace @write @fast", "Asynchronously deletes one or more keys.", run: KVKeyCommands.unlink),
        KVCommandSpec("exists", -2, [.readonly, .fast], keys: .range(1, -1), "@keyspace @read @fast", "Determines whether one or more keys exist.", run: KVKeyCommands.exists),
        KVCommandSpec("touch", -2, [.readonly, .fast], keys: .range(1, -1), "@keyspace @read @fast", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", run: KVKeyCommands.exists),
        KVCommandSpec("type", 2, [.readonly, .fast], keys: .range(1, 1), "@keyspace @read @fast", "Determines the type of value stored at a key.", run: KVKeyCommands.type),
        KVCommandSpec("rename", 3, [.write], keys: .range(1, 2), "@keyspace @write @slow", "Renames a key and overwrites the destination.") { KVKeyCommands.rename($0, onlyIfAbsent: false) },
        KVCommandSpec("renamenx", 3, [.write, .fast], keys: .range(1, 2), "@keyspace @write @fast", "Renames a key only when the target key name doesn't exist.") { KVKeyCommands.rename($0, onlyIfAbsent: true) },
        KVCommandSpec("copy", -3, [.write, .denyoom], keys: .range(1, 2), "@keyspace @write @slow", "Copies the value of a key to a new key.", run: KVKeyCommands.copy),
        KVCommandSpec("keys", 2, [.readonly, .everyShard], "@keyspace @read @slow @dangerous", "Returns all key names that match a pattern.", run: KVKeyCommands.keys),
        KVCommandSpec("scan", -2, [.readonly, .everyShard, .touchesArbitraryKeys], "@keyspace @read @slow", "Iterates over the key names in the database.", run: KVKeyCommands.scan),
        KVCommandSpec("randomkey", 1, [.readonly, .everyShard, .touchesArbitraryKeys], "@keyspace @read @slow", "Returns a random key name from the database.", run: KVKeyCommands.randomkey),
        KVCommandSpec("persist", 2, [.write, .fast], keys: .range(1, 1), "@keyspace @write @fast", "Removes the expiration time of a key.", run: KVKeyCommands.persist),
        KVCommandSpec("expire", -3, [.write, .fast], keys: .range(1, 1), "@keyspace @write @fast", "Sets the expiration time of a key in seconds.") { KVKeyCommands.expire($0, kind: .seconds, name: "expire") },
        KVCommandSpec("pexpire", -3, [.write, .fast], keys: .range(1, 1), "@keyspace @write @fast", "Sets the expiration time of a key in milliseconds.") { KVKeyCommands.expire($0, kind: .milliseconds, name: "pexpire") },
        KVCommandSpec("expireat", -3, [.write, .fast], keys: .range(1, 1), "@keyspace @write @fast", "Sets the expiration time of a key to a Unix timestamp.") { KVKeyCommands.expire($0, kind: .unixSeconds, name: "expireat") },
        KVCommandSpec("pexpireat", -3, [.write, .fast], keys: .range(1, 1), "@keyspace @write @fast", "Sets the expiration time of a key to a Unix milliseconds timestamp.") { KVKeyCommands.expire($0, kind: .unixMilliseconds, name: "pexpireat") },
        KVCommandSpec("ttl", 2, [.readonly, .fast], keys: .range(1, 1), "@keyspace @read @fast", "Returns the expiration time in seconds of a key.") { KVKeyCommands.timeToLive($0, milliseconds: false, absolute: false) },
        KVCommandSpec("pttl", 2, [.readonly, .fast], keys: .range(1, 1), "@keyspace @read @fast", "Returns the expiration time in milliseconds of a key.") { KVKeyCommands.timeToLive($0, milliseconds: true, absolute: false) },
        KVCommandSpec("expiretime", 2, [.readonly, .fast], keys: .range(1, 1), "@keyspace @read @fast", "Returns the expiration time of a key as a Unix timestamp.") { KVKeyCommands.timeToLive($0, milliseconds: false, absolute: true) },
        KVCommandSpec("pexpiretime", 2, [.readonly, .fast], keys: .range(1, 1), "@keyspace @read @fast", "Returns the expiration time of a key as a Unix milliseconds timestamp.") { KVKeyCommands.timeToLive($0, milliseconds: true, absolute: true) },
        KVCommandSpec("object", -2, [], "@slow", "A container for object introspection commands.", subcommands: [
            KVCommandSpec("encoding", 3, [.readonly], keys: .range(2, 2), "@keyspace @read @slow", "Returns the internal encoding of a Redis object.") { KVKeyCommands.object($0, what: "encoding") },
            KVCommandSpec("freq", 3, [.readonly], keys: .range(2, 2), "@keyspace @read @slow", "Returns the logarithmic access frequency counter of a Redis object.") { KVKeyCommands.object($0, what: "freq") },
            KVCommandSpec("idletime", 3, [.readonly], keys: .range(2, 2), "@keyspace @read @slow", "Returns the time since the last access to a Redis object.") { KVKeyCommands.object($0, what: "idletime") },
            KVCommandSpec("refcount", 3, [.readonly], keys: .range(2, 2), "@keyspace @read @slow", "Returns the reference count of a value of a key.") { KVKeyCommands.object($0, what: "refcount") },
            KVCommandSpec("help", 2, [.loading, .stale], "@keyspace @slow", "Returns helpful text about the different subcommands.") { KVServerCommands.help($0, ["OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "ENCODING <key>", "    Return the kind of internal representation used in order to store the value", "    associated with a <key>.", "FREQ <key>", "    Return the access frequency index of the <key>. The returned integer is", "    proportional to the logarithm of the recent access frequency of the key.", "IDLETIME <key>", "    Return the idle time of the <key>, that is the approximated number of", "    seconds elapsed since the last access to the key.", "REFCOUNT <key>", "    Return the number of references of the value associated with the specified", "    <key>.", "HELP", "    Prints this help."]) },
        ]),
        KVCommandSpec("sort", -2, [.write, .denyoom, .movableKeys, .allShardsLocked], keys: .movable(0, 0, KVSortCommand.keys), "@write @set @sortedset @list @slow @dangerous", "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.") { KVSortCommand.sort($0, readOnly: false) },
        KVCommandSpec("sort_ro", -2, [.readonly, .movableKeys, .allShardsLocked], keys: .movable(1, 1) { _ in [1] }, "@read @set @sortedset @list @slow @dangerous", "Returns the sorted elements of a list, a set, or a sorted set.") { KVSortCommand.sort($0, readOnly: true) },
        KVCommandSpec("dump", 2, [.readonly], keys: .range(1, 1), "@keyspace @read @slow", "Returns a serialized representation of the value stored at a key.", run: KVDumpCommands.dump),
        KVCommandSpec("restore", -4, [.write, .denyoom], keys: .range(1, 1), "@keyspace @write @slow @dangerous", "Creates a key from the serialized representation of a value.", run: KVDumpCommands.restore),
        KVCommandSpec("dbsize", 1, [.readonly, .fast, .everyShard], "@keyspace @read @fast", "Returns the number of keys in the database.", run: KVKeyCommands.dbsize),
        KVCommandSpec("flushall", -1, [.write, .everyShard, .allShardsLocked], "@keyspace @write @slow @dangerous", "Removes all keys from all databases.", run: KVKeyCommands.flush),
        KVCommandSpec("flushdb", -1, [.write, .everyShard, .allShardsLocked], "@keyspace @write @slow @dangerous", "Remove all keys from the current database.", run: KVKeyCommands.flush),
        KVCommandSpec("select", 2, [.loading, .stale, .fast], "@fast @connection", "Changes the selected database.", run: KVKeyCommands.select),
        KVCommandSpec("swapdb", 3, [.write, .fast], "@keyspace @write @fast @dangerous", "Swaps two Redis databases.", run: KVKeyCommands.swapdb),
        KVCommandSpec("move", 3, [.write, .fast], keys: .range(1, 1), "@keyspace @write @fast", "Moves a key to another database.", run: KVKeyCommands.move),
    ]

    // MARK: lookup

    /// Slots of the name table (a power of two, at least twice the commands).
    private static let tableSize = 512

    /// Command indices by the hash of their name (-1: empty).
    private static let table: [Int] = {
        ByteHash.prepare()
        var table = [Int](repeating: -1, count: tableSize)
        for (index, spec) in all.enumerated() {
            let name = UnsafeRawBufferPointer(start: spec.name.utf8Start, count: spec.name.utf8CodeUnitCount)
            var slot = Int(truncatingIfNeeded: ByteHash.hash(name)) & (tableSize - 1)
            while table[slot] >= 0 {
                precondition(!KVBytes.equal(name, UnsafeRawBufferPointer(start: all[table[slot]].name.utf8Start, count: all[table[slot]].name.utf8CodeUnitCount)), "command \(spec.name) twice")
                slot = (slot + 1) & (tableSize - 1)
            }
            table[slot] = index
        }
        return table
    }()

    /// The row for a command named `name` in any case, or nil.
    static func find(_ name: UnsafeRawBufferPointer) -> KVCommandSpec? {
        Lookup().find(name)
    }

    /// The table's rows and name index, held by each executor so a lookup
    /// reads its own arrays (a static's every read checks its lazy init).
    struct Lookup {
        let rows: [KVCommandSpec]
        /// The rows again, unmanaged (`rows` keeps them, and the table lives
        /// as long as the process): `withRow` lends one without the retain
        /// and release a row taken from `rows` costs each command.
        private let unmanagedRows: [Unmanaged<KVCommandSpec>]
        /// The rows' names (compared while probing, touching no row).
        private let names: [StaticString]
        let slots: [Int]

        init() {
            rows = KVCommandTable.all
            unmanagedRows = rows.map { Unmanaged.passUnretained($0) }
            names = rows.map(\.name)
            slots = KVCommandTable.table
        }

        /// The row for a command named `name` in any case, or nil.
        @inline(__always)
        func find(_ name: UnsafeRawBufferPointer) -> KVCommandSpec? {
            index(of: name).map { rows[$0] }
        }

        /// Runs `body` with row `index` (from `index(of:)`), lent without
        /// reference counting.
        @inline(__always)
        func withRow<Result>(_ index: Int, _ body: (KVCommandSpec) -> Result) -> Result {
            unmanagedRows[index]._withUnsafeGuaranteedRef(body)
        }

        /// The index of the row for a command named `name` in any case, or
        /// nil: the name folded to lower case on the stack, hashed, probed.
        @inline(__always)
        func index(of name: UnsafeRawBufferPointer) -> Int? {
            // Command names are short; longer ones are not commands.
            guard name.count > 0 && name.count <= 32 else { return nil }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
                for index in 0..<name.count {
                    let byte = name[index]
                    buffer[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                }
                let lower = UnsafeRawBufferPointer(start: buffer.baseAddress, count: name.count)
                let mask = slots.count &- 1
                var slot = Int(truncatingIfNeeded: ByteHash.hash(lower)) & mask
                while slots[slot] >= 0 {
                    let name = names[slots[slot]]
                    if KVBytes.equal(lower, UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)) {
                        return slots[slot]
                    }
                    slot = (slot &+ 1) & mask
                }
                return nil
            }
        }
    }

    /// The subcommand of `spec` that `name` names, in any case, or nil.
    static func subcommand(of spec: KVCommandSpec, named name: UnsafeRawBufferPointer) -> KVCommandSpec? {
        spec.subcommands.first { sub in
            KVBytes.equalIgnoringCase(name, UnsafeRawBufferPointer(start: sub.name.utf8Start, count: sub.name.utf8CodeUnitCount))
        }
    }
}
