import AgentVMTestKit
import ChildProcess
import Foundation
import NATSBridge
import Testing
import Transport

/// TLS settings reach libnats: a server with a certificate from a throwaway CA accepts a client
/// that trusts the CA, and a client that trusts nothing fails verification.
@Suite struct TLSTests {
    /// Makes a CA and a server certificate for 127.0.0.1 with the real `openssl` binary.
    private static func makeCertificates(in dir: TempDirectory) throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try FileManager.default.createDirectory(at: dir.file("logs"), withIntermediateDirectories: true)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(to: dir.file("ext.cnf"), atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            ["/usr/bin/openssl", "req", "-x509"] + ec + ["-keyout", dir.file("ca.key").path, "-out", dir.file("ca.pem").path,
                                                        "-days", "1", "-subj", "/CN=agentvm-test-ca"],
            ["/usr/bin/openssl", "req"] + ec + ["-keyout", dir.file("server.key").path, "-out", dir.file("server.csr").path,
                                               "-subj", "/CN=localhost"],
            ["/usr/bin/openssl", "x509", "-req", "-in", dir.file("server.csr").path, "-CA", dir.file("ca.pem").path,
             "-CAkey", dir.file("ca.key").path, "-CAcreateserial", "-out", dir.file("server.pem").path, "-days", "1",
             "-extfile", dir.file("ext.cnf").path],
        ]
        for (i, argv) in steps.enumerated() {
            let p = try ChildProcess(argv, logDirectory: dir.file("logs"), name: "openssl-\(i)")
            guard p.wait(deadline: .seconds(30)) == .exited(0) else {
                p.kill9()
                throw FixtureError.exited("openssl step \(i): \(p.stderrText())", p.termination?.exitCode ?? -1)
            }
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func clientTrustingTheCAConnectsAndOthersAreRefused() async throws {
        let certs = try TempDirectory(prefix: "tls")
        try Self.makeCertificates(in: certs)
        let server = try NATSServerFixture.started(jetStream: false, extraArguments: [
            "--tls", "--tlscert", certs.file("server.pem").path, "--tlskey", certs.file("server.key").path,
        ])
        defer { server.stop() }

        var trusted = testOptions([server.url])
        trusted.tls = NATSOptions.TLS(caFile: certs.file("ca.pem").path)
        let nc = try await NATSConnection.connect(trusted)
        defer { nc.close() }
        let sub = try nc.subscribe("secure")
        try await nc.flush(timeout: .seconds(5))
        try nc.publish("secure", payload: Data("sealed"))
        #expect(await collect(sub.messages, count: 1).first?.payload == Data("sealed"))

        var untrusting = testOptions([server.url])
        untrusting.tls = NATSOptions.TLS()
        await #expect(throws: NATSError.self) { _ = try await NATSConnection.connect(untrusting) }

        var plain = testOptions([server.url])
        plain.connectTimeout = .seconds(1)
        await #expect(throws: NATSError.self) { _ = try await NATSConnection.connect(plain) }
    }
}
