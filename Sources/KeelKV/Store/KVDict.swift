// KVDict: a hash table of raw entries keyed by byte strings, grown and shrunk
// a bucket at a time, as Redis's dict.c is: never stopping its owner for
// longer than one bounded step.
//
// Entries are the caller's own memory blocks; the table only chains them.
// Every entry begins with the pointer to the next entry of its bucket
// (8 bytes), and the entry's layout (KVEntryLayout) says where its key is,
// so a lookup compares the borrowed bytes of a request with the key in
// place, allocating nothing. Hashes are not stored: a move recomputes them.
//
// Resizing. The table holds one bucket array, or two while it moves from
// the old to the new: `rehashIndex` is the first old bucket not yet moved.
// Every lookup, insertion and removal moves one bucket (visiting at most ten
// empty ones), and the owner moves a batch per tick (`rehash(buckets:)`),
// so the cost of growing from a million keys to two is spread over the
// operations that caused it, a few entries each, where one rehash of
// everything would stop the loop for hundreds of milliseconds. New entries
// go to the new array. The table grows once it holds as many entries as
// buckets (load 1) and shrinks once fewer than an eighth of its buckets are
// used, to the smallest power of two that holds its entries.
//
// Invariants (checkInvariants): `count` entries are reachable; every entry
// sits in the bucket its hash selects in the array it is in; while
// rehashing, the old array's buckets below `rehashIndex` are empty.

import Glibc

/// Where an entry keeps its key: what a KVDict needs of an entry's layout.
protocol KVEntryLayout {
    /// Where a table of these entries keeps whether its resizes are paused:
    /// only the keyspace is walked while it changes (a replica's snapshot),
    /// so the tables inside values store nothing for it.
    associatedtype ResizePause: KVResizePause = KVNeverPaused

    /// The key of `entry`, borrowed from it.
    static func key(of entry: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer
}

/// A table's "resizes paused" flag (KVDict.resizePaused).
protocol KVResizePause {
    init()
    var isPaused: Bool { get set }
}

/// For tables never walked while they change: no storage (a stored flag
/// would take a hash's or a set's table object from malloc's 80-byte class
/// to its 96-byte one: 16 more bytes per small hashtable).
struct KVNeverPaused: KVResizePause {
    @inline(__always) init() {}

    var isPaused: Bool {
        @inline(__always) get { false }
        set { precondition(!newValue, "this table's resizes cannot be paused") }
    }
}

/// For the keyspace: a stored flag.
struct KVPausableResizes: KVResizePause {
    var isPaused = false
}

/// A slot holding a pointer to an entry: a bucket, or the `next` field of
/// the entry before it. Writing through it replaces or unlinks the entry.
typealias KVLink = UnsafeMutablePointer<UnsafeMutableRawPointer?>

/// One array of buckets, each the head of a chain of entries.
struct KVBuckets {
    /// `size` bucket heads; nil when the array has none.
    var heads: KVLink?
    /// A power of two, or 0.
    var size: Int
    /// Entries chained from this array.
    var used: Int

    static var none: KVBuckets { KVBuckets(heads: nil, size: 0, used: 0) }

    /// `size` empty buckets (zeroed pages from calloc: an array of millions
    /// costs nothing until touched).
    static func allocate(_ size: Int) -> KVBuckets {
        precondition(size > 0 && size & (size - 1) == 0, "bucket count \(size) is not a power of two")
        guard let raw = KVHeap.allocateZeroed(size, stride: MemoryLayout<UnsafeMutableRawPointer?>.stride) else {
            preconditionFailure("no memory for \(size) buckets")
        }
        return KVBuckets(heads: raw.assumingMemoryBound(to: UnsafeMutableRawPointer?.self), size: size, used: 0)
    }

    var mask: Int { size &- 1 }

    /// Frees the array (a large one on the background freer: KVLazyFree).
    func release() {
        if let heads {
            KVLazyFree.shared.freeBlock(
                UnsafeMutableRawPointer(heads), bytes: size &* MemoryLayout<UnsafeMutableRawPointer?>.stride)
        }
    }
}

/// A resizable chained hash table of raw entries (see the file header).
struct KVDict<Layout: KVEntryLayout> {
    /// The array in use, or the old one while rehashing.
    private(set) var primary = KVBuckets.none
    /// The new array while rehashing, else empty.
    private(set) var secondary = KVBuckets.none
    /// The first bucket of `primary` not yet moved; -1 when not rehashing.
    private(set) var rehashIndex = -1
    /// While set, the table neither starts nor continues a resize (chains
    /// grow longer instead), so no entry moves: a walk by bucket position
    /// (a replica's snapshot, KVSnapshotWalk) meets every entry present
    /// throughout exactly once.
    var resizePaused: Bool {
        @inline(__always) get { pause.isPaused }
        set { pause.isPaused = newValue }
    }
    private var pause = Layout.ResizePause()

