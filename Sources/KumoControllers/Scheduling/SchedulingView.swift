import KumoModel
import KumoScheduler

/// The scheduler's picture of the cluster, kept current change by change instead of rebuilt for each placement:
/// the scheduling facts of every node, and what each bound replica or instance holds where.
///
/// A bound object's change moves its accounting in the snapshot at once (`account`: unbind the old, bind the new,
/// O(topology keys)). A node's change that alters what the scheduler reads of it (capacity, labels, taints, Ready,
/// cordon, subnet) drops the snapshot, which the next placement builds again from these facts, without decoding
/// anything; a heartbeat that changes none of them costs nothing. A placement is reserved from its decision until
/// its binding is written, so several bindings can be in flight without two of them taking the same room.
struct SchedulingView: Sendable {
    /// What one bound object holds: its node and its request.
    struct Held: Sendable, Equatable {
        var node: String
        var request: PlacementRequest
    }

    let topologyKeys: [String]
    private(set) var nodes: [String: SchedulingNode] = [:]
    private(set) var held: [String: Held] = [:]
    /// Placements decided whose binding is being written: they count until `release`, apart from `held`, so a
    /// change of the object meanwhile (its cached version is still unbound) cannot free their room early.
    private(set) var reserved: [String: Held] = [:]
    private var built: SchedulingSnapshot?
    /// Snapshots built (the first, then one per node change that mattered), for state dumps and tests.
    private(set) var builds = 0

    init(topologyKeys: [String]) { self.topologyKeys = topologyKeys }

    /// A node added, changed (nil: deleted). Returns whether anything the scheduler reads of it changed.
    @discardableResult
    mutating func setNode(_ name: String, _ node: SchedulingNode?) -> Bool {
        guard nodes[name] != node else { return false }
        nodes[name] = node
        built = nil
        return true
    }

    /// What object `key` holds now (nil: nothing, being unbound, finished or deleted).
    mutating func account(_ key: String, _ now: Held?) {
        let before = held[key]
        guard before != now else { return }
        held[key] = now
        guard built != nil else { return }
        if let before { built!.unbind(before.request, from: before.node) }
        if let now { built!.bind(now.request, to: now.node) }
    }

    /// A placement decided for `key`, counted until `release(key)` (its binding written, or failed).
    mutating func reserve(_ key: String, _ h: Held) {
        if let old = reserved.updateValue(h, forKey: key), built != nil { built!.unbind(old.request, from: old.node) }
        if built != nil { built!.bind(h.request, to: h.node) }
    }

    mutating func release(_ key: String) {
        guard let old = reserved.removeValue(forKey: key), built != nil else { return }
        built!.unbind(old.request, from: old.node)
    }

    /// The snapshot to place from: the kept one, or one built from the node facts, the held requests and the
    /// reservations.
    mutating func snapshot() -> SchedulingSnapshot {
        if let built { return built }
        var s = SchedulingSnapshot(nodes: nodes.keys.sorted().map { nodes[$0]! }, topologyKeys: topologyKeys)
        for h in held.values { s.bind(h.request, to: h.node) }
        for h in reserved.values { s.bind(h.request, to: h.node) }
        built = s
        builds += 1
        return s
    }

    /// What a replica holds: bound (`spec.nodeName`) and not finished (Succeeded or Failed free their resources).
    static func held(by replica: Replica, group: String?) -> Held? {
        guard let node = replica.spec.nodeName else { return nil }
        if let phase = replica.status?.phase, phase == .succeeded || phase == .failed { return nil }
        return Held(node: node, request: PlacementRequest(replica: replica, group: group))
    }
}
