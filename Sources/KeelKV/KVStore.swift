// KVStore: keel-kv's keys, in shards.
//
// Threading model. With one event loop (the default) the store has one shard
// and one owner, the loop's thread, and takes no locks. With --threads N the
// loops share one store of 64 shards, each under its own mutex; a command
// locks the shards of the keys it touches, in ascending shard order (so no
// two commands can wait on each other), and runs under those locks: every
// command is atomic, as in redis-server, and commands on different shards
// run in parallel. (The alternative, each loop owning some shards and
// forwarding other keys' commands to their owner, needs a cross-thread hop
// per command and per-connection reply ordering across loops for pipelines.)
//
// Expiry: keys are checked when touched (lazy) and, in ticks of bounded work,
// a cursor walks each shard deleting expired keys (active), as redis-server's
// cron does.

import Glibc
import Synchronization

/// One shard: a table of entries and its lock.
public final class KVShard: @unchecked Sendable {
    /// The entries.
    public var table = ByteTable<KVEntry>()
    /// Keys with an expiry (active expiry skips shards without).
    public var keysWithExpiry = 0
    /// Where active expiry goes on in this shard.
    var expiryCursor = 0
    /// Keys removed, ever (read by the memory return, under the lock).
    var removals = 0
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>?

    init(locked: Bool) {
        if locked {
            let created = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
            created.initialize(to: pthread_mutex_t())
            pthread_mutex_init(created, nil)
            mutex = created
        } else {
            mutex = nil
        }
    }

    deinit {
        if let mutex {
            pthread_mutex_destroy(mutex)
            mutex.deallocate()
        }
    }

    @inlinable func lock() { if let mutex { pthread_mutex_lock(mutex) } }
    @inlinable func unlock() { if let mutex { pthread_mutex_unlock(mutex) } }

    /// The position of a live `key`, deleting it first if it has expired.
    @inlinable
    public func find(_ key: UnsafeRawBufferPointer, hash: UInt64, clock: inout KVClock) -> Int? {
        guard let position = table.position(of: key, hash: hash) else { return nil }
        let expireAt = table[position: position].expireAtMs
        if expireAt != 0 && expireAt <= clock.nowMs {
            remove(at: position)
            return nil
        }
        return position
    }

    /// Removes the key at `position` (keeping the expiry count right).
    @discardableResult
    public func remove(at position: Int) -> KVEntry {
        let entry = table.remove(at: position)
        if entry.expireAtMs != 0 { keysWithExpiry -= 1 }
        removals &+= 1
        return entry
    }

    /// Removes every key.
    func removeAll() {
        removals &+= table.count
        table.removeAll()
        keysWithExpiry = 0
    }

    /// Sets the expiry of the key at `position` (0: none).
    public func setExpiry(at position: Int, _ expireAtMs: Int64) {
        let before = table[position: position].expireAtMs
        if before == 0 && expireAtMs != 0 { keysWithExpiry += 1 }
        if before != 0 && expireAtMs == 0 { keysWithExpiry -= 1 }
        table.modify(at: position) { $0.expireAtMs = expireAtMs }
    }

    /// Stores `entry` for `key`, replacing any entry (as SET does).
    public func put(_ key: UnsafeRawBufferPointer, hash: UInt64, _ entry: KVEntry) {
        if let position = table.position(of: key, hash: hash) {
            let before = table[position: position].expireAtMs
            if before != 0 { keysWithExpiry -= 1 }
            table[position: position] = entry
        } else {
            table.insert(key, hash: hash, value: entry)
        }
        if entry.expireAtMs != 0 { keysWithExpiry += 1 }
    }

    /// Deletes up to `budget` slots' worth of expired keys, from where the
    /// last call stopped. Returns how many keys it deleted.
    func expireSome(budget: Int, nowMs: Int64) -> Int {
        guard keysWithExpiry > 0 else { return 0 }
        var deleted = 0
        var examined = 0
        while examined < budget && keysWithExpiry > 0 {
            let position = expiryCursor & (table.capacity - 1)
            if table.isOccupied(position) {
                let expireAt = table[position: position].expireAtMs
                if expireAt != 0 && expireAt <= nowMs {
                    remove(at: position)
                    deleted += 1
                    // Removal shifts the run back: look at this position again.
                    examined += 1
                    continue
                }
            }
            expiryCursor = position + 1
            examined += 1
        }
        return deleted
    }
}

