import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

@Suite("Audit: refused requests recorded and counted; repeated failures from one source → 429 for it alone")
struct AuditTests {
    @Test("401s and 403s are recorded (who, what, from where, when), queryable, and counted in /metrics by reason")
    func recorded() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p1"), kind: .project)
            let view = try await s.admin.send(
                .POST, "/api/v1/tokens", body: Array(try JSONEncoder().encode(TokenRequest(name: "v", project: "p1", role: .view)))
            ).decode(TokenInfo.self)
            _ = await kumoError { _ = try await s.client(token: "kumo_nope").send(.GET, "/api/v1/nodes") }
            let anonymous = try await RawConnection.exchange(
                port: s.port, caPEM: s.caPEM, payload: RawConnection.get("/api/v1/projects", token: nil))
            #expect(RawConnection.status(anonymous.bytes) == 401)
            _ = await kumoError { _ = try await s.client(token: view.token!).send(.GET, "/api/v1/nodes") }

            let all = try await s.admin.send(.GET, "/api/v1/audit").decode(AuditList.self).items
            #expect(all.count == 3, "\(all)")
            let denied = try #require(all.first { $0.reason == "forbidden" })
            #expect(denied.who == "token/v")
            #expect(denied.method == "GET" && denied.path == "/api/v1/nodes" && denied.status == 403)
            #expect(denied.source == "127.0.0.1")
            #expect(Timestamp(rfc3339: denied.time) != nil)
            let unauthenticated = all.filter { $0.reason == "unauthenticated" }
            #expect(unauthenticated.count == 2)
            #expect(unauthenticated.contains { $0.who == "no credential" })
            #expect(unauthenticated.contains { $0.who == "bearer credential" })
            #expect(all.first?.reason == "forbidden", "newest first")
            let filtered = try await s.admin.send(.GET, "/api/v1/audit", query: [("reason", "forbidden")]).decode(AuditList.self)
            #expect(filtered.items.count == 1)
            // only the admin reads it
            let e = await kumoError { _ = try await s.client(token: view.token!).send(.GET, "/api/v1/audit") }
            #expect(e?.code == .forbidden)

            let metrics = String(decoding: try await s.admin.send(.GET, "/metrics").body, as: UTF8.self)
            #expect(metrics.contains(#"kumo_auth_failures_total{reason="unauthenticated"} 2"#), "\(metrics)")
            #expect(metrics.contains(#"kumo_auth_failures_total{reason="forbidden"} 2"#))
        }
    }

    @Test("after a burst of failures one source gets 429 even with a valid token; another source is served")
    func rateLimited() async throws {
        try await withServer(configure: {
            $0.authFailureBurst = 5
            $0.authFailureRefillPerSecond = 0.01
        }) { s in
            for _ in 0..<5 {
                let e = await kumoError { _ = try await s.client(token: "kumo_guess").send(.GET, "/api/v1/nodes") }
                #expect(e?.code == .unauthorized)
            }
            let limited = await kumoError { _ = try await s.admin.send(.GET, "/api/v1/nodes") }
            #expect(limited?.code == .tooManyRequests, "\(String(describing: limited))")
            // health checks are not held back
            let health = try await RawConnection.exchange(port: s.port, caPEM: s.caPEM, payload: RawConnection.get("/readyz", token: nil))
            #expect(RawConnection.status(health.bytes) == 200)
            // another source address (still loopback) is served
            let other = try await RawConnection.exchange(
                port: s.port, source: "127.0.0.2", caPEM: s.caPEM, payload: RawConnection.get("/api/v1/nodes", token: s.admin.token))
            #expect(RawConnection.status(other.bytes) == 200, "\(String(decoding: other.bytes, as: UTF8.self))")
            let audit = try await RawConnection.exchange(
                port: s.port, source: "127.0.0.2", caPEM: s.caPEM,
                payload: RawConnection.get("/api/v1/audit?reason=rateLimited", token: s.admin.token))
            let body = String(decoding: audit.bytes, as: UTF8.self)
            #expect(body.contains("127.0.0.1") && body.contains("rateLimited"), "\(body)")
        }
    }

    @Test("who a refused caller was is never the text of its credential")
    func credentialKind() {
        #expect(RefusalAuditMiddleware.credentialKind(nil) == "no credential")
        #expect(RefusalAuditMiddleware.credentialKind("Bearer kumo_x") == "bearer credential")
        #expect(RefusalAuditMiddleware.credentialKind("kumo_secret") == "malformed credential")
        #expect(RefusalAuditMiddleware.credentialKind("kumo_secret more") == "malformed credential")
    }

    @Test("the failure buckets: burst, refill, per source")
    func buckets() {
        var b = FailureBuckets(burst: 3, refillPerSecond: 1)
        for _ in 0..<3 { b.fail("a", now: 0) }
        #expect(b.retryAfter("a", now: 0) != nil)
        #expect(b.retryAfter("b", now: 0) == nil)
        #expect(b.retryAfter("a", now: 0.5) != nil)
        #expect(b.retryAfter("a", now: 1.01) == nil)
        b.fail("a", now: 1.01)
        #expect(b.retryAfter("a", now: 1.02) != nil)
    }
}
