// TLSFlags: the TLS flags Keel's server executables share, turned into a
// TLSConfiguration. redis-server's names for the files (--tls-cert-file,
// --tls-key-file, --tls-ca-cert-file) are accepted too, so a redis-server
// command line carries over.

import ArgumentParser
import Keel

/// The TLS flags of a Keel server executable.
public struct TLSFlags: ParsableArguments {
    /// `--tls-cert`.
    @Option(
        name: [.customLong("tls-cert"), .customLong("tls-cert-file")],
        help: ArgumentHelp("PEM certificate chain to serve TLS with (needs --tls-key).", valueName: "path"))
    public var certificate: String?

    /// `--tls-key`.
    @Option(
        name: [.customLong("tls-key"), .customLong("tls-key-file")],
        help: ArgumentHelp("PEM private key of the --tls-cert certificate.", valueName: "path"))
    public var key: String?

    /// `--tls-ca`.
    @Option(
        name: [.customLong("tls-ca"), .customLong("tls-ca-cert-file")],
        help: ArgumentHelp("PEM CA certificates client certificates must chain to.", valueName: "path"))
    public var certificateAuthority: String?

    /// `--tls-client-auth`.
    @Option(help: "Client certificates: none, optional (verified when sent) or required (mutual TLS; needs --tls-ca).")
    public var tlsClientAuth = TLSConfiguration.ClientAuthentication.none

    /// `--tls-min-version`.
    @Option(help: "Oldest TLS version accepted: 1.2 or 1.3 (1.0 and 1.1 are always refused).")
    public var tlsMinVersion = TLSConfiguration.Version.tls12

    /// `--tls-alpn`.
    @Option(
        help: ArgumentHelp(
            "ALPN protocols to offer, comma-separated, most preferred first; a client offering none of them is refused.",
            valueName: "names"))
    public var tlsAlpn: String?

    /// `--tls-handshake-timeout`.
    @Option(parsing: .unconditional, help: "Seconds a TLS handshake may take before its connection is closed.")
    public var tlsHandshakeTimeout = 10.0

    /// The flags at their defaults.
    public init() {}

    /// Whether TLS was asked for (a certificate given).
    public var isEnabled: Bool { certificate != nil || key != nil }

    /// The TLS configuration these flags describe, nil without
    /// --tls-cert; a ValidationError names the flag that is wrong.
    public func makeConfiguration() throws -> TLSConfiguration? {
        guard isEnabled else {
            if certificateAuthority != nil || tlsClientAuth != .none || tlsAlpn != nil {
                throw ValidationError("--tls-ca, --tls-client-auth and --tls-alpn need --tls-cert and --tls-key.")
            }
            return nil
        }
        guard let certificate, let key else {
            throw ValidationError("--tls-cert and --tls-key go together; give both.")
        }
        var tls = TLSConfiguration(certificateChainFile: certificate, privateKeyFile: key)
        tls.clientCAFile = certificateAuthority
        tls.clientAuthentication = tlsClientAuth
        if tlsClientAuth != .none && certificateAuthority == nil {
            throw ValidationError("--tls-client-auth \(tlsClientAuth) needs --tls-ca.")
        }
        tls.minimumVersion = tlsMinVersion
        if let tlsAlpn {
            tls.alpnProtocols = tlsAlpn.split(separator: ",").map(String.init)
            if tls.alpnProtocols.isEmpty || !tls.alpnProtocols.allSatisfy({ (1...255).contains($0.utf8.count) }) {
                throw ValidationError("--tls-alpn: names must be 1 to 255 bytes, comma-separated (got '\(tlsAlpn)').")
            }
        }
        guard
            let timeout = Configuration.milliseconds(
                fromSeconds: tlsHandshakeTimeout, in: 1...Configuration.longestDurationMs)
        else {
            throw ValidationError(
                "--tls-handshake-timeout must be a number of seconds in 0.001...\(Configuration.longestDurationMs / 1_000) (got \(tlsHandshakeTimeout))"
            )
        }
        tls.handshakeTimeoutMs = timeout
        return tls
    }
}

extension TLSConfiguration.ClientAuthentication: ExpressibleByArgument {}

extension TLSConfiguration.Version: ExpressibleByArgument {}
