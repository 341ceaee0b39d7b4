import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

@Suite("Scheduling controller: replicas placed by the real scheduler over a real server")
struct SchedulingControllerTests {
    /// A registered node with its capacity and a Ready condition (this server runs no node-lifecycle controller).
    func readyNode(_ s: TestServer, _ name: String, zone: String, cpu: String = "4", memory: String = "8Gi") async throws {
        try await SimulatedAgents.register(name, with: s.admin, labels: ["zone": zone], cpu: cpu, memory: memory, ready: true)
    }

    func replica(_ name: String, workload: String, cpu: String = "500m") -> JSONValue {
        [
            "metadata": ["name": .string(name), "labels": ["kumo.dev/workload": .string(workload)]],
            "spec": ["image": "busybox:1.36", "resources": ["cpu": .string(cpu), "memory": "64Mi"]],
        ]
    }

    @Test("a workload's replicas are spread over nodes and zones, each bound with an address and an explanation")
    func spread() async throws {
        try await withServer(configure: { $0.runControllers = true; $0.controllers = ["scheduler"] }) { s in
            for (n, z) in [("n1", "a"), ("n2", "b"), ("n3", "c")] { try await readyNode(s, n, zone: z) }
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            for i in 0..<3 { _ = try await s.admin.create(replica("web-\(i)", workload: "web"), kind: .replica, project: "p") }
            var items: [JSONValue] = []
            try await eventually("3 bound replicas") {
                items = try await s.admin.send(.GET, "/api/v1/projects/p/replicas").json()["items"]?.arrayValue ?? []
                return items.filter { $0["spec"]?["nodeName"] != nil }.count == 3
            }
            let nodes = Set(items.compactMap { $0["spec"]?["nodeName"]?.stringValue })
            #expect(nodes == ["n1", "n2", "n3"], "spread")
            #expect(items.allSatisfy { $0["spec"]?["network"]?["ip"] != nil })
            let explanation = try JSONValue(parsing: items[0]["metadata"]!["annotations"]!["kumo.dev/placement"]!.stringValue!)
            #expect(explanation["nodesTotal"] == 3)
            #expect(explanation["topScores"]?.arrayValue?.isEmpty == false)
        }
    }

    @Test("a replica that fits nowhere stays Pending with the reason and an event, and is placed once a node fits")
    func unschedulable() async throws {
        try await withServer(configure: { $0.runControllers = true; $0.controllers = ["scheduler"] }) { s in
            try await readyNode(s, "n1", zone: "a", cpu: "1")
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            _ = try await s.admin.create(replica("big", workload: "big", cpu: "8"), kind: .replica, project: "p")
            var status: JSONValue? = nil
            try await eventually("Pending status") {
                status = try await s.admin.get(.replica, "big", project: "p")["status"]
                return status?["phase"] == "Pending"
            }
            #expect(status?["reason"] == "Unschedulable")
            #expect(status?["message"]?.stringValue?.contains("0/1 nodes available") == true, "\(String(describing: status))")
            #expect(status?["message"]?.stringValue?.contains("cpu") == true)
            let events = try await s.admin.send(.GET, "/api/v1/projects/p/events").json()["items"]?.arrayValue ?? []
            #expect(events.contains { $0["spec"]?["reason"] == "FailedScheduling" })
            try await readyNode(s, "huge", zone: "b", cpu: "16")
            try await eventually("placement on the new node") {
                try await s.admin.get(.replica, "big", project: "p")["spec"]?["nodeName"] == "huge"
            }
            let placed = try await s.admin.get(.replica, "big", project: "p")
            #expect(placed["status"]?["phase"] == nil, "the scheduler's Pending status ends with the binding")
            #expect(placed["metadata"]?["managedFields"]?["status.phase"] == nil)
            let state = try await s.admin.send(.GET, "/debug/state").json()
            #expect((state["controllers"]?["scheduler"]?["placed"]?.numberValue ?? 0) >= 1)
        }
    }

    @Test("placements come from a view kept current change by change: quick creates never overcommit, a deletion frees room, the snapshot is not rebuilt per placement, and the controllers share one list per kind")
    func incrementalView() async throws {
        try await withServer(configure: { $0.runControllers = true; $0.controllers = ["scheduler", "endpoints"] }) { s in
            for n in ["n1", "n2"] { try await readyNode(s, n, zone: "a", cpu: "2") }
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            // 8 × 500m fill both nodes exactly; created without waiting, each placement must see the ones before
            for i in 0..<9 { _ = try await s.admin.create(replica("r-\(i)", workload: "w"), kind: .replica, project: "p") }
            var items: [JSONValue] = []
            try await eventually("8 bound, 1 Pending") {
                items = try await s.admin.send(.GET, "/api/v1/projects/p/replicas").json()["items"]?.arrayValue ?? []
                return items.filter { $0["spec"]?["nodeName"] != nil }.count == 8 && items.contains { $0["status"]?["phase"] == "Pending" }
            }
            let perNode = Dictionary(grouping: items.compactMap { $0["spec"]?["nodeName"]?.stringValue }, by: { $0 }).mapValues(\.count)
            #expect(perNode == ["n1": 4, "n2": 4], "no node holds more than its 2 cpus: \(perNode)")
            let waiting = try #require(items.first { $0["spec"]?["nodeName"] == nil }?["metadata"]?["name"]?.stringValue)
            let victim = try #require(items.first { $0["spec"]?["nodeName"] != nil }?["metadata"]?["name"]?.stringValue)
            _ = try await s.admin.send(.DELETE, APIPaths.object(.replica, project: "p", name: victim), query: [("force", "true")])
            try await eventually("the waiting replica takes the freed room") {
                try await s.admin.get(.replica, waiting, project: "p")["spec"]?["nodeName"] != nil
            }
            let state = try await s.admin.send(.GET, "/debug/state").json()
            let scheduler = state["controllers"]?["scheduler"]
            #expect((scheduler?["placed"]?.numberValue ?? 0) >= 9)
            #expect((scheduler?["snapshotBuilds"]?.numberValue ?? 99) <= 3, "rebuilt per placement? \(scheduler?.jsonString ?? "")")
            #expect(scheduler?["boundAccounted"] == 8)
            let replicas = state["controllers"]?["informers"]?["replicas"]
            #expect(replicas?["lists"] == 1 && replicas?["objects"] == 8, "one shared replica cache: \(replicas?.jsonString ?? "")")
        }
    }
}
