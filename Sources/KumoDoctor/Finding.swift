import KumoModel

public enum Severity: String, Codable, CaseIterable, Sendable, Hashable, Comparable {
    case info, warn, error

    private var rank: Int {
        switch self {
        case .info: return 0
        case .warn: return 1
        case .error: return 2
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// The raw line or figure a check read: a dnsmasq log line, an HAProxy stat, a kernel table entry, a history
/// record with its manager.
public struct Evidence: Codable, Sendable, Equatable, Hashable {
    /// Where it was read, e.g. `node-2 dnsmasq log`, `history Node/node-2`, `Replica/web-1 status`.
    public var source: String
    public var observed: String

    public init(_ source: String, _ observed: String) {
        self.source = source
        self.observed = observed
    }
}

/// One failing health check about one thing.
public struct Finding: Codable, Sendable, Equatable {
    /// SCREAMING_SNAKE, stable (`HealthCheck.catalog`).
    public var code: String
    public var severity: Severity
    /// The part whose state must change to fix it.
    public var component: Component
    /// The bare node name, when the cause is on one node.
    public var node: String?
    public var object: ObjectReference?
    public var summary: String
    /// How bad: nodes, replicas, NAKs… (a mute lapses when it grows).
    public var count: Int
    public var detail: [String]
    public var evidence: [Evidence]
    /// RFC 3339: since when it is true, as far as the evidence tells.
    public var since: String?
    /// Set on a finding a mute hides from `status` (`kumo doctor mute`).
    public var muted: Bool?
    /// On a cause: the findings it explains, `CODE kind/name` or `CODE node/NAME`, most direct first.
    public var explains: [String]?

    /// Ranking inputs, not on the wire:
    /// the nodes the finding concerns when it spans several (a service whose replicas are on node-1 and node-2);
    public var nodes: Set<String> = []
    /// objects whose failure would explain this finding (a service's replicas, a replica's node and image);
    public var suspects: Set<ObjectReference> = []
    /// objects this finding breaks (a missing secret → the replicas that reference it);
    public var affects: Set<ObjectReference> = []
    /// a recorded change just before the onset (who changed what): ranks a cause first.
    public var recentChange: String?

    enum CodingKeys: String, CodingKey {
        case code, severity, component, node, object, summary, count, detail, evidence, since, muted, explains
    }

    public init(
        code: String, severity: Severity, component: Component, node: String? = nil, object: ObjectReference? = nil,
        summary: String, count: Int = 1, detail: [String] = [], evidence: [Evidence] = [], since: Timestamp? = nil
    ) {
        self.code = code
        self.severity = severity
        self.component = component
        self.node = node
        self.object = object
        self.summary = summary
        self.count = count
        self.detail = detail
        self.evidence = evidence
        self.since = since?.rfc3339
    }

    /// The nodes this finding is scoped to: its `node`, or the nodes it spans; empty means cluster-wide.
    public var scopeNodes: Set<String> {
        if let node { return [node] }
        return nodes
    }

    /// The nodes a finding read off the wire is about: its `node`, or its object when that is a Node.
    public var scopeNodesOnWire: Set<String> {
        var out: Set<String> = []
        if let node { out.insert(node) }
        if let o = object, o.kind == "Node" { out.insert(o.name) }
        return out
    }

    /// A stable identity across evaluations: code, node and object (transitions, mutes, de-duplication).
    public var key: String {
        var k = code
        if let node { k += " node/" + node }
        if let object { k += " " + (object.project.map { $0 + "/" } ?? "") + object.display }
        return k
    }

    /// The project of the object it is about, if any.
    public var project: String? { object?.project }

    /// `CODE kind/name`, `CODE node/NAME` or `CODE`: how a cause's `explains` names it.
    public var label: String {
        if let object { return code + " " + object.display }
        if let node { return code + " node/" + node }
        return code
    }

    public var sinceTime: Timestamp? { since.flatMap { Timestamp(rfc3339: $0) } }
}

extension ObjectReference {
    /// `replica/web-1` (`Kind` in lower case, as `kumo get` takes it).
    public var display: String { kind.lowercased() + "/" + name }

    public static func node(_ name: String) -> ObjectReference { ObjectReference(kind: "Node", name: name) }
}
