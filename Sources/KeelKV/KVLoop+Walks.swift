// A loop's KEYS walks (KVKeysWalk): the clients waiting for one, first
// come first; a slice of the first one's walk per loop iteration (the loop
// asks Keel for a tick on its next iteration while any is left), so that
// however large the keyspace no iteration spends more than a slice on them.

/// The clients of one loop whose KEYS is walked, in arrival order.
struct KVWalkQueue {
    private var clients: [KVClientRef] = []
    private var head = 0
    /// Whether the next tick was asked for by a walk (not the regular one).
    var tickRequested = false
    /// When the background work (expiry, memory return) last ran.
    var lastRegularTickMs: Int64 = 0

    var isEmpty: Bool { head == clients.count }

    mutating func append(_ client: KVClientRef) {
        clients.append(client)
    }

    var first: KVClientRef? { isEmpty ? nil : clients[head] }

    mutating func removeFirst() {
        head += 1
        if head == clients.count {
            clients.removeAll(keepingCapacity: true)
            head = 0
        }
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

    /// One slice of the first walk; once its reply is written, what its
    /// client sent meanwhile.
    func stepWalk() {
        while let client = walks.first {
            // A client gone (or its walk ended by a disconnect) leaves its
            // place: the next one's slice is this tick's.
            guard let session = sessions.session(of: client), let walk = session.walk else {
                walks.removeFirst()
                continue
            }
            var written = true
            let done = walk.step(store, sendRoom: sendRoom(for: client)) { bytes in
                guard written else { return }
                written = writeReply(bytes, to: client)
            }
            if !written {
                session.walk = nil
                walks.removeFirst()
                close(client)
            } else if done {
                session.walk = nil
                walks.removeFirst()
                resume(session, later: walk.later)
            }
            break
        }
        // A reply waiting for its client to read waits for the regular
        // tick, not the next iteration (no spinning on a slow reader).
        guard let client = walks.first else { return }
        if let walk = sessions.session(of: client)?.walk, walk.isSending && sendRoom(for: client) <= 0 { return }
        requestWalkTick()
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
