// Client-side caching's server side (CLIENT TRACKING), as redis-server 7.0
// keeps it. In the default mode the server remembers which clients read
// which keys (the keys of a read-only command, per OPTIN/OPTOUT and CLIENT
// CACHING), and when such a key is written, expires or is evicted, each of
// them is told once ("invalidate" and the key, a RESP3 push, or a message
// on __redis__:invalidate to the client it redirects to) and forgotten
// until it reads the key again. In BCAST mode a client names key prefixes
// instead and hears of every written key under them. A flush tells every
// tracking client that everything is invalid (a null).
//
// The table is shared by the loops (a write on one invalidates a read on
// another), under one lock; a client's mode is in its record, which every
// loop reads. The hot paths look at `clientCount` alone, so without
// tracking clients reads and writes pay one relaxed load.

import KeelPosix
import Synchronization

/// A client's tracking mode, as bits in its record.
struct KVTrackingMode: OptionSet, Sendable {
    let rawValue: UInt32

    static let on = KVTrackingMode(rawValue: 1 << 0)
    static let broadcast = KVTrackingMode(rawValue: 1 << 1)
    static let optIn = KVTrackingMode(rawValue: 1 << 2)
    static let optOut = KVTrackingMode(rawValue: 1 << 3)
    static let noLoop = KVTrackingMode(rawValue: 1 << 4)
    /// CLIENT CACHING YES (OPTIN) or NO (OPTOUT) for the next command.
    static let caching = KVTrackingMode(rawValue: 1 << 5)
    /// The client it redirects to has gone.
    static let brokenRedirect = KVTrackingMode(rawValue: 1 << 6)
}

/// The keys tracking clients read, and the prefixes they broadcast on.
final class KVTracking: Sendable {
    /// Clients with tracking on.
    let clientCount = Atomic<Int>(0)
    /// tracking-table-max-keys: past it, keys are forgotten (their readers
    /// told) until the table is back under it; 0 is no limit.
    let maxKeys = Atomic<Int>(1_000_000)
    /// Keys in the table (read without the lock, before each command).
    let keyCount = Atomic<Int>(0)
    /// Prefixes BCAST clients are on (a write looks for them only then).
    let prefixCount = Atomic<Int>(0)

    private struct Table {
        /// Key → ids of the clients that read it.
        var readers: [[UInt8]: Set<Int>] = [:]
        /// Reader entries over all keys.
        var items = 0
        /// Prefix → ids of the BCAST clients on it.
        var prefixes: [[UInt8]: Set<Int>] = [:]
        /// Client id → its prefixes, in the order given.
        var prefixesOf: [Int: [[UInt8]]] = [:]
    }

    private let table = Locked(Table())

    @inline(__always)
    var isActive: Bool { clientCount.load(ordering: .relaxed) > 0 }

    // MARK: clients

    /// Tracking turned on for `client` (`wasOn`: it was on already); in
    /// BCAST mode on `prefixes` (none: every key).
    func enable(client: Int, wasOn: Bool, broadcastPrefixes prefixes: [[UInt8]]?) {
        if !wasOn { clientCount.add(1, ordering: .relaxed) }
        guard let prefixes else { return }
        table.withLock { table in
            for prefix in prefixes.isEmpty ? [[]] : prefixes {
                if table.prefixes[prefix, default: []].insert(client).inserted {
                    table.prefixesOf[client, default: []].append(prefix)
                }
            }
            prefixCount.store(table.prefixes.count, ordering: .relaxed)
        }
    }

    /// Tracking turned off for `client` (or it closed). Its entries in the
    /// key table go lazily, as redis-server's do: a key's readers are
    /// looked up when it is invalidated.
    func disable(client: Int) {
        clientCount.subtract(1, ordering: .relaxed)
        table.withLock { table in
            for prefix in table.prefixesOf.removeValue(forKey: client) ?? [] {
                table.prefixes[prefix]?.remove(client)
                if table.prefixes[prefix]?.isEmpty == true { table.prefixes[prefix] = nil }
            }
            prefixCount.store(table.prefixes.count, ordering: .relaxed)
        }
    }

