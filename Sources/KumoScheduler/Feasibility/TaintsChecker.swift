/// Rejects nodes with a `NoSchedule` or `NoExecute` taint that none of the request's tolerations tolerates.
/// `PreferNoSchedule` taints never reject; ``PreferNoScheduleRanker`` scores them down instead.
public struct TaintsChecker: FeasibilityChecker {
    public init() {}
    public var name: String { "Taints" }
    public var reasons: [String] { ["had untolerated taint"] }

    @inline(__always)
    public func feasible(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Bool {
        guard snapshot.states[node].hasHardTaints else { return true }
        for taint in snapshot.taints[node] where taint.effect != .preferNoSchedule {
            if !context.request.tolerates(taint) { return false }
        }
        return true
    }
}
