// TLSFuzzCheck: the property the TLS fuzz target (fuzz/TLSFuzz.swift) checks
// on every input, and TLSFuzzCorpusTests replays. An input is a script for
// scripted TLS peers (OpenSSL clients over memory BIOs, TLSClientSession)
// against one echo loop on TLSTransport, driven an iteration at a time
// (SimulatedLoop: socketpairs, a clock only the script moves, the loop's
// invariants checked every iteration). The script decides how ciphertext
// travels and what goes wrong: records split at any byte, flipped bits,
// raw garbage, close_notify, half-closes, resets, key updates,
// renegotiation, resumption, clients without the certificate or protocol the
// server asks for, PROXY headers before the hello, time passing beyond the
// handshake timeout, and peers that stop reading for a while (backpressure
// through TLS: the server stops reading them, and must serve them whole
// once they read again).
//
// What must hold:
// - nothing the loop checks fails (its invariants, and that a closed
//   connection leaves no TLS state behind);
// - a peer's decrypted echo is always a prefix of what it sent, and a
//   well-behaved peer (no faults, nothing the server refuses) is never cut
//   off, never sees a TLS error, and at the end gets its whole echo;
// - afterwards a new, well-behaved peer is served;
// - once every peer has gone, every connection closes, the loop shuts
//   down, and (when asked) the process holds as many descriptors as before.
//
// Input: the first byte picks the server (client authentication, minimum
// version, ALPN, PROXY header, a small output cap); then each operation
// is a byte (low nibble: what; high bits: which of four peers) and its
// operand bytes. See `Operation`.

import COpenSSL
import CShims
import Glibc
import Synchronization

@testable import Keel

enum TLSFuzzCheck {
    /// The server side an input picks with its first byte.
    struct Server: Hashable {
        var authentication: TLSConfiguration.ClientAuthentication
        var tls13Only: Bool
        var alpn: Bool
        var proxy: Bool
        var smallOutputCap: Bool

        init(_ byte: UInt8) {
            authentication = [.none, .optional, .required, .none][Int(byte & 3)]
            tls13Only = byte & 4 != 0
            alpn = byte & 8 != 0
            proxy = byte & 16 != 0
            smallOutputCap = byte & 32 != 0
        }

        /// The TLS context's part of the choice (contexts are cached by it).
        var contextKey: Int {
            let authenticationIndex = TLSConfiguration.ClientAuthentication.allCases.firstIndex(of: authentication)!
            return authenticationIndex | (tls13Only ? 4 : 0) | (alpn ? 8 : 0)
        }
    }

    enum Operation: UInt8, CaseIterable {
        /// Operand: options (see `Peer.Options`). Replaces the peer in its place.
        case connect
        /// Operand n: OpenSSL's output so far, then n×16 bytes of it (all when 255) to the socket.
        case deliver
        /// One byte of pending ciphertext to the socket.
        case deliverByte
        /// Operands p, x: pending ciphertext byte p (mod its length) xor x (x ≠ 0).
        case corrupt
        /// Operand n, then n bytes: raw bytes to the socket.
        case raw
        /// Operand n: one frame of 1 + n×9 bytes written through TLS.
        case write
        /// Operand: none. A frame of 20,000 bytes (two records and more).
        case writeLarge
        /// What the server sent, decrypted and checked.
        case read
        /// close_notify.
        case closeNotify
        /// shutdown(SHUT_WR): the server reads EOF.
        case halfClose
        /// The peer's socket closed at once.
        case vanish
        /// Operand n: the clock moves n×16 ms, one iteration.
        case wait
        /// A TLS 1.3 key update the server must answer.
        case keyUpdate
        /// A TLS 1.2 renegotiation, which the server refuses.
        case renegotiate
        /// The peer stops reading what the server sends, or starts again.
        case stall
    }

    static let peerPlaces = 4
    static let operationLimit = 256
    static let handshakeTimeoutMs = 1_000

    /// The certificates, made once per process; nil without openssl.
    static var files: TLSTestFiles? { TLSTestFiles.shared }

    private static let contexts = Mutex<[Int: TLSContext]>([:])

    /// What one script did: why it broke the property (nil when it held),
    /// and what the loop counted.
    struct Outcome {
        var failure: String?
        var handshakes: Int
        var handshakeFailures: TLSHandshakeFailureCounts
        var bytesEchoed: Int

