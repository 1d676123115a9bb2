// The messages CLIENT TRACKING sends (KVTracking): when a key a client read
// is written, expires or is evicted, an "invalidate" push with the key (in
// RESP3) to it, or to the client it redirects to (a push, or in RESP2 a
// message on __redis__:invalidate while that client is subscribed to
// anything); a RESP2 client without a redirect hears nothing, as from
// redis-server. The client running the command hears of its own keys
// after its reply; BCAST clients hear of every key the command wrote under
// their prefixes, one array per prefix, once the command is done; a flush
// sends every tracking client a null ("everything").

import KeelWire

extension KVContext {
    /// `key` was written by the command (`byCommand`), or expired or was
    /// evicted: its readers are told now, BCAST clients after the command.
    /// `current`: the client running a command, if one is.
    /// `deferred`: the current client's own invalidation waits for its
    /// reply (not for what is evicted before the command runs).
    @inline(never)
    func invalidateTracked(
        _ key: UnsafeRawBufferPointer, byCommand: Bool, current: KVClientRecord?, deferred: Bool = true
    ) {
        if tracking.prefixCount.load(ordering: .relaxed) > 0 {
            trackingWrites.append((Array(key), byCommand))
            hasTrackingWork = true
        }
        let readers = tracking.takeReaders(of: key)
        guard !readers.isEmpty else { return }
        tell(readers, Self.keysArray([Array(key)]), current: current, deferred: deferred)
    }

    /// Sends `payload` to each of `readers` still tracking in the default
    /// mode (not the client running the command when it asked for NOLOOP).
    private func tell(_ readers: Set<Int>, _ payload: [UInt8], current: KVClientRecord?, deferred: Bool = true) {
        for id in readers.sorted() {
            guard let reader = store.clients.record(id: id), !reader.killed.load(ordering: .relaxed) else { continue }
            let mode = reader.tracking
            guard mode.contains(.on), !mode.contains(.broadcast) else { continue }
            if mode.contains(.noLoop) && reader === current { continue }
            sendInvalidation(to: reader, payload, current: deferred ? current : nil)
        }
    }

    /// The invalidation `payload` (an array of keys, or a null) for
    /// `tracker`: to it or to the client it redirects to, framed for that
    /// client's protocol; held until after the reply when `tracker` runs
    /// the command.
    func sendInvalidation(to tracker: KVClientRecord, _ payload: [UInt8], current: KVClientRecord?) {
        var recipient = tracker
        let redirect = tracker.trackingRedirect.load(ordering: .relaxed)
        if redirect != 0 {
            guard let target = store.clients.record(id: redirect), !target.killed.load(ordering: .relaxed) else {
                tracker.trackingMode.bitwiseOr(KVTrackingMode.brokenRedirect.rawValue, ordering: .relaxed)
                // Only a RESP3 client can be told its redirect broke.
                if tracker.protocolVersion.load(ordering: .relaxed) >= 3 {
                    let notice = Array(">2\r\n$21\r\ntracking-redir-broken\r\n:\(redirect)\r\n".utf8)
                    send(notice, to: tracker, deferred: tracker === current)
                }
                return
            }
            recipient = target
        }
        let header: StaticString
        if recipient.protocolVersion.load(ordering: .relaxed) >= 3 {
            header = ">2\r\n$10\r\ninvalidate\r\n"
        } else if redirect != 0 && recipient.isSubscriber {
            header = "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
        } else {
            return
        }
        let bytes = Array(UnsafeRawBufferPointer(start: header.utf8Start, count: header.utf8CodeUnitCount)) + payload
        send(bytes, to: recipient, deferred: tracker === current)
    }

    private func send(_ bytes: [UInt8], to recipient: KVClientRecord, deferred: Bool) {
        if deferred {
            pendingInvalidations.append((recipient.client, bytes))
            hasTrackingWork = true
        } else {
            _ = bytes.withUnsafeBytes { services.deliver($0, to: recipient.client) }
        }
    }

    /// What tracking does once a command has run (while clients track):
    /// the keys a read-only command read are remembered for its client,
    /// BCAST clients hear of the keys it wrote, and its own invalidations
    /// follow its reply. `topLevel`: not a command inside EXEC (whose
    /// messages wait for EXEC's end).
    @inline(never)
    func finishTracking(_ spec: KVCommandSpec, _ command: RESPCommand, topLevel: Bool, container: KVCommandSpec? = nil)
    {
        let record = session.record
        // Inside EXEC the keys' shards are still locked: what the command
        // read is remembered now (a top-level read was, under its locks).
        if !topLevel { trackRead(spec, command) }
        guard topLevel else { return }
        if store.events.pending.load(ordering: .relaxed) > 0 { announceQueuedEvents(current: record) }
        if !trackingWrites.isEmpty { broadcastWrites(current: record) }
        if !pendingInvalidations.isEmpty { deliverPendingInvalidations() }
        hasTrackingWork = !trackingWrites.isEmpty || !pendingInvalidations.isEmpty
        // CLIENT CACHING lasts until a command other than CLIENT's (a
        // transaction's commands, queued and run, count as one).
        if record.tracking.contains(.caching) && session.transaction == nil
            && container.map({ "\($0.name)" }) != "client"
        {
            record.trackingMode.bitwiseAnd(~KVTrackingMode.caching.rawValue, ordering: .relaxed)
        }
    }