/// The store's clock, read at most once per command (and only when an
/// expiry is involved): Unix time in milliseconds (CLOCK_REALTIME), as
/// redis-server keeps expiries, so that EXPIREAT and the overflow checks
/// on EX and PX amounts agree with it.
public struct KVClock {
    @usableFromInline var cached: Int64 = -1

    /// A clock not read yet.
    @inlinable public init() {}

    /// Now, in milliseconds.
    @inlinable
    public var nowMs: Int64 {
        mutating get {
            if cached < 0 {
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                cached = Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
            }
            return cached
        }
    }
}

/// All of keel-kv's keys.
public final class KVStore: @unchecked Sendable {
    /// The shards.
    public let shards: [KVShard]
    @usableFromInline let shardMask: UInt64
    /// Active expiry: the next shard to visit (shared by the loops' ticks).
    private let expiryTurn = Atomic<Int>(0)
    /// Client ids, unique across the loops that share the store.
    let clientIDs = KVClientIDs()

    /// A store for `loops` event loops: one unlocked shard for one loop,
    /// 64 locked shards for more (see the file header).
    public init(loops: Int) {
        let count = loops == 1 ? 1 : 64
        shards = (0..<count).map { _ in KVShard(locked: loops > 1) }
        shardMask = UInt64(count - 1)
    }

    /// The shard holding keys with `hash`.
    @inlinable
    public func shard(for hash: UInt64) -> KVShard {
        shards[Int(truncatingIfNeeded: (hash >> 40) & shardMask)]
    }

    /// Runs `body` on the shard of `hash`, under its lock.
    @inlinable
    public func withShard<R>(for hash: UInt64, _ body: (KVShard) -> R) -> R {
        let shard = shard(for: hash)
        shard.lock()
        defer { shard.unlock() }
        return body(shard)
    }

    /// Runs `body` with the shards of `hashes` locked, in ascending order.
    public func withShards<R>(for hashes: [UInt64], _ body: () -> R) -> R {
        guard shards.count > 1 else { return body() }
        var indices = Set<Int>()
        for hash in hashes { indices.insert(Int(truncatingIfNeeded: (hash >> 40) & shardMask)) }
        let ordered = indices.sorted()
        for index in ordered { shards[index].lock() }
        defer { for index in ordered.reversed() { shards[index].unlock() } }
        return body()
    }

    /// Runs `body` with every shard locked (DBSIZE, FLUSHALL).
    public func withAllShards<R>(_ body: () -> R) -> R {
        for shard in shards { shard.lock() }
        defer { for shard in shards.reversed() { shard.unlock() } }
        return body()
    }

    /// Keys in all.
    public var count: Int {
        withAllShards { shards.reduce(0) { $0 + $1.table.count } }
    }

    /// Removes every key in every shard (FLUSHALL).
    public func removeAll() {
        withAllShards {
            for shard in shards { shard.removeAll() }
        }
    }

    /// Keys removed in all shards, ever.
    var removals: Int {
        shards.reduce(0) { total, shard in
            shard.lock()
            defer { shard.unlock() }
            return total + shard.removals
        }
    }

    /// One tick of active expiry: up to `budget` slots examined, in the next
    /// shard that has keys with an expiry. Called by each loop's handler; with
    /// several loops each takes its own turn of shards.
    public func expireSome(budget: Int) -> Int {
        var clock = KVClock()
        let now = clock.nowMs
        for _ in 0..<shards.count {
            let index = expiryTurn.wrappingAdd(1, ordering: .relaxed).oldValue & (shards.count - 1)
            let shard = shards[index]
            shard.lock()
            defer { shard.unlock() }
            if shard.keysWithExpiry > 0 { return shard.expireSome(budget: budget, nowMs: now) }
        }
        return 0
    }
}
