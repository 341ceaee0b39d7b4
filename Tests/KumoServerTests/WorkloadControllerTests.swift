import Foundation
import KumoAPI
import KumoModel
import Synchronization
import Testing

@testable import KumoServer

/// The nodes whose (simulated) agents are up; a test takes one away to lose the node.
final class AliveSet: Sendable {
    private let nodes: Mutex<Set<String>>
    init(_ n: Set<String>) { nodes = Mutex(n) }
    var current: Set<String> { nodes.withLock { $0 } }
    func remove(_ n: String) { _ = nodes.withLock { $0.remove(n) } }
    func insert(_ n: String) { _ = nodes.withLock { $0.insert(n) } }
}

@Suite("Workload and node lifecycle controllers over a real server (simulated agents)", .serialized)
struct WorkloadControllerTests {
    func replicas(_ s: TestServer) async throws -> [JSONValue] {
        try await s.admin.send(.GET, "/api/v1/projects/p/replicas").json()["items"]?.arrayValue ?? []
    }

    @Test("replicas follow the workload: create, spread, scale, roll out a new image, replace a lost node's, delete")
    func lifecycle() async throws {
        try await withServer(configure: {
            $0.runControllers = true
            $0.nodeGracePeriod = .seconds(2)
        }) { s in
            for (n, z) in [("n1", "a"), ("n2", "b"), ("n3", "c")] {
                try await SimulatedAgents.register(n, with: s.admin, labels: ["zone": z])
            }
            let alive = AliveSet(["n1", "n2", "n3"])
            let agents = SimulatedAgents(s.admin) { alive.current }
            defer { agents.task.cancel() }
            // all three nodes Ready first (otherwise the first Ready node rightly takes every replica)
            try await eventually("3 Ready nodes") {
                let nodes = try await s.admin.send(.GET, "/api/v1/nodes").json()["items"]?.arrayValue ?? []
                return nodes.filter {
                    $0["status"]?["conditions"]?.arrayValue?.first { $0["type"] == "Ready" }?["status"] == "True"
                }.count == 3
            }
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            _ = try await s.admin.create(Sample.workload("web", replicas: 3), kind: .workload, project: "p")

            try await eventually("3 ready replicas on 3 nodes") {
                let w = try await s.admin.get(.workload, "web", project: "p")
                let nodes = Set(try await replicas(s).compactMap { $0["spec"]?["nodeName"]?.stringValue })
                return w["status"]?["readyReplicas"] == 3 && nodes.count == 3
            }
            // scale
            _ = try await s.admin.mergePatch(.workload, "web", project: "p", ["spec": ["replicas": 5]])
            try await eventually("5 ready") {
                try await s.admin.get(.workload, "web", project: "p")["status"]?["readyReplicas"] == 5
            }
            // rolling update to a new image
            _ = try await s.admin.mergePatch(
                .workload, "web", project: "p", ["spec": ["template": ["spec": ["image": "busybox:1.37"]]]])
            try await eventually("rolled out") {
                let rs = try await replicas(s)
                return rs.count == 5 && rs.allSatisfy { $0["spec"]?["image"] == "busybox:1.37" && $0["status"]?["ready"] == true }
            }
            let w = try await s.admin.get(.workload, "web", project: "p")
            #expect(w["status"]?["updatedReplicas"] == 5)
            #expect((w["status"]?["revisions"]?.arrayValue?.count ?? 0) >= 2, "old template kept for undo")

            // node loss: n1 stops heartbeating → Ready Unknown, its replicas replaced elsewhere
            alive.remove("n1")
            try await eventually("n1 not Ready and nothing left on it, 5 ready again") {
                let n1 = try await s.admin.get(.node, "n1")
                let ready = n1["status"]?["conditions"]?.arrayValue?.first { $0["type"] == "Ready" }
                let rs = try await replicas(s)
                return ready?["status"] == "Unknown" && !rs.contains { $0["spec"]?["nodeName"] == "n1" }
                    && rs.filter { $0["status"]?["ready"] == true }.count == 5
            }
            let evictions = try await s.admin.send(.GET, "/api/v1/projects/p/events").json()["items"]?.arrayValue ?? []
            // one event per evicted replica, in one wording (there were two, from the decision core and the loop)
            let evicted = evictions.filter { $0["spec"]?["reason"] == "Evicted" }
            #expect(!evicted.isEmpty)
            let perReplica = Dictionary(grouping: evicted) { $0["spec"]?["regarding"]?["name"]?.stringValue ?? "" }
            #expect(perReplica.values.allSatisfy { $0.count == 1 }, "\(perReplica.mapValues(\.count))")
            #expect(Set(evicted.compactMap { $0["spec"]?["message"]?.stringValue }).count == 1)
            // it comes back
            alive.insert("n1")
            try await eventually("n1 Ready again") {
                let n1 = try await s.admin.get(.node, "n1")
                return n1["status"]?["conditions"]?.arrayValue?.first { $0["type"] == "Ready" }?["status"] == "True"
            }
            #expect(try await replicas(s).count == 5, "exactly `replicas` copies")

            // deleting the workload deletes its replicas
            _ = try await s.admin.send(.DELETE, "/api/v1/projects/p/workloads/web")
            try await eventually("replicas gone") { try await replicas(s).isEmpty }
            await agents.stop()
        }
    }