    /// The smallest bucket array.
    static var minimumSize: Int { 4 }

    init() {}

    /// Entries in the table.
    var count: Int { primary.used &+ secondary.used }

    /// Whether the table is moving its entries to a new array.
    var isRehashing: Bool { rehashIndex >= 0 }

    /// Buckets in all (both arrays while rehashing).
    var bucketCount: Int { primary.size &+ secondary.size }

    /// Frees the bucket arrays (not the entries: release them first with
    /// `removeAll(_:)`).
    func releaseBuckets() {
        primary.release()
        secondary.release()
    }

    // MARK: finding

    /// The entry whose key is `key`, and the link that points to it. Moves
    /// a bucket first when rehashing. The link is valid until the table
    /// next changes.
    mutating func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> (entry: UnsafeMutableRawPointer, link: KVLink)? {
        if isRehashing && !resizePaused { rehashStep() }
        return lookup(key, hash: hash)
    }

    /// `find` without the rehash step (for readers that must not change the table).
    func lookup(_ key: UnsafeRawBufferPointer, hash: UInt64) -> (entry: UnsafeMutableRawPointer, link: KVLink)? {
        guard primary.size > 0 else { return nil }
        let index = Int(truncatingIfNeeded: hash) & primary.mask
        if !isRehashing || index >= rehashIndex,
            let found = Self.search(primary.heads.unsafelyUnwrapped + index, key)
        {
            return found
        }
        if isRehashing {
            let newIndex = Int(truncatingIfNeeded: hash) & secondary.mask
            return Self.search(secondary.heads.unsafelyUnwrapped + newIndex, key)
        }
        return nil
    }

    private static func search(_ head: KVLink, _ key: UnsafeRawBufferPointer) -> (
        entry: UnsafeMutableRawPointer, link: KVLink
    )? {
        var link = head
        while let entry = link.pointee {
            let candidate = Layout.key(of: entry)
            if candidate.count == key.count
                && (key.count == 0 || memcmp(candidate.baseAddress!, key.baseAddress!, key.count) == 0)
            {
                return (entry, link)
            }
            link = KVEntryLink.next(of: entry)
        }
        return nil
    }

    // MARK: changing

    /// Whether the next insert starts a growth (with `mayGrow`).
    var growsOnInsert: Bool { !isRehashing && primary.size > 0 && primary.used >= primary.size && !resizePaused }

    /// Adds `entry` (whose key is absent) to the table. May start a resize
    /// (and moves a bucket when one is under way); without `mayGrow` (the
    /// memory is short) a growth waits until 1.625 entries per bucket.
    mutating func insert(_ entry: UnsafeMutableRawPointer, hash: UInt64, mayGrow: Bool = true) {
        if isRehashing {
            if !resizePaused { rehashStep() }
        } else if primary.size == 0 {
            primary = KVBuckets.allocate(Self.minimumSize)
        } else if primary.used >= primary.size && !resizePaused
            && (mayGrow || primary.used &* 8 >= primary.size &* 13)
        {
            // Short of memory: double, no more.
            startResize(to: mayGrow ? KVDict.size(for: primary.used &* 2) : primary.size &* 2)
        }
        // New entries go to the new array while resizing, except while the
        // resize is paused: then an entry whose old bucket has not moved yet
        // goes there, so where a key sits depends on its hash alone and a
        // walk by position cannot meet one deleted and added again twice.
        let intoNew = isRehashing && !(resizePaused && Int(truncatingIfNeeded: hash) & primary.mask >= rehashIndex)
        var target = intoNew ? secondary : primary
        let index = Int(truncatingIfNeeded: hash) & target.mask
        let head = target.heads.unsafelyUnwrapped + index
        KVEntryLink.next(of: entry).pointee = head.pointee
        head.pointee = entry
        target.used &+= 1
        if intoNew { secondary = target } else { primary = target }
    }