    /// The keys of a read-only command, remembered for its client when it
    /// tracks in the default mode (OPTIN: after CLIENT CACHING YES; OPTOUT:
    /// unless CLIENT CACHING NO). Called with the keys' shards locked, so a
    /// write on another loop comes before (and finds nothing to tell) or
    /// after (and tells). What expired as it ran is told first.
    @inline(never)
    func trackRead(_ spec: KVCommandSpec, _ command: RESPCommand) {
        guard spec.flags.contains(.readonly), !spec.flags.contains(.pubsub) else { return }
        // As redis-server, not the keys a read-only script names.
        guard "\(spec.name)" != "fcall_ro" else { return }
        let record = session.record
        if store.events.pending.load(ordering: .relaxed) > 0 { announceQueuedEvents(current: record) }
        let mode = record.tracking
        guard mode.contains(.on), !mode.contains(.broadcast) else { return }
        let caching = mode.contains(.caching)
        if (mode.contains(.optIn) && !caching) || (mode.contains(.optOut) && caching) { return }
        var keys: [[UInt8]] = []
        spec.keys.forEachKey(of: command) { keys.append(Array(command[$0])) }
        guard !keys.isEmpty else { return }
        tracking.remember(keys, client: record.id)
        forgetTrackedOverLimit(current: record)
    }

    /// Keys past tracking-table-max-keys forgotten, their readers told (at
    /// a read, and at the loop's tick after the limit is lowered).
    @inline(never)
    func forgetTrackedOverLimit(current: KVClientRecord?) {
        for (key, readers) in tracking.forgetOverLimit() {
            tell(readers, Self.keysArray([key]), current: current)
        }
    }

    /// Each prefix's written keys to its BCAST clients (a NOLOOP client
    /// without the keys it wrote itself).
    func broadcastWrites(current: KVClientRecord?) {
        let written = trackingWrites
        trackingWrites = []
        for (keys, clients) in tracking.broadcasts(of: written) {
            let all = Self.keysArray(keys.map(\.key))
            for id in clients {
                guard let client = store.clients.record(id: id), !client.killed.load(ordering: .relaxed) else {
                    continue
                }
                if client.tracking.contains(.noLoop) && client === current {
                    let others = keys.filter { !$0.byCommand }.map(\.key)
                    if !others.isEmpty { sendInvalidation(to: client, Self.keysArray(others), current: nil) }
                } else {
                    sendInvalidation(to: client, all, current: nil)
                }
            }
        }
    }

    /// The invalidations held for the client that ran the command: its
    /// own after its reply (sent whatever CLIENT REPLY says), others'.
    private func deliverPendingInvalidations() {
        let pending = pendingInvalidations
        pendingInvalidations = []
        for (client, bytes) in pending {
            if client == session.client {
                bytes.withUnsafeBytes { reply.append($0) }
                if session.replyMode != .on && !isInTransaction { repliedWithPushes = true }
            } else {
                _ = bytes.withUnsafeBytes { services.deliver($0, to: client) }
            }
        }
    }

    /// Invalidations held for a client whose reply was delivered on its
    /// own (a blocked client served): sent after it.
    func sendPendingInvalidations() {
        let pending = pendingInvalidations
        pendingInvalidations = []
        for (client, bytes) in pending { _ = bytes.withUnsafeBytes { services.deliver($0, to: client) } }
    }

    /// A flush: every key forgotten, and every tracking client told that
    /// all it holds is invalid.
    func trackingFlushed() {
        tracking.forgetAll()
        guard tracking.isActive else { return }
        let current = session.record
        for record in store.clients.all where record.tracking.contains(.on) {
            let null: [UInt8] =
                record.protocolVersion.load(ordering: .relaxed) >= 3 ? Array("_\r\n".utf8) : Array("$-1\r\n".utf8)
            sendInvalidation(to: record, null, current: current)
        }
    }

    /// An array of bulk strings.
    static func keysArray(_ keys: [[UInt8]]) -> [UInt8] {
        var bytes = Array("*\(keys.count)\r\n".utf8)
        for key in keys {
            bytes += Array("$\(key.count)\r\n".utf8)
            bytes += key
            bytes += [13, 10]
        }
        return bytes
    }
}
