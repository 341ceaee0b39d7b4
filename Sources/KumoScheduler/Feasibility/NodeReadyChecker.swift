/// Rejects nodes whose `Ready` condition is not `True`.
public struct NodeReadyChecker: FeasibilityChecker {
    public init() {}
    public var name: String { "NodeReady" }
    public var reasons: [String] { ["not ready"] }

    @inline(__always)
    public func feasible(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Bool {
        snapshot.states[node].ready
    }
}
