/// A set of identical replicas kept running and rolled out (project-scoped); like a Deployment.
public typealias Workload = Object<WorkloadSpec>

public struct WorkloadSpec: ResourceSpec {
    public typealias Status = WorkloadStatus
    public static var kind: Kind { .workload }

    public static let maxReplicas = 10_000
    public static let progressDeadlineRange = 1...604_800
    public static let maxRevisionHistoryLimit = 100

    /// Desired number of replicas, 0...10000.
    public var replicas: Int
    /// Labels that identify this workload's replicas; when given, the template must carry them.
    public var selector: [String: String]?
    public var template: ReplicaTemplate
    public var strategy: RolloutStrategy?
    /// How many old revisions `status.revisions` keeps for `rollout undo`.
    public var revisionHistoryLimit: Int?
    /// How long a rollout may take before it is declared failed (and reverted); default set by the controller
    /// (120 s).
    public var progressDeadlineSeconds: Int?
    /// Scale `replicas` between min and max on a load-balancer metric (the autoscaler owns `spec.replicas` then).
    public var autoscale: Autoscale?

    public init(
        replicas: Int, selector: [String: String]? = nil, template: ReplicaTemplate,
        strategy: RolloutStrategy? = nil, revisionHistoryLimit: Int? = nil
    ) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
        self.strategy = strategy
        self.revisionHistoryLimit = revisionHistoryLimit
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        if let d = progressDeadlineSeconds, !Self.progressDeadlineRange.contains(d) {
            errors.append(
                FieldError(
                    "\(path).progressDeadlineSeconds",
                    "must be between \(Self.progressDeadlineRange.lowerBound) and \(Self.progressDeadlineRange.upperBound) (a week)"))
        }
        if !(0...Self.maxReplicas).contains(replicas) {
            errors.append(FieldError("\(path).replicas", "must be between 0 and \(Self.maxReplicas)"))
        }
        if let selector {
            let syntax = MetadataValidation.validateLabels(selector, path: "\(path).selector")
            errors += syntax
            if selector.isEmpty {
                errors.append(FieldError("\(path).selector", "must not be empty when given"))
            } else if syntax.isEmpty {
                let labels = template.labels ?? [:]
                for key in selector.keys.sorted() where labels[key] != selector[key] {
                    errors.append(
                        FieldError(
                            "\(path).selector",
                            "does not match template labels: \(key)=\(selector[key]!) is not in spec.template.labels"))
                    break
                }
            }
        }
        errors += MetadataValidation.validateLabels(template.labels, path: "\(path).template.labels")
        errors += template.spec.validate(path: "\(path).template.spec", metadata: metadata)
        if template.spec.network != nil {
            errors.append(
                FieldError("\(path).template.spec.network", "must not be set in a template (set per replica by ipam)"))
        }
        if let strategy {
            let at = "\(path).strategy"
            if let u = strategy.maxUnavailable, u.isPercent, u.value > 100 {
                errors.append(FieldError("\(at).maxUnavailable", "must be no more than 100%"))
            }
            // counts beyond any workload's size would only overflow the rollout's arithmetic
            for (name, v) in [("maxSurge", strategy.maxSurge), ("maxUnavailable", strategy.maxUnavailable)] {
                if let v, !v.isPercent, v.value > Self.maxReplicas {
                    errors.append(FieldError("\(at).\(name)", "must be no more than \(Self.maxReplicas)"))
                }
            }
            let total = Swift.max(replicas, 1)
            let surge = strategy.effectiveMaxSurge.resolve(total: total, roundUp: true)
            let unavailable = strategy.effectiveMaxUnavailable.resolve(total: total, roundUp: false)
            if surge == 0 && unavailable == 0 {
                errors.append(FieldError("\(at).maxUnavailable", "may not be 0 when maxSurge is 0"))
            }
        }
        if let a = autoscale { errors += a.validate(path: "\(path).autoscale") }
        if let r = revisionHistoryLimit, !(0...Self.maxRevisionHistoryLimit).contains(r) {
            errors.append(FieldError("\(path).revisionHistoryLimit", "must be between 0 and \(Self.maxRevisionHistoryLimit)"))
        }
        return errors
    }
}

/// `spec.autoscale`: keep a load-balancer metric of the workload's service near `target` by changing `replicas`
/// within [min, max]. Scale-out happens at once; scale-in only to the highest recommendation of the last
/// `windowSeconds` (the stabilisation window), so a short dip does not remove replicas.
public struct Autoscale: Codable, Sendable, Equatable, Hashable {
    public var min: Int
    public var max: Int
    /// Default requestsPerSecond (per ready replica).
    public var metric: AutoscaleMetric?
    /// The metric value to hold: requests/s per replica, requests queued per replica, or average response ms.
    public var target: Double
    /// The service whose HAProxy figures count (default: the one in the project whose selector matches the
    /// template's labels).
    public var service: String?
    /// Stabilisation window for scale-in (default 60).
    public var windowSeconds: Int?
    /// A target outside this range is a typo, and a tiny one would overflow the replica count it implies.
    public static let targetRange: ClosedRange<Double> = 0.001...1e9

    public init(min: Int, max: Int, metric: AutoscaleMetric? = nil, target: Double, service: String? = nil, windowSeconds: Int? = nil) {
        self.min = min
        self.max = max
        self.metric = metric
        self.target = target
        self.service = service
        self.windowSeconds = windowSeconds
    }

    public var effectiveMetric: AutoscaleMetric { metric ?? .requestsPerSecond }
    public var effectiveWindowSeconds: Int { windowSeconds ?? 60 }

