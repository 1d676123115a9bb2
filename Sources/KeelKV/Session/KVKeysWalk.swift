// KVKeysWalk: KEYS over a large keyspace, spread over the loop's
// iterations. Run at once, KEYS over a million keys holds the loop for
// hundreds of milliseconds (redis-server's does too: every other client
// waits). Here the loop does a slice of at most half a millisecond per
// iteration (KVLoop.stepWalk; bounded in time, not in keys, since a glob
// pattern's cost per key has no useful bound);
// the client that asked waits, holding what it sends meanwhile, as a
// blocked client does. Each slice is one of, in turn:
// - walking: SCAN's cursor, shard by shard (one shard's lock at a time),
//   the matching keys appended as RESP bulk strings to chunks of 1 MiB (no
//   array of keys, no copy of a growing buffer);
// - deduplicating, only when a table was resized mid-walk (see below);
// - sending: the array's header, then a chunk at a time while the client's
//   unwritten output is under a megabyte, each freed once handed over (the
//   reply is its client's own: not held to the pending-output cap; sent as
//   the client reads, it needs no more output memory than a megabyte or
//   two, and the loop does not copy megabytes into it in one iteration).
//
// What the reply holds is what SCAN guarantees, as the walk is a SCAN: every
// key present (and unexpired at the command's start) for the whole walk is
// in it; a key added or removed meanwhile may or may not be. The cursor may
// meet a key twice only when its table was resized between two slices: then
// the keys found are deduplicated before they are sent, so each appears once.

import KeelWire

/// A KEYS walk in progress (see the file header).
final class KVKeysWalk {
    /// The pattern (copied: the request's bytes are gone after the command);
    /// nil for `*`.
    let pattern: [UInt8]?
    /// Keys that expired by then are not listed (the command's time).
    let nowMs: Int64
    /// Commands the client sent meanwhile, run once the reply is out.
    var later = KVCommandQueue()
    /// Keys met twice and dropped from the reply (a table resized mid-walk).
    private(set) var repeatsDropped = 0

    private enum Phase {
        case walking
        case deduplicating
        case sending
    }
    private var phase = Phase.walking
    /// The keys found, as RESP bulk strings, in chunks of about
    /// `chunkBytes`: those filled, then the one being filled.
    private var chunks: [[UInt8]] = []
    private var current: [UInt8] = []
    private var found = 0
    private var shardIndex = 0
    private var cursor: UInt64 = 0
    /// The shard's bucket count and flushes when its walk began or last
    /// went on.
    private var bucketCount = -1
    private var flushes = 0
    /// Set once a shard's table changed size mid-walk (see the header).
    private var mayRepeat = false
    /// Deduplication's progress: the keys seen, the chunks rebuilt, where
    /// the next key to look at is.
    private var seen = Set<[UInt8]>()
    private var unique: [[UInt8]] = []
    private var readChunk = 0
    private var readOffset = 0
    private var headerSent = false
    private var sendIndex = 0
    private var workLeft = Int.max

    /// The time a slice may take.
    static let sliceNanoseconds: Int64 = 500_000
    /// A keyspace this small is listed at once (well within a slice).
    static let atOnceKeys = 2_048
    /// Keys or buckets looked at between two readings of the clock.
    static let workBetweenClockReadings = 128
    static let chunkBytes = 256 << 10
    /// While sending, a chunk goes out only while the client's unwritten
    /// output is below this.
    static let sendAheadBytes = 1 << 20

    init(pattern: UnsafeRawBufferPointer, nowMs: Int64) {
        self.pattern = pattern.count == 1 && pattern[0] == UInt8(ascii: "*") ? nil : Array(pattern)
        self.nowMs = nowMs
    }

    /// Whether the walk is done and its reply goes out (as the client reads).
    var isSending: Bool { phase == .sending }

    /// Does one slice of about `nanoseconds` and at most `work` keys or
    /// buckets, or, sending, writes chunks through `write` while fewer than
    /// `sendRoom` bytes have gone; true once the whole reply has been written.
    func step(
        _ store: KVStore, nanoseconds: Int64 = sliceNanoseconds, work: Int = .max, sendRoom: Int = .max,
        write: (UnsafeRawBufferPointer) -> Void
    ) -> Bool {
        let deadline = nanoseconds == .max ? .max : KVMaintenance.monotonicNs() + nanoseconds
        workLeft = work
        switch phase {
        case .walking:
            if walk(store, until: deadline) {
                if !current.isEmpty { chunks.append(current) }
                current = []
                phase = mayRepeat ? .deduplicating : .sending
            }
        case .deduplicating:
            if deduplicate(until: deadline) { phase = .sending }
        case .sending:
            return send(room: sendRoom, write)
        }
        return false
    }

