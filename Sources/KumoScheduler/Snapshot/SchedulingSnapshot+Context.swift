extension SchedulingSnapshot {
    /// Everything the checkers and rankers need about `request` in this snapshot, resolved once per placement.
    public func context(for request: PlacementRequest, topologyKey: String) -> PlacementContext {
        let keyIndex = topologyKeys.firstIndex(of: topologyKey) ?? -1
        var group: GroupState?
        if let key = request.group, let g = groupIndex[key] { group = groups[Int(g)] }
        var minimum: Int32 = 0
        if keyIndex >= 0, let group {
            let lower = domainOffsets[keyIndex]
            let upper = lower + domainNames[keyIndex].count
            var found = false
            for d in lower..<upper where domainSchedulable[d] {
                let count = group.domainCounts[d]
                if !found || count < minimum { minimum = count }
                found = true
            }
        }
        var selector: [Int32] = []
        var selectorMatchesNothing = false
        for (key, value) in request.nodeSelector {
            if let id = labelIDs[key]?[value] { selector.append(id) } else { selectorMatchesNothing = true }
        }
        selector.sort()
        // The nodes of the selector's rarest label are the only candidates.
        var candidates: Range<Int>?
        if selectorMatchesNothing {
            candidates = 0..<0
        } else {
            for id in selector {
                let range = Int(labelNodeStart[Int(id)])..<Int(labelNodeStart[Int(id) + 1])
                if candidates == nil || range.count < candidates!.count { candidates = range }
            }
        }
        return PlacementContext(
            request: request, nodeCount: names.count, selector: selector,
            selectorMatchesNothing: selectorMatchesNothing, selectorCandidates: candidates, groupNodeCounts: group?.nodeCounts ?? [:],
            groupNodeBits: group?.nodeBits ?? [],
            groupTotal: Int(group?.total ?? 0), topologyKeyIndex: keyIndex,
            domainOffset: keyIndex >= 0 ? domainOffsets[keyIndex] : 0, groupDomainCounts: group?.domainCounts ?? [],
            minimumDomainCount: minimum)
    }
}
