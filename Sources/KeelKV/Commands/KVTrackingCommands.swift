// CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR and CLIENT TRACKINGINFO:
// a connection's client-side caching mode (KVTracking, KVInvalidation),
// with redis-server 7.0's options, checks and error texts.

import KeelWire

enum KVTrackingCommands {
    /// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX prefix ...] [BCAST]
    /// [OPTIN] [OPTOUT] [NOLOOP].
    static func tracking(_ context: KVContext) {
        var redirect = 0
        var options: KVTrackingMode = []
        var prefixes: [[UInt8]] = []
        var index = 3
        while index < context.argumentCount {
            let more = context.argumentCount - 1 - index
            if context.argument(index, is: "REDIRECT") && more > 0 {
                index += 1
                if redirect != 0 {
                    return context.reply.error("ERR A client can only redirect to a single other client")
                }
                guard let id = context.integer(at: index) else { return }
                // It must exist now, though it may go later.
                guard let target = context.store.clients.record(id: Int(truncatingIfNeeded: id)),
                    !target.killed.load(ordering: .relaxed)
                else { return context.reply.error("ERR The client ID you want redirect to does not exist") }
                redirect = target.id
            } else if context.argument(index, is: "BCAST") {
                options.insert(.broadcast)
            } else if context.argument(index, is: "OPTIN") {
                options.insert(.optIn)
            } else if context.argument(index, is: "OPTOUT") {
                options.insert(.optOut)
            } else if context.argument(index, is: "NOLOOP") {
                options.insert(.noLoop)
            } else if context.argument(index, is: "PREFIX") && more > 0 {
                index += 1
                prefixes.append(Array(context[index]))
            } else {
                return context.syntaxError()
            }
            index += 1
        }
        let record = context.session.record
        let mode = record.tracking
        if context.argument(2, is: "ON") {
            guard options.contains(.broadcast) || prefixes.isEmpty else {
                return context.reply.error("ERR PREFIX option requires BCAST mode to be enabled")
            }
            if mode.contains(.on) && mode.contains(.broadcast) != options.contains(.broadcast) {
                return context.reply.error(
                    "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."
                )
            }
            if options.contains(.broadcast) && !options.isDisjoint(with: [.optIn, .optOut]) {
                return context.reply.error("ERR OPTIN and OPTOUT are not compatible with BCAST")
            }
            if options.contains(.optIn) && options.contains(.optOut) {
                return context.reply.error("ERR You can't specify both OPTIN mode and OPTOUT mode")
            }
            if (options.contains(.optIn) && mode.contains(.optOut))
                || (options.contains(.optOut) && mode.contains(.optIn))
            {
                return context.reply.error(
                    "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."
                )
            }
            if options.contains(.broadcast) {
                guard prefixesDoNotOverlap(context, prefixes, existing: context.tracking.prefixes(of: record.id)) else {
                    return
                }
            }
            // CLIENT CACHING's mark stays; the rest is the new mode.
            let kept = mode.intersection(.caching)
            record.trackingMode.store(kept.union(options).union(.on).rawValue, ordering: .relaxed)
            record.trackingRedirect.store(redirect, ordering: .relaxed)
            context.tracking.enable(
                client: record.id, wasOn: mode.contains(.on),
                broadcastPrefixes: options.contains(.broadcast) ? prefixes : nil)
        } else if context.argument(2, is: "OFF") {
            disable(record, context.tracking)
        } else {
            return context.syntaxError()
        }
        context.reply.simpleString("OK")
    }

    /// Tracking off for `record` (CLIENT TRACKING OFF, RESET, or its
    /// connection closed).
    static func disable(_ record: KVClientRecord, _ tracking: KVTracking) {
        guard record.tracking.contains(.on) else { return }
        record.trackingMode.store(0, ordering: .relaxed)
        tracking.disable(client: record.id)
    }

    /// Whether no two prefixes would invalidate the same key (one starts
    /// the other), among those given and against the client's own;
    /// replies the error when they would.
    private static func prefixesDoNotOverlap(_ context: KVContext, _ prefixes: [[UInt8]], existing: [[UInt8]]) -> Bool {
        func overlap(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.starts(with: b) || b.starts(with: a) }
        func text(_ bytes: [UInt8]) -> [UInt8] { Array(bytes.prefix { $0 != 0 }) }
        for (position, prefix) in prefixes.enumerated() {
            if let collision = existing.first(where: { overlap($0, prefix) }) {
                context.reply.error(
                    Array("ERR Prefix '".utf8) + text(prefix) + Array("' overlaps with an existing prefix '".utf8)
                        + text(collision) + Array("'. Prefixes for a single client must not overlap.".utf8))
                return false
            }
            if let other = prefixes[(position + 1)...].first(where: { overlap($0, prefix) }) {
                context.reply.error(
                    Array("ERR Prefix '".utf8) + text(prefix) + Array("' overlaps with another provided prefix '".utf8)
                        + text(other) + Array("'. Prefixes for a single client must not overlap.".utf8))
                return false
            }
        }
        return true
    }

    /// CLIENT CACHING YES|NO: whether the next command's reads are tracked
    /// (OPTIN: yes; OPTOUT: no).
    static func caching(_ context: KVContext) {
        let record = context.session.record
        let mode = record.tracking
        guard mode.contains(.on) else {
            return context.reply.error(
                "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"
            )
        }
        if context.argument(2, is: "YES") {
            guard mode.contains(.optIn) else {
                return context.reply.error(
                    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
            }
        } else if context.argument(2, is: "NO") {
            guard mode.contains(.optOut) else {
                return context.reply.error(
                    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
            }
        } else {
            return context.syntaxError()
        }
        record.trackingMode.bitwiseOr(KVTrackingMode.caching.rawValue, ordering: .relaxed)
        context.reply.simpleString("OK")
    }

    /// CLIENT GETREDIR: the client invalidations go to, 0 for none, -1
    /// when not tracking.
    static func getRedirect(_ context: KVContext) {
        let record = context.session.record
        context.reply.integer(record.tracking.contains(.on) ? record.trackingRedirect.load(ordering: .relaxed) : -1)
    }

    /// CLIENT TRACKINGINFO: flags, redirect and prefixes.
    static func trackingInfo(_ context: KVContext) {
        let record = context.session.record
        let mode = record.tracking
        var flags: [StaticString] = [mode.contains(.on) ? "on" : "off"]
        if mode.contains(.broadcast) { flags.append("bcast") }
        if mode.contains(.optIn) {
            flags.append("optin")
            if mode.contains(.caching) { flags.append("caching-yes") }
        }
        if mode.contains(.optOut) {
            flags.append("optout")
            if mode.contains(.caching) { flags.append("caching-no") }
        }
        if mode.contains(.noLoop) { flags.append("noloop") }
        if mode.contains(.brokenRedirect) { flags.append("broken_redirect") }
        context.reply.mapHeader(3)
        context.reply.bulkString("flags")
        context.reply.setHeader(flags.count)
        for flag in flags { context.reply.bulkString(flag) }
        context.reply.bulkString("redirect")
        context.reply.integer(mode.contains(.on) ? record.trackingRedirect.load(ordering: .relaxed) : -1)
        context.reply.bulkString("prefixes")
        let prefixes = context.tracking.prefixes(of: record.id)
        context.reply.arrayHeader(prefixes.count)
        for prefix in prefixes { context.reply.bulkString(prefix) }
    }
}
