extension SchedulingSnapshot {
    /// The hot numbers of one node, kept together so that checking and ranking a node touches one element.
    public struct NodeState: Sendable, Equatable {
        public internal(set) var cpuAllocatable: Int64
        public internal(set) var memoryAllocatable: Int64
        public internal(set) var cpuRequested: Int64
        public internal(set) var memoryRequested: Int64
        /// `Int32.max` when the node sets no limit.
        public internal(set) var podsAllocatable: Int32
        public internal(set) var podsRequested: Int32
        public internal(set) var ready: Bool
        public internal(set) var unschedulable: Bool
        /// Has a `NoSchedule` or `NoExecute` taint.
        public internal(set) var hasHardTaints: Bool
        /// Has a `PreferNoSchedule` taint.
        public internal(set) var hasPreferTaints: Bool

        init(_ node: SchedulingNode) {
            cpuAllocatable = max(0, node.cpuMillicores)
            memoryAllocatable = max(0, node.memoryBytes)
            cpuRequested = 0
            memoryRequested = 0
            podsAllocatable = node.pods.map { Int32(clamping: max(0, $0)) } ?? .max
            podsRequested = 0
            ready = node.ready
            unschedulable = node.unschedulable
            hasHardTaints = node.taints.contains { $0.effect != .preferNoSchedule }
            hasPreferTaints = node.taints.contains { $0.effect == .preferNoSchedule }
        }

        public var cpuFree: Int64 { cpuAllocatable - cpuRequested }
        public var memoryFree: Int64 { memoryAllocatable - memoryRequested }
        public var podsFree: Int32 { podsAllocatable == .max ? .max : podsAllocatable - podsRequested }
    }

    /// Where one group's replicas are: sparse per node (with a bitmap of the nodes that have any, so the common
    /// "none here" answer costs one bit test instead of a hash lookup), dense per (flattened) topology domain.
    struct GroupState: Sendable {
        var total: Int32 = 0
        var nodeCounts: [Int32: Int32] = [:]
        var nodeBits: [UInt64]
        var domainCounts: [Int32]

        init(nodeCount: Int, domainCount: Int) {
            nodeBits = [UInt64](repeating: 0, count: (nodeCount + 63) / 64)
            domainCounts = [Int32](repeating: 0, count: domainCount)
        }

        /// Node count and total only; the snapshot updates `domainCounts`.
        mutating func add(node: Int, delta: Int32) {
            total += delta
            let key = Int32(node)
            let count = (nodeCounts[key] ?? 0) + delta
            nodeCounts[key] = count > 0 ? count : nil
            let bit: UInt64 = 1 << UInt64(node & 63)
            if count > 0 { nodeBits[node >> 6] |= bit } else { nodeBits[node >> 6] &= ~bit }
        }
    }
}
