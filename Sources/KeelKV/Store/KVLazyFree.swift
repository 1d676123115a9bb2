// KVLazyFree: memory given back on a background thread, so no client waits
// while millions of blocks are freed. munmap of a bucket array of 64 MiB
// took 5.5 ms on the loop's thread (strace, during a 10M-key load); freeing
// the keys of FLUSHALL ASYNC or the elements of a big UNLINKed collection
// takes longer still. What is handed over here is already unreachable from
// the store: only this thread touches it again. malloc is thread-safe, and
// the collections' Swift objects are released as they would be on the loop.

import Glibc
import KeelPosix
import Synchronization

/// A background freer (see the file header).
final class KVLazyFree: Sendable {
    /// One piece of memory to give back.
    enum Job: @unchecked Sendable {
        /// A block from malloc (a large bucket array), of this many bytes.
        case block(UnsafeMutableRawPointer, bytes: Int)
        /// A collection's object, and about the bytes it holds.
        case object(UnsafeMutableRawPointer, KVType, KVEncoding, bytes: Int)
        /// A whole keyspace taken out of its shard (FLUSHALL ASYNC), and
        /// about the bytes it holds.
        case keyspace(KVDict<KVKeyLayout>, bytes: Int)

        /// The bytes it gives back, about.
        var bytes: Int {
            switch self {
            case .block(_, let bytes), .object(_, _, _, let bytes), .keyspace(_, let bytes): bytes
            }
        }
    }

    /// The process's freer; its thread starts with the first job.
    static let shared = KVLazyFree()

    /// Bucket arrays at least this large are freed here.
    static let largeBlockBytes = 1 << 20
    /// Collections with more elements than this are freed here by UNLINK
    /// and FLUSHALL ASYNC (redis-server's LAZYFREE_THRESHOLD).
    static let largeObjectElements = 64

    private struct State {
        var jobs: [Job] = []
        var started = false
        var running = 0
    }

    private let state = Locked(State())
    /// Counts queued jobs; the thread waits on it.
    private nonisolated(unsafe) let signal: UnsafeMutablePointer<sem_t>
    /// Jobs handed over and not yet done (tests wait for 0).
    let pending = Atomic<Int>(0)
    /// About the bytes of the objects handed over and not yet freed: memory
    /// on its way out, which eviction does not evict more keys for.
    let pendingBytes = Atomic<Int>(0)

    private init() {
        signal = .allocate(capacity: 1)
        sem_init(signal, 0, 0)
    }

    /// Queues `job`; it runs soon on the freer's thread.
    func free(_ job: Job) {
        pending.add(1, ordering: .relaxed)
        pendingBytes.add(job.bytes, ordering: .relaxed)
        let start = state.withLock { state -> Bool in
            state.jobs.append(job)
            defer { state.started = true }
            return !state.started
        }
        if start {
            LoopThread.detached(name: "keel-kv-free") { self.run() }
        }
        sem_post(signal)
    }

    /// Frees a bucket array, here when large, else at once.
    func freeBlock(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        if bytes >= Self.largeBlockBytes { free(.block(pointer, bytes: bytes)) } else { KVHeap.release(pointer) }
    }

    private func run() {
        while true {
            while sem_wait(signal) != 0 {}
            let batch = state.withLock { state -> [Job] in
                defer { state.jobs.removeAll(keepingCapacity: true) }
                return state.jobs
            }
            for job in batch {
                switch job {
                case .block(let pointer, _): KVHeap.release(pointer)
                case .object(let object, let type, let encoding, _):
                    KVObjects.release(object, type: type, encoding: encoding)
                case .keyspace(var dict, _): dict.removeAll { KVObjects.releaseEntry(KVEntry($0)) }
                }
                pendingBytes.subtract(job.bytes, ordering: .relaxed)
                pending.subtract(1, ordering: .relaxed)
            }
        }
    }

    /// Waits until every job handed over so far is done (tests).
    func drain() {
        while pending.load(ordering: .relaxed) > 0 { usleep(1_000) }
    }
}