    /// Unlinks the entry `link` points to (from `find`, with the key's
    /// `hash`); the caller frees it.
    mutating func remove(at link: KVLink, entry: UnsafeMutableRawPointer, hash: UInt64) {
        assert(link.pointee == entry, "the link does not point to the entry")
        // Which array holds it: while rehashing, the new one for buckets
        // already moved and for every entry added since the rehash began.
        if isRehashing
            && Self.chain(
                from: secondary.heads.unsafelyUnwrapped + (Int(truncatingIfNeeded: hash) & secondary.mask), holds: link)
        {
            secondary.used &-= 1
        } else {
            primary.used &-= 1
        }
        link.pointee = KVEntryLink.next(of: entry).pointee
    }

    /// Whether `link` is the head of the chain at `head` or a link within it.
    private static func chain(from head: KVLink, holds link: KVLink) -> Bool {
        var current = head
        while true {
            if current == link { return true }
            guard let entry = current.pointee else { return false }
            current = KVEntryLink.next(of: entry)
        }
    }

    /// Puts `replacement` where `entry` was (the same key, e.g. a block
    /// reallocated to a new size): `link` from `find`, unchanged since.
    func replace(at link: KVLink, entry: UnsafeMutableRawPointer, with replacement: UnsafeMutableRawPointer) {
        assert(link.pointee == entry, "the link does not point to the entry")
        if replacement != entry {
            KVEntryLink.next(of: replacement).pointee = KVEntryLink.next(of: entry).pointee
            link.pointee = replacement
        }
    }

    /// Empties the table, calling `release` with every entry, and keeps no
    /// buckets.
    mutating func removeAll(_ release: (UnsafeMutableRawPointer) -> Void) {
        for buckets in [primary, secondary] where buckets.size > 0 {
            for index in 0..<buckets.size {
                var next = buckets.heads.unsafelyUnwrapped[index]
                while let entry = next {
                    next = KVEntryLink.next(of: entry).pointee
                    release(entry)
                }
            }
        }
        releaseBuckets()
        primary = .none
        secondary = .none
        rehashIndex = -1
    }

    // MARK: resizing

    /// The bucket count for `entries`: the smallest power of two at least
    /// that, and at least the minimum.
    static func size(for entries: Int) -> Int {
        var size = minimumSize
        while size < entries { size &*= 2 }
        return size
    }

    private mutating func startResize(to size: Int) {
        precondition(!isRehashing, "a resize while rehashing")
        guard size != primary.size else { return }
        secondary = KVBuckets.allocate(size)
        rehashIndex = 0
    }

    /// Starts a shrink when fewer than an eighth of the buckets are used
    /// (called by the owner after removals and on its idle ticks). Returns
    /// whether one started.
    @discardableResult
    mutating func shrinkIfSparse() -> Bool {
        guard !isRehashing, !resizePaused, primary.size > Self.minimumSize, primary.used &* 8 < primary.size else {
            return false
        }
        startResize(to: KVDict.size(for: primary.used))
        return true
    }

    /// Moves one bucket of the old array (skipping at most ten empty ones).
    mutating func rehashStep() {
        rehash(buckets: 1)
    }

    /// Moves up to `buckets` non-empty buckets of the old array, visiting at
    /// most ten times as many empty ones. Returns whether a rehash is still
    /// under way.
    @discardableResult
    mutating func rehash(buckets: Int) -> Bool {
        guard isRehashing && !resizePaused else { return isRehashing }
        var moves = buckets
        var emptyVisits = buckets &* 10
        let oldHeads = primary.heads.unsafelyUnwrapped
        let newHeads = secondary.heads.unsafelyUnwrapped
        let newMask = secondary.mask
        while moves > 0 && primary.used > 0 {
            precondition(rehashIndex < primary.size, "rehash index past the old array with entries left")
            var next = oldHeads[rehashIndex]
            if next == nil {
                rehashIndex &+= 1
                emptyVisits &-= 1
                if emptyVisits == 0 { return true }
                continue
            }
            while let entry = next {
                next = KVEntryLink.next(of: entry).pointee
                let index = Int(truncatingIfNeeded: ByteHash.hash(Layout.key(of: entry))) & newMask
                KVEntryLink.next(of: entry).pointee = newHeads[index]
                newHeads[index] = entry
                primary.used &-= 1
                secondary.used &+= 1
            }
            oldHeads[rehashIndex] = nil
            rehashIndex &+= 1
            moves &-= 1
        }
        if primary.used == 0 {
            primary.release()
            primary = secondary
            secondary = .none
            rehashIndex = -1
            return false
        }
        return true
    }

