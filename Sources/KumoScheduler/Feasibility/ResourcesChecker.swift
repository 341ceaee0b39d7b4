/// Rejects nodes without room for the request: free cpu, free memory, and one more replica (pods).
/// A node short of several counts under the first of cpu, memory, pods.
public struct ResourcesChecker: FeasibilityChecker {
    public init() {}
    public var name: String { "Resources" }
    public var reasons: [String] { ["insufficient cpu", "insufficient memory", "too many replicas"] }

    /// `requested + more <= allocatable`, where a sum beyond Int64 does not fit (requests are client numbers).
    @inline(__always)
    static func fits(_ requested: Int64, _ more: Int64, _ allocatable: Int64) -> Bool {
        let (sum, overflow) = requested.addingReportingOverflow(more)
        return !overflow && sum <= allocatable
    }

    @inline(__always)
    public func feasible(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Bool {
        let s = snapshot.states[node]
        return Self.fits(s.cpuRequested, context.request.cpuMillicores, s.cpuAllocatable)
            && Self.fits(s.memoryRequested, context.request.memoryBytes, s.memoryAllocatable)
            && s.podsRequested < s.podsAllocatable
    }

    public func reason(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Int {
        let s = snapshot.states[node]
        if !Self.fits(s.cpuRequested, context.request.cpuMillicores, s.cpuAllocatable) { return 0 }
        if !Self.fits(s.memoryRequested, context.request.memoryBytes, s.memoryAllocatable) { return 1 }
        return 2
    }
}
