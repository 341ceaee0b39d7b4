/// Spreads a group's replicas over the domains of the topology key (e.g. zones):
/// `1 / (1 + skew)`, where skew is the replicas of the group in the node's domain minus the fewest in any domain
/// that has a Ready, uncordoned node. A node without the label scores 0.5, as if one above the minimum.
public struct GroupTopologySpreadRanker: Ranker {
    public init() {}
    public var name: String { "GroupTopologySpread" }

    public func applies(to context: PlacementContext, in snapshot: SchedulingSnapshot) -> Bool {
        context.hasTopology && context.groupTotal > 0
    }

    @inline(__always)
    public func score(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Double {
        guard let count = context.groupReplicas(inDomainOf: node, in: snapshot) else { return 0.5 }
        return 1 / (1 + Double(max(0, count - context.minimumDomainCount)))
    }
}