    // MARK: walking

    /// Calls `body` with every entry (the table must not change meanwhile).
    func forEachEntry(_ body: (UnsafeMutableRawPointer) -> Void) {
        for buckets in [primary, secondary] where buckets.size > 0 {
            for index in 0..<buckets.size {
                var next = buckets.heads.unsafelyUnwrapped[index]
                while let entry = next {
                    next = KVEntryLink.next(of: entry).pointee
                    body(entry)
                }
            }
        }
    }

    /// Calls `body` with the entries of up to `count` buckets from position
    /// `start`, the two arrays taken as one sequence (the old array's
    /// buckets, then the new one's); returns the next position, or nil
    /// past the last bucket. With resizing paused, positions stay put.
    func forEachEntry(fromBucket start: Int, buckets count: Int, _ body: (UnsafeMutableRawPointer) -> Void) -> Int? {
        var position = start
        let end = start &+ count
        while position < end {
            let buckets: KVBuckets
            let index: Int
            if position < primary.size {
                (buckets, index) = (primary, position)
            } else if position &- primary.size < secondary.size {
                (buckets, index) = (secondary, position &- primary.size)
            } else {
                return nil
            }
            var next = buckets.heads.unsafelyUnwrapped[index]
            while let entry = next {
                next = KVEntryLink.next(of: entry).pointee
                body(entry)
            }
            position &+= 1
        }
        return position < primary.size &+ secondary.size ? position : nil
    }

    /// An entry of the first filled bucket at or after a random one (a
    /// random place in its chain); nil when empty. Not uniform (an entry
    /// after a long run of empty buckets comes up more often), but its cost
    /// is the run's length, buckets over entries on average, where
    /// `randomEntry` on a large, nearly empty table (a shrink under way
    /// after mass eviction) walks every bucket: eviction's samples.
    func nearbyEntry<G: RandomNumberGenerator>(using generator: inout G) -> UnsafeMutableRawPointer? {
        guard count > 0 else { return nil }
        let total = primary.size &+ secondary.size
        var position = Int.random(in: 0..<total, using: &generator)
        for _ in 0..<total {
            // Buckets of the old array below the rehash index are empty.
            let head =
                position < primary.size
                ? primary.heads.unsafelyUnwrapped[position]
                : secondary.heads.unsafelyUnwrapped[position &- primary.size]
            if let first = head {
                var length = 0
                var walk: UnsafeMutableRawPointer? = first
                while let entry = walk {
                    length &+= 1
                    walk = KVEntryLink.next(of: entry).pointee
                }
                var chosen = first
                for _ in 0..<Int.random(in: 0..<length, using: &generator) {
                    chosen = KVEntryLink.next(of: chosen).pointee.unsafelyUnwrapped
                }
                return chosen
            }
            position &+= 1
            if position == total { position = 0 }
        }
        return nil
    }

    /// Up to this many entries, a random one is found by counting to it.
    static var exactRandomLimit: Int { 128 }

    /// A random entry, every one equally likely; nil when empty. A small
    /// table counts to a random position; a larger one picks a random
    /// bucket and a random place among the first `bound` of its chain,
    /// again when that place is empty (rejection sampling: picking a
    /// bucket, then an entry of its chain, would favour entries in short
    /// chains, which SRANDMEMBER's and HRANDFIELD's distributions show).
    func randomEntry<G: RandomNumberGenerator>(using generator: inout G) -> UnsafeMutableRawPointer? {
        guard count > 0 else { return nil }
        if count <= Self.exactRandomLimit {
            var remaining = Int.random(in: 0..<count, using: &generator)
            for buckets in [primary, secondary] where buckets.size > 0 {
                for index in 0..<buckets.size {
                    var next = buckets.heads.unsafelyUnwrapped[index]
                    while let entry = next {
                        if remaining == 0 { return entry }
                        remaining &-= 1
                        next = KVEntryLink.next(of: entry).pointee
                    }
                }
            }
            preconditionFailure("the table holds fewer entries than its count")
        }
        // Chains longer than this are rare at a load of at most 1; one
        // seen makes the bound its length.
        var bound = 8
        while true {
            let pick = Int.random(in: 0..<(primary.size &+ secondary.size), using: &generator)
            let head: UnsafeMutableRawPointer?
            if pick < primary.size {
                if isRehashing && pick < rehashIndex { continue }
                head = primary.heads.unsafelyUnwrapped[pick]
            } else {
                head = secondary.heads.unsafelyUnwrapped[pick &- primary.size]
            }
            guard let first = head else { continue }
            var length = 0
            var walk: UnsafeMutableRawPointer? = first
            while let entry = walk {
                length &+= 1
                walk = KVEntryLink.next(of: entry).pointee
            }
            if length > bound {
                bound = length
                continue
            }
            let place = Int.random(in: 0..<bound, using: &generator)
            guard place < length else { continue }
            var chosen = first
            for _ in 0..<place { chosen = KVEntryLink.next(of: chosen).pointee.unsafelyUnwrapped }
            return chosen
        }
    }

