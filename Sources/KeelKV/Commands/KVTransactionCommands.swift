// Transactions and the session's own commands: MULTI, EXEC, DISCARD, WATCH,
// UNWATCH, HELLO, AUTH, RESET. With --threads, EXEC locks the shards of every
// queued command's keys at once, so no other command on those keys
// interleaves with the transaction.

import Glibc
import KeelWire

enum KVTransactionCommands {
    static func multi(_ context: KVContext) {
        guard context.session.transaction == nil else {
            return context.reply.error("ERR MULTI calls can not be nested")
        }
        context.session.transaction = KVTransaction()
        context.reply.simpleString("OK")
    }

    static func discard(_ context: KVContext) {
        guard context.session.transaction != nil else { return context.reply.error("ERR DISCARD without MULTI") }
        context.session.transaction = nil
        unwatchAll(context)
        context.reply.simpleString("OK")
    }

    static func exec(_ context: KVContext) {
        guard let transaction = context.session.transaction else {
            return context.reply.error("ERR EXEC without MULTI")
        }
        let session = context.session!
        session.transaction = nil
        defer { unwatchAll(context) }
        if transaction.failed {
            return context.reply.error("EXECABORT Transaction discarded because of previous errors.")
        }
        context.executor.runTransaction(transaction, session: session)
    }

    static func watch(_ context: KVContext) {
        guard context.session.transaction == nil else {
            return context.reply.error("ERR WATCH inside MULTI is not allowed")
        }
        let session = context.session!
        for index in 1..<context.argumentCount {
            let key = context[index]
            // A set: WATCH of a million keys is a million inserts, not a
            // search of those already watched for each.
            guard session.watchedKeys.insert(Array(key)).inserted else { continue }
            // A key already expired is deleted before the watch begins (its
            // expiry then does not count as a change, as in redis-server).
            _ = context.find(key)
            context.store.watches.watch(key, session.watch)
        }
        context.reply.simpleString("OK")
    }

    static func unwatch(_ context: KVContext) {
        unwatchAll(context)
        context.reply.simpleString("OK")
    }

    /// Forgets the session's watched keys.
    static func unwatchAll(_ context: KVContext) {
        let session = context.session!
        context.store.watches.unwatch(session.watchedKeys, session.watch)
        session.watchedKeys = []
    }

    // MARK: HELLO, AUTH, RESET

    /// Compares `given` with `expected` in time that does not depend on
    /// where they differ (no byte-by-byte early exit for a timing attack).
    static func constantTimeEqual(_ given: UnsafeRawBufferPointer, _ expected: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: given.count ^ expected.count)
        expected.withUnsafeBytes { expected in
            for index in 0..<expected.count {
                difference |= expected[index] ^ (index < given.count ? given[index] : 0)
            }
        }
        return difference == 0
    }

    /// Checks a user and password as redis-server's default user does:
    /// with no password set, the default user has none (any password is
    /// right for "default"); nil user means "default".
    static func authenticate(_ context: KVContext, user: UnsafeRawBufferPointer?, password: UnsafeRawBufferPointer)
        -> Bool
    {
        if let user, !KVBytes.equal(user, KVKeyCommands.bytes("default")) { return failed(context) }
        guard let expected = context.store.settings.currentPassword else { return true }
        guard constantTimeEqual(password, expected) else { return failed(context) }
        return true
    }

    private static func failed(_ context: KVContext) -> Bool {
        context.services.authenticationFailed(context.session)
        return false
    }

    /// AUTH [username] password.
    static func auth(_ context: KVContext) {
        guard context.argumentCount <= 3 else { return context.syntaxError() }
        let user: UnsafeRawBufferPointer? = context.argumentCount == 3 ? context[1] : nil
        let password = context[context.argumentCount - 1]
        if user == nil && !context.store.settings.requiresPassword {
            return context.reply.error(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
            )
        }
        guard authenticate(context, user: user, password: password) else {
            return context.reply.error("WRONGPASS invalid username-password pair or user is disabled.")
        }
        context.session.authenticated = true
        context.reply.simpleString("OK")
    }

    /// HELLO [protover [AUTH username password] [SETNAME clientname]].
    static func hello(_ context: KVContext) {
        let session = context.session!
        var version = session.protocolVersion
        var name: UnsafeRawBufferPointer?
        var credentials: (UnsafeRawBufferPointer, UnsafeRawBufferPointer)?
        if context.argumentCount >= 2 {
            guard let requested = context.command.integer(at: 1) else {
                return context.reply.error("ERR Protocol version is not an integer or out of range")
            }
            guard requested == 2 || requested == 3 else {
                return context.reply.error("NOPROTO unsupported protocol version")
            }
            version = Int(requested)
            var index = 2
            while index < context.argumentCount {
                let remaining = context.argumentCount - index - 1
                if context.argument(index, is: "AUTH") && remaining >= 2 {
                    credentials = (context[index + 1], context[index + 2])
                    index += 3
                } else if context.argument(index, is: "SETNAME") && remaining >= 1 {
                    name = context[index + 1]
                    index += 2
                } else {
                    return context.reply.error(
                        KVContext.text("ERR Syntax error in HELLO option '", context[index], "'"))
                }
            }
        }
        if let (user, password) = credentials {
            guard authenticate(context, user: user, password: password) else {
                return context.reply.error("WRONGPASS invalid username-password pair or user is disabled.")
            }
            session.authenticated = true
        }
        guard session.authenticated || !context.store.settings.requiresPassword else {
            return context.reply.error(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
            )
        }
        if let name {
            guard KVClientCommands.isValidClientName(name) else {
                return context.reply.error(KVClientCommands.invalidClientName)
            }
            session.name = name.isEmpty ? nil : Array(name)
        }
        session.protocolVersion = version
        context.reply.protocolVersion = version
        context.reply.mapHeader(7)
        context.reply.bulkString("server")
        context.reply.bulkString("redis")
        context.reply.bulkString("version")
        context.reply.bulkString("7.0.15")
        context.reply.bulkString("proto")
        context.reply.integer(version)
        context.reply.bulkString("id")
        context.reply.integer(session.id)
        context.reply.bulkString("mode")
        context.reply.bulkString("standalone")
        context.reply.bulkString("role")
        context.reply.bulkString("master")
        context.reply.bulkString("modules")
        context.reply.arrayHeader(0)
    }

    /// RESET: the connection as if new (no transaction, no watches, no
    /// subscriptions, RESP2, no name; not authenticated when a password is set).
    static func reset(_ context: KVContext) {
        let session = context.session!
        session.transaction = nil
        unwatchAll(context)
        context.services.unsubscribeAll(session)
        KVMonitor.stop(session, in: context.store)
        KVTrackingCommands.disable(session.record, context.tracking)
        session.protocolVersion = 2
        context.reply.protocolVersion = 2
        session.name = nil
        session.record.noEvict.store(false, ordering: .relaxed)
        // Replies back on, except that a skip in force drops RESET's own,
        // as redis-server clears all but the current command's skip.
        if session.replyMode != .skipThis { session.replyMode = .on }
        session.authenticated = !context.store.settings.requiresPassword
        context.reply.simpleString("RESET")
    }
}
