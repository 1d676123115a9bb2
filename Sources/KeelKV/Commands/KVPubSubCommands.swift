// Pub/sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, the
// sharded SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH, and PUBSUB, as
// redis-server 7.0 answers them. Confirmations and messages are pushes in
// RESP3 and arrays in RESP2 (where a subscribed connection may then only
// (un)subscribe, PING, QUIT and RESET: KVExecutor). Without a cluster a
// shard channel is a channel in a namespace of its own: patterns do not
// reach it, and its confirmations count shard channels only.

import KeelWire

enum KVPubSubCommands {
    /// SUBSCRIBE channel ..., PSUBSCRIBE pattern ... and SSUBSCRIBE
    /// shardchannel ...: one confirmation per name, with the connection's
    /// subscription count after it.
    static func subscribe(_ context: KVContext, _ kind: KVPubSub.Kind) {
        let session = context.session!
        // redis-server refuses SSUBSCRIBE where a client expects one reply
        // per command (under EXEC); SUBSCRIBE it allows there.
        if kind == .shardChannel && context.isInTransaction {
            return context.reply.error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
        }
        for index in 1..<context.argumentCount {
            let name = Array(context[index])
            if session.subscriptions[kind].insert(name).inserted {
                context.store.pubsub.subscribe(name, session.record, as: kind)
            }
            confirm(context, kind.subscribed, name, kind)
        }
    }

    /// UNSUBSCRIBE [channel ...], PUNSUBSCRIBE [pattern ...] and
    /// SUNSUBSCRIBE [shardchannel ...]: every one of the connection's when
    /// none is named; a confirmation per name (one with a null name when
    /// there was nothing to leave).
    static func unsubscribe(_ context: KVContext, _ kind: KVPubSub.Kind) {
        let session = context.session!
        var names: [[UInt8]] = (1..<context.argumentCount).map { Array(context[$0]) }
        if names.isEmpty {
            names = Array(session.subscriptions[kind])
            if names.isEmpty { return confirm(context, kind.unsubscribed, nil, kind) }
        }
        // Each confirmation carries the count after its own removal.
        var counts: [Int] = []
        for name in names {
            if session.subscriptions[kind].remove(name) != nil {
                context.store.pubsub.unsubscribe(name, session.record, as: kind)
            }
            counts.append(subscriptionCount(session, kind))
        }
        // What other loops published to it before it left comes first.
        context.services.deliverQueuedMessages()
        for (name, count) in zip(names, counts) { confirm(context, kind.unsubscribed, name, kind, count: count) }
    }

    /// Channels and patterns count together; shard channels apart.
    private static func subscriptionCount(_ session: KVSession, _ kind: KVPubSub.Kind) -> Int {
        kind == .shardChannel
            ? session.subscriptions.shardChannel.count
            : session.subscriptions.channel.count + session.subscriptions.pattern.count
    }

    private static func confirm(
        _ context: KVContext, _ event: StaticString, _ name: [UInt8]?, _ kind: KVPubSub.Kind, count: Int? = nil
    ) {
        let session = context.session!
        // A push, which CLIENT REPLY OFF or SKIP does not silence (as
        // redis-server 7.0.15 sends it): marked only where the loop looks.
        if session.replyMode != .on && !context.isInTransaction { context.repliedWithPushes = true }
        context.reply.pushHeader(3)
        context.reply.bulkString(event)
        if let name { context.reply.bulkString(name) } else { context.reply.null() }
        context.reply.integer(count ?? subscriptionCount(session, kind))
    }

    /// Leaves every channel, pattern and shard channel (RESET, a closed connection).
    static func unsubscribeAll(_ session: KVSession, from pubsub: KVPubSub) {
        for kind in [KVPubSub.Kind.channel, .pattern, .shardChannel] {
            for name in session.subscriptions[kind] { pubsub.unsubscribe(name, session.record, as: kind) }
            session.subscriptions[kind] = []
        }
    }

    /// PUBLISH channel message: the number of deliveries (a client
    /// subscribed to the channel and to a matching pattern counts twice).
    static func publish(_ context: KVContext) {
        let delivered = deliver(channel: context[1], message: context[2], context)
        // Replicas publish it to their own subscribers, as redis-server's do.
        context.forcePropagation()
        context.reply.integer(delivered)
    }

    /// Sends `message` to `channel`'s subscribers and those of the patterns
    /// matching it; how many received it.
    static func deliver(channel: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, _ context: KVContext) -> Int {
        let (direct, byPattern) = context.store.pubsub.receivers(of: channel)
        guard !direct.isEmpty || !byPattern.isEmpty else { return 0 }
        var sending = Sending(context)
        if !direct.isEmpty {
            let frames = MessageFrames(event: "message", channel, message)
            for record in direct { sending.add(frames, to: record, as: .channel, Array(channel)) }
        }
        for (pattern, record) in byPattern {
            let frames = MessageFrames { reply in
                reply.pushHeader(4)
                reply.bulkString("pmessage")
                reply.bulkString(pattern)
                reply.bulkString(channel)
                reply.bulkString(message)
            }
            sending.add(frames, to: record, as: .pattern, pattern)
        }
        return sending.finish()
    }

