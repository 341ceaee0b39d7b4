/// With `antiAffinity: .preferred`: `1 / (1 + replicas of the group already on the node)`, with a weight
/// (default 10) large enough that a node without one always beats a node with one, whatever the other rankers
/// say, while a shared node remains possible when no other fits.
public struct SoftAntiAffinityRanker: Ranker {
    public init() {}
    public var name: String { "SoftAntiAffinity" }

    public func applies(to context: PlacementContext, in snapshot: SchedulingSnapshot) -> Bool {
        context.request.antiAffinity == .preferred && context.groupTotal > 0
    }

    @inline(__always)
    public func score(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Double {
        1 / (1 + Double(context.groupReplicas(onNode: node)))
    }
}
