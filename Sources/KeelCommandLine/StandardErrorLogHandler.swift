// StandardErrorLogHandler: log lines on standard error, written with
// write(2), for Keel's executables.
//
// Why not swift-log's StreamLogHandler: it writes through stdio, under the
// FILE lock. Keel's executables hand their records to this handler on a
// LogRelay thread (see CommandLineLogging), and when standard error is a pipe
// that nobody reads, that thread blocks in its write: through stdio it would
// block holding the lock that the process's exit path may take too. A plain
// write(2) holds no lock, so a blocked log costs only the relay's thread.

import Glibc
import Logging

/// Writes each record as one line on standard error:
/// `2026-11-28T19:00:00+0000 info keel : key=value [Module] message`.
public struct StandardErrorLogHandler: LogHandler {
    /// The logger's label, shown in every line.
    public let label: String
    /// Records below this level are not written.
    public var logLevel: Logger.Level = .info
    /// Metadata added to every line.
    public var metadata: Logger.Metadata = [:]
    /// Metadata computed per line.
    public var metadataProvider: Logger.MetadataProvider?

    /// A handler for the logger called `label`.
    public init(label: String) {
        self.label = label
    }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Formats the record and writes it.
    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        let pairs = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let details = pairs.isEmpty ? "" : " " + pairs.joined(separator: " ")
        let line = "\(Self.timestamp()) \(event.level) \(label) :\(details) [\(event.source)] \(event.message)\n"
        Self.writeAll(Array(line.utf8))
    }

    /// Writes every byte to descriptor 2, retrying EINTR and short writes;
    /// gives up on any other error (there is nowhere left to report it).
    static func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(STDERR_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
