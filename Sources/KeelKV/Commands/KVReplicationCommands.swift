// SYNC, PSYNC and REPLCONF: a connection becomes a replica of keel-kv
// (KVReplication) as it would of redis-server 7.0. SYNC answers with the
// snapshot as one bulk (no CRLF after it); PSYNC with +CONTINUE <id> and
// the stream from the offset it asked for, when the backlog still holds
// it, or else with +FULLRESYNC <id> <offset> and then the snapshot. Both
// attach the replica with every shard locked; the snapshot is written
// then, or over the following ticks for a larger dataset (KVReplicaSync).
// A replica's REPLCONF ACK records how far it has read and gets no reply,
// as none of a replica's commands do; it wakes the clients in WAIT.

import KeelWire

enum KVReplicationCommands {
    static func sync(_ context: KVContext) {
        attach(context, announcingResync: false)
    }

    /// PSYNC replid offset: the stream from `offset` on when the backlog
    /// holds it (a partial resynchronisation), a full one otherwise.
    static func psync(_ context: KVContext) {
        let session = context.session!
        guard canAttach(context) else { return }
        guard let offset = context.integer(at: 2) else { return }
        if let resumed = context.store.replication.resume(
            client: session.client, id: session.id, address: session.record.address,
            listeningPort: session.replicaListeningPort, from: context[1], offset: offset,
            announcingID: session.replicaSpeaksPSync2, nowMs: context.nowMs)
        {
            session.isReplica = true
            // Its output may hold the backlog sent beyond a replica's limit.
            session.replicaSnapshotBytes = resumed.count
            return resumed.withUnsafeBytes { context.reply.append($0) }
        }
        attach(context, announcingResync: true)
    }

    /// Whether `context`'s client may become a replica now; a replica
    /// asking again is ignored, as redis-server ignores it.
    private static func canAttach(_ context: KVContext) -> Bool {
        guard !context.session.isReplica else { return false }
        guard context.session.transaction == nil, !context.isInTransaction else {
            context.reply.error("ERR Command not allowed inside a transaction")
            return false
        }
        return true
    }

    private static func attach(_ context: KVContext, announcingResync: Bool) {
        let session = context.session!
        guard canAttach(context) else { return }
        let id = context.store.replication.attach(
            client: session.client, id: session.id, address: session.record.address,
            listeningPort: session.replicaListeningPort, nowMs: context.nowMs)
        session.isReplica = true
        session.replicaKeepaliveMs = context.coarseNowMs
        // A small dataset is done within this first slice; a larger one
        // goes on a slice per tick (KVReplicaSync), the reply coming then.
        let sync = KVReplicaSync(context, replicationID: id, announcesResync: announcingResync)
        let done = sync.step(context, client: session.client) { bytes in
            context.reply.append(bytes)
            return true
        }
        if done {
            session.replicaSnapshotBytes = sync.snapshotBytes
        } else {
            context.pendingReplicaSync = sync
        }
    }

    /// REPLCONF option value [option value ...]: listening-port, ip-address,
    /// capa, rdb-only and rdb-filter-only are taken (OK); ACK and GETACK
    /// get no reply (ACK records a replica's offset).
    static func replconf(_ context: KVContext) {
        guard context.argumentCount % 2 == 1 else { return context.syntaxError() }
        var index = 1
        while index < context.argumentCount {
            if context.argument(index, is: "listening-port") {
                guard let port = context.integer(at: index + 1) else { return }
                context.session.replicaListeningPort = Int(truncatingIfNeeded: port)
            } else if context.argument(index, is: "ack") {
                guard context.session.isReplica, let offset = context.command.integer(at: index + 1) else { return }
                let replication = context.store.replication
                replication.acknowledge(context.session.client, offset: offset, nowMs: context.nowMs)
                let loops = replication.loopsWaitingForAcknowledgements.load(ordering: .relaxed)
                if loops != 0 { context.services.acknowledgementArrived(loops: loops) }
                return
            } else if context.argument(index, is: "getack") {
                return
            } else if context.argument(index, is: "capa") {
                if context.argument(index + 1, is: "psync2") { context.session.replicaSpeaksPSync2 = true }
            } else if !(context.argument(index, is: "ip-address")
                || context.argument(index, is: "rdb-only") || context.argument(index, is: "rdb-filter-only"))
            {
                return context.reply.error(KVContext.text("ERR Unrecognized REPLCONF option: ", context[index], ""))
            }
            index += 2
        }
        context.reply.simpleString("OK")
    }

