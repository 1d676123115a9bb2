// Hostile numbers: every numeric flag of the server executables and every
// numeric Configuration field, given values chosen to break conversions
// (NaN, infinities, zero, negatives, huge and tiny values), is either refused
// with a message naming it, or accepted as a value whose later arithmetic
// (seconds to milliseconds, deadlines on the loop's clock, buffer sums)
// cannot overflow.

import ArgumentParser
import KeelCommandLine
import Testing

@testable import Keel

enum TestDefaults: ServerFlagDefaults {
    static let port = 5882
}

/// An executable whose idle connections stay open by default (keel-kv's).
enum NeverIdleDefaults: ServerFlagDefaults {
    static let port = 6379
    static let idleTimeoutSeconds = 0.0
    static let maxMessageBytes = 512 << 20
    static let minimumMessageBytes = 1 << 20
}

@Suite struct SettingRangeTests {
    static let hostileNumbers = [
        "nan", "inf", "-inf", "1e309", "1e300", "-1e300", "0", "-0.0", "-1", "1e-300", "0.0004",
        "9223372036854700", "9223372036854775807", "-9223372036854775808", "4611686018427387904", "1099511627777",
    ]

    static let numericFlags = [
        "--port", "--threads", "--busy-poll", "--max-clients", "--max-message", "--idle-timeout",
        "--first-message-timeout", "--write-timeout", "--max-pending-output", "--shutdown-timeout", "--backlog",
        "--stats-interval",
    ]

    @Test(arguments: numericFlags)
    func hostileFlagValuesAreRefusedOrSafe(flag: String) {
        for value in Self.hostileNumbers {
            for frame in [FrameFormat.u8, .u32le, .u64le] {
                check([flag, value], frame: frame)
            }
        }
    }

