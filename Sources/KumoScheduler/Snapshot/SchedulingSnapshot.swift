import KumoModel

/// A read-only view of the cluster that the caller builds once and the scheduler places many replicas from.
///
/// Per-node data lives in flat arrays indexed by node (hot numbers in one `[NodeState]`, names, labels and taints
/// apart), topology domains are interned to integers, and each group keeps sparse per-node and dense per-domain
/// replica counts, so that `bind(_:to:)` after a placement is O(topology keys) and a placement allocates nothing
/// proportional to the cluster.
public struct SchedulingSnapshot: Sendable {
    public typealias NodeIndex = Int

    /// Nodes in the caller's order; `NodeIndex` is a position here.
    public let names: [String]
    let labels: [[String: String]]
    let taints: [[Taint]]
    let nodeIndex: [String: NodeIndex]
    var states: [NodeState]

    /// Label keys whose values are interned as topology domains (``SchedulerOptions/topologyKey`` must be one).
    public let topologyKeys: [String]
    /// `nodeDomains[k * nodeCount + node]`: the node's domain for key `k`, or -1 without that label.
    let nodeDomains: [Int32]
    /// Domain names per key, by domain id.
    let domainNames: [[String]]
    /// Where key `k`'s domains start in a group's `domainCounts` and in `domainSchedulable`.
    let domainOffsets: [Int]
    /// Whether a domain has at least one Ready, uncordoned node (only those count for the minimum in spread).
    let domainSchedulable: [Bool]

    /// Every label `key=value` interned: `labelIDs[key][value]`; each node's ids, sorted, at
    /// `nodeLabelIDs[nodeLabelStart[node]..<nodeLabelStart[node + 1]]` (node selectors compare integers).
    let labelIDs: [String: [String: Int32]]
    let nodeLabelIDs: [Int32]
    let nodeLabelStart: [Int32]
    /// The inverse: nodes carrying label id `l`, ascending, at `labelNodes[labelNodeStart[l]..<labelNodeStart[l + 1]]`.
    /// A request with a node selector searches only the nodes of its rarest label.
    let labelNodes: [Int32]
    let labelNodeStart: [Int32]

    var groupIndex: [String: Int32] = [:]
    var groups: [GroupState] = []

