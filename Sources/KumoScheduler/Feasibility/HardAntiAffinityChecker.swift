/// With `antiAffinity: .required`, rejects nodes that already run a replica of the request's group.
public struct HardAntiAffinityChecker: FeasibilityChecker {
    public init() {}
    public var name: String { "HardAntiAffinity" }
    public var reasons: [String] { ["didn't satisfy anti-affinity"] }

    public func applies(to context: PlacementContext, in snapshot: SchedulingSnapshot) -> Bool {
        context.request.antiAffinity == .required && context.groupTotal > 0
    }

    @inline(__always)
    public func feasible(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Bool {
        context.groupReplicas(onNode: node) == 0
    }
}
