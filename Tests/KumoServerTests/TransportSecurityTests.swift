import Foundation
import KumoAPI
import KumoModel
import NIOCore
import NIOSSL
import Testing

@testable import KumoServer

@Suite("Transport: HTTPS only, the cluster CA, certificate renewal, misbehaving clients")
struct TransportSecurityTests {
    @Test("first start makes the cluster CA and a serving certificate (0600) for localhost and 127.0.0.1; HTTPS verifies")
    func pkiOnFirstStart() async throws {
        try await withServer { s in
            for file in ["ca.crt", "ca.key", "server.crt", "server.key", "admin.token"] {
                let mode = try FileManager.default.attributesOfItem(atPath: s.dir + "/" + file)[.posixPermissions] as? NSNumber
                #expect(mode?.intValue == 0o600, "\(file)")
            }
            // full verification (chain + name) by both names
            for host in ["127.0.0.1", "localhost"] {
                let client = KumoClient(baseURL: "https://\(host):\(s.port)", token: s.admin.token, caPEM: s.caPEM)
                let v = try await client.send(.GET, "/version").decode(VersionInfo.self)
                #expect(!v.version.isEmpty)
            }
            // /cacerts needs no token and is the CA file; its fingerprint is what join tokens pin
            let ca = try await ClusterTrust.fetchCA(server: s.url)
            #expect(ca == s.caPEM)
            let join = try await s.admin.send(
                .POST, "/api/v1/tokens", body: Array(try JSONEncoder().encode(TokenRequest(role: .join)))
            ).decode(TokenInfo.self)
            let parsed = try JoinToken(parsing: join.token ?? "")
            #expect(parsed.caFingerprint == (try ClusterTrust.fingerprint(pem: s.caPEM)))
            // a client trusting another CA is refused with a clear message
            let other = try CertificateAuthority.make(now: Date())
            let wrong = KumoClient(baseURL: s.url, token: s.admin.token, caPEM: other.pem)
            let e = await kumoError { _ = try await wrong.send(.GET, "/version") }
            #expect(e?.message.contains("not signed by the cluster CA") == true, "\(e?.message ?? "")")
            // a restart keeps the CA and the certificate
            let before = try String(contentsOfFile: s.dir + "/server.crt", encoding: .utf8)
            await s.stop()
            let again = try await TestServer.start(dir: s.dir)
            #expect(again.caPEM == s.caPEM)
            #expect(try String(contentsOfFile: s.dir + "/server.crt", encoding: .utf8) == before)
            await again.stop()
        }
    }

    @Test("a pinned CA that does not parse fails closed: every request is refused, no fallback to the system's trust")
    func garbagePinnedCAFailsClosed() async throws {
        #expect(throws: KumoError.self) { _ = try ClusterTrust.httpClient(caPEM: "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n") }
        try await withServer { s in
            for garbage in ["not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", ""] {
                let client = KumoClient(baseURL: s.url, token: s.admin.token, caPEM: garbage)
                #expect(client.refusal != nil)
                // it used to use the default (system-trust) client here: with the cluster CA also in the system
                // store it connected; now the request never leaves
                let error = await kumoError { _ = try await client.send(.GET, "/api/v1/nodes") }
                #expect(error?.code == .invalid, "\(error?.description ?? "no error")")
                #expect(error?.field == "ca")
                #expect(error?.message.contains("pinned cluster CA does not parse") == true)
                let watch = await kumoError { _ = try await client.watch("/api/v1/nodes", query: []) }
                #expect(watch?.code == .invalid)
                await client.shutdown()
            }
            // the right CA works, with its own HTTP client, shut down by its owner
            let good = KumoClient(baseURL: s.url, token: s.admin.token, caPEM: s.caPEM)
            let status = try await good.send(.GET, "/api/v1/nodes").status
            #expect(status == 200)
            await good.shutdown()
            await good.shutdown()  // twice is fine
        }
    }

    @Test("plain HTTP gets no HTTP answer at all (the TLS handshake fails), with or without a token")
    func plainHTTPRefused() async throws {
        try await withServer { s in
            for token in [nil, s.admin.token] {
                let (bytes, _) = try await RawConnection.exchange(
                    port: s.port, payload: RawConnection.get("/api/v1/projects", token: token))
                #expect(RawConnection.status(bytes) == nil, "\(String(decoding: bytes, as: UTF8.self))")
                #expect(!String(decoding: bytes, as: UTF8.self).contains("items"))
            }
            // the CLI's client says what is wrong
            let plain = KumoClient(baseURL: "http://127.0.0.1:\(s.port)", token: s.admin.token, caPEM: nil)
            let e = await kumoError { _ = try await plain.send(.GET, "/version") }
            #expect(e?.code == .unavailable)
            // and HTTPS still works
            _ = try await s.admin.send(.GET, "/version")
        }
    }

