// KVMaintenance: the store's background work, done by each loop's tick in
// bounded steps so no client waits behind it:
//
// - Active expiry. Lazy expiry (on access) keeps reads correct but never
//   frees a key nobody reads again, so keys written with a TTL and then
//   forgotten would pile up. Each tick samples random keys with an expiry,
//   shard after shard, deleting the ones past their time; a shard is
//   sampled again while more than a tenth of its sample had expired (many
//   more are then likely waiting), within a time budget per tick. As
//   redis-server's active expire cycle, this bounds the share of expired
//   keys still held to about a tenth of the volatile ones, at a bounded
//   cost in CPU (budget / tick interval: 1 ms of 4, a quarter, as
//   redis-server's slow cycle allows itself) and never more than the
//   budget added to a request's wait.
// - Eviction, when the store is over maxmemory (KVEviction).
// - Resizing. A growing or shrinking table moves one bucket per operation
//   on it (KVDict); an idle table would keep both arrays forever, so each
//   tick moves a bounded batch of buckets of every shard being resized.
//
// With --threads every loop ticks and takes the next shards in turn (the
// store's maintenanceTurn), each shard locked only for one batch.

import Glibc

/// One loop's share of the store's background work (see the file header).
struct KVMaintenance {
    /// Keys sampled per batch (redis-server samples 20 per database loop).
    static let sampleSize = 20
    /// Above this share of expired keys in a sample, the shard is sampled again.
    static let resampleWhenExpiredPercent = 10
    /// The time one tick may spend on expiry, in nanoseconds.
    static let expiryBudgetNs: Int64 = 1_000_000
    /// Buckets moved per shard per tick while a resize is under way.
    static let rehashBucketsPerTick = 1_024
    /// The time one tick may spend on resizes, in nanoseconds.
    static let rehashBudgetNs: Int64 = 1_000_000

    private var random = KVRandom()
    /// The shard the next tick's rehashing begins with.
    private var rehashTurn = 0

    /// Keys this loop's ticks have expired, ever.
    private(set) var expired = 0

    /// One tick's work on `store`.
    mutating func run(on store: KVStore) {
        expireSome(in: store)
        rehashSome(in: store)
        // Over maxmemory with no command coming (a limit lowered, an
        // eviction cut short by its budget): the tick evicts too.
        if store.settings.maxMemory.load(ordering: .relaxed) > 0 { _ = KVEviction.makeRoom(in: store, using: &random) }
        KVHeap.notePeak()
    }

    /// Active expiry within the time budget.
    mutating func expireSome(in store: KVStore) {
        guard store.settings.activeExpiry.load(ordering: .relaxed) else { return }
        // CLIENT PAUSE holds the store still.
        guard !store.clientPause.isOn(nowMs: store.clock.nowMs) else { return }
        let started = Self.monotonicNs()
        let nowMs = store.clock.nowMs
        // At most one pass over the shards per tick.
        for _ in 0..<store.shards.count {
            let index = store.maintenanceTurn.wrappingAdd(1, ordering: .relaxed).oldValue & (store.shards.count - 1)
            let shard = store.shards[index]
            let bit = UInt64(1) << UInt64(index)
            while true {
                let (sampled, expiredNow) = store.withShards(bit) {
                    shard.expireSample(count: Self.sampleSize, nowMs: nowMs, using: &random)
                }
                expired &+= expiredNow
                if sampled == 0 || expiredNow * 100 <= sampled * Self.resampleWhenExpiredPercent { break }
                if Self.monotonicNs() - started >= Self.expiryBudgetNs { return }
            }
            if Self.monotonicNs() - started >= Self.expiryBudgetNs { return }
        }
    }

    /// Moves a batch of buckets of each shard being resized, until the
    /// time budget is spent (with --threads the 64 shards grow at about the
    /// same time: 64 batches in one tick could take milliseconds); the next
    /// tick begins with the shard after the last one served.
    mutating func rehashSome(in store: KVStore) {
        let started = Self.monotonicNs()
        for _ in 0..<store.shards.count {
            let index = rehashTurn & (store.shards.count - 1)
            rehashTurn &+= 1
            let shard = store.shards[index]
            let resizing = store.withShards(UInt64(1) << UInt64(index)) {
                shard.rehash(buckets: Self.rehashBucketsPerTick)
            }
            if resizing && Self.monotonicNs() - started >= Self.rehashBudgetNs { return }
        }
    }

    static func monotonicNs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
