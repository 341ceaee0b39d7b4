import KumoAPI
import KumoModel

/// Fake node agents, over the API only (no containers, no network): for controller tests and scale runs against a
/// real server without real agents. While running, every 100 ms it renews the lease of each node `alive` names,
/// reports each replica bound to such a node Running and ready (as that node's agent, field manager
/// `admin/agent-NODE`), and finishes the graceful deletion of each one being deleted. A node left out of `alive`
/// stops heartbeating, as a lost node does; its replicas are left alone.
public final class SimulatedAgents: Sendable {
    public let task: Task<Void, Never>

    public init(_ admin: KumoClient, alive: @escaping @Sendable () -> Set<String>) {
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

    /// Registers `node` as its agent does: the Node (`Sample.node`), then its capacity in its status, written as
    /// the node's agent (field manager `admin/agent-NODE`). With `ready`, also a Ready condition, for servers that
    /// run no node-lifecycle controller to derive it from the lease.
    public static func register(
        _ node: String, with admin: KumoClient, labels: [String: String] = [:], cpu: String = "8",
        memory: String = "16Gi", ready: Bool = false
    ) async throws {
        _ = try await admin.create(Sample.node(node, labels: labels), kind: .node)
        var status: JSONValue = ["capacity": ["cpu": .string(cpu), "memory": .string(memory), "pods": 110]]
        if ready { status["conditions"] = [["type": "Ready", "status": "True"]] }
        _ = try await admin.mergePatch(.node, node, ["status": status], query: [("manager", "admin/agent-\(node)")])
    }

    public func stop() async {
        task.cancel()
        await task.value
    }
}