    /// Builds the view; nodes with a name seen before are skipped. O(nodes × topology keys).
    public init(nodes: [SchedulingNode], topologyKeys: [String] = ["zone"]) {
        var names: [String] = []
        var labels: [[String: String]] = []
        var taints: [[Taint]] = []
        var states: [NodeState] = []
        var nodeIndex: [String: NodeIndex] = [:]
        names.reserveCapacity(nodes.count)
        labels.reserveCapacity(nodes.count)
        taints.reserveCapacity(nodes.count)
        states.reserveCapacity(nodes.count)
        nodeIndex.reserveCapacity(nodes.count)
        for node in nodes where nodeIndex[node.name] == nil {
            nodeIndex[node.name] = names.count
            names.append(node.name)
            labels.append(node.labels)
            taints.append(node.taints)
            states.append(NodeState(node))
        }

        var keys: [String] = []
        for key in topologyKeys where !keys.contains(key) { keys.append(key) }
        var nodeDomains = [Int32](repeating: -1, count: keys.count * names.count)
        var domainNames: [[String]] = []
        var domainOffsets: [Int] = []
        var domainSchedulable: [Bool] = []
        for (k, key) in keys.enumerated() {
            var ids: [String: Int32] = [:]
            var valuesOfKey: [String] = []
            domainOffsets.append(domainSchedulable.count)
            let base = domainSchedulable.count
            for node in 0..<names.count {
                guard let value = labels[node][key] else { continue }
                let id: Int32
                if let known = ids[value] {
                    id = known
                } else {
                    id = Int32(valuesOfKey.count)
                    ids[value] = id
                    valuesOfKey.append(value)
                    domainSchedulable.append(false)
                }
                nodeDomains[k * names.count + node] = id
                if states[node].ready && !states[node].unschedulable { domainSchedulable[base + Int(id)] = true }
            }
            domainNames.append(valuesOfKey)
        }

        var labelIDs: [String: [String: Int32]] = [:]
        var labelCount: Int32 = 0
        var nodeLabelIDs: [Int32] = []
        var nodeLabelStart: [Int32] = [0]
        nodeLabelStart.reserveCapacity(names.count + 1)
        for nodeLabels in labels {
            let start = nodeLabelIDs.count
            for (key, value) in nodeLabels {
                let id = labelIDs[key, default: [:]][value] ?? labelCount
                if id == labelCount {
                    labelIDs[key, default: [:]][value] = id
                    labelCount += 1
                }
                nodeLabelIDs.append(id)
            }
            nodeLabelIDs[start...].sort()
            nodeLabelStart.append(Int32(nodeLabelIDs.count))
        }

        var labelNodeStart = [Int32](repeating: 0, count: Int(labelCount) + 1)
        for id in nodeLabelIDs { labelNodeStart[Int(id) + 1] += 1 }
        for l in 0..<Int(labelCount) { labelNodeStart[l + 1] += labelNodeStart[l] }
        var next = labelNodeStart
        var labelNodes = [Int32](repeating: 0, count: nodeLabelIDs.count)
        for node in 0..<names.count {
            for j in Int(nodeLabelStart[node])..<Int(nodeLabelStart[node + 1]) {
                let id = Int(nodeLabelIDs[j])
                labelNodes[Int(next[id])] = Int32(node)
                next[id] += 1
            }
        }

        self.names = names
        self.labels = labels
        self.labelNodes = labelNodes
        self.labelNodeStart = labelNodeStart
        self.labelIDs = labelIDs
        self.nodeLabelIDs = nodeLabelIDs
        self.nodeLabelStart = nodeLabelStart
        self.taints = taints
        self.states = states
        self.nodeIndex = nodeIndex
        self.topologyKeys = keys
        self.nodeDomains = nodeDomains
        self.domainNames = domainNames
        self.domainOffsets = domainOffsets
        self.domainSchedulable = domainSchedulable
    }

    // MARK: Reading

    public var nodeCount: Int { names.count }

    public func index(ofNode name: String) -> NodeIndex? { nodeIndex[name] }

    public func labels(ofNode node: NodeIndex) -> [String: String] { labels[node] }

    public func taints(ofNode node: NodeIndex) -> [Taint] { taints[node] }

    /// Allocatable and requested resources, readiness and cordon of a node.
    public func state(ofNode node: NodeIndex) -> NodeState { states[node] }

    /// The node's value of topology key number `keyIndex` (in ``topologyKeys``), if it has the label.
    public func domain(ofNode node: NodeIndex, keyIndex: Int) -> String? {
        let id = nodeDomains[keyIndex * names.count + node]
        return id < 0 ? nil : domainNames[keyIndex][Int(id)]
    }

    /// Replicas of `group` bound to the node.
    public func replicas(ofGroup group: String, onNode node: NodeIndex) -> Int {
        guard let g = groupIndex[group] else { return 0 }
        return Int(groups[Int(g)].nodeCounts[Int32(node)] ?? 0)
    }

    /// Replicas of `group` bound anywhere in this snapshot.
    public func replicas(ofGroup group: String) -> Int {
        guard let g = groupIndex[group] else { return 0 }
        return Int(groups[Int(g)].total)
    }

    /// Replicas of `group` in the domain `value` of `topologyKey` (0 when the key is not indexed).
    public func replicas(ofGroup group: String, topologyKey: String, value: String) -> Int {
        guard let g = groupIndex[group], let k = topologyKeys.firstIndex(of: topologyKey),
            let d = domainNames[k].firstIndex(of: value)
        else { return 0 }
        return Int(groups[Int(g)].domainCounts[domainOffsets[k] + d])
    }
}
