import KumoModel

/// What the reconcile cores need to know about one Replica, read from its labels and status.
public struct ReplicaSnapshot: Sendable, Hashable {
    public var name: String
    public var project: String?
    /// Label `kumo.dev/workload`.
    public var workload: String?
    /// Label `kumo.dev/template-hash` (nil when missing: the replica then counts as an old revision).
    public var templateHash: String?
    /// Nil when the agent has not reported yet (treated as Pending).
    public var phase: ReplicaPhase?
    public var ready: Bool
    public var nodeName: String?
    /// From `metadata.createdAt`; orders "newest" when scaling down (nil sorts as newest).
    public var createdAt: Timestamp?
    public var exitCode: Int?

    public init(
        name: String, project: String? = nil, workload: String? = nil, templateHash: String? = nil,
        phase: ReplicaPhase? = nil, ready: Bool = false, nodeName: String? = nil, createdAt: Timestamp? = nil,
        exitCode: Int? = nil
    ) {
        self.name = name
        self.project = project
        self.workload = workload
        self.templateHash = templateHash
        self.phase = phase
        self.ready = ready
        self.nodeName = nodeName
        self.createdAt = createdAt
        self.exitCode = exitCode
    }

    public init(_ replica: Replica) {
        let labels = replica.metadata.labels ?? [:]
        self.init(
            name: replica.metadata.name, project: replica.metadata.project, workload: labels[WorkloadLabels.workload],
            templateHash: labels[WorkloadLabels.templateHash], phase: replica.status?.phase,
            ready: replica.status?.ready ?? false, nodeName: replica.spec.nodeName,
            createdAt: replica.metadata.createdAt.flatMap { Timestamp(rfc3339: $0) },
            exitCode: replica.status?.exitCode)
    }

    /// Deletion in progress (two-phase stop): still holds resources, no longer serves.
    public var isTerminating: Bool { phase == .terminating }

    /// Its container has exited for good (the agent will not restart it): the workload replaces it.
    public var isFinished: Bool { phase == .failed || phase == .succeeded }

    /// Neither terminating nor finished: counts as one of the workload's replicas.
    public var isAlive: Bool { !isTerminating && !isFinished }

    /// Running and reporting ready (a stale `ready` on a Terminating, Unknown or finished replica does not count).
    public var isReady: Bool { phase == .running && ready }

    public var reference: ObjectReference { ObjectReference(kind: .replica, name: name, project: project) }
}
