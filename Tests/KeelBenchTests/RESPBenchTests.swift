// keel-bench over RESP and lines: clean runs against a real RESP store
// (keel-kv's handler) and a line echo, and every kind of wrong reply caught:
// a corrupt value, a lost write, a reply of the wrong type, error replies,
// bytes that are no reply. An open-loop run shows a server's stall in its
// percentiles. Where redis-server is installed, a run against it is clean.

import Foundation
import Glibc
import KeelBenchCore
import KeelKV
import Testing

@testable import Keel

/// keel-kv's handler, with one kind of fault injected every `every` requests.
struct FaultyKV: ConnectionHandler {
    enum Fault: Sendable {
        case none, corruptValue, loseValue, integerForOK, stallOnce
    }

    let fault: Fault
    let every: Int
    var kv: KVHandler
    var count = 0

    mutating func messageReceived(_ command: RESPCommand, on connection: Connection) {
        count += 1
        let due = count % every == 0
        switch fault {
        case .corruptValue where due && command.argument(0, equalsIgnoringCase: "GET"):
            connection.resp.bulkString(Array("not what was written".utf8))
        case .loseValue where due && command.argument(0, equalsIgnoringCase: "GET"):
            connection.resp.null()
        case .integerForOK where due && command.argument(0, equalsIgnoringCase: "SET"):
            connection.resp.integer(1)
        case .stallOnce where count == every:
            usleep(200_000)
            kv.messageReceived(command, on: connection)
        default:
            kv.messageReceived(command, on: connection)
        }
    }

    mutating func connectionOpened(_ connection: Connection) {
        kv.connectionOpened(connection)
    }

    mutating func connectionClosed(_ id: ConnectionID, reason: CloseReason) {
        kv.connectionClosed(id, reason: reason)
    }
}

/// Answers every request with bytes that are no RESP reply.
struct GarbageReplier: ConnectionHandler {
    func messageReceived(_ command: RESPCommand, on connection: Connection) {
        _ = connection.write(Array("!garbage\r\n".utf8))
    }
}

func runRESPBench(
    fault: FaultyKV.Fault = .none, every: Int = 1_000, _ adjust: (inout BenchOptions) -> Void
) throws -> BenchResult {
    let store = KVStore(loops: 1)
    let server = Server(configuration: testConfigurationForBench(), format: RESPFormat()) { _ in
        FaultyKV(fault: fault, every: every, kv: KVHandler(store: store))
    }
    return try runBench(against: server) {
        $0.wireProtocol = .resp
        $0.connections = 4
        $0.pipeline = 8
        $0.durationSeconds = 0.4
        $0.warmupSeconds = 0.1
        $0.keyspace = 1_000
        adjust(&$0)
    }
}

@Suite(.serialized) struct RESPBenchTests {
    @Test(arguments: ["ping", "set", "get", "INCR counter:__rand__", "LPUSH list __data__", "ECHO __data__"])
    func namedCommandsAndTemplatesRunClean(command: String) throws {
        let result = try runRESPBench { $0.command = try! RESPWorkloadSpec(command: command) }
        #expect(result.messages > 0)
        #expect(result.isClean, "\(result.text)")
        #expect(result.firstProblem == nil)
    }

    @Test func aMixReadsBackEveryValueItWroteOpenLoopToo() throws {
        for rate in [nil, 4_000.0] {
            let result = try runRESPBench {
                $0.command = try! RESPWorkloadSpec(mix: "set:1,get:3,ping:1")
                $0.sizes = SizeRange("1-300")!
                $0.rate = rate
                $0.pipeline = rate == nil ? 8 : 1
            }
            #expect(result.messages > 0)
            #expect(result.isClean, "\(result.text)")
            #expect(result.payloadBytes > 0, "values moved")
        }
    }

    @Test(arguments: [
        (FaultyKV.Fault.corruptValue, "get", "not the"),
        (.loseValue, "get", "null bulk string, but the preload wrote that key"),
        (.integerForOK, "set", "got the wrong type of reply: integer 1"),
    ])
    func aWrongReplyEndsTheRunAndIsNamed(fault: FaultyKV.Fault, command: String, named: String) throws {
        let result = try runRESPBench(fault: fault, every: 500) {
            $0.command = try! RESPWorkloadSpec(command: command)
            $0.durationSeconds = 2
        }
        #expect(result.mismatches == 1, "the run stops at the first: \(result.text)")
        #expect(!result.isClean)
        #expect(result.firstProblem?.contains(named) == true, "\(result.firstProblem ?? "none")")
        #expect(result.text.contains("first problem: "))
        #expect(result.json.contains("\"first_problem\": \""))
    }

