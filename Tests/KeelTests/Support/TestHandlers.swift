// The handlers the tests serve connections with, in one place: echoes that
// record or block, handlers that close, amplify, relay or greet. Each says
// what it does; the suites that use them say why.

import Glibc
import KeelExamples
import Logging
import Synchronization
import Testing

@testable import Keel

/// Replies to the first message, then closes (gracefully: FIN, then linger).
struct ReplyThenCloseHandler: ConnectionHandler {
    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(payload)
        connection.close()
    }
}

/// Echoes; a message [0xBB] holds the loop thread until `gate` opens.
struct BlockingEcho: ConnectionHandler {
    let registry: BroadcastRegistry
    let gate: Gate

    mutating func connectionOpened(_ connection: Connection) {
        registry.add(connection.id)
    }

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        if payload.count == 1 && payload[0] == 0xBB { gate.pass() }
        connection.send(payload)
    }

    mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {
        registry.remove(id)
    }
}

/// Records every log event's message and metadata.
struct RecordingLogHandler: LogHandler {
    let records: Locked<[(message: String, metadata: Logger.Metadata)]>
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.withLock { $0.append(("\(event.message)", event.metadata ?? [:])) }
    }
}

/// Replies to each message with `copies` copies of it.
struct AmplifyingHandler: ConnectionHandler {
    let copies: Int

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        for _ in 0..<copies where connection.send(payload) == .queued {}
    }
}

/// Sends "hello" on open; echoes the first message and then closes.
struct GreetThenCloseHandler: ConnectionHandler {
    mutating func connectionOpened(_ connection: Connection) {
        connection.send(Array("hello".utf8))
    }

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(payload)
        connection.close()
    }
}

/// Answers each request with `replyBytes` bytes: the request, then zeros.
struct BlobHandler: ConnectionHandler {
    let replyBytes: Int

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        var reply = [UInt8](repeating: 0, count: replyBytes)
        for index in 0..<min(payload.count, replyBytes) { reply[index] = payload[index] }
        connection.send(reply)
    }
}

/// The README's embedding example, verbatim.
struct Uppercase: ConnectionHandler {
    mutating func connectionOpened(_ connection: Connection) {
        connection.send(Array("welcome".utf8))  // an application-initiated write
    }

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(payload.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 })
    }

    mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {}
}

/// Declares itself an echo and records which callbacks ran.
struct DeclaredEcho: ConnectionHandler, Sendable {
    let calls: Locked<[String]>
    static var echoesEveryMessage: Bool { true }

    mutating func connectionOpened(_ connection: Connection) { calls.withLock { $0.append("open") } }

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        calls.withLock { $0.append("message") }
        connection.send(payload)
    }

    mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) { calls.withLock { $0.append("close") } }
}

/// Replies to each command with an array of its arguments; "QUIT" gets +OK
/// and closes the connection.
struct RESPArgumentsEcho: ConnectionHandler, Sendable {
    mutating func messageReceived(_ command: RESPCommand, on connection: Connection) {
        if command.argument(0, equalsIgnoringCase: "QUIT") {
            connection.resp.simpleString("OK")
            connection.close()
            return
        }
        connection.resp.arrayHeader(command.count)
        for index in 0..<command.count { connection.resp.bulkString(command[index]) }
    }

    /// The replies this handler gives to `commands`.
    static func replies(to commands: [[[UInt8]]]) -> [UInt8] {
        commands.flatMap { command in
            Array("*\(command.count)\r\n".utf8) + command.flatMap { Array("$\($0.count)\r\n".utf8) + $0 + [13, 10] }
        }
    }
}

/// Records which connection each message came on, and acts on a few words:
/// "close" replies and closes (and makes this connection the target);
/// "blast" sends 100 KB to the target; "overflow, close" sends itself
/// 100 KB, then closes.
struct RelayHandler: ConnectionHandler {
    var receivedOn: [ConnectionID] = []
    var target: ConnectionID?
    var opened: [ConnectionID] = []
    var closed: [CloseReason] = []
    /// Greets each connection with a blast (output it did not ask for, so
    /// capped) and then closes it.
    var blastAndCloseOnOpen = false

    mutating func connectionOpened(_ connection: Connection) {
        opened.append(connection.id)
        if blastAndCloseOnOpen {
            _ = connection.send([UInt8](repeating: 0x42, count: 100_000))
            connection.close()
        }
    }

    mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {
        closed.append(reason)
    }

    mutating func messageReceived(_ message: UnsafeRawBufferPointer, on connection: Connection) {
        receivedOn.append(connection.id)
        let blast = [UInt8](repeating: 0x42, count: 100_000)
        switch String(decoding: message, as: UTF8.self) {
        case "close":
            target = connection.id
            _ = connection.send(message)
            connection.close()
        case "blast":
            if let target { _ = blast.withUnsafeBytes { connection.send($0, to: target) } }
        default:
            break
        }
    }
}

/// What a handler saw: clients' addresses at open, and how many closes.
final class ProxyRecorder: Sendable {
    let opened = Locked<[(client: SocketAddress?, peer: SocketAddress?, header: ProxyHeader?)]>([])
    let closed = Locked(0)
}

/// Echoes, and records each connection's addresses when it opens.
struct AddressRecordingEcho: ConnectionHandler, Sendable {
    let recorder: ProxyRecorder

    mutating func connectionOpened(_ connection: Connection) {
        let seen = (connection.clientAddress, connection.peerAddress, connection.proxyHeader)
        recorder.opened.withLock { $0.append(seen) }
    }

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(payload)
    }

    mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {
        recorder.closed.withLock { $0 += 1 }
    }
}

/// Closes every connection as soon as it opens; counts messages it is handed.
struct CloseOnOpen: ConnectionHandler, Sendable {
    let messages: Locked<Int>

    mutating func connectionOpened(_ connection: Connection) { connection.close() }

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        messages.withLock { $0 += 1 }
    }
}

/// Echo that records every open connection's ID for the test to use.
struct RecordingEcho: ConnectionHandler {
    let opened: BroadcastRegistry

    mutating func connectionOpened(_ connection: Connection) {
        opened.add(connection.id)
    }

    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(payload)
    }

    mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {
        opened.remove(id)
    }
}
