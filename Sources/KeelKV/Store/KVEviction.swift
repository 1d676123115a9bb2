// KVEviction: keeping the store under maxmemory, as redis-server's
// performEvictions does. Before each command, and on each loop's tick, a
// store over its limit deletes keys chosen by the policy until it is under
// again: a shard with candidates is picked at random, `maxmemory-samples`
// of its keys (or of its keys with an expiry, for the volatile policies)
// are looked at, and the best one by the policy goes. With noeviction, or
// when no key qualifies, nothing is deleted and commands that would add
// memory are refused (`-OOM`), as redis-server refuses them.
//
// The LRU policies rank keys by a used-since-looked-at bit each entry
// keeps (KVEntry.wasUsed; a CLOCK: a sampled key that was used loses its
// bit and survives this round, one that was not is taken; sampling goes on
// past maxmemory-samples, up to four times as many, while it meets only
// used keys; a new key starts unused, as in SIEVE, so keys written and
// never read go first), where redis-server keeps a 24-bit access clock in
// every object and a pool of the best candidates. Both approximate
// least-recently-used from samples; keel-kv spends no byte per key on it
// (the bit is the lowest of the key-length field). Under a cache-aside
// load on a Zipf keyspace (bench/kv-cache.sh) it kept a higher hit ratio
// than redis-server's allkeys-lru in the same maxmemory. There is no
// LFU: keel-kv keeps no access counts.
//
// A key table that would grow past the limit waits until it holds 1.625
// keys per bucket (its chains are longer meanwhile), as redis-server's
// dictExpandAllowed waits until 1.618: doubling the buckets of a full
// cache would otherwise evict 16 bytes' worth of keys per key at once.
//
// A large value (a collection of more than 64 elements) evicted is freed
// on the background freer, as UNLINK frees one: freeing a hash of two
// million fields held the loop 550 ms. Its bytes, estimated as MEMORY
// USAGE does, count as gone meanwhile, so eviction takes no more keys
// for memory that is already leaving (redis-server's default,
// lazyfree-lazy-eviction no, frees it in place: 400-680 ms here).
//
// A store over its limit with nothing the policy may take (volatile-* and
// no key with an expiry) looks again a millisecond later, not on every
// command.
//
// One call evicts for at most 1 ms; a store still over its limit then lets
// the command run (as redis-server's eviction time limit does) and the
// next command or tick goes on.

import Synchronization

/// How keys are chosen for eviction (redis-server's maxmemory-policy).
enum KVEvictionPolicy: UInt8, Sendable, CaseIterable {
    case volatileLRU
    case volatileLFU
    case volatileRandom
    case volatileTTL
    case allKeysLRU
    case allKeysLFU
    case allKeysRandom
    case noEviction

    /// The name CONFIG uses.
    var name: String {
        switch self {
        case .volatileLRU: "volatile-lru"
        case .volatileLFU: "volatile-lfu"
        case .volatileRandom: "volatile-random"
        case .volatileTTL: "volatile-ttl"
        case .allKeysLRU: "allkeys-lru"
        case .allKeysLFU: "allkeys-lfu"
        case .allKeysRandom: "allkeys-random"
        case .noEviction: "noeviction"
        }
    }

    /// The policy named `name` (any case), or nil.
    init?(name: String) {
        let lowered = name.lowercased()
        guard let policy = Self.allCases.first(where: { $0.name == lowered }) else { return nil }
        self = policy
    }

    /// Whether keel-kv can evict by it (no access counts: no LFU).
    var isAvailable: Bool { self != .volatileLFU && self != .allKeysLFU }

    /// Whether only keys with an expiry are candidates.
    var onlyVolatile: Bool { self == .volatileLRU || self == .volatileRandom || self == .volatileTTL }
}

/// The store's memory against its limit, as eviction and the key tables'
/// growth see it.
final class KVMemoryGauge: Sendable {
    let settings: KVSettings
    /// Replaces KVHeap's count (tests: the count is the process's, shared
    /// by every store in it).
    private let reading: (@Sendable () -> Int)?

    /// Until when (monotonic ns) eviction found nothing to take: commands
    /// meanwhile do not look through every shard again (with --threads, 64
    /// locks per command, reads too).
    let nothingToEvictUntilNs = Atomic<Int64>(0)

    init(settings: KVSettings = KVSettings(), reading: (@Sendable () -> Int)? = nil) {
        self.settings = settings
        self.reading = reading
    }

    /// The bytes held now, less those of large values on their way out on
    /// the background freer (counted until it frees them). A test's own
    /// reading is taken as it is: the freer is the process's, and its
    /// bytes are other stores' as often as this one's.
    @inline(__always)
    var used: Int {
        if let reading { return reading() }
        return KVHeap.used &- KVLazyFree.shared.pendingBytes.load(ordering: .relaxed)
    }

    /// Whether taking `bytes` more keeps the store within maxmemory (or no
    /// limit is set).
    func allows(_ bytes: Int) -> Bool {
        let limit = settings.maxMemory.load(ordering: .relaxed)
        return limit == 0 || used &+ bytes <= limit
    }
}

/// Keeping the store under maxmemory (see the file header).
enum KVEviction {
    /// The time one call may spend evicting, in nanoseconds.
    static let budgetNs: Int64 = 1_000_000

    /// Evicts until the store is under its limit, for at most the budget.
    /// False when it is over the limit and nothing can be evicted (the
    /// caller refuses commands that add memory).
    static func makeRoom<G: RandomNumberGenerator>(in store: KVStore, using generator: inout G) -> Bool {
        let limit = store.settings.maxMemory.load(ordering: .relaxed)
        guard limit > 0, store.memory.used > limit else { return true }
        let policy = store.settings.evictionPolicy
        guard policy != .noEviction else { return false }
        // CLIENT PAUSE holds the store still, and what needs room is held
        // by it anyway: memory counts as fine (redis-server's choice).
        guard !store.clientPause.isOn(nowMs: store.clock.nowMs) else { return true }
        // redis-server takes any count up to INT_MAX; past a thousand a
        // sample says nothing more and would hold the shard's lock long.
        let samples = min(store.settings.evictionSamples.load(ordering: .relaxed), 1_000)
        let started = KVMaintenance.monotonicNs()
        guard started >= store.memory.nothingToEvictUntilNs.load(ordering: .relaxed) else { return false }
        var evicted = 0
        while store.memory.used > limit {
            guard evictOne(from: store, policy: policy, samples: samples, using: &generator) else {
                store.memory.nothingToEvictUntilNs.store(started + 1_000_000, ordering: .relaxed)
                return false
            }
            evicted &+= 1
            if evicted & 15 == 0 && KVMaintenance.monotonicNs() - started >= budgetNs { return true }
        }
        return true
    }

    /// Deletes one key chosen by `policy`; false when no shard has a candidate.
    private static func evictOne<G: RandomNumberGenerator>(
        from store: KVStore, policy: KVEvictionPolicy, samples: Int, using generator: inout G
    ) -> Bool {
        let count = store.shards.count
        let start = Int.random(in: 0..<count, using: &generator)
        for step in 0..<count {
            let index = (start &+ step) & (count &- 1)
            let shard = store.shards[index]
            let done = store.withShards(UInt64(1) << UInt64(index)) {
                shard.evictOne(policy: policy, samples: samples, using: &generator)
            }
            if done { return true }
        }
        return false
    }
}