        init(
            failure: String? = nil, handshakes: Int = 0, handshakeFailures: TLSHandshakeFailureCounts = .init(),
            bytesEchoed: Int = 0
        ) {
            self.failure = failure
            self.handshakes = handshakes
            self.handshakeFailures = handshakeFailures
            self.bytesEchoed = bytesEchoed
        }
    }

    /// Why `input` breaks the property, or nil when it holds (or when no
    /// certificates can be made: nothing to check).
    static func run(_ input: [UInt8], countDescriptors: Bool = false) -> String? {
        outcome(input, countDescriptors: countDescriptors).failure
    }

    static func outcome(_ input: [UInt8], countDescriptors: Bool = false) -> Outcome {
        guard let files, let first = input.first else { return Outcome() }
        let descriptorsBefore = countDescriptors ? openDescriptors() : 0
        var outcome: Outcome
        do {
            outcome = try Script(input.dropFirst(), server: Server(first), files: files).run()
        } catch {
            return Outcome(failure: "setting up: \(error)")
        }
        if outcome.failure == nil && countDescriptors {
            let after = openDescriptors()
            if after != descriptorsBefore {
                outcome.failure = "descriptors: \(descriptorsBefore) before, \(after) after"
            }
        }
        return outcome
    }

    static func configuration(_ server: Server, files: TLSTestFiles) -> Configuration {
        var configuration = Configuration()
        configuration.tls = files.serverConfiguration { tls in
            tls.clientAuthentication = server.authentication
            tls.minimumVersion = server.tls13Only ? .tls13 : .tls12
            tls.alpnProtocols = server.alpn ? ["keel"] : []
            tls.handshakeTimeoutMs = handshakeTimeoutMs
        }
        configuration.proxyProtocol = server.proxy ? .v1 : .off
        // Only the handshake's timeout and memory release run on the
        // script's clock: a well-behaved peer is never timed out.
        configuration.idleTimeoutMs = nil
        configuration.writeTimeoutMs = Configuration.longestDurationMs
        configuration.lingerTimeoutMs = 500
        configuration.shutdownTimeoutMs = 500
        configuration.releaseMemoryAfterQuietMs = 100
        if server.smallOutputCap { configuration.maxPendingOutputBytes = 96 << 10 }
        return configuration
    }

    static func context(_ server: Server, _ configuration: Configuration) throws -> TLSContext {
        if let made = contexts.withLock({ $0[server.contextKey] }) { return made }
        let made = try TLSContext(configuration.tls!)
        contexts.withLock { $0[server.contextKey] = made }
        return made
    }

    static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return count
    }
}

/// One run of a script.
private final class Script {
    typealias Loop = SimulatedLoop<LengthPrefixFormat, EchoHandler, TLSTransport>

    let server: TLSFuzzCheck.Server
    let files: TLSTestFiles
    let loop: Loop
    var bytes: ArraySlice<UInt8>
    var peers: [Peer?] = Array(repeating: nil, count: TLSFuzzCheck.peerPlaces)
    /// A session the first peer served kept, for others to resume.
    var resumable: OpaquePointer?
    var failure: String?
    /// Plaintext echoed to every peer, over the script.
    var bytesEchoed = 0

    init(_ bytes: ArraySlice<UInt8>, server: TLSFuzzCheck.Server, files: TLSTestFiles) throws {
        self.bytes = bytes
        self.server = server
        self.files = files
        let configuration = TLSFuzzCheck.configuration(server, files: files)
        let context = try TLSFuzzCheck.context(server, configuration)
        loop = try Loop(
            configuration, format: configuration.lengthPrefixFormat, handler: EchoHandler(), tlsContext: context)
    }

    deinit {
        if let resumable { SSL_SESSION_free(resumable) }
    }

    func next() -> UInt8? { bytes.popFirst() }