    /// WAIT numreplicas timeout: how many replicas have acknowledged the
    /// stream up to this client's last command; while fewer than
    /// `numreplicas`, blocks until enough do (the replicas are asked at
    /// once: REPLCONF GETACK) or `timeout` ms pass (0: for ever). Inside
    /// MULTI, or with enough already, the count at once.
    static func wait(_ context: KVContext) {
        guard let wanted = context.integer(at: 1) else { return }
        guard let timeout = context.command.integer(at: 2) else {
            return context.reply.error("ERR timeout is not an integer or out of range")
        }
        guard timeout >= 0 else { return context.reply.error("ERR timeout is negative") }
        let replication = context.store.replication
        let offset = context.session.writeOffset
        // Marked first: an acknowledgement on another loop after the count
        // finds this loop to wake.
        if !context.isInTransaction {
            replication.loopsWaitingForAcknowledgements.bitwiseOr(
                KVReplication.bit(of: context.session.client.loop), ordering: .relaxed)
        }
        let count = Int64(replication.acknowledgedCount(atLeast: offset))
        if count >= wanted || context.isInTransaction { return context.reply.integer(Int(count)) }
        let (deadline, overflow) = context.nowMs.addingReportingOverflow(timeout)
        replication.requestAcknowledgements()
        context.block(
            on: [], deadlineMs: timeout == 0 || overflow ? Int64.max : deadline,
            timeoutReply: .acknowledgements(offset: offset, wanted: wanted))
    }

    /// ROLE: master, the stream's offset, and each replica's address, port
    /// and acknowledged offset.
    static func role(_ context: KVContext) {
        let status = context.store.replication.status
        context.reply.arrayHeader(3)
        context.reply.bulkString("master")
        context.reply.integer(Int(status.offset))
        context.reply.arrayHeader(status.replicas.count)
        for replica in status.replicas {
            context.reply.arrayHeader(3)
            context.reply.bulkString(Array(host(of: replica.address).utf8))
            context.reply.bulkString(Array(String(replica.listeningPort).utf8))
            context.reply.bulkString(Array(String(replica.acknowledgedOffset).utf8))
        }
    }

    /// The host part of "host:port" ("[::1]:port" gives "::1").
    static func host(of address: String) -> String {
        guard let colon = address.lastIndex(of: ":") else { return address }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host
    }

    /// INFO's replication section.
    static func infoLines(_ store: KVStore, nowMs: Int64) -> [(String, String)] {
        let status = store.replication.status
        var lines: [(String, String)] = [("role", "master"), ("connected_slaves", "\(status.replicas.count)")]
        for (index, replica) in status.replicas.enumerated() {
            let lag = max(0, (nowMs - replica.acknowledgedAtMs) / 1_000)
            lines.append(
                (
                    "slave\(index)",
                    "ip=\(host(of: replica.address)),port=\(replica.listeningPort),state=\(replica.isSyncing ? "wait_bgsave" : "online"),offset=\(replica.acknowledgedOffset),lag=\(lag)"
                ))
        }
        lines += [
            ("master_failover_state", "no-failover"),
            ("master_replid", String(decoding: status.id, as: UTF8.self)),
            ("master_replid2", String(repeating: "0", count: 40)),
        ]
        // The offset and the backlog's fields from one look: they agree.
        let backlog = store.replication.backlogStatus
        lines += [
            ("master_repl_offset", "\(backlog.offset)"), ("second_repl_offset", "-1"),
            ("repl_backlog_active", backlog.held == nil ? "0" : "1"), ("repl_backlog_size", "\(backlog.size)"),
            ("repl_backlog_first_byte_offset", backlog.held == nil ? "0" : "\(backlog.firstOffset)"),
            ("repl_backlog_histlen", "\(backlog.held ?? 0)"),
        ]
        return lines
    }
}
