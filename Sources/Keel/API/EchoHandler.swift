// EchoHandler: Keel's default service, and the smallest useful handler.

/// Answers every message with an identical message.
public struct EchoHandler: ConnectionHandler, Sendable {
    /// An echo handler.
    public init() {}

    /// Sends `payload` back unchanged.
    @inline(__always)
    public mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(payload)
    }
}
