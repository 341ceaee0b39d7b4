import KumoModel

/// The node lifecycle controller's decision: from the nodes, their heartbeat leases and the replicas bound to
/// them at time `now`, each node's `Ready` condition and which replicas to evict.
///
/// Pure: no I/O, no clock. Rules:
/// - A lease is current while `now < renewTime + grace`, grace = the longer of `options.gracePeriod`
///   (default 6 s: three missed 2 s heartbeats) and the duration the lease asked for. Current → Ready True
///   (`LeaseRenewed`); expired → Ready Unknown (`LeaseExpired`: the node may still run, we cannot tell);
///   no lease at all → Ready Unknown (`LeaseMissing`). The controller never writes False: a missing heartbeat
///   is not knowledge that the node is broken. A condition is written only when its status or reason changes
///   (Node writes go to history; heartbeats must not).
/// - Replicas bound to a node that is not Ready are evicted once `evictionDelay` has passed since the node's
///   lease expired (for a node without a lease: since its creation plus grace), and never earlier than one
///   grace period after `monitoringSince`, so agents get one chance to renew after a control-plane restart.
/// - Disruption: when every node is not Ready (`fullDisruption`), or more than `unhealthyThreshold` of them
///   (`partialDisruption`), no replica is evicted: that looks like the control plane or the network failing,
///   not the nodes, and evicting would only pile the work on the few nodes left (Kubernetes' zone disruption
///   rule). Conditions are still written. Events on a change of mode name the nodes concerned.
public struct NodeLifecycle: Sendable {
    public static let ready = "Ready"

    /// Reasons of the `Ready` condition.
    public enum ReadyReason {
        public static let leaseRenewed = "LeaseRenewed"
        public static let leaseExpired = "LeaseExpired"
        public static let leaseMissing = "LeaseMissing"
    }

    public struct Options: Sendable, Equatable {
        /// Time without a heartbeat before a node is not Ready.
        public var gracePeriod: Duration
        /// Time a node stays not Ready before its replicas are evicted.
        public var evictionDelay: Duration
        /// Share of not-Ready nodes (0...1) above which evictions are held.
        public var unhealthyThreshold: Double
        /// How long after its grace period a replica on a Ready node may stay Terminating before it is flagged
        /// (`TerminationDeadline`).
        public var terminationMargin: Duration = TerminationDeadline.defaultMargin

        public static let defaultGracePeriod = Duration.seconds(6)
        /// Zero by default: the grace period already is the wait, and the failover target (replicas Running
        /// elsewhere within 10 s of a node loss, with 2 s heartbeats) leaves no room for more.
        public static let defaultEvictionDelay = Duration.zero
        public static let defaultUnhealthyThreshold = 0.55

        public init(
            gracePeriod: Duration = Self.defaultGracePeriod, evictionDelay: Duration = Self.defaultEvictionDelay,
            unhealthyThreshold: Double = Self.defaultUnhealthyThreshold
        ) {
            self.gracePeriod = gracePeriod
            self.evictionDelay = evictionDelay
            self.unhealthyThreshold = unhealthyThreshold
        }
    }

    public struct Result: Sendable, Equatable {
        public var actions: [NodeLifecycleAction]
        public var mode: DisruptionMode
        /// Names of the nodes not Ready after this reconcile, sorted.
        public var notReady: [String]
        /// Replicas that would have been evicted now but were held by the disruption mode.
        public var heldEvictions: Int
        /// The next time something changes without new input (a lease expiring, an eviction coming due).
        public var requeueAt: Timestamp?
    }

    public var nodes: [NodeSnapshot]
    /// Node name → its lease as last observed.
    public var leases: [String: NodeLease]
    /// Node name → the replicas bound to it (terminating ones included: their agent cannot finish stopping
    /// them while it is unreachable).
    public var boundReplicas: [String: [ObjectReference]]
    public var now: Timestamp
    /// When this controller started watching leases (nil: treat every lease time at face value).
    public var monitoringSince: Timestamp?
    /// The mode of the previous reconcile (events are written when it changes); nil = normal.
    public var previousMode: DisruptionMode?
    public var options: Options

    public init(
        nodes: [NodeSnapshot], leases: [String: NodeLease], boundReplicas: [String: [ObjectReference]],
        now: Timestamp, monitoringSince: Timestamp? = nil, previousMode: DisruptionMode? = nil,
        options: Options = Options()
    ) {
        self.nodes = nodes.sorted { $0.name < $1.name }
        self.leases = leases
        self.boundReplicas = boundReplicas
        self.now = now
        self.monitoringSince = monitoringSince
        self.previousMode = previousMode
        self.options = options
    }

    /// Groups `replicas` by `spec.nodeName` for `boundReplicas`.
    public static func bound(_ replicas: [Replica]) -> [String: [ObjectReference]] {
        var out: [String: [ObjectReference]] = [:]
        for r in replicas {
            guard let node = r.spec.nodeName else { continue }
            out[node, default: []].append(
                ObjectReference(kind: .replica, name: r.metadata.name, project: r.metadata.project))
        }
        return out
    }

