import KumoModel

/// One node as the scheduler sees it: what the caller copies out of a `Node` when building a snapshot.
public struct SchedulingNode: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    /// Allocatable cpu (millicores) and memory (bytes); a node that reports none fits no request.
    public var cpuMillicores: Int64
    public var memoryBytes: Int64
    /// Maximum number of replicas; nil means unlimited.
    public var pods: Int?
    /// The `Ready` condition is `True`.
    public var ready: Bool
    /// Cordoned.
    public var unschedulable: Bool
    public var taints: [Taint]

    public init(
        name: String, labels: [String: String] = [:], cpuMillicores: Int64, memoryBytes: Int64, pods: Int? = nil,
        ready: Bool = true, unschedulable: Bool = false, taints: [Taint] = []
    ) {
        self.name = name
        self.labels = labels
        self.cpuMillicores = cpuMillicores
        self.memoryBytes = memoryBytes
        self.pods = pods
        self.ready = ready
        self.unschedulable = unschedulable
        self.taints = taints
    }

    /// From a KumoModel node: `status.allocatable`, falling back to `status.capacity`; Ready when the `Ready`
    /// condition is `True`; unschedulable when cordoned or without a pod subnet (IPAM exhausted: no addresses).
    public init(node: Node) {
        let resources = node.status?.allocatable ?? node.status?.capacity
        let ready = node.status?.conditions?.contains { $0.type == "Ready" && $0.status == .true } ?? false
        self.init(
            name: node.metadata.name, labels: node.metadata.labels ?? [:],
            cpuMillicores: resources?.cpu?.millicores ?? 0, memoryBytes: resources?.memory?.bytes ?? 0,
            pods: resources?.pods, ready: ready, unschedulable: (node.spec.unschedulable ?? false) || node.spec.podCIDR == nil,
            taints: node.spec.taints ?? [])
    }
}
