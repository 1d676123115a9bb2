// ConnectionHandler: what an application implements to serve connections.
// Each loop owns one handler value and calls it on the loop's thread only,
// so a handler needs no locks. The loop is generic over the handler type and
// specialised for it, also in the application's own module (the loop is
// inlinable): calls are direct, with no existential or allocation per message.

/// Callbacks for the connections of one event loop. (The type itself is
/// passed to the loops' threads, hence SendableMetatype; the values never are.)
public protocol ConnectionHandler: SendableMetatype {
    /// What a message is: the payload bytes for Keel's byte formats (length
    /// prefix, lines), or a format's own view (e.g. `RESPCommand`). Inferred
    /// from `messageReceived`.
    associatedtype Request = UnsafeRawBufferPointer

    /// A connection was accepted. `connection` is valid for this call only;
    /// keep `connection.id` to refer to it later.
    mutating func connectionOpened(_ connection: Connection)

    /// A complete message arrived. It is borrowed: it points into Keel's
    /// buffers and is valid only until this call returns (copy what you
    /// keep). Replies sent through `connection` go out in order.
    mutating func messageReceived(_ message: Request, on connection: Connection)

    /// The connection closed; its ID is no longer valid.
    mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason)

    /// Whether this handler's whole answer to a message is the message
    /// itself, sent back on the same connection (what `EchoHandler` does).
    /// When true and the format's replies to a request are the request's own
    /// bytes (the length-prefix format), Keel may skip `messageReceived` and
    /// write complete requests back straight from its read buffer, without
    /// copying them (it does so for every read that holds only whole requests
    /// and finds nothing buffered); other messages still reach
    /// `messageReceived`, which must then do exactly `connection.send(message)`.
    /// Default false; `connectionOpened` and `connectionClosed` are called either way.
    static var echoesEveryMessage: Bool { get }

    /// How often the loop calls `tick()` on its thread, in milliseconds, or
    /// nil (the default) never to: for periodic work that must stay on the
    /// loop (expiring keys, heartbeats), also while no traffic arrives. The
    /// loop's deadline timer wakes it, so a handler with no tick costs nothing.
    static var tickIntervalMs: Int? { get }

    /// Periodic work on the loop's thread (see `tickIntervalMs`). Keep each
    /// call short and bounded: the loop serves nothing while it runs.
    mutating func tick()

    /// `tick()` with a reach to every connection (to write to or close
    /// them: a client's wait that timed out). Implement one or the other;
    /// by default this calls `tick()`.
    mutating func tick(_ connections: Connections)
}

extension ConnectionHandler {
    /// Does nothing by default.
    @inlinable
    public mutating func connectionOpened(_ connection: Connection) {}

    /// Does nothing by default.
    @inlinable
    public mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {}

    /// False by default: every message goes to `messageReceived`.
    @inlinable
    public static var echoesEveryMessage: Bool { false }

    /// Nil by default: no ticks.
    @inlinable
    public static var tickIntervalMs: Int? { nil }

    /// Does nothing by default.
    @inlinable
    public mutating func tick() {}

    /// Calls `tick()` by default.
    @inlinable
    public mutating func tick(_ connections: Connections) { tick() }
}
