// MONITOR: a client that asks sees every command any client runs from then
// on, as redis-server shows them: one status line per command, with the
// time, the database and the sender's address, and each argument quoted
// (backslash escapes for quotes, backslashes and control bytes; \xNN for
// the rest that is not printable). A command is shown once it has run
// (errors from its own code included), not when it is refused before
// (unknown, arity, NOAUTH, OOM), queued in MULTI or held by CLIENT PAUSE;
// inside EXEC each queued command is shown as it runs, then EXEC. Admin
// commands are not shown (FCALL is, though flagged skip_monitor: redis-server
// shows it itself); passwords are shown as "(redacted)". Across loops the
// lines go through Keel's mailboxes (a full one drops a line).

import Foundation
import KeelWire

enum KVMonitor {
    /// MONITOR: this connection receives the feed until it closes or RESETs.
    static func monitor(_ context: KVContext) {
        let session = context.session!
        // Under EXEC a client expects one reply per command.
        if context.isInTransaction {
            return context.reply.error("ERR MONITOR isn't allowed for DENY BLOCKING client")
        }
        // A replica is fed its stream, not this (redis-server does not reply).
        if session.isReplica { return }
        if !session.isMonitor {
            session.isMonitor = true
            context.store.monitors.add(session.record)
        }
        context.reply.simpleString("OK")
    }

    /// Stops feeding `session` (RESET, a closed connection).
    static func stop(_ session: KVSession, in store: KVStore) {
        guard session.isMonitor else { return }
        session.isMonitor = false
        store.monitors.remove(session.record)
    }

    /// Shows `command`, which `session` just ran, to every monitor.
    static func feed(_ command: RESPCommand, of session: KVSession, _ context: KVContext) {
        let line = self.line(command, address: session.record.address)
        line.withUnsafeBytes { bytes in
            for monitor in context.store.monitors.all where !monitor.killed.load(ordering: .relaxed) {
                _ = context.services.deliver(bytes, to: monitor.client)
            }
        }
    }

    /// `+<seconds>.<microseconds> [0 <address>] "arg" "arg"\r\n`.
    static func line(_ command: RESPCommand, address: String) -> [UInt8] {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let micros = String(now.tv_nsec / 1_000)
        var line = Array(
            "+\(now.tv_sec).\(String(repeating: "0", count: 6 - micros.count))\(micros) [0 \(address)]".utf8)
        let redacted = redactedArguments(command)
        for index in 0..<command.count {
            line.append(0x20)
            if redacted.contains(index) {
                line += Array("\"(redacted)\"".utf8)
            } else {
                appendQuoted(command[index], to: &line)
            }
        }
        line += [0x0D, 0x0A]
        return line
    }

    /// The arguments that are passwords: AUTH's (when it takes them),
    /// those after HELLO's AUTH.
    private static func redactedArguments(_ command: RESPCommand) -> Set<Int> {
        if command.argument(0, equalsIgnoringCase: "AUTH") {
            return command.count <= 3 ? Set(1..<command.count) : []
        }
        guard command.argument(0, equalsIgnoringCase: "HELLO"), command.count > 1,
            let version = command.integer(at: 1), version == 2 || version == 3
        else { return [] }
        var redacted: Set<Int> = []
        var index = 2
        while index < command.count {
            let more = command.count - 1 - index
            if command.argument(index, equalsIgnoringCase: "AUTH") && more >= 2 {
                redacted.formUnion([index + 1, index + 2])
                index += 3
            } else if command.argument(index, equalsIgnoringCase: "SETNAME") && more >= 1 {
                index += 2
            } else {
                break
            }
        }
        return redacted
    }

    /// `bytes` in double quotes, as redis-server quotes a value it shows.
    static func appendQuoted(_ bytes: UnsafeRawBufferPointer, to line: inout [UInt8]) {
        line.append(0x22)
        for byte in bytes {
            switch byte {
            case 0x5C, 0x22: line += [0x5C, byte]
            case 0x0A: line += [0x5C, 0x6E]
            case 0x0D: line += [0x5C, 0x72]
            case 0x09: line += [0x5C, 0x74]
            case 0x07: line += [0x5C, 0x61]
            case 0x08: line += [0x5C, 0x62]
            case 0x20...0x7E: line.append(byte)
            default:
                let hex = Array("0123456789abcdef".utf8)
                line += [0x5C, 0x78, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        line.append(0x22)
    }
}
