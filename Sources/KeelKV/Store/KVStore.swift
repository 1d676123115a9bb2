// KVStore: all of keel-kv's keys, in shards.
//
// Threading. With one event loop (the default) the store has one shard and
// one owner, the loop's thread, and takes no locks. With --threads N the
// loops share one store of 64 shards, each under its own mutex; a command
// locks the shards of the keys it names (a 64-bit mask, from its command
// table row), in ascending order, so no two commands can wait on each other,
// and runs under them: every command is atomic, as in redis-server, and
// commands on different shards run in parallel. Replies are written to the
// handler's own buffer while the locks are held, and to the connection
// after they are released.
//
// Background work, a bounded step at a time (KVMaintenance): moving buckets
// of a resize, active expiry, giving memory back.

import Glibc
import Synchronization

/// Where the store reads the time: Unix milliseconds.
public struct KVClock: Sendable {
    let read: @Sendable () -> Int64

    /// The system's real time (CLOCK_REALTIME), as redis-server keeps expiries.
    public static let system = KVClock { KVClock.realtimeMs() }

    /// A clock that reads `read` (tests move it by hand).
    public init(_ read: @escaping @Sendable () -> Int64) {
        self.read = read
    }

    static func realtimeMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Now.
    @inline(__always)
    public var nowMs: Int64 { read() }
}

/// All of keel-kv's keys (see the file header).
public final class KVStore: @unchecked Sendable {
    let shards: [KVShard]
    /// The same shards unmanaged (the array above keeps them), for the
    /// per-command lookups: `withShard` lends one without a retain and a
    /// release, which `shards[i]` costs each time.
    private let unmanagedShards: [Unmanaged<KVShard>]
    /// Shards are chosen by the high bits of a key's hash.
    let shardMask: UInt64
    /// Bits of a SCAN cursor that name the shard.
    let shardBits: Int
    /// Whether commands lock shards (several loops share the store).
    let isShared: Bool
    let clock: KVClock
    /// Client ids, unique across the loops that share the store.
    let clientIDs = KVClientIDs()
    /// Every open connection, as CLIENT LIST sees it.
    let clients = KVClients()
    /// What SHUTDOWN calls to stop the server (the executable sets it;
    /// without it SHUTDOWN is refused).
    public let shutdownAction = Mutex<(@Sendable () -> Void)?>(nil)
    /// What Keel counted for INFO (bytes, connections turned away): the
    /// executable reads its server's counters; without it INFO says 0.
    public let serverTotals = Mutex<(@Sendable () -> KVServerTotals)?>(nil)
    /// INFO's instantaneous rates, sampled by the first loop's ticks.
    let rates = KVRates()
    /// Channels and patterns and who listens to them.
    let pubsub: KVPubSub
    /// notify-keyspace-events, and what the store removed by itself, to announce.
    let events: KVKeyspaceEvents
    /// Clients in MONITOR (a command looks at its count only).
    let monitors = KVClients()
    /// CLIENT TRACKING's table of keys read and prefixes (client-side caching).
    var tracking: KVTracking { events.tracking }
    /// Clients blocked on keys (BLPOP and the like).
    let blocking: KVBlocking
    /// CLIENT PAUSE's kind and end.
    let clientPause = KVClientPause()
    /// The event loops sharing the store.
    let loopCount: Int
    /// What every loop's handler counts and INFO reports.
    let counters = KVCounters()
    /// Active expiry and background rehashing: the next shard to visit.
    let maintenanceTurn = Atomic<Int>(0)
    /// Sessions that watch keys (WATCH), by key, shared by every loop.
    let watches: KVWatches
    /// The replication stream and the replicas it feeds.
    let replication: KVReplication
    /// Settings CONFIG GET and SET read and write.
    let settings: KVSettings
    /// When the store started (INFO's uptime).
    let startedAtMs: Int64
    /// The memory held against maxmemory.
    let memory: KVMemoryGauge

    /// A store for `loops` event loops: one unlocked shard for one loop, 64
    /// locked shards for more (see the file header).
    public convenience init(loops: Int, clock: KVClock = .system, settings: KVSettings = KVSettings()) {
        self.init(loops: loops, clock: clock, settings: settings, memoryReading: nil)
    }

    init(loops: Int, clock: KVClock, settings: KVSettings, memoryReading: (@Sendable () -> Int)?) {
        let memory = KVMemoryGauge(settings: settings, reading: memoryReading)
        self.memory = memory
        ByteHash.prepare()
        let count = loops == 1 ? 1 : 64
        let watches = KVWatches()
        let replication = KVReplication()
        let events = KVKeyspaceEvents()
        self.events = events
        shards = (0..<count).map { _ in
            KVShard(watches: watches, replication: replication, memory: memory, events: events)
        }
        unmanagedShards = shards.map { Unmanaged.passUnretained($0) }
        self.replication = replication
        shardMask = UInt64(count - 1)
        shardBits = count.trailingZeroBitCount
        isShared = loops > 1
        self.watches = watches
        blocking = KVBlocking(loops: loops)
        loopCount = max(loops, 1)
        pubsub = KVPubSub(loops: loops)
        self.clock = clock
        self.settings = settings
        startedAtMs = clock.nowMs
    }

    /// How many shards the keys are spread over (1, or 64 with threads).
    public var shardCount: Int { shards.count }

    /// The index of the shard holding keys with `hash`.
    @inline(__always)
    func shardIndex(for hash: UInt64) -> Int {
        Int(truncatingIfNeeded: (hash >> 40) & shardMask)
    }

