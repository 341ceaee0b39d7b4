import Foundation
import KumoAPI
import KumoModel
import Logging
import Synchronization
import Testing

@testable import KumoServer

/// Races `body` against a deadline.
func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { g in
        g.addTask { try await body() }
        g.addTask {
            try await Task.sleep(for: limit)
            throw KumoError(.internal, "timed out after \(limit)")
        }
        let first = try await g.next()!
        g.cancelAll()
        return first
    }
}

@Suite("Tokens: list, revoke (watches end), expiry, hashes only")
struct TokenLifecycleTests {
    func create(_ s: TestServer, _ request: TokenRequest) async throws -> TokenInfo {
        try await s.admin.send(.POST, "/api/v1/tokens", body: Array(try JSONEncoder().encode(request))).decode(TokenInfo.self)
    }

    @Test("a revoked token gets 401 on its next request, and its open watch ends with an unauthorized error")
    func revoke() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p1"), kind: .project)
            let info = try await create(s, TokenRequest(name: "ci", project: "p1", role: .edit))
            let ci = s.client(token: try #require(info.token))
            _ = try await ci.send(.GET, "/api/v1/projects/p1/workloads")
            let stream = try await ci.watch("/api/v1/projects/p1/workloads", query: [])
            let other = try await s.admin.watch("/api/v1/projects/p1/workloads", query: [])
            let ended = Task { () -> KumoError? in
                do {
                    for try await _ in stream {}
                    return KumoError(.internal, "stream ended without an error")
                } catch let e as KumoError {
                    return e
                } catch {
                    return KumoError(.internal, "\(error)")
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            let answer = try await s.admin.send(.DELETE, "/api/v1/tokens/ci").json()
            #expect(answer["watchesClosed"]?.numberValue == 1)
            let error = try await within(.seconds(5)) { await ended.value }
            #expect(error?.code == .unauthorized, "\(String(describing: error))")
            #expect(error?.message.contains("revoked") == true)
            let next = await kumoError { _ = try await ci.send(.GET, "/api/v1/projects/p1/workloads") }
            #expect(next?.code == .unauthorized)
            // the admin's watch is untouched
            _ = try await s.admin.create(Sample.workload("web"), kind: .workload, project: "p1")
            let events = try await takeEvents(1, other)
            #expect(events.first?.type == "ADDED")
        }
    }

    @Test("every kind of token can expire: an expired project token gets 401 naming the expiry, audited as expired")
    func projectTokenExpiry() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p1"), kind: .project)
            let info = try await create(s, TokenRequest(name: "short", project: "p1", role: .view, ttlSeconds: 3600))
            #expect(info.expiresAt != nil)
            let forever = try await create(s, TokenRequest(name: "long", project: "p1", role: .view))
            #expect(forever.expiresAt == nil)
            // make it look old (not used before: nothing cached)
            var record = info
            record.token = nil
            record.expiresAt = "2020-01-01T00:00:00Z"
            let hash = try #require(try await s.server.core.store.get("/auth/token-names/short"))
            try await s.server.core.store.commit(
                .init(operations: [.put("/auth/tokens/" + String(decoding: hash.value, as: UTF8.self), Array(try JSONEncoder().encode(record)))]))
            let e = await kumoError { _ = try await s.client(token: info.token!).send(.GET, "/api/v1/projects/p1/workloads") }
            #expect(e?.code == .unauthorized)
            #expect(e?.message.contains("expired") == true, "\(e?.message ?? "")")
            // the audit reason comes from the error's cause, not its text: an unknown token is "unauthenticated"
            // whatever its message says
            _ = await kumoError { _ = try await s.client(token: "not-a-token").send(.GET, "/api/v1/projects/p1/workloads") }
            let expired = try await s.admin.send(.GET, "/api/v1/audit", query: [("reason", "expired")]).decode(AuditList.self)
            #expect(expired.items.count == 1)
            #expect(expired.items.first?.message.contains("short") == true)
            let unknown = try await s.admin.send(.GET, "/api/v1/audit", query: [("reason", "unauthenticated")]).decode(AuditList.self)
            #expect(unknown.items.count == 1)
            #expect(!TokenService.isExpiry(KumoError(.unauthorized, "token expired-ci is unknown")))
            _ = try await s.client(token: forever.token!).send(.GET, "/api/v1/projects/p1/workloads")
            let bad = await kumoError { _ = try await create(s, TokenRequest(project: "p1", role: .view, ttlSeconds: 5)) }
            #expect(bad?.code == .invalid)
        }
    }

    @Test("tokens are stored as hashes only: no secret in the database, the logs, token ls or the audit log")
    func hashesOnly() async throws {
        let logs = CapturedLogs()
        let s = try await TestServer.start(logger: logs.logger())
        var secrets: [String] = []
        do {
            _ = try await s.admin.create(Sample.project("p1"), kind: .project)
            let view = try await create(s, TokenRequest(name: "viewer", project: "p1", role: .view))
            let join = try await create(s, TokenRequest(role: .join))
            secrets += [view.token!, join.token!, try JoinToken(parsing: join.token!).secret]
            let node = try await s.client(token: join.token!).send(
                .POST, "/api/v1/join", body: Array(try JSONEncoder().encode(JoinRequest(node: "n1", addresses: ["192.0.2.20"])))
            ).decode(TokenInfo.self)
            secrets += [node.token!, try #require(node.serverCredential), try #require(node.agentKey)]
            #expect(node.agentCertificate?.contains("BEGIN CERTIFICATE") == true)
            _ = try await s.client(token: view.token!).send(.GET, "/api/v1/projects/p1/workloads")
            _ = try await s.client(token: node.token!).send(.GET, "/api/v1/nodes")
            let guess = TokenService.generate()
            secrets.append(guess)
            _ = await kumoError { _ = try await s.client(token: guess).send(.GET, "/api/v1/nodes") }
            _ = await kumoError { _ = try await s.client(token: view.token!).send(.DELETE, "/api/v1/projects/p1") }

            let ls = try await s.admin.send(.GET, "/api/v1/tokens")
            let lsText = String(decoding: ls.body, as: UTF8.self)
            let list = try ls.decode(TokenList.self)
            #expect(Set(list.items.map(\.id)) == ["viewer", "node-n1", join.name])
            #expect(list.items.allSatisfy { $0.token == nil })
            #expect(list.items.first { $0.id == "viewer" }?.lastUsedAt != nil, "last used is recorded")
            let audit = String(decoding: try await s.admin.send(.GET, "/api/v1/audit").body, as: UTF8.self)
            #expect(audit.contains("unauthenticated") && audit.contains("forbidden"), "\(audit)")
            try await Task.sleep(for: .milliseconds(300))  // let the last-used write land
            await s.stop()
            var dbBytes = Data()
            for f in ["kumo.db", "kumo.db-wal"] {
                dbBytes.append((try? Data(contentsOf: URL(fileURLWithPath: s.dir + "/" + f))) ?? Data())
            }
            #expect(!dbBytes.isEmpty)
            let db = String(decoding: dbBytes, as: UTF8.self)
            for secret in secrets {
                #expect(!db.contains(secret), "a secret is in the database")
                #expect(!logs.text.contains(secret), "a secret is in the logs")
                #expect(!lsText.contains(secret), "a secret is in token ls")
                #expect(!audit.contains(secret), "a secret is in the audit log")
            }
        } catch {
            await s.finish()
            throw error
        }
        s.remove()
    }
}
