extension SchedulingSnapshot {
    /// Accounts a replica placed on (or already running on) the node: its requests, one pod, and its group's
    /// counts. Returns false, changing nothing, for an unknown node.
    @discardableResult
    public mutating func bind(_ request: PlacementRequest, to node: String) -> Bool {
        guard let index = nodeIndex[node] else { return false }
        bind(request, toNodeAt: index)
        return true
    }

    public mutating func bind(_ request: PlacementRequest, toNodeAt node: NodeIndex) {
        // saturating: replicas pinned with nodeName are accounted without a fit check, and their requests are
        // client numbers; a full node stays full instead of trapping
        states[node].cpuRequested = Self.saturating(states[node].cpuRequested, request.cpuMillicores)
        states[node].memoryRequested = Self.saturating(states[node].memoryRequested, request.memoryBytes)
        states[node].podsRequested += 1
        guard let key = request.group else { return }
        let g: Int
        if let known = groupIndex[key] {
            g = Int(known)
        } else {
            g = groups.count
            groupIndex[key] = Int32(g)
            groups.append(GroupState(nodeCount: names.count, domainCount: domainSchedulable.count))
        }
        count(group: g, node: node, delta: 1)
    }

    @inline(__always)
    static func saturating(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b < 0 ? .min : .max) : sum
    }

    /// Undoes `bind` (a replica deleted or moved). Returns false for an unknown node.
    @discardableResult
    public mutating func unbind(_ request: PlacementRequest, from node: String) -> Bool {
        guard let index = nodeIndex[node] else { return false }
        states[index].cpuRequested = Self.saturating(states[index].cpuRequested, -request.cpuMillicores)
        states[index].memoryRequested = Self.saturating(states[index].memoryRequested, -request.memoryBytes)
        states[index].podsRequested -= 1
        if let key = request.group, let g = groupIndex[key] {
            count(group: Int(g), node: index, delta: -1)
        }
        return true
    }

    /// Adds `delta` replicas of group `g` on the node: its node count, total, and every domain it is in.
    private mutating func count(group g: Int, node: NodeIndex, delta: Int32) {
        groups[g].add(node: node, delta: delta)
        for k in 0..<topologyKeys.count {
            let id = nodeDomains[k * names.count + node]
            if id >= 0 { groups[g].domainCounts[domainOffsets[k] + Int(id)] += delta }
        }
    }
}
