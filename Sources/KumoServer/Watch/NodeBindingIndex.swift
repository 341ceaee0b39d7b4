import KumoModel

/// Which replicas and instances are bound to which node: the store keys a node-scoped list
/// (`fieldSelector=spec.nodeName=N`, every agent's list of its own work) reads instead of decoding every replica in
/// the cluster. A pure value kept by the `WatchBroadcaster` from the same events it fans out, beside the
/// `SecretReferenceIndex`; at 5,000 nodes and 150,000 replicas an agent's relist reads its ~30 keys, not 150,000.
struct NodeBindingIndex: Sendable, Equatable {
    /// Node → the store keys of the objects bound to it.
    private(set) var keys: [String: Set<String>] = [:]
    /// Store key → its node (to move or remove an entry).
    private var nodeOf: [String: String] = [:]

    /// A replica or instance as it is now (`object`), or gone (`nil`: deleted).
    mutating func apply(key: String, object: JSONValue?) {
        let node = object?["spec"]?["nodeName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let old = nodeOf[key]
        guard old != node else { return }
        if let old {
            keys[old]?.remove(key)
            if keys[old]?.isEmpty == true { keys[old] = nil }
        }
        nodeOf[key] = node
        if let node { keys[node, default: []].insert(key) }
    }

    /// The keys bound to `node` under `prefix` (a collection, or one project of it), in key order.
    func keys(boundTo node: String, under prefix: String) -> [String] {
        (keys[node] ?? []).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Bound objects, for `/debug/state`.
    var count: Int { nodeOf.count }
}
