/// The `binpack` strategy: prefers the node with the largest share of cpu and memory in use after the
/// placement (mean of the two fractions), so nodes fill one after another and others stay empty.
public struct MostAllocatedRanker: Ranker {
    public init() {}
    public var name: String { "MostAllocated" }

    @inline(__always)
    public func score(_ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Double {
        let s = snapshot.states[node]
        let cpu = ResourceShare.used(s.cpuAllocatable, s.cpuRequested + context.request.cpuMillicores)
        let memory = ResourceShare.used(s.memoryAllocatable, s.memoryRequested + context.request.memoryBytes)
        return (cpu + memory) / 2
    }
}
