import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

@Suite("API: watch streams")
struct WatchTests {

    @Test("since=REV replays every change after REV, then streams live ones, in order")
    func replayThenLive() async throws {
        try await withServer { s in
            let list = try await s.admin.send(.GET, "/api/v1/nodes").json()
            let rev = list["metadata"]!["revision"]!.stringValue!
            _ = try await s.admin.create(Sample.node("n1"), kind: .node)
            _ = try await s.admin.mergePatch(.node, "n1", ["metadata": ["labels": ["a": "1"]]])
            let stream = try await s.admin.watch("/api/v1/nodes", query: [("since", rev)])
            async let events = takeEvents(4, stream)
            try await Task.sleep(for: .milliseconds(100))
            _ = try await s.admin.create(Sample.node("n2"), kind: .node)
            _ = try await s.admin.send(.DELETE, "/api/v1/nodes/n1")
            let got = try await events
            #expect(got.map(\.type) == ["ADDED", "MODIFIED", "ADDED", "DELETED"])
            #expect(got.map { $0.object["metadata"]!["name"]!.stringValue! } == ["n1", "n1", "n2", "n1"])
            let rvs = got.map { Int($0.object["metadata"]!["resourceVersion"]!.stringValue!)! }
            #expect(rvs == rvs.sorted())
            #expect(got[1].object["metadata"]?["labels"]?["a"] == "1")
        }
    }

    @Test("without since the current objects come first as ADDED; selectors filter; history keys never leak in")
    func initialStateAndFilter() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.node("n1", labels: ["zone": "a"]), kind: .node)
            _ = try await s.admin.create(Sample.node("n2", labels: ["zone": "b"]), kind: .node)
            let stream = try await s.admin.watch("/api/v1/nodes", query: [("labelSelector", "zone=a")])
            async let events = takeEvents(2, stream)
            try await Task.sleep(for: .milliseconds(100))
            _ = try await s.admin.mergePatch(.node, "n2", ["spec": ["unschedulable": true]])  // filtered out
            _ = try await s.admin.mergePatch(.node, "n1", ["spec": ["unschedulable": true]])
            let got = try await events
            #expect(got.map(\.type) == ["ADDED", "MODIFIED"])
            #expect(got.allSatisfy { $0.object["metadata"]?["name"] == "n1" })
        }
    }

    @Test("a compacted since is 410 Gone")
    func compacted() async throws {
        try await withServer { s in
            for i in 0..<5 { _ = try await s.admin.create(Sample.node("n\(i)"), kind: .node) }
            let rev = try await s.server.core.store.currentRevision()
            try await s.server.core.store.compact(through: rev - 1)
            let (status, body) = try await s.raw(.GET, "/api/v1/nodes?watch=true&since=1")
            #expect(status == 410)
            #expect(body?["error"]?["code"] == "gone")
            let ok = try await s.admin.watch("/api/v1/nodes", query: [("since", String(rev - 1))])
            let got = try await takeEvents(1, ok)
            #expect(got.first?.object["metadata"]?["name"] == "n4")
        }
    }

    @Test("project tokens watch only their project")
    func watchAuthorization() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("a"), kind: .project)
            let info = try await s.admin.send(
                .POST, "/api/v1/tokens", body: Array(try JSONEncoder().encode(TokenRequest(project: "a", role: .view)))
            ).decode(TokenInfo.self)
            let view = s.client(token: info.token!)
            let denied = await kumoError { _ = try await view.watch("/api/v1/workloads", query: []) }
            #expect(denied?.code == .forbidden)
            let stream = try await view.watch("/api/v1/projects/a/workloads", query: [])
            async let events = takeEvents(1, stream)
            try await Task.sleep(for: .milliseconds(100))
            _ = try await s.admin.create(Sample.workload("web"), kind: .workload, project: "a")
            #expect(try await events.first?.type == "ADDED")
        }
    }

    @Test("open watch streams end when the server shuts down gracefully")
    func shutdownEndsWatches() async throws {
        let s = try await TestServer.start()
        let stream = try await s.admin.watch("/api/v1/nodes", query: [])
        let reader = Task { () -> Bool in
            do {
                for try await _ in stream {}
                return true
            } catch {
                return true
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        await s.stop()
        #expect(await reader.value)
        #expect(ContinuousClock.now - start < .seconds(10))
        s.remove()
    }
}
