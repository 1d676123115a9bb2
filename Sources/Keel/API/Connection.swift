// Connection: the view of one connection that a handler gets during a
// callback, to reply or close. Sending copies the bytes into Keel's output
// path at once, so the caller's buffer may be reused right after.

/// The result of sending a message.
public enum SendResult: Sendable, Equatable {
    /// The message is queued (and usually already written).
    case queued
    /// The connection has closed (or is closing); nothing was queued.
    case connectionGone
    /// The payload is longer than the frame format can announce.
    case tooLarge
    /// Queuing it would exceed the pending-output cap, or the memory for it
    /// could not be had: the connection is being closed (its pending output
    /// dropped).
    case overflow
    /// The target loop's mailbox is full (sends to other threads only).
    case queueFull
}

/// One connection, as seen from a handler callback. Valid only during the
/// callback that received it: keep `id` to refer to the connection later.
public struct Connection {
    // Unmanaged: no reference counting per message (calls go through
    // _withUnsafeGuaranteedRef); the loop's outputs outlive every callback, and a
    // Connection must not outlive its callback.
    @usableFromInline let outputsReference: Unmanaged<ConnectionOutputs>
    /// Slot and generation, as one value: the output path admits a reply to
    /// the connection being served with one compare.
    @usableFromInline let token: EventToken

    @inlinable @inline(__always)
    init(outputs: ConnectionOutputs, token: EventToken) {
        outputsReference = Unmanaged.passUnretained(outputs)
        self.token = token
    }

    @inlinable var slot: UInt32 { token.slot }
    @inlinable var generation: UInt32 { token.generation }

    /// The loop's outputs, borrowed for the duration of `body` without a retain.
    @inlinable @inline(__always)
    func withOutputs<R>(_ body: (ConnectionOutputs) -> R) -> R {
        outputsReference._withUnsafeGuaranteedRef(body)
    }

    /// The connection's stable ID.
    public var id: ConnectionID {
        withOutputs { ConnectionID(loop: $0.loopIndex, slot: slot, generation: generation) }
    }

    /// Sends `payload` as one message, framed by the server's format: a
    /// length field (length-prefix format), a line feed after it (lines), or
    /// as a bulk string (RESP).
    @discardableResult
    @inlinable @inline(__always)
    public func send(_ payload: UnsafeRawBufferPointer) -> SendResult {
        withOutputs { $0.send(payload, token: token) }
    }

    /// Sends the bytes of `payload` as one message.
    @discardableResult
    @inlinable @inline(__always)
    public func send(_ payload: [UInt8]) -> SendResult {
        payload.withUnsafeBytes { send($0) }
    }

    /// Writes `bytes` as they are, with no framing: for handlers of formats
    /// that frame their own replies (RESPReplies writes through this).
    @discardableResult
    @inlinable
    public func write(_ bytes: UnsafeRawBufferPointer) -> SendResult {
        withOutputs { $0.write(bytes, token: token) }
    }

    /// Writes the bytes of `bytes` as they are, with no framing.
    @discardableResult
    @inlinable
    public func write(_ bytes: [UInt8]) -> SendResult {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Counts one message out (for writers that frame their own replies).
    @inlinable
    func countReply() {
        withOutputs { $0.messagesOut &+= 1 }
    }

    /// Sends `payload` to another connection, on this loop or any other.
    /// On this loop the message is queued at once (and a stale `id` is
    /// refused with `.connectionGone`); for another loop it is copied into
    /// that loop's mailbox, and a stale `id` is refused there.
    @discardableResult
    public func send(_ payload: UnsafeRawBufferPointer, to id: ConnectionID) -> SendResult {
        connections.send(payload, to: id)
    }

    /// The address of the socket's peer: the client, or the load balancer
    /// in front of Keel. One getpeername(2) per call.
    public var peerAddress: SocketAddress? {
        withOutputs { SocketAddress.peer(of: $0.slab[slot].fd) }
    }

    /// The address of the socket's own end: the server address and port
    /// the client reached (the listener's, or with a wildcard listener the
    /// one the client connected to). One getsockname(2) per call.
    public var localAddress: SocketAddress? {
        withOutputs { try? SocketAddress.local(of: $0.slab[slot].fd) }
    }

    /// The client's address: the source a PROXY protocol header named, or
    /// else the socket's peer.
    public var clientAddress: SocketAddress? {
        proxyHeader?.source ?? peerAddress
    }

    /// The PROXY protocol header the connection began with, when
    /// `Configuration.proxyProtocol` is on.
    public var proxyHeader: ProxyHeader? {
        withOutputs { $0.proxyHeader(of: slot) }
    }

    /// What the connection's TLS session negotiated (version, cipher, ALPN
    /// protocol, the client certificate's verified subject); nil for a
    /// plaintext connection.
    public var tls: TLSConnectionDetails? {
        withOutputs { $0.tlsDetails(of: slot) }
    }

    /// Restricts what the connection's requests may be (or lifts it): the
    /// format's decoder applies its tighter limits to a restricted
    /// connection (RESP: redis-server's for a client not yet authenticated,
    /// 10 arguments, bulks of 16 KiB), so a client that has not proved who
    /// it is cannot make the server buffer much. Restrict in
    /// `connectionOpened`, lift once the client has authenticated.
    public func restrictRequests(_ restricted: Bool) {
        withOutputs { outputs in
            if restricted {
                outputs.restrictedSlots[slot] = generation
            } else {
                outputs.restrictedSlots[slot] = nil
            }
        }
    }

    /// Closes the connection once the output already sent has been written
    /// (bounded by the write timeout). Messages already read but not yet
    /// delivered are dropped.
    @inlinable
    public func close() {
        withOutputs { $0.requestClose(slot: slot, generation: generation, reason: .closedByHandler) }
    }
}
