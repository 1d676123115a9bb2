// KVShard: one part of the keyspace: its keys (a KVDict of entries), the
// ones among them with an expiry (KVVolatileKeys), and, when several loops
// share the store, the mutex that guards both. Every change to an entry
// goes through here, so the dict, the expiry index and the counters stay in
// step: an entry that gains or loses an expiry, or changes size, is
// reallocated and put back where the old one was.
//
// A found key (KVSlot) carries the link that points to its entry: it stays
// valid until the shard's dict next changes (an insertion, a removal, or a
// find, which may move a bucket), so a command uses a slot at once.

import KeelPosix
import Synchronization

/// A key found in a shard: its entry, the link to it, its hash.
struct KVSlot {
    let entry: KVEntry
    let link: KVLink
    let hash: UInt64
}

/// One part of the keyspace (see the file header).
final class KVShard: @unchecked Sendable {
    @exclusivity(unchecked) private(set) var dict = KVDict<KVKeyLayout>()
    @exclusivity(unchecked) private(set) var volatile = KVVolatileKeys()
    /// Guards the shard when several loops share the store. A pthread
    /// mutex (Keel's Locked), which ThreadSanitizer sees; its value is
    /// unused, and not Void: TSan files a zero-size value's accesses at the
    /// object's address and reports them against its metadata reads.
    let mutex = Locked(false)
    /// The thread holding `mutex` (pthread_self), or 0: read only by that
    /// thread to see whether it holds the lock already.
    let owner = Atomic<UInt>(0)
    /// Keys removed by expiry, ever (INFO's expired_keys).
    @exclusivity(unchecked) private(set) var expirations = 0
    /// Keys removed to stay under maxmemory, ever (INFO's evicted_keys).
    @exclusivity(unchecked) private(set) var evictions = 0
    /// Replicas' snapshot walks under way over this shard: while any, its
    /// table does not resize (KVDict.resizePaused), so a walk by bucket
    /// position meets each key once.
    @exclusivity(unchecked) private(set) var snapshotWalks = 0

    /// Who watches keys: an expiry is a change to a watched key.
    let watches: KVWatches
    /// The replication stream: an expiry enters it as DEL.
    let replication: KVReplication

    /// The store's memory and limit: the table grows past it only when
    /// its chains get long (KVEviction).
    let memory: KVMemoryGauge

    /// What expiries and evictions announce (notify-keyspace-events).
    let events: KVKeyspaceEvents

    init(
        watches: KVWatches = KVWatches(), replication: KVReplication = KVReplication(),
        memory: KVMemoryGauge = KVMemoryGauge(), events: KVKeyspaceEvents = KVKeyspaceEvents()
    ) {
        self.events = events
        self.watches = watches
        self.replication = replication
        self.memory = memory
    }

    deinit {
        removeAll()
        dict.releaseBuckets()
    }

    var count: Int { dict.count }

    /// The table's buckets (both arrays while it resizes): a change tells a
    /// walk that its cursor may visit a key twice (KVKeysWalk), as does a
    /// flush (a table refilled mid-rehash can have the same sum of buckets
    /// with its keys elsewhere: growing 32K to 64K, shrinking 64K to 32K).
    var bucketCount: Int { dict.bucketCount }
    private(set) var flushes = 0

    // MARK: finding

    /// The live key `key`: an expired one is deleted and reported missing
    /// (lazy expiry), as redis-server does on access; while `expiring` is
    /// false (CLIENT PAUSE) it is left in place. The clock is read only for
    /// a key with an expiry: most keys have none, and a clock read was 3%
    /// of a SET's CPU at pipeline 16.
    @inline(__always)
    func find(
        _ key: UnsafeRawBufferPointer, hash: UInt64, nowMs: @autoclosure () -> Int64, feedingExpiry: Bool = true,
        expiring: @autoclosure () -> Bool = true
    ) -> KVSlot? {
        guard let (entry, link) = dict.find(key, hash: hash) else { return nil }
        let found = KVEntry(entry)
        if let expireAt = found.expireAtMs, expireAt <= nowMs() {
            if expiring() { expire(KVSlot(entry: found, link: link, hash: hash), feeding: feedingExpiry) }
            return nil
        }
        found.markUsed()
        return KVSlot(entry: found, link: link, hash: hash)
    }

    /// `find` without lazy expiry or rehash steps (readers that must not
    /// change the shard: nothing calls it on the hot path).
    func peek(_ key: UnsafeRawBufferPointer, hash: UInt64) -> KVEntry? {
        dict.lookup(key, hash: hash).map { KVEntry($0.entry) }
    }

    // MARK: changing

