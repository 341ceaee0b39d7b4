import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

@Suite("API: bad input gets the right status and error body, and the server stays up")
struct APIErrorTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var method: String
        var path: String
        var body: String?
        var token: String?  // nil = admin, "" = none
        var status: Int
        var code: String
        var field: String?
        var description: String { name }
    }

    static let big = String(repeating: "x", count: 3 * 1024 * 1024 + 10)

    static let cases: [Case] = [
        Case(name: "malformed JSON", method: "POST", path: "/api/v1/nodes", body: "{\"metadata\": {", status: 400, code: "bad_request"),
        Case(name: "not JSON at all", method: "POST", path: "/api/v1/nodes", body: "apiVersion: kumo/v1", status: 400, code: "bad_request"),
        Case(name: "empty body", method: "POST", path: "/api/v1/nodes", body: "", status: 400, code: "bad_request"),
        Case(name: "array instead of object", method: "POST", path: "/api/v1/nodes", body: "[1,2]", status: 422, code: "invalid"),
        Case(
            name: "invalid name", method: "POST", path: "/api/v1/nodes",
            body: #"{"metadata":{"name":"Bad_Name"},"spec":{}}"#, status: 422, code: "invalid", field: "metadata.name"),
        Case(name: "missing name", method: "POST", path: "/api/v1/nodes", body: #"{"metadata":{},"spec":{}}"#, status: 422, code: "invalid", field: "metadata.name"),
        Case(
            name: "wrong type", method: "POST", path: "/api/v1/nodes",
            body: #"{"metadata":{"name":"n1"},"spec":{"unschedulable":"yes"}}"#, status: 422, code: "invalid",
            field: "spec.unschedulable"),
        Case(
            name: "unknown field", method: "POST", path: "/api/v1/nodes",
            body: #"{"metadata":{"name":"n1"},"spec":{"unschedulabel":true}}"#, status: 422, code: "invalid",
            field: "spec.unschedulabel"),
        Case(
            name: "bad label", method: "POST", path: "/api/v1/nodes",
            body: #"{"metadata":{"name":"n1","labels":{"bad key!":"v"}},"spec":{}}"#, status: 422, code: "invalid"),
        Case(
            name: "wrong kind in body", method: "POST", path: "/api/v1/nodes",
            body: #"{"kind":"Project","metadata":{"name":"n1"},"spec":{}}"#, status: 422, code: "invalid", field: "kind"),
        Case(name: "oversize body", method: "POST", path: "/api/v1/nodes", body: big, status: 413, code: "payload_too_large"),
        Case(name: "unknown kind", method: "GET", path: "/api/v1/widgets", status: 404, code: "not_found", field: "kind"),
        Case(name: "unknown route", method: "GET", path: "/nope", status: 404, code: "not_found"),
        Case(name: "method not allowed", method: "DELETE", path: "/api/v1/nodes", status: 405, code: "method_not_allowed"),
        Case(name: "missing token", method: "GET", path: "/api/v1/nodes", token: "", status: 401, code: "unauthorized"),
        Case(name: "wrong token", method: "GET", path: "/api/v1/nodes", token: "kumo_wrong", status: 401, code: "unauthorized"),
        Case(name: "not found", method: "GET", path: "/api/v1/nodes/missing", status: 404, code: "not_found"),
        Case(name: "bad limit", method: "GET", path: "/api/v1/nodes?limit=-3", status: 400, code: "bad_request", field: "limit"),
        Case(name: "bad selector", method: "GET", path: "/api/v1/nodes?labelSelector=a%20in%20(", status: 400, code: "bad_request", field: "labelSelector"),
        Case(name: "bad continue", method: "GET", path: "/api/v1/nodes?limit=1&continue=zzz", status: 400, code: "bad_request", field: "continue"),
        Case(name: "project-scoped kind at cluster path", method: "GET", path: "/api/v1/workloads/web", status: 404, code: "not_found", field: "kind"),
        Case(name: "impersonating manager", method: "POST", path: "/api/v1/nodes?manager=scheduler", body: #"{"metadata":{"name":"n9"},"spec":{}}"#, status: 403, code: "forbidden", field: "manager"),
        Case(name: "bad patch content type", method: "PATCH", path: "/api/v1/nodes/n0", body: "{}", status: 400, code: "bad_request"),
    ]

    @Test("bad input", arguments: cases)
    func badInput(_ c: Case) async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.node("n0"), kind: .node)
            let token = c.token ?? s.admin.token
            let contentType = c.name == "bad patch content type" ? "text/plain" : "application/json"
            let (status, body) = try await s.raw(
                .init(rawValue: c.method), c.path, body: c.body.map { Array($0.utf8) }, token: token, contentType: contentType)
            #expect(status == c.status, "\(c.name): status")
            #expect(body?["error"]?["code"]?.stringValue == c.code, "\(c.name): code in \(String(describing: body))")
            #expect(body?["error"]?["message"]?.stringValue?.isEmpty == false, "\(c.name): message")
            if let field = c.field {
                #expect(body?["error"]?["field"]?.stringValue == field, "\(c.name): field in \(String(describing: body))")
            }
            // the server is still up and nothing was lost
            let health = try await s.raw(.GET, "/healthz", token: "")
            #expect(health.status == 200)
            #expect(try await s.admin.get(.node, "n0")["metadata"]?["name"] == "n0")
        }
    }
}

@Suite("API: tokens and authorization")
struct AuthTests {
    @Test("project tokens see only their project; view cannot write; revoked tokens stop working")
    func projectTokens() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("a"), kind: .project)
            _ = try await s.admin.create(Sample.project("b"), kind: .project)
            _ = try await s.admin.create(Sample.secret("db"), kind: .secret, project: "a")
            _ = try await s.admin.create(Sample.secret("db"), kind: .secret, project: "b")
            func token(_ p: String, _ role: TokenRole, _ name: String) async throws -> TokenInfo {
                try await s.admin.send(
                    .POST, "/api/v1/tokens", body: Array(try JSONEncoder().encode(TokenRequest(name: name, project: p, role: role)))
                ).decode(TokenInfo.self)
            }
            let editA = try await token("a", .edit, "a-edit")
            let viewA = try await token("a", .view, "a-view")
            #expect(editA.token?.hasPrefix("kumo_") == true)
            #expect(editA.identity == "token/a-edit")
            let edit = s.client(token: editA.token!)
            let view = s.client(token: viewA.token!)

            // edit: read and write its project
            let wl = try await edit.create(Sample.workload("web"), kind: .workload, project: "a")
            #expect(wl["metadata"]?["managedFields"]?["spec.replicas"] == "token/a-edit", "manager = token identity")
            #expect(try await edit.get(.secret, "db", project: "a")["spec"]?["data"]?["password"] == "aHVudGVyMg==")
            // cross-project → 403
            for call in [
                { _ = try await edit.get(.secret, "db", project: "b") },
                { _ = try await edit.create(Sample.workload("x"), kind: .workload, project: "b") },
                { _ = try await edit.send(.GET, "/api/v1/secrets") },
                { _ = try await edit.send(.GET, "/api/v1/nodes") },
                { _ = try await edit.send(.GET, "/api/v1/tokens") },
                { _ = try await edit.send(.GET, "/metrics") },
                { _ = try await edit.get(.project, "b") },
            ] as [() async throws -> Void] {
                #expect(await kumoError(call)?.code == .forbidden)
            }
            #expect(try await edit.get(.project, "a")["metadata"]?["name"] == "a")
            // view: reads, no secret values, no writes
            let redacted = try await view.get(.secret, "db", project: "a")
            #expect(redacted["spec"]?["data"]?["password"] == "")
            #expect(try await view.get(.workload, "web", project: "a")["spec"]?["replicas"] == 2)
            let write = await kumoError { _ = try await view.mergePatch(.workload, "web", project: "a", ["spec": ["replicas": 3]]) }
            #expect(write?.code == .forbidden)
            // revoke
            try await s.admin.send(.DELETE, "/api/v1/tokens/a-edit")
            let revoked = await kumoError { _ = try await edit.get(.workload, "web", project: "a") }
            #expect(revoked?.code == .unauthorized)
            let list = try await s.admin.send(.GET, "/api/v1/tokens").decode(TokenList.self)
            #expect(list.items.map(\.name) == ["a-view"])
            #expect(list.items.allSatisfy { $0.token == nil }, "secrets are never listed")
        }
    }

    @Test("the admin token file is created 0600 and reused across restarts")
    func adminTokenFile() async throws {
        let s = try await TestServer.start()
        let path = s.dir + "/admin.token"
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let first = try String(contentsOfFile: path, encoding: .utf8)
        await s.stop()
        let again = try await TestServer.start(dir: s.dir)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == first)
        #expect(try await again.admin.send(.GET, "/version").status == 200)
        await again.finish()
    }
}