    @Test func withErrorsAllowedWrongRepliesAreCountedAndTheRunGoesOn() throws {
        let result = try runRESPBench(fault: .corruptValue, every: 100) {
            $0.command = try! RESPWorkloadSpec(command: "get")
            $0.allowErrors = true
        }
        #expect(result.mismatches > 1, "\(result.text)")
        #expect(result.messages > result.mismatches)
        #expect(result.isClean, "allowed")
    }

    @Test func errorRepliesFailTheRunUnlessAllowed() throws {
        let failing = try runRESPBench { $0.command = try! RESPWorkloadSpec(command: "NOSUCHCOMMAND x") }
        #expect(failing.errorReplies == 1)
        #expect(failing.unanswered == 0, "abandoned requests are not blamed on the server")
        #expect(!failing.isClean)
        #expect(failing.firstProblem?.contains("answered error \"ERR unknown command") == true)
        let allowed = try runRESPBench {
            $0.command = try! RESPWorkloadSpec(command: "NOSUCHCOMMAND x")
            $0.allowErrors = true
        }
        #expect(allowed.errorReplies > 1)
        #expect(allowed.isClean)
    }

    @Test func bytesThatAreNoReplyAreCaught() throws {
        let server = Server(configuration: testConfigurationForBench(), format: RESPFormat()) { _ in GarbageReplier() }
        let result = try runBench(against: server) {
            $0.wireProtocol = .resp
            $0.connections = 1
            $0.durationSeconds = 0.3
            $0.warmupSeconds = 0
        }
        #expect(result.mismatches == 1)
        #expect(
            result.firstProblem?.contains("not a reply: unknown reply type '!'") == true,
            "\(result.firstProblem ?? "none")")
        #expect(!result.isClean)
    }

    @Test func anOpenLoopShowsAServerStallInItsPercentiles() throws {
        // 2,000 requests a second for a second; the server sleeps 200 ms once,
        // early on. A fifth of the requests were due during the stall.
        let result = try runRESPBench(fault: .stallOnce, every: 400) {
            $0.connections = 2
            $0.pipeline = 1
            $0.rate = 2_000
            $0.warmupSeconds = 0
            $0.durationSeconds = 1
        }
        #expect(result.isClean, "\(result.text)")
        #expect(result.maxLatencyMicroseconds >= 150_000, "\(result.text)")
        #expect(result.latencyMicroseconds(99) >= 100_000, "the stall is in p99: \(result.text)")
    }

    @Test func lineEchoIsVerified() throws {
        var configuration = testConfigurationForBench()
        configuration.messageProtocol = .line
        let result = try runBench(against: Server(configuration: configuration)) {
            $0.wireProtocol = .line
            $0.connections = 4
            $0.pipeline = 4
            $0.sizes = SizeRange("0-500")!
            $0.durationSeconds = 0.3
            $0.warmupSeconds = 0
        }
        #expect(result.messages > 0)
        #expect(result.isClean, "\(result.text)")
    }

    @Test func aRedisServerWhereInstalled() throws {
        let candidates: [String] = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        guard let redisServer = candidates.first(where: { access($0, X_OK) == 0 }) else {
            print("SKIPPED: redis-server is not installed (Tests/clients/run.sh installs it and runs keel-bench on it)")
            return
        }
        let port = try freeTCPPort()
        // Foundation's Process starts the child with no signals blocked (this
        // process blocks some on its loop threads; a child inheriting that
        // mask would ignore SIGTERM).
        let redis = Process()
        redis.executableURL = URL(fileURLWithPath: redisServer)
        redis.arguments = ["--port", "\(port)", "--save", "", "--appendonly", "no", "--loglevel", "warning"]
        redis.standardOutput = FileHandle.nullDevice
        try redis.run()
        defer {
            kill(redis.processIdentifier, SIGKILL)
            redis.waitUntilExit()
        }
        var options = BenchOptions()
        options.port = port
        options.wireProtocol = .resp
        options.command = try RESPWorkloadSpec(mix: "set:1,get:4")
        options.connections = 4
        options.pipeline = 8
        options.keyspace = 1_000
        options.durationSeconds = 0.5
        options.warmupSeconds = 0.1
        options.progress = false
        var result: BenchResult?
        for _ in 0..<50 where result == nil {  // until redis-server listens (5 s at most)
            result = try? LoadGenerator(options: options) { _ in }.run()
            if result == nil { usleep(100_000) }
        }
        #expect(result?.messages ?? 0 > 0)
        #expect(result?.isClean == true, "\(result?.text ?? "no run")")
    }
}

/// A port nothing listens on now (bound, then released).
func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    let address = SocketAddress(host: "127.0.0.1", port: 0)!
    _ = address.withSockAddr { bind(fd, UnsafeRawPointer($0).assumingMemoryBound(to: sockaddr.self), $1) }
    return try SocketAddress.local(of: fd).port
}