    func validate(path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if min < 1 { errors.append(FieldError("\(path).min", "must be at least 1")) }
        if max > WorkloadSpec.maxReplicas { errors.append(FieldError("\(path).max", "must be at most \(WorkloadSpec.maxReplicas)")) }
        if max < min { errors.append(FieldError("\(path).max", "must not be less than min (\(min))")) }
        if !(Self.targetRange.contains(target)) {
            errors.append(
                FieldError("\(path).target", "must be a number between \(Self.targetRange.lowerBound) and \(Int(Self.targetRange.upperBound))"))
        }
        if let w = windowSeconds, !(0...3600).contains(w) {
            errors.append(FieldError("\(path).windowSeconds", "must be between 0 and 3600"))
        }
        if let s = service, let why = Names.validateDNSLabel(s) { errors.append(FieldError("\(path).service", why)) }
        return errors
    }
}

public enum AutoscaleMetric: String, Codable, CaseIterable, Sendable, Hashable {
    /// HTTP requests (TCP: sessions) per second per ready replica, over the last 10 s, summed over every node.
    case requestsPerSecond
    /// Requests waiting in HAProxy queues per ready replica, summed over every node.
    case queue
    /// Average response time in ms (the slowest node's).
    case responseTimeMs

    public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
}

/// What each replica of a workload looks like. Its hash names a revision (the template-hash label).
public struct ReplicaTemplate: Codable, Sendable, Equatable, Hashable {
    public var labels: [String: String]?
    public var spec: ReplicaSpec

    public init(labels: [String: String]? = nil, spec: ReplicaSpec) {
        self.labels = labels
        self.spec = spec
    }
}

/// Rolling update limits: integers or percentages of `replicas` (defaults 25% / 25%).
public struct RolloutStrategy: Codable, Sendable, Equatable, Hashable {
    /// Extra replicas above `replicas` during a rollout; a percentage rounds up.
    public var maxSurge: IntOrPercent?
    /// Replicas that may be unavailable during a rollout; a percentage rounds down.
    public var maxUnavailable: IntOrPercent?

    public static let defaultMaxSurge = IntOrPercent.percent(25)
    public static let defaultMaxUnavailable = IntOrPercent.percent(25)

    public init(maxSurge: IntOrPercent? = nil, maxUnavailable: IntOrPercent? = nil) {
        self.maxSurge = maxSurge
        self.maxUnavailable = maxUnavailable
    }

    public var effectiveMaxSurge: IntOrPercent { maxSurge ?? Self.defaultMaxSurge }
    public var effectiveMaxUnavailable: IntOrPercent { maxUnavailable ?? Self.defaultMaxUnavailable }

    /// Absolute limits for `replicas`; if both come out 0 (possible only for 0 replicas), unavailable is 1.
    public func resolve(replicas: Int) -> (maxSurge: Int, maxUnavailable: Int) {
        let surge = effectiveMaxSurge.resolve(total: replicas, roundUp: true)
        let unavailable = effectiveMaxUnavailable.resolve(total: replicas, roundUp: false)
        return (surge, surge == 0 && unavailable == 0 ? 1 : unavailable)
    }
}

public struct WorkloadStatus: Codable, Sendable, Equatable {
    public var replicas: Int?
    public var readyReplicas: Int?
    public var updatedReplicas: Int?
    public var availableReplicas: Int?
    /// Template hash of the revision most replicas run.
    public var currentRevision: String?
    /// Template hash of the revision being rolled out.
    public var updateRevision: String?
    /// The last revisions, newest last (for `rollout undo`).
    public var revisions: [WorkloadRevision]?
    public var conditions: [Condition]?
    /// Written by the autoscaler: the last metric reading and its recommendation.
    public var autoscale: AutoscaleStatus?

    public init(
        replicas: Int? = nil, readyReplicas: Int? = nil, updatedReplicas: Int? = nil,
        availableReplicas: Int? = nil, currentRevision: String? = nil, updateRevision: String? = nil,
        revisions: [WorkloadRevision]? = nil, conditions: [Condition]? = nil
    ) {
        self.replicas = replicas
        self.readyReplicas = readyReplicas
        self.updatedReplicas = updatedReplicas
        self.availableReplicas = availableReplicas
        self.currentRevision = currentRevision
        self.updateRevision = updateRevision
        self.revisions = revisions
        self.conditions = conditions
    }
}

public struct AutoscaleStatus: Codable, Sendable, Equatable, Hashable {
    public var metric: String?
    /// The last value read (per the metric's definition).
    public var value: Double?
    public var target: Double?
    public var recommended: Int?
    public var lastReadAt: String?
    public var lastScaleAt: String?
    public var message: String?

    public init(
        metric: String? = nil, value: Double? = nil, target: Double? = nil, recommended: Int? = nil, lastReadAt: String? = nil,
        lastScaleAt: String? = nil, message: String? = nil
    ) {
        self.metric = metric
        self.value = value
        self.target = target
        self.recommended = recommended
        self.lastReadAt = lastReadAt
        self.lastScaleAt = lastScaleAt
        self.message = message
    }
}

public struct WorkloadRevision: Codable, Sendable, Equatable, Hashable {
    /// Template hash.
    public var hash: String
    /// RFC 3339.
    public var createdAt: String?
    public var template: ReplicaTemplate

    public init(hash: String, createdAt: String? = nil, template: ReplicaTemplate) {
        self.hash = hash
        self.createdAt = createdAt
        self.template = template
    }
}
