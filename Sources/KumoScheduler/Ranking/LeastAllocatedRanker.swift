/// The `spread` strategy: prefers the node with the largest share of cpu and memory still free after the
/// placement (mean of the two fractions), so load evens out across nodes.
public struct LeastAllocatedRanker: Ranker {
    public init() {}
    public var name: String { "LeastAllocated" }

    @inline(__always)
    public func score(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Double {
        let s = snapshot.states[node]
        let cpu = ResourceShare.free(s.cpuAllocatable, s.cpuRequested + context.request.cpuMillicores)
        let memory = ResourceShare.free(s.memoryAllocatable, s.memoryRequested + context.request.memoryBytes)
        return (cpu + memory) / 2
    }
}
