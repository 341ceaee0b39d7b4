import KumoModel

/// What the node lifecycle controller needs to know about one Node.
public struct NodeSnapshot: Sendable, Hashable {
    public var name: String
    /// The current `Ready` condition from `status.conditions` (nil when never set).
    public var ready: Condition?
    /// From `metadata.createdAt`: a node that never renewed its lease counts as last seen then.
    public var createdAt: Timestamp?

    public init(name: String, ready: Condition? = nil, createdAt: Timestamp? = nil) {
        self.name = name
        self.ready = ready
        self.createdAt = createdAt
    }

    public init(_ node: Node) {
        self.init(
            name: node.metadata.name, ready: node.status?.conditions?.first { $0.type == NodeLifecycle.ready },
            createdAt: node.metadata.createdAt.flatMap { Timestamp(rfc3339: $0) })
    }

    /// Ready is True.
    public var isReady: Bool { ready?.status == .true }
}

/// A node's heartbeat lease as last observed (`/leases/nodes/<name>`: `renewTime`, `durationSeconds`).
public struct NodeLease: Sendable, Hashable {
    public var renewTime: Timestamp
    /// The duration the agent asked for (`durationSeconds`); the grace period is the longer of this and
    /// `NodeLifecycle.Options.gracePeriod`.
    public var duration: Duration?

    public init(renewTime: Timestamp, duration: Duration? = nil) {
        self.renewTime = renewTime
        self.duration = duration
    }

    /// From the server's lease record; nil without a parsable `renewTime`.
    public init?(_ record: JSONValue) {
        guard let text = record["renewTime"]?.stringValue, let renewTime = Timestamp(rfc3339: text) else {
            return nil
        }
        // the renew path writes 1...3600; a doctored record is clamped rather than trusted with Duration(Double)
        self.init(renewTime: renewTime, duration: record["durationSeconds"]?.intValue.map { .seconds(min(max($0, 1), 3600)) })
    }
}
