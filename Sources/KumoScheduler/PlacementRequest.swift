import KumoModel

/// What the scheduler places: one replica's identity, requests and constraints, independent of any snapshot.
///
/// Requests that are absent default to ``defaultCPUMillicores`` (100m) and ``defaultMemoryBytes`` (64Mi), as a
/// container without requests still uses something; negative values count as 0.
public struct PlacementRequest: Sendable, Hashable {
    /// How strongly replicas of the same ``group`` avoid sharing a node.
    public enum AntiAffinity: String, Sendable, Hashable, Codable, CaseIterable {
        /// Only the strategy's default group spread (none under binpack).
        case none
        /// Soft: strongly prefer a node without a replica of the group, but share one when nothing else fits.
        case preferred
        /// Hard: never place two replicas of the group on one node (a feasibility check).
        case required
    }

    public static let defaultCPUMillicores: Int64 = 100
    public static let defaultMemoryBytes: Int64 = 64 << 20

    /// The replica's name (part of the seed of its node order).
    public var name: String
    public var project: String?
    /// Replicas sharing a key (e.g. `"project/workload"`) are spread over nodes and topology domains.
    public var group: String?
    public var cpuMillicores: Int64
    public var memoryBytes: Int64
    /// Labels a node must carry, all of them.
    public var nodeSelector: [String: String]
    public var tolerations: [Toleration]
    public var antiAffinity: AntiAffinity

    public init(
        name: String, project: String? = nil, group: String? = nil, cpu: CPUQuantity? = nil,
        memory: MemoryQuantity? = nil, nodeSelector: [String: String] = [:], tolerations: [Toleration] = [],
        antiAffinity: AntiAffinity = .none
    ) {
        self.name = name
        self.project = project
        self.group = group
        self.cpuMillicores = max(0, cpu?.millicores ?? Self.defaultCPUMillicores)
        self.memoryBytes = max(0, memory?.bytes ?? Self.defaultMemoryBytes)
        self.nodeSelector = nodeSelector
        self.tolerations = tolerations
        self.antiAffinity = antiAffinity
    }

    /// The request for a KumoModel replica. `group` is the caller's choice (e.g. `"\(project)/\(workload)"`).
    public init(replica: Replica, group: String? = nil, antiAffinity: AntiAffinity = .none) {
        self.init(
            name: replica.metadata.name, project: replica.metadata.project, group: group,
            cpu: replica.spec.resources?.cpu, memory: replica.spec.resources?.memory,
            nodeSelector: replica.spec.nodeSelector ?? [:], tolerations: replica.spec.tolerations ?? [],
            antiAffinity: antiAffinity)
    }

    /// `project/name`, or `name` for a replica without a project.
    public var identity: String { project.map { "\($0)/\(name)" } ?? name }

    /// True when some toleration lets the replica onto a node with `taint`.
    public func tolerates(_ taint: Taint) -> Bool {
        tolerations.contains { $0.tolerates(taint) }
    }
}