    @Test("a short-lived serving certificate is renewed without a restart; new connections get the new one")
    func renewal() async throws {
        try await withServer(configure: {
            // renewed with a third left: after ~8 s, 4 s before it would expire (room for a loaded machine)
            $0.servingCertificateLifetime = .seconds(12)
            $0.certificateCheckInterval = .milliseconds(300)
        }) { s in
            let first = try await RawConnection.exchange(port: s.port, caPEM: s.caPEM, payload: RawConnection.get("/healthz", token: nil))
            #expect(RawConnection.status(first.bytes) == 200)
            let firstSerial = try #require(first.peer?.serialNumber)
            var renewed: [UInt8]? = nil
            for _ in 0..<75 {  // ≤ 15 s
                try await Task.sleep(for: .milliseconds(200))
                let next = try await RawConnection.exchange(port: s.port, caPEM: s.caPEM, payload: RawConnection.get("/healthz", token: nil))
                #expect(RawConnection.status(next.bytes) == 200)
                if let serial = next.peer?.serialNumber, serial != firstSerial {
                    renewed = serial
                    break
                }
            }
            #expect(renewed != nil, "the serving certificate was not renewed")
            let state = try await s.admin.send(.GET, "/debug/state").json()
            #expect((state["tls"]?["renewals"]?.numberValue ?? 0) >= 1, "\(state)")
            _ = try await s.admin.send(.GET, "/version")  // the same process serves on
        }
    }

    @Test("--tls-cert/--tls-key: the operator's certificate is served, and re-read when the files change")
    func operatorCertificate() async throws {
        let dir = temporaryPath("opcert")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let opCA = try CertificateAuthority.make(now: Date())
        func writeLeaf() throws {
            let leaf = try opCA.issue(commonName: "op", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], lifetime: .seconds(86400))
            try Data(leaf.chainPEM.utf8).write(to: URL(fileURLWithPath: dir + "/tls.crt"))
            try Data(leaf.keyPEM.utf8).write(to: URL(fileURLWithPath: dir + "/tls.key"))
        }
        try writeLeaf()
        try await withServer(configure: {
            $0.tls = .files(certificate: dir + "/tls.crt", key: dir + "/tls.key")
            $0.certificateCheckInterval = .milliseconds(200)
        }) { s in
            let op = KumoClient(baseURL: s.url, token: s.admin.token, caPEM: opCA.pem)
            _ = try await op.send(.GET, "/version")
            let first = try await RawConnection.exchange(port: s.port, caPEM: opCA.pem, payload: RawConnection.get("/healthz", token: nil))
            try await Task.sleep(for: .milliseconds(1100))  // a new modification time
            try writeLeaf()
            var changed = false
            for _ in 0..<25 where !changed {
                try await Task.sleep(for: .milliseconds(200))
                let next = try await RawConnection.exchange(port: s.port, caPEM: opCA.pem, payload: RawConnection.get("/healthz", token: nil))
                changed = next.peer?.serialNumber != nil && next.peer?.serialNumber != first.peer?.serialNumber
            }
            #expect(changed, "the replaced operator certificate was not picked up")
        }
    }

    @Test("garbage handshakes, truncated ClientHellos and slow-loris clients do not stop the server serving others")
    func misbehavingClients() async throws {
        try await withServer { s in
            var held: [any Channel] = []
            // truncated ClientHello: a TLS record header promising 512 bytes, then only a few
            let truncated: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03] + Array(repeating: 0x42, count: 20)
            for i in 0..<60 {
                let c = try await RawConnection.open(port: s.port)
                switch i % 3 {
                case 0: try await c.writeAndFlush(ByteBuffer(bytes: (0..<200).map { _ in UInt8.random(in: 0...255) }))
                case 1: try await c.writeAndFlush(ByteBuffer(bytes: truncated))
                default: try await c.writeAndFlush(ByteBuffer(bytes: [0x16]))  // slow loris: one byte, then nothing
                }
                held.append(c)
            }
            // slow loris keeps trickling while others are served
            let channels = held
            let trickle = Task {
                for _ in 0..<10 {
                    for c in channels.enumerated() where c.offset % 3 == 2 {
                        try? await c.element.writeAndFlush(ByteBuffer(bytes: [0x03]))
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            let start = ContinuousClock.now
            for _ in 0..<30 {
                _ = try await s.admin.send(.GET, "/api/v1/projects")
            }
            #expect(ContinuousClock.now - start < .seconds(10))
            try await trickle.value
            // and a real handshake from a fresh client still works
            let ok = try await RawConnection.exchange(port: s.port, caPEM: s.caPEM, payload: RawConnection.get("/readyz", token: nil))
            #expect(RawConnection.status(ok.bytes) == 200)
            for c in held { try? await c.close() }
        }
    }
}