    /// A message's deliveries: to this loop's subscribers at once; to other
    /// loops' through the registry (KVPubSub.post), which their loops take
    /// before they confirm an UNSUBSCRIBE, so no message published before
    /// it arrives after the confirmation.
    private struct Sending {
        let context: KVContext
        let here: UInt32
        var delivered = 0
        var frames: [MessageFrames] = []
        var remote: [(record: KVClientRecord, kind: KVPubSub.Kind, name: [UInt8], frames: Int)] = []

        init(_ context: KVContext) {
            self.context = context
            here = context.services.loopIndex
        }

        mutating func add(
            _ message: MessageFrames, to record: KVClientRecord, as kind: KVPubSub.Kind, _ name: [UInt8]
        ) {
            // A killed subscriber is gone, though its connection may not have closed yet.
            guard !record.killed.load(ordering: .relaxed) else { return }
            if record.client.loop == here {
                if message.deliver(to: record, context) { delivered += 1 }
                return
            }
            if frames.last !== message { frames.append(message) }
            remote.append((record, kind, name, frames.count - 1))
        }

        mutating func finish() -> Int {
            guard !remote.isEmpty else { return delivered }
            let deliveries = remote.map { target in
                KVPubSub.Delivery(
                    record: target.record, kind: target.kind, name: target.name,
                    bytes: frames[target.frames].bytes(for: target.record))
            }
            let (queued, wake) = context.store.pubsub.post(deliveries)
            for loop in wake { context.services.wake(loop: loop) }
            return delivered + queued
        }
    }

    /// SPUBLISH shardchannel message: the number of deliveries.
    static func shardPublish(_ context: KVContext) {
        // Replicas publish it too, as redis-server's do outside a cluster.
        context.forcePropagation()
        let receivers = context.store.pubsub.shardReceivers(of: context[1])
        var sending = Sending(context)
        if !receivers.isEmpty {
            let frames = MessageFrames(event: "smessage", context[1], context[2])
            for record in receivers { sending.add(frames, to: record, as: .shardChannel, Array(context[1])) }
        }
        context.reply.integer(sending.finish())
    }

    /// A message written once in each protocol, handed to each receiver
    /// in its own.
    private final class MessageFrames {
        let resp2: RESPReplyBuffer
        let resp3: RESPReplyBuffer

        init(_ write: (RESPReplyBuffer) -> Void) {
            resp2 = RESPReplyBuffer(protocolVersion: 2)
            resp3 = RESPReplyBuffer(protocolVersion: 3)
            write(resp2)
            write(resp3)
        }

        /// [event, channel, message].
        convenience init(event: StaticString, _ channel: UnsafeRawBufferPointer, _ message: UnsafeRawBufferPointer) {
            self.init { reply in
                reply.pushHeader(3)
                reply.bulkString(event)
                reply.bulkString(channel)
                reply.bulkString(message)
            }
        }

        /// The message as `record`'s protocol frames it.
        func bytes(for record: KVClientRecord) -> UnsafeRawBufferPointer {
            (record.protocolVersion.load(ordering: .relaxed) >= 3 ? resp3 : resp2).bytes
        }

        func deliver(to record: KVClientRecord, _ context: KVContext) -> Bool {
            context.services.deliver(bytes(for: record), to: record.client)
        }
    }

    /// PUBSUB CHANNELS [pattern] and PUBSUB SHARDCHANNELS [pattern].
    static func channels(_ context: KVContext, _ kind: KVPubSub.Kind) {
        guard context.argumentCount <= 3 else { return context.subcommandSyntaxError("PUBSUB") }
        let names = context.store.pubsub.activeChannels(
            matching: context.argumentCount == 3 ? context[2] : nil, kind: kind)
        context.reply.arrayHeader(names.count)
        for name in names { context.reply.bulkString(name) }
    }

    /// PUBSUB NUMSUB [channel ...] and PUBSUB SHARDNUMSUB [shardchannel
    /// ...]: each name and its subscriber count.
    static func numsub(_ context: KVContext, _ kind: KVPubSub.Kind) {
        context.reply.arrayHeader((context.argumentCount - 2) * 2)
        for index in 2..<context.argumentCount {
            context.reply.bulkString(context[index])
            context.reply.integer(context.store.pubsub.subscriberCount(context[index], kind: kind))
        }
    }

    static func numpat(_ context: KVContext) {
        context.reply.integer(context.store.pubsub.patternCount)
    }
}

extension KVPubSub.Kind {
    /// The event of a subscription's confirmation.
    var subscribed: StaticString {
        switch self {
        case .channel: return "subscribe"
        case .pattern: return "psubscribe"
        case .shardChannel: return "ssubscribe"
        }
    }

    /// The event of an unsubscription's confirmation.
    var unsubscribed: StaticString {
        switch self {
        case .channel: return "unsubscribe"
        case .pattern: return "punsubscribe"
        case .shardChannel: return "sunsubscribe"
        }
    }
}
