// The PROXY protocol on accepted connections: until a connection's header
// has been read, its bytes go to ProxyHeaderParser instead of the framer.
// A header split across reads waits in the connection's input ring (at most
// one header's worth: the parser refuses anything longer). Once the header
// is complete the handler is told of the connection, with the client's real
// address, and the bytes after the header are framed as usual.

extension EventLoop {
    /// Feeds `bytes` to the header parser, then serves what follows a
    /// complete header; returns a reason when the connection must close.
    @usableFromInline
    func serveProxyHeader(_ bytes: UnsafeRawBufferPointer, from slot: UInt32) -> CloseReason? {
        let mode = configuration.proxyProtocol
        let buffered = slab[slot].input.count
        let result: ProxyHeaderParse
        if buffered == 0 {
            result = ProxyHeaderParser.parse(bytes, mode: mode)
        } else {
            guard slab[slot].input.append(bytes, pool: pool) else { return outOfMemory(slot) }
            result = slab[slot].input.withContiguousBytes { ProxyHeaderParser.parse($0, mode: mode) }
        }
        switch result {
        case .incomplete:
            if buffered == 0 && !slab[slot].input.append(bytes, pool: pool) { return outOfMemory(slot) }
            return nil
        case .invalid(let why):
            proxyHeaderLog.record(nowMs: nowMs) { suppressed in
                var metadata = connectionMetadata(slot, fd: slab[slot].fd)
                metadata["error"] = "\(why)"
                metadata["suppressed"] = "\(suppressed)"
                logger.warning("closing connection: bad PROXY protocol header", metadata: metadata)
            }
            return .badProxyHeader
        case .header(let header, let length):
            // Everything read before this call was header (it was incomplete
            // then), so what follows the header lies within `bytes`.
            assert(length > buffered)
            slab[slot].input.removeAll(pool: pool)
            outputs.remember(header, for: slot)
            slab[slot].lifecycle.headerRead()
            let generation = slab[slot].generation
            let rest = UnsafeRawBufferPointer(rebasing: bytes[(length - buffered)...])
            // TLS passed through the balancer: the handshake follows the header.
            if Transport.encrypts, let tls, tls.states[Int(slot)].awaitingHello {
                return beginHandshakeAfterProxyHeader(slot, rest: rest)
            }
            opened(slot)
            // The handler may have closed the connection from connectionOpened.
            guard !rest.isEmpty, slab.isCurrent(slot: slot, generation: generation),
                !slab[slot].lifecycle.phase.stopsInput
            else { return nil }
            return serve(rest, from: slot)
        }
    }
}