    /// The whole reply at once (inside EXEC, or a small keyspace).
    func run(_ store: KVStore, into reply: RESPReplyBuffer) {
        while !step(store, nanoseconds: .max, write: reply.append) {}
    }

    /// Whether the slice is over: its work is done, or (looked at once in
    /// `workBetweenClockReadings` calls) the clock has passed `deadline`.
    @inline(__always)
    private func due(_ deadline: Int64, _ work: inout Int) -> Bool {
        workLeft &-= 1
        if workLeft <= 0 { return true }
        work &+= 1
        guard work >= Self.workBetweenClockReadings else { return false }
        work = 0
        return deadline != .max && KVMaintenance.monotonicNs() >= deadline
    }

    // MARK: walking

    private func walk(_ store: KVStore, until deadline: Int64) -> Bool {
        var work = 0
        var over = false
        while shardIndex < store.shards.count && !over {
            let shard = store.shards[shardIndex]
            store.withShards(store.bit(of: shard)) {
                let size = shard.bucketCount
                if bucketCount >= 0 && (size != bucketCount || shard.flushes != flushes) { mayRepeat = true }
                bucketCount = size
                flushes = shard.flushes
                repeat {
                    cursor = shard.scan(cursor) { entry in
                        work &+= 1
                        if let at = entry.expireAtMs, at <= nowMs { return }
                        if let pattern, !pattern.withUnsafeBytes({ KVGlob.matches($0, entry.key) }) { return }
                        Self.appendBulk(entry.key, to: &current, filled: &chunks)
                        found &+= 1
                    }
                    over = due(deadline, &work)
                } while cursor != 0 && !over
            }
            if cursor == 0 {
                shardIndex += 1
                bucketCount = -1
            }
        }
        return shardIndex == store.shards.count
    }

    /// Appends `key` as a bulk string to `current`, moved to `filled`
    /// first when it has no room.
    private static func appendBulk(_ key: UnsafeRawBufferPointer, to current: inout [UInt8], filled: inout [[UInt8]]) {
        let needed = key.count + 24
        if current.count + needed > current.capacity {
            if !current.isEmpty { filled.append(current) }
            current = []
            current.reserveCapacity(max(chunkBytes, needed))
        }
        current.append(UInt8(ascii: "$"))
        appendDecimal(key.count, to: &current)
        current.append(13)
        current.append(10)
        current.append(contentsOf: key)
        current.append(13)
        current.append(10)
    }

    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        KVInteger.withDigits(Int64(value)) { bytes.append(contentsOf: $0) }
    }

    // MARK: deduplicating

    /// Rebuilds the chunks without repeated keys, until `deadline`.
    private func deduplicate(until deadline: Int64) -> Bool {
        var work = 0
        var over = false
        while readChunk < chunks.count && !over {
            let chunk = chunks[readChunk]
            while readOffset < chunk.count && !over {
                // "$<length>\r\n<key>\r\n"
                var length = 0
                var position = readOffset + 1
                while chunk[position] != 13 {
                    length = length * 10 + Int(chunk[position] - 0x30)
                    position += 1
                }
                let start = position + 2
                let key = Array(chunk[start..<start + length])
                if seen.insert(key).inserted {
                    key.withUnsafeBytes { Self.appendBulk($0, to: &current, filled: &unique) }
                } else {
                    repeatsDropped += 1
                }
                readOffset = start + length + 2
                over = due(deadline, &work)
            }
            if readOffset == chunk.count {
                chunks[readChunk] = []
                readChunk += 1
                readOffset = 0
            }
        }
        guard readChunk == chunks.count else { return false }
        if !current.isEmpty { unique.append(current) }
        current = []
        chunks = unique
        unique = []
        seen = []
        found -= repeatsDropped
        return true
    }

    // MARK: sending

    /// Writes the header, then chunks while fewer than `room` bytes have
    /// gone; true when all is written.
    private func send(room: Int, _ write: (UnsafeRawBufferPointer) -> Void) -> Bool {
        var sent = 0
        if !headerSent && room > 0 {
            var header: [UInt8] = [UInt8(ascii: "*")]
            Self.appendDecimal(found, to: &header)
            header += [13, 10]
            header.withUnsafeBytes(write)
            headerSent = true
            sent = header.count
        }
        while headerSent && sendIndex < chunks.count && sent < room {
            chunks[sendIndex].withUnsafeBytes(write)
            sent += chunks[sendIndex].count
            chunks[sendIndex] = []
            sendIndex += 1
        }
        return headerSent && sendIndex == chunks.count
    }
}
