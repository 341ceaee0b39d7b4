import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import KumoTestbed
import Testing

/// Transport security with the real binary: pinned join tokens, the CLI's pinned CA, TLS agent endpoints that
/// answer only the server, token lifecycle and audit through the CLI.
@Suite("E2E: TLS, pinned join, CLI trust, tokens, audit", .serialized)
struct TransportSecurityE2ETests {
    @Test("an agent with a join token pinning another CA refuses to join and sends nothing")
    func wrongCAHash() async throws {
        let session = try CLISession("pin")
        defer { session.close() }
        try await session.server.waitReady()
        let join = try await session.server.admin.send(
            .POST, "/api/v1/tokens", body: Array(try JSONEncoder().encode(TokenRequest(name: "j1", role: .join)))
        ).decode(TokenInfo.self)
        let real = try JoinToken(parsing: try #require(join.token))
        #expect(real.caFingerprint == (try ClusterTrust.fingerprint(pem: try #require(session.server.caPEM))))
        let wrong = JoinToken(caFingerprint: String(repeating: "ab", count: 32), secret: real.secret).text
        let file = session.dir + "/wrong.token"
        try Data(wrong.utf8).write(to: URL(fileURLWithPath: file))
        let agentDir = session.dir + "/agent"
        let r = try KumoBinary.run([
            "agent", "--server", session.server.url, "--join-token-file", file, "--name", "pinned-x", "--data-dir", agentDir,
            "--runc-root", agentDir + "/runc",
        ])
        #expect(r.status != 0)
        #expect(r.err.contains("refusing to join") && r.err.contains("pins"), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: agentDir + "/node.token"))
        // the server never saw the secret: the join token was never used, no node token exists
        let tokens = try await session.server.admin.send(.GET, "/api/v1/tokens").decode(TokenList.self)
        #expect(tokens.items.first { $0.id == "j1" }?.lastUsedAt == nil)
        #expect(!tokens.items.contains { $0.role == .node })
        // a token without any pin is not sent to an HTTPS server either
        try Data(real.secret.utf8).write(to: URL(fileURLWithPath: file))
        let unpinned = try KumoBinary.run([
            "agent", "--server", session.server.url, "--join-token-file", file, "--name", "pinned-x", "--data-dir", agentDir,
            "--runc-root", agentDir + "/runc",
        ])
        #expect(unpinned.status != 0 && unpinned.err.contains("carries no CA hash"), "\(unpinned.err)")
    }

    @Test("kumo login pins the server's CA on first contact; a server with another CA is refused until --ca")
    func cliPinsCA() async throws {
        let dir = tempDir("clitrust")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = try ServerProcess.freePort()
        let a = try ServerProcess(dataDir: dir + "/a", port: port)
        try await a.waitReady()
        let env = ["KUMO_CONFIG": dir + "/config"]
        let login = try KumoBinary.run(["login", "--server", a.url, "--token-file", a.dataDir + "/admin.token"], env: env)
        #expect(login.status == 0, "\(login.err)")
        let fingerprint = ClusterTrust.display(try ClusterTrust.fingerprint(pem: try #require(a.caPEM)))
        #expect(login.err.contains(fingerprint), "the fingerprint is shown: \(login.err)")
        let config = try ClientConfig.load(from: dir + "/config")
        #expect(config.ca == a.caPEM)
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/config")[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        #expect(try KumoBinary.run(["get", "nodes"], env: env).status == 0)
        _ = a.terminate()

        // another server (another CA) on the same address
        let b = try ServerProcess(dataDir: dir + "/b", port: port)
        defer { _ = b.terminate() }
        try await b.waitReady()
        let refused = try KumoBinary.run(["get", "nodes"], env: env)
        #expect(refused.status != 0)
        #expect(refused.err.contains("not signed by the cluster CA"), "\(refused.err)")
        let relogin = try KumoBinary.run(["login", "--server", b.url, "--token-file", b.dataDir + "/admin.token"], env: env)
        #expect(relogin.status != 0 && relogin.err.contains("refusing"), "\(relogin.err)")
        #expect(try ClientConfig.load(from: dir + "/config").ca == a.caPEM, "the pinned CA is kept")
        let wrongPrint = try KumoBinary.run(
            ["login", "--server", b.url, "--token-file", b.dataDir + "/admin.token", "--ca-fingerprint", String(repeating: "0", count: 64),
             "--config", dir + "/other"], env: env)
        #expect(wrongPrint.status != 0 && wrongPrint.err.contains("not the expected"), "\(wrongPrint.err)")
        let withCA = try KumoBinary.run(["login", "--server", b.url, "--token-file", b.dataDir + "/admin.token", "--ca", b.caPath], env: env)
        #expect(withCA.status == 0, "\(withCA.err)")
        #expect(try KumoBinary.run(["get", "nodes"], env: env).status == 0)
    }

    @Test(
        "agents serve TLS that answers only the server; tokens ls/revoke and audit through the CLI",
        .enabled(if: LocalCloud.available, "needs root, runc and busybox-static"))
    func agentsAndLifecycle() async throws {
        try await withCloud(agents: 1) { c in
            let node = try await c.admin.get(.node, c.nodeName(1))
            let agentURL = try #require(node["status"]?["agentURL"]?.stringValue)
            #expect(agentURL.hasPrefix("https://"), "\(agentURL)")
            // the server's proxy reaches it (verified TLS + client certificate + server credential)
            let state = try c.kumo(["state", "agent/\(c.nodeName(1))"])
            #expect(state.contains(c.nodeName(1)))
            // anyone else cannot: no client certificate → handshake refused, even trusting the CA
            let direct = try LocalCloud.sh(
                ["curl", "-s", "--max-time", "3", "--cacert", c.server.caPath, agentURL + "/healthz"], check: false)
            #expect(direct.status != 0, "the agent answered a client without a certificate: \(direct.out)")
            for f in ["ca.crt", "agent.crt", "agent.key", "node.token"] {
                let mode = try FileManager.default.attributesOfItem(atPath: c.agentDir(1) + "/" + f)[.posixPermissions] as? NSNumber
                #expect(mode?.intValue == 0o600, "\(f)")
            }

            // token lifecycle through the CLI
            try c.apply("apiVersion: kumo/v1\nkind: Project\nmetadata: {name: sec}\n")
            let secret = try c.kumo(["token", "create", "--project", "sec", "--role", "view", "--name", "ro", "--ttl", "2h", "--quiet"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let viewer = c.server.client(token: secret)
            _ = try await viewer.send(.GET, "/api/v1/projects/sec/workloads")
            let ls = try c.kumo(["token", "ls"])
            #expect(ls.contains("ID") && ls.contains("KIND") && ls.contains("LAST USED"), "\(ls)")
            #expect(ls.contains("ro") && ls.contains("node-\(c.nodeName(1))"), "\(ls)")
            #expect(!ls.contains(secret))
            let nodeToken = try String(contentsOfFile: c.agentDir(1) + "/node.token", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!ls.contains(nodeToken))
            let revoke = try c.kumo(["token", "revoke", "ro"])
            #expect(revoke.contains("revoked"))
            let after = await kumoError { _ = try await viewer.send(.GET, "/api/v1/projects/sec/workloads") }
            #expect(after?.code == .unauthorized)
            // …and the audit trail shows it
            let audit = try c.kumo(["audit", "--reason", "unauthenticated"])
            #expect(audit.contains("/api/v1/projects/sec/workloads") && audit.contains("unauthenticated"), "\(audit)")
            // the node keeps working (its token was not touched)
            try await c.waitForReadyNodes(1)

            // keep-alive: the agent heartbeats every 2 s (and watches) over connections it keeps; new TLS
            // handshakes do not grow with its requests
            func handshakes() async throws -> Double {
                let text = String(decoding: try await c.admin.send(.GET, "/metrics").body, as: UTF8.self)
                let line = text.split(separator: "\n").first { $0.hasPrefix("kumo_tls_handshakes_total ") }
                return Double(line?.split(separator: " ").last ?? "") ?? -1
            }
            let handshakesBefore = try await handshakes()
            let leaseBefore = try await c.admin.send(.GET, "/api/v1/nodes/\(c.nodeName(1))/lease").json()["renewTime"]
            try await Task.sleep(for: .seconds(7))
            let leaseAfter = try await c.admin.send(.GET, "/api/v1/nodes/\(c.nodeName(1))/lease").json()["renewTime"]
            #expect(leaseBefore != leaseAfter, "the agent renewed its lease meanwhile")
            let handshakesAfter = try await handshakes()
            #expect(
                handshakesBefore >= 1 && handshakesAfter - handshakesBefore <= 2,
                "new handshakes while the agent heartbeats: \(handshakesAfter - handshakesBefore)")
        }
    }
}