    func run() -> TLSFuzzCheck.Outcome {
        var operations = 0
        while failure == nil, operations < TLSFuzzCheck.operationLimit, let code = next() {
            operations += 1
            perform(code)
            loop.step()
            for place in peers.indices { if let peer = peers[place], !peer.stalled { receive(peer, place) } }
            keepResumableSession()
        }
        if failure == nil { finishPeers() }
        if failure == nil { serveNewcomer() }
        for place in peers.indices { peers[place] = nil }
        if failure == nil { closeEverything() }
        let statistics = loop.statistics
        if !loop.shutDown() && failure == nil { failure = "the loop did not shut down" }
        return TLSFuzzCheck.Outcome(
            failure: failure, handshakes: statistics.tlsHandshakes,
            handshakeFailures: statistics.tlsHandshakeFailures, bytesEchoed: bytesEchoed)
    }

    /// The first session a well-behaved peer was served on, for later
    /// peers to resume (tickets arrive after the handshake: taken once
    /// the echo has come back).
    func keepResumableSession() {
        guard resumable == nil, let peer = peers.first(where: { $0?.servedOnce == true && $0?.mayBeRefused == false })
        else { return }
        resumable = SSL_get1_session(peer!.tls.ssl)
    }

    var nowMs: Int64 { loop.backend.clockNs / 1_000_000 }

    /// What the server sent `peer` (in `place`), checked.
    func receive(_ peer: Peer, _ place: Int) {
        let before = peer.echoed.count
        check(peer.receive(), place)
        bytesEchoed += peer.echoed.count - before
    }

    func check(_ problem: String?, _ place: Int) {
        if let problem, failure == nil { failure = "peer \(place): \(problem)" }
    }

    func perform(_ code: UInt8) {
        let cases = TLSFuzzCheck.Operation.allCases
        let operation = cases[Int(code & 15) % cases.count]
        let place = Int(code >> 4) % TLSFuzzCheck.peerPlaces
        if operation == .connect {
            connect(place, options: Peer.Options(next() ?? 0))
            return
        }
        if operation == .wait {
            loop.step(advancingMs: Int64(next() ?? 0) * 16)
            // A handshake the server cannot have finished (the client's
            // last flight not yet sent) may now be past its timeout.
            for peer in peers.compactMap({ $0 })
            where !peer.handshakeSent && nowMs - peer.connectedAtMs >= TLSFuzzCheck.handshakeTimeoutMs {
                peer.mayBeRefused = true
            }
            return
        }
        guard let peer = peers[place] else { return }
        switch operation {
        case .connect, .wait: break
        case .stall:
            peer.stalled.toggle()
        case .deliver:
            let count = Int(next() ?? 255)
            peer.produce()
            peer.deliver(count == 255 ? Int.max : count * 16)
        case .deliverByte:
            peer.produce()
            peer.deliver(1)
        case .corrupt:
            let position = Int(next() ?? 0)
            let mask = next() ?? 1
            peer.produce()
            guard !peer.outbox.isEmpty, mask != 0 else { return }
            peer.outbox[position % peer.outbox.count] ^= mask
            peer.mayBeRefused = true
        case .raw:
            let count = Int(next() ?? 0) % 64
            var garbage: [UInt8] = []
            for _ in 0..<count { garbage.append(next() ?? 0) }
            guard !garbage.isEmpty else { return }
            peer.mayBeRefused = true
            peer.outbox += garbage
            peer.deliver(Int.max)
        case .write:
            peer.write(payloadBytes: 1 + Int(next() ?? 0) * 9)
        case .writeLarge:
            peer.write(payloadBytes: 20_000)
        case .read:
            receive(peer, place)
        case .closeNotify:
            peer.finishedSending = true
            if SSL_shutdown(peer.tls.ssl) < 0 { ERR_clear_error() }
            peer.produce()
        case .halfClose:
            peer.produce()
            peer.deliver(Int.max)
            peer.finishedSending = true
            peer.socket.finishSending()
        case .vanish:
            peers[place] = nil
        case .keyUpdate:
            guard peer.handshakeDone, SSL_version(peer.tls.ssl) == TLS1_3_VERSION else { return }
            if SSL_key_update(peer.tls.ssl, SSL_KEY_UPDATE_REQUESTED) != 1 { ERR_clear_error() }
            // The update goes out with the next write.
            peer.write(payloadBytes: 3)
        case .renegotiate:
            guard peer.handshakeDone, SSL_version(peer.tls.ssl) == TLS1_2_VERSION else { return }
            peer.mayBeRefused = true
            if SSL_renegotiate(peer.tls.ssl) != 1 { ERR_clear_error() }
            _ = SSL_do_handshake(peer.tls.ssl)
            ERR_clear_error()
            peer.produce()
        }
    }