    public func reconcile() -> Result {
        var conditionActions: [NodeLifecycleAction] = []
        var events: [NodeLifecycleAction] = []
        var requeue: Timestamp?
        func wake(at t: Timestamp) { if t > now, requeue.map({ t < $0 }) ?? true { requeue = t } }

        // 1. Conditions from leases.
        var verdicts: [Verdict] = []
        for node in nodes {
            let v = verdict(node)
            verdicts.append(v)
            if let expiry = v.expiresAt { wake(at: expiry) }
            let previous = node.ready
            guard previous?.status != v.condition.status || previous?.reason != v.condition.reason else { continue }
            conditionActions.append(
                .setCondition(node: node.name, ConditionList.stamped(v.condition, previous: previous, now: now)))
            let regarding = ObjectReference(kind: .node, name: node.name)
            if v.condition.status == .true, previous?.status != .true {
                events.append(
                    .event(regarding: regarding, reason: "NodeReady", message: v.condition.message ?? "", type: .normal)
                )
            } else if v.condition.status != .true, previous?.status == .true {
                events.append(
                    .event(
                        regarding: regarding, reason: "NodeNotReady", message: v.condition.message ?? "",
                        type: .warning))
            }
        }

        // 2. Disruption mode.
        let notReady = verdicts.filter { $0.condition.status != .true }
        let mode = Self.mode(notReady: notReady.count, total: verdicts.count, threshold: options.unhealthyThreshold)
        if mode != (previousMode ?? .normal) {
            let summary = "\(notReady.count) of \(verdicts.count) nodes not ready (\(mode.rawValue))"
            for v in notReady {
                let regarding = ObjectReference(kind: .node, name: v.node)
                events.append(
                    mode == .normal
                        ? .event(
                            regarding: regarding, reason: "EvictionsResumed",
                            message: "\(summary): evicting replicas of not-ready nodes again", type: .normal)
                        : .event(
                            regarding: regarding, reason: "EvictionsHeld",
                            message: "\(summary): replicas of this node are not evicted", type: .warning))
            }
        }

        // 3. Evictions.
        var evictions: [NodeLifecycleAction] = []
        var held = 0
        for v in notReady {
            let replicas = (boundReplicas[v.node] ?? []).sorted {
                ($0.project ?? "", $0.name) < ($1.project ?? "", $1.name)
            }
            guard !replicas.isEmpty else { continue }
            guard now >= v.evictAt else {
                if mode == .normal { wake(at: v.evictAt) }
                continue
            }
            guard mode == .normal else {
                held += replicas.count
                continue
            }
            let reason = v.condition.reason ?? ReadyReason.leaseExpired
            // the `Evicted` event is the loop's, sent once the delete succeeded (an eviction that found the
            // replica already gone is no eviction)
            for r in replicas { evictions.append(.evict(replica: r, node: v.node, reason: reason)) }
        }

        return Result(
            actions: conditionActions + evictions + events, mode: mode, notReady: notReady.map(\.node),
            heldEvictions: held, requeueAt: requeue)
    }

    static func mode(notReady: Int, total: Int, threshold: Double) -> DisruptionMode {
        if total == 0 || notReady == 0 { return .normal }
        if notReady == total { return .fullDisruption }
        return Double(notReady) / Double(total) > threshold ? .partialDisruption : .normal
    }

    struct Verdict {
        var node: String
        /// The wanted Ready condition (without transition time).
        var condition: Condition
        /// When a current lease expires (nil when already expired).
        var expiresAt: Timestamp?
        /// When the node's replicas may be evicted (meaningful when not Ready).
        var evictAt: Timestamp
    }

    func verdict(_ node: NodeSnapshot) -> Verdict {
        let lease = leases[node.name]
        let grace = max(options.gracePeriod, lease?.duration ?? .zero)
        let lastSeen = lease?.renewTime ?? node.createdAt ?? now
        let expiry = lastSeen + grace
        var evictAt = expiry + options.evictionDelay
        if let monitoringSince { evictAt = max(evictAt, monitoringSince + grace + options.evictionDelay) }
        let condition: Condition
        var expiresAt: Timestamp?
        if lease != nil, now < expiry {
            condition = Condition(
                type: Self.ready, status: .true, reason: ReadyReason.leaseRenewed,
                message: "the agent renews its lease (grace \(grace.shortDescription))")
            expiresAt = expiry
        } else if let lease {
            condition = Condition(
                type: Self.ready, status: .unknown, reason: ReadyReason.leaseExpired,
                message: "no heartbeat since \(lease.renewTime.rfc3339) (grace \(grace.shortDescription))")
        } else {
            condition = Condition(
                type: Self.ready, status: .unknown, reason: ReadyReason.leaseMissing,
                message: "the agent has never renewed its lease")
        }
        return Verdict(node: node.name, condition: condition, expiresAt: expiresAt, evictAt: evictAt)
    }
}
