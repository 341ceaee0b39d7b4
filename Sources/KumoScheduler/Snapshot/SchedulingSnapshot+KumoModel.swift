import KumoModel

extension SchedulingSnapshot {
    /// Builds the view from stored objects: every node, and every replica already bound (`spec.nodeName`) that
    /// still holds its resources (not Succeeded or Failed). `group` names a replica's group (e.g. from its
    /// workload label); replicas bound to unknown nodes are ignored.
    public init(
        nodes: [Node], replicas: [Replica], topologyKeys: [String] = ["zone"],
        group: (Replica) -> String? = { _ in nil }
    ) {
        self.init(nodes: nodes.map(SchedulingNode.init(node:)), topologyKeys: topologyKeys)
        for replica in replicas {
            guard let nodeName = replica.spec.nodeName, let node = index(ofNode: nodeName) else { continue }
            if let phase = replica.status?.phase, phase == .succeeded || phase == .failed { continue }
            bind(PlacementRequest(replica: replica, group: group(replica)), toNodeAt: node)
        }
    }
}
