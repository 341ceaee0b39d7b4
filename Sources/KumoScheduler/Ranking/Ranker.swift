/// Scores a feasible node for a request in `0...1` (higher is better). The scheduler sums the scores of its
/// rankers times their weights, divides by the sum of the weights of the rankers that apply, and picks the
/// highest; the explanation shows each component of the top nodes.
///
/// Rankers are pure: the same node, context and snapshot give the same score.
public protocol Ranker: Sendable {
    /// Stable name used in explanations (`"LeastAllocated"`).
    var name: String { get }
    /// False when the ranker would score every node alike for this request (it is then skipped).
    func applies(to context: PlacementContext, in snapshot: SchedulingSnapshot) -> Bool
    func score(_ node: SchedulingSnapshot.NodeIndex, _ context: PlacementContext, _ snapshot: SchedulingSnapshot)
        -> Double
}

extension Ranker {
    public func applies(to context: PlacementContext, in snapshot: SchedulingSnapshot) -> Bool { true }
}

/// A ranker and how much it counts.
public struct WeightedRanker: Sendable {
    public var ranker: any Ranker
    public var weight: Double

    public init(_ ranker: any Ranker, weight: Double) {
        self.ranker = ranker
        self.weight = weight
    }
}
