/// One yes/no question about a node for a request. The scheduler asks the checkers in order and stops at the
/// first "no", which it counts under that checker and one of its `reasons` for the explanation.
///
/// Checkers are pure: the same node, context and snapshot give the same answer.
public protocol FeasibilityChecker: Sendable {
    /// Stable name used in explanations (`"NodeReady"`).
    var name: String { get }
    /// The ways this checker rejects a node, phrased to follow a count in a summary (`"2 insufficient memory"`).
    var reasons: [String] { get }
    /// False when the checker cannot reject any node for this request (it is then skipped).
    func applies(to context: PlacementContext, in snapshot: SchedulingSnapshot) -> Bool
    func feasible(_ node: SchedulingSnapshot.NodeIndex, _ context: PlacementContext, _ snapshot: SchedulingSnapshot)
        -> Bool
    /// Index into `reasons` for a node that `feasible` rejected.
    func reason(_ node: SchedulingSnapshot.NodeIndex, _ context: PlacementContext, _ snapshot: SchedulingSnapshot)
        -> Int
}

extension FeasibilityChecker {
    public func applies(to context: PlacementContext, in snapshot: SchedulingSnapshot) -> Bool { true }

    public func reason(
        _ node: SchedulingSnapshot.NodeIndex, _ context: PlacementContext, _ snapshot: SchedulingSnapshot
    ) -> Int { 0 }
}
