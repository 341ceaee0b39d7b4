import KumoModel

/// Which watch subscribers an event may concern, so that publishing one costs the subscribers it concerns, not all
/// of them: subscribers by the kind segment of their prefix (`/registry/replicas/`), and within a kind by the node
/// their field selector requires (`spec.nodeName=N`: every node agent's replica and instance watch). With 1,000
/// agents a replica event went through 3,000 subscribers and 1,000 field-selector matches; now through the few of
/// its kind that watch everything and the one agent of its node. Each candidate's admission and filter still
/// decide, exactly as before.
struct SubscriberIndex: Sendable {
    private enum Place: Sendable, Equatable {
        case anyKind
        case kind(String)
        case node(kind: String, node: String)
    }

    /// Prefixes shorter than one kind (`/registry/`, or a cut inside a kind's name).
    private var anyKind: Set<Int> = []
    private var byKind: [String: Set<Int>] = [:]
    private var byNode: [String: [String: Set<Int>]] = [:]
    private var places: [Int: Place] = [:]

    static let nodeField = "spec.nodeName"

    /// `/registry/replicas/` of `/registry/replicas/p/web-1` (through the third `/`); nil for a shorter key.
    static func kindSegment(_ key: String) -> Substring? {
        var slashes = 0
        for i in key.indices where key[i] == "/" {
            slashes += 1
            if slashes == 3 { return key[...i] }
        }
        return nil
    }

    /// The node a filter requires (`spec.nodeName=N`, `""` for unbound objects), if it requires one.
    static func requiredNode(_ filter: ListFilter) -> String? {
        filter.fieldSelector?.requirements.first { $0.field == nodeField && $0.op == .equals }?.value
    }

    mutating func insert(_ id: Int, prefix: String, filter: ListFilter) {
        guard let kind = Self.kindSegment(prefix).map(String.init) else {
            anyKind.insert(id)
            places[id] = .anyKind
            return
        }
        if let node = Self.requiredNode(filter) {
            byNode[kind, default: [:]][node, default: []].insert(id)
            places[id] = .node(kind: kind, node: node)
        } else {
            byKind[kind, default: []].insert(id)
            places[id] = .kind(kind)
        }
    }

    mutating func remove(_ id: Int) {
        switch places.removeValue(forKey: id) {
        case .anyKind: anyKind.remove(id)
        case .kind(let kind):
            byKind[kind]?.remove(id)
            if byKind[kind]?.isEmpty == true { byKind[kind] = nil }
        case .node(let kind, let node):
            byNode[kind]?[node]?.remove(id)
            if byNode[kind]?[node]?.isEmpty == true { byNode[kind]?[node] = nil }
            if byNode[kind]?.isEmpty == true { byNode[kind] = nil }
        case nil: break
        }
    }

    /// The subscribers an event at `key` may concern. `node` reads the object's `spec.nodeName` in its field
    /// selector string form; it is asked only when some subscriber of the kind requires a node.
    func candidates(for key: String, node: () -> String) -> [Int] {
        var out = Array(anyKind)
        guard let kind = Self.kindSegment(key).map(String.init) else { return out }
        if let ids = byKind[kind] { out.append(contentsOf: ids) }
        if let nodes = byNode[kind], let ids = nodes[node()] { out.append(contentsOf: ids) }
        return out
    }

    var count: Int { places.count }
}
