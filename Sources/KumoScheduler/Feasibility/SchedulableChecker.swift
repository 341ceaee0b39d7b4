/// Rejects cordoned nodes (`spec.unschedulable`) and nodes without a pod subnet (see `SchedulingNode.init(node:)`).
public struct SchedulableChecker: FeasibilityChecker {
    public init() {}
    public var name: String { "Schedulable" }
    public var reasons: [String] { ["cordoned"] }

    @inline(__always)
    public func feasible(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Bool {
        !snapshot.states[node].unschedulable
    }
}
