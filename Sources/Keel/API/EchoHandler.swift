// EchoHandler: Keel's default service, and the smallest useful handler.

/// Answers every message with an identical message.
public struct EchoHandler: ConnectionHandler, Sendable {
    /// An echo handler.
    @inlinable
    public init() {}

    /// True: the loop writes received frames back without calling
    /// `messageReceived` where the format allows (the echo fast path).
    @inlinable
    public static var echoesEveryMessage: Bool { true }

    /// Sends `payload` back unchanged (used only where the fast path is not).
    @inlinable @inline(__always)
    public mutating func messageReceived(_ payload: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(payload)
    }
}
