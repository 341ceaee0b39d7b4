/// Rejects nodes without room for the request: free cpu, free memory, and one more replica (pods).
/// A node short of several counts under the first of cpu, memory, pods.
public struct ResourcesChecker: FeasibilityChecker {
    public init() {}
    public var name: String { "Resources" }
    public var reasons: [String] { ["insufficient cpu", "insufficient memory", "too many replicas"] }

    @inline(__always)
    public func feasible(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Bool {
        let s = snapshot.states[node]
        return s.cpuRequested + context.request.cpuMillicores <= s.cpuAllocatable
            && s.memoryRequested + context.request.memoryBytes <= s.memoryAllocatable
            && s.podsRequested < s.podsAllocatable
    }

    public func reason(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Int {
        let s = snapshot.states[node]
        if s.cpuRequested + context.request.cpuMillicores > s.cpuAllocatable { return 0 }
        if s.memoryRequested + context.request.memoryBytes > s.memoryAllocatable { return 1 }
        return 2
    }
}
