import KumoModel

/// Which replicas have been Terminating too long: deleted (`metadata.deletionTimestamp`) on a node that is Ready,
/// and still there after their grace period plus `margin` — their agent is alive (it heartbeats) but does not
/// finish the stop (hung runc, a drain that never ends, a wedged agent loop). Pure: no I/O, no clock.
///
/// Such a replica is flagged, once: a `Terminating` condition (True, `TerminatingTooLong`) and a warning event
/// that names the node and what to do. It is never force-deleted here: its container may still run on a live
/// node, and removing the object would hide that. Replicas of a node that is not Ready are the node lifecycle's
/// evictions (force, as before).
public struct TerminationDeadline: Sendable {
    public static let conditionType = "Terminating"
    public static let reason = "TerminatingTooLong"
    /// The default margin after the grace period: the agent's drain wait (15 s by default), the stop's SIGKILL
    /// and the removal of bundle, network and log all fit well inside it.
    public static let defaultMargin = Duration.seconds(60)

    public struct Candidate: Sendable, Equatable {
        public var replica: ObjectReference
        public var node: String
        public var deletedAt: Timestamp
        public var gracePeriod: Duration
        /// Already carries the `Terminating` condition (flagged by an earlier pass).
        public var flagged: Bool

        public init(replica: ObjectReference, node: String, deletedAt: Timestamp, gracePeriod: Duration, flagged: Bool) {
            self.replica = replica
            self.node = node
            self.deletedAt = deletedAt
            self.gracePeriod = gracePeriod
            self.flagged = flagged
        }

        /// From a replica object; nil when it is not being deleted or not bound.
        public init?(_ replica: Replica) {
            guard let node = replica.spec.nodeName, let text = replica.metadata.deletionTimestamp,
                let deletedAt = Timestamp(rfc3339: text)
            else { return nil }
            let grace = replica.spec.terminationGracePeriodSeconds ?? ReplicaSpec.defaultTerminationGracePeriodSeconds
            self.init(
                replica: ObjectReference(kind: .replica, name: replica.metadata.name, project: replica.metadata.project),
                node: node, deletedAt: deletedAt, gracePeriod: .seconds(grace),
                flagged: (replica.status?.conditions ?? []).contains { $0.type == TerminationDeadline.conditionType })
        }
    }

    public struct Overdue: Sendable, Equatable {
        public var replica: ObjectReference
        public var node: String
        public var condition: Condition
        public var message: String
    }

    public var candidates: [Candidate]
    /// Nodes that are not Ready now (their replicas are evicted, not flagged).
    public var notReady: Set<String>
    public var now: Timestamp
    public var margin: Duration

    public init(candidates: [Candidate], notReady: Set<String>, now: Timestamp, margin: Duration = Self.defaultMargin) {
        self.candidates = candidates
        self.notReady = notReady
        self.now = now
        self.margin = margin
    }

    /// The replicas to flag now, and the next time one comes due (for the caller's requeue).
    public func evaluate() -> (overdue: [Overdue], nextDue: Timestamp?) {
        var overdue: [Overdue] = []
        var next: Timestamp?
        for c in candidates where !c.flagged && !notReady.contains(c.node) {
            let due = c.deletedAt + c.gracePeriod + margin
            guard now >= due else {
                if next.map({ due < $0 }) ?? true { next = due }
                continue
            }
            let waited = (now - c.deletedAt).shortDescription
            let name = c.replica.project.map { "\($0)/\(c.replica.name)" } ?? c.replica.name
            let message =
                "still Terminating \(waited) after its delete (grace \(c.gracePeriod.shortDescription) + \(margin.shortDescription)): "
                + "node \(c.node) is Ready but its agent has not finished the stop. Look at `kumo state agent/\(c.node)` and "
                + "`kumo events`; `kumo delete replica/\(c.replica.name) --force` removes the object (the container may still run)"
            overdue.append(
                Overdue(
                    replica: c.replica, node: c.node,
                    condition: Condition(
                        type: Self.conditionType, status: .true, reason: Self.reason, message: message,
                        lastTransitionTime: now.rfc3339),
                    message: "replica \(name) " + message))
        }
        return (overdue, next)
    }
}
