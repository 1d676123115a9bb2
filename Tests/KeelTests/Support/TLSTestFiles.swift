// Certificates for the TLS tests, made fresh by each test run with the
// openssl command (installed with apt-get when missing; the TLS suites are
// skipped, saying so, when it cannot be had). None is committed.
//
// A test CA signs the server's certificate (CN=localhost, IP 127.0.0.1),
// a second server certificate (for rotation) and a client certificate; an
// unrelated CA signs a client certificate the server must refuse.

import Foundation

@testable import Keel

struct TLSTestFiles: Sendable {
    let directory: String
    var caCertificate: String { directory + "/ca.pem" }
    var serverCertificate: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }
    var rotatedCertificate: String { directory + "/rotated.pem" }
    var rotatedKey: String { directory + "/rotated.key" }
    var clientCertificate: String { directory + "/client.pem" }
    var clientKey: String { directory + "/client.key" }
    var strangerCertificate: String { directory + "/stranger.pem" }
    var strangerKey: String { directory + "/stranger.key" }

    /// The files, made once per test process; nil when openssl is missing
    /// and cannot be installed.
    static let shared: TLSTestFiles? = make()

    /// Why the TLS tests are skipped, when they are.
    static var skipNote: String {
        "skipped: no openssl command to make test certificates (apt-get install openssl failed)"
    }

    private static func make() -> TLSTestFiles? {
        // A server's first TLS context gives OpenSSL Keel's allocation
        // functions, which OpenSSL takes only before it first allocates:
        // done here, before any suite's client could use OpenSSL first.
        _ = OpenSSLBlockRecycler.installed
        guard haveOpenSSL() || (install() && haveOpenSSL()) else {
            print("TLS tests " + skipNote)
            return nil
        }
        let directory = NSTemporaryDirectory() + "keel-tls-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let files = TLSTestFiles(directory: directory)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let extensions = directory + "/server.ext"
        _ = FileManager.default.createFile(
            atPath: extensions, contents: Data("subjectAltName=DNS:localhost,IP:127.0.0.1\n".utf8))
        let steps: [[String]] = [
            ["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Keel Test CA"],
            ["req", "-x509"] + ec + [
                "-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=Other CA",
            ],
        ]
        for step in steps { guard run(step, in: directory) else { return nil } }
        let signed: [(name: String, subject: String, ca: String, server: Bool)] = [
            ("server", "/CN=localhost", "ca", true), ("rotated", "/CN=localhost/O=Rotated", "ca", true),
            ("client", "/CN=client/O=Keel Tests", "ca", false), ("stranger", "/CN=stranger", "other-ca", false),
        ]
        for item in signed {
            guard
                run(
                    ["req"] + ec + ["-keyout", "\(item.name).key", "-out", "\(item.name).csr", "-subj", item.subject],
                    in: directory),
                run(
                    [
                        "x509", "-req", "-in", "\(item.name).csr", "-CA", "\(item.ca).pem", "-CAkey", "\(item.ca).key",
                        "-CAcreateserial", "-out", "\(item.name).pem", "-days", "2",
                    ]
                        + (item.server ? ["-extfile", "server.ext"] : []), in: directory)
            else { return nil }
        }
        return files
    }

    private static func haveOpenSSL() -> Bool { run(["version"], in: "/tmp") }

    private static func install() -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["apt-get", "install", "-y", "-q", "openssl"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    private static func run(_ arguments: [String], in directory: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Client options that verify the server's certificate against the test CA.
    var verifyingClient: TLSClientSession.Options {
        var options = TLSClientSession.Options()
        options.caFile = caCertificate
        return options
    }

    /// A server TLS configuration presenting the test server certificate.
    func serverConfiguration(_ adjust: (inout TLSConfiguration) -> Void = { _ in }) -> TLSConfiguration {
        var tls = TLSConfiguration(certificateChainFile: serverCertificate, privateKeyFile: serverKey)
        tls.clientCAFile = caCertificate
        adjust(&tls)
        return tls
    }
}
