/// One request resolved against one snapshot, once per placement: its group's replica counts per node and per
/// topology domain, so checkers and rankers look them up by index instead of by name.
public struct PlacementContext: Sendable {
    public let request: PlacementRequest
    let nodeCount: Int
    /// The node selector's interned label ids, sorted.
    let selector: [Int32]
    /// Some selector label is on no node at all.
    let selectorMatchesNothing: Bool
    /// With a node selector: the nodes carrying its rarest label, as a range of `SchedulingSnapshot.labelNodes`.
    let selectorCandidates: Range<Int>?
    let groupNodeCounts: [Int32: Int32]
    let groupNodeBits: [UInt64]
    /// Replicas of the request's group in the snapshot.
    public let groupTotal: Int
    /// Position of the scheduler's topology key in `SchedulingSnapshot.topologyKeys`, or -1.
    let topologyKeyIndex: Int
    let domainOffset: Int
    let groupDomainCounts: [Int32]
    /// Fewest replicas of the group in any topology domain that has a Ready, uncordoned node.
    public let minimumDomainCount: Int32

    init(
        request: PlacementRequest, nodeCount: Int, selector: [Int32], selectorMatchesNothing: Bool,
        selectorCandidates: Range<Int>?,        groupNodeCounts: [Int32: Int32], groupNodeBits: [UInt64], groupTotal: Int,
        topologyKeyIndex: Int, domainOffset: Int, groupDomainCounts: [Int32], minimumDomainCount: Int32
    ) {
        self.request = request
        self.nodeCount = nodeCount
        self.selector = selector
        self.selectorMatchesNothing = selectorMatchesNothing
        self.selectorCandidates = selectorCandidates
        self.groupNodeCounts = groupNodeCounts
        self.groupNodeBits = groupNodeBits
        self.groupTotal = groupTotal
        self.topologyKeyIndex = topologyKeyIndex
        self.domainOffset = domainOffset
        self.groupDomainCounts = groupDomainCounts
        self.minimumDomainCount = minimumDomainCount
    }

    /// Whether the snapshot indexed the scheduler's topology key.
    public var hasTopology: Bool { topologyKeyIndex >= 0 }

    /// Replicas of the request's group already on the node.
    @inline(__always)
    public func groupReplicas(onNode node: SchedulingSnapshot.NodeIndex) -> Int32 {
        guard !groupNodeBits.isEmpty, groupNodeBits[node >> 6] & (1 << UInt64(node & 63)) != 0 else { return 0 }
        return groupNodeCounts[Int32(truncatingIfNeeded: node)] ?? 0
    }

    /// Replicas of the request's group in the node's topology domain; nil when the node has no such label or
    /// the key is not indexed.
    @inline(__always)
    public func groupReplicas(inDomainOf node: SchedulingSnapshot.NodeIndex, in snapshot: SchedulingSnapshot) -> Int32? {
        guard topologyKeyIndex >= 0 else { return nil }
        let id = snapshot.nodeDomains[topologyKeyIndex * nodeCount + node]
        if id < 0 { return nil }
        return groupDomainCounts.isEmpty ? 0 : groupDomainCounts[domainOffset + Int(id)]
    }
}
