/// Rejects nodes that lack any label of the request's `nodeSelector` (or carry another value).
/// The scheduler visits only the nodes that carry the selector's rarest label and counts every other node here,
/// before any other checker; this checker then tests the remaining labels.
public struct NodeSelectorChecker: FeasibilityChecker {
    public init() {}
    public var name: String { "NodeSelector" }
    public var reasons: [String] { ["didn't match node selector"] }

    public func applies(to context: PlacementContext, in snapshot: SchedulingSnapshot) -> Bool {
        !context.request.nodeSelector.isEmpty
    }

    /// Compares interned label ids: the selector's and the node's, both sorted.
    @inline(__always)
    public func feasible(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Bool {
        if context.selectorMatchesNothing { return false }
        let end = Int(snapshot.nodeLabelStart[node + 1])
        var j = Int(snapshot.nodeLabelStart[node])
        for wanted in context.selector {
            while j < end && snapshot.nodeLabelIDs[j] < wanted { j += 1 }
            if j == end || snapshot.nodeLabelIDs[j] != wanted { return false }
            j += 1
        }
        return true
    }
}
