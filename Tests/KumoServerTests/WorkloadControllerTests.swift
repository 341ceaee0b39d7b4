import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

/// Stands in for node agents until the real agent lands (issue 3): renews the leases of the nodes it keeps
/// alive and reports bound replicas Running and ready. Named as a simulation; the real agent tests replace it.
final class SimulatedAgents: Sendable {
    let task: Task<Void, Never>

    init(_ s: TestServer, alive: @escaping @Sendable () -> Set<String>) {
        let admin = s.admin
        task = Task {
            while !Task.isCancelled {
                for node in alive() {
                    _ = try? await admin.send(.PUT, "/api/v1/nodes/\(node)/lease", body: Array(#"{"durationSeconds":1}"#.utf8))
                }
                let items = (try? await admin.send(.GET, "/api/v1/replicas").json()["items"]?.arrayValue) ?? []
                for r in items {
                    // a graceful deletion: the agent of the node stops the replica, then removes it
                    if let node = r["spec"]?["nodeName"]?.stringValue, alive().contains(node),
                        r["metadata"]?["deletionTimestamp"] != nil,
                        let project = r["metadata"]?["project"]?.stringValue, let name = r["metadata"]?["name"]?.stringValue
                    {
                        _ = try? await admin.send(.DELETE, "/api/v1/projects/\(project)/replicas/\(name)?force=true")
                        continue
                    }
                    guard let node = r["spec"]?["nodeName"]?.stringValue, alive().contains(node),
                        r["status"]?["phase"]?.stringValue != "Running",
                        let project = r["metadata"]?["project"]?.stringValue, let name = r["metadata"]?["name"]?.stringValue
                    else { continue }
                    _ = try? await admin.mergePatch(
                        .replica, name, project: project, ["status": ["phase": "Running", "ready": true]],
                        query: [("manager", "admin/agent-\(node)")])
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}

final class AliveSet: Sendable {
    private let nodes: Mutex<Set<String>>
    init(_ n: Set<String>) { nodes = Mutex(n) }
    var current: Set<String> { nodes.withLock { $0 } }
    func remove(_ n: String) { _ = nodes.withLock { $0.remove(n) } }
    func insert(_ n: String) { _ = nodes.withLock { $0.insert(n) } }
}

import Synchronization

@Suite("Workload and node lifecycle controllers over a real server (simulated agents)", .serialized)
struct WorkloadControllerTests {
    func eventually(_ what: String, seconds: Int = 30, _ check: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await check() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for \(what)")
    }

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
                _ = try await s.admin.create(Sample.node(n, labels: ["zone": z]), kind: .node)
                _ = try await s.admin.mergePatch(
                    .node, n, ["status": ["capacity": ["cpu": "8", "memory": "16Gi", "pods": 110]]],
                    query: [("manager", "admin/agent-\(n)")])
            }
            let alive = AliveSet(["n1", "n2", "n3"])
            let agents = SimulatedAgents(s) { alive.current }
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
            try await eventually("the Terminating condition", seconds: 20) {
                let r = try await s.admin.get(.replica, "stuck", project: "p")
                return r["status"]?["conditions"]?.arrayValue?.contains { $0["type"] == "Terminating" && $0["reason"] == "TerminatingTooLong" } == true
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
