// LoopBuilder: how a Server turns its parts into a running loop while keeping
// the loop specialised for the application's types.
//
// Server prepares everything that does not depend on the handler or format
// out of line (the backend, the deadline timer, the loop's share of the
// configuration: LoopParts). The closure that builds the EventLoop itself is
// made in Server's @inlinable initialisers, so it is compiled in the module
// that names the handler and format, where EventLoop<Backend, Decoder,
// Handler> and its @inlinable run() are specialised for them.

import Logging

/// Builds one loop from its parts (made by Server's inlinable initialisers).
@usableFromInline
struct LoopBuilder: Sendable {
    @usableFromInline let build: @Sendable (LoopParts) throws(ServerError) -> BuiltLoop

    @inlinable
    init(_ build: @escaping @Sendable (LoopParts) throws(ServerError) -> BuiltLoop) {
        self.build = build
    }
}

/// A loop ready to run on its thread, or to be discarded if a later loop
/// of the same server fails to start.
@usableFromInline
struct BuiltLoop {
    @usableFromInline let run: () -> Statistics
    @usableFromInline let discard: () -> Void

    @inlinable
    init(run: @escaping () -> Statistics, discard: @escaping () -> Void) {
        self.run = run
        self.discard = discard
    }
}

/// What one loop is built from, prepared by Server out of line.
@usableFromInline
struct LoopParts {
    /// The loop's backend, as a closed set of concrete types (so each one is
    /// specialised, never called through an existential).
    @usableFromInline
    enum Backend {
        case epoll(EpollBackend)
        case poll(PollBackend)
        #if DEBUG
            case faultyEpoll(FaultInjectingBackend<EpollBackend>)
            case faultyPoll(FaultInjectingBackend<PollBackend>)
        #endif

        @usableFromInline
        func close() {
            switch self {
            case .epoll(let backend): backend.close()
            case .poll(let backend): backend.close()
            #if DEBUG
                case .faultyEpoll(let backend): backend.close()
                case .faultyPoll(let backend): backend.close()
            #endif
            }
        }
    }

    @usableFromInline let configuration: Configuration
    @usableFromInline let listener: ListeningSocket
    /// The TLS port's listener, when TLS has a port of its own.
    @usableFromInline let tlsListener: ListeningSocket?
    @usableFromInline let tlsContext: TLSContext?
    @usableFromInline let backend: Backend
    @usableFromInline let deadlineTimer: DeadlineTimer
    @usableFromInline let control: LoopControl
    @usableFromInline let mailboxes: Mailboxes
    @usableFromInline let logger: Logger

    @usableFromInline
    init(
        configuration: Configuration, listener: ListeningSocket, tlsListener: ListeningSocket?,
        tlsContext: TLSContext?, backend: Backend, deadlineTimer: DeadlineTimer, control: LoopControl,
        mailboxes: Mailboxes, logger: Logger
    ) {
        self.configuration = configuration
        self.listener = listener
        self.tlsListener = tlsListener
        self.tlsContext = tlsContext
        self.backend = backend
        self.deadlineTimer = deadlineTimer
        self.control = control
        self.mailboxes = mailboxes
        self.logger = logger
    }

    /// The loop for `decoder` and `handler` on this backend.
    @inlinable
    func build<Decoder: MessageDecoder, Handler: ConnectionHandler>(
        decoder: Decoder, encoder: any MessageEncoder, handler: Handler
    ) throws(ServerError) -> BuiltLoop where Handler.Request == Decoder.Request {
        switch backend {
        case .epoll(let backend): return try build(backend, decoder, encoder, handler)
        case .poll(let backend): return try build(backend, decoder, encoder, handler)
        #if DEBUG
            case .faultyEpoll(let backend): return try build(backend, decoder, encoder, handler)
            case .faultyPoll(let backend): return try build(backend, decoder, encoder, handler)
        #endif
        }
    }

    @inlinable
    func build<B: EventBackend, Decoder: MessageDecoder, Handler: ConnectionHandler>(
        _ backend: B, _ decoder: Decoder, _ encoder: any MessageEncoder, _ handler: Handler
    ) throws(ServerError) -> BuiltLoop where Handler.Request == Decoder.Request {
        // Plaintext servers get a loop without TLS code (ConnectionTransport).
        if tlsContext == nil {
            return try build(backend, decoder, encoder, handler, PlaintextTransport.self)
        }
        return try build(backend, decoder, encoder, handler, TLSTransport.self)
    }

    @inlinable
    func build<B: EventBackend, Decoder: MessageDecoder, Handler: ConnectionHandler, T: ConnectionTransport>(
        _ backend: B, _ decoder: Decoder, _ encoder: any MessageEncoder, _ handler: Handler, _ transport: T.Type
    ) throws(ServerError) -> BuiltLoop where Handler.Request == Decoder.Request {
        do throws(Errno) {
            let loop = try EventLoop<B, Decoder, Handler, T>(
                index: control.index, configuration: configuration, listener: listener, tlsListener: tlsListener,
                tlsContext: tlsContext, backend: backend,
                deadlineTimer: deadlineTimer, control: control, mailboxes: mailboxes, decoder: decoder,
                encoder: encoder, handler: handler, logger: logger)
            return BuiltLoop(run: { loop.run() }, discard: { loop.discardUnstarted() })
        } catch {
            // The listener stays with Server, which closes it on failure.
            backend.close()
            deadlineTimer.close()
            throw .setup("registering the listener with \(B.name)", error)
        }
    }
}