    func connect(_ place: Int, options: Peer.Options) {
        peers[place] = nil
        do {
            let socket = try loop.connect(serverSendBufferBytes: options.smallSendBuffer ? 4_096 : nil)
            let peer = Peer(socket: socket, session: options.session(files, resuming: resumable))
            peer.connectedAtMs = nowMs
            peer.mayBeRefused = refuses(options)
            if server.proxy && !options.omitProxyHeader {
                peer.outbox = Array("PROXY TCP4 127.0.0.1 127.0.0.1 40000 6379\r\n".utf8)
            }
            peers[place] = peer
        } catch {
            failure = "connect: \(error)"
        }
    }

    /// Whether the server may fairly refuse a peer with these options.
    func refuses(_ options: Peer.Options) -> Bool {
        if server.proxy && options.omitProxyHeader { return true }
        if server.tls13Only && options.tls12Only { return true }
        if server.alpn && !options.offersALPN { return true }
        switch server.authentication {
        case .none: return false
        case .optional: return options.certificate == .stranger
        case .required: return options.certificate != .trusted
        }
    }

    /// Every well-behaved peer still connected sends the rest and must get
    /// its whole echo.
    func finishPeers() {
        for (place, peer) in peers.enumerated() {
            guard let peer, failure == nil, !peer.mayBeRefused, !peer.finishedSending, !peer.ended else { continue }
            var rounds = 0
            while failure == nil && rounds < 5_000 && (peer.echoed.count < peer.sent.count || !peer.outbox.isEmpty) {
                rounds += 1
                peer.produce()
                peer.deliver(Int.max)
                loop.step()
                receive(peer, place)
            }
            if failure == nil && peer.echoed.count < peer.sent.count {
                failure = "peer \(place): echoed \(peer.echoed.count) of \(peer.sent.count) bytes"
            }
        }
    }

    /// A peer with everything the server asks for completes a handshake
    /// and gets its frame back.
    func serveNewcomer() {
        var options = Peer.Options(0)
        options.certificate = .trusted
        options.offersALPN = true
        connect(0, options: options)
        guard let peer = peers[0] else { return }
        for _ in 0..<1_000 where failure == nil && (peer.sent.isEmpty || peer.echoed.count < peer.sent.count) {
            if peer.handshakeDone && peer.sent.isEmpty { peer.write(payloadBytes: 5) }
            peer.produce()
            peer.deliver(Int.max)
            loop.step()
            receive(peer, 0)
        }
        if failure == nil && (peer.sent.isEmpty || peer.echoed != peer.sent) {
            failure = "a new, well-behaved peer was not served"
        }
    }

    /// The peers are gone: every connection closes.
    func closeEverything() {
        for _ in 0..<40 where loop.openConnections > 0 { loop.step(advancingMs: 100) }
        if loop.openConnections > 0 {
            failure = "\(loop.openConnections) connections still open after their peers left"
        }
    }
}

/// One scripted TLS client: what it has sent and what came back.
private final class Peer {
    /// A peer's choices, from one byte.
    struct Options {
        enum Certificate { case none, trusted, stranger }
        var tls12Only: Bool
        var certificate: Certificate
        var offersALPN: Bool
        var smallSendBuffer: Bool
        var resume: Bool
        var omitProxyHeader: Bool

        init(_ byte: UInt8) {
            tls12Only = byte & 1 != 0
            certificate = [.none, .trusted, .stranger, .none][Int(byte >> 1 & 3)]
            offersALPN = byte & 8 != 0
            smallSendBuffer = byte & 16 != 0
            resume = byte & 32 != 0
            omitProxyHeader = byte & 64 != 0
        }

        func session(_ files: TLSTestFiles, resuming saved: OpaquePointer?) -> TLSClientSession {
            var options = files.verifyingClient
            if tls12Only { options.maxVersion = TLS1_2_VERSION }
            switch certificate {
            case .none: break
            case .trusted: (options.certificate, options.key) = (files.clientCertificate, files.clientKey)
            case .stranger: (options.certificate, options.key) = (files.strangerCertificate, files.strangerKey)
            }
            if offersALPN { options.alpn = ["keel"] }
            if resume { options.session = saved }
            return TLSClientSession(options)
        }
    }

