// KVConfig: the parameters CONFIG GET and CONFIG SET know. The compact
// encodings' limits, the list node size and the password can be changed at
// run time; the rest report what the server was started with (or
// redis-server's value for what keel-kv does not have: no persistence, one
// database) and refuse a change as redis-server refuses one of an
// immutable parameter, except a change to the value they already have.

import KeelWire

enum KVConfig {
    /// A parameter: its name, how to read it, and how to change it (nil: immutable).
    struct Parameter: Sendable {
        let name: String
        let read: @Sendable (KVStore) -> String
        let write: (@Sendable (KVStore, Int64) -> Void)?
        /// The values a writable integer parameter takes.
        let range: ClosedRange<Int64>
        /// A fixed parameter redis-server could change: CONFIG SET to the
        /// value it has is accepted (and changes nothing), as test
        /// harnesses and clients set `save ""` or `appendonly no`.
        var acceptsItsOwnValue = false
        /// A size, as redis-server's memory parameters: "1mb", "16k", ...
        var isMemory = false
        /// The names an enumerated parameter takes (its number is the
        /// name's index), as redis-server lists them in its error.
        var choices: [String]? = nil

        /// Immutable in redis-server too (keel-kv's own fixed values of
        /// parameters redis-server lets change are refused with the value).
        var isImmutableInRedis: Bool { write == nil && !acceptsItsOwnValue && name != "requirepass" }

        /// `value` as this parameter's number, or nil.
        func parse(_ value: UnsafeRawBufferPointer) -> Int64? {
            if name == "notify-keyspace-events" { return KVEventClass(text: value).map { Int64($0.rawValue) } }
            if let choices {
                let name = String(decoding: value, as: UTF8.self).lowercased()
                return choices.firstIndex(of: name).map(Int64.init)
            }
            guard isMemory else { return RESPInteger.parse(value) }
            // redis-server takes maxmemory up to 2^64-1; past 2^63-1 it
            // means no limit here all the same.
            guard let bytes = KVConfig.parseMemory(value) else { return nil }
            return bytes < 0 && name == "maxmemory" ? Int64.max : bytes
        }
    }