    /// Adds `entry` (its key absent). False when the expiry index cannot
    /// grow (the entry is then freed, with its object).
    @discardableResult
    func insert(_ entry: KVEntry, hash: UInt64) -> Bool {
        if entry.hasExpiry && !volatile.add(entry) {
            KVObjects.releaseEntry(entry)
            return false
        }
        // Doubling the buckets takes 8 bytes per bucket more.
        let mayGrow = !dict.growsOnInsert || memory.allows(dict.bucketCount &* 16)
        dict.insert(entry.pointer, hash: hash, mayGrow: mayGrow)
        return true
    }

    /// Deletes the key at `slot`, freeing its entry and object.
    func remove(_ slot: KVSlot) {
        unlink(slot)
        KVObjects.releaseEntry(slot.entry)
    }

    /// Deletes the key at `slot`, its object freed in the background when
    /// large (UNLINK).
    func removeLazily(_ slot: KVSlot) {
        unlink(slot)
        KVObjects.releaseEntryLazily(slot.entry)
    }

    /// Takes the key at `slot` out without freeing it (RENAME, lazy free).
    func unlink(_ slot: KVSlot) {
        dict.remove(at: slot.link, entry: slot.entry.pointer, hash: slot.hash)
        if slot.entry.hasExpiry { volatile.remove(slot.entry) }
        dict.shrinkIfSparse()
    }

    /// Deletes an expired key (a change that fails transactions watching it,
    /// and that replicas hear of as DEL: at once, unless `feeding` is false
    /// and the caller sends it with the command that found it).
    func expire(_ slot: KVSlot, feeding: Bool = true) {
        announceRemoval(of: slot.entry.key, feeding: feeding)
        events.queue(.expired, "expired", slot.entry.key)
        remove(slot)
        expirations &+= 1
    }

    /// A key the store deletes by itself (expiry, eviction): a change to
    /// transactions watching it, and a DEL to replicas (now, unless
    /// `feeding` is false and the caller sends it).
    private func announceRemoval(of key: UnsafeRawBufferPointer, feeding: Bool) {
        watches.touch(key)
        if replication.isActive {
            replication.noteWritten(key)
            if feeding { replication.feedDeletion(of: key) }
        }
    }

    /// The slot of `entry`, found again from its key (dict.lookup moves no
    /// bucket): for entries reached other than by key (samples).
    private func slot(of entry: KVEntry) -> KVSlot {
        let key = entry.key
        let hash = ByteHash.hash(key)
        guard let (found, link) = dict.lookup(key, hash: hash), found == entry.pointer else {
            preconditionFailure("a sampled entry missing from its dict")
        }
        return KVSlot(entry: entry, link: link, hash: hash)
    }

    /// Puts `replacement` (the same key, reallocated; same expiry state as
    /// the entry it replaces, or not: the index follows) where `slot`'s
    /// entry was. The old block is not freed here.
    func replace(_ slot: KVSlot, with replacement: KVEntry) -> Bool {
        let old = slot.entry
        // A rewritten key (SET over it, APPEND, a new expiry) was just used.
        if old.wasUsed { replacement.markUsed() }
        switch (old.hasExpiry, replacement.hasExpiry) {
        case (true, true): volatile.moved(old, to: replacement)
        case (true, false): volatile.remove(old)
        case (false, true):
            guard volatile.add(replacement) else { return false }
        case (false, false): break
        }
        dict.replace(at: slot.link, entry: old.pointer, with: replacement.pointer)
        return true
    }

    /// Gives the key at `slot` an expiry (Unix ms), or none; returns the slot
    /// of the (possibly reallocated) entry, or nil when memory ran out (the
    /// key is then unchanged).
    func setExpiry(_ slot: KVSlot, _ expireAtMs: Int64?) -> KVSlot? {
        let entry = slot.entry
        if let expireAtMs, entry.hasExpiry {
            entry.setExpireAtMs(expireAtMs)
            return slot
        }
        if expireAtMs == nil && !entry.hasExpiry { return slot }
        // The expiry changes the entry's layout: a new block, put in place.
        let volatileSlot = entry.hasExpiry ? entry.volatileSlot : -1
        guard let copy = entry.copy(withExpiry: expireAtMs) else { return nil }
        if volatileSlot >= 0 && copy.hasExpiry { copy.volatileSlot = volatileSlot }
        guard replace(slot, with: copy) else {
            copy.freeBlock()
            return nil
        }
        entry.freeBlock()
        return KVSlot(entry: copy, link: slot.link, hash: slot.hash)
    }

    /// Deletes every key.
    func removeAll() {
        flushes &+= 1
        volatile.removeAll()
        dict.removeAll { KVObjects.releaseEntry(KVEntry($0)) }
    }

    /// Takes every key out without freeing them: the dict's arrays and
    /// entries are handed to `body` (FLUSHALL ASYNC frees them elsewhere).
    func detachAll() -> KVDict<KVKeyLayout> {
        flushes &+= 1
        volatile.removeAll()
        let detached = dict
        dict = KVDict()
        dict.resizePaused = snapshotWalks > 0
        return detached
    }