    /// One step of SCAN from `cursor`: calls `body` with the entries of the
    /// bucket it names (and of the buckets it grows into in a larger array,
    /// while rehashing), and returns the next cursor (0: done). Redis's
    /// reverse-binary cursor: every entry present for the whole scan is
    /// visited at least once, also across resizes.
    func scan(_ cursor: UInt64, _ body: (UnsafeMutableRawPointer) -> Void) -> UInt64 {
        guard count > 0 else { return 0 }
        var cursor = cursor
        func visit(_ buckets: KVBuckets, _ index: Int) {
            var next = buckets.heads.unsafelyUnwrapped[index]
            while let entry = next {
                next = KVEntryLink.next(of: entry).pointee
                body(entry)
            }
        }
        if !isRehashing {
            let mask = UInt64(primary.mask)
            visit(primary, Int(cursor & mask))
            cursor |= ~mask
            cursor = (cursor.bitReversed &+ 1).bitReversed
            return cursor
        }
        // The smaller array's bucket, then every bucket of the larger array
        // that it expands to.
        var small = primary
        var large = secondary
        if small.size > large.size { swap(&small, &large) }
        let smallMask = UInt64(small.mask)
        let largeMask = UInt64(large.mask)
        // Buckets of the old array below rehashIndex are empty: visiting them is harmless.
        visit(small, Int(cursor & smallMask))
        repeat {
            visit(large, Int(cursor & largeMask))
            cursor |= ~largeMask
            cursor = (cursor.bitReversed &+ 1).bitReversed
        } while cursor & (smallMask ^ largeMask) != 0
        return cursor
    }

    // MARK: checking

    /// Checks the invariants (see the file header); O(entries + buckets).
    func checkInvariants() {
        var reachable = 0
        for (arrayIndex, buckets) in [primary, secondary].enumerated() where buckets.size > 0 {
            var inArray = 0
            for index in 0..<buckets.size {
                var next = buckets.heads.unsafelyUnwrapped[index]
                if arrayIndex == 0 && isRehashing && index < rehashIndex {
                    precondition(next == nil, "old bucket \(index) below the rehash index holds entries")
                }
                while let entry = next {
                    let home = Int(truncatingIfNeeded: ByteHash.hash(Layout.key(of: entry))) & buckets.mask
                    precondition(home == index, "an entry in bucket \(index) hashes to \(home)")
                    inArray += 1
                    next = KVEntryLink.next(of: entry).pointee
                }
            }
            precondition(inArray == buckets.used, "array \(arrayIndex) counts \(buckets.used), holds \(inArray)")
            reachable += inArray
        }
        precondition(reachable == count, "count \(count), reachable \(reachable)")
        precondition(isRehashing == (secondary.size > 0), "rehash state and arrays disagree")
    }
}

/// The chain link every dict entry begins with.
enum KVEntryLink {
    /// The `next` field at the start of `entry`.
    @inline(__always)
    static func next(of entry: UnsafeMutableRawPointer) -> KVLink {
        entry.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }
}

extension UInt64 {
    /// The bits in reverse order (for SCAN's cursor).
    var bitReversed: UInt64 {
        var value = self
        var result: UInt64 = 0
        for _ in 0..<64 {
            result = (result << 1) | (value & 1)
            value >>= 1
        }
        return result
    }
}