    /// The prefixes `client` broadcasts on, in byte order.
    func prefixes(of client: Int) -> [[UInt8]] {
        table.withLock { $0.prefixesOf[client] ?? [] }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    // MARK: keys

    /// `client` read `keys`.
    func remember(_ keys: [[UInt8]], client: Int) {
        table.withLock { table in
            for key in keys where table.readers[key, default: []].insert(client).inserted {
                table.items += 1
            }
            keyCount.store(table.readers.count, ordering: .relaxed)
        }
    }

    /// Keys forgotten to bring the table back under tracking-table-max-keys,
    /// with their readers (to be told, as if the keys were written): at
    /// most 1,000 a call, so a limit lowered far holds the lock briefly
    /// (the loops' ticks take the rest, as redis-server's cron does).
    func forgetOverLimit() -> [(key: [UInt8], readers: Set<Int>)] {
        guard isOverLimit else { return [] }
        let limit = maxKeys.load(ordering: .relaxed)
        return table.withLock { table in
            let excess = min(max(table.readers.count - limit, 0), 1_000)
            // redis-server walks its table at random; a dictionary's first
            // keys are as good as random here.
            let victims = Array(table.readers.keys.prefix(excess))
            var forgotten: [(key: [UInt8], readers: Set<Int>)] = []
            for key in victims {
                guard let readers = table.readers.removeValue(forKey: key) else { continue }
                table.items -= readers.count
                forgotten.append((key, readers))
            }
            keyCount.store(table.readers.count, ordering: .relaxed)
            return forgotten
        }
    }

    /// Whether the table holds more keys than tracking-table-max-keys.
    var isOverLimit: Bool {
        let limit = maxKeys.load(ordering: .relaxed)
        return limit > 0 && keyCount.load(ordering: .relaxed) > limit
    }

    /// The clients that read `key` since it was last invalidated, the key
    /// forgotten.
    func takeReaders(of key: UnsafeRawBufferPointer) -> Set<Int> {
        guard keyCount.load(ordering: .relaxed) > 0 else { return [] }
        return table.withLock { table in
            guard let readers = table.readers.removeValue(forKey: Array(key)) else { return [] }
            table.items -= readers.count
            keyCount.store(table.readers.count, ordering: .relaxed)
            return readers
        }
    }

    /// For each prefix (in byte order) with keys of `written` under it:
    /// those keys in byte order without repeats (each with whether the
    /// command wrote it, as its last write says), and its BCAST clients.
    func broadcasts(of written: [(key: [UInt8], byCommand: Bool)]) -> [(
        keys: [(key: [UInt8], byCommand: Bool)], clients: [Int]
    )] {
        let prefixes = table.withLock { $0.prefixes }
        guard !prefixes.isEmpty else { return [] }
        var last: [[UInt8]: Bool] = [:]
        for (key, byCommand) in written { last[key] = byCommand }
        let keys = last.keys.sorted { $0.lexicographicallyPrecedes($1) }
        return prefixes.keys.sorted { $0.lexicographicallyPrecedes($1) }.compactMap { prefix in
            let matching = keys.filter { $0.starts(with: prefix) }.map { (key: $0, byCommand: last[$0]!) }
            return matching.isEmpty ? nil : (matching, prefixes[prefix]!.sorted())
        }
    }

    /// A flush: every key forgotten.
    func forgetAll() {
        table.withLock { table in
            table.readers = [:]
            table.items = 0
            keyCount.store(0, ordering: .relaxed)
        }
    }

    /// INFO's tracking_total_keys, tracking_total_items and
    /// tracking_total_prefixes.
    var totals: (keys: Int, items: Int, prefixes: Int) {
        table.withLock { ($0.readers.count, $0.items, $0.prefixes.count) }
    }
}