    @inline(__always)
    func shard(for hash: UInt64) -> KVShard {
        shards[shardIndex(for: hash)]
    }

    /// Runs `body` with the shard holding keys with `hash`, lent without
    /// reference counting (the store keeps every shard for its life).
    @inline(__always)
    func withShard<Result>(for hash: UInt64, _ body: (KVShard) -> Result) -> Result {
        unmanagedShards[shardIndex(for: hash)]._withUnsafeGuaranteedRef(body)
    }

    // MARK: locking

    /// Runs `body` with the shards in `mask` locked, in ascending order
    /// (nothing is locked when the store is not shared).
    @inline(__always)
    func withShards<R>(_ mask: UInt64, _ body: () -> R) -> R {
        guard isShared && mask != 0 else { return body() }
        return lock(mask, body)
    }

    /// Locks in ascending order; a shard this thread holds already (EXEC
    /// running FLUSHALL, which holds every shard) is not locked again.
    private func lock<R>(_ mask: UInt64, _ body: () -> R) -> R {
        if mask == 0 { return body() }
        let index = mask.trailingZeroBitCount
        let shard = shards[index]
        let me = UInt(bitPattern: Int(bitPattern: UInt(pthread_self())))
        if shard.owner.load(ordering: .relaxed) == me { return lock(mask & (mask &- 1), body) }
        var result: R?
        shard.mutex.withLock { _ in
            shard.owner.store(me, ordering: .relaxed)
            defer { shard.owner.store(0, ordering: .relaxed) }
            result = lock(mask & (mask &- 1), body)
        }
        return result.unsafelyUnwrapped
    }

    /// Every shard's bit.
    var allShards: UInt64 { shardMask == 63 ? UInt64.max : (UInt64(1) << UInt64(shards.count)) - 1 }

    /// Runs `body` with every shard locked.
    func withAllShards<R>(_ body: () -> R) -> R {
        withShards(allShards, body)
    }

    // MARK: the keyspace as a whole

    /// Keys in all shards (every shard locked in turn, not together).
    var count: Int {
        shards.reduce(0) { total, shard in total + withShards(bit(of: shard)) { shard.count } }
    }

    /// Keys with an expiry in all shards.
    var volatileCount: Int {
        shards.reduce(0) { total, shard in total + withShards(bit(of: shard)) { shard.volatileCount } }
    }

    /// Keys expired in all shards, ever.
    var expirations: Int {
        shards.reduce(0) { total, shard in total + withShards(bit(of: shard)) { shard.expirations } }
    }

    /// Keys evicted in all shards, ever.
    var evictions: Int {
        shards.reduce(0) { total, shard in total + withShards(bit(of: shard)) { shard.evictions } }
    }

    /// INFO's stats since the start (KVStatistics).
    var statisticsSinceStart: KVStatistics {
        let syncs = replication.backlogStatus
        let network = keelTotals
        return KVStatistics(
            connectionsReceived: counters.connectionsReceived.load(ordering: .relaxed),
            commandsProcessed: counters.commandsProcessed, syncFull: syncs.full, syncPartialOK: syncs.partial,
            syncPartialError: syncs.refused, expiredKeys: expirations, evictedKeys: evictions,
            keyspaceHits: counters.keyspaceHits, keyspaceMisses: counters.keyspaceMisses,
            authFailures: counters.authFailures.load(ordering: .relaxed), netInputBytes: network.bytesIn,
            netOutputBytes: network.bytesOut, rejectedConnections: network.rejectedConnections)
    }

    /// Keel's counts so far (see serverTotals).
    var keelTotals: KVServerTotals {
        serverTotals.withLock { $0 }?() ?? KVServerTotals()
    }

    /// Records the running totals for INFO's rates when a sample is due.
    func sampleRates(nowMs: Int64) {
        guard rates.isDue(nowMs: nowMs) else { return }
        let network = keelTotals
        rates.record(
            KVRateSample(
                atMs: nowMs, commands: counters.commandsProcessed, bytesIn: network.bytesIn,
                bytesOut: network.bytesOut))
    }

    /// INFO's stats since the last CONFIG RESETSTAT.
    var statistics: KVStatistics {
        statisticsSinceStart.since(counters.baseline.withLock { $0 })
    }

    /// CONFIG RESETSTAT: the stats count from zero again.
    func resetStatistics() {
        let now = statisticsSinceStart
        counters.baseline.withLock { $0 = now }
        counters.resetErrors()
    }

    /// The lock bit of `shard`.
    func bit(of shard: KVShard) -> UInt64 {
        guard let index = shards.firstIndex(where: { $0 === shard }) else { return 0 }
        return UInt64(1) << UInt64(index)
    }

    /// Deletes every key in every shard now (FLUSHALL, FLUSHDB).
    func removeAll() {
        for (index, shard) in shards.enumerated() {
            withShards(UInt64(1) << UInt64(index)) { shard.removeAll() }
        }
    }

    /// Takes every key out now and frees them on the background freer
    /// (FLUSHALL ASYNC, FLUSHDB ASYNC).
    func removeAllLazily() {
        // What leaves, about: the counted memory shared out by keys (so
        // eviction does not take keys written meanwhile for it).
        let held = KVHeap.used
        let keys = max(1, count)
        for (index, shard) in shards.enumerated() {
            let detached = withShards(UInt64(1) << UInt64(index)) { shard.detachAll() }
            KVLazyFree.shared.free(.keyspace(detached, bytes: held / keys * detached.count))
        }
    }
}