    @Test("a replica on a Ready node whose agent never finishes the stop is flagged after grace + margin, once, and not forced")
    func terminatingTooLong() async throws {
        try await withServer(configure: {
            $0.runControllers = true
            $0.terminationMargin = .seconds(1)
        }) { s in
            _ = try await s.admin.create(Sample.node("n1"), kind: .node)
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            // the node heartbeats (Ready) but its "agent" never removes what is deleted: a hung agent
            let heartbeat = Task {
                while !Task.isCancelled {
                    _ = try? await s.admin.send(.PUT, "/api/v1/nodes/n1/lease", body: Array(#"{"durationSeconds":5}"#.utf8))
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            defer { heartbeat.cancel() }
            var replica = Sample.replica("stuck")
            replica["spec"]?["nodeName"] = "n1"
            replica["spec"]?["terminationGracePeriodSeconds"] = 1
            _ = try await s.admin.create(replica, kind: .replica, project: "p")
            _ = try await s.admin.send(.DELETE, "/api/v1/projects/p/replicas/stuck")
            do {
                try await eventually("the Terminating condition", timeout: .seconds(20)) {
                    let r = try await s.admin.get(.replica, "stuck", project: "p")
                    return r["status"]?["conditions"]?.arrayValue?.contains { $0["type"] == "Terminating" && $0["reason"] == "TerminatingTooLong" } == true
                }
            } catch {
                // what the controller saw, to tell a slow pass from a wrong decision
                let replica = try? await s.admin.get(.replica, "stuck", project: "p")
                let node = try? await s.admin.get(.node, "n1")
                let lease = try? await s.admin.send(.GET, "/api/v1/nodes/n1/lease").json()
                let state = try? await s.admin.send(.GET, "/debug/state").json()
                let seen: String =
                    "replica: \(replica?.jsonString ?? "-")\nnode: \(node?.jsonString ?? "-")\nlease: \(lease?.jsonString ?? "-")\n"
                    + "controllers: \(state?["nodeLifecycle"]?.jsonString ?? state?.jsonString ?? "-")"
                Issue.record(Comment(rawValue: seen))
                throw error
            }
            try await Task.sleep(for: .seconds(2))  // further passes must not flag it again
            let events = try await s.admin.send(.GET, "/api/v1/projects/p/events").json()["items"]?.arrayValue ?? []
            let flagged = events.filter { $0["spec"]?["reason"] == "TerminatingTooLong" }
            #expect(flagged.count == 1)
            #expect(flagged.first?["spec"]?["message"]?.stringValue?.contains("node n1 is Ready") == true)
            let r = try await s.admin.get(.replica, "stuck", project: "p")
            #expect(r["metadata"]?["deletionTimestamp"] != nil, "still there: a live node's container is not forced away")
        }
    }
}
