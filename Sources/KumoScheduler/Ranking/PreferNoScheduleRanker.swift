/// Scores down nodes with `PreferNoSchedule` taints the request does not tolerate: `1 / (1 + such taints)`.
public struct PreferNoScheduleRanker: Ranker {
    public init() {}
    public var name: String { "PreferNoSchedule" }

    @inline(__always)
    public func score(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Double {
        guard snapshot.states[node].hasPreferTaints else { return 1 }
        var untolerated = 0
        for taint in snapshot.taints[node] where taint.effect == .preferNoSchedule && !context.request.tolerates(taint) {
            untolerated += 1
        }
        return 1 / (1 + Double(untolerated))
    }
}