    // MARK: background work

    /// Moves up to `buckets` buckets of a resize under way, and starts a
    /// shrink when the table has become sparse; whether one is under way.
    func rehash(buckets: Int) -> Bool {
        if !dict.isRehashing { dict.shrinkIfSparse() }
        // A finished resize may leave a table that is still sparse.
        return dict.rehash(buckets: buckets) || dict.shrinkIfSparse()
    }

    /// Active expiry's sample: up to `count` random keys with an expiry;
    /// those past `nowMs` are deleted. Returns how many were looked at and
    /// how many deleted.
    func expireSample<G: RandomNumberGenerator>(count: Int, nowMs: Int64, using generator: inout G) -> (
        sampled: Int, expired: Int
    ) {
        var sampled = 0
        var expired = 0
        while sampled < count && volatile.count > 0 {
            let entry = volatile[Int.random(in: 0..<volatile.count, using: &generator)]
            sampled &+= 1
            guard let expireAt = entry.expireAtMs, expireAt <= nowMs else { continue }
            expire(slot(of: entry))
            expired &+= 1
        }
        return (sampled, expired)
    }

    /// Keys with an expiry.
    var volatileCount: Int { volatile.count }

    /// Eviction's step here: looks at up to `samples` random candidates
    /// for `policy` and deletes the one it ranks first (KVEviction); false
    /// when the shard has no candidate.
    func evictOne<G: RandomNumberGenerator>(
        policy: KVEvictionPolicy, samples: Int, using generator: inout G
    ) -> Bool {
        let onlyVolatile = policy.onlyVolatile
        guard onlyVolatile ? volatile.count > 0 : dict.count > 0 else { return false }
        var chosen: KVEntry?
        var soonest = Int64.max
        // The LRU policies go on past `samples` while every key they met
        // was used (and lost its bit): a CLOCK's hand sweeps until it finds
        // an unused key. Without this, a table whose keys were all written
        // recently gives up a random key, busy or not.
        let draws = policy == .allKeysLRU || policy == .volatileLRU ? max(1, samples) &* 4 : max(1, samples)
        for _ in 0..<draws {
            let entry =
                onlyVolatile
                ? volatile[Int.random(in: 0..<volatile.count, using: &generator)]
                : KVEntry(dict.nearbyEntry(using: &generator).unsafelyUnwrapped)
            switch policy {
            case .volatileTTL:
                // The key closest to expiring.
                let expireAt = entry.expireAtMs.unsafelyUnwrapped
                if chosen == nil || expireAt < soonest { (chosen, soonest) = (entry, expireAt) }
                continue
            case .volatileLRU, .allKeysLRU:
                // A used key loses its bit and is spared this time.
                if entry.wasUsed {
                    entry.clearUsed()
                    if chosen == nil { chosen = entry }
                    continue
                }
            default: break
            }
            chosen = entry
            break
        }
        evict(chosen.unsafelyUnwrapped)
        return true
    }

    /// Deletes `entry` to make room: a change to watchers, a DEL to replicas.
    private func evict(_ entry: KVEntry) {
        announceRemoval(of: entry.key, feeding: true)
        events.queue(.evicted, "evicted", entry.key)
        removeLazily(slot(of: entry))
        evictions &+= 1
    }

    /// A replica's snapshot walk begins (or ends): resizes wait for the last.
    func beginSnapshotWalk() {
        snapshotWalks &+= 1
        dict.resizePaused = true
    }

    func endSnapshotWalk() {
        precondition(snapshotWalks > 0, "a snapshot walk ended twice")
        snapshotWalks &-= 1
        dict.resizePaused = snapshotWalks > 0
    }

    /// The entries of up to `buckets` buckets from position `start` (see
    /// KVDict); the next position, or nil past the last.
    func forEachEntry(fromBucket start: Int, buckets: Int, _ body: (KVEntry) -> Void) -> Int? {
        dict.forEachEntry(fromBucket: start, buckets: buckets) { body(KVEntry($0)) }
    }

    /// One SCAN step over this shard's keys.
    func scan(_ cursor: UInt64, _ body: (KVEntry) -> Void) -> UInt64 {
        dict.scan(cursor) { body(KVEntry($0)) }
    }

    func randomEntry<G: RandomNumberGenerator>(using generator: inout G) -> KVEntry? {
        dict.randomEntry(using: &generator).map(KVEntry.init)
    }

    func forEachEntry(_ body: (KVEntry) -> Void) {
        dict.forEachEntry { body(KVEntry($0)) }
    }

    func checkInvariants() {
        dict.checkInvariants()
        volatile.checkInvariants()
        var withExpiry = 0
        dict.forEachEntry { if KVEntry($0).hasExpiry { withExpiry += 1 } }
        precondition(withExpiry == volatile.count, "\(withExpiry) keys with an expiry, \(volatile.count) indexed")
    }
}