    let socket: SocketPeer
    let tls: TLSClientSession
    /// Ciphertext taken from OpenSSL and not yet sent.
    var outbox: [UInt8] = []
    /// Plaintext sent (frames), and what came back of it.
    var sent: [UInt8] = []
    var echoed: [UInt8] = []
    var handshakeDone = false
    /// Something was done that the server may fairly answer by closing.
    var mayBeRefused = false
    /// close_notify or a half-close was sent.
    var finishedSending = false
    /// The server ended the stream.
    var ended = false
    var servedOnce: Bool { !echoed.isEmpty }
    var connectedAtMs: Int64 = 0
    /// The client's whole handshake has gone to the socket (the server can
    /// have finished it).
    var handshakeSent = false
    /// Not reading what the server sends (until the check's end).
    var stalled = false

    init(socket: SocketPeer, session: TLSClientSession) {
        self.socket = socket
        tls = session
    }

    /// Moves the handshake on and takes what OpenSSL wrote.
    func produce() {
        if !handshakeDone { advanceHandshake() }
        outbox += tls.takeCiphertext(upTo: Int.max)
    }

    func advanceHandshake() {
        if SSL_do_handshake(tls.ssl) == 1 {
            handshakeDone = true
        } else {
            ERR_clear_error()
        }
    }

    /// Sends up to `count` bytes of the outbox (what the socket takes).
    func deliver(_ count: Int) {
        let wanted = min(count, outbox.count)
        guard wanted > 0, !ended else { return }
        let sent = outbox.withUnsafeBytes { Glibc.send(socket.fd, $0.baseAddress, wanted, Int32(MSG_NOSIGNAL)) }
        if sent > 0 { outbox.removeFirst(sent) }
        if handshakeDone && outbox.isEmpty { handshakeSent = true }
        // The server has gone: nothing more can be sent (the read that
        // follows finds out why).
        if sent < 0 && errno != EAGAIN && errno != EINTR { outbox.removeAll() }
    }

    /// One frame of `payloadBytes` bytes through TLS (after the handshake).
    func write(payloadBytes: Int) {
        produce()
        // (A script's echo stays small enough to check it in a blink.)
        guard handshakeDone, !finishedSending, !ended, sent.count < 256 << 10 else { return }
        var frame = withUnsafeBytes(of: UInt32(payloadBytes).littleEndian) { Array($0) }
        let seed = UInt8(truncatingIfNeeded: sent.count)
        for index in 0..<payloadBytes { frame.append(seed &+ UInt8(truncatingIfNeeded: index)) }
        var written = 0
        guard SSL_write_ex(tls.ssl, frame, frame.count, &written) == 1, written == frame.count else {
            ERR_clear_error()
            mayBeRefused = true  // the session had failed: nothing more is owed
            return
        }
        sent += frame
        produce()
    }

    /// Reads what the server sent and decrypts it; a problem when the
    /// echo is not what was sent, or a well-behaved peer is cut off.
    func receive() -> String? {
        guard !ended else { return nil }
        let (bytes, endedNow) = socket.receive()
        bytes.withUnsafeBytes { tls.absorb($0) }
        if !handshakeDone { advanceHandshake() }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while handshakeDone {
            var count = 0
            let result = SSL_read_ex(tls.ssl, &buffer, buffer.count, &count)
            if result == 1 {
                echoed += buffer[..<count]
                continue
            }
            let error = SSL_get_error(tls.ssl, result)
            ERR_clear_error()
            if error == SSL_ERROR_WANT_READ { break }
            ended = true
            if error != SSL_ERROR_ZERO_RETURN && !mayBeRefused { return "TLS error \(error) from the server's stream" }
            break
        }
        // Answers OpenSSL owes the server (a key update's) go out with
        // the next delivery.
        outbox += tls.takeCiphertext(upTo: Int.max)
        guard echoed.count <= sent.count, echoed[...] == sent[..<echoed.count] else {
            return "the echo is not what was sent (\(echoed.count) bytes back, \(sent.count) sent)"
        }
        if endedNow { ended = true }
        if ended && !mayBeRefused && !finishedSending { return "the server cut off a well-behaved peer" }
        return nil
    }
}