    /// A size as redis-server's memtoull reads one: digits, then b, k, kb,
    /// m, mb, g or gb (any case; k = 1000, kb = 1024); no sign.
    static func parseMemory(_ value: UnsafeRawBufferPointer) -> Int64? {
        let digits = value.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        // redis-server copies the digits into a 128-byte buffer first.
        guard digits.count < 128 else { return nil }
        let unit = String(decoding: value[digits.count...], as: UTF8.self).lowercased()
        let multipliers: [String: UInt64] = [
            "": 1, "b": 1, "k": 1_000, "kb": 1_024, "m": 1_000_000, "mb": 1 << 20, "g": 1_000_000_000, "gb": 1 << 30,
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        // strtoull: no digits read as 0, too many as its maximum.
        let number = digits.reduce(UInt64(0)) { total, digit in
            let (times, overflow) = total.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            return overflow || carry || total == UInt64.max ? UInt64.max : sum
        }
        return Int64(bitPattern: number &* multiplier)
    }

    static func integer(
        _ name: String, read value: @escaping @Sendable (KVLimits) -> Int,
        write: @escaping @Sendable (KVLimits, Int64) -> Void, range: ClosedRange<Int64> = 0...Int64.max
    ) -> Parameter {
        Parameter(
            name: name, read: { String(value($0.settings.limits)) },
            write: { store, number in write(store.settings.limits, number) }, range: range,
            isMemory: name.hasSuffix("-value") || name.hasSuffix("-bytes"))
    }

    /// A value keel-kv does not let change; `changeableInRedis`: one
    /// redis-server lets change (so setting it to its value is accepted).
    static func constant(_ name: String, _ value: String, changeableInRedis: Bool = true) -> Parameter {
        Parameter(
            name: name, read: { _ in value }, write: nil, range: 0...0, acceptsItsOwnValue: changeableInRedis)
    }

    static let parameters: [Parameter] = [
        integer(
            "hash-max-listpack-entries", read: { $0.hashEntries },
            write: {
                $0.hashMaxListpackEntries.store(Int($1), ordering: .relaxed)
            }),
        integer(
            "hash-max-listpack-value", read: { $0.hashValue },
            write: {
                $0.hashMaxListpackValue.store(Int($1), ordering: .relaxed)
            }),
        integer(
            "hash-max-ziplist-entries", read: { $0.hashEntries },
            write: {
                $0.hashMaxListpackEntries.store(Int($1), ordering: .relaxed)
            }),
        integer(
            "hash-max-ziplist-value", read: { $0.hashValue },
            write: {
                $0.hashMaxListpackValue.store(Int($1), ordering: .relaxed)
            }),
        integer(
            "set-max-intset-entries", read: { $0.intsetEntries },
            write: {
                $0.setMaxIntsetEntries.store(Int($1), ordering: .relaxed)
            }),
        integer(
            "set-max-listpack-entries", read: { $0.setEntries },
            write: {
                $0.setMaxListpackEntries.store(Int($1), ordering: .relaxed)
            }),
        integer(
            "set-max-listpack-value", read: { $0.setValue },
            write: {
                $0.setMaxListpackValue.store(Int($1), ordering: .relaxed)
            }),
        integer(
            "zset-max-listpack-entries", read: { $0.zsetEntries },
            write: {
                $0.zsetMaxListpackEntries.store(Int($1), ordering: .relaxed)
            }),
        integer(
            "zset-max-listpack-value", read: { $0.zsetValue },
            write: {
                $0.zsetMaxListpackValue.store(Int($1), ordering: .relaxed)
            }),
        integer(
            "zset-max-ziplist-entries", read: { $0.zsetEntries },
            write: {
                $0.zsetMaxListpackEntries.store(Int($1), ordering: .relaxed)
            }),
        integer(
            "zset-max-ziplist-value", read: { $0.zsetValue },
            write: {
                $0.zsetMaxListpackValue.store(Int($1), ordering: .relaxed)
            }),
        Parameter(
            name: "requirepass",
            read: { store in store.settings.currentPassword.map { String(decoding: $0, as: UTF8.self) } ?? "" },
            write: nil, range: 0...0),
        integer(
            "list-max-listpack-size", read: { Int($0.listFill) },
            write: { $0.listMaxListpackSize.store(Int($1), ordering: .relaxed) },
            range: Int64(Int32.min)...Int64(Int32.max)),
        integer(
            "list-max-ziplist-size", read: { Int($0.listFill) },
            write: { $0.listMaxListpackSize.store(Int($1), ordering: .relaxed) },
            range: Int64(Int32.min)...Int64(Int32.max)),
        integer(
            "list-compress-depth", read: { $0.listCompressDepth.load(ordering: .relaxed) },
            write: { $0.listCompressDepth.store(Int($1), ordering: .relaxed) }, range: 0...Int64(Int32.max)),
        integer(
            "hll-sparse-max-bytes", read: { $0.hllSparseMaxBytes.load(ordering: .relaxed) },
            write: { $0.hllSparseMaxBytes.store(Int($1), ordering: .relaxed) }, range: 0...Int64.max),
        Parameter(
            name: "notify-keyspace-events",
            read: { KVEventClass(rawValue: $0.events.classes.load(ordering: .relaxed)).text },
            write: { $0.events.classes.store(Int($1), ordering: .relaxed) }, range: 0...Int64(Int32.max)),
        Parameter(
            name: "repl-ping-replica-period",
            read: { String($0.replication.pingPeriodSeconds.load(ordering: .relaxed)) },
            write: { $0.replication.pingPeriodSeconds.store(Int($1), ordering: .relaxed) },
            range: 1...Int64(Int32.max)),
        Parameter(
            name: "repl-backlog-size", read: { String($0.replication.backlogStatus.size) },
            write: { $0.replication.setBacklogSize(Int($1)) }, range: 1...Int64.max, isMemory: true),
        Parameter(
            name: "repl-backlog-ttl",
            read: { String($0.replication.backlogTTLSeconds.load(ordering: .relaxed)) },
            write: { $0.replication.backlogTTLSeconds.store(Int($1), ordering: .relaxed) }, range: 0...Int64.max),
        Parameter(
            name: "tracking-table-max-keys", read: { String($0.tracking.maxKeys.load(ordering: .relaxed)) },
            write: { $0.tracking.maxKeys.store(Int($1), ordering: .relaxed) }, range: 0...Int64.max),
        constant("save", ""),
        constant("appendonly", "no"),
        constant("databases", "1", changeableInRedis: false),
        Parameter(
            name: "maxmemory", read: { String($0.settings.maxMemory.load(ordering: .relaxed)) },
            write: { $0.settings.maxMemory.store(Int($1), ordering: .relaxed) }, range: 0...Int64.max,
            isMemory: true),
        Parameter(
            name: "maxmemory-policy", read: { $0.settings.evictionPolicy.name },
            write: { store, index in
                store.settings.evictionPolicy = KVEvictionPolicy.allCases[Int(index)]
            }, range: 0...Int64(KVEvictionPolicy.allCases.count - 1), choices: KVEvictionPolicy.allCases.map(\.name)),
        Parameter(
            name: "maxmemory-samples", read: { String($0.settings.evictionSamples.load(ordering: .relaxed)) },
            write: { $0.settings.evictionSamples.store(Int($1), ordering: .relaxed) }, range: 1...Int64(Int32.max)),
        Parameter(name: "port", read: { String($0.settings.port) }, write: nil, range: 0...0, acceptsItsOwnValue: true),
        Parameter(
            name: "tls-port", read: { String($0.settings.tlsPort) }, write: nil, range: 0...0, acceptsItsOwnValue: true),
        Parameter(
            name: "client-output-buffer-limit",
            read: { store in
                let cap = store.settings.clientOutputLimitBytes
                // Replies to a client's own requests are not capped (reading
                // stops instead); what is pushed to it is.
                return "normal 0 0 0 slave \(KVReplication.outputLimitBytes) 0 0 pubsub \(cap) 0 0"
            }, write: nil, range: 0...0, acceptsItsOwnValue: true),
        Parameter(name: "bind", read: { $0.settings.bind }, write: nil, range: 0...0, acceptsItsOwnValue: true),
        Parameter(
            name: "maxclients", read: { String($0.settings.maxClients) }, write: nil, range: 0...0,
            acceptsItsOwnValue: true),
        Parameter(
            name: "timeout", read: { String($0.settings.idleTimeoutSeconds) }, write: nil, range: 0...0,
            acceptsItsOwnValue: true),
        Parameter(
            name: "proto-max-bulk-len", read: { String($0.settings.maxBulkBytes) }, write: nil, range: 0...0,
            acceptsItsOwnValue: true),
        Parameter(
            name: "client-query-buffer-limit", read: { String($0.settings.maxBulkBytes * 2) }, write: nil, range: 0...0,
            acceptsItsOwnValue: true),
        constant("hz", "10"),
        constant("lazyfree-lazy-user-del", "no"),
        constant("lazyfree-lazy-user-flush", "no"),
        constant("cluster-enabled", "no", changeableInRedis: false),
    ]

    /// Every parameter and its value.
    static func all(_ store: KVStore) -> [(String, [UInt8])] {
        parameters.map { ($0.name, Array($0.read(store).utf8)) }
    }

    static func parameter(named name: UnsafeRawBufferPointer) -> Parameter? {
        parameters.first { parameter in
            Array(parameter.name.utf8).withUnsafeBytes { KVBytes.equalIgnoringCase($0, name) }
        }
    }

    /// Why `name` cannot be set to `value` (redis-server's words), or nil.
    static func check(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, store: KVStore) -> [UInt8]? {
        guard let parameter = parameter(named: name) else {
            return KVContext.text("ERR Unknown option or number of arguments for CONFIG SET - '", name, "'")
        }
        if parameter.name == "requirepass" { return nil }
        if parameter.acceptsItsOwnValue && Array(parameter.read(store).utf8).elementsEqual(value) { return nil }
        guard parameter.write != nil else {
            return Array(
                "ERR CONFIG SET failed (possibly related to argument '\(parameter.name)') - can't set immutable config"
                    .utf8)
        }
        guard let number = parameter.parse(value) else {
            if let choices = parameter.choices {
                return Array(
                    "ERR CONFIG SET failed (possibly related to argument '\(parameter.name)') - argument(s) must be one of the following: \(choices.joined(separator: ", "))"
                        .utf8)
            }
            if parameter.name == "notify-keyspace-events" {
                return Array(
                    "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
                        .utf8)
            }
            let problem = parameter.isMemory ? "must be a memory value" : "couldn't be parsed into an integer"
            return Array(
                "ERR CONFIG SET failed (possibly related to argument '\(parameter.name)') - argument \(problem)".utf8)
        }
        if parameter.name == "maxmemory-policy", !KVEvictionPolicy.allCases[Int(number)].isAvailable {
            return Array(
                "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - keel-kv keeps no access counts: no LFU policy"
                    .utf8)
        }
        guard parameter.range.contains(number) else {
            return Array(
                "ERR CONFIG SET failed (possibly related to argument '\(parameter.name)') - argument must be between \(parameter.range.lowerBound) and \(parameter.range.upperBound) inclusive"
                    .utf8)
        }
        return nil
    }

    /// Sets `name` to `value` (already checked).
    static func set(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, store: KVStore) {
        guard let parameter = parameter(named: name) else { return }
        if parameter.name == "requirepass" { return store.settings.setPassword(Array(value)) }
        if let write = parameter.write, let number = parameter.parse(value) { write(store, number) }
    }
}
