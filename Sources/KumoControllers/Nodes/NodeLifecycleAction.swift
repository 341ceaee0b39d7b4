import KumoModel

/// What the node lifecycle controller asks its shell to do.
public enum NodeLifecycleAction: Sendable, Equatable {
    /// Set the node's condition of this type in `status.conditions` (the controller owns `Ready`).
    case setCondition(node: String, Condition)
    /// Delete the replica outright (no two-phase stop: its agent is unreachable) so the workload controller
    /// replaces it elsewhere; when the node returns, its agent stops what is no longer bound to it.
    case evict(replica: ObjectReference, node: String, reason: String)
    case event(regarding: ObjectReference, reason: String, message: String, type: EventType)
}

/// Whether evictions run, judged on the share of nodes that are not Ready at once.
public enum DisruptionMode: String, Sendable, Equatable, CaseIterable {
    /// Evictions run.
    case normal = "Normal"
    /// More than `unhealthyThreshold` of the nodes are not Ready: more likely a network or control-plane
    /// problem than node failures; evictions are held.
    case partialDisruption = "PartialDisruption"
    /// Every node is not Ready (the control plane itself was probably cut off): evictions are held.
    case fullDisruption = "FullDisruption"
}
