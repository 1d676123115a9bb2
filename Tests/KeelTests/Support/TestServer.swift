// In-process servers for integration tests: port 0, invariants checked after
// every loop iteration, and on the way out a check that every connection,
// timeout node and buffer byte was released.

import Testing

@testable import Keel

/// A backend and trigger mode, and for the echo handler which path its
/// messages take; the integration suites run under each.
struct LoopMode: Sendable, CustomStringConvertible {
    let backend: BackendKind
    let edgeTriggered: Bool
    /// False: the echo handler's messages go through messageReceived rather
    /// than the loop's in-place echo.
    var echoInPlace = true

    static let epollLevel = LoopMode(backend: .epoll, edgeTriggered: false)
    static let epollEdge = LoopMode(backend: .epoll, edgeTriggered: true)
    static let poll = LoopMode(backend: .poll, edgeTriggered: false)
    static let epollLevelThroughHandler = LoopMode(backend: .epoll, edgeTriggered: false, echoInPlace: false)
    static let all = [epollLevel, epollEdge, poll, epollLevelThroughHandler]

    var description: String {
        "\(backend)-\(edgeTriggered ? "edge" : "level")" + (echoInPlace ? "" : "-through-handler")
    }
}

/// A configuration for tests: a free port, small limits, invariant checks on.
func testConfiguration(
    _ mode: LoopMode = .epollLevel, _ adjust: (inout Configuration) -> Void = { _ in }
) -> Configuration {
    var configuration = Configuration()
    configuration.backend = mode.backend
    configuration.edgeTriggered = mode.edgeTriggered
    configuration.echoInPlace = mode.echoInPlace
    configuration.port = 0
    configuration.maxClients = 512
    configuration.checkInvariantsEveryIteration = true
    adjust(&configuration)
    return configuration
}

/// Runs `body` against a started echo server, then checks the server is back
/// to empty once clients have gone, shuts it down and returns its totals.
@discardableResult
func withEchoServer(
    _ configuration: Configuration = testConfiguration(),
    _ body: (Server<EchoHandler>, Int) throws -> Void
) throws -> Statistics {
    try withServer(configuration, handler: EchoHandler(), body)
}

/// Like withEchoServer, with any handler.
@discardableResult
func withServer<H: ConnectionHandler & Sendable>(
    _ configuration: Configuration = testConfiguration(),
    handler: H,
    _ body: (Server<H>, Int) throws -> Void
) throws -> Statistics where H.Request == UnsafeRawBufferPointer {
    // Each loop starts from a copy of `handler`.
    try run(Server(configuration: configuration) { _ in handler }, body)
}

/// Like withServer, speaking `format`.
@discardableResult
func withServer<H: ConnectionHandler & Sendable, F: WireFormat>(
    _ configuration: Configuration = testConfiguration(),
    format: F,
    handler: H,
    _ body: (Server<H>, Int) throws -> Void
) throws -> Statistics where F.Decoder.Request == H.Request {
    try run(Server(configuration: configuration, format: format) { _ in handler }, body)
}

/// Like withServer, speaking `format`, each loop's handler made by
/// `makeHandler` (handlers that hold per-loop state in a class).
@discardableResult
func withServer<H: ConnectionHandler, F: WireFormat>(
    _ configuration: Configuration = testConfiguration(),
    format: F,
    makeHandler: @escaping @Sendable (UInt32) -> H,
    _ body: (Server<H>, Int) throws -> Void
) throws -> Statistics where F.Decoder.Request == H.Request {
    try run(Server(configuration: configuration, format: format, makeHandler: makeHandler), body)
}

/// Starts `server`, runs `body`, checks the server is back to empty, stops it.
private func run<H: ConnectionHandler>(_ server: Server<H>, _ body: (Server<H>, Int) throws -> Void) throws
    -> Statistics
{
    let address = try server.start()
    do {
        try body(server, address.port)
    } catch {
        server.shutdown()
        server.wait()
        throw error
    }
    expectDrained(server)
    server.shutdown()
    return server.wait()
}

/// Expects every connection closed and every slot, timeout node and ring byte released.
func expectDrained<H>(_ server: Server<H>, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(
        eventually { server.openConnections == 0 }, "connections still open: \(server.openConnections)",
        sourceLocation: sourceLocation)
    #expect(
        eventually { server.timeoutListMembers == 0 }, "timeout nodes still linked: \(server.timeoutListMembers)",
        sourceLocation: sourceLocation)
    #expect(
        eventually { server.bufferedBytes == 0 }, "ring bytes still held: \(server.bufferedBytes)",
        sourceLocation: sourceLocation)
}

/// The most buffer memory a client that sends without reading may hold, as
/// the README's limits table states it: reading stops once its output
/// passes the high watermark, so the output holds at most the watermark
/// plus the replies to the read that crossed it (and one more read's when
/// delivery resumes), and the input at most a partial message plus a read.
/// Rings grow in powers of two, so what they hold can be up to twice that.
func backpressureBound(_ configuration: Configuration, largestMessage: Int) -> Int {
    let output = configuration.outputHighWatermarkBytes + 2 * configuration.readBufferBytes
    let input = largestMessage + 8 + configuration.readBufferBytes
    return 2 * (output + input)
}
