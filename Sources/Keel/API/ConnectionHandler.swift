// ConnectionHandler: what an application implements to serve connections.
// Each loop owns one handler value and calls it on the loop's thread only,
// so a handler needs no locks. The loop is generic over the handler type:
// calls are direct, with no existential or allocation per message.

/// Callbacks for the connections of one event loop.
public protocol ConnectionHandler {
    /// A connection was accepted. `connection` is valid for this call only;
    /// keep `connection.id` to refer to it later.
    mutating func connectionOpened(_ connection: Connection)

    /// A complete message arrived. `payload` is borrowed: it points into
    /// Keel's buffers and is valid only until this call returns (copy what
    /// you keep). Replies sent through `connection` go out in order.
    mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection)

    /// The connection closed; its ID is no longer valid.
    mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason)
}

extension ConnectionHandler {
    /// Does nothing by default.
    public mutating func connectionOpened(_ connection: Connection) {}

    /// Does nothing by default.
    public mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {}
}
