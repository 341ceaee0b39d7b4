/// Spreads a group's replicas over nodes: `1 / (1 + replicas of the group already on the node)`.
public struct GroupNodeSpreadRanker: Ranker {
    public init() {}
    public var name: String { "GroupNodeSpread" }

    public func applies(to context: PlacementContext, in snapshot: SchedulingSnapshot) -> Bool {
        context.groupTotal > 0
    }

    @inline(__always)
    public func score(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Double {
        1 / (1 + Double(context.groupReplicas(onNode: node)))
    }
}
