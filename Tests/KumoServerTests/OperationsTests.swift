import Foundation
import KumoAPI
import KumoModel
import Logging
import NIOHTTP1
import Testing

@testable import KumoServer

@Suite("API: OpenAPI, metrics, state, backup")
struct OperationsTests {
    @Test("the OpenAPI document describes every endpoint and method, each kind with its own paths and schema")
    func openAPICoversRoutes() async throws {
        try await withServer { s in
            let doc = try await s.admin.send(.GET, "/openapi.json").json()
            #expect(doc["openapi"] == "3.0.3")
            let documentedPaths = Set(doc["paths"]?.objectValue?.keys.map { $0 } ?? [])
            #expect(documentedPaths == Set(APIEndpoint.all.map(\.path)))
            var operationIDs: [String] = []
            for endpoint in APIEndpoint.all {
                let path = doc["paths"]?[endpoint.path]
                let documented = Set(path?.objectValue?.keys.map { $0.uppercased() } ?? [])
                #expect(documented == Set(endpoint.methods), "\(endpoint.path): documented \(documented)")
                for method in endpoint.methods {
                    let operation = path?[method.lowercased()]
                    #expect(operation?["responses"] != nil, "\(method) \(endpoint.path) missing")
                    operationIDs.append(operation?["operationId"]?.stringValue ?? "")
                }
            }
            #expect(Set(operationIDs).count == operationIDs.count, "operationIds are unique")
            #expect(!operationIDs.contains(""))
            // no generic {kind}: each kind's object schema, read off its type, is the body and the answer
            #expect(!documentedPaths.contains { $0.contains("{kind}") })
            let workload = doc["paths"]?["/api/v1/projects/{project}/workloads/{name}"]
            #expect(workload?["get"]?["operationId"] == "readWorkload")
            #expect(
                workload?["put"]?["requestBody"]?["content"]?["application/json"]?["schema"]?["$ref"]
                    == "#/components/schemas/Workload")
            let schema = doc["components"]?["schemas"]?["Workload"]
            #expect(schema?["properties"]?["spec"]?["properties"]?["replicas"]?["type"] == "integer")
            #expect(doc["components"]?["schemas"]?["NodeList"]?["properties"]?["items"]?["items"]?["$ref"] == "#/components/schemas/Node")
        }
    }

    @Test("every documented endpoint and method reaches its handler through the router (never its 404/405)")
    func routerServesEveryEndpoint() async throws {
        try await withServer { s in
            for endpoint in APIEndpoint.all {
                let path = endpoint.path
                    .replacingOccurrences(of: "{project}", with: "p")
                    .replacingOccurrences(of: "{digest}", with: "sha256:" + String(repeating: "0", count: 64))
                    .replacingOccurrences(of: "{tag}", with: "t")
                    .replacingOccurrences(of: "{name}", with: endpoint.kind == .image ? "team/app" : "missing-x")
                for method in endpoint.methods {
                    let writes = !["GET", "HEAD", "DELETE"].contains(method)
                    let answer = try await s.raw(HTTPMethod(rawValue: method), path, body: writes ? Array("{}".utf8) : nil)
                    let message = answer.json?["error"]?["message"]?.stringValue ?? ""
                    #expect(answer.status != 405, "\(method) \(path): \(message)")
                    #expect(!message.contains("no route for") && !message.contains("unknown kind"), "\(method) \(path): \(message)")
                }
            }
            // and what no endpoint has is explained
            let unknown = try await #require(kumoError { _ = try await s.admin.send(.GET, "/api/v1/gadgets") })
            #expect(unknown.code == .notFound && unknown.message.contains("unknown kind"))
            let wrongMethod = try await #require(kumoError { _ = try await s.admin.send(.POST, "/api/v1/workloads", body: Array("{}".utf8)) })
            #expect(wrongMethod.code == .methodNotAllowed && wrongMethod.message.contains("/api/v1/projects/{project}/workloads"))
            let metrics = String(decoding: try await s.admin.send(.GET, "/metrics").body, as: UTF8.self)
            #expect(metrics.contains(#"kumo_api_requests_total{route="unmatched",method="GET",code="404"}"#))
        }
    }

    @Test("paths resolve to routes; encoded slashes stay inside a name")
    func pathResolution() throws {
        #expect(try ResolvedPath.resolve("/api/v1/nodes") == ResolvedPath(route: .clusterCollection, kind: .node))
        #expect(
            try ResolvedPath.resolve("/api/v1/images/library%2Fbusybox")
                == ResolvedPath(route: .clusterObject, kind: .image, name: "library/busybox"))
        #expect(
            try ResolvedPath.resolve("/api/v1/projects/p/workloads/web/history")
                == ResolvedPath(route: .projectObjectHistory, kind: .workload, project: "p", name: "web"))
        #expect(try ResolvedPath.resolve("/api/v1/projects/p/history") == ResolvedPath(route: .clusterObjectHistory, kind: .project, name: "p"))
        #expect(try ResolvedPath.resolve("/api/v1/projects/p") == ResolvedPath(route: .clusterObject, kind: .project, name: "p"))
        #expect(try ResolvedPath.resolve("/api/v1/events") == ResolvedPath(route: .clusterCollection, kind: .event))
        #expect(try ResolvedPath.resolve("/api/v1/nodes/a/b/c") == nil)
        #expect(throws: KumoError.self) { try ResolvedPath.resolve("/api/v1/gadgets") }
    }

    @Test("/metrics counts requests by route and code; /debug/state shows the store")
    func metricsAndState() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.node("n1"), kind: .node)
            _ = try? await s.admin.get(.node, "missing")
            let metrics = String(decoding: try await s.admin.send(.GET, "/metrics").body, as: UTF8.self)
            #expect(metrics.contains(#"kumo_api_requests_total{route="/api/v1/nodes",method="POST",code="201"} 1"#))
            #expect(metrics.contains(#"kumo_api_requests_total{route="/api/v1/nodes/{name}",method="GET",code="404"} 1"#))
            #expect(metrics.contains("kumo_store_commit_duration_seconds_bucket"))
            #expect(metrics.contains("kumo_store_revision "))
            let state = try await s.admin.send(.GET, "/debug/state").json()
            #expect(state["component"] == "server")
            #expect((state["store"]?["revision"]?.numberValue ?? 0) >= 2)
            #expect((state["store"]?["databaseBytes"]?.numberValue ?? 0) > 0)
            #expect(state["store"]?["walBytes"] != nil)
        }
    }

    @Test("a backup taken while writes continue restores into a new data directory with the same objects")
    func backupRestore() async throws {
        let s = try await TestServer.start()
        _ = try await s.admin.create(Sample.project("p"), kind: .project)
        for i in 0..<20 { _ = try await s.admin.create(Sample.workload("w\(i)"), kind: .workload, project: "p") }
        let writer = Task {
            for i in 0..<50 { _ = try? await s.admin.create(Sample.node("busy\(i)"), kind: .node) }
        }
        let backup = try await s.admin.send(.GET, "/api/v1/backup", maxResponseBytes: 1 << 30)
        await writer.value
        let file = s.dir + "-backup.db"
        try Data(backup.body).write(to: URL(fileURLWithPath: file))
        let original = try await s.admin.send(.GET, "/api/v1/projects/p/workloads").json()["items"]
        await s.finish()

        let restoredDir = s.dir + "-restored"
        let logger = Logger(label: "test.restore")
        try await KumoServer.restore(from: file, into: restoredDir, logger: logger)
        await #expect(throws: KumoError.self) { try await KumoServer.restore(from: file, into: restoredDir, logger: logger) }  // never overwrites
        let r = try await TestServer.start(dir: restoredDir)
        let restored = try await r.admin.send(.GET, "/api/v1/projects/p/workloads").json()["items"]
        let nodes = try await r.admin.send(.GET, "/api/v1/nodes").json()["items"]?.arrayValue?.count ?? -1
        let history = try await r.admin.send(.GET, "/api/v1/projects/p/workloads/w3/history").decode(HistoryList.self)
        await r.finish()
        try? FileManager.default.removeItem(atPath: file)
        #expect(restored == original)
        #expect(restored?.arrayValue?.count == 20)
        #expect((0...50).contains(nodes), "a consistent prefix of the concurrent writes")
        #expect(history.items.count == 1)
    }

    static func secret(_ name: String, _ value: String) -> JSONValue {
        [
            "apiVersion": "kumo/v1", "kind": "Secret", "metadata": ["name": .string(name), "project": "p"],
            "spec": ["data": ["password": .string(Data(value.utf8).base64EncodedString())]],
        ]
    }

    /// A server with project p and one secret, backed up (GET, or POST with the key sealed under `passphrase`);
    /// returns the backup file and the server's data directory (stopped).
    static func backedUp(passphrase: String? = nil) async throws -> (file: String, dir: String) {
        let s = try await TestServer.start()
        _ = try await s.admin.create(Sample.project("p"), kind: .project)
        _ = try await s.admin.create(secret("db", "hunter2-canary"), kind: .secret, project: "p")
        let backup: KumoClient.Response
        if let passphrase {
            let body: JSONValue = ["includeSecretsKey": true, "passphrase": .string(passphrase)]
            backup = try await s.admin.send(.POST, "/api/v1/backup", body: body.serialized(), maxResponseBytes: 1 << 30)
        } else {
            backup = try await s.admin.send(.GET, "/api/v1/backup", maxResponseBytes: 1 << 30)
        }
        let file = s.dir + "-backup.db"
        try Data(backup.body).write(to: URL(fileURLWithPath: file))
        await s.stop()
        return (file, s.dir)
    }

    @Test("a restore without the backup's secrets key refuses to start and says what to copy; with --secrets-key it opens every secret")
    func restoreNeedsTheSecretsKey() async throws {
        let (file, dir) = try await Self.backedUp()
        defer { for d in [dir, dir + "-a", dir + "-b", file] { try? FileManager.default.removeItem(atPath: d) } }
        let logger = Logger(label: "test.restore")
        // without the key: the store is restored, but the server refuses to start (it used to make a new key)
        try await KumoServer.restore(from: file, into: dir + "-a", logger: logger)
        let server = try KumoServer(
            config: ServerConfiguration(dataDir: dir + "-a", host: "127.0.0.1", port: 0, runControllers: false), logger: logger)
        let refused = await #expect(throws: KumoError.self) { try await server.run(signals: []) }
        #expect(refused?.message.contains("secrets.key") == true, "\(refused?.message ?? "")")
        #expect(refused?.message.contains("--secrets-key") == true)
        #expect(!FileManager.default.fileExists(atPath: dir + "-a/secrets.key"), "the key it made for itself is gone again")
        // copying the key file afterwards is enough
        try FileManager.default.copyItem(atPath: dir + "/secrets.key", toPath: dir + "-a/secrets.key")
        let a = try await TestServer.start(dir: dir + "-a")
        #expect(try await a.admin.get(.secret, "db", project: "p")["spec"]?["data"]?["password"]?.stringValue == Data("hunter2-canary".utf8).base64EncodedString())
        await a.stop()
        // or --secrets-key at restore; a file that is not a key file is refused before anything is written
        let junk = dir + "-junk"
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: junk))
        await #expect(throws: KumoError.self) { try await KumoServer.restore(from: file, into: dir + "-b", secretsKey: junk, logger: logger) }
        #expect(!FileManager.default.fileExists(atPath: dir + "-b/kumo.db"))
        try await KumoServer.restore(from: file, into: dir + "-b", secretsKey: dir + "/secrets.key", logger: logger)
        let b = try await TestServer.start(dir: dir + "-b")
        #expect(try await b.admin.get(.secret, "db", project: "p")["spec"]?["data"]?["password"]?.stringValue == Data("hunter2-canary".utf8).base64EncodedString())
        await b.stop()
        try? FileManager.default.removeItem(atPath: junk)
    }

    @Test("a backup can carry the secrets key sealed under a passphrase; a wrong passphrase restores nothing")
    func backupWithSealedKey() async throws {
        let passphrase = "correct horse battery staple"
        let (file, dir) = try await Self.backedUp(passphrase: passphrase)
        defer { for d in [dir, dir + "-a", dir + "-b", file] { try? FileManager.default.removeItem(atPath: d) } }
        let logger = Logger(label: "test.restore")
        let raw = try Data(contentsOf: URL(fileURLWithPath: file))
        let key = try Data(contentsOf: URL(fileURLWithPath: dir + "/secrets.key"))
        #expect(raw.range(of: key) == nil, "the key is not in the backup in clear")
        let wrong = await #expect(throws: KumoError.self) {
            try await KumoServer.restore(from: file, into: dir + "-a", passphrase: "not the passphrase", logger: logger)
        }
        #expect(wrong?.message.contains("passphrase") == true)
        #expect(!FileManager.default.fileExists(atPath: dir + "-a/kumo.db"), "nothing restored")
        try await KumoServer.restore(from: file, into: dir + "-b", passphrase: passphrase, logger: logger)
        let b = try await TestServer.start(dir: dir + "-b")
        #expect(try await b.admin.get(.secret, "db", project: "p")["spec"]?["data"]?["password"]?.stringValue == Data("hunter2-canary".utf8).base64EncodedString())
        #expect(try await b.server.core.store.get(KumoServer.backupKeyEnvelopeKey) == nil, "the envelope left the store")
        await b.stop()
        // a short passphrase is refused by the server
        let s = try await TestServer.start()
        let short = await kumoError {
            _ = try await s.admin.send(.POST, "/api/v1/backup", body: (["includeSecretsKey": true, "passphrase": "short"] as JSONValue).serialized())
        }
        #expect(short?.field == "passphrase")
        await s.finish()
    }
}
