// KVWatches: WATCH across every loop. A session's token is listed under
// each key it watches; a write to a watched key marks every token listed
// under it, and EXEC then answers the null reply. Writes check an atomic
// count of watched keys first, so a store nobody watches pays one load per
// write.

import KeelPosix
import Synchronization

/// One session's WATCH state, shared with the registry.
final class KVWatchToken: Sendable {
    let client: KVClientRef
    /// A watched key was written since WATCH.
    let touched = Atomic<Bool>(false)

    init(client: KVClientRef) {
        self.client = client
    }
}

/// Who watches which key (see the file header).
final class KVWatches: Sendable {
    private let watchers = Locked<[[UInt8]: [KVWatchToken]]>([:])
    /// Keys with at least one watcher (a writer may look at it before
    /// calling `touch`: a load of a stored property costs no retain of
    /// this object, a call can).
    let watchedKeys = Atomic<Int>(0)

    /// Lists `token` under `key` (a key watched twice is listed once).
    func watch(_ key: UnsafeRawBufferPointer, _ token: KVWatchToken) {
        let copy = Array(key)
        watchers.withLock { table in
            var list = table[copy] ?? []
            guard !list.contains(where: { $0 === token }) else { return }
            if list.isEmpty { watchedKeys.add(1, ordering: .relaxed) }
            list.append(token)
            table[copy] = list
        }
    }

    /// Takes `token` off `keys` (UNWATCH, EXEC, DISCARD, a closed connection).
    func unwatch(_ keys: some Sequence<[UInt8]>, _ token: KVWatchToken) {
        watchers.withLock { table in
            for key in keys {
                guard var list = table[key] else { continue }
                list.removeAll { $0 === token }
                if list.isEmpty {
                    table[key] = nil
                    watchedKeys.subtract(1, ordering: .relaxed)
                } else {
                    table[key] = list
                }
            }
        }
        token.touched.store(false, ordering: .relaxed)
    }

    /// `key` was written: every watcher's transaction fails.
    @inline(__always)
    func touch(_ key: UnsafeRawBufferPointer) {
        guard watchedKeys.load(ordering: .relaxed) > 0 else { return }
        touchSlow(Array(key))
    }

    private func touchSlow(_ key: [UInt8]) {
        watchers.withLock { table in
            for token in table[key] ?? [] { token.touched.store(true, ordering: .relaxed) }
        }
    }

    /// The keys someone watches now (empty at once when no one does).
    var watched: [[UInt8]] {
        guard watchedKeys.load(ordering: .relaxed) > 0 else { return [] }
        return watchers.withLock { Array($0.keys) }
    }
}
