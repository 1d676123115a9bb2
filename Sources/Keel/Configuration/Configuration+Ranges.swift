// Every numeric setting's allowed range, in one table, and the checks that
// run before a server starts.
//
// Why ranges and not only "positive": a setting is added to the clock
// (deadlines), multiplied (seconds to milliseconds), rounded up to a power of
// two (buffer blocks) or summed with others (the pending-output headroom).
// Bounding each one here keeps all of that arithmetic far from overflow, so
// no value a user can type crashes the server later, when a client connects or
// a signal arrives. Executables convert their flags with `milliseconds(
// fromSeconds:in:)`, which refuses NaN, infinities and out-of-range values
// before any conversion happens.

/// One numeric setting and the values it may take.
package struct SettingRange: Sendable {
    /// The field's name, as in `Configuration` (e.g. "idleTimeoutMs").
    package let name: String
    /// The values allowed.
    package let range: ClosedRange<Int>
    /// The field's value (nil for an optional field that is off).
    let value: @Sendable (Configuration) -> Int?
}

extension Configuration {
    /// The longest duration any timeout or interval may be set to: 365 days.
    /// Far beyond any useful timeout, and far from overflowing the loop's
    /// millisecond clock when added to it.
    public static let longestDurationMs = 365 * 24 * 3_600 * 1_000
    /// The largest `maxMessageBytes` (1 TiB, further clamped to what the frame
    /// format can announce), so that buffer sizes and their sums never overflow.
    public static let largestMessageBytes = 1 << 40
    /// The largest byte budget of any kind (pending output, pool, mailbox): 4 TiB.
    public static let largestBudgetBytes = 1 << 42

    /// Allowed values of every numeric field. `validate()` checks each.
    package static let settingRanges: [SettingRange] = [
        SettingRange(name: "port", range: 0...65_535) { $0.port },
        SettingRange(name: "tlsPort", range: 0...65_535) { $0.tlsPort },
        SettingRange(name: "tls.handshakeTimeoutMs", range: 1...longestDurationMs) { $0.tls?.handshakeTimeoutMs },
        SettingRange(name: "tls.sessionCacheSize", range: 0...16_777_216) { $0.tls?.sessionCacheSize },
        SettingRange(name: "backlog", range: 1...1_048_576) { $0.backlog },
        SettingRange(name: "threads", range: 1...256) { $0.threads },
        SettingRange(name: "maxClients", range: 1...16_777_216) { $0.maxClients },
        SettingRange(name: "maxMessageBytes", range: 0...largestMessageBytes) { $0.maxMessageBytes },
        SettingRange(name: "idleTimeoutMs", range: 1...longestDurationMs) { $0.idleTimeoutMs },
        SettingRange(name: "firstMessageTimeoutMs", range: 1...longestDurationMs) { $0.firstMessageTimeoutMs },
        SettingRange(name: "writeTimeoutMs", range: 1...longestDurationMs) { $0.writeTimeoutMs },
        SettingRange(name: "lingerTimeoutMs", range: 1...longestDurationMs) { $0.lingerTimeoutMs },
        SettingRange(name: "shutdownTimeoutMs", range: 0...longestDurationMs) { $0.shutdownTimeoutMs },
        SettingRange(name: "releaseMemoryAfterQuietMs", range: 1...longestDurationMs) {
            $0.releaseMemoryAfterQuietMs
        },
        SettingRange(name: "statisticsIntervalMs", range: 1...longestDurationMs) { $0.statisticsIntervalMs },
        SettingRange(name: "acceptPauseMs", range: 1...3_600_000) { $0.acceptPauseMs },
        SettingRange(name: "outputHighWatermarkBytes", range: 1...largestBudgetBytes) {
            $0.outputHighWatermarkBytes
        },
        SettingRange(name: "outputLowWatermarkBytes", range: 0...largestBudgetBytes) {
            $0.outputLowWatermarkBytes
        },
        SettingRange(name: "maxPendingOutputBytes", range: 1...largestBudgetBytes) { $0.maxPendingOutputBytes },
        SettingRange(name: "readBufferBytes", range: 4_096...(1 << 30)) { $0.readBufferBytes },
        SettingRange(name: "outputStagingBytes", range: 4_096...(1 << 30)) { $0.outputStagingBytes },
        SettingRange(name: "maxEventsPerWait", range: 1...65_536) { $0.maxEventsPerWait },
        SettingRange(name: "maxReadsPerWake", range: 1...1_024) { $0.maxReadsPerWake },
        SettingRange(name: "maxWritesPerWake", range: 1...1_024) { $0.maxWritesPerWake },
        SettingRange(name: "busyPollUs", range: 0...1_000_000) { $0.busyPollUs },
        SettingRange(name: "bufferPoolRetainedBytes", range: 0...largestBudgetBytes) { $0.bufferPoolRetainedBytes },
        SettingRange(name: "mailboxCapacity", range: 1...16_777_216) { $0.mailboxCapacity },
        SettingRange(name: "mailboxBytesLimit", range: 1...largestBudgetBytes) { $0.mailboxBytesLimit },
    ]

    /// The allowed range of the field called `name` (see `settingRanges`).
    package static func allowedRange(of name: String) -> ClosedRange<Int> {
        guard let entry = settingRanges.first(where: { $0.name == name }) else {
            preconditionFailure("no setting named \(name)")
        }
        return entry.range
    }

    /// `seconds` in whole milliseconds (rounded up), or nil when `seconds`
    /// is NaN, infinite, or outside `range` (in milliseconds). Checked before
    /// converting, so no input can overflow, and nothing below the range's
    /// lower end is rounded up into it.
    public static func milliseconds(fromSeconds seconds: Double, in range: ClosedRange<Int>) -> Int? {
        guard seconds.isFinite, seconds >= Double(range.lowerBound) / 1_000,
            seconds <= Double(range.upperBound) / 1_000
        else { return nil }
        let milliseconds = Int((seconds * 1_000).rounded(.up))
        return range.contains(milliseconds) ? milliseconds : nil
    }

    /// Checks every rule; the error text names the field and the rule.
    public func validate() throws(ServerError) {
        func require(_ condition: Bool, _ text: @autoclosure () -> String) throws(ServerError) {
            if !condition { throw .invalidConfiguration(text()) }
        }
        for setting in Self.settingRanges {
            guard let value = setting.value(self) else { continue }
            try require(
                setting.range.contains(value),
                "\(setting.name) must be in \(setting.range.lowerBound)...\(setting.range.upperBound) (got \(value))")
        }
        try require(
            SocketAddress(host: host, port: 0) != nil, "host '\(host)' is not a numeric IPv4 or IPv6 address")
        try require(maxClients >= threads, "maxClients (\(maxClients)) must be at least threads (\(threads))")
        try require(
            outputLowWatermarkBytes <= outputHighWatermarkBytes,
            "outputLowWatermarkBytes (\(outputLowWatermarkBytes)) must be at most outputHighWatermarkBytes (\(outputHighWatermarkBytes))"
        )
        try require(tlsPort == nil || tls != nil, "tlsPort needs tls (a certificate and key)")
        if let tls {
            try require(
                tls.clientAuthentication == .none || tls.clientCAFile != nil,
                "tls.clientAuthentication \(tls.clientAuthentication) needs tls.clientCAFile")
            try require(
                tls.alpnProtocols.allSatisfy { (1...255).contains($0.utf8.count) },
                "tls.alpnProtocols: each name must be 1 to 255 bytes")
        }
        try require(
            !(edgeTriggered && backend == .poll), "edgeTriggered needs the epoll backend (poll is level-triggered)")
    }
}
