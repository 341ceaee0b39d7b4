import KumoModel
import KumoScheduler

/// Small builders for scheduler tests.
enum Fixtures {
    static func node(
        _ name: String, cpu: Int64 = 4000, memoryMi: Int64 = 8192, pods: Int? = nil, zone: String? = nil,
        labels: [String: String] = [:], ready: Bool = true, cordoned: Bool = false, taints: [Taint] = []
    ) -> SchedulingNode {
        var labels = labels
        if let zone { labels["zone"] = zone }
        return SchedulingNode(
            name: name, labels: labels, cpuMillicores: cpu, memoryBytes: memoryMi << 20, pods: pods, ready: ready,
            unschedulable: cordoned, taints: taints)
    }

    static func request(
        _ name: String, group: String? = "demo/web", cpu: Int64 = 100, memoryMi: Int64 = 64,
        nodeSelector: [String: String] = [:], tolerations: [Toleration] = [],
        antiAffinity: PlacementRequest.AntiAffinity = .none
    ) -> PlacementRequest {
        PlacementRequest(
            name: name, project: "demo", group: group, cpu: .millicores(cpu), memory: .mebibytes(memoryMi),
            nodeSelector: nodeSelector, tolerations: tolerations, antiAffinity: antiAffinity)
    }

    /// Schedules and binds each request in turn; returns the chosen node names (nil when unschedulable).
    static func placeAll(
        _ requests: [PlacementRequest], in snapshot: inout SchedulingSnapshot, with scheduler: Scheduler
    ) -> [String?] {
        requests.map { request in
            let decision = scheduler.schedule(request, in: snapshot)
            if let node = decision.node { snapshot.bind(request, to: node) }
            return decision.node
        }
    }

    static func replicas(_ count: Int, group: String = "demo/web", cpu: Int64 = 100, memoryMi: Int64 = 64,
        antiAffinity: PlacementRequest.AntiAffinity = .none
    ) -> [PlacementRequest] {
        (0..<count).map {
            request("web-\($0)", group: group, cpu: cpu, memoryMi: memoryMi, antiAffinity: antiAffinity)
        }
    }
}
