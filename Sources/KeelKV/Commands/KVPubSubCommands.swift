// Pub/sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and
// PUBSUB, as redis-server 7.0 answers them. Confirmations and messages are
// pushes in RESP3 and arrays in RESP2 (where a subscribed connection may
// then only (un)subscribe, PING, QUIT and RESET: KVExecutor).

import KeelWire

enum KVPubSubCommands {
    /// SUBSCRIBE channel ... and PSUBSCRIBE pattern ...: one confirmation
    /// per name, with the connection's subscription count after it.
    static func subscribe(_ context: KVContext, patterns: Bool) {
        let session = context.session!
        for index in 1..<context.argumentCount {
            let name = Array(context[index])
            if patterns {
                if session.patterns.insert(name).inserted {
                    context.store.pubsub.subscribe(name, session.record, isPattern: true)
                }
            } else if session.channels.insert(name).inserted {
                context.store.pubsub.subscribe(name, session.record, isPattern: false)
            }
            confirm(context, patterns ? "psubscribe" : "subscribe", name)
        }
    }

    /// UNSUBSCRIBE [channel ...] and PUNSUBSCRIBE [pattern ...]: every one
    /// of the connection's when none is named; a confirmation per name (one
    /// with a null name when there was nothing to leave).
    static func unsubscribe(_ context: KVContext, patterns: Bool) {
        let session = context.session!
        let kind: StaticString = patterns ? "punsubscribe" : "unsubscribe"
        var names: [[UInt8]] = (1..<context.argumentCount).map { Array(context[$0]) }
        if names.isEmpty {
            names = Array(patterns ? session.patterns : session.channels)
            if names.isEmpty { return confirm(context, kind, nil) }
        }
        for name in names {
            let removed = patterns ? session.patterns.remove(name) : session.channels.remove(name)
            if removed != nil { context.store.pubsub.unsubscribe(name, session.record, isPattern: patterns) }
            confirm(context, kind, name)
        }
    }

    private static func confirm(_ context: KVContext, _ kind: StaticString, _ name: [UInt8]?) {
        let session = context.session!
        context.reply.pushHeader(3)
        context.reply.bulkString(kind)
        if let name { context.reply.bulkString(name) } else { context.reply.null() }
        context.reply.integer(session.channels.count + session.patterns.count)
    }

    /// Leaves every channel and pattern (RESET, a closed connection).
    static func unsubscribeAll(_ session: KVSession, from pubsub: KVPubSub) {
        for name in session.channels { pubsub.unsubscribe(name, session.record, isPattern: false) }
        for name in session.patterns { pubsub.unsubscribe(name, session.record, isPattern: true) }
        session.channels = []
        session.patterns = []
    }

    /// PUBLISH channel message: the number of deliveries (a client
    /// subscribed to the channel and to a matching pattern counts twice).
    static func publish(_ context: KVContext) {
        let channel = context[1]
        let message = context[2]
        let (direct, byPattern) = context.store.pubsub.receivers(of: channel)
        var delivered = 0
        if !direct.isEmpty {
            let frames = MessageFrames { reply in
                reply.pushHeader(3)
                reply.bulkString("message")
                reply.bulkString(channel)
                reply.bulkString(message)
            }
            for record in direct where frames.deliver(to: record, context) { delivered += 1 }
        }
        for (pattern, record) in byPattern {
            let frames = MessageFrames { reply in
                reply.pushHeader(4)
                reply.bulkString("pmessage")
                reply.bulkString(pattern)
                reply.bulkString(channel)
                reply.bulkString(message)
            }
            if frames.deliver(to: record, context) { delivered += 1 }
        }
        context.reply.integer(delivered)
    }

    /// A message written once in each protocol, handed to each receiver
    /// in its own.
    private struct MessageFrames {
        let resp2: RESPReplyBuffer
        let resp3: RESPReplyBuffer

        init(_ write: (RESPReplyBuffer) -> Void) {
            resp2 = RESPReplyBuffer(protocolVersion: 2)
            resp3 = RESPReplyBuffer(protocolVersion: 3)
            write(resp2)
            write(resp3)
        }

        func deliver(to record: KVClientRecord, _ context: KVContext) -> Bool {
            let frame = record.protocolVersion.load(ordering: .relaxed) >= 3 ? resp3 : resp2
            return context.services.deliver(frame.bytes, to: record.client)
        }
    }

    /// PUBSUB CHANNELS [pattern].
    static func channels(_ context: KVContext) {
        guard context.argumentCount <= 3 else { return context.wrongArguments("pubsub|channels") }
        let names = context.store.pubsub.activeChannels(matching: context.argumentCount == 3 ? context[2] : nil)
        context.reply.arrayHeader(names.count)
        for name in names { context.reply.bulkString(name) }
    }

    /// PUBSUB NUMSUB [channel ...]: each channel and its subscriber count.
    static func numsub(_ context: KVContext) {
        context.reply.arrayHeader((context.argumentCount - 2) * 2)
        for index in 2..<context.argumentCount {
            context.reply.bulkString(context[index])
            context.reply.integer(context.store.pubsub.subscriberCount(context[index]))
        }
    }

    static func numpat(_ context: KVContext) {
        context.reply.integer(context.store.pubsub.patternCount)
    }

    /// PUBSUB SHARDCHANNELS and SHARDNUMSUB: keel-kv has no shard channels.
    static func shardChannels(_ context: KVContext) {
        context.reply.arrayHeader(0)
    }

    static func shardNumsub(_ context: KVContext) {
        context.reply.arrayHeader((context.argumentCount - 2) * 2)
        for index in 2..<context.argumentCount {
            context.reply.bulkString(context[index])
            context.reply.integer(0)
        }
    }
}
