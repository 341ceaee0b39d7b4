/// The scheduler's answer for one replica. Binding (node + address in one store write) is the caller's job.
public enum PlacementDecision: Sendable, Equatable {
    case placed(node: String, Explanation)
    /// No node fits; the replica stays Pending with `explanation.summary` as the reason.
    case unschedulable(Explanation)

    public var node: String? {
        if case .placed(let node, _) = self { return node }
        return nil
    }

    public var explanation: Explanation {
        switch self {
        case .placed(_, let e), .unschedulable(let e): e
        }
    }
}
