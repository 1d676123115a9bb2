// Runs the `keel` executable as a child process, for what only a real
// process shows: exit codes, signal handling, and its descriptor table.
// Every wait is bounded; every child is killed by its PID if a test fails.

import Foundation
import Glibc
import KeelBenchCore

struct ChildProcessError: Error, CustomStringConvertible {
    let description: String
}

final class ChildProcess {
    let process = Process()
    private let errorPipe = Pipe()
    private let outputPipe = Pipe()
    private(set) var standardError = ""

    /// A product binary built beside the test bundle, e.g. "keel".
    static func productPath(_ name: String) -> String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        // Swift Testing may run from inside the .xctest bundle path.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path)
            && directory.path != "/"
        {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent(name).path
    }

    init(arguments: [String], product: String = "keel", launcher: [String] = []) throws {
        if launcher.isEmpty {
            process.executableURL = URL(fileURLWithPath: Self.productPath(product))
        } else {
            // e.g. ["/usr/bin/prlimit", "--nofile=64"]: runs the product under it.
            process.executableURL = URL(fileURLWithPath: launcher[0])
            process.arguments = Array(launcher.dropFirst()) + [Self.productPath(product)] + arguments
        }
        if launcher.isEmpty { process.arguments = arguments }
        process.standardError = errorPipe
        process.standardOutput = outputPipe
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var pid: Int32 { process.processIdentifier }

    /// Reads standard error until `predicate` holds for what has arrived, or
    /// `seconds` pass (or the child closes it). Returns whether it held.
    func readError(seconds: Double = 20, until predicate: (String) -> Bool) -> Bool {
        let fd = errorPipe.fileHandleForReading.fileDescriptor
        let deadline = monotonicSeconds() + seconds
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !predicate(standardError) {
            let remaining = deadline - monotonicSeconds()
            guard remaining > 0 else { return false }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, Int32(remaining * 1000)) > 0 else { return false }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return predicate(standardError) }
            standardError += String(decoding: buffer[..<n], as: UTF8.self)
        }
        return true
    }

    /// Closes this side's end of the child's standard error: the child's
    /// next write there fails with EPIPE (and raises SIGPIPE), as when a
    /// log reader such as `head -n 1` goes away.
    func closeStandardErrorReader() {
        try? errorPipe.fileHandleForReading.close()
    }

    /// Everything the child wrote to standard output (read once it has exited).
    var standardOutputText: String {
        String(decoding: outputPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Waits for exit (bounded); returns the exit status, or nil on timeout.
    func waitForExit(seconds: Double = 30) -> Int32? {
        let deadline = monotonicSeconds() + seconds
        while process.isRunning && monotonicSeconds() < deadline {
            // Under heavy load Foundation may notice an exit late; a zombie has exited.
            if isZombie() {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    _ = readError(seconds: 1) { _ in false }
                    return (status >> 8) & 0xFF
                }
            }
            usleep(10_000)
        }
        guard !process.isRunning else { return nil }
        _ = readError(seconds: 1) { _ in false }
        return process.terminationStatus
    }

    /// Read with stdio: Foundation's String(contentsOfFile:) leaks its
    /// read buffer now and then (LeakSanitizer, CI's ASan step).
    private func isZombie() -> Bool {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return false }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("State:") { return text.contains("Z") }
        }
        return false
    }

    /// Runs keel with `arguments` to completion; returns status and stderr.
    static func run(_ arguments: [String]) throws -> (status: Int32?, standardError: String) {
        let child = try ChildProcess(arguments: arguments)
        let status = child.waitForExit()
        return (status, child.standardError)
    }

    /// CPU seconds (user + system) the child has used, from /proc/PID/stat.
    func cpuSeconds() -> Double {
        ProcessCPU.seconds(of: pid) ?? -1
    }

    /// Open descriptors of the child (/proc/PID/fd).
    func descriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }
}

/// A keel server child on a free port.
final class KeelChild {
    let child: ChildProcess
    let port: Int

    init(_ arguments: [String] = [], launcher: [String] = []) throws {
        child = try ChildProcess(arguments: ["--port", "0"] + arguments, launcher: launcher)
        guard child.readError(until: { $0.contains("keel listening on ") && $0.contains("\n") }),
            let port = Self.port(in: child.standardError)
        else {
            throw ChildProcessError(description: "keel did not report its address: \(child.standardError)")
        }
        self.port = port
    }

    static func port(in text: String) -> Int? {
        guard let range = text.range(of: "keel listening on ") else { return nil }
        let address = text[range.upperBound...].prefix(while: { !$0.isWhitespace })
        guard let colon = address.lastIndex(of: ":") else { return nil }
        return Int(address[address.index(after: colon)...])
    }
}
