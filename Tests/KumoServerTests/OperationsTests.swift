import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

@Suite("API: OpenAPI, metrics, state, backup")
struct OperationsTests {
    @Test("the OpenAPI document describes every route and method")
    func openAPICoversRoutes() async throws {
        try await withServer { s in
            let doc = try await s.admin.send(.GET, "/openapi.json").json()
            #expect(doc["openapi"] == "3.0.3")
            for route in APIRoute.allCases {
                let path = doc["paths"]?[route.template]
                #expect(path != nil, "route \(route.template) missing from /openapi.json")
                for method in route.methods {
                    #expect(path?[method.lowercased()]?["responses"] != nil, "\(method) \(route.template) missing")
                }
                let documented = Set(path?.objectValue?.keys.map { $0.uppercased() } ?? [])
                #expect(documented == Set(route.methods), "\(route.template): documented \(documented)")
            }
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
            #expect(metrics.contains(#"kumo_api_requests_total{route="/api/v1/{kind}",method="POST",code="201"} 1"#))
            #expect(metrics.contains(#"kumo_api_requests_total{route="/api/v1/{kind}/{name}",method="GET",code="404"} 1"#))
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
        try KumoServer.restore(from: file, into: restoredDir)
        #expect(throws: KumoError.self) { try KumoServer.restore(from: file, into: restoredDir) }  // never overwrites
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
}
