// KVConfig: the parameters CONFIG GET and CONFIG SET know. The compact
// encodings' limits and the password can be changed at run time; the rest
// report what the server was started with (or redis-server's value for
// what keel-kv does not have: no persistence, one database) and refuse a
// change as redis-server refuses one of an immutable parameter.

import KeelWire

enum KVConfig {
    /// A parameter: its name, how to read it, and how to change it (nil: immutable).
    struct Parameter: Sendable {
        let name: String
        let read: @Sendable (KVStore) -> String
        let write: (@Sendable (KVStore, Int64) -> Void)?
        /// The values a writable integer parameter takes.
        let range: ClosedRange<Int64>
    }

    static func integer(
        _ name: String, read value: @escaping @Sendable (KVLimits) -> Int,
        write: @escaping @Sendable (KVLimits, Int64) -> Void
    ) -> Parameter {
        Parameter(
            name: name, read: { String(value($0.settings.limits)) },
            write: { store, number in write(store.settings.limits, number) }, range: 0...Int64(Int32.max))
    }

    static func constant(_ name: String, _ value: String) -> Parameter {
        Parameter(name: name, read: { _ in value }, write: nil, range: 0...0)
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
        constant("list-max-listpack-size", "-2"),
        constant("list-max-ziplist-size", "-2"),
        constant("save", ""),
        constant("appendonly", "no"),
        constant("databases", "1"),
        constant("maxmemory", "0"),
        constant("maxmemory-policy", "noeviction"),
        Parameter(name: "port", read: { String($0.settings.port) }, write: nil, range: 0...0),
        Parameter(name: "bind", read: { $0.settings.bind }, write: nil, range: 0...0),
        Parameter(name: "maxclients", read: { String($0.settings.maxClients) }, write: nil, range: 0...0),
        Parameter(name: "timeout", read: { String($0.settings.idleTimeoutSeconds) }, write: nil, range: 0...0),
        Parameter(name: "proto-max-bulk-len", read: { String($0.settings.maxBulkBytes) }, write: nil, range: 0...0),
        Parameter(
            name: "client-query-buffer-limit", read: { String($0.settings.maxBulkBytes * 2) }, write: nil, range: 0...0),
        constant("hz", "10"),
        constant("lazyfree-lazy-user-del", "no"),
        constant("lazyfree-lazy-user-flush", "no"),
        constant("notify-keyspace-events", ""),
        constant("cluster-enabled", "no"),
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
        guard parameter.write != nil else {
            return Array(
                "ERR CONFIG SET failed (possibly related to argument '\(parameter.name)') - can't set immutable config"
                    .utf8)
        }
        guard let number = RESPInteger.parse(value) else {
            return Array(
                "ERR CONFIG SET failed (possibly related to argument '\(parameter.name)') - argument couldn't be parsed into an integer"
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
        if let write = parameter.write, let number = RESPInteger.parse(value) { write(store, number) }
    }
}
