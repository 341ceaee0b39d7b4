import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

/// Records in the store are read with the strict parser and the tree decoder (issue 18): what the server wrote with
/// Foundation's JSONEncoder before (`\/` escapes, its own key order) must still be read, and a damaged record is
/// still the server's fault (500), not the caller's.
@Suite("Stored records: the format written before the one JSON stack still reads")
struct StoredRecordFormatTests {
    func overwriteRecord(of token: String, with bytes: String, in s: TestServer) async throws {
        let hash = try #require(try await s.server.core.store.get("/auth/token-names/" + token))
        try await s.server.core.store.commit(
            .init(operations: [.put("/auth/tokens/" + String(decoding: hash.value, as: UTF8.self), Array(bytes.utf8))]))
    }

    @Test("a token record as JSONEncoder wrote it authenticates and is listed; a damaged one is a 500")
    func tokenRecords() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p1"), kind: .project)
            let request = TokenRequest(name: "old", project: "p1", role: .edit)
            let old = try await s.admin.send(.POST, "/api/v1/tokens", body: encodeJSON(request)).decode(TokenInfo.self)
            // JSONEncoder with .sortedKeys, slashes escaped: the bytes the server stored before
            try await overwriteRecord(
                of: "old",
                with: #"{"createdAt":"2025-11-01T10:00:00.000Z","createdBy":"admin","identity":"token\/old","#
                    + #""lastUsedAt":"2025-11-02T10:00:00.000Z","name":"old","project":"p1","role":"edit"}"#,
                in: s)
            let client = s.client(token: try #require(old.token))
            _ = try await client.send(.GET, "/api/v1/projects/p1/workloads")
            let listed = try await s.admin.send(.GET, "/api/v1/tokens").decode(TokenList.self)
            let entry = try #require(listed.items.first { $0.name == "old" })
            #expect(entry.identity == "token/old")
            #expect(entry.createdAt == "2025-11-01T10:00:00.000Z")
            #expect(entry.role == .edit)

            for (name, damaged) in [("cut", #"{"createdAt":"2025-11-01T10:"#), ("twice", #"{"name":"a","name":"b"}"#)] {
                let info = try await s.admin.send(
                    .POST, "/api/v1/tokens", body: encodeJSON(TokenRequest(name: name, project: "p1", role: .view))
                ).decode(TokenInfo.self)
                try await overwriteRecord(of: name, with: damaged, in: s)
                let e = await kumoError {
                    _ = try await s.client(token: info.token!).send(.GET, "/api/v1/projects/p1/workloads")
                }
                #expect(e?.code == .internal, "\(String(describing: e))")
                #expect(e?.message.contains("damaged") == true, "\(e?.message ?? "")")
            }
        }
    }

    @Test("history entries and audit records as JSONEncoder wrote them decode")
    func historyAndAudit() throws {
        let history = HistoryStore.decode(
            Array(
                (#"{"forced":[{"field":"spec.image","previousOwner":"kumo-cli"}],"manager":"ci","operation":"apply","#
                    + #""patch":[{"op":"replace","path":"\/spec\/image","value":"web:2"}],"revision":42,"#
                    + #""time":"2025-11-01T10:00:00.000Z"}"#).utf8))
        #expect(history?.revision == 42)
        #expect(history?.patch.first?.path == "/spec/image")
        #expect(history?.forced?.first?.previousOwner == "kumo-cli")
        let audit = try decode(
            jsonBytes: Array(
                (#"{"message":"unknown or revoked token","method":"GET","path":"\/api\/v1\/projects","reason":"unauthenticated","#
                    + #""source":"192.0.2.1","status":401,"time":"2025-11-01T10:00:00.000Z","who":"bearer"}"#).utf8),
            as: AuditRecord.self)
        #expect(audit.path == "/api/v1/projects")
        #expect(audit.status == 401)
    }
}