    /// Each executable has its own defaults; `--idle-timeout 0` turns the
    /// idle timeout off, as redis-server's `timeout 0` does.
    /// An executable may ask for a least --max-message (keel-kv: redis-server's
    /// 1 MiB; at 0 it refused even PING); keel takes 0.
    @Test func anExecutableMayRefuseATooSmallMaxMessage() throws {
        for value in ["0", "10", "1048575"] {
            #expect {
                try ServerFlags<NeverIdleDefaults>.parse(["--max-message", value]).makeConfiguration()
            } throws: { error in
                ServerFlags<NeverIdleDefaults>.message(for: error).contains("--max-message must be in 1048576...")
            }
        }
        #expect(
            try ServerFlags<NeverIdleDefaults>.parse(["--max-message", "1048576"]).makeConfiguration().maxMessageBytes
                == 1 << 20)
        #expect(try ServerFlags<TestDefaults>.parse(["--max-message", "0"]).makeConfiguration().maxMessageBytes == 0)
    }

    @Test func idleTimeoutZeroIsOffAndDefaultsArePerExecutable() throws {
        let keel = try ServerFlags<TestDefaults>.parse([]).makeConfiguration()
        #expect(keel.idleTimeoutMs == 60_000 && keel.maxMessageBytes == 1 << 20)
        #expect(try ServerFlags<TestDefaults>.parse(["--idle-timeout", "0"]).makeConfiguration().idleTimeoutMs == nil)
        let kv = try ServerFlags<NeverIdleDefaults>.parse([]).makeConfiguration()
        #expect(kv.idleTimeoutMs == nil && kv.maxMessageBytes == 512 << 20 && kv.port == 6379)
        #expect(
            try ServerFlags<NeverIdleDefaults>.parse(["--idle-timeout", "2"]).makeConfiguration().idleTimeoutMs == 2_000
        )
    }

    @Test func hugeMessagesWithEightByteFramesAreRefusedOrSafe() {
        check(["--max-message", "9223372036854775807"], frame: .u64le)
        check(["--max-message", "1099511627776"], frame: .u64le)
        check(["--max-message", "4611686018427387904"], frame: .u64le)
    }

    private func check(_ arguments: [String], frame: FrameFormat, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let flags = try ServerFlags<TestDefaults>.parse(arguments)
            let configuration = try flags.makeConfiguration { $0.frame = frame }
            expectSafe(configuration, "\(arguments) \(frame)", sourceLocation: sourceLocation)
            if let interval = try flags.statisticsIntervalMs() {
                #expect(interval >= 100 && interval <= Configuration.longestDurationMs, sourceLocation: sourceLocation)
            }
        } catch {
            let message = ServerFlags<TestDefaults>.message(for: error)
            #expect(
                message.contains(arguments[0]) || message.contains("--max-pending-output"),
                "\(arguments) \(frame): the message should name the flag: \(message)", sourceLocation: sourceLocation)
        }
    }

    /// A valid configuration's values stay far from overflow in the loop's
    /// arithmetic: deadlines, the pending-output headroom, block sizes.
    private func expectSafe(
        _ configuration: Configuration, _ label: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(throws: Never.self, "\(label)", sourceLocation: sourceLocation) { try configuration.validate() }
        let clockMs = Int64(1) << 50  // a monotonic clock of 35,000 years
        for duration in [
            configuration.idleTimeoutMs ?? 1, configuration.writeTimeoutMs, configuration.lingerTimeoutMs,
            configuration.shutdownTimeoutMs, configuration.firstMessageTimeoutMs ?? 1,
            configuration.statisticsIntervalMs,
        ] {
            #expect(duration >= 0 && Int64(duration) < Int64.max - clockMs, "\(label)", sourceLocation: sourceLocation)
        }
        #expect(
            configuration.effectiveMaxMessageBytes <= Configuration.largestMessageBytes, sourceLocation: sourceLocation)
        #expect(configuration.maxPendingOutputBytes <= Configuration.largestBudgetBytes, sourceLocation: sourceLocation)
        // The largest block a ring may need is a power of two that still fits an Int.
        let pool = BufferPool()
        let largest = configuration.maxPendingOutputBytes + configuration.effectiveMaxMessageBytes + 8
        #expect(pool.blockSize(for: largest) >= largest, sourceLocation: sourceLocation)
    }

    /// Every Int field of Configuration, set to the extremes directly (an
    /// embedding application bypasses the flags): validate() refuses each
    /// value outside its range with the field's name, and accepts the rest.
    @Test func everyRangedFieldRefusesItsOutOfRangeValues() {
        for setting in Configuration.settingRanges {
            for value in [Int.min, -1, 0, 1, setting.range.lowerBound, setting.range.upperBound, Int.max] {
                var configuration = Configuration()
                configuration.maxPendingOutputBytes = Configuration.largestBudgetBytes
                set(&configuration, setting.name, value)
                do {
                    try configuration.validate()
                    #expect(setting.range.contains(value), "\(setting.name) = \(value) was accepted")
                    expectSafe(configuration, "\(setting.name) = \(value)")
                } catch {
                    let inRange = setting.range.contains(value)
                    #expect(!inRange || "\(error)".contains("must be"), "\(setting.name) = \(value): \(error)")
                    if !inRange { #expect("\(error)".contains(setting.name), "\(error)") }
                }
            }
        }
    }

    @Test func secondsConvertOnlyWhenFiniteAndInRange() {
        let range = 1...Configuration.longestDurationMs
        #expect(Configuration.milliseconds(fromSeconds: .nan, in: range) == nil)
        #expect(Configuration.milliseconds(fromSeconds: .infinity, in: range) == nil)
        #expect(Configuration.milliseconds(fromSeconds: -.infinity, in: range) == nil)
        #expect(Configuration.milliseconds(fromSeconds: 1e300, in: range) == nil)
        #expect(Configuration.milliseconds(fromSeconds: -1, in: range) == nil)
        #expect(Configuration.milliseconds(fromSeconds: 0, in: range) == nil)
        #expect(
            Configuration.milliseconds(fromSeconds: 1e-300, in: range) == nil, "below 1 ms is refused, not rounded up")
        #expect(Configuration.milliseconds(fromSeconds: 0.0004, in: range) == nil)
        #expect(Configuration.milliseconds(fromSeconds: 0.0015, in: range) == 2, "rounded up within the range")
        #expect(Configuration.milliseconds(fromSeconds: 1.5, in: range) == 1_500)
        #expect(Configuration.milliseconds(fromSeconds: 0, in: 0...10) == 0)
    }

    private func set(_ configuration: inout Configuration, _ name: String, _ value: Int) {
        switch name {
        case "port": configuration.port = value
        case "tlsPort":
            configuration.tls = TLSConfiguration(certificateChainFile: "cert.pem", privateKeyFile: "key.pem")
            configuration.tlsPort = value
        case "tls.handshakeTimeoutMs":
            configuration.tls = TLSConfiguration(certificateChainFile: "cert.pem", privateKeyFile: "key.pem")
            configuration.tls?.handshakeTimeoutMs = value
        case "tls.sessionCacheSize":
            configuration.tls = TLSConfiguration(certificateChainFile: "cert.pem", privateKeyFile: "key.pem")
            configuration.tls?.sessionCacheSize = value
        case "backlog": configuration.backlog = value
        case "threads": configuration.threads = value
        case "maxClients": configuration.maxClients = value
        case "maxMessageBytes": configuration.maxMessageBytes = value
        case "idleTimeoutMs": configuration.idleTimeoutMs = value
        case "firstMessageTimeoutMs": configuration.firstMessageTimeoutMs = value
        case "writeTimeoutMs": configuration.writeTimeoutMs = value
        case "lingerTimeoutMs": configuration.lingerTimeoutMs = value
        case "shutdownTimeoutMs": configuration.shutdownTimeoutMs = value
        case "releaseMemoryAfterQuietMs": configuration.releaseMemoryAfterQuietMs = value
        case "statisticsIntervalMs": configuration.statisticsIntervalMs = value
        case "acceptPauseMs": configuration.acceptPauseMs = value
        case "outputHighWatermarkBytes": configuration.outputHighWatermarkBytes = value
        case "outputLowWatermarkBytes": configuration.outputLowWatermarkBytes = value
        case "maxPendingOutputBytes": configuration.maxPendingOutputBytes = value
        case "readBufferBytes": configuration.readBufferBytes = value
        case "outputStagingBytes": configuration.outputStagingBytes = value
        case "maxEventsPerWait": configuration.maxEventsPerWait = value
        case "maxReadsPerWake": configuration.maxReadsPerWake = value
        case "maxWritesPerWake": configuration.maxWritesPerWake = value
        case "busyPollUs": configuration.busyPollUs = value
        case "bufferPoolRetainedBytes": configuration.bufferPoolRetainedBytes = value
        case "mailboxCapacity": configuration.mailboxCapacity = value
        case "mailboxBytesLimit": configuration.mailboxBytesLimit = value
        default: Issue.record("no setter for \(name): add it here")
        }
    }
}
