// A loop's KEYS walks (KVKeysWalk): the clients waiting for one, first
// come first; a slice of one walk per loop iteration (the loop asks Keel
// for a tick on its next iteration while any can go on), so that however
// large the keyspace no iteration spends more than a slice on them. The
// slice goes to the first walk that can make progress: one whose reply
// waits for its client to read does not hold up those behind it.

/// The clients of one loop whose KEYS is walked, in arrival order.
struct KVWalkQueue {
    private(set) var clients: [KVClientRef] = []
    /// Whether the next tick was asked for by a walk (not the regular one).
    var tickRequested = false
    /// When the background work (expiry, memory return) last ran
    /// (monotonic nanoseconds).
    var lastRegularTickNs: Int64 = 0

    var isEmpty: Bool { clients.isEmpty }

    mutating func append(_ client: KVClientRef) {
        clients.append(client)
    }

    mutating func remove(at index: Int) {
        clients.remove(at: index)
    }
}

extension KVLoop {
    /// Holds `session` while the loop walks its KEYS.
    func startWalk(_ session: KVSession) {
        let walk = context.pendingWalk!
        context.pendingWalk = nil
        session.walk = walk
        walks.append(session.client)
        requestWalkTick()
    }

    /// One slice of the first walk that can go on; once a walk's reply is
    /// written, what its client sent meanwhile.
    func stepWalk() {
        var index = 0
        var stepped = false
        while index < walks.clients.count {
            let client = walks.clients[index]
            // A client gone (or its walk ended by a disconnect) leaves its place.
            guard let session = sessions.session(of: client), let walk = session.walk else {
                walks.remove(at: index)
                continue
            }
            let room = sendRoom(for: client)
            if walk.isSending && room <= 0 {
                index += 1
                continue
            }
            var written = true
            let done = walk.step(store, sendRoom: room) { bytes in
                guard written else { return }
                written = writeReply(bytes, to: client)
            }
            if !written {
                session.walk = nil
                walks.remove(at: index)
                close(client)
            } else if done {
                session.walk = nil
                walks.remove(at: index)
                resume(session, later: walk.later)
            } else {
                stepped = true
            }
            break
        }
        // Walks whose replies wait for their clients to read wait for the
        // regular tick, not the next iteration (no spinning on slow readers).
        if stepped || walks.clients.contains(where: { canGoOn(walking: $0) }) { requestWalkTick() }
    }

    /// Whether `client`'s walk has work to do now (not waiting for it to read).
    private func canGoOn(walking client: KVClientRef) -> Bool {
        guard let walk = sessions.session(of: client)?.walk else { return true }
        return !walk.isSending || sendRoom(for: client) > 0
    }

    /// How much more of a walk's reply may be queued for `client` now.
    private func sendRoom(for client: KVClientRef) -> Int {
        guard let connections else { return .max }
        let pending = connections.pendingOutputBytes(of: Self.connectionID(client)) ?? 0
        return KVKeysWalk.sendAheadBytes - pending
    }

    private func requestWalkTick() {
        guard let connections, !walks.tickRequested else { return }
        walks.tickRequested = connections.requestTick(onLoop: loopIndex)
    }
}
